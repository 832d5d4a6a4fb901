"""DCGO envs (Aglietti et al., "Dynamic Causal Bayesian Optimization"): SCM equations against hand-computed values,
hand-computed ground-truth optima, explore-reverts / decide-advances, determinism, errors; the generic
time-unrolled graph and minimal-intervention-set helpers."""

from __future__ import annotations

import math
import pickle

import gymnasium as gym
import networkx as nx
import numpy as np
import pytest
from scipy.optimize import brentq

import dogym.envs  # noqa: F401  (registers the envs)
from dogym.causal.dynamic import DynamicSCM, TimeMechanism
from dogym.causal.graphs import is_minimal_intervention_set, minimal_intervention_sets, unroll
from dogym.envs.core import EnvConfigError, EnvInputError
from dogym.envs.dcgo.base import EpisodeFinishedError, ExplorationRequiredError
from dogym.envs.dcgo.econ import ECONEnv
from dogym.envs.dcgo.ode import ODEEnv, chemostat_scm
from dogym.envs.dcgo.synthetic import INDEnv, MISSEnv, MULTIVEnv, NOISYEnv, NONSTATEnv, STATEnv, stat_scm
from dogym.envs.intervention import InvalidInterventionError

DCGO_IDS = sorted(env_id for env_id in gym.registry if env_id.startswith("dogym/DCGO-"))


def explore(env, intervention) -> float:
    """Y_t of an explorative step do(intervention) (the system reverts)."""
    return env.step(env.make_action(intervention))[4]["y"]


def decide(env, intervention) -> float:
    """Y_t of the decision step do(intervention) (t advances)."""
    return env.step(env.make_action(intervention, decide=True))[4]["y"]


def optimum_rows(env) -> list[tuple[tuple[str, ...], dict[str, float], float]]:
    env.reset(seed=0)
    return [(e["set"], e["value"], e["y"]) for e in env.ground_truth()["optimum"]]


# ---------------------------------------------------------------------- graphs
def test_unroll_builds_the_two_slice_template_over_time():
    graph = unroll([("X", "Z"), ("Z", "Y")], [("X", "X"), ("Z", "Z"), ("Y", "Y")], 3)
    assert list(graph.nodes)[:3] == [("X", 0), ("Z", 0), ("Y", 0)] and graph.number_of_nodes() == 9
    assert graph.has_edge(("Z", 2), ("Y", 2)) and graph.has_edge(("Y", 1), ("Y", 2))
    assert not graph.has_edge(("Y", 0), ("Y", 2)) and graph.number_of_edges() == 2 * 3 + 3 * 2
    assert sorted(graph.edges) == sorted(stat_scm().graph(3).edges)  # the dynamic SCM's own graph agrees
    with pytest.raises(ValueError, match="cycle"):
        unroll([("A", "B"), ("B", "A")], [], 2)


def test_minimal_intervention_sets_on_the_stat_and_multiv_graphs():
    stat = unroll([("X", "Z"), ("Z", "Y")], [("X", "X"), ("Z", "Z"), ("Y", "Y")], 3)
    at = [("X", 1), ("Z", 1)]
    assert minimal_intervention_sets(stat, at, ("Y", 1)) == [(("X", 1),), (("Z", 1),)]
    assert minimal_intervention_sets(stat, at, ("Y", 1), include_empty=True)[0] == ()
    assert not is_minimal_intervention_set(stat, at, ("Y", 1))  # X acts only through Z
    multiv = unroll([("W", "Z"), ("Z", "Y"), ("X", "Y")], [("X", "X"), ("Z", "Z"), ("Y", "Y")], 3)
    sets = minimal_intervention_sets(multiv, [("X", 2), ("W", 2), ("Z", 2)], ("Y", 2))
    names = [tuple(v for v, _ in s) for s in sets]
    assert names == [("X",), ("W",), ("Z",), ("X", "W"), ("X", "Z")]  # the authors' five MULTIV sets
    # the env's exploration sets are the non-empty MIS of its graph
    env = MULTIVEnv()
    mis = minimal_intervention_sets(env.structural_view().graph, [(v, 1) for v in env.manipulative], ("Y", 1))
    assert {frozenset(v for v, _ in s) for s in mis} == {frozenset(s) for s in env.exploration_sets}


# ---------------------------------------------------------------------- equations
def test_stat_equations_match_hand_computed_values():
    scm = stat_scm()
    v0 = scm.slice_values(0)
    assert v0["X"] == 0.0 and v0["Z"] == 1.0
    assert v0["Y"] == pytest.approx(math.cos(1.0) - math.exp(-1.0 / 20.0))  # -0.41093
    assert float(v0["Y"]) == pytest.approx(-0.4109271, abs=1e-7)
    noisy = scm.slice_values(0, noise={"X": 0.5, "Z": -0.2, "Y": 0.1})
    z = math.exp(-0.5) - 0.2
    assert noisy["Z"] == pytest.approx(z) and noisy["Y"] == pytest.approx(math.cos(z) - math.exp(-z / 20) + 0.1)
    past = {"X": 1.0, "Z": 2.0, "Y": -3.0}
    v1 = scm.slice_values(1, past, {"X": 2.0})
    z1 = math.exp(-2.0) + 2.0
    assert v1["Z"] == pytest.approx(z1) and v1["Y"] == pytest.approx(math.cos(z1) - math.exp(-z1 / 20) - 3.0)
    assert scm.slice_values(1, past)["X"] == 1.0  # X carries over noise-free
    grid = scm.slice_values(1, past, {"Z": np.array([0.0, 1.0])})["Y"]  # vectorised
    np.testing.assert_allclose(grid, [1.0 - 1.0 - 3.0, math.cos(1.0) - math.exp(-0.05) - 3.0])


def test_a_dynamic_scm_rejects_a_lagged_parent_at_t0_and_missing_variables():
    with pytest.raises(ValueError, match="lagged parent"):
        DynamicSCM(["X"], [{"X": TimeMechanism((("X", 1),), sum)}])
    with pytest.raises(ValueError, match="defines"):
        DynamicSCM(["X", "Y"], [{"X": TimeMechanism((), sum)}])
    with pytest.raises(ValueError, match="needs the past value"):
        stat_scm().slice_values(1, None)


# ---------------------------------------------------------------------- ground truth
def test_stat_ground_truth_with_paper_domains_and_the_optimal_history():
    env = STATEnv(optimal_history=True)
    rows = optimum_rows(env)
    # the continuous optimum: Z* solves sin(z) = exp(-z/20) / 20 near -pi, y*_t = (t + 1) (cos Z* - exp(-Z*/20))
    z_star = brentq(lambda z: math.sin(z) - math.exp(-z / 20) / 20, -3.5, -3.0)
    y0 = math.cos(z_star) - math.exp(-z_star / 20)
    assert [r[0] for r in rows] == [("Z",)] * 3
    np.testing.assert_allclose([r[2] for r in rows], [-2.17181, -4.34361, -6.51542], atol=1e-5)  # the closed form
    np.testing.assert_allclose([r[2] for r in rows], [y0, 2 * y0, 3 * y0], atol=1e-9)
    assert all(r[1]["Z"] == pytest.approx(z_star, abs=1e-5) for r in rows)
    optimum = env.ground_truth()["optimum"]
    for entry in optimum:  # the refined optimum is never worse than the best grid point of any set
        for s, best in entry["per_set"].items():
            grid = env._grid(s)
            assert best["y"] <= env.true_objective(0 if entry["past"] is None else 1, grid, entry["past"]).min() + 1e-12
    # X ties with Z at t >= 1 within 1e-3 x the target's range (do(X = 5) puts Z_t 0.007 above Z*): tied, not strict
    assert [e["tied_sets"] for e in optimum] == [[("Z",)], [("X",), ("Z",)], [("X",), ("Z",)]]
    assert 0 < optimum[1]["per_set"][("X",)]["y"] - optimum[1]["y"] <= optimum[1]["tolerance"]
    code = optimum_rows(STATEnv(optimal_history=True, domains="code"))
    assert [(r[0], r[1]["Z"]) for r in code] == [(("Z",), -3.0)] * 3
    np.testing.assert_allclose([r[2] for r in code], [-2.152, -4.304, -6.456], atol=1e-3)  # by hand, 3 decimals


def test_ind_multiv_nonstat_ground_truth_rows():
    ind = optimum_rows(INDEnv(optimal_history=True))
    assert [r[0] for r in ind] == [("X", "Z")] * 3
    assert [round(r[2], 3) for r in ind] == [-2.007, -4.014, -6.021]  # the grid gave -1.996, -3.993, -5.989
    assert (round(ind[0][1]["X"], 3), round(ind[0][1]["Z"], 3)) == (0.993, 0.997)
    for sets in ("code", "paper"):  # the extra sets {W}, {X, W} of the authors' script do not change the optimum
        multiv = optimum_rows(MULTIVEnv(optimal_history=True, exploration_sets=sets))
        assert [r[0] for r in multiv] == [("X", "Z")] * 3
        assert [round(r[2], 3) for r in multiv] == [-1.567, -0.725, -0.564]
        assert [round(r[1]["Z"], 2) for r in multiv] == [1.25, 1.37, 1.13]
    nonstat = optimum_rows(NONSTATEnv(optimal_history=True))
    assert [r[0] for r in nonstat] == [("X",), ("Z",), ("Z",)]
    assert [r[1] for r in nonstat][0] == {"X": -5.0} and round(nonstat[1][1]["Z"], 2) == 19.01
    assert nonstat[2][1] == {"Z": -5.0}
    assert [round(r[2], 2) for r in nonstat] == [1.0, -20.0, -4.0]


def test_ind_multiv_nonstat_equations_match_hand_computed_values():
    def bumps(x, z):
        return -2 * math.exp(-((x - 1) ** 2) - (z - 1) ** 2) - math.exp(-((x + 1) ** 2) - z**2)

    ind = INDEnv()._scm
    past = {"X": 0.5, "Z": -1.0, "Y": 2.0}
    v = ind.slice_values(1, past, noise={"X": 0.1})
    assert v["X"] == pytest.approx(-0.4) and v["Z"] == 1.0 and v["Y"] == pytest.approx(bumps(-0.4, 1.0) + 2.0)
    assert ind.slice_values(0)["Y"] == pytest.approx(bumps(0, 0))  # -2 e^-2 - e^-1 = -0.6386
    multiv = MULTIVEnv()._scm
    v0 = multiv.slice_values(0, do={"W": 1.0})
    assert v0["Z"] == pytest.approx(math.sin(1.0)) and v0["Y"] == pytest.approx(
        bumps(0, math.sin(1)) + math.cos(math.sin(1))
    )
    v1 = multiv.slice_values(1, past | {"W": 0.0}, do={"X": 1.0})
    assert v1["Z"] == 1.0 and v1["Y"] == pytest.approx(bumps(1.0, 1.0) + math.cos(2.0) - 2.0)
    nonstat = NONSTATEnv()._scm
    v0 = nonstat.slice_values(0, do={"X": 2.0})
    assert v0["Z"] == 2.0 and v0["Y"] == pytest.approx(math.sqrt(36 - 1) + 1)
    v1 = nonstat.slice_values(1, {"X": 2.0, "Z": 2.0, "Y": 1.0}, do={"X": 3.0})
    assert v1["Z"] == pytest.approx(-1.5 + 2.0) and v1["Y"] == pytest.approx(0.5 * math.cos(math.pi * 0.5) - 1.0)
    guarded = nonstat.slice_values(1, {"X": 0.0, "Z": 2.0, "Y": 1.0}, do={"X": 3.0})  # X_0 = 0: no blow-up
    assert guarded["Z"] == 2.0 and np.isfinite(guarded["Y"])
    v2 = nonstat.slice_values(2, {"X": 1.0, "Z": 2.0, "Y": 3.0}, noise={"X": 0.5})
    assert v2["Z"] == 3.5 and v2["Y"] == pytest.approx(3.5 - 3.0 - 2.0)
    code = NONSTATEnv(last_step="code")._scm.slice_values(2, {"X": 1.0, "Z": 2.0, "Y": 3.0}, do={"Z": -1.0})
    assert code["Y"] == pytest.approx(1.0 - 3.0 - 2.0)


def test_econ_equations_and_optimum():
    scm = ECONEnv()._scm
    v0 = scm.slice_values(0)
    g0 = 2.0 + 1.0 - 0.15 * (1.8 - 2.0) ** 2  # T_0 at its neutral 4.0: no fiscal drag
    assert (v0["T"], v0["I"]) == (4.0, 1.8) and v0["G"] == pytest.approx(g0)
    assert v0["U"] == pytest.approx(math.log(8.3) - 0.05 * (g0 - 2.0) - 0.03 * (1.8 - 2.0))
    v1 = scm.slice_values(1, {"T": 0.0, "I": 0.0, "G": 3.0, "U": 2.0}, do={"T": 6.0, "I": 3.0})
    g1 = 2.0 + 0.5 * 1.0 - 0.3 * 2.0 - 0.02 * 4.0 - 0.15 * 1.0
    assert v1["G"] == pytest.approx(g1) and v1["U"] == pytest.approx(2.0 - 0.05 * (g1 - 2.0) - 0.03)
    assert scm.slice_values(2, {"G": 2.0, "U": 2.0})["T"] == 3.0  # time-varying means
    env = ECONEnv(optimal_history=True)
    env.reset(seed=0)
    truth = env.ground_truth()
    assert [e["set"] for e in truth["optimum"]] == [("T", "I")] * 3
    np.testing.assert_allclose(truth["y_star"], [1.9800, 1.8556, 1.7372], atol=1e-4)
    assert env.target == "U" and env.manipulative == ["T", "I"]


def test_ode_update_rules_match_hand_computed_values():
    def f_p(n):
        return 3.3 * n / (4.3 + n)

    def f_b(p):
        return 2.25 * p**1.25 / (15**1.25 + p**1.25)

    q = math.exp(-0.55)
    v0 = chemostat_scm().slice_values(0)
    n0 = 0.55 * 80 - f_p(41.3) * 2.71605
    p0 = f_p(n0) * 2.71605
    j0 = f_b(p0) * 6.1518 * q - 0.7 * 1.2304
    a0 = 5 * f_b(p0) * 6.1518 * q - 0.7 * 6.1518
    assert (v0["N"], v0["P"]) == (pytest.approx(n0), pytest.approx(p0)) and n0 == pytest.approx(35.88, abs=0.01)
    assert (v0["J"], v0["A"]) == (pytest.approx(j0), pytest.approx(a0))
    assert v0["E"] == pytest.approx(f_b(p0) * a0 * (1 - q) - 0.55 * 0.171)
    assert v0["D"] == pytest.approx(0.15 * (j0 + a0))
    past = {k: float(v) for k, v in v0.items()}
    v1 = chemostat_scm().slice_values(1, past, do={"N_in": 100.0, "J": 2.0}, noise={"P": 0.1})
    n1 = 55.0 - f_p(n0) * p0 - 0.55 * n0
    p1 = f_p(n1) * 1.1 * p0
    assert v1["N"] == pytest.approx(n1) and v1["P"] == pytest.approx(p1)
    a1 = 5 * f_b(p1) * a0 * q - 0.7 * a0
    assert v1["A"] == pytest.approx(a1) and v1["D"] == pytest.approx(0.15 * (2.0 + a1) - 0.55 * v0["D"])


def test_ode_integrated_option_matches_a_fine_euler_integration():
    def euler(rhs, v, steps=20000):
        for _ in range(steps):
            v = v + rhs(v) / steps
        return v

    def f_p(n):
        return 3.3 * n / (4.3 + n)

    past = {"N_in": 80.0, "N": 30.0, "P": 3.0, "J": 1.0, "A": 5.0, "E": 0.2, "D": 0.5}
    v = chemostat_scm(integrated=True).slice_values(1, past, do={"N_in": 60.0, "J": 2.0, "A": 4.0})
    assert v["N"] == pytest.approx(euler(lambda n: 0.55 * 60 - f_p(n) * 3.0 - 0.55 * n, 30.0), rel=1e-3)
    assert v["P"] == pytest.approx(euler(lambda p: (f_p(v["N"]) - 0.55) * p, 3.0), rel=1e-3)
    assert v["D"] == pytest.approx(euler(lambda d: 0.15 * 6.0 - 0.55 * d, 0.5), rel=1e-3)
    grid = chemostat_scm(integrated=True).slice_values(1, past, do={"N_in": np.array([60.0, 60.0, 100.0])})
    assert grid["N"][0] == grid["N"][1] == pytest.approx(v["N"]) and grid["N"][2] > v["N"]


def test_ode_env_problem_and_ground_truth():
    env = ODEEnv()
    env.reset(seed=0)
    assert env.target == "D" and env.manipulative == ["N_in", "J", "A"] and len(env.exploration_sets) == 7
    assert env.domains == {"N_in": (40.0, 160.0), "J": (0.0, 20.0), "A": (0.0, 100.0)}
    data = env.observational_data()
    assert data["D"].shape == (4, 3) and data["N_in"].std() > 5  # synthetic D^O varies the inflow
    truth = env.ground_truth()
    assert truth["optimum"][0]["set"] == ("J", "A") and truth["optimum"][0]["value"] == {"J": 0.0, "A": 0.0}
    assert [e["set"] for e in truth["optimum"][1:]] == [("N_in",)] * 2  # the paper's {J_0, A_0}, {N_in}, {N_in}
    np.testing.assert_allclose(truth["y_star"], 0.0, atol=1e-12)
    assert truth["optimum"][0]["per_set"][("N_in",)]["y"] == pytest.approx(1.185, abs=1e-3)


def test_noisy_and_miss_keep_stat_s_noise_free_optimum():
    assert [round(r[2], 5) for r in optimum_rows(NOISYEnv(optimal_history=True))] == [-2.17181, -4.34361, -6.51542]
    miss = optimum_rows(MISSEnv(optimal_history=True))
    assert len(miss) == 6 and [r[0] for r in miss] == [("Z",)] * 6
    assert miss[5][2] == pytest.approx(-2.17181 * 6, abs=1e-4)


def test_ground_truth_follows_the_agent_s_own_history():
    env = STATEnv()
    env.reset(seed=0)
    decide(env, {"X": 0.0})  # not the optimum: Z_0 = 1, Y_0 = -0.41
    truth = env.ground_truth()
    assert truth["optimum"][0]["y"] == pytest.approx(-2.17181, abs=1e-5)
    assert truth["optimum"][1]["history"] == "agent" and truth["optimum"][2]["history"] == "optimal"
    assert truth["optimum"][1]["past"] == env.history[0]["values"]
    assert truth["optimum"][1]["y"] > -4.0  # worse than along the optimal history (-4.343)
    y = truth["optimum"][1]["y"]
    assert env.true_objective(1, truth["optimum"][1]["value"]) == pytest.approx(y)
    assert explore(env, truth["optimum"][1]["value"]) == pytest.approx(y)  # the env agrees with its ground truth
    assert env.ground_truth() is not truth and env.ground_truth()["optimum"][1]["y"] == y  # cached per history


def test_optimal_history_drives_the_system_with_the_true_optimal_decisions():
    env = STATEnv(optimal_history=True)
    env.reset(seed=0)
    assert decide(env, {"X": 0.0}) == pytest.approx(-0.4109, abs=1e-4)  # the agent's own (poor) decision ...
    assert env.history[0]["values"]["Z"] == pytest.approx(-3.2003, abs=1e-4)  # ... but the optimal past carries on
    assert explore(env, {"Z": -3.2003}) == pytest.approx(-4.34361, abs=1e-5)
    assert all(e["history"] in ("none", "optimal") for e in env.ground_truth()["optimum"])


def test_nonstat_ground_truth_stays_finite_after_a_z_decision():
    env = NONSTATEnv()
    env.reset(seed=0)
    decide(env, {"Z": -5.0})  # X_0 = 0 noise-free: the division X_1 / X_0 is guarded
    truth = env.ground_truth()
    assert np.isfinite(truth["y_star"]).all() and truth["optimum"][1]["set"] == ("Z",)
    assert truth["optimum"][1]["per_set"][("X",)]["y"] == pytest.approx(-5.0 * math.cos(-5.0 * math.pi) - 1.0)


# ---------------------------------------------------------------------- protocol
def test_exploration_reverts_and_a_decision_advances():
    env = STATEnv()
    env.reset(seed=0)
    first = explore(env, {"Z": -3.0})
    for value in (-5.0, 0.0, 20.0):
        explore(env, {"Z": value})
    assert env.t == 0 and env.history == []
    assert explore(env, {"Z": -3.0}) == first  # noise-free and unchanged
    y0 = decide(env, {"Z": -3.0})
    assert y0 == first and env.t == 1 and env.history[0]["intervention"] == {"Z": -3.0}
    assert env.history[0]["values"]["Z"] == -3.0 and env.history[0]["values"]["X"] == 0.0
    passive = explore(env, {})
    assert passive == pytest.approx(math.cos(-2.0) - math.exp(2.0 / 20) + y0)  # X_1 = 0, Z_1 = exp(0) + Z_0 = -2
    decide(env, {})
    decide(env, {"X": 1.0})
    assert env.t == env.T == 3
    with pytest.raises(EpisodeFinishedError, match="episode is over"):
        explore(env, {"X": 0.0})


def test_step_api_rewards_decisions_and_terminates_after_t_decisions():
    env = gym.make("dogym/DCGO-STAT-v0")
    _, info = env.reset(seed=3)
    assert math.isnan(info["y"]) and info["time_step"] == 0
    explore = {"mask": np.array([0, 1]), "value": np.array([0.0, -3.0]), "decide": 0}
    obs, reward, terminated, _, info = env.step(explore)
    assert reward == 0.0 and not terminated and info["intervention_cost"] == 1.0 and not info["decided"]
    assert obs[1] == -3.0 and obs[2] == info["y"] and info["time_step"] == 0
    for step in range(3):
        obs, reward, terminated, _, info = env.step({**explore, "decide": 1})
        assert reward == -info["y"] and info["decided"] and terminated == (step == 2)
    with pytest.raises(EpisodeFinishedError):
        env.step(explore)


def test_observational_data_are_seeded_trajectories():
    env = STATEnv()
    with pytest.raises(EnvInputError, match="reset"):
        env.observational_data()
    env.reset(seed=5)
    a = env.observational_data()
    assert set(a) == {"X", "Z", "Y"} and a["Y"].shape == (10, 3) and np.isfinite(a["Y"]).all()
    e_z = a["Z"][:, 1:] - a["Z"][:, :-1] - np.exp(-a["X"][:, 1:])  # whole trajectories: the Z noise is N(0, 1)
    assert 0.4 < e_z.std() < 1.8 and abs(e_z.mean()) < 0.8
    env.reset(seed=5)
    np.testing.assert_array_equal(env.observational_data()["Y"], a["Y"])
    env.reset(seed=6)
    assert not np.array_equal(env.observational_data()["Y"], a["Y"])
    miss = MISSEnv()
    miss.reset(seed=0)
    y = miss.observational_data()["Y"]
    assert y.shape == (10, 6) and np.isfinite(y[:, :3]).all() and np.isnan(y[:, 3:]).all()
    multiv = MULTIVEnv()
    multiv.reset(seed=0)
    assert multiv.observational_data()["W"].shape == (500, 3)
    small = MULTIVEnv(n_observational=7)
    small.reset(seed=0)
    assert small.observational_data()["W"].shape == (7, 3)


def test_noisy_outcomes_are_an_option_and_seeded():
    env = STATEnv(noisy_outcomes=True)
    env.reset(seed=1)
    a = [explore(env, {"X": 1.0}) for _ in range(3)]
    assert len(set(a)) == 3
    env.reset(seed=1)
    assert [explore(env, {"X": 1.0}) for _ in range(3)] == a
    assert len({explore(STATEnv(), {"X": 1.0}) for _ in range(3)}) == 1


def test_noisy_observational_noise_options():
    paper, authors = NOISYEnv(), NOISYEnv(observational_noise="authors")
    paper.reset(seed=0)
    authors.reset(seed=0)
    assert paper.observational_data()["X"][:, 0].mean() < 5 < authors.observational_data()["X"][:, 0].mean()


# ---------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("intervention", "message"),
    [
        ({"X": 6.0}, "outside the operating region"),
        ({"Z": -5.5}, "outside the operating region"),
        ({"Y": 0.0}, "not a controllable variable"),
        ({"Q": 0.0}, "not a controllable variable"),
        ({"X": float("nan")}, "NaN"),
        ({"X": "a"}, "must be a number"),
        ([("X", 1.0)], "mapping"),
    ],
)
def test_bad_interventions_raise_clear_errors(intervention, message):
    env = STATEnv()
    env.reset(seed=0)
    with pytest.raises(InvalidInterventionError, match=message) as err:
        env.to_intervention(intervention)
    assert isinstance(err.value, EnvInputError) and "\n" not in str(err.value)
    for method in (explore, decide):  # as a step action: refused too, and the env does not move
        with pytest.raises(InvalidInterventionError) as err:
            method(env, intervention)
        assert "\n" not in str(err.value)
    assert env.t == 0 and env.get_state()["_steps"] == 0


def test_decision_before_exploration_when_required():
    env = STATEnv(require_exploration=True)
    env.reset(seed=0)
    with pytest.raises(ExplorationRequiredError, match="before any explorative"):
        decide(env, {"X": 1.0})
    explore(env, {"X": 1.0})
    decide(env, {"X": 1.0})
    with pytest.raises(ExplorationRequiredError):
        decide(env, {"X": 1.0})  # again at t = 1


def test_bad_options_raise_config_errors():
    for kwargs in ({"domains": "wide"}, {"noisy_outcomes": 1}, {"grid_points": 1}, {"n_observational": -1}):
        with pytest.raises(EnvConfigError):
            STATEnv(**kwargs)
    with pytest.raises(EnvConfigError):
        MULTIVEnv(exploration_sets="all")


@pytest.mark.parametrize("env_id", DCGO_IDS)
def test_every_dcgo_env_is_deterministic_and_picklable(env_id):
    def run(env):
        env.reset(seed=11)
        ys = []
        for _ in range(env.T):
            ys.append(explore(env, {v: env.domains[v][0] for v in env.exploration_sets[0]}))
            ys.append(decide(env, {v: env.domains[v][1] for v in env.exploration_sets[-1]}))
        return ys, env.observational_data()

    env = gym.make(env_id).unwrapped
    ys, data = run(env)
    assert np.isfinite(ys).all()
    clone = pickle.loads(pickle.dumps(env))
    ys2, data2 = run(clone)
    assert ys == ys2 and all(np.array_equal(data[k], data2[k], equal_nan=True) for k in data)
    view = env.structural_view()
    assert isinstance(view.graph, nx.DiGraph) and view.target == env.target
    assert all((v, 0) in view.graph for v in env.variables)

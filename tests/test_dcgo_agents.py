"""The DCGO agents (DCBO, CBO, ABO, BO, random) and their metrics: causal EI, the MAP hyper-parameter fit, the
dynamic GP-SCM prior, the gap metric on hand-made curves, trial counting, determinism and input errors."""

from __future__ import annotations

import json

import gymnasium as gym
import numpy as np
import pytest
from scipy.optimize import approx_fprime
from threadpoolctl import threadpool_limits

import dogym.envs  # noqa: F401
from dogym.agents.dcgo.gap import (
    convergence_trial,
    final_regrets,
    gap_scores,
    gap_table,
    optimal_set_percent,
    replicate_gaps,
    replicate_scores,
    replicate_summary,
    set_hits,
)
from dogym.agents.dcgo.loop import ReplicateResult, run_replicate
from dogym.causal.acquisition import anchor_count, anchor_points, expected_improvement, manual_causal_ei
from dogym.causal.dynamic_effects import DynamicGPSCM
from dogym.causal.gp import GaussianProcess, _RBFObjective, causal_rbf, fit_map_rbf, rbf
from dogym.causal.graphs import unroll
from dogym.causal.random_streams import STREAMS

STAT = "dogym/DCGO-STAT-v0"


@pytest.fixture(autouse=True)
def one_blas_thread():
    """Tiny GPs run several times slower with BLAS threads oversubscribing the cores."""
    with threadpool_limits(1):
        yield


@pytest.fixture(scope="module")
def stat_env():
    return gym.make(STAT).unwrapped


# ---------------------------------------------------------------------------------------------- acquisition and GP
def test_ei_is_zero_where_the_posterior_is_certain_and_worse():
    mean = np.array([0.0, -1.0, -2.0, 0.0, -3.0])
    std = np.array([0.0, 0.0, 0.0, 1.0, 1.0])
    ei = expected_improvement(mean, std, y_best=-1.0)
    assert ei[0] == 0.0 and ei[1] == 0.0  # certain and worse, certain and equal
    assert ei[2] == pytest.approx(1.0)  # certain and better: the sure improvement
    assert ei[3] == pytest.approx(0.0833155, rel=1e-5)  # sigma (u Phi(u) + phi(u)) with u = -1
    assert ei[4] > ei[3] > 0
    np.testing.assert_allclose(expected_improvement(mean, std, -1.0, cost=2.0), ei / 2.0)
    np.testing.assert_allclose(
        manual_causal_ei(mean, std**2, -1.0), expected_improvement(mean, np.sqrt(1 + std**2), -1.0)
    )
    with pytest.raises(ValueError, match="costs must be positive"):
        expected_improvement(mean, std, -1.0, cost=0.0)
    with pytest.raises(ValueError, match="std >= 0"):
        expected_improvement(mean, -std - 1, -1.0)


def test_anchor_points_grid_uniform_and_sobol_counts():
    grid = anchor_points(np.array([-5.0]), np.array([20.0]))
    assert grid.shape == (100, 1) and grid[0, 0] == -5.0 and grid[-1, 0] == 20.0
    assert anchor_points(np.zeros(2), np.ones(2)).shape == (100, 2)
    # the authors' sampled anchors: 100 for a 1-D set, int(sqrt(100)) = 10 for any larger one
    assert [anchor_count(d, kind="uniform") for d in (1, 2, 3)] == [100, 10, 10]
    assert [anchor_count(d, 49, kind="sobol") for d in (1, 2)] == [49, 7] and anchor_count(3) == 1000
    u1, u2 = (anchor_points(-np.ones(3), np.ones(3), kind="uniform", seed=3) for _ in range(2))
    assert u1.shape == (10, 3) and np.array_equal(u1, u2) and np.all(np.abs(u1) <= 1)
    s1 = anchor_points(np.zeros(1), np.ones(1), kind="sobol", seed=np.random.SeedSequence(5))
    assert s1.shape == (100, 1) and np.histogram(s1, bins=10, range=(0, 1))[0].min() >= 8  # low discrepancy
    with pytest.raises(ValueError, match="low < high"):
        anchor_points(np.ones(1), np.zeros(1))
    with pytest.raises(ValueError, match="anchor kind"):
        anchor_points(np.zeros(1), np.ones(1), kind="halton")


def test_the_authors_candidates_are_fresh_per_trial_and_seeded_by_replicate_t_and_trial(stat_env, monkeypatch):
    import dogym.agents.dcgo.loop as loop

    calls = []
    real = loop.anchor_points

    def spy(low, high, n_points, per_dim, kind, seed):
        points = real(low, high, n_points, per_dim, kind, seed)
        calls.append((kind, tuple(seed.spawn_key), seed.entropy, points))
        return points

    monkeypatch.setattr(loop, "anchor_points", spy)
    run_replicate(stat_env, "dcbo", 3, 7)  # sets {X}, {Z}: 100 fresh uniform points each per trial
    assert {c[0] for c in calls} == {"uniform"} and all(len(c[3]) == 100 for c in calls)
    keys = [c[1] for c in calls]
    anchors = STREAMS.index("anchors")
    for t in range(3):
        for trial in (1, 2):  # DCBO's interventions (trial 0 observes)
            assert (anchors, t, trial, 0) in keys and (anchors, t, trial, 1) in keys
    assert {c[2] for c in calls} == {7}  # the replicate's seed
    fresh = {c[1]: c[3] for c in calls}
    assert not np.allclose(fresh[(anchors, 0, 1, 1)], fresh[(anchors, 0, 2, 1)])  # new points every trial
    calls.clear()
    run_replicate(stat_env, "bo", 2, 7)  # the full set {X, Z}: 10 points (the sqrt rule)
    assert all(c[3].shape == (10, 2) for c in calls)
    calls.clear()
    run_replicate(stat_env, "bo", 2, 7, anchors="grid")
    assert {c[0] for c in calls} == {"grid"} and all(c[3].shape == (100, 2) for c in calls)


def test_map_fit_gradient_prior_and_safeguards():
    rng = np.random.default_rng(0)
    x = rng.uniform(-3, 3, (8, 2))
    objective = _RBFObjective(x, np.sin(x[:, 0]), [(0,), (1,)], [1, 1], None, np.zeros((8, 8)), (2.0, 0.5))
    theta = np.array([0.1, -0.2, 0.3, 0.2, -1.0])
    np.testing.assert_allclose(objective(theta)[1], approx_fprime(theta, lambda t: objective(t)[0], 1e-7), atol=1e-4)
    gp = fit_map_rbf(GaussianProcess(rbf(), 1e-5), x, np.sin(x[:, 0]))
    assert gp.noise_var == 1e-5 and gp.n == 8  # the noise stays fixed
    assert gp.predict(x)[0] == pytest.approx(np.sin(x[:, 0]), abs=1e-3)
    flat = fit_map_rbf(GaussianProcess(rbf(), 1e-5), x, np.full(8, 0.3))  # a flat function: huge length scale
    assert flat.kernel.lengthscale == 1.0  # reset by the safeguard (> 20)
    causal = GaussianProcess(causal_rbf(lambda z: 0.5 + 0 * z[..., 0]), 1e-5, lambda z: np.cos(z[..., 0]))
    fit_map_rbf(causal, x, np.cos(x[:, 0]) + 0.1)
    assert causal.kernel.base.variance > 0 and causal.predict(x[:1])[0][0] == pytest.approx(
        np.cos(x[0, 0]) + 0.1, abs=1e-3
    )
    with pytest.raises(ValueError, match="RBF"):
        fit_map_rbf(GaussianProcess(), x, x[:, 0])


# ---------------------------------------------------------------------------------------------- dynamic prior
def test_dynamic_prior_conditions_on_the_past_and_the_static_one_does_not():
    """Y_t = Z_t + Y_{t-1} (small noise): E[Y_1 | do(Z_1 = z), Y_0 = y0] = z + y0 for DCBO's model."""
    rng = np.random.default_rng(1)
    n = 60
    z = rng.normal(0, 1.5, (n, 2))
    y0 = z[:, 0] + 0.05 * rng.standard_normal(n)
    y1 = z[:, 1] + y0 + 0.05 * rng.standard_normal(n)
    graph = unroll([("Z", "Y")], [("Y", "Y")], 2, ["Z", "Y"])
    data = {"Z": z, "Y": np.stack([y0, y1], 1)}
    dynamic = DynamicGPSCM(graph, ["Z", "Y"], "Y").fit(data)
    points = np.array([[-0.5], [0.5]])
    mean, std = dynamic.effect(1, ("Z",), points, {"Z": 0.0, "Y": 1.0})
    np.testing.assert_allclose(mean, points[:, 0] + 1.0, atol=0.15)
    assert np.all(std < 0.3)
    shifted = dynamic.effect(1, ("Z",), points, {"Z": 0.0, "Y": -1.0})[0]
    np.testing.assert_allclose(mean - shifted, 2.0, atol=0.3)  # the dynamic shift f_Y^Y(y*_{t-1})
    static = DynamicGPSCM(graph, ["Z", "Y"], "Y", temporal=False).fit(data)
    assert np.all(np.abs(static.effect(1, ("Z",), points)[0] - points[:, 0]) < 0.6)  # marginalises Y_0 (mean ~0)
    with pytest.raises(ValueError, match="needs the realised values"):
        dynamic.effect(1, ("Z",), points)
    with pytest.raises(ValueError, match="cannot intervene on the target"):
        dynamic.effect(0, ("Y",), points)


def test_the_authors_observational_fit_has_a_zero_mean_and_a_noisy_predictive_variance():
    """The DCBO authors' GP-SCM: raw data, zero mean (far from the data the prior mean returns to 0, not to the data's
    mean as with standardised outputs), predictive variance including the fitted noise."""
    rng = np.random.default_rng(2)
    z = rng.uniform(0.0, 2.0, (40, 1))
    y = (5.0 + np.sin(3 * z[:, 0]) + 0.3 * rng.standard_normal(40))[:, None]
    graph = unroll([("Z", "Y")], [], 1, ["Z", "Y"])
    far = np.array([[40.0]])
    authors = DynamicGPSCM(graph, ["Z", "Y"], "Y", prior_noise=False).fit({"Z": z, "Y": y})
    noisy = DynamicGPSCM(graph, ["Z", "Y"], "Y").fit({"Z": z, "Y": y})  # the default: authors' fit + noise
    standard = DynamicGPSCM(graph, ["Z", "Y"], "Y", fit="standardised").fit({"Z": z, "Y": y})
    assert abs(authors.effect(0, ("Z",), far)[0][0]) < 1e-6
    assert standard.effect(0, ("Z",), far)[0][0] == pytest.approx(y.mean(), abs=1e-6)
    inside = np.array([[1.0]])
    mean, std = authors.effect(0, ("Z",), inside)
    assert mean[0] == pytest.approx(5.0 + np.sin(3.0), abs=0.3)
    mechanism = noisy.models[0].mechanisms[("Y", 0)]
    assert 0.02 < mechanism.gp.noise_var < 0.3  # the fitted noise (0.3^2 = 0.09)
    np.testing.assert_allclose(noisy.effect(0, ("Z",), inside)[1], np.sqrt(std**2 + mechanism.gp.noise_var))
    with pytest.raises(ValueError, match="observational fit"):
        DynamicGPSCM(graph, ["Z", "Y"], "Y", fit="gpy")


# ---------------------------------------------------------------------------------------------- gap metric
def test_gap_metric_on_hand_made_curves():
    y_star = -2.0
    converged_at_1 = np.array([[[0.0, -2.0, -2.0, -2.0]]])
    never = np.array([[[0.0, -1.0, -1.0, -1.0]]])
    at_optimum = np.array([[[-2.0, -2.0, -2.0, -2.0]]])
    h = 4
    norm = 1 + (h - 1) / h
    init = np.zeros((1, 1))
    # authors' form: index 0 is the first trial (DCBO's observation), speed (H - index) / H
    assert gap_scores(converged_at_1, [[y_star]], init, "authors")[0, 0] == pytest.approx((1 + 3 / 4) / norm)
    assert gap_scores(never, [[y_star]], init, "authors")[0, 0] == pytest.approx((0.5 + 0) / norm)
    assert gap_scores(at_optimum, [[y_star]], init - 2.0, "authors")[0, 0] == pytest.approx(2 / norm)
    # as printed: trials counted from 1, so G <= 1; start = optimum: nothing to close (gap term 1)
    assert gap_scores(converged_at_1, [[y_star]], None, "replicate")[0, 0] == pytest.approx((1 + 2 / 4) / norm)
    assert gap_scores(never, [[y_star]], None, "replicate")[0, 0] == pytest.approx((0.5 + 0) / norm)
    assert gap_scores(at_optimum, [[y_star]], None, "replicate")[0, 0] == pytest.approx(1.0)
    assert convergence_trial(np.array([0.0, -1.96, -2.1]), -2.0) == 1  # rounding to 1 decimal, clipped at y*
    assert convergence_trial(np.array([0.0, -1.9]), -2.0) == 2


def test_gap_table_uses_a_common_initial_value_and_the_mean_curve():
    def result(curve):
        return ReplicateResult("m", 4, 0, 1, np.array([curve], dtype=float))

    fast = [result([-1.0, -2.0, -2.0, -2.0]), result([-1.0, -1.0, -2.0, -2.0])]
    slow = [result([0.0, 0.0, 0.0, -1.0]), result([0.0, 0.0, 0.0, -1.0])]
    table = gap_table({"fast": fast, "slow": slow}, np.array([-2.0]), H=4, mode="authors")
    # common initial value 0 (slow's first values); fast's mean curve -1, -1.5, -2, -2 converges at index 2
    assert table["fast"]["gap"] == pytest.approx((1.0 + 2 / 4) / (1 + 3 / 4))
    assert table["slow"]["gap"] == pytest.approx((0.5 + 0.0) / (1 + 3 / 4))
    # slow scored against fast's common initial value (-1) does not move it: fast scores as on its own
    against = gap_table({"fast": fast, "slow": slow}, np.array([-2.0]), H=4, mode="authors", reference=["fast"])
    assert against["fast"] == gap_table({"fast": fast}, np.array([-2.0]), H=4, mode="authors")["fast"]
    assert against["slow"]["gap"] == pytest.approx((0.0 + 0.0) / (1 + 3 / 4))  # no closer to y* than the start
    per_rep = gap_table({"fast": fast}, np.array([-2.0]), mode="replicate")["fast"]
    assert per_rep["per_t"][0] == pytest.approx(np.mean([(1 + 2 / 4), (1 + 1 / 4)]) / (1 + 3 / 4))
    with pytest.raises(ValueError, match="expected H = 5"):
        gap_table({"fast": fast}, np.array([-2.0]), H=5)
    with pytest.raises(ValueError, match="gap mode"):
        gap_table({"fast": fast}, np.array([-2.0]), mode="huang")
    assert optimal_set_percent([[("Z",), ("X",)], [("Z",), ("Z",)]], [("Z",), ("X",)]) == pytest.approx(75.0)
    assert optimal_set_percent([[("X", "Z")]], [[("Z", "X")]]) == 100.0


def test_ties_count_for_every_tied_set():
    decisions = [[("Z",), ("X",), ("X", "Z")], [("X",), ("Z",), ("X",)]]
    tied = [[[("Z",)], [("X",), ("Z",)], [("Z",)]]] * 2  # X ties with Z at t = 1 only
    strict = [[[("Z",)], [("Z",)], [("Z",)]]] * 2
    np.testing.assert_array_equal(set_hits(decisions, tied), [[True, True, False], [False, True, False]])
    np.testing.assert_array_equal(set_hits(decisions, strict), [[True, False, False], [False, True, False]])
    assert set_hits([[("Z", "X")]], [[[("X", "Z")]]])[0, 0]  # unordered
    with pytest.raises(ValueError, match="replicates of optimal sets"):
        set_hits(decisions, tied[:1])


def test_per_replicate_gap_with_bootstrap_ci_on_hand_made_curves():
    # H = 4, T = 2, optimum -2: replicate 0 converges at its 2nd trial and closes the gap; replicate 1 half-closes it
    curves = np.array([[[0.0, -2.0, -2.0, -2.0], [1.0, 1.0, -2.0, -2.0]],
                       [[0.0, -0.5, -1.0, -1.0], [0.0, 0.0, 0.0, -1.0]]])  # fmt: skip
    optima = np.full((2, 2), -2.0)
    gaps = replicate_gaps(curves, optima)
    norm = 1 + 3 / 4
    assert gaps[0] == pytest.approx(np.mean([(1 + (4 - 2) / 4) / norm, (1 + (4 - 3) / 4) / norm]))
    assert gaps[1] == pytest.approx(0.5 / norm)  # gap term 1/2 and 1/2, never converged
    summary = replicate_summary(gaps)
    assert summary["mean"] == pytest.approx(gaps.mean()) and summary["n"] == 2
    half = 12.7062047 * np.std(gaps, ddof=1) / np.sqrt(2)  # Student-t, 1 degree of freedom
    assert summary["ci"] == pytest.approx([gaps.mean() - half, gaps.mean() + half])
    many = replicate_summary(np.linspace(0.0, 1.0, 11))
    assert 0.25 < many["ci"][0] < 0.5 < many["ci"][1] < 0.75  # an interval of the mean, not the range
    np.testing.assert_allclose(final_regrets(curves, optima), [[0.0, 0.0], [1.0, 1.0]])
    with pytest.raises(ValueError, match="finite"):
        replicate_summary(np.array([np.nan]))


def test_replicate_scores_summarise_a_method_over_its_replicates():
    def result(curves, sets, seconds):
        return ReplicateResult("m", 4, 0, 2, np.array(curves), decision_sets=sets, seconds=seconds, cpu_seconds=1.0)

    curves = [[[0.0, -2.0, -2.0, -2.0], [1.0, 1.0, -2.0, -2.0]], [[0.0, -0.5, -1.0, -1.0], [0.0, 0.0, 0.0, -1.0]]]
    results = [result(curves[0], [("Z",), ("X",)], 2.0), result(curves[1], [("X",), ("X",)], 4.0)]
    optima = np.full((2, 2), -2.0)
    tied = [[[["Z"]], [["X"], ["Z"]]]] * 2  # X ties with Z at t = 1
    scores = replicate_scores(results, optima, tied, [[["Z"], ["Z"]]] * 2)
    assert scores["gap"] == replicate_summary(replicate_gaps(np.array(curves), optima))
    assert scores["optimal_set"] == 75.0 and scores["optimal_set_strict"] == 25.0
    assert scores["regret"]["mean"] == 0.5 and [p["mean"] for p in scores["regret_per_t"]] == [0.5, 0.5]
    assert scores["seconds"] == 3.0 and scores["cpu_seconds"] == 1.0 and scores["cost"] == 0.0  # no trials


# ---------------------------------------------------------------------------------------------- the loop
def test_trial_counting_costs_and_decisions(stat_env):
    dcbo = run_replicate(stat_env, "dcbo", 4, 0)
    bo = run_replicate(stat_env, "bo", 4, 0)
    for result in (dcbo, bo):
        assert result.best_so_far.shape == (3, 4) and len(result.trials) == 12
        assert np.all(np.diff(result.best_so_far, axis=1) <= 0)  # best so far never gets worse
        assert len(result.decision_sets) == 3 and stat_env.t == 3
    observed = [tr for tr in dcbo.trials if not tr.set]
    assert [tr.index for tr in observed] == [0, 0, 0] and all(tr.cost == 0 for tr in observed)  # trial 0 observes
    assert dcbo.cumulative_cost()[-1, -1] == 9.0  # 3 x (H - 1) interventions on 1-D sets
    assert bo.cumulative_cost()[-1, -1] == 24.0  # 3 x H interventions on {X, Z}
    for t in range(3):  # the decision is the best observed intervention
        mine = [tr for tr in dcbo.trials if tr.t == t and tr.set]
        best = min(mine, key=lambda tr: tr.y)
        assert dcbo.decision_values[t] == best.value and dcbo.decision_y[t] == pytest.approx(best.y)
    only_observe = run_replicate(stat_env, "cbo", 1, 0)  # no intervention: the prior mean's argmin is decided
    assert all(len(s) == 1 for s in only_observe.decision_sets) and len(only_observe.trials) == 3


def test_a_replicate_is_deterministic_under_its_seed(stat_env):
    a = run_replicate(stat_env, "dcbo", 4, 3)
    b = run_replicate(stat_env, "dcbo", 4, 3)
    timing = {"seconds": 0, "cpu_seconds": 0}
    assert json.dumps(a.to_dict() | timing) == json.dumps(b.to_dict() | timing)
    assert ReplicateResult.from_dict(json.loads(json.dumps(a.to_dict()))).to_dict() == a.to_dict()
    r1, r2 = run_replicate(stat_env, "random", 5, 1), run_replicate(stat_env, "random", 5, 2)
    assert [t.value for t in r1.trials] != [t.value for t in r2.trials]
    timing = {"seconds": 0, "cpu_seconds": 0}
    for anchors in ("authors", "sobol"):
        u1 = run_replicate(stat_env, "abo", 3, 1, anchors=anchors)
        assert u1.to_dict() | timing == run_replicate(stat_env, "abo", 3, 1, anchors=anchors).to_dict() | timing


def test_bad_inputs_raise_clear_errors(stat_env):
    with pytest.raises(ValueError, match="unknown DCGO method 'tpe'"):
        run_replicate(stat_env, "tpe", 3, 0)
    with pytest.raises(ValueError, match="H \\(trials per time step\\) must be an integer >= 1"):
        run_replicate(stat_env, "dcbo", 0, 0)
    with pytest.raises(ValueError, match="unknown DCGO loop option"):
        run_replicate(stat_env, "dcbo", 3, 0, n_anchor=5)
    with pytest.raises(ValueError, match="anchors must be"):
        run_replicate(stat_env, "bo", 3, 0, anchors="resample")
    with pytest.raises(ValueError, match="prior method"):
        run_replicate(stat_env, "dcbo", 3, 0, prior="exact")


def test_the_family_trains_evaluates_and_plots(tmp_path):
    from dogym.experiments.runner import RunConfig, train

    metrics = train(RunConfig("dcbo", STAT, seed=0, timesteps=3, log_folder=str(tmp_path), eval_episodes=0))
    assert metrics["timesteps"] == 3 and 0.0 <= metrics["truth"]["gap"] <= 1.0
    assert len(metrics["y_star"]) == 3 and metrics["dcgo"]["interventions"] == 6
    run_dir = tmp_path / "dcbo" / "dogym_DCGO-STAT-v0_seed0"
    assert (run_dir / "convergence.png").exists() and (run_dir / "replicate.json").exists()


@pytest.mark.parametrize("method", ["dcbo", "cbo", "abo", "bo", "random"])
def test_a_whole_replicate_never_reads_the_ground_truth(method):
    from test_learner_views import sealed_env_id

    env = gym.make(sealed_env_id(STAT))
    result = run_replicate(env, method, 2, 0)  # a GroundTruthTouched error would fail here
    assert len(result.decision_sets) == 3

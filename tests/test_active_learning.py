"""Online causal identification: estimator data handling, policies, rollout, determinism, scenario-2 change."""

import numpy as np
import pytest

from dogym.agents.identification.estimator import CausalGPEstimator, GPConfig
from dogym.agents.identification.learner import make_learner, run_identification
from dogym.agents.identification.policies import MaskCost, RandomPolicy, RolloutPolicy
from dogym.causal.intervention import Intervention
from dogym.envs.identification.microservice import MicroserviceEnv
from dogym.envs.identification.toy_scm import ToySCMEnv, toy_scm

SMALL_DE = dict(horizon=2, n_rollouts=3, popsize=5, maxiter=4)
RANGE = GPConfig(mode="range")


def test_estimator_skips_rows_of_intervened_variables_and_fifo_forgets():
    est = CausalGPEstimator(toy_scm(), buffer_size=3)
    est.observe(np.array([[0.1, 0.2, 3.0, -0.5]]), Intervention({"Z": 3.0}))
    assert est.data("Z")[0].shape == (0, 1)
    np.testing.assert_array_equal(est.data("Y")[0], [[3.0]])
    for i in range(4):
        est.observe(np.array([[0.0, float(i), 1.0, 0.0]]), Intervention.passive())
    assert est.n_samples == 3
    np.testing.assert_array_equal(est.data("Z")[0][:, 0], [1.0, 2.0, 3.0])  # the oldest rows were dropped


def test_surrogate_loss_is_expected_loss_of_posterior_mean_and_shrinks_with_data():
    est = CausalGPEstimator(toy_scm())
    assert est.surrogate_loss() == pytest.approx(3.0)  # unit prior variance for each of the three functions
    est.observe(np.array([[0.0, -4.0, 54.6, 0.5]]), Intervention({"X": -4.0}))
    assert est.surrogate_loss() < 3.0


def test_passive_runs_never_leave_current_operating_region():
    env = MicroserviceEnv(scenario=1)
    learner = make_learner("passive", env, GPConfig(mode="scaled"))
    run = run_identification(env, learner, 12, seed=0, loss_points=64)
    assert set(run.interventions) == {"do()"} and run.costs == [1.0] * 12
    rows = np.stack([row for row, _ in learner.estimator.buffer])
    nominal = {"B1": 0, "B2": 0, "P1": 0.5, "P2": 0.5, "C1": 1, "C3": 1, "L1": 4, "L2": 15}
    for name, value in nominal.items():
        np.testing.assert_array_equal(rows[:, env.variable_names.index(name)], value)


def test_random_policy_stays_in_bounds():
    est = CausalGPEstimator(MicroserviceEnv(1).scm_at(1))
    rng = np.random.default_rng(0)
    for _ in range(50):
        iv = RandomPolicy().decide(est, rng)
        assert not iv.is_passive
        est.structure.validate(iv)  # raises if outside the operating region or non-integer CPU


def test_mask_cost_table_matches_env_costs():
    env = MicroserviceEnv(1)
    cost = MaskCost(env.controllable, env.intervention_cost)
    mask = np.zeros((2, 8))
    mask[1, env.controllable.index("C1")] = mask[1, env.controllable.index("P2")] = 1
    np.testing.assert_array_equal(cost(mask), [1.0, 4000.0])


def test_rollout_beats_passive_on_toy_scm_and_is_deterministic():
    def run(policy, seed, **kw):
        env = ToySCMEnv()  # the paper's costs: passive free, every other intervention 1
        return run_identification(env, make_learner(policy, env, RANGE, **kw), 8, seed=seed, loss_points=128)

    passive = run("passive", 0)
    rollout = run("rollout", 0, **SMALL_DE)
    assert passive.losses[-1] > 900
    assert rollout.losses[-1] < 0.5 * passive.losses[-1]
    assert any("X=" in iv for iv in rollout.interventions)
    again = run("rollout", 0, **SMALL_DE)
    assert again.interventions == rollout.interventions and again.losses == rollout.losses
    assert run("rollout", 1, **SMALL_DE).interventions != rollout.interventions


def test_scenario2_loss_jumps_when_the_system_changes_at_t11():
    env = MicroserviceEnv(scenario=2)
    run = run_identification(env, make_learner("passive", env, buffer_size=10), 12, seed=0, loss_points=256)
    steps = np.abs(np.diff(run.losses))
    assert steps[10] > 1.0  # losses[11] is measured against the changed f_R2
    assert np.all(steps[2:10] < 0.2 * steps[10])
    r2 = [f["R2"] for f in run.function_losses]
    assert r2[11] - r2[10] > 1.0 and run.function_losses[11]["Lt2"] == pytest.approx(
        run.function_losses[10]["Lt2"], abs=0.5
    )


def test_fitted_hyperparameters_mode_runs_and_bad_options_raise():
    env = ToySCMEnv()
    run = run_identification(env, make_learner("random", env, GPConfig(mode="fit")), 7, seed=0, loss_points=64)
    assert np.isfinite(run.losses).all()
    with pytest.raises(ValueError, match="unknown identification policy 'greedy'"):
        make_learner("greedy", env)
    with pytest.raises(ValueError, match="GP mode 'exact' is not supported"):
        GPConfig(mode="exact")
    with pytest.raises(ValueError, match="popsize >= 5"):
        make_learner("rollout", env, popsize=3)


def test_reproduce_acl_quick_writes_results_and_skips_finished_cells(tmp_path, monkeypatch):
    import json

    from dogym.experiments.papers import Reproduction, acl, reproduce

    monkeypatch.setattr(acl, "FRONTIER_EXPERIMENTS", ("toy", "ms2"))  # the quick grid without scenario 1: faster
    job = Reproduction(tmp_path, (0,), quick=True)
    reproduce(acl.PAPER, job)
    summary = json.loads((tmp_path / "summary.json").read_text())
    for name in (
        "table1.csv",
        "curves.csv",
        "frontier.csv",
        "summary.json",
        "report.md",
        "fig7_toy_scm.png",
        "fig19_microservice_s2.png",
        "frontier_toy.png",
        "frontier_ms2.png",
    ):
        assert (tmp_path / name).stat().st_size > 0
    rows = {r["learner"]: r for r in summary["table1"]}
    assert rows["rollout l=1 m=5"]["loss_mean"] < rows["passive"]["loss_mean"]
    assert rows["passive"]["cost_mean"] == 0.0 and rows["random"]["cost_mean"] == 8.0  # the paper's ToySCM costs
    families = {p["family"] for p in summary["frontier"]["ms2"]}
    assert families == {"passive", "random", "myopic (l=1, m=0)", "rollout (l=1, m=5)"}
    split = next(p for p in summary["frontier"]["ms2"] if p["family"] == "passive")
    assert split["loss"]["mean"] == pytest.approx(split["carried loads"]["mean"] + split["response times"]["mean"])
    report = (tmp_path / "report.md").read_text()
    assert "## Final loss against cumulative intervention cost" in report and "carried-load share of the gap" in report
    assert "\n".join(acl._paired_text(acl.paired_comparisons(tmp_path))) in report  # the README block's table

    def fail(config):
        raise AssertionError(f"run {config.run_dir} should have been loaded from the cache")

    from dogym.experiments import grid

    monkeypatch.setattr(grid, "_train_one", fail)
    reproduce(acl.PAPER, job)
    assert json.loads((tmp_path / "summary.json").read_text())["table1"] == summary["table1"]


@pytest.mark.parametrize("buffer_size", [None, 3])
def test_simulated_surrogate_equals_refitting_including_fifo_eviction(buffer_size):
    est = CausalGPEstimator(toy_scm(), buffer_size=buffer_size, n_surrogate_points=32, model_eviction=True)
    for x in (-4.0, -1.0, 2.0):
        est.observe(np.array([[0.0, x, np.exp(-x), 0.0]]), Intervention({"X": x}))
    mask = np.zeros((1, 2, 4))
    mask[0, 0, 2] = 1  # step 1: do(Z = 7), step 2: passive
    value = np.full((1, 2, 4), 7.0)
    batch = est.simulate(mask, value, np.full((1, 2, 4), 0.3))
    got = est.surrogate_trajectories(batch)[0]
    rows = [np.array([0.0, x, np.exp(-x), 0.0]) for x in (-4.0, -1.0, 2.0)]
    # simulated rows (U, X, Z, Y): the inputs of f_X, f_Z, f_Y; step 1 intervened on Z
    sim = [np.array([batch.inputs[v][0, j, 0] for v in ("X", "Z", "Y")] + [0.0]) for j in range(2)]
    for k in range(3):
        ref = CausalGPEstimator(toy_scm(), buffer_size=buffer_size, n_surrogate_points=32)
        ref.buffer.extend((row, frozenset({"X"})) for row in rows)
        ref.buffer.extend((sim[j], frozenset({"Z"} if j == 0 else ())) for j in range(k))
        ref.refit()
        assert got[k] == pytest.approx(ref.surrogate_loss(), rel=1e-7)


def test_microservice_group_losses_sum_each_groups_terms_per_step():
    from dogym.envs.identification.microservice import group_losses

    steps = [{"Lt1": 1.0, "Lt2": 2.0, "R1": 4.0, "R2": 8.0}, {"Lt2": 0.5, "R2": 0.25}]
    assert group_losses(steps) == {"carried loads": [3.0, 0.5], "response times": [12.0, 0.25]}
    assert group_losses([{"X": 1.0, "Z": 2.0, "Y": 3.0}]) == {}  # the ToySCM's functions have no group


def test_scenario2_recovery_summary_compares_with_the_fresh_start_reference():
    from dogym.experiments.papers.acl import SCENARIO2_REFERENCE, _recovery, by_learner

    def record(experiment, label, r2):
        losses = [{"R2": v, "Lt2": 1.0} for v in r2]
        return {"cell": {"experiment": experiment, "label": label}, "function_losses": losses, "losses": list(r2 + 1.0)}

    stays = np.r_[np.full(11, 5.0), np.full(20, 9.0)]  # losses[t], t = 0..30: jumps at t = 11 and stays there
    adapts = np.r_[np.full(11, 5.0), np.full(10, 9.0), np.full(10, 6.0)]  # back to 6 at t = 21
    fresh = np.r_[np.full(11, 6.5), np.full(20, 6.0)]
    out = _recovery(
        by_learner(
            [
                record("ms2", "passive", stays),
                record("ms2", "rollout l=1 m=5", adapts),
                record("ms2", "rollout l=1 m=5", adapts + 2.0),
                record(SCENARIO2_REFERENCE, "rollout l=1 m=5", fresh),
                record("toy", "rollout l=1 m=5", stays),
                record("ms2", "rollout l=1 m=5 cw=x8", stays),  # sweep points stay out of the recovery table,
            ]
        )
    )
    assert set(out) == {"passive", "rollout l=1 m=5"} and out["passive"]["steps"] == [10, 11, 21]
    assert out["passive"]["seeds_recovering"] == 0 and out["passive"]["reference_f_R2"] is None
    rollout = out["rollout l=1 m=5"]
    assert rollout["f_R2"] == [[6.0, 1.0], [10.0, 1.0], [7.0, 1.0]] and rollout["seeds_recovering"] == 2
    assert rollout["reference_f_R2"] == [6.5, 0.0]


def test_scenario2_recovery_study_reads_cached_cells_and_writes_its_summary(tmp_path):
    import json

    from dogym.experiments.papers import acl
    from dogym.experiments.runner import claim_run_folder, finish_run

    def fake_run(experiment, agent, label, seed):  # a finished run folder of the grid runner
        config = acl.Cell(experiment, label, agent, seed, 30).config(tmp_path / "runs")
        claim_run_folder(config)
        r2 = [5.0] * 11 + [9.0] * 10 + [6.0 + seed] * 10
        run = {"losses": r2, "function_losses": [{"R2": v} for v in r2]}
        finish_run(config.run_dir, {"run": run})

    for seed in (0, 1):
        for exp in ("ms2", acl.SCENARIO2_REFERENCE):
            fake_run(exp, "acl-random", "random", seed)
            fake_run(exp, "acl-rollout", "rollout l=1 m=5", seed)
    out = acl.scenario2_recovery(tmp_path, [0, 1])  # every cell cached: nothing runs
    assert out["seeds"] == [0, 1] and out["rollout l=1 m=5"]["f_R2"][2] == [6.5, 0.5]
    assert json.loads((tmp_path / "scenario2_recovery.json").read_text()) == out
    with pytest.raises(ValueError, match="at least one seed"):
        acl.scenario2_recovery(tmp_path, [])


def test_toy_scm_costs_are_the_papers_by_default_and_unit_on_request():
    from dogym.envs.core import EnvConfigError

    paper, unit = ToySCMEnv(), ToySCMEnv(costs="unit")
    for env, passive in ((paper, 0.0), (unit, 1.0)):
        assert env.intervention_cost(Intervention.passive()) == passive
        assert env.intervention_cost(Intervention({"X": 1.0, "Z": 2.0})) == 1.0
        env.reset(seed=0)
        assert env.step(Intervention.passive())[1] == -passive
    with pytest.raises(EnvConfigError, match="costs must be one of"):
        ToySCMEnv(costs="free")


def test_random_policy_rate_mixes_passive_and_interventions():
    est = CausalGPEstimator(toy_scm())
    rng = np.random.default_rng(0)
    assert all(RandomPolicy(rate=0.0).decide(est, rng).is_passive for _ in range(20))
    passive = sum(RandomPolicy(rate=0.25).decide(est, rng).is_passive for _ in range(400))
    assert 240 < passive < 360
    with pytest.raises(ValueError, match="rate must be in"):
        RandomPolicy(rate=1.5)
    env = ToySCMEnv()
    assert make_learner("random", env, rate=0.5).policy.rate == 0.5
    with pytest.raises(ValueError, match="takes only the option 'rate'"):
        make_learner("random", env, horizon=3)


def _toy_estimator(n_passive=3):
    env = ToySCMEnv()
    env.reset(seed=0)
    est = CausalGPEstimator(env.structural_view(), RANGE, n_surrogate_points=32)
    for _ in range(n_passive):
        est.observe(env.step(Intervention.passive())[0], Intervention.passive())
    return env, est


def test_cost_to_go_equals_refitting_after_each_simulated_step():
    """Eqs. (11)-(12) by brute force: per rollout, draw each simulated measurement from the GP refitted on the
    measurements simulated before it, refit, and sum the discounted stage costs (9) plus the terminal surrogate."""
    from scipy.stats import norm

    env, est = _toy_estimator()
    est.observe(np.array([[0.0, -3.0, np.exp(3.0), 0.1]]), Intervention({"X": -3.0}))
    cost = MaskCost(env.controllable, env.intervention_cost)
    policy = RolloutPolicy(cost, lookahead=2, horizon=2, n_rollouts=3, gamma=0.9, cost_weight=0.7)
    names, n = env.controllable, len(env.controllable)  # U, X, Z, Y
    steps = [{"X": -4.5}, {"Z": 12.0, "U": 0.5}, {}, {}]  # the two lookahead steps, then the base policy do(0)
    genes = np.zeros((2, 2 * n))
    for k in range(2):
        for v, x in steps[k].items():
            lo, hi = est.structure.control_bounds[v]
            genes[k, names.index(v)], genes[k, n + names.index(v)] = 1.0, (x - lo) / (hi - lo)
    uniforms = np.random.default_rng(1).uniform(0.05, 0.95, (3, 4, 4))
    got = policy.cost_to_go(est, genes.reshape(1, -1), uniforms)[0]
    totals = []
    for j in range(3):
        ref = CausalGPEstimator(est.structure, RANGE, n_surrogate_points=32)
        ref.buffer.extend(est.buffer)
        ref.refit()
        total, before = 0.0, ref.surrogate_loss()
        for k, targets in enumerate(steps):
            row = {}
            for v in est.structure.order:
                q = uniforms[j, k, est.names.index(v)]
                if v in targets:
                    row[v] = targets[v]
                elif v in est.structure.exogenous:
                    row[v] = float(est.structure.exogenous[v].ppf(q))
                else:
                    gp = ref.gps[v]
                    mean, var = gp.predict(np.array([[row[p] for p in est.structure.parents(v)]]))
                    row[v] = float(mean[0] + np.sqrt(var[0] + gp.noise_var) * norm.ppf(q))
            iv = Intervention(targets)
            ref.observe(np.array([[row[v] for v in est.names]]), iv)
            after = ref.surrogate_loss()
            total += 0.9**k * (after - before + 0.7 * env.intervention_cost(iv))
            before = after
        totals.append(total + 0.9**4 * before)
    assert got == pytest.approx(np.mean(totals), rel=1e-6)


def test_prohibitive_cost_makes_the_rollout_passive():
    env, est = _toy_estimator()
    cost = MaskCost(env.controllable, env.intervention_cost)
    for weight, passive in ((1e9, True), (1.0, False)):
        policy = RolloutPolicy(cost, cost_weight=weight, **SMALL_DE)
        decisions = [policy.decide(est, np.random.default_rng(s)).is_passive for s in range(3)]
        assert decisions == [passive] * 3
    env = ToySCMEnv()
    run = run_identification(env, make_learner("rollout", env, RANGE, cost_weight=1e9, **SMALL_DE), 4, seed=0)
    assert set(run.interventions) == {"do()"} and run.costs == [0.0] * 4


def test_changing_the_horizon_or_the_number_of_rollouts_changes_the_decision():
    env, est = _toy_estimator()
    cost = MaskCost(env.controllable, env.intervention_cost)

    def targets(**kw):  # a small DE (8 x 8); the same random numbers for every call
        options = {"horizon": 5, "n_rollouts": 10, "popsize": 8, "maxiter": 8, **kw}
        return RolloutPolicy(cost, **options).decide(est, np.random.default_rng(7)).targets

    # information gained at step 1 weighs 1 + gamma^(1 + m) against the cost: a long horizon declines to pay 30
    assert targets(cost_weight=30.0) == {"X"} and targets(cost_weight=30.0, horizon=20) == frozenset()
    # one Monte-Carlo rollout judges by a single simulated measurement and picks another target than ten do
    assert targets(cost_weight=1.0) == {"X"} and targets(cost_weight=1.0, n_rollouts=1) not in ({"X"}, frozenset())

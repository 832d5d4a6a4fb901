"""COL (Algorithm 1 of Hammar, Alpcan and Lupu) and its family: the safe-set constraint, the budget and stop rule,
the ablations, determinism, no peeking at the ground truth, and a run through the experiment runner."""

from __future__ import annotations

import json

import gymnasium as gym
import numpy as np
import pytest
from test_learner_views import sealed_env_id
from threadpoolctl import threadpool_limits

import dogym.envs  # noqa: F401
from dogym.agents.registry import AGENTS, RunContext, family, resolve_hyperparams
from dogym.agents.safe_region.col import COL, COLConfig
from dogym.agents.safe_region.family import coverage, region_scores, unsafe_to_converge, unsafe_to_cover
from dogym.experiments.runner import RunConfig, train

EDGE = "dogym/EdgeSafeRegion-v0"
FAST = {"resolution": 41, "prior_rows": 16, "prior_draws": 4}


@pytest.fixture(autouse=True)
def one_blas_thread():
    """Tiny GPs run several times slower with BLAS threads oversubscribing the cores."""
    with threadpool_limits(1):
        yield


def run_col(seed: int = 1, budget: float = 20.0, env_id: str = EDGE, **options):
    env = gym.make(env_id).unwrapped
    col = COL(env, COLConfig(**{**FAST, **options}), seed)
    return col, col.run(budget)


def test_col_stays_inside_its_safe_set_and_the_budget():
    col, record = run_col()
    assert record.outcomes and all(record.in_safe_set)
    assert sum(record.costs) <= 20.0 and len(record.regions) == len(record.outcomes) + 1
    remaining = 20.0 - sum(record.costs)
    assert col.costs[col.choose(record)] > remaining  # stopped because the next choice is unaffordable
    assert "remaining" in record.stopped
    np.testing.assert_allclose(record.costs, col.env.costs_of(np.array(record.interventions)))


def test_without_the_safety_constraint_col_leaves_its_safe_set():
    _, record = run_col(safety=False)
    assert not all(record.in_safe_set)


def test_a_budget_below_the_cheapest_intervention_stops_at_once():
    _, record = run_col(budget=0.4)  # c(u) >= 0.5 on the edge example
    assert record.outcomes == [] and len(record.regions) == 1


def test_srinivas_kappa_empties_the_safe_set_and_still_terminates():
    _, record = run_col(kappa="srinivas", outcome="indicator", budget=6.0)
    assert len(record.outcomes) > 0 and not record.regions[-1].any()  # beta_t ~ 1e4: no point is certified safe
    assert sum(record.costs) <= 6.0


def test_no_prior_ablation_seeds_the_gp_with_the_passive_outcomes():
    col, record = run_col(causal_prior=False, outcome="indicator", budget=4.0)
    assert len(col.y) == col.config.monitoring_steps + len(record.outcomes)
    assert set(np.unique(col.y)) <= {0.0, 1.0}


def test_metric_col_learns_the_response_time_from_its_windows():
    """The default reading: the GP of Y conditions on the passive steps and one judged step per intervention, and the
    region grows from its prior while staying (almost) inside the truth."""
    col, record = run_col(seed=101, budget=20.0)
    gp = col.model.mechanisms["Y"].gp
    assert gp.n == col.config.monitoring_steps + len(record.outcomes)
    truth = col.env.ground_truth(t=1)["region"].contains(record.candidates)
    assert record.sizes[-1] > record.sizes[0] + 0.1
    assert region_scores(record.regions[-1], truth)["precision"] >= 0.9


def test_metric_col_without_the_prior_sees_only_its_interventions():
    col, record = run_col(causal_prior=False, budget=6.0)
    assert col.model.mechanisms["Y"].gp.n == len(record.outcomes) > 0
    assert not record.regions[0].any()  # nothing is certified before the first intervention


def test_metric_col_rejects_the_srinivas_rule():
    with pytest.raises(ValueError, match="indicator"):
        COLConfig(kappa="srinivas")


def test_col_is_deterministic_under_seeds():
    _, a = run_col(seed=2, budget=8.0)
    _, b = run_col(seed=2, budget=8.0)
    _, c = run_col(seed=3, budget=8.0)
    assert a.interventions == b.interventions and a.outcomes == b.outcomes
    assert all(np.array_equal(x, y) for x, y in zip(a.regions, b.regions, strict=True))
    assert a.interventions != c.interventions


def test_region_scores_and_convergence_count():
    truth = np.array([True, True, False, False])
    scores = region_scores(np.array([True, False, False, False]), truth)
    assert scores == {"precision": 1.0, "recall": 0.5, "inside": 1.0, "outside_fraction": 0.0}
    assert region_scores(np.array([True, False, True, False]), truth)["inside"] == 0.0
    assert unsafe_to_converge([0.1, 0.2, 0.2, 0.2, 0.2, 0.5], [0, 1, 1, 1, 0]) == 1
    assert unsafe_to_converge([0.1, 0.3, 0.5], [0, 0]) == 2


def test_unsafe_to_cover_counts_until_the_estimate_covers_90_percent():
    recall = [0.0, 0.5, 0.85, 0.91, 0.95]  # estimate k follows k interventions
    assert unsafe_to_cover(recall, [0, 1, 0, 0]) == 2  # covered after intervention 3; 2 of the first 3 were unsafe
    assert unsafe_to_cover([0.95], []) == 0  # the prior already covers it
    assert unsafe_to_cover([0.1, 0.2, 0.3], [0, 0]) is None  # never: censored
    assert unsafe_to_cover([0.95, 0.95], [0], precision=[0.5, 0.95]) == 1  # the prior covers it, but mostly outside


def test_coverage_is_the_unsafe_count_until_covered_or_all_of_them():
    assert coverage([0.1, 0.5, 0.95, 0.95], [0, 1, 0], [1.0] * 4) == {"covered": 1.0, "unsafe_to_cover": 1.0}
    assert coverage([0.1, 0.2, 0.3], [0, 1], [1.0] * 3) == {"covered": 0.0, "unsafe_to_cover": 1.0}  # censored: all


def test_col_never_reads_the_ground_truth():
    context = RunContext(AGENTS["col"], sealed_env_id(EDGE), {}, 0, {**resolve_hyperparams(AGENTS["col"], EDGE),
                         **FAST}, None)  # fmt: skip
    agent = family("safe_region").build(context)
    assert agent.learn(6) and agent.summary()["col"]["interventions"] > 0


def test_col_runs_through_the_runner_with_truth_metrics(tmp_path):
    config = RunConfig("col", EDGE, seed=1, hyperparams=dict(FAST), log_folder=str(tmp_path))
    metrics = train(config)
    assert {"col", "truth"} <= set(metrics) and metrics["truth"]["true_region_size"] == pytest.approx(0.487, abs=1e-3)
    assert 0.0 <= metrics["truth"]["precision"] <= 1.0 and metrics["col"]["cost_spent"] <= 20.0
    for name in ("region.npz", "truth.npz", "interventions.csv", "region_evolution.png"):
        assert (config.run_dir / name).exists()
    rows = family("safe_region").curves(config.context())
    assert len(rows) == metrics["col"]["interventions"] + 1 and rows[0]["unsafe"] == 0
    assert json.loads((config.run_dir / "metrics.json").read_text())["sizes"][-1] == rows[-1]["region_size"]


def test_backdoor_prior_gives_probabilities_and_a_safe_start():
    col, record = run_col(prior="backdoor", budget=4.0)
    data = col.env.observational_data(10, seed=0)
    mean, std = col.causal_prior(data)
    assert mean.shape == std.shape == (len(col.candidates),) and np.all((0 <= mean) & (mean <= 1))
    assert record.outcomes and all(record.in_safe_set)


RECORD_DIGEST = """
import hashlib, sys, gymnasium as gym, numpy as np, dogym.envs
from dogym.agents.safe_region.col import COL, COLConfig
env = gym.make("dogym/EdgeSafeRegion-v0").unwrapped
record = COL(env, COLConfig(resolution=41, prior_rows=16, prior_draws=4), 4).run(8.0)
digest = hashlib.sha256()
for part in (np.array(record.interventions), np.array(record.outcomes), *record.mean, *record.std, *record.regions):
    digest.update(np.ascontiguousarray(part).tobytes())
print(digest.hexdigest())
"""


def test_a_seed_reruns_bit_identically_in_a_fresh_process_with_other_blas_threads():
    """The same seed's record (interventions, outcomes, posterior and regions) is bit-identical in this process and
    in a fresh one whose BLAS may use two threads (a cached prior, or a thread count, must not change a run)."""
    import os
    import subprocess
    import sys

    here = subprocess.run([sys.executable, "-c", RECORD_DIGEST], capture_output=True, text=True, check=True)
    threads = {k: "2" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
    other = subprocess.run([sys.executable, "-c", RECORD_DIGEST], capture_output=True, text=True, check=True,
                           env={**os.environ, **threads})  # fmt: skip
    namespace: dict = {}
    exec(RECORD_DIGEST.replace("print(digest.hexdigest())", ""), namespace)
    assert here.stdout.strip() == other.stdout.strip() == namespace["digest"].hexdigest()


def test_metric_col_updates_every_k_interventions_and_holds_its_estimate_between():
    col, record = run_col(seed=3, budget=12.0, update_every=3)
    n = len(record.outcomes)
    assert n >= 4 and col.model.mechanisms["Y"].gp.n == col.config.monitoring_steps + 3 * (n // 3)
    assert all(np.array_equal(record.regions[k], record.regions[k - 1]) for k in range(1, n + 1) if k % 3)
    with pytest.raises(ValueError, match="update_every"):
        COLConfig(update_every=0)
    with pytest.raises(ValueError, match="roots"):
        COLConfig(roots="passive")

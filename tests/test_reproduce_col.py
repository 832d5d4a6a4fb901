"""`train.py reproduce col` (Hammar, Alpcan and Lupu, Table II and Figs. 6, 8, 14): the grid's plan, the report maker
and its target verdicts on synthetic run metrics, and the random-interventions-at-equal-cost baseline."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import dogym.envs  # noqa: F401
from dogym.agents.safe_region.col import COL, COLConfig
from dogym.experiments.papers import col as repro

FAST = {"resolution": 41, "prior_rows": 16, "prior_draws": 4}


def col_run(agent: str, env: str, seed: int, outcomes: list[int], size: float, inside: bool, true: float = 0.487):
    """The metrics a safe-region run writes (the keys the report reads)."""
    unsafe = len(outcomes) - sum(outcomes)
    return {"label": agent, "env": env, "seed": seed, "outcomes": outcomes,
            "sizes": list(np.linspace(0.1, size, len(outcomes) + 1)),
            "col": {"unsafe_interventions": unsafe, "unsafe_to_converge": unsafe, "region_size": size,
                    "interventions": len(outcomes), "cost_spent": 19.0},
            "truth": {"true_region_size": true, "inside": float(inside), "precision": 1.0 if inside else 0.9,
                      "recall": size / true}}  # fmt: skip


def rl_run(agent: str, env: str, unsafe: float):
    return {"label": agent, "env": env, "seed": 0, "timesteps": 200_000, "safe_rl": {"unsafe_interventions": unsafe},
            "region": {"region_size": 0.01}, "truth": {"true_region_size": 0.487, "inside": 1.0, "precision": 1.0,
                                                        "recall": 0.02}}  # fmt: skip


def synthetic_runs(s1_size: float) -> list[dict]:
    runs = []
    for seed in range(10):
        safe = [1] * 8
        runs.append(col_run("col", repro.S1, seed, [0, *safe, 0] if seed % 2 else [0, *safe], s1_size, True))
        runs.append(col_run("col-no-prior", repro.S1, seed, [0] * 8 + safe, 0.3, seed < 5))
        runs.append(col_run("col-no-safety", repro.S1, seed, [0] * 6 + safe, 0.4, False))
        runs.append(col_run("col-no-cost", repro.S1, seed, [0, *safe] if seed % 2 else [0, 0, *safe], s1_size, True))
        runs.append(col_run("col", repro.S2, seed, [0] * 12 + safe, 0.2, True, true=0.21))
        runs.append(col_run("col", repro.RAN_STEERING, seed, [0, 0] + [1] * 50, 0.4, True, true=0.45))
        runs.append(col_run("col-no-prior", repro.RAN_STEERING, seed, [0] * 12 + [1] * 50, 0.3, True, true=0.45))
    runs += [rl_run("cpo", repro.S1, 60_000.0), rl_run("ppo-lagrangian", repro.S1, 100.0)]
    return runs


def verdicts(runs: list[dict]) -> dict[str, str]:
    return {target: verdict for target, _, verdict in repro.targets(runs)}


def test_targets_are_met_and_missed_by_the_numbers():
    good = verdicts(synthetic_runs(0.46))
    assert good["S1: COL unsafe interventions <= 10"] == "met"
    assert good["S1: region size within 0.05 of the true 0.487"] == "met"
    assert good["S1: estimate inside the true region in >= 80% of seeds"] == "met"
    assert good["EdgeSafeRegion-v0: CPO >= 100x COL's unsafe interventions"] == "met"
    assert good["EdgeSafeRegion-v0: PPO-Lagrangian >= 100x COL's unsafe interventions"] == "**missed**"  # 100 vs 1.5
    assert good["EdgeSafeRegion-v0 (Fig. 8): the causal prior cuts unsafe interventions (separated 95% CIs)"] == "met"
    assert good["EdgeSafeRegion-v0 (Fig. 8): the cost denominator has a minor effect (95% CIs overlap)"] == "met"
    assert good["RANSteering: the causal prior cuts unsafe interventions >= 5x"] == "met"
    s2 = [k for k in good if k.startswith("S2: size")][0]
    assert good[s2] == "met"  # 0.2 is within 0.05 of the true final 0.21 (not of the paper's 0.12)
    bad = verdicts(synthetic_runs(0.29))
    assert bad["S1: region size within 0.05 of the true 0.487"] == "**missed**"


def test_report_has_the_papers_numbers_beside_ours():
    runs = synthetic_runs(0.46)
    plan = repro.Plan.of(range(10), False, None)
    text = repro.report(runs, plan, 60.0, "python train.py reproduce col", pending=2)
    assert "6.1 ± 0.3" in text and "60342.3 ± 81.12" in text and "partial" in text
    rows = repro.table2(runs)
    assert {(r["scenario"], r["method"]) for r in rows} >= {(repro.S1, "col"), (repro.S1, "cpo")}
    col = next(r for r in rows if r["scenario"] == repro.S1 and r["method"] == "col")
    assert col["inside"] == "10/10" and col["seeds"] == 10


def test_plan_and_grid_order():
    plan = repro.Plan.of(range(10), False, None)
    assert plan.rl_steps >= 200_000 and len(plan.seeds) == 10
    stages = repro.stages(repro.Path("/tmp/unused"), plan, 5)
    assert all(c.spec.family == "safe-region" for c in stages[0] + stages[1])
    assert len(stages) == 3 and len(stages[2]) == 40 and {c.agent for c in stages[2]} == set(repro.RL_AGENTS)
    assert [c.seed for c in stages[2][:4]] == [0] * 4  # seed by seed: a partial report has every baseline
    quick = repro.Plan.of(range(10), True, None)
    assert len(quick.seeds) == 3 and quick.rl_steps < 10_000
    with pytest.raises(ValueError):
        repro.Plan.of([], False, None)


def test_random_baseline_leaves_the_safe_set_spends_within_budget_and_repeats():
    with threadpool_limits(1):
        records = []
        for _ in range(2):
            env = gym.make(repro.S1).unwrapped
            records.append(COL(env, COLConfig(**FAST, policy="random"), 3).run(20.0))
    record = records[0]
    assert sum(record.costs) <= 20.0 and record.outcomes and not all(record.in_safe_set)
    assert record.interventions == records[1].interventions  # seeded
    col = COL(gym.make(repro.S1).unwrapped, COLConfig(**FAST), 3).run(20.0)
    assert record.interventions != col.interventions
    with pytest.raises(ValueError, match="policy"):
        COLConfig(policy="greedy")

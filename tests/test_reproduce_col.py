"""`train.py reproduce col` (Hammar, Alpcan and Lupu, Table II and Figs. 6, 8, 14): the grid's plan, the report maker
and its target verdicts on synthetic run metrics, and the random-interventions-at-equal-cost baseline."""

from __future__ import annotations

import json

import gymnasium as gym
import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import dogym.envs  # noqa: F401
from dogym.agents.safe_region.col import COL, COLConfig
from dogym.experiments.papers import col as repro

FAST = {"resolution": 41, "prior_rows": 16, "prior_draws": 4}


def col_run(agent: str, env: str, seed: int, outcomes: list[int], size: float, precision: float,
            true: float = 0.487, initial: float = 0.1) -> dict:  # fmt: skip
    """The metrics a safe-region run writes (the keys the report reads)."""
    unsafe = len(outcomes) - sum(outcomes)
    return {"label": agent, "env": env, "seed": seed, "outcomes": outcomes, "train_seconds": 1.5,
            "sizes": list(np.linspace(initial, size, len(outcomes) + 1)),
            "col": {"unsafe_interventions": unsafe, "unsafe_to_converge": unsafe, "region_size": size,
                    "interventions": len(outcomes), "cost_spent": 19.0},
            "truth": {"true_region_size": true, "inside": float(precision == 1.0), "precision": precision,
                      "recall": size / true, "covered": 1.0, "unsafe_to_cover": float(unsafe)}}  # fmt: skip


def synthetic_runs(s1_size: float, seeds=range(10)) -> list[dict]:
    runs = []
    for seed in seeds:
        safe = [1] * 8
        runs.append(col_run("col", repro.S1, seed, [0, *safe, 0] if seed % 2 else [0, *safe], s1_size, 0.99))
        runs.append(col_run("col-random", repro.S1, seed, [0] * 6 + safe, 0.2 + 0.002 * seed, 0.95))
        runs.append(col_run("col-no-prior", repro.S1, seed, [0] * 8 + safe, 0.3, 1.0 if seed < 5 else 0.9))
        runs.append(col_run("col-no-safety", repro.S1, seed, [0] * 6 + safe, 0.4, 0.9))
        runs.append(col_run("col-no-cost", repro.S1, seed, [0, *safe] if seed % 2 else [0, 0, *safe], s1_size, 0.99))
        runs.append(col_run("col", repro.S2, seed, [0] * 12 + safe, 0.2, 0.95, true=0.21))
        runs.append(col_run("col", repro.RAN_STEERING, seed, [0, 0] + [1] * 50, 0.4, 1.0, true=0.6))
        runs.append(col_run("col-no-prior", repro.RAN_STEERING, seed, [0] * 12 + [1] * 50, 0.3, 1.0, true=0.6))
        runs.append(col_run("col", repro.RAN_CPU, seed, [0] * (2 + seed % 2) + [1] * 9, 0.5, 1.0, true=0.5))
        runs.append(col_run("col-no-prior", repro.RAN_CPU, seed, [0] * (2 + seed % 3) + [1] * 9, 0.5, 1.0, true=0.5))
    return runs


def verdicts(runs: list[dict]) -> dict[str, str]:
    return {target: verdict for target, _, verdict in repro.targets(runs) + repro.ran_targets(runs)}


def test_targets_are_met_and_missed_by_the_numbers():
    good = verdicts(synthetic_runs(0.46))
    assert good["S1: COL unsafe interventions <= 10"] == "met"
    assert good["S1: region size within 0.05 of the true 0.487"] == "met"
    assert good["S1: precision >= 0.98 in >= 8/10 seeds"] == "met"
    assert good["S1: the region grows from its prior in >= 9/10 seeds"] == "met"
    random = [k for k in good if k.startswith("S1: COL spends")][0]
    assert good[random] == "met"  # 6 vs 1.5 unsafe, region 0.46 vs ~0.21
    assert good["EdgeSafeRegion-v0 (Fig. 8): the causal prior cuts unsafe interventions (separated 95% CIs)"] == "met"
    assert good["EdgeSafeRegion-v0 (Fig. 8): the cost denominator has a minor effect (95% CIs overlap)"] == "met"
    steering = [k for k in good if k.startswith("RANSteering")][0]
    assert good[steering] == "met"  # 12 vs 2
    assert good["RANCpu: the causal prior has little effect (95% CIs of unsafe interventions overlap)"] == "met"
    s2 = [k for k in good if k.startswith("S2: size")][0]
    assert good[s2] == "met"  # 0.2 is within 0.05 of the true final 0.21, precision 0.95
    bad = verdicts(synthetic_runs(0.29))
    assert bad["S1: region size within 0.05 of the true 0.487"] == "**missed**"
    shrinking = [dict(r, sizes=r["sizes"][::-1]) for r in synthetic_runs(0.46)]
    assert verdicts(shrinking)["S1: the region grows from its prior in >= 9/10 seeds"] == "**missed**"


def test_speed_targets_read_the_speed_benchmark(tmp_path):
    path = tmp_path / "speed.json"
    path.write_text('{"col_edge_budget20": {"median_cpu_seconds": 2.5, "median_wall_seconds": 2.6}, '
                    '"load_average": [1.0, 1.0, 1.0]}')  # fmt: skip
    ((target, ours, verdict),) = repro.speed_targets(path)
    assert target == "Speed: one COL S1 run <= 2 s" and verdict == "**missed**" and "2.50 s CPU" in ours
    assert repro.speed_targets(tmp_path / "missing.json") == []


def test_report_has_the_papers_numbers_and_both_seed_blocks():
    runs = synthetic_runs(0.46) + synthetic_runs(0.45, seeds=range(200, 210))
    plan = repro.Plan.of(range(10), False)
    text, every = repro.report(runs, plan, 60.0, "python train.py reproduce col")
    assert "6.1 ± 0.3" in text and "Wall time of this invocation 1.0 min" in text and "fresh seeds 200-209" in text
    assert "| S1: COL unsafe interventions <= 10 [fresh seeds 200-209] |" in text
    tags = [t.split(" [")[1] for t, _, _ in every if t.startswith("S1: COL unsafe")]
    assert tags == ["reported]", "fresh]"]  # targets.json tags the blocks by name
    quick, _ = repro.report(runs, repro.Plan.of(range(10), True), 200.0, "python train.py reproduce col --quick")
    assert "| Speed: reproduce col --quick <= 5 min | 3.3 min wall | met |" in quick
    assert "Speed: reproduce col --quick" not in str(every)
    rows = repro.table2(repro.in_block(runs, plan.seeds))
    col = next(r for r in rows if r["scenario"] == repro.S1 and r["method"] == "col")
    assert col["tolerant"] == "10/10" and col["seeds"] == 10 and col["grew"] == "10/10"


def test_plan_and_grid_order():
    plan = repro.Plan.of(range(10), False)
    assert len(plan.seeds) == 10 and plan.fresh == repro.FRESH_SEEDS
    grid = repro.configs(repro.Path("/tmp/unused"), plan)
    assert all(c.spec.family == "safe_region" for c in grid)
    edge = [c for c in grid if c.env in repro.SCENARIOS]
    assert grid[: len(edge)] == edge  # the edge example runs first
    assert {c.seed for c in edge} == set(range(10)) | set(repro.FRESH_SEEDS)
    assert {c.seed for c in edge if c.label in repro.VARIANTS} == set(range(10))  # variants on the reported seeds
    assert {c.agent for c in edge if c.seed in repro.FRESH_SEEDS} == set(repro.FRESH_AGENTS)
    quick = repro.Plan.of(range(10), True)
    assert len(quick.seeds) == 3 and not quick.fresh
    with pytest.raises(ValueError):
        repro.Plan.of([], False)


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


def test_the_readmes_col_block_is_the_committed_targets():
    """The README's COL numbers are written by code from the committed `benchmarks/results/col/targets.json`."""
    import json

    from dogym.experiments.readme import read_block

    targets = json.loads((repro.DEFAULT_OUT / "targets.json").read_text(encoding="utf-8"))
    assert read_block("col") == repro.readme_block(targets)


def test_readme_blocks_are_replaced_whole(tmp_path):
    from dogym.experiments.readme import read_block, replace_block

    readme = tmp_path / "README.md"
    readme.write_text(
        "intro\n<!-- x:begin (written by code from result files: do not edit) -->\nold\n<!-- x:end -->\nend\n"
    )
    assert replace_block("x", "new\nlines", readme) and read_block("x", readme) == "new\nlines"
    assert readme.read_text().startswith("intro\n") and readme.read_text().endswith("<!-- x:end -->\nend\n")
    assert not replace_block("y", "z", readme) and read_block("y", readme) is None


def test_rl_targets_read_the_rl_summary(tmp_path):
    def entry(method: str, censored: bool, ci: tuple[float, float], reading: str = "region") -> dict:
        return {"env": repro.S1, "method": method, "reading": reading, "n": 3, "reached": 2 if censored else 3,
                "censored": censored, "ci95": list(ci), "lower_bound": 5000.0}  # fmt: skip

    summary = [entry("col", True, (0, 0)), entry("col-c40", False, (0.0, 2.0)),
               entry("cpo", False, (3486.0, 5082.0), "experience")]  # fmt: skip
    (tmp_path / "summary.json").write_text(json.dumps({"summary": summary}))
    (col, _, col_verdict), (c40, detail, c40_verdict) = repro.rl_targets(tmp_path)
    assert col_verdict == "**missed**" and c40_verdict == "met" and "CPO >= 1743x" in detail
    assert repro.rl_targets(tmp_path / "none") == []

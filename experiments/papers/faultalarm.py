"""Reproduction of Cai et al., "Learning by Doing: An Online Causal Reinforcement Learning Framework with Causal-Aware
Policy", Table 1 and Fig. 3: causal PPO / DQN / D3QN (THP and random initial graphs) against their vanilla versions and
the unmasked SB3 baselines on FaultAlarm-v0; a Markdown report beside the paper's numbers."""

from __future__ import annotations

import platform
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dogym.agents.rl.specs import VANILLA_OF
from dogym.experiments.grid import run_grid
from dogym.experiments.io import atomic_write_text
from dogym.experiments.report import write_outputs
from dogym.experiments.runner import RunConfig

DESCRIPTION = 'Cai et al., "Learning by Doing": Table 1 (learned graphs) and Fig. 3 (causal vs vanilla RL)'
DEFAULT_SEEDS = (0, 1, 2, 3)

#: Table 1 of the paper: F1, precision, recall (mean, std over 4 seeds).
PAPER_TABLE1 = {
    "THP (initial graph)": ((0.6383, 0.0168), (0.7751, 0.0199), (0.5426, 0.0150)),
    "causal-ppo": ((0.8413, 0.0203), (0.8535, 0.0191), (0.8298, 0.0269)),
    "causal-d3qn": ((0.8359, 0.0151), (0.8490, 0.0210), (0.8234, 0.0144)),
    "causal-dqn": ((0.8320, 0.0202), (0.8478, 0.0203), (0.8170, 0.0246)),
    "Random initial graph": ((0.1884, 0.0127), (0.1303, 0.0088), (0.1303, 0.0088)),
    "causal-ppo-random": ((0.8402, 0.0188), (0.8466, 0.0149), (0.8340, 0.0248)),
    "causal-d3qn-random": ((0.8391, 0.0162), (0.8467, 0.0222), (0.8319, 0.0170)),
    "causal-dqn-random": ((0.8303, 0.0191), (0.8494, 0.0253), (0.8128, 0.0197)),
}
AGENTS = (
    "causal-ppo",
    "causal-dqn",
    "causal-d3qn",
    "causal-ppo-random",
    "causal-dqn-random",
    "causal-d3qn-random",
    "ppo",
    "dqn",
    "d3qn",
    "ppo-unmasked",
    "dqn-unmasked",
)
#: (metric key in the summary, label, True when larger is better)
POLICY_METRICS = (
    ("eval/reward_mean", "reward", True),
    ("eval/steps_mean", "steps", False),
    ("eval/mean_alarms_mean", "alarms/step", False),
    ("train/reward_mean", "reward", True),
    ("train/steps_mean", "steps", False),
    ("train/mean_alarms_mean", "alarms/step", False),
)


def grid(out_dir: Path, seeds: Sequence[int], timesteps: int, eval_episodes: int) -> list[RunConfig]:
    """Every (agent, seed) run of the reproduction."""
    return [
        RunConfig(agent, seed=seed, timesteps=timesteps, eval_episodes=eval_episodes, log_folder=str(out_dir / "runs"))
        for agent in AGENTS
        for seed in seeds
    ]


def _ms(stats: dict[str, Any] | None, digits: int = 3) -> str:
    return "-" if not stats else f"{stats['mean']:.{digits}f} ± {stats['std']:.{digits}f}"


def _ci(stats: dict[str, Any] | None) -> str:
    if not stats:
        return "-"
    low, high = stats["mean_ci95"]
    return f"{stats['mean']:.2f} [{low:.2f}, {high:.2f}]"


def separated(causal: dict[str, Any], vanilla: dict[str, Any], larger_is_better: bool) -> bool:
    """Whether the causal agent's 95% CI lies entirely on the better side of the vanilla agent's."""
    if larger_is_better:
        return causal["mean_ci95"][0] > vanilla["mean_ci95"][1]
    return causal["mean_ci95"][1] < vanilla["mean_ci95"][0]


def report(
    summary: dict[str, Any], runs: list[dict[str, Any]], seeds: Sequence[int], timesteps: int, wall: float, command: str
) -> str:
    """The Markdown report: Table 1 beside the paper's, the policy comparison with CIs and verdicts, throughput."""
    lines = [
        "# Cai et al. on FaultAlarm-v0: Table 1 and Fig. 3",
        "",
        f"Command: `{command}`; seeds {list(seeds)}; {timesteps} env steps per run; wall time {wall / 60:.1f} min "
        f"for the runs made by this invocation ({platform.machine()}, one thread per run).",
        "",
        "## Table 1: causal structure learning (F1 / precision / recall against Table 3, mean ± std over seeds)",
        "",
        "| method | F1 | precision | recall | paper F1 | paper precision | paper recall |",
        "|---|---|---|---|---|---|---|",
    ]
    initial = {
        "thp": [r for r in runs if r["agent"] == "causal-ppo"],
        "random": [r for r in runs if r["agent"] == "causal-ppo-random"],
    }
    for name, key in (("THP (initial graph)", "thp"), ("Random initial graph", "random")):
        rows = [r["graph_initial"] for r in initial[key]]
        ours = [_mean_std([row[m] for row in rows]) for m in ("f1", "precision", "recall")]
        paper = [f"{m:.3f} ± {s:.3f}" for m, s in PAPER_TABLE1[name]]
        lines.append(f"| {name} | " + " | ".join(ours) + " | " + " | ".join(paper) + " |")
        for agent in (a for a in AGENTS if a in PAPER_TABLE1 and (a.endswith("-random") == (key == "random"))):
            stats = summary.get(agent, {})
            ours = [_ms(stats.get(f"graph_final/{m}")) for m in ("f1", "precision", "recall")]
            paper = [f"{m:.3f} ± {s:.3f}" for m, s in PAPER_TABLE1[agent]]
            lines.append(f"| {agent} | " + " | ".join(ours) + " | " + " | ".join(paper) + " |")
    lines += [
        "",
        "## Fig. 3: policy learning (mean [95% stratified-bootstrap CI] over seeds)",
        "",
        "Final policy: deterministic evaluation episodes after training (causal agents with their final graph and",
        "eta = 0). Training: mean over every training episode (the area under the Fig. 3 curves: sample efficiency).",
        "",
        "| agent | eval reward | eval steps | eval alarms/step | eval cleared | train reward | train steps | "
        "train alarms/step | env steps/s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for agent in AGENTS:
        stats = summary.get(agent, {})
        cells = [_ci(stats.get(k)) for k, _, _ in POLICY_METRICS[:3]] + [_ci(stats.get("eval/cleared_rate"))]
        cells += [_ci(stats.get(k)) for k, _, _ in POLICY_METRICS[3:]]
        sps = stats.get("steps_per_second")
        cells.append(f"{sps['mean']:.0f}" if sps else "-")
        lines.append(f"| {agent} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "### Causal vs vanilla: are the 95% CIs separated (causal better)?",
        "",
        "| causal | vanilla | " + " | ".join(f"{p.split('/')[0]} {label}" for p, label, _ in POLICY_METRICS) + " |",
        "|---|---|" + "---|" * len(POLICY_METRICS),
    ]
    for causal, vanilla in VANILLA_OF.items():
        if causal not in summary or vanilla not in summary:
            continue
        verdicts = []
        for key, _, larger in POLICY_METRICS:
            c, v = summary[causal].get(key), summary[vanilla].get(key)
            verdicts.append("-" if not (c and v) else ("yes" if separated(c, v, larger) else "**no**"))
        lines.append(f"| {causal} | {vanilla} | " + " | ".join(verdicts) + " |")
    lines += ["", "![Fig. 3 panels](fig3.png)", ""]
    return "\n".join(lines)


def _mean_std(values: list[float]) -> str:
    import numpy as np

    return f"{np.mean(values):.3f} ± {np.std(values):.3f}"


def reproduce(
    out_dir: str | Path,
    seeds: Sequence[int] = DEFAULT_SEEDS,
    *,
    quick: bool = False,
    workers: int = 2,
    timesteps: int | None = None,
    eval_episodes: int = 30,
    command: str = "python train.py reproduce faultalarm",
) -> Path:
    """Run (or finish) the grid, then write results.csv, curves.csv, summary.json, fig3.png and report.md; returns
    the report's path. `timesteps` defaults to 15000 env steps per run (3000 with `quick`)."""
    out = Path(out_dir)
    timesteps = timesteps or (3_000 if quick else 15_000)
    configs = grid(out, seeds, timesteps, eval_episodes)
    start = time.perf_counter()
    runs = run_grid(configs, workers)
    wall = time.perf_counter() - start
    summary = write_outputs(configs, runs, out, f"FaultAlarm-v0, {len(seeds)} seeds, {timesteps} steps per run")
    return atomic_write_text(out / "report.md", report(summary, runs, seeds, timesteps, wall, command))

"""Grids of training runs (agents x envs x seeds) and their aggregate: long-format CSV, summary JSON with IQM / mean
and 95% stratified-bootstrap confidence intervals (rliable), and the panels of seed 002's Fig. 3 as a PNG.

A grid re-run skips finished runs and resumes interrupted ones from their checkpoints.
"""

from __future__ import annotations

import csv
import os
import warnings
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from dogym.agents.rl.monitor import read_monitor
from dogym.experiments.io import atomic_save_figure, atomic_write_json, atomic_write_text, csv_text
from dogym.experiments.runner import RunConfig, is_finished, load_metrics, train

#: (phase, metric) pairs compared across agents; phase "eval" = final policy, "train" = mean over training episodes.
METRICS = (
    ("eval", "reward_mean"),
    ("eval", "steps_mean"),
    ("eval", "mean_alarms_mean"),
    ("eval", "cleared_rate"),
    ("train", "reward_mean"),
    ("train", "steps_mean"),
    ("train", "alarms_mean"),
    ("graph_final", "f1"),
    ("graph_final", "precision"),
    ("graph_final", "recall"),
    ("", "steps_per_second"),
    ("identification", "final_loss"),
    ("identification", "median_decision_seconds"),
    ("identification", "total_cost"),
)
LABELS = {
    "reward_mean": "reward",
    "steps_mean": "steps",
    "mean_alarms_mean": "alarms/step",
    "alarms_mean": "alarms/step",
    "cleared_rate": "cleared",
}


def _train_one(config: RunConfig) -> dict[str, Any]:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch

    torch.set_num_threads(1)
    return train(config, resume=True)


def run_grid(configs: Sequence[RunConfig], workers: int = 1, progress: bool = True) -> list[dict[str, Any]]:
    """Train every unfinished run (in `workers` processes) and return all runs' metrics, in `configs` order."""
    todo = [c for c in configs if not is_finished(c)]
    if todo:
        bar = tqdm(total=len(todo), desc="runs", disable=not progress)
        if workers <= 1:
            for config in todo:
                bar.set_postfix_str(f"{config.agent} seed {config.seed}")
                _train_one(config)
                bar.update()
        else:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                futures = {pool.submit(_train_one, c): c for c in todo}
                for future in as_completed(futures):
                    future.result()
                    bar.set_postfix_str(f"{futures[future].agent} seed {futures[future].seed}")
                    bar.update()
        bar.close()
    return [load_metrics(c) for c in configs]


def _value(run: dict[str, Any], phase: str, metric: str) -> float | None:
    source = run.get(phase) if phase else run
    return None if source is None or metric not in source else float(source[metric])


def long_rows(runs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (run, phase, metric)."""
    rows = []
    for run in runs:
        for phase, metric in METRICS:
            value = _value(run, phase, metric)
            if value is not None:
                rows.append(
                    {
                        "agent": run["agent"],
                        "env": run["env"],
                        "seed": run["seed"],
                        "phase": phase or "run",
                        "metric": metric,
                        "value": value,
                    }
                )
    return rows


def summarize(runs: Sequence[dict[str, Any]], reps: int = 2000) -> dict[str, dict[str, Any]]:
    """Per agent and (phase, metric): mean, std, IQM and 95% stratified-bootstrap CIs of mean and IQM over seeds
    (envs are the tasks), from rliable."""
    from rliable import library as rly
    from rliable import metrics as rm

    agents = list(dict.fromkeys(r["agent"] for r in runs))
    envs = sorted({r["env"] for r in runs})
    out: dict[str, dict[str, Any]] = {a: {} for a in agents}
    for phase, metric in METRICS:
        scores = {}
        for agent in agents:
            columns = []
            for env in envs:
                vals = [_value(r, phase, metric) for r in runs if r["agent"] == agent and r["env"] == env]
                columns.append([v for v in vals if v is not None])
            if all(columns) and len({len(c) for c in columns}) == 1:
                scores[agent] = np.array(columns, dtype=float).T  # (runs, tasks)
        if not scores:
            continue
        point, interval = rly.get_interval_estimates(
            scores, lambda x: np.array([rm.aggregate_mean(x), rm.aggregate_iqm(x)]), reps=reps
        )
        for agent, values in scores.items():
            out[agent][f"{phase}/{metric}" if phase else metric] = {
                "n": int(values.size),
                "mean": float(point[agent][0]),
                "std": float(values.std()),
                "iqm": float(point[agent][1]),
                "mean_ci95": [float(interval[agent][0, 0]), float(interval[agent][1, 0])],
                "iqm_ci95": [float(interval[agent][0, 1]), float(interval[agent][1, 1])],
            }
    return out


def curve_rows(configs: Sequence[RunConfig]) -> list[dict[str, Any]]:
    """Per training episode of every run: env steps so far, reward, length, alarms per step; and F1 rows."""
    rows = []
    for config in configs:
        if config.identification:
            losses = load_metrics(config)["losses"]
            rows += [
                {
                    "agent": config.agent,
                    "env": config.env,
                    "seed": config.seed,
                    "kind": "loss",
                    "episode": "",
                    "timesteps": t,
                    "reward": "",
                    "steps": "",
                    "alarms": "",
                    "f1": "",
                    "loss": v,
                }
                for t, v in enumerate(losses)
            ]
            continue
        for i in range(config.n_envs):  # envs step in lockstep: env steps so far = own steps x n_envs
            steps = 0
            for episode, row in enumerate(read_monitor(config.run_dir / f"{i}.monitor.csv")):
                steps += int(row["l"])
                rows.append(
                    {
                        "agent": config.agent,
                        "env": config.env,
                        "seed": config.seed,
                        "kind": "episode",
                        "episode": episode,
                        "timesteps": steps * config.n_envs,
                        "reward": row["r"],
                        "steps": row["l"],
                        "alarms": row["alarms"],
                        "f1": "",
                    }
                )
        graph_csv = config.run_dir / "graph_metrics.csv"
        if graph_csv.exists():
            with graph_csv.open(encoding="utf-8") as handle:
                for row in csv.DictReader(handle):
                    rows.append(
                        {
                            "agent": config.agent,
                            "env": config.env,
                            "seed": config.seed,
                            "kind": "graph",
                            "episode": "",
                            "timesteps": int(row["timesteps"]),
                            "reward": "",
                            "steps": "",
                            "alarms": "",
                            "f1": float(row["f1"]),
                        }
                    )
    return rows


def _binned(rows: list[dict[str, Any]], key: str, edges: np.ndarray) -> np.ndarray:
    """Mean of `key` per timestep bin (NaN where a bin has no episode end)."""
    t = np.array([r["timesteps"] for r in rows], dtype=float)
    v = np.array([r[key] for r in rows], dtype=float)
    idx = np.clip(np.searchsorted(edges, t, side="right") - 1, 0, len(edges) - 2)
    sums = np.bincount(idx, v, len(edges) - 1)
    counts = np.bincount(idx, None, len(edges) - 1)
    return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def plot_fig3(rows: list[dict[str, Any]], path: Path, title: str = "", n_bins: int = 25) -> Path:
    """Seed 002 Fig. 3 panels over training: episode reward, steps per episode, alarms per step, graph F1
    (mean over seeds, shaded +- std)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    episodes = [r for r in rows if r["kind"] == "episode"]
    graphs = [r for r in rows if r["kind"] == "graph"]
    agents = list(dict.fromkeys(r["agent"] for r in rows))
    horizon = max(r["timesteps"] for r in rows)
    edges = np.linspace(0, horizon, n_bins + 1)
    centres = 0.5 * (edges[1:] + edges[:-1])
    warnings.filterwarnings("ignore", category=RuntimeWarning)  # empty bins: nanmean of all-NaN columns
    fig, axes = plt.subplots(1, 4, figsize=(17, 3.8))
    panels = [
        ("reward", "(a) episode reward"),
        ("steps", "(b) intervention steps / episode"),
        ("alarms", "(c) alarms per step"),
        ("f1", "(d) F1 of the learned graph"),
    ]
    colours = plt.get_cmap("tab20")
    for k, agent in enumerate(agents):
        style = {"color": colours(k % 20), "label": agent, "lw": 1.4, "ls": "-" if "causal" in agent else "--"}
        seeds = sorted({r["seed"] for r in rows if r["agent"] == agent})
        for ax, (key, _) in zip(axes[:3], panels[:3], strict=True):
            per_seed = np.array(
                [_binned([r for r in episodes if r["agent"] == agent and r["seed"] == s], key, edges) for s in seeds]
            )
            if per_seed.size:
                mean, std = np.nanmean(per_seed, axis=0), np.nanstd(per_seed, axis=0)
                ax.plot(centres, mean, **style)
                ax.fill_between(centres, mean - std, mean + std, color=style["color"], alpha=0.15)
        agent_graphs = [r for r in graphs if r["agent"] == agent]
        if agent_graphs:
            steps = sorted({r["timesteps"] for r in agent_graphs})
            f1 = np.array(
                [
                    [
                        next((r["f1"] for r in agent_graphs if r["seed"] == s and r["timesteps"] == t), np.nan)
                        for t in steps
                    ]
                    for s in seeds
                ]
            )
            mean, std = np.nanmean(f1, axis=0), np.nanstd(f1, axis=0)
            axes[3].plot(steps, mean, **style)
            axes[3].fill_between(steps, mean - std, mean + std, color=style["color"], alpha=0.15)
    for ax, (_, label) in zip(axes, panels, strict=True):
        ax.set_title(label, fontsize=10)
        ax.set_xlabel("env steps")
        ax.grid(alpha=0.3)
    axes[2].set_yscale("log")
    axes[3].set_ylim(0, 1)
    axes[0].legend(fontsize=7, loc="lower right")
    if title:
        fig.suptitle(title)
    return atomic_save_figure(fig, path, dpi=110)


def plot_losses(rows: list[dict[str, Any]], path: Path) -> Path:
    """Loss (5) after each intervention, mean +- std over seeds, one panel per env (seed 000 Figs. 7, 17, 19)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    envs = sorted({r["env"] for r in rows})
    fig, axes = plt.subplots(1, len(envs), figsize=(5 * len(envs), 3.6), squeeze=False)
    for ax, env in zip(axes[0], envs, strict=True):
        for agent in dict.fromkeys(r["agent"] for r in rows if r["env"] == env):
            mine = [r for r in rows if r["env"] == env and r["agent"] == agent]
            seeds = sorted({r["seed"] for r in mine})
            steps = sorted({r["timesteps"] for r in mine})
            values = np.array([[r["loss"] for r in mine if r["seed"] == s] for s in seeds], dtype=float)
            mean, std = values.mean(axis=0), values.std(axis=0)
            ax.plot(steps, mean, label=agent)
            ax.fill_between(steps, np.maximum(mean - std, mean * 1e-3), mean + std, alpha=0.2)
        ax.set_yscale("log")
        ax.set_title(env, fontsize=10)
        ax.set_xlabel("interventions t")
        ax.set_ylabel("loss (5)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    return atomic_save_figure(fig, path, dpi=110)


def format_summary(summary: dict[str, dict[str, Any]], keys: Sequence[str]) -> str:
    """A fixed-width table: mean [95% CI] per agent and metric."""
    width = max(30, *(len(k) + 2 for k in keys))
    header = f"{'agent':<20}" + "".join(f"{k:>{width}}" for k in keys)
    lines = [header, "-" * len(header)]
    for agent, stats in summary.items():
        cells = []
        for key in keys:
            s = stats.get(key)
            cells.append(f"{s['mean']:>10.3g} [{s['mean_ci95'][0]:.3g}, {s['mean_ci95'][1]:.3g}]" if s else "-")
        lines.append(f"{agent:<20}" + "".join(f"{c:>{width}}" for c in cells))
    return "\n".join(lines)


def write_outputs(configs: Sequence[RunConfig], runs: Sequence[dict[str, Any]], out_dir: Path, title: str = "") -> dict:
    """results.csv (long), curves.csv, summary.json and fig3.png under `out_dir`; returns the summary."""
    out_dir = Path(out_dir)
    summary = summarize(runs)
    atomic_write_text(out_dir / "results.csv", csv_text(long_rows(runs)))
    curves = curve_rows(configs)
    if curves:
        atomic_write_text(out_dir / "curves.csv", csv_text(curves))
    if any(r["kind"] == "episode" for r in curves):
        plot_fig3([r for r in curves if r["kind"] != "loss"], out_dir / "fig3.png", title)
    if any(r["kind"] == "loss" for r in curves):
        plot_losses([r for r in curves if r["kind"] == "loss"], out_dir / "loss_curves.png")
    atomic_write_json(out_dir / "summary.json", summary)
    return summary

"""Fig. 3 of Cai et al., "Learning by Doing": episode reward, steps, alarms per step and graph F1 over training."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np


def _binned(rows: list[dict[str, Any]], key: str, edges: np.ndarray) -> np.ndarray:
    """Mean of `key` per timestep bin (NaN where a bin has no episode end)."""
    t = np.array([r["timesteps"] for r in rows], dtype=float)
    v = np.array([r[key] for r in rows], dtype=float)
    idx = np.clip(np.searchsorted(edges, t, side="right") - 1, 0, len(edges) - 2)
    sums = np.bincount(idx, v, len(edges) - 1)
    counts = np.bincount(idx, None, len(edges) - 1)
    return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def plot_fig3(rows: list[dict[str, Any]], path: Path, title: str = "", n_bins: int = 25) -> Path:
    """Fig. 3 panels over training: episode reward, steps per episode, alarms per step, graph F1
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
    from dogym.agents.io import atomic_save_figure

    return atomic_save_figure(fig, path, dpi=110)

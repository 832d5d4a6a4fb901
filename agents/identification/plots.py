"""Loss (5) curves of the identification learners (Hammar & Stadler, Figs. 7, 17, 19)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def plot_losses(rows: list[dict[str, Any]], path: Path) -> Path:
    """Loss (5) after each intervention, mean +- std over seeds, one panel per env ."""
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
    from dogym.agents.io import atomic_save_figure

    return atomic_save_figure(fig, path, dpi=110)

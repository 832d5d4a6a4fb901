"""Figures of the safe-region family (Hammar, Alpcan and Lupu, "Causal Online Learning of Safe Regions in Cloud Radio
Access Networks"): the region evolution of one run (Fig. 6) and region size against unsafe interventions (Fig. 14)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from dogym.causal.acquisition import lcb_safe_set, quantile_kappa


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_region_evolution(
    candidates: np.ndarray,
    truth: Sequence[np.ndarray],
    mean: Sequence[np.ndarray],
    std: Sequence[np.ndarray],
    interventions: np.ndarray,
    outcomes: np.ndarray,
    delta: float,
    alphas: Sequence[float],
    names: Sequence[str],
    path: Path,
    panels: int = 4,
) -> Path:
    """Fig. 6: for a few steps (prior, ..., final), the true region (red) and the estimated regions at each
    confidence level in `alphas` (lighter to darker blue), with the interventions so far (o safe, x unsafe).
    Inputs are per estimate step k = 0 (prior), 1, ...; candidates lie on a square grid of a 2-D control space."""
    plt = _pyplot()
    side = int(round(np.sqrt(len(candidates))))
    extent = (candidates[:, 0].min(), candidates[:, 0].max(), candidates[:, 1].min(), candidates[:, 1].max())
    steps = sorted(set(np.linspace(0, len(mean) - 1, min(panels, len(mean))).round().astype(int).tolist()))
    fig, axes = plt.subplots(1, len(steps), figsize=(3.2 * len(steps), 3.3), squeeze=False)
    for ax, k in zip(axes[0], steps, strict=True):
        ax.imshow(truth[k].reshape(side, side).T, origin="lower", extent=extent, cmap="Reds", vmin=0, vmax=2.5,
                  alpha=0.8)  # fmt: skip
        shades = sum(lcb_safe_set(mean[k], quantile_kappa(std[k], a), delta).astype(float) for a in alphas)
        ax.imshow(np.ma.masked_equal(shades.reshape(side, side).T, 0), origin="lower", extent=extent, cmap="Blues",
                  vmin=0, vmax=len(alphas), alpha=0.75)  # fmt: skip
        done = interventions[:k]
        ok = outcomes[:k].astype(bool)
        ax.scatter(done[ok, 0], done[ok, 1], s=14, facecolors="none", edgecolors="k", linewidths=0.8)
        ax.scatter(done[~ok, 0], done[~ok, 1], s=18, c="k", marker="x", linewidths=0.9)
        ax.set_title("prior (t0)" if k == 0 else f"after {k} interventions", fontsize=9)
        ax.set_xlabel(names[0])
        ax.set_ylabel(names[1])
    fig.suptitle(f"true region red; estimate blue (alpha = {', '.join(f'{a:g}' for a in alphas)})", fontsize=9)
    from dogym.agents.io import atomic_save_figure

    return atomic_save_figure(fig, path, dpi=110)


def plot_size_against_unsafe(rows: list[dict[str, Any]], path: Path) -> Path:
    """Fig. 14: estimated region size against cumulative unsafe interventions, one line per run, one colour per
    agent, one panel per env."""
    plt = _pyplot()
    envs = sorted({r["env"] for r in rows})
    fig, axes = plt.subplots(1, len(envs), figsize=(5 * len(envs), 3.6), squeeze=False)
    for ax, env in zip(axes[0], envs, strict=True):
        for i, agent in enumerate(dict.fromkeys(r["agent"] for r in rows if r["env"] == env)):
            mine = [r for r in rows if r["env"] == env and r["agent"] == agent]
            for j, seed in enumerate(sorted({r["seed"] for r in mine})):
                run = sorted((r for r in mine if r["seed"] == seed), key=lambda r: r["timesteps"])
                ax.plot([r["unsafe"] for r in run], [r["region_size"] for r in run], color=f"C{i}", alpha=0.6,
                        drawstyle="steps-post", label=agent if j == 0 else None)  # fmt: skip
        ax.set(title=env, xlabel="unsafe interventions", ylabel="estimated region size (fraction of the box)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    from dogym.agents.io import atomic_save_figure

    return atomic_save_figure(fig, path, dpi=110)

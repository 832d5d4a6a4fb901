"""Convergence figure of the DCGO agents in the style of Fig. 6 (row 3) of Aglietti, Dhir, Gonzalez and Damoulas,
"Dynamic Causal Bayesian Optimization": the best target value found so far against the trials, one panel per time
step, the mean over replicates per method with a +-1 standard deviation band, and y*_t dashed."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np


def plot_convergence(curves: Mapping[str, np.ndarray], y_star: np.ndarray, path: Path, title: str = "") -> Path:
    """curves: method -> best-so-far [R, T, H]; y_star: [T] (the mean optimum per t; drawn dashed). Writes `path`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from dogym.agents.io import atomic_save_figure

    if not curves:
        raise ValueError("no convergence curves to plot")
    n_t = next(iter(curves.values())).shape[1]
    fig, axes = plt.subplots(1, n_t, figsize=(3.4 * n_t, 3.0), squeeze=False)
    for t, ax in enumerate(axes[0]):
        for i, (label, c) in enumerate(curves.items()):
            c = np.asarray(c, dtype=np.float64)[:, t]
            trials = np.arange(c.shape[1])
            mean, sd = c.mean(axis=0), c.std(axis=0)
            ax.plot(trials, mean, color=f"C{i}", label=label, drawstyle="steps-post")
            ax.fill_between(trials, mean - sd, mean + sd, color=f"C{i}", alpha=0.15, step="post")
        ax.axhline(float(y_star[t]), color="k", linestyle="--", linewidth=1.0, label="y*_t")
        ax.set(title=f"t = {t}", xlabel="trials")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("best target so far")
    axes[0][0].legend(fontsize=7)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return atomic_save_figure(fig, path, dpi=110)

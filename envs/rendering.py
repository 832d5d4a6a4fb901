"""Pictures of dogym envs for people (`render_mode="rgb_array"`): causal graphs with the intervened nodes and the
current values, time-unrolled graphs, and probability-of-specification curves.

Drawn with matplotlib's Agg canvas on a `matplotlib.figure.Figure` (no pyplot, no display, no global state), at a
fixed size and resolution with fixed layouts (no random graph layout), so the same env state always gives the same
pixels. Rendering reads only what the caller passes; it never draws randomness from an env. A frame is an RGB uint8
array [height, width, 3].
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

import networkx as nx
import numpy as np

#: Frame size in inches and dots per inch (frames are WIDTH x HEIGHT inches at DPI: 640 x 480 pixels).
WIDTH, HEIGHT, DPI = 6.4, 4.8, 100
INTERVENED = "#f28e2b"  # orange: nodes set by an intervention
OBSERVED = "#d8e6f3"  # light blue: nodes with a measured value
UNKNOWN = "#f2f2f2"  # grey: nodes without a value yet
EXPLORED = "#fbd5ad"  # light orange: the last explorative intervention (DCGO, the system reverted)
EDGE = "#555555"


def _figure(width: float = WIDTH, height: float = HEIGHT):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(figure)
    return figure


def _pixels(figure) -> np.ndarray:
    """The figure as an RGB uint8 array [height, width, 3]."""
    figure.canvas.draw()
    return np.asarray(figure.canvas.buffer_rgba())[..., :3].copy()


def env_name(env: object) -> str:
    """The env's registered id when it was made by `gymnasium.make`, else its class name (for frame titles)."""
    spec = getattr(env, "spec", None)
    return spec.id if spec is not None else type(env).__name__


def _value_text(value: float) -> str:
    return f"{value:.3g}" if np.isfinite(value) else str(value)


def layered_positions(
    graph: nx.DiGraph, order: Sequence[Hashable] | None = None
) -> dict[Hashable, tuple[float, float]]:
    """Deterministic left-to-right layout in the unit square: x = the node's topological generation, the nodes of
    one generation spread evenly top to bottom in `order` (default: the graph's node order)."""
    rank = {node: i for i, node in enumerate(order if order is not None else graph.nodes)}
    generations = list(nx.topological_generations(graph))
    positions = {}
    for x, generation in enumerate(generations):
        nodes = sorted(generation, key=lambda n: rank.get(n, len(rank)))
        for k, node in enumerate(nodes):
            positions[node] = ((x + 0.5) / len(generations), 1.0 - (k + 0.5) / len(nodes))
    return positions


@dataclass(frozen=True)
class NodeStyle:
    """How to draw one node: its label (name and value lines), fill colour and outline."""

    label: str
    fill: str = UNKNOWN
    bold: bool = False
    dashed: bool = False


def _blocked(a: np.ndarray, b: np.ndarray, others: np.ndarray, clearance: float) -> bool:
    """Whether a straight edge a -> b passes within `clearance` of one of the `others` points."""
    if not len(others):
        return False
    d = b - a
    s = np.clip(((others - a) @ d) / max(float(d @ d), 1e-12), 0.0, 1.0)
    gaps = np.linalg.norm(others - (a + s[:, None] * d), axis=1)
    return bool(np.any((gaps < clearance) & (s > 0.0) & (s < 1.0)))


def _draw_graph(ax, graph: nx.DiGraph, positions: Mapping[Hashable, tuple[float, float]],
                styles: Mapping[Hashable, NodeStyle]) -> None:  # fmt: skip
    """Nodes as rounded boxes at `positions` (axes fractions), edges as arrows between the boxes; an edge that
    would cross another node bends around it."""
    boxes = {}
    for node, (x, y) in positions.items():
        style = styles[node]
        boxes[node] = ax.text(
            x, y, style.label, transform=ax.transAxes, ha="center", va="center", fontsize=7.5, zorder=4,
            fontweight="bold" if style.bold else "normal",
            bbox={"boxstyle": "round,pad=0.35", "facecolor": style.fill, "edgecolor": "black",
                  "linewidth": 2.0 if style.bold else 0.9, "linestyle": "--" if style.dashed else "-"},
        )  # fmt: skip
    nodes = list(positions)
    points = np.array([positions[n] for n in nodes])
    for u, v in graph.edges:
        a, b = np.array(positions[u]), np.array(positions[v])
        others = points[[i for i, n in enumerate(nodes) if n not in (u, v)]]
        bend = 0.3 if _blocked(a, b, others, 0.04) else 0.0
        ax.annotate("", xy=positions[v], xytext=positions[u], xycoords="axes fraction", textcoords="axes fraction",
                    zorder=5, arrowprops={"arrowstyle": "-|>", "color": EDGE, "lw": 0.9, "mutation_scale": 10, "shrinkA": 1, "shrinkB": 1,
                                          "patchA": boxes[u].get_bbox_patch(), "patchB": boxes[v].get_bbox_patch(),
                                          "connectionstyle": f"arc3,rad={bend}"})  # fmt: skip


def _legend(figure, entries: Sequence[tuple[str, str, bool]]) -> None:
    from matplotlib.patches import Patch

    handles = [Patch(facecolor=fill, edgecolor="black", linestyle="--" if dashed else "-", label=label)
               for label, fill, dashed in entries]  # fmt: skip
    figure.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=7.5, frameon=False)


def graph_frame(graph: nx.DiGraph, values: Mapping[str, float] | None, intervention: Mapping[str, float],
                title: str) -> np.ndarray:  # fmt: skip
    """A causal graph left to right: nodes set by `intervention` (name -> value) in orange with do(...), the others
    with their current `values` (name -> value; None: nothing measured yet)."""
    figure = _figure()
    ax = figure.add_axes((0.02, 0.1, 0.96, 0.8))
    ax.axis("off")
    styles = {}
    for node in graph.nodes:
        if node in intervention:
            styles[node] = NodeStyle(f"{node}\ndo {_value_text(intervention[node])}", INTERVENED)
        elif values is not None and node in values:
            styles[node] = NodeStyle(f"{node}\n{_value_text(values[node])}", OBSERVED)
        else:
            styles[node] = NodeStyle(str(node))
    _draw_graph(ax, graph, layered_positions(graph), styles)
    figure.suptitle(title, fontsize=10)
    _legend(figure, [("intervened (do)", INTERVENED, False), ("measured", OBSERVED, False),
                     ("no value yet", UNKNOWN, False)])  # fmt: skip
    return _pixels(figure)


def unrolled_frame(graph: nx.DiGraph, variables: Sequence[str], horizon: int, current: int, target: str,
                   values: Mapping[tuple[str, int], float], decided: Mapping[tuple[str, int], float],
                   explored: Mapping[tuple[str, int], float], title: str) -> np.ndarray:  # fmt: skip
    """A time-unrolled graph with (variable, t) nodes: one column per time step t < `horizon`, one row per variable;
    decision interventions in orange, the last explorative one at t = `current` in light orange with a dashed
    outline, measured values in blue, the target's nodes in bold; the current time step is shaded."""
    figure = _figure()
    ax = figure.add_axes((0.02, 0.1, 0.96, 0.8))
    ax.axis("off")
    ax.set_xlim(0.0, 1.0)
    ax.set_ylim(0.0, 1.0)
    rows = len(variables)
    positions = {(v, t): ((t + 0.5) / horizon, 1.0 - (i + 0.5) / rows) for t in range(horizon)
                 for i, v in enumerate(variables)}  # fmt: skip
    styles = {}
    for node in positions:
        name, t = node
        bold = name == target
        if node in decided:
            styles[node] = NodeStyle(f"{name}\ndo {_value_text(decided[node])}", INTERVENED, bold)
        elif node in explored:
            styles[node] = NodeStyle(f"{name}\ndo {_value_text(explored[node])}", EXPLORED, bold, dashed=True)
        elif node in values:
            styles[node] = NodeStyle(f"{name}\n{_value_text(values[node])}", OBSERVED, bold)
        else:
            styles[node] = NodeStyle(name, UNKNOWN, bold)
    if current < horizon:
        ax.axvspan(current / horizon, (current + 1) / horizon, color="#fff4cc", zorder=0)
    for t in range(horizon):
        ax.text((t + 0.5) / horizon, -0.02, f"t = {t}", transform=ax.transAxes, ha="center", va="top", fontsize=8)
    _draw_graph(ax, graph.subgraph(positions), positions, styles)
    figure.suptitle(title, fontsize=10)
    _legend(figure, [("decision (do)", INTERVENED, False), ("last exploration (reverted)", EXPLORED, True),
                     ("measured", OBSERVED, False), ("no value yet", UNKNOWN, False)])  # fmt: skip
    return _pixels(figure)


@dataclass(frozen=True)
class Curve:
    """One panel of `curves_frame`: P(spec) of `control` over `x`, the current value of the control (None: no
    intervention yet) and where an estimated safe region holds (bool per x; None: no estimate)."""

    control: str
    x: np.ndarray
    probability: np.ndarray
    current: float | None = None
    estimate: np.ndarray | None = None


def curves_frame(curves: Sequence[Curve], threshold: float, title: str) -> np.ndarray:
    """P(spec) against each 1-D control (one panel per control) with the threshold delta as a dashed line, the
    current intervention as a vertical line, and an estimated region (if any) as a blue band at the bottom."""
    figure = _figure()
    columns = min(3, len(curves))
    n_rows = -(-len(curves) // columns)
    axes = figure.subplots(n_rows, columns, squeeze=False)
    for ax, curve in zip(axes.flat, curves, strict=False):
        ax.plot(curve.x, curve.probability, color="#c0392b", lw=1.5)
        ax.axhline(threshold, color="black", ls="--", lw=0.8)
        if curve.estimate is not None and curve.estimate.any():
            ax.fill_between(curve.x, -0.02, 0.03, where=curve.estimate, color="#3c5ae6", step="mid")
        if curve.current is not None:
            ax.axvline(curve.current, color="black", lw=1.2)
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlim(curve.x[0], curve.x[-1])
        ax.set_xlabel(curve.control, fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in axes.flat[len(curves) :]:
        ax.axis("off")
    axes[0, 0].set_ylabel("P(spec | do)", fontsize=8)
    figure.suptitle(title, fontsize=9)
    figure.subplots_adjust(left=0.09, right=0.98, top=0.86, bottom=0.1, wspace=0.3, hspace=0.55)
    return _pixels(figure)

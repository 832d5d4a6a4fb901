"""Where a causal agent's graph comes from, and the settings that say so, shared by the agents that assume a causal
graph (the rollout learner, COL, DCBO and CBO): `known` (the structural view's graph), `learned` (learned from the
agent's own data by `dogym.causal.structure.continuous.GraphLearner`, relearned every `relearn_every` interventions at
significance level `graph_alpha`, with the optional rule that values orientation weighted by `orientation_weight`) or
`wrong` (the known graph with one edge reversed: the cost of a misspecified graph)."""

from __future__ import annotations

import math

#: The values of the `graph` hyper-parameter.
GRAPHS = ("known", "learned", "wrong")


def check_graph_settings(graph: str, relearn_every: int, graph_alpha: float, orientation_weight: float) -> None:
    """ValueError naming the first of `graph`, `relearn_every`, `graph_alpha` and `orientation_weight` that is out of
    range (or an orientation weight without a learned graph)."""
    if graph not in GRAPHS:
        raise ValueError(f"graph must be one of {', '.join(map(repr, GRAPHS))}, got {graph!r}")
    if isinstance(relearn_every, bool) or not isinstance(relearn_every, int) or relearn_every < 1:
        raise ValueError(f"relearn_every must be an integer >= 1, got {relearn_every!r}")
    if not 0.0 < float(graph_alpha) < 1.0:
        raise ValueError(f"graph_alpha must be in (0, 1), got {graph_alpha!r}")
    if not (math.isfinite(float(orientation_weight)) and float(orientation_weight) >= 0.0):
        raise ValueError(f"orientation_weight must be finite and >= 0, got {orientation_weight!r}")
    if orientation_weight and graph != "learned":
        raise ValueError(
            f"orientation_weight values a learned graph's orientations: it needs graph 'learned', not {graph!r}"
        )

"""Topology-blind Hawkes baseline: a Granger-causal graph over event types from tick's multivariate Hawkes fits.

All devices are pooled: the events of each type form one point process, and a multivariate Hawkes process with
exponential kernel is fitted with tick (`HawkesADM4`, or `HawkesExpKern` with least squares). Type c Granger-
causes v when the fitted kernel norm adjacency[v, c] exceeds `threshold`. The graph may contain cycles, as
Granger graphs do; self-excitation is not reported.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np

from dogym.causal.structure.event_table import EventTable

METHODS = ("adm4", "expkern")


@dataclass(frozen=True)
class HawkesGraphResult:
    """The thresholded graph over type names, tick's adjacency (V, V) [effect, cause] and baseline (V,)."""

    graph: nx.DiGraph
    adjacency: np.ndarray
    baseline: np.ndarray


def hawkes_granger_graph(
    events: EventTable,
    decay: float,
    threshold: float = 0.05,
    method: str = "adm4",
    penalty: float = 1e3,
    max_iter: int = 100,
) -> HawkesGraphResult:
    """Fit a multivariate Hawkes process to the per-type event times of `events` and threshold its adjacency.

    `decay` is the kernel rate beta (kernel alpha beta exp(-beta t)); `penalty` is tick's inverse regularisation
    strength C; `method` is "adm4" or "expkern".
    """
    from tick.hawkes import HawkesADM4, HawkesExpKern  # tick is slow to import: only when used

    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if not np.isfinite(decay) or decay <= 0:
        raise ValueError(f"decay must be finite and > 0, got {decay}")
    if threshold < 0:
        raise ValueError(f"threshold must be >= 0, got {threshold}")
    # tick rejects simultaneous events within one process: nudge ties apart by a negligible amount.
    realization = []
    for v in range(events.n_types):
        times = np.sort(events.times[events.types == v]).astype(np.float64)
        times = times + np.arange(len(times)) * 1e-9 * max(1.0, events.horizon)
        realization.append(np.ascontiguousarray(times))
    end_time = float(max(t[-1] for t in realization if len(t)) + 1e-6) if len(events) else 1.0
    if method == "adm4":
        learner = HawkesADM4(decay, C=penalty, max_iter=max_iter, n_threads=1, verbose=False)
    else:
        learner = HawkesExpKern(decay, C=penalty, penalty="l1", max_iter=max_iter, verbose=False)
    learner.fit(realization, end_time)
    adjacency = np.asarray(learner.adjacency, dtype=float).reshape(events.n_types, events.n_types)
    graph = nx.DiGraph()
    graph.add_nodes_from(events.type_names)
    for v, c in zip(*np.nonzero(adjacency > threshold), strict=True):
        if v != c:
            graph.add_edge(events.type_names[c], events.type_names[v], weight=float(adjacency[v, c]))
    return HawkesGraphResult(graph, adjacency, np.asarray(learner.baseline, dtype=float))

"""Online structure learner (Cai et al. Algorithm 1, causal structure learning phase).

An agent feeds it the transitions it collects (`add_counts`: per (device, type) counts before and after a step, the
acted pair and what the action cleared; or `add_intervention`); `update()` runs ATT orientation (eq. 5, `dogym.causal.structure.att`) and
then BIC pruning (eq. 6, `dogym.causal.structure.bic`) on the observational log plus all interventional count
transitions, and returns the new graph. The graph is always a DAG over the alarm types; `causal_order` is a
topological order of it, and `metrics(truth)` compares it with a known graph.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

import networkx as nx
import numpy as np

from dogym.causal.graphs import EdgeMetrics, assert_dag, causal_order, edge_metrics
from dogym.causal.structure.att import ORIENTATION_RULES, ATTEstimate, ATTEstimator, orient
from dogym.causal.structure.bic import CountFeatures, CountTransitions, bic_prune
from dogym.causal.structure.event_table import EventTable
from dogym.causal.structure.hawkes import hop_operators


def random_dag(type_names: Sequence[str], density: float, seed: int | np.random.Generator) -> nx.DiGraph:
    """A random DAG over `type_names`: a random order, each forward pair an edge with probability `density` (`seed`
    may be a generator, e.g. a named stream)."""
    if not 0.0 <= density <= 1.0:
        raise ValueError(f"density must be in [0, 1], got {density}")
    rng = np.random.default_rng(seed)
    names = list(type_names)
    order = [names[i] for i in rng.permutation(len(names))]
    graph = nx.DiGraph()
    graph.add_nodes_from(names)
    for a in range(len(order)):
        for b in range(a + 1, len(order)):
            if rng.random() < density:
                graph.add_edge(order[a], order[b])
    return graph


class OnlineStructureLearner:
    """Current causal graph over alarm types, refined from interventions.

    `type_names` and the device `adjacency` (N, N) fix the problem; `initial_graph` is the start (e.g. a THP
    graph, or `random_dag(...)`); `observational` is an optional passive event log binned into steps of
    `step` time units for the pruning likelihood. `att_*` configure `ATTEstimator` and `orientation` the rule of
    `orient`; `penalty` scales BIC; `max_transitions` bounds the count transitions kept for pruning (newest first;
    None = all). ATT keeps sufficient statistics only, so memory stays bounded however long the agent trains.
    """

    def __init__(
        self,
        type_names: Sequence[str],
        adjacency: np.ndarray,
        initial_graph: nx.DiGraph,
        *,
        observational: EventTable | None = None,
        step: float = 50.0,
        max_hop: int = 2,
        normalization: str = "rw",
        penalty: float = 1.0,
        att_min_samples: int = 5,
        att_z: float = 2.0,
        att_min_effect: float = 0.05,
        orientation: str = "relative",
        max_transitions: int | None = 10_000,
    ) -> None:
        self.type_names = tuple(type_names)
        self.adjacency = np.asarray(adjacency, dtype=bool)
        n_dev = self.adjacency.shape[0]
        if self.adjacency.shape != (n_dev, n_dev):
            raise ValueError(f"adjacency must be square, got shape {self.adjacency.shape}")
        unknown = set(initial_graph.nodes) - set(self.type_names)
        if unknown:
            raise ValueError(f"initial_graph has node(s) {sorted(map(str, unknown))} not in type_names")
        assert_dag(initial_graph)
        self.n_devices, self.n_types = n_dev, len(self.type_names)
        self.hops = hop_operators(self.adjacency, max_hop, normalization)
        self.penalty = penalty
        self.att = ATTEstimator(self.n_types, att_min_samples, att_z, att_min_effect)
        if orientation not in ORIENTATION_RULES:
            raise ValueError(f"orientation must be one of {ORIENTATION_RULES}, got {orientation!r}")
        self.orientation = orientation
        self.counts = CountTransitions(n_dev, self.n_types, max_transitions)
        if observational is not None:
            self.counts.add_events(observational, step)
        self._graph = nx.DiGraph()
        self._graph.add_nodes_from(self.type_names)
        self._graph.add_edges_from(initial_graph.edges)
        self._features = CountFeatures(self.hops)  # updated incrementally as transitions arrive
        self._scorers = None
        self._scored_len = -1
        self._restored_fits: list[dict[frozenset[int], np.ndarray]] = []
        self.last_estimate: ATTEstimate | None = None

    # Feeding -----------------------------------------------------------------------------------------------
    def add_counts(
        self,
        before: np.ndarray,
        after: np.ndarray,
        device: int,
        acted_type: int,
        cleared: np.ndarray,
        remaining: np.ndarray | None = None,
    ) -> None:
        """Record a transition from full count vectors (P,) before the action and after the step, the acted
        (device, type), the bool mask (P,) of pairs the action cleared, and the counts (P,) left right after the
        action (default: `before` with the cleared pairs emptied); births are what the step added to those."""
        n_pairs = self.n_devices * self.n_types
        before, after = np.asarray(before, dtype=float), np.asarray(after, dtype=float)
        cleared = np.asarray(cleared, dtype=bool)
        if before.shape != (n_pairs,) or after.shape != (n_pairs,) or cleared.shape != (n_pairs,):
            raise ValueError(f"before, after and cleared must have shape ({n_pairs},)")
        if not 0 <= device < self.n_devices or not 0 <= acted_type < self.n_types:
            raise ValueError(
                f"acted (device, type) = ({device}, {acted_type}) outside {self.n_devices} x {self.n_types}"
            )
        state = np.where(cleared, 0.0, before) if remaining is None else np.asarray(remaining, dtype=float)
        if state.shape != (n_pairs,):
            raise ValueError(f"remaining must have shape ({n_pairs},)")
        self.counts.add(state, np.maximum(after - state, 0.0))
        if not cleared.any():
            return
        grid_b, grid_a = before.reshape(self.n_devices, -1), after.reshape(self.n_devices, -1)
        local = self.adjacency[device].copy()
        local[device] = True
        reach = local | self.adjacency[local].any(axis=0)  # descendants may sit up to two hops away
        control = ~reach
        self.att.add(
            acted_type,
            grid_b[local].sum(axis=0),
            grid_a[local].sum(axis=0),
            grid_b[control].sum(axis=0),
            grid_a[control].sum(axis=0),
        )

    def add_intervention(self, acted_type: int, before: np.ndarray, after: np.ndarray) -> None:
        """Record an intervention from per-type counts (V,) on the treated neighbourhood only (no controls)."""
        self.att.add(acted_type, before, after)

    # Learning ----------------------------------------------------------------------------------------------
    def update(self) -> nx.DiGraph:
        """Orientation (ATT) then pruning (BIC) on everything recorded so far; returns the new graph."""
        self.last_estimate = self.att.estimate()
        graph = orient(self._graph, self.last_estimate, self.type_names, self.orientation)
        if len(self.counts):
            if self._scored_len != self.counts.n_added:
                fits = self._fits()
                self._scorers = self._features.scorers(self.counts)
                for scorer, prior in zip(self._scorers, fits, strict=False):
                    scorer.prior = prior  # EM starts from the previous update's fits
                self._scored_len = self.counts.n_added
            graph = bic_prune(graph, self.counts, self.hops, self.type_names, self.penalty, self._scorers)
        assert_dag(graph)
        self._graph = graph
        return self.graph

    def _fits(self) -> list[dict[frozenset[int], np.ndarray]]:
        """The pruning fits of the last update (parent set -> parameters, per type), or those restored."""
        if self._scorers is None:
            return self._restored_fits
        return [{parents: theta for parents, (_, theta) in scorer.cache.items()} for scorer in self._scorers]

    # Reading -----------------------------------------------------------------------------------------------
    @property
    def graph(self) -> nx.DiGraph:
        """A copy of the current DAG over the type names."""
        return self._graph.copy()

    @property
    def causal_order(self) -> list[str]:
        """A topological order of the current graph (causes first)."""
        return list(causal_order(self._graph))

    def state(self) -> dict[str, Any]:
        """Everything learned so far (ATT statistics, count transitions, current graph), for checkpoints."""
        return {
            "graph": list(self._graph.edges),
            "att": {k: copy.deepcopy(v) for k, v in vars(self.att).items()},
            "counts": {k: copy.deepcopy(v) for k, v in vars(self.counts).items()},
            "last_estimate": self.last_estimate,
            "fits": self._fits(),
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        """Continue from `state()` (caches are rebuilt on the next update)."""
        self._graph = nx.DiGraph()
        self._graph.add_nodes_from(self.type_names)
        self._graph.add_edges_from(state["graph"])
        vars(self.att).update(copy.deepcopy(state["att"]))
        vars(self.counts).update(copy.deepcopy(state["counts"]))
        self.last_estimate = state["last_estimate"]
        self._features = CountFeatures(self.hops)
        self._scorers, self._scored_len = None, -1
        self._restored_fits = copy.deepcopy(state.get("fits", []))

    def metrics(self, truth: nx.DiGraph) -> EdgeMetrics:
        """Precision, recall, F1 and SHD of the current graph against `truth`."""
        return edge_metrics(self._graph, truth)

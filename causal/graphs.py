"""Causal-graph helpers on networkx DiGraphs: parents, ancestors, causal order, do() mutilation, edge metrics."""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import asdict, dataclass

import networkx as nx
import numpy as np


class NotADAGError(ValueError):
    """Raised when a graph that must be acyclic contains a directed cycle."""


def assert_dag(graph: nx.DiGraph) -> None:
    """Raise `NotADAGError` naming one cycle if `graph` is not a directed acyclic graph."""
    if not nx.is_directed_acyclic_graph(graph):
        cycle = nx.find_cycle(graph)
        raise NotADAGError(f"graph is not a DAG; it contains the cycle {cycle}")


def is_dag(graph: nx.DiGraph) -> bool:
    """True when `graph` has no directed cycle."""
    return nx.is_directed_acyclic_graph(graph)


def parents(graph: nx.DiGraph, node: Hashable) -> list[Hashable]:
    """Direct causes of `node`, in the graph's node order."""
    preds = set(graph.predecessors(node))
    return [n for n in graph.nodes if n in preds]


def children(graph: nx.DiGraph, node: Hashable) -> list[Hashable]:
    """Direct effects of `node`, in the graph's node order."""
    succ = set(graph.successors(node))
    return [n for n in graph.nodes if n in succ]


def ancestors(graph: nx.DiGraph, node: Hashable) -> set[Hashable]:
    """All nodes with a directed path to `node` (excluding `node`)."""
    return nx.ancestors(graph, node)


def descendants(graph: nx.DiGraph, node: Hashable) -> set[Hashable]:
    """All nodes reachable from `node` by a directed path (excluding `node`)."""
    return nx.descendants(graph, node)


def causal_order(graph: nx.DiGraph) -> list[Hashable]:
    """A deterministic topological order: by longest-path depth from the roots, ties broken by node order.

    Nodes at the same depth keep the order in which they were added to the graph, so the same graph always
    gives the same order.
    """
    assert_dag(graph)
    position = {node: i for i, node in enumerate(graph.nodes)}
    depth: dict[Hashable, int] = {}
    for node in nx.topological_sort(graph):
        depth[node] = max((depth[p] + 1 for p in graph.predecessors(node)), default=0)
    return sorted(graph.nodes, key=lambda n: (depth[n], position[n]))


def induced_subgraph(graph: nx.DiGraph, nodes: Iterable[Hashable]) -> nx.DiGraph:
    """The subgraph on `nodes` (with node and edge data) as a new DiGraph whose nodes follow the given order.

    Unlike `graph.subgraph(nodes)`, whose node order follows set iteration (and so Python's hash seed for strings),
    the result is the same in every process.
    """
    keep = list(dict.fromkeys(nodes))
    missing = [n for n in keep if n not in graph]
    if missing:
        raise ValueError(f"nodes not in the graph: {missing}")
    kept = set(keep)
    sub = nx.DiGraph()
    sub.add_nodes_from((n, graph.nodes[n]) for n in keep)
    sub.add_edges_from((u, v, d) for u, v, d in graph.edges(data=True) if u in kept and v in kept)
    return sub


def causal_rank(graph: nx.DiGraph, nodes: Iterable[Hashable] | None = None) -> np.ndarray:
    """Position of each node (in `nodes` order, default graph order) within `causal_order(graph)`."""
    order = {node: i for i, node in enumerate(causal_order(graph))}
    return np.array([order[n] for n in (graph.nodes if nodes is None else nodes)], dtype=np.int64)


def mutilate(graph: nx.DiGraph, targets: Iterable[Hashable]) -> nx.DiGraph:
    """The graph under do(targets): a copy with every edge into an intervened node removed."""
    mutilated = graph.copy()
    for node in targets:
        if node not in mutilated:
            raise KeyError(f"cannot intervene on {node!r}: not a node of the graph")
        mutilated.remove_edges_from(list(mutilated.in_edges(node)))
    return mutilated


def adjacency_matrix(graph: nx.DiGraph, nodes: Iterable[Hashable] | None = None) -> np.ndarray:
    """Boolean matrix B with B[i, j] = True iff nodes[i] -> nodes[j] is an edge."""
    order = list(graph.nodes if nodes is None else nodes)
    return nx.to_numpy_array(graph, nodelist=order, dtype=bool, weight=None)


def graph_from_adjacency(matrix: np.ndarray, nodes: Iterable[Hashable]) -> nx.DiGraph:
    """Inverse of `adjacency_matrix`: a DiGraph with the given node order and an edge per True entry."""
    order = list(nodes)
    matrix = np.asarray(matrix, dtype=bool)
    if matrix.shape != (len(order), len(order)):
        raise ValueError(f"adjacency matrix has shape {matrix.shape}, expected {(len(order), len(order))}")
    graph = nx.DiGraph()
    graph.add_nodes_from(order)
    rows, cols = np.nonzero(matrix)
    graph.add_edges_from((order[i], order[j]) for i, j in zip(rows, cols, strict=True))
    return graph


@dataclass(frozen=True)
class EdgeMetrics:
    """Directed-edge agreement between an estimated and a true graph."""

    precision: float
    recall: float
    f1: float
    shd: int
    true_positives: int
    n_estimated: int
    n_true: int

    def as_dict(self) -> dict[str, float | int]:
        """Plain dict, for JSON and tables."""
        return asdict(self)


def edge_metrics(estimated: nx.DiGraph, truth: nx.DiGraph) -> EdgeMetrics:
    """Precision, recall and F1 of the estimated directed edges, and the structural Hamming distance (SHD).

    SHD counts the edge insertions, deletions and reversals that turn `estimated` into `truth`; a reversed edge
    counts once. Precision is 0 for an empty estimate, recall 0 for an empty truth.
    """
    est = set(estimated.edges)
    true = set(truth.edges)
    tp = len(est & true)
    precision = tp / len(est) if est else 0.0
    recall = tp / len(true) if true else 0.0
    f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
    reversed_edges = {(a, b) for (a, b) in est - true if (b, a) in true and (b, a) not in est}
    missing = {(a, b) for (a, b) in true - est if (b, a) not in reversed_edges}
    extra = est - true - reversed_edges
    shd = len(missing) + len(extra) + len(reversed_edges)
    return EdgeMetrics(precision, recall, f1, shd, tp, len(est), len(true))


def graph_from_edges(nodes: Iterable[Hashable], edges: Iterable[tuple[Hashable, Hashable]]) -> nx.DiGraph:
    """The directed graph of these nodes and edges (parent, child)."""
    graph = nx.DiGraph()
    graph.add_nodes_from(nodes)
    graph.add_edges_from(tuple(edge) for edge in edges)
    return graph


def edge_history_scores(
    history: Iterable[tuple[int, Iterable[tuple[Hashable, Hashable]]]], nodes: Sequence[Hashable], truth: nx.DiGraph
) -> list[dict[str, float]]:
    """SHD and F1 (`edge_metrics`) of a graph that changes over a run, against the true graph: one row
    {interventions, shd, f1} per (interventions so far, edges) entry of `history`, in its order."""
    rows = []
    for interventions, edges in history:
        scores = edge_metrics(graph_from_edges(nodes, edges), truth)
        rows.append({"interventions": int(interventions), "shd": int(scores.shd), "f1": float(scores.f1)})
    return rows


def satisfies_backdoor(
    graph: nx.DiGraph, treatments: Iterable[Hashable], outcomes: Iterable[Hashable], adjustment: Iterable[Hashable]
) -> bool:
    """Pearl's backdoor criterion (Pearl, "Causality", Def. 3.3.1): no adjustment variable descends from a
    treatment, and the adjustment set d-separates treatments and outcomes once the treatments' outgoing edges are cut."""
    x, y, z = set(treatments), set(outcomes), set(adjustment)
    if z & (x | y) or any(z & descendants(graph, t) for t in x):
        return False
    cut = graph.copy()
    cut.remove_edges_from([(t, c) for t in x for c in list(graph.successors(t))])
    return nx.is_d_separator(cut, x, y, z)


def backdoor_adjustment_set(
    graph: nx.DiGraph, treatments: Iterable[Hashable], outcomes: Iterable[Hashable], max_size: int = 4
) -> list[Hashable] | None:
    """A smallest set that satisfies the backdoor criterion for the effect of `treatments` on `outcomes`, in graph
    node order, or None when none exists. Candidates are the non-descendant ancestors of treatments and outcomes;
    sets of up to `max_size` variables are searched by size, then the treatments' parents are tried."""
    from itertools import combinations

    x, y = list(dict.fromkeys(treatments)), list(dict.fromkeys(outcomes))
    for node in (*x, *y):
        if node not in graph:
            raise KeyError(f"{node!r} is not a node of the graph")
    blocked = set(x) | set(y) | set().union(*(descendants(graph, t) for t in x))
    relevant = set().union(*(ancestors(graph, v) for v in (*x, *y))) - blocked
    candidates = [n for n in graph.nodes if n in relevant]
    for size in range(min(max_size, len(candidates)) + 1):
        for subset in combinations(candidates, size):
            if satisfies_backdoor(graph, x, y, subset):
                return list(subset)
    fallback = [n for n in graph.nodes if any(graph.has_edge(n, t) for t in x) and n not in set(x)]
    return fallback if satisfies_backdoor(graph, x, y, fallback) else None


def unroll(
    within: nx.DiGraph | Iterable[tuple[Hashable, Hashable]],
    transition: nx.DiGraph | Iterable[tuple[Hashable, Hashable]],
    horizon: int,
    variables: Iterable[Hashable] | None = None,
) -> nx.DiGraph:
    """The time-unrolled DAG of a two-slice template, with `(variable, t)` nodes for t = 0..horizon-1.

    within: edges u -> v inside every slice (u_t -> v_t); transition: edges u -> v from one slice to the next
    (u_{t-1} -> v_t, t >= 1). Both may be DiGraphs or edge lists. Nodes follow slice order, then `variables` order
    (default: the order in which the template names them). Raises `NotADAGError` if a slice has a cycle."""
    if horizon < 1:
        raise ValueError(f"horizon must be >= 1, got {horizon}")
    within_edges = list(within.edges if isinstance(within, nx.DiGraph) else within)
    transition_edges = list(transition.edges if isinstance(transition, nx.DiGraph) else transition)
    names = list(variables) if variables is not None else []
    for graph in (within, transition):
        if isinstance(graph, nx.DiGraph):
            names += list(graph.nodes)
    names += [v for edge in within_edges + transition_edges for v in edge]
    names = list(dict.fromkeys(names))
    unrolled = nx.DiGraph()
    unrolled.add_nodes_from((v, t) for t in range(horizon) for v in names)
    for t in range(horizon):
        unrolled.add_edges_from(((u, t), (v, t)) for u, v in within_edges)
        if t > 0:
            unrolled.add_edges_from(((u, t - 1), (v, t)) for u, v in transition_edges)
    assert_dag(unrolled)
    return unrolled


def is_minimal_intervention_set(graph: nx.DiGraph, intervened: Iterable[Hashable], target: Hashable) -> bool:
    """Whether `intervened` is a minimal intervention set for `target` (Lee and Bareinboim, "Structural Causal
    Bandits: Where to Intervene?", Prop. 2, for a DAG without unobserved confounders): every intervened variable is
    an ancestor of the target in the graph with the edges into the intervened variables removed, i.e. it has a
    directed path to the target that avoids the other intervened variables."""
    chosen = set(intervened)
    if target in chosen:
        return False
    return chosen <= ancestors(mutilate(graph, chosen), target)


def minimal_intervention_sets(
    graph: nx.DiGraph, manipulative: Iterable[Hashable], target: Hashable, include_empty: bool = False
) -> list[tuple[Hashable, ...]]:
    """All minimal intervention sets (MIS) over the `manipulative` variables for `target` (Lee and Bareinboim,
    "Structural Causal Bandits: Where to Intervene?"): by size, then in `manipulative` order; the empty set (the
    passive observation) only with `include_empty`. Intervening on a non-MIS set is never better than on the MIS
    it reduces to, so these are the sets worth exploring (Aglietti et al., "Dynamic Causal Bayesian
    Optimization", Prop. 3.1: in a time-unrolled graph they are the same at every time step)."""
    from itertools import combinations

    candidates = list(dict.fromkeys(manipulative))
    for node in (*candidates, target):
        if node not in graph:
            raise KeyError(f"{node!r} is not a node of the graph")
    sets = []
    for size in range(0 if include_empty else 1, len(candidates) + 1):
        sets += [s for s in combinations(candidates, size) if is_minimal_intervention_set(graph, s, target)]
    return sets

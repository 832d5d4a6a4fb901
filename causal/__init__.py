"""dogym.causal: the one shared causal module (graphs, causal models, estimation, structure learning)."""

from dogym.causal.alarm_graph import ALARM_EDGES, ALARM_TYPES, alarm_causal_order, alarm_graph
from dogym.causal.graphs import (
    EdgeMetrics,
    NotADAGError,
    adjacency_matrix,
    ancestors,
    assert_dag,
    causal_order,
    causal_rank,
    children,
    descendants,
    edge_metrics,
    graph_from_adjacency,
    is_dag,
    mutilate,
    parents,
)

__all__ = [
    "ALARM_EDGES",
    "ALARM_TYPES",
    "EdgeMetrics",
    "NotADAGError",
    "adjacency_matrix",
    "alarm_causal_order",
    "alarm_graph",
    "ancestors",
    "assert_dag",
    "causal_order",
    "causal_rank",
    "children",
    "descendants",
    "edge_metrics",
    "graph_from_adjacency",
    "is_dag",
    "mutilate",
    "parents",
]

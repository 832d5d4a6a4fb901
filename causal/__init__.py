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

# --- IT-system identification (seed 000): SCMs, interventions, GPs, loss (5)
from dogym.causal.gp import (  # noqa: E402
    CausalKernel,
    FantasyBase,
    GaussianProcess,
    StationaryKernel,
    fit_hyperparameters,
    matern52,
    rbf,
)
from dogym.causal.identification_loss import IdentificationLoss, region_points  # noqa: E402
from dogym.causal.intervention import Intervention, InterventionError, validate_intervention  # noqa: E402
from dogym.causal.scm import SCM, Constant, Mechanism, Normal, Variable  # noqa: E402

__all__ += [
    "SCM",
    "CausalKernel",
    "Constant",
    "FantasyBase",
    "GaussianProcess",
    "IdentificationLoss",
    "Intervention",
    "InterventionError",
    "Mechanism",
    "Normal",
    "StationaryKernel",
    "Variable",
    "fit_hyperparameters",
    "matern52",
    "rbf",
    "region_points",
    "validate_intervention",
]

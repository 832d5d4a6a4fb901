"""dogym.causal: the one shared causal module (graphs, causal models, estimation, structure learning).

It holds no env's data and imports neither `dogym.envs` nor `dogym.agents`."""

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
    "EdgeMetrics",
    "NotADAGError",
    "adjacency_matrix",
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

# --- IT-system identification (Hammar & Stadler): SCMs, interventions, GPs, loss (5)
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

# --- Structure learning (Cai et al.): event tables, THP, tick baseline, ATT orientation, BIC pruning, online learner
from dogym.causal.structure.att import ATTEstimate, ATTEstimator, orient  # noqa: E402
from dogym.causal.structure.bic import CountFeatures, CountTransitions, bic_prune, count_scorers  # noqa: E402
from dogym.causal.structure.event_table import EventTable, EventTableError  # noqa: E402
from dogym.causal.structure.hawkes_baseline import HawkesGraphResult, hawkes_granger_graph  # noqa: E402
from dogym.causal.structure.online import OnlineStructureLearner, random_dag  # noqa: E402
from dogym.causal.structure.thp import THP, THPResult, excitation_features  # noqa: E402

__all__ += [
    "THP",
    "ATTEstimate",
    "ATTEstimator",
    "CountFeatures",
    "CountTransitions",
    "EventTable",
    "EventTableError",
    "HawkesGraphResult",
    "OnlineStructureLearner",
    "THPResult",
    "bic_prune",
    "count_scorers",
    "excitation_features",
    "hawkes_granger_graph",
    "orient",
    "random_dag",
]

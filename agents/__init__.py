"""dogym.agents: reference policies, evaluation, and (in later modules) learning agents."""

from dogym.agents.evaluation import EpisodeStats, EvaluationResult, evaluate, run_episode
from dogym.agents.reference import REFERENCE_POLICIES, OraclePolicy, Policy, RandomActivePolicy, RandomPolicy

__all__ = [
    "REFERENCE_POLICIES",
    "EpisodeStats",
    "EvaluationResult",
    "OraclePolicy",
    "Policy",
    "RandomActivePolicy",
    "RandomPolicy",
    "evaluate",
    "run_episode",
]

"""dogym.agents: the family protocol, the registry, the families, reference policies, and evaluation.

`dogym.agents.protocol` holds the base classes every family implements; `dogym.agents.registry` lists every family,
agent (`AGENTS`), reference policy and plugin; the subpackages hold the families (`fault_alarm`, `identification`,
`safe_region`, `safe_region.safe_rl`, `dcgo`). The names below are imported on first use, so importing
`dogym.agents` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "EpisodeStats": "dogym.agents.evaluation",
    "EvaluationResult": "dogym.agents.evaluation",
    "evaluate": "dogym.agents.evaluation",
    "run_episode": "dogym.agents.evaluation",
    "REFERENCE_POLICIES": "dogym.agents.reference",
    "OraclePolicy": "dogym.agents.reference",
    "Policy": "dogym.agents.reference",
    "RandomActivePolicy": "dogym.agents.reference",
    "RandomPolicy": "dogym.agents.reference",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'dogym.agents' has no attribute {name!r}")

"""dogym.agents: the agent registry and families, reference policies, and evaluation.

`dogym.agents.registry` lists every agent (`AGENTS`) and family; submodules hold the families (`rl`, `identification`).
The names below are imported on first use, so importing `dogym.agents` stays cheap.
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

"""`AgentSpec`: one registered agent (its own module, so the families' spec lists import it without importing the
registry that collects them)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HYPERPARAMS_DIR = Path(__file__).resolve().parent / "hyperparams"


@dataclass(frozen=True)
class AgentSpec:
    """A named agent: its family, a one-line description, the env ids it supports (the first is its default env)
    and fixed options its family reads (e.g. which algorithm). `hyperparams` is the YAML file of its defaults."""

    name: str
    family: str
    description: str
    envs: tuple[str, ...]
    options: Mapping[str, Any] = field(default_factory=dict)
    hyperparams: Path | None = None

    @property
    def default_env(self) -> str:
        """The env this agent runs on when none is given."""
        return self.envs[0]

    @property
    def hyperparams_file(self) -> Path:
        """The YAML file of this agent's default hyper-parameters."""
        return self.hyperparams or HYPERPARAMS_DIR / f"{self.name}.yml"

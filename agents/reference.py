"""Reference policies for FaultAlarm-style envs: uniform random, random among active alarms, and the oracle."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import gymnasium as gym
import numpy as np


class Policy(Protocol):
    """What the evaluation loop needs from a policy: a seedable reset and an action per observation."""

    name: str

    def reset(self, seed: int | None = None) -> None:
        """Re-seed the policy's own randomness."""

    def act(self, observation: np.ndarray, info: dict[str, Any]) -> int:
        """Choose an action given the observation and the env's info (which carries `action_mask`)."""


class RandomPolicy:
    """Uniformly random over the whole Discrete action space (mostly wasted steps on inactive pairs)."""

    name = "random"

    def __init__(self, n_actions: int, seed: int | None = None) -> None:
        self.n_actions = n_actions
        self.reset(seed)

    def reset(self, seed: int | None = None) -> None:
        self.rng = np.random.default_rng(seed)

    def act(self, observation: np.ndarray, info: dict[str, Any]) -> int:
        return int(self.rng.integers(self.n_actions))


class RandomActivePolicy(RandomPolicy):
    """Uniformly random among the actions whose pair has an active alarm (falls back to any action)."""

    name = "random-active"

    def act(self, observation: np.ndarray, info: dict[str, Any]) -> int:
        active = np.flatnonzero(info["action_mask"])
        return int(self.rng.choice(active)) if len(active) else int(self.rng.integers(self.n_actions))


class OraclePolicy:
    """Acts on the active alarm whose type comes earliest in the true causal order (lowest device on ties)."""

    name = "oracle"

    def __init__(self, type_rank: np.ndarray) -> None:
        self.type_rank = np.asarray(type_rank)
        self.n_types = len(self.type_rank)

    def reset(self, seed: int | None = None) -> None:
        """The oracle is deterministic; nothing to seed."""

    def act(self, observation: np.ndarray, info: dict[str, Any]) -> int:
        active = np.flatnonzero(info["action_mask"])
        if not len(active):
            return 0
        return int(active[np.argmin(self.type_rank[active % self.n_types])])  # first minimum: lowest device


def _true_type_rank(env: gym.Env) -> np.ndarray:
    """Each action type's position in the env's true causal order (ground truth: the oracle's privilege)."""
    base = env.unwrapped
    truth = base.ground_truth() if hasattr(base, "ground_truth") else {}
    if "causal_order" not in truth or not hasattr(base, "structural_view"):
        raise ValueError(f"the oracle needs a FaultAlarm-style env with a true causal order, got {type(base).__name__}")
    order = list(truth["causal_order"])
    return np.array([order.index(name) for name in base.structural_view().type_names], dtype=np.int64)


#: name -> factory(env, seed) for the reference policies.
REFERENCE_POLICIES: dict[str, Callable[[gym.Env, int | None], Policy]] = {
    "random": lambda env, seed: RandomPolicy(int(env.action_space.n), seed),
    "random-active": lambda env, seed: RandomActivePolicy(int(env.action_space.n), seed),
    "oracle": lambda env, seed: OraclePolicy(_true_type_rank(env)),
}

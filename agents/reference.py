"""Reference (no-learning) policies: uniformly random actions on any env; random among active alarms and the oracle
on FaultAlarm-style envs (the FaultAlarm family declares them for its envs: `dogym.agents.fault_alarm.specs`).
`REFERENCE_POLICIES` maps each name to its factory (env, seed) -> policy; which env a policy fits is the registry's
(`dogym.agents.registry.make_policy` refuses a bad pairing in one line)."""

from __future__ import annotations

import copy
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


class SampledPolicy:
    """Uniformly random actions of any action space (Dict, Box, MultiBinary, ...): samples of a copy of the space,
    seeded by `reset`."""

    name = "random"

    def __init__(self, action_space: gym.Space, seed: int | None = None) -> None:
        self.space = copy.deepcopy(action_space)
        self.reset(seed)

    def reset(self, seed: int | None = None) -> None:
        self.space.seed(seed)

    def act(self, observation: Any, info: dict[str, Any]) -> Any:
        return self.space.sample()


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


def random_policy(env: gym.Env, seed: int | None) -> Policy:
    """Uniformly random actions: over a Discrete space by the policy's own generator, else samples of the space."""
    if isinstance(env.action_space, gym.spaces.Discrete):
        return RandomPolicy(int(env.action_space.n), seed)
    return SampledPolicy(env.action_space, seed)


def random_active_policy(env: gym.Env, seed: int | None) -> Policy:
    """Random among the active alarms (a Discrete action space with `info["action_mask"]`)."""
    if not isinstance(env.action_space, gym.spaces.Discrete):
        raise ValueError(f"random-active needs a Discrete action space with an action mask, got {env.action_space}")
    return RandomActivePolicy(int(env.action_space.n), seed)


def oracle_policy(env: gym.Env, seed: int | None) -> Policy:
    """The oracle of the env's true causal order (deterministic: `seed` is unused)."""
    return OraclePolicy(_true_type_rank(env))


#: name -> factory(env, seed) for the built-in reference policies.
REFERENCE_POLICIES: dict[str, Callable[[gym.Env, int | None], Policy]] = {
    "random": random_policy,
    "random-active": random_active_policy,
    "oracle": oracle_policy,
}

"""Evaluate a policy on any episodic dogym env: episode reward and length, plus the env's own episode metrics.

An env may define `episode_metrics(infos, terminated) -> dict` (FaultAlarm: alarms per step, cleared, exploded);
numeric metrics are summarised by mean and std over episodes, boolean ones by their rate.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from tqdm.auto import tqdm

from dogym.agents.reference import Policy

EpisodeMetrics = Callable[[Sequence[Mapping[str, Any]], bool], Mapping[str, float | bool]]


@dataclass(frozen=True)
class EpisodeStats:
    """One episode's outcome: total reward, steps, and the env's episode metrics."""

    reward: float
    steps: int
    metrics: Mapping[str, float | bool]


@dataclass(frozen=True)
class EvaluationResult:
    """Per-episode statistics of one policy on one env, with a summary."""

    policy: str
    env_id: str
    seed: int
    episodes: tuple[EpisodeStats, ...]

    def summary(self) -> dict[str, float | int | str]:
        """Means and standard deviations over episodes (`<name>_mean`, `<name>_std`); rates of boolean metrics
        (`<name>_rate`)."""
        out: dict[str, float | int | str] = {"policy": self.policy, "env": self.env_id, "seed": self.seed}
        out["episodes"] = len(self.episodes)
        columns: dict[str, list[Any]] = {"reward": [e.reward for e in self.episodes]}
        columns["steps"] = [e.steps for e in self.episodes]
        for key in self.episodes[0].metrics:
            columns[key] = [e.metrics[key] for e in self.episodes]
        for key, values in columns.items():
            if isinstance(values[0], bool | np.bool_):
                out[f"{key}_rate"] = float(np.mean(values))
            else:
                out[f"{key}_mean"] = float(np.mean(values))
                out[f"{key}_std"] = float(np.std(values))
        return out


def episode_metrics_of(env: gym.Env) -> EpisodeMetrics | None:
    """The env's `episode_metrics` function, if it defines one."""
    return getattr(env.unwrapped, "episode_metrics", None)


def run_episode(env: gym.Env, policy: Policy, seed: int) -> EpisodeStats:
    """Play one episode from `env.reset(seed=seed)` to termination or truncation."""
    obs, info = env.reset(seed=seed)
    total, infos, done, terminated = 0.0, [], False, False
    while not done:
        obs, reward, terminated, truncated, info = env.step(policy.act(obs, info))
        total += float(reward)
        infos.append(info)
        done = terminated or truncated
    summarise = episode_metrics_of(env)
    return EpisodeStats(total, len(infos), dict(summarise(infos, terminated)) if summarise else {})


def evaluate(
    env: gym.Env, policy: Policy, n_episodes: int, seed: int = 0, *, env_id: str = "", progress: bool = False
) -> EvaluationResult:
    """Run `n_episodes` episodes with reset seeds seed, seed + 1, ...; the policy is seeded with `seed`."""
    if n_episodes < 1:
        raise ValueError(f"n_episodes must be >= 1, got {n_episodes}")
    policy.reset(seed)
    episodes = tuple(
        run_episode(env, policy, seed + i)
        for i in tqdm(range(n_episodes), desc=f"{policy.name}", disable=not progress, leave=False)
    )
    env_name = env_id or (env.spec.id if env.spec is not None else type(env.unwrapped).__name__)
    return EvaluationResult(policy.name, env_name, seed, episodes)


class ModelPolicy:
    """A trained model with SB3's `predict` as a `Policy`: deterministic actions, restricted to
    `info["action_mask"]` if `masked`."""

    def __init__(self, model: Any, name: str, masked: bool) -> None:
        self.model, self.name, self.masked = model, name, masked

    def reset(self, seed: int | None = None) -> None:
        """Deterministic; nothing to seed."""

    def act(self, observation: np.ndarray, info: Mapping[str, Any]) -> int:
        """The model's deterministic action."""
        if self.masked:
            action, _ = self.model.predict(observation, deterministic=True, action_masks=info["action_mask"])
        else:
            action, _ = self.model.predict(observation, deterministic=True)
        return int(action)

"""Evaluate a policy on FaultAlarm-style envs: episode reward, steps, alarms per step, cleared-episode rate."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from tqdm.auto import tqdm

from dogym.agents.reference import Policy


@dataclass(frozen=True)
class EpisodeStats:
    """One episode's outcome."""

    reward: float
    steps: int
    cleared: bool  # ended with no active alarm
    exploded: bool  # ended with more active alarms than the env allows
    mean_alarms: float  # active alarms per step, averaged over the episode's steps
    max_alarms: int


@dataclass(frozen=True)
class EvaluationResult:
    """Per-episode statistics of one policy on one env, with a summary."""

    policy: str
    env_id: str
    seed: int
    episodes: tuple[EpisodeStats, ...]

    def summary(self) -> dict[str, float | int | str]:
        """Means and standard deviations over episodes, and the cleared / exploded rates."""
        rows = {k: np.array([getattr(e, k) for e in self.episodes], dtype=float) for k in asdict(self.episodes[0])}
        out: dict[str, float | int | str] = {"policy": self.policy, "env": self.env_id, "seed": self.seed}
        out["episodes"] = len(self.episodes)
        for key in ("reward", "steps", "mean_alarms", "max_alarms"):
            out[f"{key}_mean"] = float(rows[key].mean())
            out[f"{key}_std"] = float(rows[key].std())
        out["cleared_rate"] = float(rows["cleared"].mean())
        out["exploded_rate"] = float(rows["exploded"].mean())
        return out


def run_episode(env: gym.Env, policy: Policy, seed: int) -> EpisodeStats:
    """Play one episode from `env.reset(seed=seed)` to termination or truncation."""
    obs, info = env.reset(seed=seed)
    total, steps, alarms, done = 0.0, 0, [], False
    terminated = False
    while not done:
        obs, reward, terminated, truncated, info = env.step(policy.act(obs, info))
        total += float(reward)
        steps += 1
        alarms.append(info["n_alarms"])
        done = terminated or truncated
    n_final = info["n_alarms"]
    return EpisodeStats(
        reward=total,
        steps=steps,
        cleared=bool(terminated and n_final == 0),
        exploded=bool(info.get("exploded", False)),
        mean_alarms=float(np.mean(alarms)),
        max_alarms=int(max(alarms)),
    )


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
    """A trained SB3 model as a `Policy`: deterministic actions, restricted to `info["action_mask"]` if `masked`."""

    def __init__(self, model: Any, name: str, masked: bool) -> None:
        self.model, self.name, self.masked = model, name, masked

    def reset(self, seed: int | None = None) -> None:
        """Deterministic; nothing to seed."""

    def act(self, observation: np.ndarray, info: dict[str, Any]) -> int:
        if self.masked:
            action, _ = self.model.predict(observation, deterministic=True, action_masks=info["action_mask"])
        else:
            action, _ = self.model.predict(observation, deterministic=True)
        return int(action)

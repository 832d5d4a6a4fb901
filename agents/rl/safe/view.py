"""The safe-region envs as a constrained MDP for PPO-Lagrangian and CPO.

`ControlView` wraps a safe-region env (one step = one intervention held over its evaluation window):
- action: Box [-1, 1]^|U'|, mapped linearly onto the control box of U' (`intervention_set`), applied as do(U' = u);
- observation: the last row of the window the env returns (every variable's latest measurement, in
  `variable_names` order; zeros at reset), float32;
- reward: "resources" (default) -sum over U' of (u_v - low_v) / (high_v - low_v), which is the paper's -C_t - M_t on
  the edge example (Hammar, Alpcan and Lupu, "Causal Online Learning of Safe Regions in Cloud Radio Access
  Networks", section VII: minimise resource use), and on the RAN envs the normalised CPU (RANCpu) or threshold
  (RANSteering, a dogym choice: the paper ran no RL baseline on the testbed); or "intervention_cost", the env's own
  reward -c(u);
- cost: the env's `info["cost"]` (1.0 when the window violated the specification), untouched; `info["controls"]`
  holds u.
The view reads only what an operator has (U', the control boxes of the structural view, the action layout).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

REWARDS = ("resources", "intervention_cost")


class ControlView(gym.Wrapper):
    """A safe-region env with a Box action over U' and a flat observation (see the module docstring)."""

    def __init__(self, env: gym.Env, reward: str = "resources") -> None:
        super().__init__(env)
        if reward not in REWARDS:
            raise ValueError(f"reward must be one of {REWARDS}, got {reward!r}")
        base = env.unwrapped
        self.reward_kind = reward
        self.targets = tuple(base.intervention_set)
        bounds = base.structural_view().control_bounds
        self.low = np.array([bounds[v][0] for v in self.targets], dtype=np.float64)
        self.high = np.array([bounds[v][1] for v in self.targets], dtype=np.float64)
        self._mask = np.array([v in self.targets for v in base.controllable], dtype=np.int8)
        self._index = [base.controllable.index(v) for v in self.targets]
        self._value = np.asarray(base.action_space["value"].low, dtype=np.float64).copy()
        self.action_space = spaces.Box(-1.0, 1.0, (len(self.targets),), np.float32)
        self.observation_space = spaces.Box(-np.inf, np.inf, (len(base.variable_names),), np.float32)

    def controls(self, action: np.ndarray) -> np.ndarray:
        """u in the control box for an action in [-1, 1]^|U'| (clipped)."""
        unit = (np.clip(np.asarray(action, dtype=np.float64).reshape(-1), -1.0, 1.0) + 1.0) / 2.0
        return self.low + unit * (self.high - self.low)

    def unit(self, controls: np.ndarray) -> np.ndarray:
        """Controls [m, |U'|] as fractions of their box."""
        return (np.atleast_2d(controls) - self.low) / (self.high - self.low)

    def step(self, action: np.ndarray):
        u = self.controls(action)
        value = self._value.copy()
        value[self._index] = u
        window, env_reward, terminated, truncated, info = self.env.step({"mask": self._mask, "value": value})
        reward = -float(self.unit(u).sum()) if self.reward_kind == "resources" else float(env_reward)
        return self._observe(window), reward, terminated, truncated, {**info, "controls": u}

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        window, info = self.env.reset(seed=seed, options=options)
        return self._observe(window), info

    @staticmethod
    def _observe(window: np.ndarray) -> np.ndarray:
        return np.asarray(window, dtype=np.float32)[-1].copy()

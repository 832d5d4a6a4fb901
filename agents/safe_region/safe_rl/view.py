"""The safe-region envs as a constrained MDP for PPO-Lagrangian and CPO.

`ControlView` wraps a safe-region env (one step = one intervention held over its evaluation window):
- action: Box [-1, 1]^|U'|, mapped linearly onto the control box of U' (`intervention_set`), applied as do(U' = u);
- observation: the last row of the window the env returns (every variable's latest measurement, in
  `variable_names` order; zeros at reset), float32, then the clock features `time_features` of the system time
  tau at which the next intervention starts (the env's `window_start(t + 1)`; the system clock is operator-observable,
  cf. `info["time"]`): "none" (default), "clock" (tau / tau_end, tau_end = the start of the episode's last window),
  or "phase" (clock, sin(tau / 2), cos(tau / 2): the phase of the non-stationary edge scenario's load cycle, whose
  period 4 pi an operator is assumed to know as a time-of-day feature; a dogym choice, the paper gives the RL
  baselines' observation nowhere);
- reward: "resources" (default) -sum over U' of (u_v - low_v) / (high_v - low_v), which is the paper's -C_t - M_t on
  the edge example (Hammar, Alpcan and Lupu, "Causal Online Learning of Safe Regions in Cloud Radio Access
  Networks", section VII: minimise resource use), and on the RAN envs the normalised CPU (RANCpu) or threshold
  (RANSteering, a dogym choice: the paper ran no RL baseline on the testbed); or "intervention_cost", the env's own
  reward -c(u);
- cost: the env's `info["cost"]` (1.0 when the window violated the specification), untouched; `info["controls"]`
  holds u and `info["cell"]` the flat index of u's cell on a grid of `grid` cells per axis of the control box (the
  bookkeeping of the experience region, `dogym.agents.safe_region.safe_rl.family`).
The view reads only what an operator has (U', the control boxes of the structural view, the action layout).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from dogym.envs.core import extend_info

REWARDS = ("resources", "intervention_cost")
TIME_FEATURES = {"none": 0, "clock": 1, "phase": 3}


class ControlView(gym.Wrapper):
    """A safe-region env with a Box action over U' and a flat observation (see the module docstring)."""

    def __init__(self, env: gym.Env, reward: str = "resources", time_features: str = "none", grid: int = 10) -> None:
        super().__init__(env)
        if reward not in REWARDS:
            raise ValueError(f"reward must be one of {REWARDS}, got {reward!r}")
        if time_features not in TIME_FEATURES:
            raise ValueError(f"time_features must be one of {tuple(TIME_FEATURES)}, got {time_features!r}")
        if isinstance(grid, bool) or not isinstance(grid, int) or grid < 1:
            raise ValueError(f"grid must be an integer >= 1, got {grid!r}")
        base = env.unwrapped
        self.reward_kind = reward
        self.targets = tuple(base.intervention_set)
        bounds = base.structural_view().control_bounds
        self.low = np.array([bounds[v][0] for v in self.targets], dtype=np.float64)
        self.high = np.array([bounds[v][1] for v in self.targets], dtype=np.float64)
        self._mask = np.array([v in self.targets for v in base.controllable], dtype=np.int8)
        self._index = [base.controllable.index(v) for v in self.targets]
        self._value = np.asarray(base.action_space["value"].low, dtype=np.float64).copy()
        self.time_features, self.grid = time_features, grid
        self._clock_end = float(base.window_start(max(base.episode_limit, 2)))
        self.action_space = spaces.Box(-1.0, 1.0, (len(self.targets),), np.float32)
        width = len(base.variable_names) + TIME_FEATURES[time_features]
        self.observation_space = spaces.Box(-np.inf, np.inf, (width,), np.float32)

    def controls(self, action: np.ndarray) -> np.ndarray:
        """u in the control box for an action in [-1, 1]^|U'| (clipped)."""
        unit = (np.clip(np.asarray(action, dtype=np.float64).reshape(-1), -1.0, 1.0) + 1.0) / 2.0
        return self.low + unit * (self.high - self.low)

    def unit(self, controls: np.ndarray) -> np.ndarray:
        """Controls [m, |U'|] as fractions of their box."""
        return (np.atleast_2d(controls) - self.low) / (self.high - self.low)

    def cell(self, controls: np.ndarray) -> np.ndarray:
        """Flat indices (C order) of the grid cells of controls [m, |U'|] (`grid` cells per axis of the box)."""
        cells = np.clip(np.floor(self.unit(controls) * self.grid), 0, self.grid - 1).astype(np.int64)
        return np.ravel_multi_index(tuple(cells.T), (self.grid,) * len(self.targets))

    def step(self, action: np.ndarray):
        u = self.controls(action)
        value = self._value.copy()
        value[self._index] = u
        window, env_reward, terminated, truncated, info = self.env.step({"mask": self._mask, "value": value})
        reward = -float(self.unit(u).sum()) if self.reward_kind == "resources" else float(env_reward)
        info = extend_info(info, controls=u, cell=int(self.cell(u)[0]))
        return self._observe(window), reward, terminated, truncated, info

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        window, info = self.env.reset(seed=seed, options=options)
        return self._observe(window), info

    def clock(self, t: int | None = None) -> np.ndarray:
        """The time features (see the module docstring) of the start time of the intervention after the first `t`
        of the episode (default: the env's current count)."""
        if self.time_features == "none":
            return np.zeros(0, dtype=np.float32)
        base = self.env.unwrapped
        tau = float(base.window_start((base.t if t is None else int(t)) + 1))
        features = [tau / self._clock_end]
        if self.time_features == "phase":
            features += [np.sin(tau / 2.0), np.cos(tau / 2.0)]
        return np.asarray(features, dtype=np.float32)

    def _observe(self, window: np.ndarray) -> np.ndarray:
        return np.concatenate([np.asarray(window, dtype=np.float32)[-1], self.clock()])

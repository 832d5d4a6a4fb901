"""The shared intervention-env base (SPEC 3.2): each step the agent picks do(X' = x') and receives M samples.

Action space: Dict {"mask": MultiBinary(n), "value": Box(operating-region bounds)} over the n controllable variables
(mask[i] = 1 intervenes on variable i with value[i]; an all-zero mask is the passive do(0)). Values of integer
variables (e.g. CPU counts) are rounded to the nearest integer, the only documented adjustment; values outside the
Box raise `InterventionError`. A typed `dogym.causal.Intervention` is accepted as the action too.
Observation: [M, n_vars] float64 samples (columns = `variable_names`); the reset observation is all zeros (nothing has
been measured yet). Reward: -c(do(...)). Never terminates; truncation comes from the registered TimeLimit.
Info: "t" (1-based index of the step just taken), "intervention", "intervention_cost", "variables".
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from dogym.causal.intervention import Intervention, InterventionError
from dogym.causal.scm import SCM


class InterventionEnv(gym.Env):
    """Base class: subclasses implement `scm_at(t)` (the SCM that governs step t, 1-based)."""

    metadata = {"render_modes": []}

    def __init__(
        self,
        samples_per_step: int = 1,
        target_costs: Mapping[str, float] | None = None,
        passive_cost: float = 1.0,
    ):
        if int(samples_per_step) != samples_per_step or samples_per_step < 1:
            raise ValueError(f"samples_per_step must be a positive integer, got {samples_per_step!r}")
        self.samples_per_step = int(samples_per_step)
        scm = self.scm_at(1)
        self.variable_names: list[str] = scm.names
        self.controllable: list[str] = scm.controllable
        bounds = scm.control_bounds
        self.target_costs = dict(target_costs) if target_costs is not None else {v: 1.0 for v in self.controllable}
        self.passive_cost = float(passive_cost)
        low = np.array([bounds[v][0] for v in self.controllable], dtype=np.float64)
        high = np.array([bounds[v][1] for v in self.controllable], dtype=np.float64)
        self.action_space = spaces.Dict(
            {"mask": spaces.MultiBinary(len(self.controllable)), "value": spaces.Box(low, high, dtype=np.float64)}
        )
        self.observation_space = spaces.Box(
            -np.inf, np.inf, shape=(self.samples_per_step, len(self.variable_names)), dtype=np.float64
        )
        self.t = 0

    # ------------------------------------------------------------------ to be provided by subclasses
    def scm_at(self, t: int) -> SCM:
        """The true SCM during step t (1-based)."""
        raise NotImplementedError

    # ------------------------------------------------------------------ helpers
    def intervention_cost(self, intervention: Intervention) -> float:
        """c(do(...)): the passive cost for do(0), else the sum of the targets' costs."""
        if intervention.is_passive:
            return self.passive_cost
        return float(sum(self.target_costs[v] for v in intervention.targets))

    def to_intervention(self, action: Intervention | Mapping[str, Any]) -> Intervention:
        """Convert a Dict action (or pass through an Intervention), checking it against the action space."""
        if isinstance(action, Intervention):
            self.true_scm().validate(action)
            return action
        if not isinstance(action, Mapping) or set(action) != {"mask", "value"}:
            raise InterventionError(
                f"action must be an Intervention or a dict with keys 'mask' and 'value', got {action!r}"
            )
        n = len(self.controllable)
        mask = np.asarray(action["mask"]).reshape(-1)
        value = np.asarray(action["value"], dtype=np.float64).reshape(-1)
        if mask.shape != (n,) or value.shape != (n,):
            raise InterventionError(
                f"mask and value must each have {n} entries ({self.controllable}), got {mask.shape} and {value.shape}"
            )
        if not np.all(np.isin(mask, (0, 1))):
            raise InterventionError(f"mask entries must be 0 or 1, got {mask.tolist()}")
        integer = self.true_scm().integer_variables
        targets = {}
        for i in np.flatnonzero(mask):
            name = self.controllable[i]
            targets[name] = float(np.round(value[i])) if name in integer else float(value[i])
        intervention = Intervention(targets)
        self.true_scm().validate(intervention)
        return intervention

    def true_scm(self, t: int | None = None) -> SCM:
        """The ground-truth SCM at step t (default: the step about to be taken), for evaluation and oracles."""
        return self.scm_at(self.t + 1 if t is None else t)

    # ------------------------------------------------------------------ gymnasium API
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.t = 0
        return np.zeros(self.observation_space.shape), {"t": 0, "variables": self.variable_names}

    def step(self, action):
        intervention = self.to_intervention(action)
        self.t += 1
        samples = self.scm_at(self.t).sample_array(self.samples_per_step, self.np_random, intervention)
        cost = self.intervention_cost(intervention)
        info = {"t": self.t, "intervention": intervention, "intervention_cost": cost, "variables": self.variable_names}
        return samples, -cost, False, False, info


class FixedTargetsWrapper(gym.ActionWrapper):
    """Flat Box action over a fixed target set: action[i] is the value of targets[i] (always intervened on)."""

    def __init__(self, env: gym.Env, targets: list[str]):
        super().__init__(env)
        base: InterventionEnv = env.unwrapped  # type: ignore[assignment]
        unknown = [t for t in targets if t not in base.controllable]
        if unknown or not targets:
            raise InterventionError(f"targets {unknown or targets} are not controllable; allowed: {base.controllable}")
        self.targets = list(targets)
        self._index = np.array([base.controllable.index(t) for t in targets])
        value_space = base.action_space["value"]
        self.action_space = spaces.Box(value_space.low[self._index], value_space.high[self._index], dtype=np.float64)

    def action(self, action: np.ndarray) -> dict[str, np.ndarray]:
        """Flat target values -> Dict action."""
        base: InterventionEnv = self.env.unwrapped  # type: ignore[assignment]
        mask = np.zeros(len(base.controllable), dtype=np.int8)
        value = base.action_space["value"].low.copy()
        mask[self._index] = 1
        value[self._index] = np.asarray(action, dtype=np.float64).reshape(-1)
        return {"mask": mask, "value": value}

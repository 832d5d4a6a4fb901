"""The shared intervention-env base: each step the agent picks do(X' = x') and receives M samples.

Action space: Dict {"mask": MultiBinary(n), "value": Box(operating-region bounds)} over the n controllable variables
(mask[i] = 1 intervenes on variable i with value[i]; an all-zero mask is the passive do(0)). Values of integer
variables (e.g. CPU counts) are rounded to the nearest integer, the only documented adjustment; value entries whose
mask is 0 are ignored (but must be finite numbers). Every invalid action (not a Dict with exactly "mask" and
"value", wrong shapes, mask entries other than 0/1, NaN or infinite values, a target outside its operating region or
not controllable) raises `InvalidInterventionError`, which is both a `dogym.envs.core.EnvInputError` and a
`dogym.causal.InterventionError`. A typed `dogym.causal.Intervention` is accepted as the action too.
Observation: [M, n_vars] float64 samples (columns = `variable_names`); the reset observation is all zeros (nothing has
been measured yet). Reward: -c(do(...)) (`intervention_cost`). Never terminates. Truncation: the env returns
truncated=True once t >= `config["horizon"]` (no TimeLimit wrapper); stepping further keeps working (identification
runs call `step` directly) and keeps returning truncated=True.
Info keys (reset and step; `dogym.envs.core.INFO_KEYS` first): "action_mask" (bool [n_controllable], all True: every
controllable variable may be intervened on), "cost" (float, always 0.0: no safety specification; the step's price
is "intervention_cost", not "cost"), "intervention_cost" (float: c(do(...)) of the step, 0.0 at reset), "t" (int: steps
taken since reset, i.e. the 1-based index of the step just taken), "variables" (the column names); step only:
"intervention" (the `Intervention` applied).
Configuration: `default_config()` lists every option (here the episode limit horizon; subclasses add theirs);
keyword overrides are validated and unknown ones raise `EnvConfigError`.
Ground truth (`ground_truth(t)`, `true_scm`, `scm_at`) is for evaluation only; agents get `structural_view()`
(graph, operating regions, P[U]; no mechanisms), `controllable`, `variable_names`, `samples_per_step` and the cost
table `intervention_cost(intervention)`.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from dogym.causal.intervention import Intervention, InterventionError
from dogym.causal.scm import SCM, StructuralView
from dogym.envs.core import DogymEnv, EnvInputError, _short, config_int


class InvalidInterventionError(EnvInputError, InterventionError):
    """An intervention-env action that is not allowed (wrong form, uncontrollable target, outside the region, NaN)."""


def masked_targets(
    action: Any, names: Sequence[str], optional: Sequence[str] = ()
) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """The targets {name: value} of a Dict action {"mask": 0/1 per name, "value": one number per name} over `names`,
    and the entries (as arrays) of the `optional` keys it may also have; `InvalidInterventionError` saying what was
    wrong (not such a dict, wrong shapes, mask entries other than 0/1, values that are not finite numbers)."""
    allowed = {"mask", "value", *optional}
    if not isinstance(action, Mapping) or not {"mask", "value"} <= set(action) <= allowed:
        keys = " and ".join(f"'{k}'" for k in ("mask", "value")) + "".join(f", optionally '{k}'" for k in optional)
        raise InvalidInterventionError(f"action must be a dict with keys {keys}, got {_short(action)}")
    n = len(names)
    try:
        mask = np.asarray(action["mask"])
        raw = np.asarray(action["value"])
        if raw.dtype.kind not in "biuf":
            raise InvalidInterventionError(f"value entries must be real numbers, got dtype {raw.dtype}")
        value = raw.astype(np.float64)
        extras = {k: np.asarray(action[k]) for k in optional if k in action}
    except (TypeError, ValueError) as err:
        raise InvalidInterventionError(f"mask and value must be numeric arrays of {n} entries: {err}") from None
    if mask.shape != (n,) or value.shape != (n,):  # the declared shapes: (1, n) or (n, 1) are not flattened
        raise InvalidInterventionError(
            f"mask and value must each have {n} entries, shape ({n},) ({list(names)}), got {mask.shape} and {value.shape}"
        )
    extras = {k: v.reshape(-1) if v.ndim == 0 else v for k, v in extras.items()}
    if mask.dtype.kind not in "biuf" or not ((mask == 0) | (mask == 1)).all():
        raise InvalidInterventionError(f"mask entries must be 0 or 1, got {mask.tolist()}")
    if not np.all(np.isfinite(value)):
        raise InvalidInterventionError(f"value entries must be finite numbers, got {value.tolist()}")
    return {names[i]: float(value[i]) for i in np.flatnonzero(mask)}, extras


def masked_action(names: Sequence[str], targets: Mapping[str, float], fill: Sequence[float]) -> dict[str, np.ndarray]:
    """The Dict action {"mask", "value"} over `names` that intervenes on `targets` {name: value} (the inverse of
    `masked_targets`); the value entries of the other names hold `fill` (e.g. the value space's lower bounds, ignored
    by the env). `InvalidInterventionError` for a target not in `names`."""
    unknown = sorted(set(targets) - set(names))
    if unknown:
        raise InvalidInterventionError(f"cannot intervene on {unknown}: the action's variables are {list(names)}")
    mask = np.array([name in targets for name in names], dtype=np.int8)
    try:
        value = np.array([targets[n] if n in targets else f for n, f in zip(names, fill, strict=True)], np.float64)
    except (TypeError, ValueError):
        raise InvalidInterventionError(f"intervention values must be numbers, got {_short(dict(targets))}") from None
    return {"mask": mask, "value": value}


class InterventionEnv(DogymEnv):
    """Base class: subclasses implement `scm_at(t)` (the SCM that governs step t, 1-based), build their config with
    `self._configure(options, render_mode)` and then call `InterventionEnv.__init__`."""

    @classmethod
    def default_config(cls) -> dict[str, Any]:
        """The option every intervention env has: the episode limit."""
        config = super().default_config()
        config.update(
            {
                "horizon": 30,  # episode limit in steps: the env truncates itself there
            }
        )
        return config

    def _check_config(self, cfg: dict[str, Any]) -> None:
        super()._check_config(cfg)
        cfg["horizon"] = config_int(cfg, "horizon", type(self).__name__)

    def __init__(
        self,
        config: Mapping[str, Any],
        samples_per_step: int,
        target_costs: Mapping[str, float] | None = None,
        passive_cost: float = 1.0,
    ):
        """`config`: the validated config (`_configure`); `samples_per_step`: M, the observation's rows."""
        self.config = dict(config)
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
        self._shown: tuple[Intervention, np.ndarray] | None = None

    # ------------------------------------------------------------------ to be provided by subclasses
    @abstractmethod
    def scm_at(self, t: int) -> SCM:
        """Ground truth: for evaluation only. The true SCM during step t (1-based)."""

    # ------------------------------------------------------------------ what an operator knows
    def structural_view(self) -> StructuralView:
        """The operator's view of the system (graph, variables and operating regions, P[U]; no mechanisms), taken
        from the SCM of step 1 (the structure is the same at every step)."""
        return self.scm_at(1).structural_view()

    def intervention_cost(self, intervention: Intervention) -> float:
        """c(do(...)) (operator knowledge: the cost table): the passive cost for do(0), else the sum of the targets'
        costs."""
        if intervention.is_passive:
            return self.passive_cost
        return float(sum(self.target_costs[v] for v in intervention.targets))

    def to_intervention(self, action: Intervention | Mapping[str, Any]) -> Intervention:
        """Convert a Dict action (or pass through an Intervention), checking it against the action space and the
        operating region; raises `InvalidInterventionError` saying what was wrong."""
        try:
            return self._to_intervention(action)
        except InvalidInterventionError:
            raise
        except InterventionError as err:  # from `Intervention(...)` or the SCM's validation
            raise InvalidInterventionError(str(err)) from err

    def _to_intervention(self, action: Intervention | Mapping[str, Any]) -> Intervention:
        scm = self.scm_at(self.t + 1)
        if isinstance(action, Intervention):
            scm.validate(action)
            return action
        targets, _ = masked_targets(action, self.controllable)
        integer = scm.integer_variables
        targets = {name: float(np.round(v)) if name in integer else v for name, v in targets.items()}
        intervention = Intervention(targets)
        scm.validate(intervention)
        return intervention

    # ------------------------------------------------------------------ ground truth: for evaluation only
    def ground_truth(self, t: int | None = None) -> dict[str, Any]:
        """Ground truth, for evaluation only: {"scm": the true SCM at step t (default: the step about to be taken),
        "graph": its causal graph (a copy)}."""
        scm = self.true_scm(t)
        return {"scm": scm, "graph": scm.graph.copy()}

    def true_scm(self, t: int | None = None) -> SCM:
        """Ground truth: for evaluation only. The true SCM at step t (default: the step about to be taken)."""
        return self.scm_at(self.t + 1 if t is None else t)

    # ------------------------------------------------------------------ gymnasium API
    @property
    def episode_limit(self) -> int:
        """The episode limit in steps (the `horizon` option): the env truncates itself there."""
        return int(self.config["horizon"])

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed, options=options)
        self.t = 0
        self._shown = None
        return np.zeros(self.observation_space.shape), self._info(0.0)

    def step(self, action):
        intervention = self.to_intervention(action)
        self.t += 1
        samples = self.scm_at(self.t).sample_array(self.samples_per_step, self.np_random, intervention)
        cost = self.intervention_cost(intervention)
        info = self._info(cost)
        info["intervention"] = intervention
        truncated = self.t >= self.config["horizon"]
        self._shown = (intervention, samples)
        return samples, -cost, False, truncated, info

    def render(self) -> np.ndarray | None:
        """rgb_array: the structural view's causal graph, the last step's intervened nodes marked with their values
        and the other variables with the mean of the step's samples (what the agent observed); None without a
        render mode."""
        if self.render_mode != "rgb_array":
            return None
        from dogym.envs.rendering import env_name, graph_frame

        values, targets = None, {}
        if self._shown is not None:
            intervention, samples = self._shown
            values = dict(zip(self.variable_names, samples.mean(axis=0).tolist(), strict=True))
            targets = dict(intervention.values)
        return graph_frame(self.structural_view().graph, values, targets, f"{env_name(self)}  t = {self.t}")

    def get_state(self) -> dict[str, Any]:
        """The episode's state (step count, the env's random generator and the last step's intervention and samples,
        drawn by `render`), for checkpoints; subclasses with more state extend it."""
        shown = None if self._shown is None else (self._shown[0], self._shown[1].copy())
        return {"t": self.t, "rng": self._rng_state(), "shown": shown}

    def set_state(self, state: Mapping[str, Any]) -> None:
        """Continue the episode saved by `get_state()` (the env must have the same configuration)."""
        self.t = int(state["t"])
        self._set_rng_state(state["rng"])
        shown = state.get("shown")  # absent from checkpoints written before it was saved
        self._shown = None if shown is None else (shown[0], np.array(shown[1]))

    def _info(self, intervention_cost: float) -> dict[str, Any]:
        return {
            "action_mask": np.ones(len(self.controllable), dtype=bool),
            "cost": 0.0,
            "intervention_cost": float(intervention_cost),
            "t": int(self.t),
            "variables": self.variable_names,
        }


class FixedTargetsWrapper(gym.ActionWrapper):
    """Flat Box action over a fixed target set: action[i] is the value of targets[i] (always intervened on)."""

    def __init__(self, env: gym.Env, targets: list[str]):
        super().__init__(env)
        base: InterventionEnv = env.unwrapped  # type: ignore[assignment]
        unknown = [t for t in targets if t not in base.controllable]
        if unknown or not targets:
            raise InvalidInterventionError(
                f"targets {unknown or targets} are not controllable; allowed: {base.controllable}"
            )
        self.targets = list(targets)
        index = np.array([base.controllable.index(t) for t in targets])
        value_space = base.action_space["value"]
        self.action_space = spaces.Box(value_space.low[index], value_space.high[index], dtype=np.float64)

    def action(self, action: np.ndarray) -> dict[str, np.ndarray]:
        """Flat target values -> Dict action."""
        base: InterventionEnv = self.env.unwrapped  # type: ignore[assignment]
        values = np.asarray(action, dtype=np.float64).reshape(-1)
        return masked_action(base.controllable, dict(zip(self.targets, values, strict=True)),
                             base.action_space["value"].low)  # fmt: skip

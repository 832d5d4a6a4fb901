"""The safe-region env base: each step holds one intervention over an evaluation window and reports whether
the system met its specification there (Hammar, Alpcan and Lupu, "Causal Online Learning of Safe Regions in Cloud
Radio Access Networks", Def. 1-2).

Step: the action do(U' = u) (the `InterventionEnv` Dict action {"mask", "value"} over the controllable variables, or a
`dogym.causal.Intervention`; all-zero mask = passive operation) is held over a window of H + 1 system time steps
t_k, ..., t_k + H (H = `spec_horizon`); the system clock then moves on by H + 1 (Algorithm 1, line 10).
Observation: the window's values, [H + 1, n_vars] float64 (columns = `variable_names`); zeros at reset.
Reward: -c(u) (`intervention_cost`). Never terminates; truncates itself once t >= `horizon` (the episode limit, in
interventions) and keeps working when stepped further.
Info keys (`dogym.envs.core.INFO_KEYS` first): "action_mask" (all True), "cost" (1.0 when the window violates the
specification phi, else 0.0: the safety-gymnasium convention), "intervention_cost" (c(u); 0.0 at reset and for the
passive do()), "t" (interventions since reset), "time" (system time t_k of the window's first step), "variables";
step only: "intervention".
What an operator knows (what learners get): `structural_view()` (graph, variables and their boxes, P[U]),
`observational_data(n, seed)` (passive monitoring), `specification` (phi, H and its reading), `intervention_set`
(U'), `costs_of(points)` (c over U'), `scenario_context` and `scenario_distributions` (known conditions), `delta`.
Ground truth (evaluation only): `ground_truth(t)` -> {"graph", "region"}, the true safe region
S = {u in U' : P(phi = 1 | do(U' = u)) >= delta} of intervention t as a `TrueSafeRegion`.
Invalid actions raise `InvalidInterventionError` (an `EnvInputError`); bad options raise `EnvConfigError`.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np

from dogym.causal.acquisition import box_points
from dogym.causal.intervention import Intervention
from dogym.causal.specification import READINGS, Specification
from dogym.envs.core import config_choice, config_int, config_number
from dogym.envs.intervention import InterventionEnv

#: Resolution (points per axis) of region areas and of the rendered image.
AREA_RESOLUTION = 1000
RENDER_SIZE = 200


@dataclass
class TrueSafeRegion:
    """The true safe region {u in box : p(u) >= delta} of one intervention step (evaluation only).

    `probability(points [m, d]) -> [m]` is P(phi = 1 | do(U' = u)); `error` states its accuracy (0 when exact,
    else the Monte-Carlo standard error bound). `size()` is the region's fraction of the box on a grid (cached).
    """

    probability: Callable[[np.ndarray], np.ndarray]
    delta: float
    low: np.ndarray
    high: np.ndarray
    error: float = 0.0
    _sizes: dict[int, float] = field(default_factory=dict, repr=False)

    def contains(self, points: np.ndarray) -> np.ndarray:
        """Whether each point [m, d] lies in the region."""
        return self.probability(np.atleast_2d(points)) >= self.delta

    def size(self, resolution: int | None = None) -> float:
        """Fraction of the box in the region: cell midpoints of a `resolution`^d grid (default 1000 per axis in
        2-D, 201 in 1-D; Sobol points in more dimensions)."""
        dim = len(self.low)
        key = resolution or {1: 201, 2: AREA_RESOLUTION}.get(dim, 4096)
        if key not in self._sizes:
            self._sizes[key] = float(self.contains(box_points(self.low, self.high, key)).mean())
        return self._sizes[key]


class SafeRegionEnv(InterventionEnv):
    """Base class (see module docstring). Subclasses set `intervention_set`, and implement `structural_view`,
    `_window`, `_probability` and `observational_data` (and `_costs_by_name` for value-dependent costs)."""

    intervention_set: tuple[str, ...] = ()
    #: Probability accuracy of the ground truth (0: exact).
    truth_error: float = 0.0

    @classmethod
    def default_config(cls) -> dict[str, Any]:
        """Options every safe-region env has (with the episode limit, in interventions)."""
        config = super().default_config()
        config.update(
            {
                "horizon": 30,  # episode limit in interventions: the env truncates itself there
                "spec_horizon": 1,  # H: each intervention is held over a window of H + 1 system steps
                "reading": "monitor",  # steps phi judges: "monitor" the H after the intervention, "literal" all H + 1
                "delta": 0.8,  # the safe region is {u : P(phi = 1 | do(U' = u)) >= delta}
                "monitoring_steps": 10,  # passive monitoring steps before the first intervention (the clock's start)
            }
        )
        return config

    def _check_config(self, cfg: dict[str, Any]) -> None:
        super()._check_config(cfg)
        name = type(self).__name__
        cfg["spec_horizon"] = config_int(cfg, "spec_horizon", name)
        cfg["reading"] = config_choice(cfg, "reading", READINGS, name)
        cfg["delta"] = config_number(cfg, "delta", name, 0.0, 1.0, low_open=True)
        cfg["monitoring_steps"] = config_int(cfg, "monitoring_steps", name, low=0)

    def _finish_init(self, cfg: dict[str, Any], specification: Specification, target_costs: Mapping[str, float]):
        """Build the spaces through `InterventionEnv.__init__` (one observation row per window step)."""
        self.delta = cfg["delta"]
        self.specification = specification
        super().__init__(cfg, specification.window, target_costs, passive_cost=0.0)
        self._spec_columns = {v: self.variable_names.index(v) for v in specification.variables}
        self._estimate: Callable[[np.ndarray], np.ndarray] | None = None
        self._last: np.ndarray | None = None
        self._truths: dict[int, TrueSafeRegion] = {}
        bounds = self.structural_view().control_bounds
        self.low = np.array([bounds[v][0] for v in self.intervention_set])
        self.high = np.array([bounds[v][1] for v in self.intervention_set])

    # ------------------------------------------------------------------ operator knowledge
    @property
    def scenario_context(self) -> dict[str, float]:
        """Conditions of the scenario an operator knows (fixed variables), for causal inference."""
        return {}

    @property
    def scenario_distributions(self) -> dict[str, Any]:
        """Distributions of the scenario's exogenous conditions an operator knows (e.g. the offered load), for
        causal inference; the passive data's empirical distribution is used for the others."""
        return {}

    def window_start(self, t: int) -> int:
        """System time t_k of intervention t's window (1-based t): after the monitoring steps, H + 1 steps each."""
        return self.config["monitoring_steps"] + (t - 1) * self.specification.window

    def intervention_cost(self, intervention: Intervention) -> float:
        """c(u) of an intervention (0 for the passive do())."""
        if intervention.is_passive:
            return 0.0
        names = sorted(intervention.targets)
        return float(self._costs_by_name(names, np.array([[intervention[v] for v in names]]))[0])

    def costs_of(self, points: np.ndarray) -> np.ndarray:
        """c(u) for each row u of `points` [m, |U'|] (columns in `intervention_set` order)."""
        return self._costs_by_name(list(self.intervention_set), np.atleast_2d(np.asarray(points, float)))

    def _costs_by_name(self, names: list[str], values: np.ndarray) -> np.ndarray:
        """c of interventions on `names` with values [m, len(names)]: the sum of the targets' costs."""
        return values[:, :0].sum(1) + sum(self.target_costs[v] for v in names)

    # ------------------------------------------------------------------ gymnasium API
    def step(self, action):
        intervention = self.to_intervention(action)
        self.t += 1
        observation = self._window(intervention, self.window_start(self.t))
        ok = bool(
            self.specification.holds({v: observation[:, self._spec_columns[v]] for v in self.specification.variables})
        )
        cost = self.intervention_cost(intervention)
        info = self._info(cost)
        info["cost"] = 0.0 if ok else 1.0
        info["intervention"] = intervention
        if not intervention.is_passive and set(self.intervention_set) <= intervention.targets:
            self._last = np.array([intervention[v] for v in self.intervention_set])
        return observation, -cost, False, self.t >= self.config["horizon"], info

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        observation, info = super().reset(seed=seed, options=options)
        self._last = None
        return observation, info

    def get_state(self) -> dict[str, Any]:
        """The episode's state, with the last intervention (drawn by `render`), for checkpoints."""
        return {**super().get_state(), "last": None if self._last is None else self._last.copy()}

    def set_state(self, state: Mapping[str, Any]) -> None:
        """Continue the episode saved by `get_state()`."""
        super().set_state(state)
        self._last = None if state["last"] is None else np.array(state["last"])

    def _info(self, intervention_cost: float) -> dict[str, Any]:
        info = super()._info(intervention_cost)
        info["time"] = int(self.window_start(max(self.t, 1)))
        return info

    # ------------------------------------------------------------------ ground truth: for evaluation only
    def ground_truth(self, t: int | None = None) -> dict[str, Any]:
        """Ground truth, for evaluation only: {"graph": the causal graph, "region": the `TrueSafeRegion` of
        intervention t (default: the next one)}."""
        t = self.t + 1 if t is None else int(t)
        return {"graph": self.true_graph(), "region": self.true_region(t)}

    def true_graph(self) -> nx.DiGraph:
        """Ground truth: the causal graph."""
        return self.structural_view().graph

    def true_region(self, t: int) -> TrueSafeRegion:
        """Ground truth: the true safe region of intervention t (cached per window start time)."""
        start = self.window_start(t)
        key = self._truth_key(start)
        if key not in self._truths:
            self._truths[key] = TrueSafeRegion(lambda u: self._probability(u, start), self.delta, self.low,
                                               self.high, self.truth_error)  # fmt: skip
        return self._truths[key]

    def _truth_key(self, start: int) -> int:
        """Windows with the same key have the same true region (stationary envs: one key)."""
        return 0

    # ------------------------------------------------------------------ rendering
    def show_estimate(self, contains: Callable[[np.ndarray], np.ndarray] | None) -> None:
        """Set the estimated region to draw: a function of points [m, |U'|] -> bool [m] (None: none)."""
        self._estimate = contains

    def render(self) -> np.ndarray | None:
        """rgb_array, drawn from the ground truth for people (never part of an observation or info). A 2-D U': the
        true region of the next intervention in red, the estimate (`show_estimate`) in blue, both in purple, the
        last intervention as a black square; C on the x axis, M on the y axis. Otherwise (`render_curves`): the true
        P(phi = 1 | do) against each control of U'."""
        if self.render_mode != "rgb_array":
            return None
        if len(self.intervention_set) != 2:
            return self.render_curves()
        points = box_points(self.low, self.high, RENDER_SIZE)
        truth = self.true_region(self.t + 1).contains(points).reshape(RENDER_SIZE, RENDER_SIZE).T[::-1]
        image = np.full((RENDER_SIZE, RENDER_SIZE, 3), 255, dtype=np.uint8)
        image[truth] = (230, 60, 60)
        if self._estimate is not None:
            est = np.asarray(self._estimate(points), bool).reshape(RENDER_SIZE, RENDER_SIZE).T[::-1]
            image[est] = (60, 90, 230)
            image[est & truth] = (150, 60, 170)
        if self._last is not None:
            cell = np.floor((self._last - self.low) / (self.high - self.low) * RENDER_SIZE)
            ij = np.clip(cell, 0, RENDER_SIZE - 1).astype(int)
            row, col = RENDER_SIZE - 1 - ij[1], ij[0]
            image[max(row - 2, 0) : row + 3, max(col - 2, 0) : col + 3] = 0
        return image

    def render_curves(self, resolution: int = 200) -> np.ndarray:
        """One panel per control of U': the true P(phi = 1 | do(U' = u)) of the next intervention (ground truth,
        drawn for people) as the control sweeps its box, the other controls held at the last intervention (at
        `operating_point` before any), with the threshold delta dashed, the last intervention as a vertical line
        and the estimate (`show_estimate`) as a blue band."""
        from dogym.envs.rendering import Curve, curves_frame, env_name

        held = self.operating_point if self._last is None else self._last
        start = self.window_start(self.t + 1)
        curves = []
        for k, control in enumerate(self.intervention_set):
            x = np.linspace(self.low[k], self.high[k], resolution)
            points = np.tile(held, (resolution, 1))
            points[:, k] = x
            estimate = None if self._estimate is None else np.asarray(self._estimate(points), bool)
            current = None if self._last is None else float(self._last[k])
            curves.append(Curve(control, x, self._probability(points, start), current, estimate))
        title = (f"{env_name(self)}  t = {self.t}: true P(spec | do) per control (ground truth, for people), "
                 f"delta = {self.delta:g}")  # fmt: skip
        return curves_frame(curves, self.delta, title)

    @property
    def operating_point(self) -> np.ndarray:
        """Values of U' held by `render_curves` before any intervention: the middle of the box (subclasses with a
        nominal configuration override it)."""
        return (self.low + self.high) / 2.0

    # ------------------------------------------------------------------ to be provided by subclasses
    @abstractmethod
    def _window(self, intervention: Intervention, start: int) -> np.ndarray:
        """Simulate the window from system time `start` with the intervention held: [H + 1, n_vars] values."""

    @abstractmethod
    def _probability(self, points: np.ndarray, start: int) -> np.ndarray:
        """Ground truth: P(phi = 1 | do(U' = u)) for the window from `start`, for each row of points."""

    @abstractmethod
    def observational_data(self, n: int, seed: int) -> dict[str, np.ndarray]:
        """n rows of passive monitoring (name -> [n] values)."""

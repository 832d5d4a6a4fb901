"""The DCGO env base: dynamic causal global optimisation on a time-unrolled SCM (Aglietti, Dhir, Gonzalez and
Damoulas, "Dynamic Causal Bayesian Optimization", NeurIPS 2021, section 2 and Appendix G).

At each time step t = 0..T-1 the agent may run explorative interventions do(X_s,t = x) on any subset X_s of the
manipulative variables: the system returns Y_t under the intervention, given the realised past, and then "reverts"
(t and the history do not change; the digital-twin setting of Appendix G). One decision intervention is then
applied: its slice values are recorded as the realised past and t advances. The target Y_t is minimised.

Operator knowledge (what DCBO-style agents read; `dogym.agents.dcgo`): `T`, `t`, `target`, `manipulative`,
`exploration_sets` (the same at every t), `full_set` (what BO and ABO intervene on), `domains`, `variables`,
`structural_view()` (the unrolled graph, no mechanisms), `observational_data()` (D^O: name -> [N, T], NaN where a
time step has no data), `intervention_cost(targets)` (= |X_s|, unit cost per variable).
Interaction: only through `step(action)`, so wrappers and step counts see every exploration and decision.
`reset(seed)` draws D^O. The action is the Dict {"mask": MultiBinary(n_manip), "value": Box(domains), "decide":
Discrete(2)}: mask[i] = 1 intervenes on manipulative[i] with value[i] (value entries whose mask is 0 are ignored but
must be finite); decide = 0 (or a missing "decide") explores do(...) on the reverting system, decide = 1 takes the
decision at t; an all-zero mask with decide = 0 observes the passive Y_t. `make_action(intervention, decide)` builds
this action from {name: value}. Observation: the slice values at t under the intervention, [len(variables)] float64
in `variables` order (zeros at reset). Reward: -Y_t on decision steps, 0 on explorative ones. Terminates after the
T-th decision; truncates itself once the number of steps since reset reaches `config["horizon"]` (the gym episode
limit in steps, explorative and decision steps alike) and keeps working when stepped further until t = T.
Info keys (reset and step; `dogym.envs.core.INFO_KEYS` first): "action_mask" (bool [n_manip], all True), "cost"
(0.0: no safety specification), "intervention_cost" (|X_s| of the step; 0.0 at reset), "t" (steps since reset),
"time_step" (the DCGO time step t after the step), "y" (the outcome Y_t; NaN at reset), "decided" (bool), "past"
(float64 [len(variables)]: the realised slice values of the last decision, which drive time step "time_step"; zeros
while time_step = 0, which has no past).
Outcomes: noise-free by default (every noise term 0, as in the DCBO authors' code); `noisy_outcomes=True` adds the
SCM's noise to explorative outcomes and to the realised decision values. `optimal_history=True` drives the system
with the true optimal past decisions (the authors' "optimal assigned blankets" variant) instead of the agent's own.
Errors (`dogym.envs.core.EnvInputError` subclasses, one-line messages): `InvalidInterventionError` for an unknown or
non-manipulative variable, a value outside its domain, NaN or a malformed action; `EpisodeFinishedError` for a step
after the T-th decision; `ExplorationRequiredError` for a decision before any exploration at t when
`require_exploration=True`. Unknown or bad options raise `EnvConfigError`.
Ground truth (evaluation only): `ground_truth()` -> {"graph", "scm", "optimum", "y_star", ...}: the true optimum per
t, the noise-free plug-in min over the exploration sets of Y_t by continuous optimisation (a grid of `grid_points`
points per dimension, np.linspace over each domain, refined by multi-start bounded L-BFGS-B), with the sets tied
within 1e-3 x the target's range over the domain ("tied_sets", "tolerance"), conditioned on the agent's realised history (the true optimal decisions for steps
not yet taken), or on the true optimal history with `optimal_history=True`; cached per history.
`true_objective(t, intervention, past)` evaluates Y_t for many interventions at once.
"""

from __future__ import annotations

import copy
import math
from abc import abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import product
from typing import Any

import networkx as nx
import numpy as np
from gymnasium import spaces
from scipy.optimize import minimize

from dogym.causal.dynamic import DynamicSCM, DynamicStructuralView
from dogym.causal.intervention import Intervention, InterventionError, validate_intervention
from dogym.causal.scm import Exogenous
from dogym.envs.core import DogymEnv, EnvInputError, config_choice, config_int
from dogym.envs.intervention import InvalidInterventionError, masked_action, masked_targets

#: Ground-truth grids are evaluated in chunks of at most this many points (memory bound for 3-D sets).
GRID_CHUNK = 250_000
#: Local refinements (bounded L-BFGS-B) of a set's grid minimum: from this many of its best grid points.
REFINE_STARTS = 5
#: A set is optimal at t when its optimum is within this fraction of the target's range over the domain of y*_t.
OPTIMAL_SET_TOLERANCE = 1e-3


class EpisodeFinishedError(EnvInputError):
    """A step or intervention after the T-th decision (reset the env to start a new episode)."""


class ExplorationRequiredError(EnvInputError):
    """A decision before any explorative intervention at the current time step (with `require_exploration`)."""


@dataclass
class DCGOSystem:
    """What a DCGO env is made of: the dynamic SCM and the problem around it.

    observational_noise: noise distributions of D^O that differ from the SCM's own (e.g. NOISY's authors' option).
    observed_steps: D^O has data for t < observed_steps only (NaN afterwards; MISS), None for every step."""

    scm: DynamicSCM
    horizon: int
    target: str
    manipulative: tuple[str, ...]
    domains: dict[str, tuple[float, float]]
    exploration_sets: tuple[tuple[str, ...], ...]
    n_observational: int
    observational_noise: dict[str, Exogenous] = field(default_factory=dict)
    observed_steps: int | None = None


class DCGOEnv(DogymEnv):
    """Base class (see module docstring). Subclasses implement `_system(cfg) -> DCGOSystem` for the validated config
    and chain `default_config()` / `_check_config()` for options of their own."""

    @classmethod
    def default_config(cls) -> dict[str, Any]:
        """Options every DCGO env has (subclasses add theirs)."""
        config = super().default_config()
        config.update(
            {
                "horizon": 30,  # episode limit in steps (explorative and decision steps alike): the env truncates there
                "noisy_outcomes": False,  # add the SCM's noise to explorative outcomes and realised decisions
                "optimal_history": False,  # drive the system with the true optimal past decisions, not the agent's own
                "require_exploration": False,  # refuse a decision before any exploration at t (ExplorationRequired)
                "n_observational": None,  # N, the trajectories of D^O; None: the paper's N
                "grid_points": 100,  # ground-truth grid points per dimension (then refined by L-BFGS-B)
            }
        )
        return config

    def _check_config(self, cfg: dict[str, Any]) -> None:
        super()._check_config(cfg)
        name = type(self).__name__
        cfg["horizon"] = config_int(cfg, "horizon", name)
        for key in ("noisy_outcomes", "optimal_history", "require_exploration"):
            cfg[key] = bool(config_choice(cfg, key, (False, True), name))
        cfg["grid_points"] = config_int(cfg, "grid_points", name, low=2)
        if cfg["n_observational"] is not None:
            cfg["n_observational"] = config_int(cfg, "n_observational", name, low=0)

    @abstractmethod
    def _system(self, cfg: dict[str, Any]) -> DCGOSystem:
        """The SCM and the problem for the validated config."""

    def __init__(self, render_mode: str | None = None, **options: Any):
        self.config = cfg = self._configure(options, render_mode)
        system = self._system(cfg)
        if cfg["n_observational"] is not None:
            system.n_observational = cfg["n_observational"]
        self._scm = system.scm
        self._sys = system
        self.T: int = system.horizon
        self.target: str = system.target
        self.manipulative: list[str] = list(system.manipulative)
        self.exploration_sets: list[tuple[str, ...]] = [tuple(s) for s in system.exploration_sets]
        self.full_set: tuple[str, ...] = tuple(system.manipulative)
        self.domains: dict[str, tuple[float, float]] = {v: tuple(map(float, system.domains[v])) for v in
                                                        self.manipulative}  # fmt: skip
        self.variables: list[str] = list(system.scm.order_at(0))
        self._view = DynamicStructuralView(
            system.scm.graph(self.T),
            tuple(self.variables),
            tuple(self.manipulative),
            dict(self.domains),
            self.target,
            tuple(self.exploration_sets),
            self.T,
            dict(system.scm.noise),
        )
        low = np.array([self.domains[v][0] for v in self.manipulative])
        high = np.array([self.domains[v][1] for v in self.manipulative])
        self.action_space = spaces.Dict(
            {
                "mask": spaces.MultiBinary(len(self.manipulative)),
                "value": spaces.Box(low, high, dtype=np.float64),
                "decide": spaces.Discrete(2),
            }
        )
        self.observation_space = spaces.Box(-np.inf, np.inf, shape=(len(self.variables),), dtype=np.float64)
        self._truths: dict[tuple, dict[str, Any]] = {}
        self._grids: dict[tuple[str, ...], dict[str, np.ndarray]] = {}
        self._data: dict[str, np.ndarray] | None = None
        self._start_episode()

    def _start_episode(self) -> None:
        self.t = 0
        self.history: list[dict[str, Any]] = []
        self._steps = 0
        self._explored_at_t = 0
        self._seen: list[dict[str, float]] = []  # the slice values each decision returned (drawn by `render`)
        self._last_explore: tuple[dict[str, float], dict[str, float]] | None = None

    # ------------------------------------------------------------------ operator knowledge
    def structural_view(self) -> DynamicStructuralView:
        """The operator's view: the time-unrolled graph with (variable, t) nodes, variables, manipulative variables
        and domains, target, exploration sets, T and the noise distributions; no mechanisms."""
        return self._view

    def intervention_cost(self, targets: Iterable[str]) -> float:
        """Cost of intervening on `targets` (names, or a mapping name -> value): unit cost per variable, |X_s|."""
        names = set(targets)
        unknown = sorted(names - set(self.manipulative))
        if unknown:
            raise InvalidInterventionError(
                f"cannot intervene on {unknown}: manipulative variables are {self.manipulative}"
            )
        return float(len(names))

    def observational_data(self) -> dict[str, np.ndarray]:
        """D^O: N i.i.d. trajectories, name -> [N, T] float64 (copies; NaN where a time step has no data). Drawn at
        reset from the reset seed."""
        if self._data is None:
            raise EnvInputError(f"{type(self).__name__}: call reset(seed=...) before observational_data()")
        return {k: v.copy() for k, v in self._data.items()}

    # ------------------------------------------------------------------ interventions
    def to_intervention(self, intervention: Mapping[str, Any] | Intervention) -> dict[str, float]:
        """A validated intervention {name: value} (`InvalidInterventionError` for unknown or non-manipulative
        variables, NaN, infinite or out-of-domain values)."""
        if isinstance(intervention, Intervention):
            intervention = dict(intervention.values)
        if not isinstance(intervention, Mapping):
            raise InvalidInterventionError(
                f"an intervention must be a mapping name -> value, got {type(intervention).__name__}"
            )
        try:
            checked = Intervention(dict(intervention))
            validate_intervention(checked, self.domains)
        except InterventionError as err:
            raise InvalidInterventionError(str(err)) from None
        return dict(checked.values)

    def make_action(self, intervention: Mapping[str, float], decide: bool = False) -> dict[str, Any]:
        """The `step` action that explores (`decide=False`) or decides do(intervention) ({} is the passive
        observation): the Dict {"mask", "value", "decide"} over `manipulative` (the entries of variables not
        intervened on hold their domain's lower bound, which the env ignores). It only builds the action."""
        low = [self.domains[v][0] for v in self.manipulative]
        return {**masked_action(self.manipulative, intervention, low), "decide": int(bool(decide))}

    def _check_running(self) -> None:
        if self.t >= self.T:
            raise EpisodeFinishedError(
                f"{type(self).__name__}: the episode is over (all T = {self.T} decisions taken); call reset()"
            )

    def _explore(self, do: dict[str, float]) -> dict[str, float]:
        self._check_running()
        values = self._slice(self.t, self._past(self.t), do, self.config["noisy_outcomes"])
        self._explored_at_t += 1
        self._last_explore = (dict(do), values)
        return values

    def _decide(self, do: dict[str, float]) -> dict[str, float]:
        self._check_running()
        if self.config["require_exploration"] and self._explored_at_t == 0:
            raise ExplorationRequiredError(
                f"{type(self).__name__}: decision at t = {self.t} before any explorative intervention "
                "(require_exploration=True)"
            )
        values = self._slice(self.t, self._past(self.t), do, self.config["noisy_outcomes"])
        carried = self._optimal_path()[self.t]["values"] if self.config["optimal_history"] else values
        self.history.append({"intervention": dict(do), "values": dict(carried), "y": values[self.target]})
        self._seen.append(values)
        self.t += 1
        self._explored_at_t = 0
        self._last_explore = None
        return values

    def _slice(self, t: int, past: dict[str, float] | None, do: dict[str, float], noisy: bool) -> dict[str, float]:
        noise = self._scm.draw_noise(self.np_random, ()) if noisy else None
        values = self._scm.slice_values(t, past, do, noise)
        return {v: float(values[v]) for v in self.variables}

    def _past(self, t: int) -> dict[str, float] | None:
        """The realised values of slice t - 1 that drive slice t (None at t = 0)."""
        if t == 0:
            return None
        if self.config["optimal_history"]:
            return self._optimal_path()[t - 1]["values"]
        return self.history[t - 1]["values"]

    # ------------------------------------------------------------------ gymnasium API
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed, options=options)
        self._start_episode()
        self._data = self._draw_observational(self.np_random)
        return np.zeros(self.observation_space.shape), self._info(0.0, math.nan, False)

    def step(self, action):
        do, decide = self._parse_action(action)
        values = self._decide(do) if decide else self._explore(do)
        self._steps += 1
        y = values[self.target]
        observation = np.array([values[v] for v in self.variables], dtype=np.float64)
        terminated = bool(decide and self.t == self.T)
        truncated = self._steps >= self.config["horizon"]
        reward = -y if decide else 0.0
        return observation, float(reward), terminated, truncated, self._info(float(len(do)), y, decide)

    def render(self) -> np.ndarray | None:
        """rgb_array: the time-unrolled graph of the structural view; past decisions' intervened nodes with their
        values and the other nodes with the values those decisions returned, the last explorative intervention at
        the current t (the system reverted) with the values it returned; None without a render mode."""
        if self.render_mode != "rgb_array":
            return None
        from dogym.envs.rendering import env_name, unrolled_frame

        values, decided, explored = {}, {}, {}
        for t, (entry, seen) in enumerate(zip(self.history, self._seen, strict=True)):
            values |= {(v, t): x for v, x in seen.items()}
            decided |= {(v, t): x for v, x in entry["intervention"].items()}
        if self._last_explore is not None:
            do, seen = self._last_explore
            values |= {(v, self.t): x for v, x in seen.items()}
            explored = {(v, self.t): x for v, x in do.items()}
        title = f"{env_name(self)}  t = {self.t} of T = {self.T}, target {self.target} (minimised)"
        return unrolled_frame(self._view.graph, self.variables, self.T, self.t, self.target, values, decided,
                              explored, title)  # fmt: skip

    def _parse_action(self, action: Any) -> tuple[dict[str, float], bool]:
        """Dict action -> (intervention, decide); `InvalidInterventionError` saying what was wrong."""
        do, extras = masked_targets(action, self.manipulative, optional=("decide",))
        decide = extras.get("decide", np.zeros(1))
        if decide.shape != (1,) or decide.dtype.kind not in "biuf" or decide[0] not in (0, 1):
            raise InvalidInterventionError(f"decide must be a single 0 or 1, got {decide.tolist()}")
        return self.to_intervention(do), bool(decide[0])

    def _info(self, intervention_cost: float, y: float, decided: bool) -> dict[str, Any]:
        past = self.history[-1]["values"] if self.history else {}
        return {
            "action_mask": np.ones(len(self.manipulative), dtype=bool),
            "cost": 0.0,
            "intervention_cost": float(intervention_cost),
            "t": int(self._steps),
            "time_step": int(self.t),
            "y": float(y),
            "decided": bool(decided),
            "past": np.array([past.get(v, 0.0) for v in self.variables], dtype=np.float64),
        }

    # ------------------------------------------------------------------ checkpoints
    def get_state(self) -> dict[str, Any]:
        """The episode's whole state: t, the steps since reset, the explorations at t, the history of decisions,
        the values each returned and the last exploration (drawn by `render`), D^O and the random generator."""
        episode = {k: getattr(self, k) for k in ("t", "_steps", "_explored_at_t", "_seen", "_last_explore", "_data")}
        return copy.deepcopy({**episode, "history": self.history, "rng": self._rng_state()})

    def set_state(self, state: Mapping[str, Any]) -> None:
        """Continue the episode saved by `get_state()` (the env must have the same configuration)."""
        state = copy.deepcopy(dict(state))
        self._set_rng_state(state.pop("rng"))
        for key, value in state.items():
            setattr(self, key, value)

    # ------------------------------------------------------------------ observational data
    def _draw_observational(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """N trajectories of the passive system (the SCM's noise, with D^O's own overrides)."""
        n = self._sys.n_observational
        noise = self._scm.draw_noise(rng, (n, self.T), self._sys.observational_noise)
        data = self._scm.simulate(self.T, noise, n=n)
        if self._sys.observed_steps is not None:
            for values in data.values():
                values[:, self._sys.observed_steps :] = np.nan
        return data

    # ------------------------------------------------------------------ ground truth: for evaluation only
    def ground_truth(self, t: int | None = None) -> dict[str, Any]:
        """Ground truth, for evaluation only.

        "optimum": per t, {"set", "value", "y", "per_set", "tolerance", "tied_sets", "values", "past", "history"}: the
        best exploration set, its best value (continuous optimum), the noise-free y*_t, each set's (value, y) best, the
        tie tolerance (1e-3 x the target's range over the domain) and the sets within it of y*_t, the slice values under the optimal
        decision, the past slice values it is conditioned on, and what that past is ("agent": the agent's realised decisions; "optimal": the true optimal decisions).
        Without `optimal_history`, steps the agent has not reached yet are conditioned on its realised past and the
        true optimal decisions in between. "y_star": [T] array of the optimum values. "t", "current": the step asked
        for (default the current one, at most T - 1) and its entry. "graph": the unrolled DAG. "scm": the dynamic
        SCM."""
        t = min(self.t, self.T - 1) if t is None else int(t)
        if not 0 <= t < self.T:
            raise EnvInputError(f"t must be in [0, {self.T - 1}], got {t}")
        path = self._optimal_path() if self.config["optimal_history"] else self._agent_path()
        return {
            "graph": self._view.graph,
            "scm": self._scm,
            "optimum": path,
            "y_star": np.array([entry["y"] for entry in path]),
            "t": t,
            "current": path[t],
        }

    def _optimal_path(self) -> list[dict[str, Any]]:
        """The true optimum at every t along the true optimal decisions."""
        return self._path_from([])

    def _agent_path(self) -> list[dict[str, Any]]:
        """The true optimum at every t given the agent's realised past (optimal decisions after it)."""
        return self._path_from([h["values"] for h in self.history])

    def _path_from(self, realised: list[dict[str, float]]) -> list[dict[str, Any]]:
        path: list[dict[str, Any]] = []
        past: dict[str, float] | None = None
        for t in range(self.T):
            entry = dict(self._optimum(t, past))
            entry["history"] = "agent" if 0 < t <= len(realised) else ("optimal" if t > 0 else "none")
            entry["past"] = past
            path.append(entry)
            past = realised[t] if t < len(realised) else entry["values"]
        return path

    def _optimum(self, t: int, past: dict[str, float] | None) -> dict[str, Any]:
        """The best (set, value, y) at t given the past slice values (cached per (t, past)): per exploration set, the
        minimum over its `grid_points`^d grid refined by bounded L-BFGS-B from the best `REFINE_STARTS` grid points
        (the continuous optimum up to the optimiser's tolerance); the sets within `OPTIMAL_SET_TOLERANCE` x the
        target's range over the domain of y*_t are "tied_sets" (every one of them counts as optimal)."""
        key = (t, None if past is None else tuple(sorted(past.items())))
        if key not in self._truths:
            per_set, low, high = {}, np.inf, -np.inf
            for s in self.exploration_sets:
                grid = self._grid(s)
                y = self._evaluate(t, past, grid)
                finite = y[np.isfinite(y)]
                if finite.size:
                    low, high = min(low, float(finite.min())), max(high, float(finite.max()))
                per_set[s] = self._refine(t, past, s, grid, y)
            best = min(self.exploration_sets, key=lambda s: per_set[s]["y"])  # exact ties: the first set
            value = per_set[best]["value"]
            y_best = per_set[best]["y"]
            tolerance = OPTIMAL_SET_TOLERANCE * (max(high, y_best) - min(low, y_best)) if np.isfinite(high) else 0.0
            self._truths[key] = {
                "set": best,
                "value": value,
                "y": y_best,
                "per_set": per_set,
                "tolerance": tolerance,
                "tied_sets": [s for s in self.exploration_sets if per_set[s]["y"] <= y_best + tolerance],
                "values": self._slice(t, past, value, noisy=False),
            }
        return self._truths[key]

    def _refine(
        self, t: int, past: dict[str, float] | None, names: tuple[str, ...], grid: dict[str, np.ndarray], y: np.ndarray
    ) -> dict[str, Any]:
        """{"value", "y"}: the set's minimum, from its grid values `y` refined locally by bounded L-BFGS-B."""
        bounds = [self.domains[v] for v in names]
        order = np.argsort(y, kind="stable")
        best_x = np.array([grid[v][order[0]] for v in names])
        best_y = float(y[order[0]])

        def objective(x: np.ndarray) -> float:
            value = float(self._evaluate(t, past, {v: np.array([x[i]]) for i, v in enumerate(names)})[0])
            return value if np.isfinite(value) else 1e300

        for i in order[:REFINE_STARTS]:
            if not np.isfinite(y[i]):
                break
            start = np.array([grid[v][i] for v in names])
            result = minimize(objective, start, method="L-BFGS-B", bounds=bounds, options={"ftol": 1e-13, "gtol": 1e-9})
            x = np.clip(result.x, [b[0] for b in bounds], [b[1] for b in bounds])
            fx = objective(x)
            if fx < best_y:
                best_x, best_y = x, fx
        return {"value": {v: float(best_x[i]) for i, v in enumerate(names)}, "y": best_y}

    def _evaluate(self, t: int, past: dict[str, float] | None, grid: dict[str, np.ndarray]) -> np.ndarray:
        """Noise-free Y_t at every grid point (chunked); non-finite values count as +inf."""
        n = len(next(iter(grid.values())))
        out = np.empty(n)
        for start in range(0, n, GRID_CHUNK):
            chunk = {v: g[start : start + GRID_CHUNK] for v, g in grid.items()}
            y = self._scm.slice_values(t, past, chunk)[self.target]
            out[start : start + GRID_CHUNK] = np.broadcast_to(y, (len(next(iter(chunk.values()))),))
        out[~np.isfinite(out)] = np.inf
        return out

    def _grid(self, names: tuple[str, ...]) -> dict[str, np.ndarray]:
        """The ground-truth grid of a set: `grid_points` linspace points per dimension, all combinations."""
        if names not in self._grids:
            axes = [np.linspace(*self.domains[v], self.config["grid_points"]) for v in names]
            points = np.array(list(product(*axes))) if len(names) > 1 else axes[0][:, None]
            self._grids[names] = {v: points[:, i].copy() for i, v in enumerate(names)}
        return self._grids[names]

    def true_objective(
        self, t: int, intervention: Mapping[str, Any], past: Mapping[str, float] | None = None
    ) -> np.ndarray:
        """Ground truth (evaluation only): noise-free Y_t under do(intervention) for array-valued interventions
        (broadcast), given the past slice values `past` (default: the ground truth's past for t)."""
        if past is None:
            path = self._optimal_path() if self.config["optimal_history"] else self._agent_path()
            past = path[t]["past"]
        return np.asarray(self._scm.slice_values(t, past, dict(intervention))[self.target], dtype=np.float64)

    def true_graph(self) -> nx.DiGraph:
        """Ground truth: the time-unrolled DAG (the same as the structural view's: the graph is known)."""
        return self._view.graph

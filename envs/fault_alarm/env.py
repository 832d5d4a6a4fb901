"""FaultAlarm: alarm root-cause troubleshooting in a telecom network (FaultAlarmRL of Cai et al.)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import gymnasium as gym
import networkx as nx
import numpy as np
from gymnasium import spaces

from dogym.causal.graphs import causal_order, induced_subgraph
from dogym.causal.structure.event_table import EventTable
from dogym.causal.structure.hawkes import HOP_NORMALIZATIONS, TopologicalHawkesModel
from dogym.envs.core import (
    DogymEnv,
    EnvConfigError,
    check_allocation,
    config_choice,
    config_int,
    config_number,
    discrete_action,
)
from dogym.envs.fault_alarm.alarm_graph import alarm_graph
from dogym.envs.fault_alarm.dynamics import AlarmDynamics, BranchingDynamics, DynamicsConfig, PoissonDynamics
from dogym.envs.fault_alarm.logs import passive_events
from dogym.envs.fault_alarm.structure import AlarmStructure

DYNAMICS = {"branching": BranchingDynamics, "poisson": PoissonDynamics}
REWARD_MODES = ("paper", "authors")


class FaultAlarmEnv(DogymEnv):
    """Clear cascading alarms in a network of devices by acting on their root causes.

    ## Description
    Alarms of 18 types (`dogym.causal.ALARM_TYPES`) on 50 devices propagate along the true alarm-type DAG of
    Table 3 of Cai et al. and a random device topology, as a topological Hawkes process (`dogym.causal.structure.hawkes`)
    with the parameters of Table 2. Each step covers `time_range` time units in which root-cause alarms (on the
    10 highest-degree devices x the 5 earliest types of the causal order) arrive with probability `p_root`,
    noise alarms with probability `p_noise`, and every active alarm keeps exciting children on its own device
    (hop 0) or its neighbours (hop 1) through an exponential kernel; children cascade within the step. At most
    `max_copies` active alarms per (device, type); a small fraction of pairs is transient (alarms expire). The model
    (topology, hops, alpha, mu) is fixed by `model_seed`; episodes are random only through `reset(seed=...)`.

    ## Action Space
    Discrete(n_devices * n_types) (900 at the defaults): a = device * n_types + type clears every active alarm of
    that pair and all their descendants (in the branching dynamics); ancestors stay. Acting on an inactive pair is
    legal and wastes the step. `action_masks()` (and info["action_mask"]) marks the active pairs, for sb3-contrib's
    MaskablePPO. Invalid actions raise `InvalidActionError`.

    ## Observation Space
    Box(n_devices * n_types * 2,) float32, laid out as [device, type, channel] flattened: channel 0 is the active
    count (0..max_copies), channel 1 the time since the pair's newest active alarm divided by time_range * step_max,
    clipped to [0, 1] (0 for inactive pairs).

    ## Rewards
    (N_t - N_{t+1}) / N_t - t / step_max, with N_t the active alarms before the action, N_{t+1} after the step's
    propagation and t the 1-based step number ("paper" mode, the default). In "authors" mode N_t excludes the alarms
    the action cleared (the authors' code), unless that would leave N_t = 0.

    ## Termination
    No alarm active, or more than `max_alarms` active (the cascade exploded).

    ## Truncation
    The env itself returns truncated=True from step `step_max` on (100 by default; steps counted since reset; no
    TimeLimit wrapper), like Gymnasium's TimeLimit also when the step terminates.

    ## Info Keys
    At reset and every step, all of fixed shape so vector envs can stack them. The env contract's keys
    (`dogym.envs.core.INFO_KEYS`): action_mask (bool per action, True where a pair is active), cost (float, always
    0.0: FaultAlarm has no safety specification), intervention_cost (float: 0.0 at reset, 1.0 per step, i.e. every
    action, effective or not, costs one step), t (int: steps taken since reset). Also: n_alarms, time (simulated time,
    float). Step only: n_alarms_before, n_cleared, action_effective, acted_device, acted_type,
    device_counts_before/after (per-type counts on the acted device), neighbour_counts_before/after (per-type counts
    summed over its topology neighbours), exploded. Simulator internals, only with the option `debug_info=True` (for
    tests, debugging and the named privileged settings; an operator never sees them): root_cause_mask (reset and step;
    bool per action, True where a pair holds an alarm with no active cause) and cleared_mask (step; bool per action:
    the pairs that lost an alarm through the action's parent links).

    ## Configuration, Ground Truth and Operator Knowledge
    `default_config()` lists every option; keyword overrides are validated and unknown ones raise `EnvConfigError` (a
    `ValueError`). `ground_truth()` (the true type DAG, causal order and THP model; for evaluation only),
    `structural_view()` (an `AlarmStructure`: types, devices, topology, timing; no causal truth) and
    `observational_data(n_events, seed)` (a passive alarm log as an `EventTable`).

    ## Registered Configurations
    - `dogym/FaultAlarm-v0`: the defaults (50 devices, the 18 types of Table 3, branching dynamics).
    - `dogym/FaultAlarmPoisson-v0`: `dynamics='poisson'` (Poisson counts per step, eqs. 27-28 of Cai et al.).
    """

    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 4}

    @classmethod
    def default_config(cls) -> dict[str, Any]:
        """Every option with its default (the paper-scale FaultAlarm-v0)."""
        config = super().default_config()
        config.update(
            {
                "n_devices": 50,  # devices in the network topology
                "type_graph": None,  # networkx DiGraph over type names; None = Table 3 of Cai et al.
                "model_seed": 0,  # seed of the fixed model (topology, hops, alpha, mu); episodes vary by reset(seed)
                "max_hop": 2,  # largest topology hop over which an alarm can excite alarms on other devices
                "hop_normalization": "rw",  # "rw": D^-1 A D^-1 (authors' code), "sym": D^-1/2 A D^-1/2 (paper)
                "alpha_range": (1e-4, 1.3e-3),  # range of the edges' excitation strengths alpha (Table 2)
                "mu_range": (5e-4, 8e-4),  # range of the base intensities mu (Table 2)
                "same_device_fraction": 54 / 94,  # share of type edges on the same device (hop 0); others: neighbours
                "kernel_decay": 0.0002,  # kernel time constant 5000 = 100 steps; calibrated to the reference behaviour
                "time_range": 50.0,  # simulated time units per step
                "n_root_devices": 10,  # root-cause alarms arrive on this many highest-degree devices
                "n_root_types": 5,  # ... of this many earliest types in the causal order
                "p_root": 0.2,  # probability per step that a root-cause alarm arrives
                "p_noise": 0.1,  # probability per step that a noise alarm arrives
                "max_copies": 10,  # most active alarms per (device, type) pair
                "max_alarms": 1000,  # the episode terminates (explodes) above this many active alarms
                "transient_fraction": 0.1,  # fraction of (device, type) pairs whose alarms expire by themselves
                "transient_mean_duration": 100.0,  # mean lifetime of a transient alarm (time units)
                "n_initial_roots": 5,  # reset places one root alarm on each of this many distinct root types
                "min_initial_alarms": 20,  # reset lets the cascade run until this many alarms are active
                "max_warmup_steps": 200,  # ... for at most this many steps
                "step_max": 100,  # episode limit in steps: the env truncates itself there
                "reward_mode": "paper",  # "paper": (N_t - N_{t+1}) / N_t - t / step_max; "authors": N_t - cleared
                "dynamics": "branching",  # "branching": topological Hawkes; "poisson": Poisson counts (eqs. 27-28)
                "debug_info": False,  # True adds the simulator-only info keys root_cause_mask and cleared_mask
            }
        )
        return config

    def __init__(self, render_mode: str | None = None, **options: Any) -> None:
        name = type(self).__name__
        cfg = self._configure(options, render_mode)
        n = cfg["n_devices"]  # the model's (max_hop, N, N) float hop operators and their N x N temporaries:
        check_allocation((8 * cfg["max_hop"] + 17) * n * n, f"{name} with n_devices = {n} (hop operators)")
        self.config = cfg
        graph = alarm_graph() if cfg["type_graph"] is None else nx.DiGraph(cfg["type_graph"])
        try:
            self.model = TopologicalHawkesModel.generate(
                graph,
                cfg["n_devices"],
                cfg["model_seed"],
                alpha_range=tuple(cfg["alpha_range"]),
                mu_range=tuple(cfg["mu_range"]),
                same_device_fraction=cfg["same_device_fraction"],
                decay=cfg["kernel_decay"],
                max_hop=cfg["max_hop"],
                normalization=cfg["hop_normalization"],
            )
        except ValueError as err:  # e.g. a type_graph with a cycle
            raise EnvConfigError(f"{name} cannot build its model from this config: {err}") from err
        self._causal_order = list(causal_order(graph))
        self.n_devices, self.n_types = self.model.n_devices, self.model.n_types
        self.n_pairs = self.model.n_pairs
        self.type_names = self.model.type_names
        order = self._causal_order
        self.type_rank = np.array([order.index(t) for t in self.type_names], dtype=np.int64)
        self.root_candidates = self._root_candidates(order)
        self.transient_pairs = self._transient_pairs()
        dyn_cfg = DynamicsConfig(
            time_range=float(cfg["time_range"]),
            p_root=cfg["p_root"],
            p_noise=cfg["p_noise"],
            max_copies=cfg["max_copies"],
            max_alarms=cfg["max_alarms"],
            transient_mean_duration=cfg["transient_mean_duration"],
        )
        self.dynamics: AlarmDynamics = DYNAMICS[cfg["dynamics"]](
            self.model, dyn_cfg, self.root_candidates, self.transient_pairs
        )
        self.dynamics.reset()
        self.action_space = spaces.Discrete(self.n_pairs)
        high = np.empty((self.n_devices, self.n_types, 2), dtype=np.float32)
        high[..., 0], high[..., 1] = cfg["max_copies"], 1.0
        self.observation_space = spaces.Box(0.0, high.ravel(), dtype=np.float32)
        self._steps = 0

    def _check_config(self, cfg: dict[str, Any]) -> None:
        """Raise `EnvConfigError` for an option value the env cannot use; normalise numbers to int / float in place."""
        super()._check_config(cfg)
        name = type(self).__name__
        config_choice(cfg, "dynamics", sorted(DYNAMICS), name)
        config_choice(cfg, "debug_info", (False, True), name)
        config_choice(cfg, "reward_mode", REWARD_MODES, name)
        config_choice(cfg, "hop_normalization", HOP_NORMALIZATIONS, name)
        for key in ("n_devices", "max_hop", "max_copies", "max_alarms", "step_max", "n_root_devices", "n_root_types"):
            cfg[key] = config_int(cfg, key, name)
        for key in ("model_seed", "n_initial_roots", "min_initial_alarms", "max_warmup_steps"):
            cfg[key] = config_int(cfg, key, name, low=0)
        for key in ("p_root", "p_noise", "transient_fraction", "same_device_fraction"):
            cfg[key] = config_number(cfg, key, name, 0.0, 1.0)
        cfg["time_range"] = config_number(cfg, "time_range", name, 0.0, low_open=True)
        cfg["transient_mean_duration"] = config_number(cfg, "transient_mean_duration", name, 0.0, low_open=True)
        cfg["kernel_decay"] = config_number(cfg, "kernel_decay", name, 0.0)
        for key in ("alpha_range", "mu_range"):
            value = cfg[key]
            try:
                low, high = (float(x) for x in value)
                ok = 0.0 <= low <= high < np.inf
            except (TypeError, ValueError):
                ok = False
            if not ok:
                raise EnvConfigError(
                    f"{name} option {key} must be a pair (low, high) with 0 <= low <= high, got {value!r}"
                )
        if cfg["type_graph"] is not None and not isinstance(cfg["type_graph"], nx.DiGraph):
            raise EnvConfigError(
                f"{name} option type_graph must be a networkx DiGraph or None, got {type(cfg['type_graph']).__name__}"
            )

    # Ground truth: for evaluation (and oracles) only; agents must not read it ----------------------------
    def ground_truth(self) -> dict[str, Any]:
        """Ground truth, for evaluation only: {"graph": the true alarm-type DAG (networkx, edges with `hop` and
        `alpha`), "causal_order": the type names in the true causal order, "model": the `TopologicalHawkesModel`}."""
        return {"graph": self.model.type_graph(), "causal_order": list(self._causal_order), "model": self.model}

    @property
    def true_graph(self) -> nx.DiGraph:
        """Ground truth: for evaluation only. The true alarm-type DAG (with each edge's hop and alpha); same as
        `ground_truth()["graph"]`."""
        return self.model.type_graph()

    # What an operator knows -----------------------------------------------------------------------------------
    def structural_view(self) -> AlarmStructure:
        """The operator's view (types, devices, topology, timing, episode limit); no causal ground truth."""
        cfg = self.config
        return AlarmStructure(
            type_names=tuple(self.type_names),
            n_devices=self.n_devices,
            adjacency=self.model.adjacency.copy(),
            time_range=float(cfg["time_range"]),
            max_hop=int(cfg["max_hop"]),
            hop_normalization=str(cfg["hop_normalization"]),
            step_max=int(cfg["step_max"]),
        )

    def observational_data(self, n_events: int, seed: int, max_steps: int = 100_000) -> EventTable:
        """A passive alarm log: the first `n_events` alarms of this env's THP under passive operation (no action
        ever clears anything), from `reset(seed=seed)` on, as an `EventTable` (types, times, devices; no graph).

        Drawn on a fresh copy of this env built from `self.config` (this env's state is untouched), always with the
        branching dynamics (the continuous-time THP that the "poisson" dynamics discretise). Deterministic given
        `seed`; see `dogym.envs.fault_alarm.logs` for the lifted caps.
        """
        fresh = type(self)(**{**self.config, "dynamics": "branching"})
        return passive_events(fresh, n_events, seed, max_steps)

    @property
    def topology(self) -> nx.Graph:
        """The device topology as an undirected networkx graph over device indices."""
        return nx.from_numpy_array(self.model.adjacency.astype(int))

    def action_masks(self) -> np.ndarray:
        """Bool mask over actions, True where the (device, type) pair has an active alarm."""
        return self.dynamics.counts() > 0

    # Gymnasium API -----------------------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        """Start an episode: one root alarm on each of `n_initial_roots` distinct root types, then let the
        cascade run (with injections) until at least `min_initial_alarms` are active."""
        super().reset(seed=seed, options=options)
        cfg = self.config
        dyn = self.dynamics
        dyn.reset()
        self._steps = 0
        cand_types = self.root_candidates % self.n_types
        types = self.np_random.permutation(np.unique(cand_types))[: cfg["n_initial_roots"]]
        roots = np.array([self.np_random.choice(self.root_candidates[cand_types == t]) for t in types])
        dyn.add(roots, np.zeros(len(roots)), self.np_random)
        for _ in range(cfg["max_warmup_steps"]):
            if dyn.n_alarms >= cfg["min_initial_alarms"]:
                break
            dyn.advance(self.np_random)
        counts = dyn.counts()
        info = self._base_info(counts, intervention_cost=0.0)
        return self._observation(counts), info

    def step(self, action: Any):
        """Clear the chosen pair, let the alarms propagate for one time range, and score the change."""
        a = discrete_action(action, self.n_pairs, type(self).__name__)
        cfg = self.config
        dyn = self.dynamics
        self._steps += 1
        device, typ = divmod(a, self.n_types)
        before = dyn.counts()
        n_before = int(before.sum())
        cleared = dyn.clear(a)
        dyn.advance(self.np_random)
        counts = dyn.counts()
        n_after = int(counts.sum())
        reference = n_before
        if cfg["reward_mode"] == "authors" and cleared.n_cleared < n_before:
            reference = n_before - cleared.n_cleared
        progress = (reference - n_after) / reference if reference > 0 else 0.0
        reward = float(progress - self._steps / cfg["step_max"])
        exploded = n_after > cfg["max_alarms"]
        terminated = exploded or n_after == 0
        truncated = self._steps >= cfg["step_max"]
        grid_before, grid_after = before.reshape(self.n_devices, self.n_types), counts.reshape(self.n_devices, -1)
        neighbours = self.model.adjacency[device]
        info = self._base_info(counts, intervention_cost=1.0)
        info.update(
            n_alarms_before=n_before,
            n_cleared=cleared.n_cleared,
            action_effective=cleared.n_cleared > 0,
            acted_device=device,
            acted_type=typ,
            device_counts_before=grid_before[device].copy(),
            device_counts_after=grid_after[device].copy(),
            neighbour_counts_before=grid_before[neighbours].sum(axis=0),
            neighbour_counts_after=grid_after[neighbours].sum(axis=0),
            exploded=exploded,
        )
        if cfg["debug_info"]:
            info["cleared_mask"] = self._pair_mask(cleared.pairs)
        return self._observation(counts), reward, terminated, truncated, info

    def render(self) -> str | np.ndarray | None:
        """ "ansi": a table of active alarms; "rgb_array": a device x type heat map of active counts."""
        if self.render_mode is None:
            gym.logger.warn("render() called without a render_mode; pass render_mode='ansi' or 'rgb_array'")
            return None
        counts = self.dynamics.counts().reshape(self.n_devices, self.n_types)
        if self.render_mode == "ansi":
            return self._render_text(counts)
        return self._render_heatmap(counts)

    # Helpers -----------------------------------------------------------------------------------------------
    def _root_candidates(self, order: list[str]) -> np.ndarray:
        degree = self.model.adjacency.sum(axis=1)
        devices = np.argsort(-degree, kind="stable")[: self.config["n_root_devices"]]
        types = [self.type_names.index(name) for name in order[: self.config["n_root_types"]]]
        return np.sort((devices[:, None] * self.n_types + np.array(types)[None, :]).ravel())

    def _transient_pairs(self) -> np.ndarray:
        rng = np.random.default_rng([self.config["model_seed"], 1])
        n = round(self.config["transient_fraction"] * self.n_pairs)
        return np.sort(rng.choice(self.n_pairs, size=n, replace=False))

    def _observation(self, counts: np.ndarray) -> np.ndarray:
        horizon = self.config["time_range"] * self.config["step_max"]
        age = (self.dynamics.time - self.dynamics.latest_time()) / horizon
        obs = np.empty((self.n_pairs, 2), dtype=np.float32)
        obs[:, 0] = counts
        obs[:, 1] = np.where(counts > 0, np.clip(age, 0.0, 1.0), 0.0)
        return obs.ravel()

    def _base_info(self, counts: np.ndarray, intervention_cost: float) -> dict[str, Any]:
        info = {
            "action_mask": counts > 0,
            "cost": 0.0,
            "intervention_cost": float(intervention_cost),
            "t": int(self._steps),
            "n_alarms": int(counts.sum()),
            "time": float(self.dynamics.time),
        }
        if self.config["debug_info"]:
            info["root_cause_mask"] = self._pair_mask(self.dynamics.root_pairs())
        return info

    def _pair_mask(self, pairs: np.ndarray) -> np.ndarray:
        mask = np.zeros(self.n_pairs, dtype=bool)
        mask[pairs] = True
        return mask

    def _render_text(self, counts: np.ndarray) -> str:
        width = max(len(n) for n in self.type_names)
        lines = [f"t={self.dynamics.time:.0f} step={self._steps} active alarms={int(counts.sum())}"]
        lines.append(f"{'device':>6}  {'type':<{width}}  count")
        for device, typ in zip(*np.nonzero(counts), strict=True):
            lines.append(f"{device:>6}  {self.type_names[typ]:<{width}}  {counts[device, typ]:>5}")
        return "\n".join(lines) + "\n"

    def _render_heatmap(self, counts: np.ndarray, cell: int = 8) -> np.ndarray:
        level = counts.T / max(self.config["max_copies"], 1)  # types as rows, devices as columns
        image = np.empty((*level.shape, 3), dtype=np.float64)
        image[..., 0] = 1.0
        image[..., 1] = 1.0 - level
        image[..., 2] = 1.0 - level
        image[counts.T == 0] = 0.95
        return (np.kron(image, np.ones((cell, cell, 1))) * 255).astype(np.uint8)

    def get_state(self) -> dict[str, Any]:
        """The episode's state (step count, alarm state, the env's random generator), for checkpoints."""
        return {"steps": self._steps, "dynamics": self.dynamics.state(), "rng": self._rng_state()}

    def set_state(self, state: Mapping[str, Any]) -> None:
        """Continue the episode saved by `get_state()` (the env must have the same configuration)."""
        self._steps = state["steps"]
        self.dynamics.restore(state["dynamics"])
        self._set_rng_state(state["rng"])

    @staticmethod
    def episode_metrics(infos: Sequence[Mapping[str, Any]], terminated: bool) -> dict[str, float | bool]:
        """Per episode (from its step infos): mean and maximum active alarms per step, whether it ended with no
        alarm left (cleared) or by explosion."""
        alarms = [info["n_alarms"] for info in infos]
        last = infos[-1]
        return {
            "mean_alarms": float(np.mean(alarms)),
            "max_alarms": int(max(alarms)),
            "cleared": bool(terminated and last["n_alarms"] == 0),
            "exploded": bool(last.get("exploded", False)),
        }


class FaultAlarmSmallEnv(FaultAlarmEnv):
    """FaultAlarm at test scale: 10 devices and the 8 earliest alarm types of Table 3 (its induced subgraph).

    ## Description
    The dynamics, info keys and options of `FaultAlarmEnv` (see its docstring) with small sizes: 10 devices, 8 types,
    root causes on 3 devices x 3 types, 3 initial roots, at least 8 initial alarms, explosion above 200 alarms.

    ## Action Space
    Discrete(80): a = device * 8 + type clears that (device, type) pair and its descendants.

    ## Observation Space
    Box(160,) float32: active count and normalised age per (device, type) pair, as in `FaultAlarmEnv`.

    ## Rewards
    (N_t - N_{t+1}) / N_t - t / step_max, as in `FaultAlarmEnv`.

    ## Termination
    No alarm active, or more than `max_alarms` (200) active.

    ## Truncation
    From step `step_max` (100) on.

    ## Registered Configurations
    - `dogym/FaultAlarmSmall-v0`: the defaults.
    """

    @classmethod
    def default_config(cls) -> dict[str, Any]:
        """FaultAlarm-v0's options with small sizes. The types keep Table 3's listing order, which is not causal."""
        graph = alarm_graph()
        earliest = set(causal_order(graph)[:8])
        config = super().default_config()
        config.update(
            {
                "n_devices": 10,
                "type_graph": induced_subgraph(graph, [n for n in graph.nodes if n in earliest]),
                "n_root_devices": 3,
                "n_root_types": 3,
                "n_initial_roots": 3,
                "min_initial_alarms": 8,
                "max_alarms": 200,
            }
        )
        return config

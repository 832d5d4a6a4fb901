"""Online causal RL (Cai et al., "Learning by Doing", Algorithm 1): policy learning alternating with causal structure
learning.

`initial_structure_learner` builds the online structure learner from what an operator has, the env's structural view
(alarm types, device topology, hop settings) and a passive alarm log (`observational_data`), starting from a THP graph
fitted on that log (section 5.2) or from a random DAG. `StructureLearningCallback` feeds every transition the agent
collects to it, updates the graph (ATT orientation then BIC pruning) every `update_interval` env steps, hands the new
graph to the causal mask of every training env, and records the graph after each update.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import networkx as nx
import numpy as np
from stable_baselines3.common.callbacks import BaseCallback

from dogym.causal.graphs import edge_metrics
from dogym.causal.random_streams import named_rng
from dogym.causal.structure.event_table import EventTable
from dogym.causal.structure.hawkes import hop_operators
from dogym.causal.structure.online import OnlineStructureLearner, random_dag
from dogym.causal.structure.thp import THP

#: How transitions are read: "observed" (default) uses only what an operator sees (the counts before and after, the
#: acted pair); "simulator" also uses the env's `cleared_mask` (which pairs lost an alarm through the action's
#: descendants: simulator internals, Cai et al.'s setting; the env gives it only with `debug_info=True`).
TRANSITION_VIEWS = ("observed", "simulator")
#: The step info keys the FaultAlarm learners read in each transition view (the operator's view: the env contract's
#: keys, the alarm count and clock, the acted pair and the counts around it), beside the keys the agents' own wrappers
#: and Stable-Baselines3 add. Tests run every learner on envs whose info raises on any other key.
OPERATOR_INFO_KEYS = frozenset({"action_mask", "cost", "intervention_cost", "t", "n_alarms", "time", "n_alarms_before",
                                "action_effective", "acted_device", "acted_type", "device_counts_before",
                                "device_counts_after", "neighbour_counts_before", "neighbour_counts_after", "exploded"})  # fmt: skip
INFO_VIEWS = {"observed": OPERATOR_INFO_KEYS, "simulator": OPERATOR_INFO_KEYS | {"cleared_mask"}}


def thp_start_graph(env: gym.Env, events: EventTable, hops: np.ndarray, decay: float | str, penalty: float | str):
    """THP's graph on the passive log `events` (Cai et al. section 5.2). `decay` and `penalty` are numbers, or "auto"
    (THP selects them from the data); decay "simulator" reads the true kernel decay from the env's ground truth (the
    privileged setting of the authors' code, kept as a named option)."""
    if decay == "simulator":
        decay = float(env.unwrapped.ground_truth()["model"].decay)
    options = {"decay": decay, "penalty": penalty}
    return THP(**{k: None if v == "auto" else float(v) for k, v in options.items()}).fit(events, hops).graph


def initial_structure_learner(
    env: gym.Env,
    init: str,
    seed: int,
    n_log_events: int = 2000,
    density: float = 0.3,
    penalty: float = 1.0,
    *,
    thp_decay: float | str = "auto",
    thp_penalty: float | str = "auto",
    att_z: float = 2.0,
    att_min_effect: float = 0.15,
    orientation: str = "relative",
) -> OnlineStructureLearner:
    """An online structure learner for the env's alarm types and topology, starting from THP or a random DAG.

    The passive alarm log of `n_log_events` events (seeded by `seed`) is the observational data for pruning in
    both cases; with init="thp" the start graph is THP's fit on it (`thp_decay`, `thp_penalty`: see
    `thp_start_graph`), with init="random" `random_dag(density)`. `penalty` scales the BIC penalty of the pruning
    step; `att_z` and `att_min_effect` are ATT's significance and effect thresholds and `orientation` its rule for
    pairs supported both ways (`dogym.causal.structure.att`).
    """
    structure = env.get_wrapper_attr("structural_view")()
    events = env.get_wrapper_attr("observational_data")(n_log_events, seed)
    hops = hop_operators(structure.adjacency, structure.max_hop, structure.hop_normalization)
    if init == "thp":
        start = thp_start_graph(env, events, hops, thp_decay, thp_penalty)
    elif init == "random":
        start = random_dag(structure.type_names, density, named_rng(seed, "initial_graph"))
    else:
        raise ValueError(f"init must be 'thp' or 'random', got {init!r}")
    return OnlineStructureLearner(
        structure.type_names,
        structure.adjacency,
        start,
        observational=events,
        step=structure.time_range,
        max_hop=structure.max_hop,
        normalization=structure.hop_normalization,
        penalty=penalty,
        att_z=att_z,
        att_min_effect=att_min_effect,
        orientation=orientation,
    )


def att_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """The ATT keyword arguments of `initial_structure_learner` from an agent's causal options."""
    return {"att_z": float(options["att_z"]), "att_min_effect": float(options["att_min_effect"]),
            "orientation": options["orientation"]}  # fmt: skip


def add_alarm_step(
    learner: OnlineStructureLearner,
    obs: np.ndarray,
    next_obs: np.ndarray,
    info: Mapping[str, Any],
    view: str = "observed",
) -> None:
    """Feed one FaultAlarm transition: `obs` / `next_obs` hold per (device, type) the active count then the normalised
    age; `info` the step info (acted_device, acted_type; with view="simulator" also cleared_mask).

    In the "observed" view the action clears the acted pair (when it was active); the operator cannot see which other
    alarms it removed, so a pair whose count fell during the step is taken to have lost that many alarms (to the
    action or to expiry) and to have had no births. The "simulator" view empties every pair in `cleared_mask`."""
    n_pairs = learner.n_devices * learner.n_types
    before = np.asarray(obs, dtype=float).reshape(n_pairs, 2)[:, 0]
    after = np.asarray(next_obs, dtype=float).reshape(n_pairs, 2)[:, 0]
    device, acted_type = int(info["acted_device"]), int(info["acted_type"])
    if view == "simulator":
        if "cleared_mask" not in info:
            raise ValueError(
                "transition_view 'simulator' reads info['cleared_mask']: make the env with debug_info=True"
            )
        learner.add_counts(before, after, device, acted_type, np.asarray(info["cleared_mask"], dtype=bool))
        return
    if view != "observed":
        raise ValueError(f"transition view must be one of {TRANSITION_VIEWS}, got {view!r}")
    acted = device * learner.n_types + acted_type
    cleared = np.zeros(n_pairs, dtype=bool)
    cleared[acted] = before[acted] > 0
    remaining = np.minimum(before, after)
    remaining[acted] = 0.0
    learner.add_counts(before, after, device, acted_type, cleared, remaining)


class OnlineGraph:
    """Algorithm 1's structure-learning phase for any acting loop: feeds every transition to an
    `OnlineStructureLearner`, updates the graph (ATT orientation then BIC pruning) every `update_interval` env steps,
    and records the graph after each update in `history` (timesteps and edges; scored against the truth only at
    evaluation, by `graph_history_metrics`)."""

    def __init__(self, learner: OnlineStructureLearner, update_interval: int = 500, view: str = "observed") -> None:
        if update_interval < 1:
            raise ValueError(f"update_interval must be >= 1, got {update_interval}")
        if view not in TRANSITION_VIEWS:
            raise ValueError(f"transition view must be one of {TRANSITION_VIEWS}, got {view!r}")
        self.learner, self.update_interval, self.view = learner, update_interval, view
        self.next_update = update_interval
        self.history: list[dict[str, Any]] = []

    def observe(self, obs: np.ndarray, next_obs: np.ndarray, info: Mapping[str, Any]) -> None:
        """Feed one transition (see `add_alarm_step`)."""
        add_alarm_step(self.learner, obs, next_obs, info, self.view)

    def maybe_update(self, timesteps: int) -> nx.DiGraph | None:
        """Update and record the graph if an update is due at `timesteps`; returns the new graph, else None."""
        if timesteps < self.next_update:
            return None
        self.next_update += self.update_interval
        self.learner.update()
        self.record(timesteps)
        return self.learner.graph

    def record(self, timesteps: int) -> None:
        """Append the current graph to `history`."""
        self.history.append({"timesteps": timesteps, "edges": [list(edge) for edge in self.learner.graph.edges]})

    def state(self) -> dict[str, Any]:
        """The learner's state, the update history and when the next update is due."""
        return {"learner": self.learner.state(), "history": list(self.history), "next_update": self.next_update}

    def restore(self, state: Mapping[str, Any]) -> None:
        """Continue from `state()`."""
        self.learner.restore(state["learner"])
        self.history, self.next_update = list(state["history"]), state["next_update"]


class StructureLearningCallback(BaseCallback):
    """An `OnlineGraph` inside SB3's learning loop; pushes each new graph into the training envs' causal masks.

    Works for on- and off-policy SB3 algorithms with any number of envs: the state before a step is the model's
    `_last_obs`, the state after is the new observation (or `terminal_observation` at episode ends). TensorBoard gets
    `causal/n_edges`.
    """

    def __init__(self, online: OnlineGraph) -> None:
        super().__init__()
        self.online = online

    @property
    def learner(self) -> OnlineStructureLearner:
        """The structure learner."""
        return self.online.learner

    @property
    def history(self) -> list[dict[str, Any]]:
        """The recorded graphs."""
        return self.online.history

    def _on_training_start(self) -> None:
        if not self.online.history:  # a fresh run: record the initial graph and give it to the envs
            self._record()
            self.training_env.env_method("set_graph", self.learner.graph)

    def _on_step(self) -> bool:
        before = self.model._last_obs
        after = self.locals["new_obs"]
        for i, info in enumerate(self.locals["infos"]):
            final = info.get("terminal_observation")
            self.online.observe(before[i], after[i] if final is None else final, info)
        graph = self.online.maybe_update(self.num_timesteps)
        if graph is not None:
            self.training_env.env_method("set_graph", graph)
            self.logger.record("causal/n_edges", graph.number_of_edges())
        return True

    def _record(self) -> None:
        self.online.record(self.num_timesteps)
        self.logger.record("causal/n_edges", self.learner.graph.number_of_edges())

    def state(self) -> dict[str, Any]:
        """The online learner's state."""
        return self.online.state()

    def restore(self, state: Mapping[str, Any]) -> None:
        """Continue from `state()`."""
        self.online.restore(state)


def graph_history_metrics(history: list[dict[str, Any]], truth: nx.DiGraph) -> list[dict[str, Any]]:
    """Edge metrics (precision, recall, F1, SHD, ...) of every recorded graph against the true graph, and the F1
    against the truth's transitive closure (`f1_closure`: ancestor relations count as hits), for evaluation."""
    closure = nx.transitive_closure_dag(truth)
    rows = []
    for row in history:
        graph = nx.DiGraph()
        graph.add_nodes_from(truth.nodes)
        graph.add_edges_from(tuple(edge) for edge in row["edges"])
        metrics = edge_metrics(graph, truth).as_dict()
        rows.append({"timesteps": row["timesteps"], **metrics, "f1_closure": edge_metrics(graph, closure).f1})
    return rows

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
from dogym.causal.structure.hawkes import hop_operators
from dogym.causal.structure.online import OnlineStructureLearner, random_dag
from dogym.causal.structure.thp import THP


def initial_structure_learner(
    env: gym.Env, init: str, seed: int, n_log_events: int = 2000, density: float = 0.3, penalty: float = 1.0
) -> OnlineStructureLearner:
    """An online structure learner for the env's alarm types and topology, starting from THP or a random DAG.

    The passive alarm log of `n_log_events` events (seeded by `seed`) is the observational data for pruning in
    both cases; with init="thp" the start graph is THP's fit on it, with init="random" `random_dag(density)`.
    `penalty` scales the BIC penalty of the pruning step.
    """
    structure = env.get_wrapper_attr("structural_view")()
    events = env.get_wrapper_attr("observational_data")(n_log_events, seed)
    hops = hop_operators(structure.adjacency, structure.max_hop, structure.hop_normalization)
    if init == "thp":
        start = THP(decay=structure.kernel_decay).fit(events, hops).graph
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
    )


def add_alarm_step(
    learner: OnlineStructureLearner, obs: np.ndarray, next_obs: np.ndarray, info: Mapping[str, Any]
) -> None:
    """Feed one FaultAlarm transition: `obs` / `next_obs` hold per (device, type) the active count then the normalised
    age; `info` the step info (acted_device, acted_type, cleared_mask)."""
    n_pairs = learner.n_devices * learner.n_types
    before = np.asarray(obs, dtype=float).reshape(n_pairs, 2)[:, 0]
    after = np.asarray(next_obs, dtype=float).reshape(n_pairs, 2)[:, 0]
    learner.add_counts(before, after, int(info["acted_device"]), int(info["acted_type"]), info["cleared_mask"])


class StructureLearningCallback(BaseCallback):
    """Feeds transitions to an `OnlineStructureLearner` and pushes its graph into the envs' causal masks.

    Works for on- and off-policy SB3 algorithms with any number of envs: the state before a step is the model's
    `_last_obs`, the state after is the new observation (or `terminal_observation` at episode ends). `history`
    holds one row per graph update: timesteps and the graph's edges (scored against the truth only at evaluation,
    by `graph_history_metrics`; the learner never sees it). TensorBoard gets `causal/n_edges`.
    """

    def __init__(self, learner: OnlineStructureLearner, update_interval: int = 500) -> None:
        super().__init__()
        if update_interval < 1:
            raise ValueError(f"update_interval must be >= 1, got {update_interval}")
        self.learner = learner
        self.update_interval = update_interval
        self.next_update = update_interval
        self.history: list[dict[str, Any]] = []

    def _on_training_start(self) -> None:
        if not self.history:  # a fresh run: record the initial graph and give it to the envs
            self._record()
            self.training_env.env_method("set_graph", self.learner.graph)

    def _on_step(self) -> bool:
        before = self.model._last_obs
        after = self.locals["new_obs"]
        for i, info in enumerate(self.locals["infos"]):
            final = info.get("terminal_observation")
            add_alarm_step(self.learner, before[i], after[i] if final is None else final, info)
        if self.num_timesteps >= self.next_update:
            self.next_update += self.update_interval
            self.learner.update()
            self.training_env.env_method("set_graph", self.learner.graph)
            self._record()
        return True

    def _record(self) -> None:
        edges = [list(edge) for edge in self.learner.graph.edges]
        self.history.append({"timesteps": self.num_timesteps, "edges": edges})
        self.logger.record("causal/n_edges", len(edges))

    def state(self) -> dict[str, Any]:
        """The learner's state, the update history and when the next update is due."""
        return {"learner": self.learner.state(), "history": list(self.history), "next_update": self.next_update}

    def restore(self, state: Mapping[str, Any]) -> None:
        """Continue from `state()`."""
        self.learner.restore(state["learner"])
        self.history, self.next_update = list(state["history"]), state["next_update"]


def graph_history_metrics(history: list[dict[str, Any]], truth: nx.DiGraph) -> list[dict[str, Any]]:
    """Edge metrics (precision, recall, F1, SHD, ...) of every recorded graph against the true graph (evaluation)."""
    rows = []
    for row in history:
        graph = nx.DiGraph()
        graph.add_nodes_from(truth.nodes)
        graph.add_edges_from(tuple(edge) for edge in row["edges"])
        rows.append({"timesteps": row["timesteps"], **edge_metrics(graph, truth).as_dict()})
    return rows

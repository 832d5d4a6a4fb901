"""Online causal RL (seed 002 Algorithm 1): policy learning alternating with causal structure learning.

`initial_structure_learner` builds the online structure learner from a THP graph (fitted on a passive alarm log,
section 5.2) or from a random DAG. `StructureLearningCallback` feeds every transition the agent collects to it,
updates the graph (ATT orientation then BIC pruning) every `update_interval` env steps, hands the new graph to the
causal mask of every training env, and logs the graph's F1 / precision / recall against the true graph.
"""

from __future__ import annotations

from typing import Any

from stable_baselines3.common.callbacks import BaseCallback

from dogym.causal.structure.online import OnlineStructureLearner, random_dag
from dogym.causal.structure.thp import THP
from dogym.envs.fault_alarm.logs import sample_alarm_log


def initial_structure_learner(
    env_id: str,
    env_kwargs: dict[str, Any],
    init: str,
    seed: int,
    n_log_events: int = 2000,
    density: float = 0.3,
    penalty: float = 1.0,
) -> OnlineStructureLearner:
    """An online structure learner for the env's alarm types and topology, starting from THP or a random DAG.

    The passive alarm log of `n_log_events` events (seeded by `seed`) is the observational data for pruning in
    both cases; with init="thp" the start graph is THP's fit on it, with init="random" `random_dag(density)`.
    `penalty` scales the BIC penalty of the pruning step.
    """
    log = sample_alarm_log(n_log_events, seed, env_id, **env_kwargs)
    names = log.events.type_names
    if init == "thp":
        start = THP(decay=log.decay).fit(log.events, log.hops).graph
    elif init == "random":
        start = random_dag(names, density, seed)
    else:
        raise ValueError(f"init must be 'thp' or 'random', got {init!r}")
    return OnlineStructureLearner(names, log.adjacency, start, observational=log.events, penalty=penalty)


class StructureLearningCallback(BaseCallback):
    """Feeds transitions to an `OnlineStructureLearner` and pushes its graph into the envs' causal masks.

    Works for on- and off-policy SB3 algorithms with any number of envs: the state before a step is the model's
    `_last_obs`, the state after is the new observation (or `terminal_observation` at episode ends). `history`
    holds one row per graph update (timesteps, edge metrics against `true_graph`).
    """

    def __init__(self, learner: OnlineStructureLearner, true_graph: Any, update_interval: int = 500) -> None:
        super().__init__()
        if update_interval < 1:
            raise ValueError(f"update_interval must be >= 1, got {update_interval}")
        self.learner = learner
        self.true_graph = true_graph
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
            self.learner.add_step(before[i], after[i] if final is None else final, info)
        if self.num_timesteps >= self.next_update:
            self.next_update += self.update_interval
            self.learner.update()
            self.training_env.env_method("set_graph", self.learner.graph)
            self._record()
        return True

    def _record(self) -> None:
        metrics = self.learner.metrics(self.true_graph).as_dict()
        row = {"timesteps": self.num_timesteps, **metrics}
        self.history.append(row)
        for key in ("f1", "precision", "recall", "shd"):
            self.logger.record(f"causal/{key}", metrics[key])

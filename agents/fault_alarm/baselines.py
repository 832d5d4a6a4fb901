"""The no-learning baselines of the FaultAlarm RL family: what the causal agents score without reinforcement learning.

Random actions inside the causal mask M_s(G) of Cai et al. ("Learning by Doing", section 4.1) isolate how much of a
causal agent's score comes from the mask rather than from its policy. The graph G is
- "thp": THP's graph on the passive alarm log, never updated;
- "online": refined online (ATT orientation + BIC pruning) from the baseline's own interventions, exactly as the causal
  agents refine theirs (same start, update interval and epsilon-causal exploration), with no RL;
- "true": the env's true alarm DAG (a privileged reference).
Beside them: random actions among active alarms (no mask, no learning) and the oracle that clears the active alarm
earliest in the true causal order.

Each baseline acts for the run's budget of env steps (the training curves of Fig. 3), then is evaluated like the
trained agents. Runs take seconds, so they restart rather than resume.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import gymnasium as gym
import networkx as nx

from dogym.agents.fault_alarm.causal_mask import CausalMaskWrapper
from dogym.agents.fault_alarm.monitor import EpisodeMonitor, episode_summary, read_monitor
from dogym.agents.fault_alarm.online_causal import (
    OnlineGraph,
    att_options,
    graph_history_metrics,
    initial_structure_learner,
)
from dogym.agents.protocol import Agent, RunContext
from dogym.agents.reference import REFERENCE_POLICIES, Policy
from dogym.causal.random_streams import named_rng

#: Where a baseline's causal graph comes from (None: no causal mask).
GRAPH_SOURCES = ("thp", "online", "true", None)


def true_alarm_dag(env: gym.Env) -> nx.DiGraph:
    """The env's true alarm DAG (ground truth: only the privileged "true" baseline and evaluation read it)."""
    return env.unwrapped.ground_truth()["graph"]


class ReferenceAgent(Agent):
    """A no-learning baseline (see the module docstring) in the family's agent protocol.

    Spec options: "policy" (a `REFERENCE_POLICIES` name) and "graph" (a `GRAPH_SOURCES` entry). With a graph, the
    hyper-parameters hold the causal options of the causal agents (top_k, eta, init, ...).
    """

    def __init__(self, context: RunContext, options: Mapping[str, Any]) -> None:
        self.context = context
        context.run_dir.mkdir(parents=True, exist_ok=True)
        source = context.spec.options["graph"]
        if source not in GRAPH_SOURCES:
            raise ValueError(f"graph source must be one of {GRAPH_SOURCES}, got {source!r}")
        self.source, self.options = source, dict(options)
        (context.run_dir / "0.monitor.csv").unlink(missing_ok=True)  # a restarted run starts its episodes afresh
        self.env = EpisodeMonitor(gym.make(context.env_id, **context.env_kwargs), context.run_dir / "0.monitor.csv",
                                  context.env_id)  # fmt: skip
        self.online: OnlineGraph | None = None
        self.graph: nx.DiGraph | None = None
        if source in ("thp", "online"):
            opts = self.options
            learner = initial_structure_learner(
                self.env, "thp" if source == "thp" else opts["init"], context.seed, opts["n_log_events"],
                opts["random_density"], opts["prune_penalty"], thp_decay=opts["thp_decay"],
                thp_penalty=opts["thp_penalty"], **att_options(opts),
            )  # fmt: skip
            self.graph = learner.graph
            if source == "online":
                self.online = OnlineGraph(learner, opts["structure_update_interval"], opts["transition_view"])
        elif source == "true":
            self.graph = true_alarm_dag(self.env)
        self.policy = self._policy(self.env)
        self.policy.reset(int(named_rng(context.seed, "policy").integers(2**31)))
        self.timesteps, self.seconds = 0, 0.0

    def _policy(self, env: gym.Env) -> Policy:
        return REFERENCE_POLICIES[self.context.spec.options["policy"]](env, None)

    def _masked(self, env: gym.Env, eta: float) -> gym.Env:
        """`env` under the causal mask of the current graph (unchanged without a graph)."""
        if self.graph is None:
            return env
        return CausalMaskWrapper(env, self.graph, self.options["top_k"], eta)

    def learn(self, budget: int, checkpoint: Callable[[], bool] | None = None) -> bool:
        """Act for `budget` env steps; the "online" baseline refines its graph as it goes (no checkpoints)."""
        start = time.perf_counter()
        eta = self.options["eta"] if self.source == "online" else 0.0
        env = self._masked(self.env, eta)
        if self.online is not None and not self.online.history:
            self.online.record(0)
        obs, info = env.reset(seed=self.context.seed)
        while self.timesteps < budget:
            next_obs, _, terminated, truncated, next_info = env.step(self.policy.act(obs, info))
            self.timesteps += 1
            if self.online is not None:
                self.online.observe(obs, next_obs, next_info)
                graph = self.online.maybe_update(self.timesteps)
                if graph is not None:
                    self.graph = graph
                    env.set_graph(graph)
            obs, info = (next_obs, next_info) if not (terminated or truncated) else env.reset()
        self.seconds += time.perf_counter() - start
        return True

    def act(self, observation: Any, info: Mapping[str, Any]) -> int:
        """The baseline's action (random ones from its own seeded generator)."""
        return self.policy.act(observation, info)

    def evaluation_env(self, env: gym.Env) -> gym.Env:
        """`env` as the baseline acts in it at evaluation: under its final graph's mask with eta = 0."""
        return self._masked(env, 0.0)

    def state(self, folder: Path) -> dict[str, Any]:
        """Baselines restart rather than resume: `learn` never calls the checkpoint hook."""
        return {}

    def restore(self, state: Mapping[str, Any], folder: Path) -> None:
        """Nothing to restore (see `state`)."""

    def save(self, folder: Path) -> None:
        """graph.json and graph_metrics.csv for baselines with a graph."""
        from dogym.agents.io import atomic_write_json, atomic_write_text, csv_text

        if self.graph is not None:
            atomic_write_json(folder / "graph.json", {"nodes": list(self.graph.nodes), "edges": list(self.graph.edges)})
            atomic_write_text(folder / "graph_metrics.csv", csv_text(self._graph_metrics()))

    def _graph_metrics(self) -> list[dict[str, Any]]:
        if self.graph is None:
            return []
        history = self.online.history if self.online is not None else []
        if not history:
            history = [{"timesteps": self.timesteps, "edges": [list(e) for e in self.graph.edges]}]
        return graph_history_metrics(history, true_alarm_dag(self.env))

    def summary(self) -> dict[str, Any]:
        """Env steps, throughput, the acting episodes' means, and the graph's metrics before and after."""
        out: dict[str, Any] = {
            "timesteps": self.timesteps,
            "train_seconds": self.seconds,
            "steps_per_second": self.timesteps / max(self.seconds, 1e-9),
            "train": episode_summary(read_monitor(self.context.run_dir / "0.monitor.csv")),
        }
        rows = self._graph_metrics()
        if rows:
            out["graph_initial"], out["graph_final"] = rows[0], {k: v for k, v in rows[-1].items() if k != "timesteps"}
        return out


class LoadedReferenceAgent(ReferenceAgent):
    """A finished baseline run: its final graph (graph.json), for evaluation."""

    def __init__(self, context: RunContext, options: Mapping[str, Any]) -> None:
        self.context, self.source, self.options = context, context.spec.options["graph"], dict(options)
        self.graph = None
        path = context.run_dir / "graph.json"
        if self.source is not None:
            if not path.exists():
                raise ValueError(f"{context.run_dir} is not a finished baseline run (no graph.json)")
            saved = json.loads(path.read_text(encoding="utf-8"))
            self.graph = nx.DiGraph(saved["edges"])
            self.graph.add_nodes_from(saved["nodes"])
        self.policy = self._policy(gym.make(context.env_id, **context.env_kwargs))

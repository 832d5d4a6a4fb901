"""The FaultAlarm RL family: Stable-Baselines3 agents (masked and causal-masked PPO, DQN, D3QN) on FaultAlarm envs.

`SB3Agent` is one run's agent: its vectorised envs (each with an `EpisodeMonitor`, and the causal mask for causal
agents), the SB3 model, and for causal agents the online structure learner (Cai et al., "Learning by Doing",
Algorithm 1). Its checkpoints are explicit: SB3's `save` for the model, the filled part of the replay buffer, and the
`state()` of the structure learner, every wrapper, every env and every random generator. `FAMILY` tells the runner how
to build, load and evaluate these agents, which metrics they report and which figures they draw (Fig. 3).
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import gymnasium as gym
import networkx as nx
import numpy as np
import torch as th
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import CallbackList
from stable_baselines3.common.logger import CSVOutputFormat, Logger, TensorBoardOutputFormat
from stable_baselines3.common.vec_env import DummyVecEnv

from dogym.agents.evaluation import ModelPolicy
from dogym.agents.fault_alarm.baselines import LoadedReferenceAgent, ReferenceAgent
from dogym.agents.fault_alarm.causal_mask import CausalMaskWrapper
from dogym.agents.fault_alarm.checkpoint import (
    MODEL_ATTRIBUTES,
    PeriodicCheckpoint,
    buffer_arrays,
    env_stack_state,
    restore_buffer,
    restore_env_stack,
    restore_rng,
    rng_state,
    save_model,
)
from dogym.agents.fault_alarm.monitor import EpisodeMonitor, episode_summary, read_monitor
from dogym.agents.fault_alarm.online_causal import (
    INFO_VIEWS,
    TRANSITION_VIEWS,
    OnlineGraph,
    StructureLearningCallback,
    att_options,
    graph_history_metrics,
    initial_structure_learner,
)
from dogym.agents.fault_alarm.plots import plot_fig3
from dogym.agents.protocol import NONNEGATIVE, UNIT_INTERVAL, Agent, EpisodicFamily, RunContext
from dogym.agents.registry import keyword_names
from dogym.agents.spec import AgentSpec
from dogym.envs.core import check_allocation

ACTIVATIONS = {"relu": th.nn.ReLU, "tanh": th.nn.Tanh, "elu": th.nn.ELU, "leakyrelu": th.nn.LeakyReLU}
#: Hyper-parameters of causal agents that configure the causal part, not the SB3 algorithm.
CAUSAL_KEYS = ("top_k", "eta", "init", "structure_update_interval", "n_log_events", "random_density", "prune_penalty",
               "att_z", "att_min_effect", "orientation", "transition_view", "thp_decay", "thp_penalty")  # fmt: skip


def algorithm(name: str) -> type[BaseAlgorithm]:
    """The SB3 algorithm class behind an agent spec's `algorithm` option."""
    from sb3_contrib import MaskablePPO
    from stable_baselines3 import DQN, PPO

    from dogym.agents.fault_alarm.masked_dqn import MaskedD3QN, MaskedDQN

    classes = {"MaskablePPO": MaskablePPO, "MaskedDQN": MaskedDQN, "MaskedD3QN": MaskedD3QN, "PPO": PPO, "DQN": DQN}
    return classes[name]


def split_hyperparams(name: str, causal: bool, hyperparams: Mapping[str, Any]) -> tuple[dict, dict]:
    """(SB3 keyword arguments, causal options) from an agent's resolved hyper-parameters, validated."""
    causal_opts = {k: v for k, v in hyperparams.items() if k in CAUSAL_KEYS}
    algo = {k: v for k, v in hyperparams.items() if k not in CAUSAL_KEYS}
    if not causal and causal_opts:
        raise ValueError(f"agent {name!r} is not causal; it takes no causal options {sorted(causal_opts)}")
    if causal:
        missing = sorted(set(CAUSAL_KEYS) - set(causal_opts))
        if missing:
            raise ValueError(f"agent {name!r} needs the causal option(s) {missing}")
        if causal_opts["init"] not in ("thp", "random"):
            raise ValueError(f"causal option init must be 'thp' or 'random', got {causal_opts['init']!r}")
        if causal_opts["transition_view"] not in TRANSITION_VIEWS:
            raise ValueError(f"causal option transition_view must be one of {TRANSITION_VIEWS}, "
                             f"got {causal_opts['transition_view']!r}")  # fmt: skip
        for key, named in (("thp_decay", ("auto", "simulator")), ("thp_penalty", ("auto",))):
            value = causal_opts[key]
            if value not in named and not (isinstance(value, int | float) and value >= 0):
                raise ValueError(f"causal option {key} must be one of {named} or a number >= 0, got {value!r}")
    policy_kwargs = dict(algo.get("policy_kwargs", {}))
    activation = policy_kwargs.get("activation_fn")
    if isinstance(activation, str):
        if activation.lower() not in ACTIVATIONS:
            raise ValueError(f"activation_fn must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
        policy_kwargs["activation_fn"] = ACTIVATIONS[activation.lower()]
    algo["policy_kwargs"] = policy_kwargs
    return algo, causal_opts


def reference_options(context: RunContext) -> dict[str, Any]:
    """The validated causal options of a no-learning baseline (none for baselines without a graph)."""
    algo, causal = split_hyperparams(context.spec.name, context.spec.options["causal"], context.hyperparams)
    extra = sorted(k for k, v in algo.items() if k != "policy_kwargs" or v)
    if extra:
        raise ValueError(f"agent {context.spec.name!r} learns no policy; it takes no hyper-parameter(s) {extra}")
    return causal


class SB3Agent(Agent):
    """One run's SB3 agent on a FaultAlarm env (see the module docstring)."""

    def __init__(self, context: RunContext) -> None:
        self.context = context
        context.run_dir.mkdir(parents=True, exist_ok=True)
        options = context.spec.options
        self.masked, self.causal = bool(options["masked"]), bool(options["causal"])
        self.algo_kwargs, self.causal_options = split_hyperparams(context.spec.name, self.causal, context.hyperparams)
        self.algorithm = algorithm(options["algorithm"])
        self.vec_env = DummyVecEnv([self._env_factory(i) for i in range(context.n_envs)])
        if "buffer_size" in self.algo_kwargs:  # SB3 allocates the replay buffer lazily: refuse what cannot fit
            per_row = 2 * self.vec_env.observation_space.sample().nbytes + 2 * self.vec_env.action_space.n + 32
            check_allocation(self.algo_kwargs["buffer_size"] * per_row,
                             f"{context.spec.name} with buffer_size = {self.algo_kwargs['buffer_size']} (its replay buffer)")  # fmt: skip
        try:
            self.model = self.algorithm("MlpPolicy", self.vec_env, seed=context.seed, **self.algo_kwargs)
        except TypeError as err:
            raise ValueError(f"bad hyper-parameter for {self.algorithm.__name__}: {err}") from err
        self.policy = ModelPolicy(self.model, context.spec.name, self.masked)
        self.structure: StructureLearningCallback | None = None
        if self.causal:
            opts = self.causal_options
            probe = self.vec_env.envs[0]
            learner = initial_structure_learner(
                probe, opts["init"], context.seed, opts["n_log_events"], opts["random_density"], opts["prune_penalty"],
                thp_decay=opts["thp_decay"], thp_penalty=opts["thp_penalty"], **att_options(opts),
            )  # fmt: skip
            online = OnlineGraph(learner, opts["structure_update_interval"], opts["transition_view"])
            self.structure = StructureLearningCallback(online)
        self.model.set_logger(self._logger(None))
        self.seconds = 0.0
        self.resumed = False
        self._next_checkpoint = context.checkpoint_interval

    def _env_factory(self, rank: int) -> Callable[[], gym.Env]:
        context = self.context

        def make() -> gym.Env:
            env = gym.make(context.env_id, **context.env_kwargs)
            if self.causal:
                env = CausalMaskWrapper(env, nx.DiGraph(), self.causal_options["top_k"], self.causal_options["eta"])
            return EpisodeMonitor(env, context.run_dir / f"{rank}.monitor.csv", context.env_id)

        return make

    def _logger(self, resume_step: int | None) -> Logger:
        """CSV (progress.csv) and TensorBoard; on resume the CSV keeps its rows up to the checkpoint."""
        folder = self.context.run_dir
        path = folder / "progress.csv"
        old_rows = []
        if resume_step is not None and path.exists():
            with path.open(encoding="utf-8") as handle:
                old_rows = [
                    r for r in csv.DictReader(handle) if float(r.get("time/total_timesteps") or 0) <= resume_step
                ]
        csv_format = CSVOutputFormat(str(path))
        for row in old_rows:
            csv_format.write(row, {k: None for k in row})
        return Logger(str(folder), [csv_format, TensorBoardOutputFormat(str(folder / "tb"))])

    @property
    def graph(self) -> nx.DiGraph | None:
        """The learned causal graph (causal agents), else None."""
        return None if self.structure is None else self.structure.learner.graph

    # Learning ----------------------------------------------------------------------------------------------
    def learn(self, budget: int, checkpoint: Callable[[], bool] | None = None) -> bool:
        """Train up to `budget` env steps; `checkpoint()` is called at rollout boundaries every
        `checkpoint_interval` steps. Returns False when a checkpoint asked to stop early."""
        self._checkpointer = PeriodicCheckpoint(self.context.checkpoint_interval, self._next_checkpoint, checkpoint)
        callbacks = [self._checkpointer] + ([self.structure] if self.structure is not None else [])
        self._t0 = time.perf_counter()
        remaining = budget - self.model.num_timesteps
        if remaining > 0:
            self.model.learn(
                remaining,
                callback=CallbackList(callbacks),
                reset_num_timesteps=not self.resumed,
                progress_bar=self.context.progress,
            )
        self.seconds += time.perf_counter() - self._t0
        self._next_checkpoint = self._checkpointer.next_at
        return self.model.num_timesteps >= budget

    def evaluation_env(self, env: gym.Env) -> gym.Env:
        """`env` as the agent acts in it at evaluation (see `evaluation_env`)."""
        return evaluation_env(env, self.graph, self.context)

    # Checkpoints -------------------------------------------------------------------------------------------
    def state(self, folder: Path) -> dict[str, Any]:
        """Write the model (SB3 `save`) and the replay buffer's filled part into `folder`; return the rest of the
        run's state: counters, model attributes, structure learner, every env stack, every random generator."""
        self.model.save(folder / "model.zip")
        buffer = getattr(self.model, "replay_buffer", None)
        if buffer is not None:
            np.savez(folder / "replay_buffer.npz", **buffer_arrays(buffer))
        return {
            "num_timesteps": self.model.num_timesteps,
            "next_checkpoint": self._checkpointer.next_at,
            "seconds": self.seconds + time.perf_counter() - self._t0,
            "attributes": {k: getattr(self.model, k) for k in MODEL_ATTRIBUTES if hasattr(self.model, k)},
            "envs": [env_stack_state(env) for env in self.vec_env.envs],
            "structure": None if self.structure is None else self.structure.state(),
            "rng": rng_state(self.model),
        }

    def restore(self, state: Mapping[str, Any], folder: Path) -> None:
        """Continue from a checkpoint written by `state`."""
        model = self.model
        model.set_parameters(str(folder / "model.zip"), exact_match=True)
        buffer = getattr(model, "replay_buffer", None)
        if buffer is not None:
            with np.load(folder / "replay_buffer.npz") as arrays:
                restore_buffer(buffer, dict(arrays))
        model.num_timesteps = state["num_timesteps"]
        for key, value in state["attributes"].items():
            setattr(model, key, value)
        for env, env_state in zip(self.vec_env.envs, state["envs"], strict=True):
            restore_env_stack(env, env_state)
        if self.structure is not None:
            self.structure.restore(state["structure"])
            self.vec_env.env_method("set_graph", self.structure.learner.graph)
        restore_rng(model, state["rng"])
        model.set_logger(self._logger(state["num_timesteps"]))
        self._next_checkpoint = state["next_checkpoint"]
        self.seconds = state["seconds"]
        self.resumed = True

    # Saving ------------------------------------------------------------------------------------------------
    def save(self, folder: Path) -> None:
        """model.zip, and for causal agents graph.json and graph_metrics.csv (the graph after every update)."""
        from dogym.agents.io import atomic_write_json, atomic_write_text, csv_text

        save_model(self.model, folder / "model.zip")
        if self.structure is not None:
            graph = self.structure.learner.graph
            atomic_write_json(folder / "graph.json", {"nodes": list(graph.nodes), "edges": list(graph.edges)})
            atomic_write_text(folder / "graph_metrics.csv", csv_text(self._graph_metrics()))

    def _graph_metrics(self) -> list[dict[str, Any]]:
        """The learned graph after every update scored against the env's true graph (evaluation only)."""
        truth = self.vec_env.envs[0].get_wrapper_attr("ground_truth")()["graph"]
        return graph_history_metrics(self.structure.history, truth) if self.structure is not None else []

    def summary(self) -> dict[str, Any]:
        """Training summary: env steps, throughput, training episodes (means over all and the last 20%), and the
        graph's metrics before and after learning (causal agents)."""
        folder, n_envs = self.context.run_dir, self.context.n_envs
        episodes = [row for i in range(n_envs) for row in read_monitor(folder / f"{i}.monitor.csv")]
        out: dict[str, Any] = {
            "timesteps": int(self.model.num_timesteps),
            "train_seconds": self.seconds,
            "steps_per_second": self.model.num_timesteps / max(self.seconds, 1e-9),
            "train": episode_summary(episodes),
        }
        if self.structure is not None:
            rows = self._graph_metrics()
            out["graph_initial"], out["graph_final"] = rows[0], {k: v for k, v in rows[-1].items() if k != "timesteps"}
        return out


class LoadedAgent:
    """A finished run's final model (and learned graph), for evaluation."""

    def __init__(self, context: RunContext) -> None:
        folder = context.run_dir
        if not (folder / "model.zip").exists():
            raise ValueError(f"{folder} is not a finished training run (no model.zip)")
        self.context = context
        self.masked = bool(context.spec.options["masked"])
        self.model = algorithm(context.spec.options["algorithm"]).load(folder / "model.zip", device="cpu")
        self.policy = ModelPolicy(self.model, context.spec.name, self.masked)
        self.graph = None
        if context.spec.options["causal"]:
            saved = json.loads((folder / "graph.json").read_text(encoding="utf-8"))
            self.graph = nx.DiGraph(saved["edges"])
            self.graph.add_nodes_from(saved["nodes"])

    def evaluation_env(self, env: gym.Env) -> gym.Env:
        """`env` as the agent acts in it at evaluation (see `evaluation_env`)."""
        return evaluation_env(env, self.graph, self.context)


def evaluation_env(env: gym.Env, graph: nx.DiGraph | None, context: RunContext) -> gym.Env:
    """`env` under the causal mask of `graph` with eta = 0 (the final policy's setting), or unchanged without one."""
    if graph is None:
        return env
    top_k = split_hyperparams(context.spec.name, True, context.hyperparams)[1]["top_k"]
    return CausalMaskWrapper(env, graph, top_k, eta=0.0)


class FaultAlarmRLFamily(EpisodicFamily):
    """The family protocol for the FaultAlarm RL agents (see `dogym.agents.protocol.Family`): evaluation episodes of
    the final policy (causal agents and baselines with a graph: under their final graph's mask, eta = 0); trained
    policies act deterministically, baselines from a generator seeded by the evaluation seed."""

    name = "fault_alarm"
    budget_unit = "env steps"
    default_budget = 20_000
    metrics = {
        "eval/reward_mean": True,
        "eval/steps_mean": False,
        "eval/mean_alarms_mean": False,
        "eval/cleared_rate": True,
        "train/reward_mean": True,
        "train/steps_mean": False,
        "train/mean_alarms_mean": False,
        "graph_final/f1": True,
        "graph_final/precision": True,
        "graph_final/recall": True,
        "graph_final/shd": False,
        "graph_final/f1_closure": True,
        "steps_per_second": True,
    }
    headline = ("eval/reward_mean", "eval/steps_mean", "eval/mean_alarms_mean", "graph_final/f1")
    supports = {
        **dict.fromkeys(("eval/cleared_rate", "graph_final/f1", "graph_final/precision", "graph_final/recall",
                         "graph_final/f1_closure"), UNIT_INTERVAL),
        **dict.fromkeys(("eval/steps_mean", "eval/mean_alarms_mean", "train/steps_mean", "train/mean_alarms_mean",
                         "graph_final/shd", "steps_per_second"), NONNEGATIVE),
    }  # fmt: skip

    def info_view(self, context: RunContext) -> frozenset[str]:
        """The info keys the agent reads: the operator's view (with the "simulator" transition view, also the env's
        cleared_mask), plus the keys the family's wrappers and Stable-Baselines3 add."""
        view = context.hyperparams.get("transition_view", "observed") if context.spec.options["causal"] else "observed"
        return INFO_VIEWS[view] | {"active_mask", "episode", "terminal_observation", "TimeLimit.truncated"}

    def hyperparameter_keys(self, spec: AgentSpec) -> frozenset[str]:
        """The causal options (causal agents) and the SB3 algorithm's constructor arguments (learning agents)."""
        causal = frozenset(CAUSAL_KEYS) if spec.options["causal"] else frozenset()
        if spec.options["algorithm"] == "reference":
            return causal
        return causal | keyword_names(algorithm(spec.options["algorithm"]), exclude=("policy", "env", "seed"))

    def build(self, context: RunContext) -> SB3Agent | ReferenceAgent:
        """A fresh agent for the run (a no-learning baseline for "reference" specs)."""
        if context.spec.options["algorithm"] == "reference":
            return ReferenceAgent(context, reference_options(context))
        return SB3Agent(context)

    def load(self, context: RunContext) -> LoadedAgent | LoadedReferenceAgent:
        """A finished run's model (or baseline) and graph."""
        if context.spec.options["algorithm"] == "reference":
            return LoadedReferenceAgent(context, reference_options(context))
        return LoadedAgent(context)

    def evaluation_env(self, agent: Any, context: RunContext) -> gym.Env:
        """The run's env as the final policy acts in it (under its final graph's mask, if any)."""
        return agent.evaluation_env(gym.make(context.env_id, **context.env_kwargs))

    def policy(self, agent: Any) -> Any:
        """The agent's final policy."""
        return agent.policy

    def curves(self, context: RunContext) -> list[dict[str, Any]]:
        """Per training episode: env steps so far, reward, length, alarms per step; per graph update: F1."""
        base = {"agent": context.spec.name, "env": context.env_id, "seed": context.seed}
        rows = []
        for i in range(context.n_envs):  # envs step in lockstep: env steps so far = own steps x n_envs
            steps = 0
            for episode, row in enumerate(read_monitor(context.run_dir / f"{i}.monitor.csv")):
                steps += int(row["l"])
                rows.append({**base, "kind": "episode", "episode": episode, "timesteps": steps * context.n_envs,
                             "reward": row["r"], "steps": row["l"], "alarms": row.get("mean_alarms", "")})  # fmt: skip
        graph_csv = context.run_dir / "graph_metrics.csv"
        if graph_csv.exists():
            with graph_csv.open(encoding="utf-8") as handle:
                for row in csv.DictReader(handle):
                    if row.get("f1"):
                        rows.append(
                            {**base, "kind": "graph", "timesteps": int(row["timesteps"]), "f1": float(row["f1"])}
                        )
        return rows

    def plot(self, rows: list[dict[str, Any]], out_dir: Path, title: str) -> list[Path]:
        """Fig. 3 of Cai et al. (reward, steps, alarms per step, graph F1 over training) as fig3.png."""
        mine = [r for r in rows if r["kind"] in ("episode", "graph")]
        return [plot_fig3(mine, out_dir / "fig3.png", title)] if any(r["kind"] == "episode" for r in mine) else []


FAMILY = FaultAlarmRLFamily()

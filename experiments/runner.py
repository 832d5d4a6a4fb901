"""One training run of a learning agent: set up, learn (with checkpoints and resume), save and evaluate.

A run lives in `<log_folder>/<agent>/<env>_seed<seed>/`:

- `config.yaml`: the run's configuration and the resolved hyper-parameters;
- `<i>.monitor.csv`: one row per training episode (reward, length, time, alarms per step, cleared, exploded);
- `progress.csv` and `tb/` (TensorBoard): SB3's training logs, plus `causal/f1` etc. for causal agents;
- `checkpoints/latest.pkl`: everything needed to continue the run bit-for-bit (written atomically every
  `checkpoint_interval` steps at a rollout boundary);
- `model.zip`, `graph.json` and `graph_metrics.csv` (causal agents), and last `metrics.json` (the run is finished
  when it exists).
"""

from __future__ import annotations

import csv
import io
import json
import pickle
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import networkx as nx
import numpy as np
import torch as th
import yaml
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback, CallbackList
from stable_baselines3.common.logger import CSVOutputFormat, Logger, TensorBoardOutputFormat
from stable_baselines3.common.vec_env import DummyVecEnv

import dogym.envs  # noqa: F401  (registers the envs)
from dogym.agents.evaluation import EvaluationResult, ModelPolicy, evaluate
from dogym.agents.identification.family import ACL_AGENTS, train_identification
from dogym.agents.rl.causal_mask import CausalMaskWrapper
from dogym.agents.rl.family import RL_AGENTS, RLAgentSpec
from dogym.agents.rl.monitor import EpisodeMonitor, read_monitor
from dogym.agents.rl.online_causal import StructureLearningCallback, initial_structure_learner
from dogym.experiments.io import atomic_write_bytes, atomic_write_json, atomic_write_text, csv_text

ACTIVATIONS = {"relu": th.nn.ReLU, "tanh": th.nn.Tanh, "elu": th.nn.ELU, "leakyrelu": th.nn.LeakyReLU}


@dataclass
class RunConfig:
    """What to train: agent, env, seed, budget, overrides; and where to write it."""

    agent: str
    env: str = "dogym/FaultAlarm-v0"
    seed: int = 0
    timesteps: int | None = None  # None: 20000 env steps (RL agents), 30 interventions (identification agents)
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    hyperparams: dict[str, Any] = field(default_factory=dict)
    causal: dict[str, Any] = field(default_factory=dict)
    n_envs: int = 1
    eval_episodes: int = 20
    checkpoint_interval: int = 5_000
    log_folder: str = "runs"

    def __post_init__(self) -> None:
        if self.agent not in RL_AGENTS and self.agent not in ACL_AGENTS:
            known = ", ".join([*RL_AGENTS, *ACL_AGENTS])
            raise ValueError(f"unknown learning agent {self.agent!r}; available: {known}")
        if self.timesteps is None:
            self.timesteps = 30 if self.identification else 20_000
        if self.env not in gym.registry:
            known = sorted(e for e in gym.registry if e.startswith("dogym/"))
            raise ValueError(f"unknown env {self.env!r}; available: {', '.join(known)}")
        for name in ("timesteps", "n_envs", "eval_episodes", "checkpoint_interval"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < (0 if name == "eval_episodes" else 1):
                raise ValueError(f"{name} must be a positive integer, got {getattr(self, name)!r}")
        if self.identification:
            if self.causal:
                raise ValueError(f"agent {self.agent!r} takes no causal options; use --hyperparams for its learner")
        else:
            self.spec.causal_kwargs(self.causal)  # validates the causal options early

    @property
    def identification(self) -> bool:
        """Whether the agent is a GP active causal learner (seed 000) rather than an RL agent."""
        return self.agent in ACL_AGENTS

    @property
    def spec(self) -> RLAgentSpec:
        """The agent's specification."""
        return RL_AGENTS[self.agent]

    @property
    def run_dir(self) -> Path:
        """The run's folder."""
        return Path(self.log_folder) / self.agent / f"{self.env.replace('/', '_')}_seed{self.seed}"

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (YAML/JSON-safe)."""
        return asdict(self)


def _algo_kwargs(spec: RLAgentSpec, overrides: dict[str, Any]) -> dict[str, Any]:
    kwargs = spec.algo_kwargs(overrides)
    policy_kwargs = dict(kwargs.get("policy_kwargs", {}))
    activation = policy_kwargs.get("activation_fn")
    if isinstance(activation, str):
        if activation.lower() not in ACTIVATIONS:
            raise ValueError(f"activation_fn must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
        policy_kwargs["activation_fn"] = ACTIVATIONS[activation.lower()]
    kwargs["policy_kwargs"] = policy_kwargs
    return kwargs


def _plain(value: Any) -> Any:
    """Classes by name, containers recursively: for config files."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, type):
        return value.__name__
    return value


class _Checkpointer(BaseCallback):
    """Snapshots the run at the first rollout boundary after every `interval` steps; optionally stops the run
    after `stop_after` snapshots (to test resuming)."""

    def __init__(self, run: TrainingRun, interval: int, stop_after: int | None = None) -> None:
        super().__init__()
        self.run, self.interval, self.stop_after = run, interval, stop_after
        self.next_at = interval
        self.saved = 0

    def _on_rollout_start(self) -> None:
        if self.num_timesteps >= self.next_at:
            self.next_at = (self.num_timesteps // self.interval + 1) * self.interval
            self.run.save_checkpoint(self.next_at)
            self.saved += 1

    def _on_step(self) -> bool:
        return self.stop_after is None or self.saved < self.stop_after


class TrainingRun:
    """Set-up, learning and saving of one run (rl-zoo style: the three stay apart)."""

    def __init__(self, config: RunConfig, progress: bool = False) -> None:
        self.config = config
        self.progress = progress
        self.spec = config.spec
        self.dir = config.run_dir
        self.causal_options = self.spec.causal_kwargs(config.causal)
        self.algo_kwargs = _algo_kwargs(self.spec, config.hyperparams)
        self.structure: StructureLearningCallback | None = None
        self.resumed = False
        self.seconds = 0.0
        self._next_checkpoint = config.checkpoint_interval

    # Set-up ------------------------------------------------------------------------------------------------
    def setup(self, resume: bool) -> None:
        """Build envs, model, logger and the structure learner; restore the checkpoint when resuming."""
        cfg = self.config
        self.dir.mkdir(parents=True, exist_ok=True)
        checkpoint = self.dir / "checkpoints" / "latest.pkl"
        self.resumed = resume and checkpoint.exists()
        atomic_write_text(
            self.dir / "config.yaml",
            yaml.safe_dump(
                {
                    "run": cfg.to_dict(),
                    "algorithm": self.spec.algo.__name__,
                    "algo_kwargs": _plain(self.algo_kwargs),
                    "causal_options": self.causal_options,
                }
            ),
        )
        self.vec_env = DummyVecEnv([self._env_factory(i) for i in range(cfg.n_envs)])
        try:
            self.model: BaseAlgorithm = self.spec.algo("MlpPolicy", self.vec_env, seed=cfg.seed, **self.algo_kwargs)
        except TypeError as err:
            raise ValueError(f"bad hyper-parameter for {self.spec.algo.__name__}: {err}") from err
        if self.spec.causal:
            opts = self.causal_options
            learner = initial_structure_learner(
                cfg.env,
                cfg.env_kwargs,
                opts["init"],
                cfg.seed,
                opts["n_log_events"],
                opts["random_density"],
                opts["prune_penalty"],
            )
            true_graph = self.vec_env.envs[0].unwrapped.true_graph
            self.structure = StructureLearningCallback(learner, true_graph, opts["structure_update_interval"])
        state = pickle.loads(checkpoint.read_bytes()) if self.resumed else None
        self.model.set_logger(self._logger(state["num_timesteps"] if state else None))
        if state:
            self._restore(state)

    def _env_factory(self, rank: int):
        cfg, opts = self.config, self.causal_options

        def make() -> gym.Env:
            env = gym.make(cfg.env, **cfg.env_kwargs)
            if self.spec.causal:
                env = CausalMaskWrapper(env, nx.DiGraph(), opts["top_k"], opts["eta"])
            return EpisodeMonitor(env, self.dir / f"{rank}.monitor.csv", cfg.env)

        return make

    def _logger(self, resume_step: int | None) -> Logger:
        """CSV (progress.csv) and TensorBoard; on resume the CSV keeps its rows up to the checkpoint."""
        path = self.dir / "progress.csv"
        old_rows = []
        if resume_step is not None and path.exists():
            with path.open(encoding="utf-8") as handle:
                old_rows = [
                    r for r in csv.DictReader(handle) if float(r.get("time/total_timesteps") or 0) <= resume_step
                ]
        csv_format = CSVOutputFormat(str(path))
        for row in old_rows:
            csv_format.write(row, {k: None for k in row})
        return Logger(str(self.dir), [csv_format, TensorBoardOutputFormat(str(self.dir / "tb"))])

    # Checkpoints -------------------------------------------------------------------------------------------
    def save_checkpoint(self, next_at: int) -> None:
        """Atomically write everything that determines the rest of the run."""
        model = self.model
        state = {
            "num_timesteps": model.num_timesteps,
            "next_checkpoint": next_at,
            "seconds": self.seconds + time.perf_counter() - self._t0,
            "attributes": {k: getattr(model, k) for k in self._restored_attributes()},
            "params": model.get_parameters(),
            "replay_buffer": _buffer_state(getattr(model, "replay_buffer", None)),
            "envs": self.vec_env.envs,
            "structure": None
            if self.structure is None
            else {
                "learner": self.structure.learner,
                "history": self.structure.history,
                "next_update": self.structure.next_update,
            },
            "rng": {
                "numpy": np.random.get_state(),
                "python": random.getstate(),
                "torch": th.get_rng_state(),
                "action_space": model.action_space.np_random.bit_generator.state,
            },
        }
        atomic_write_bytes(self.dir / "checkpoints" / "latest.pkl", pickle.dumps(state))

    def _restored_attributes(self) -> list[str]:
        names = ["_last_obs", "_last_episode_starts", "_episode_num", "_n_updates", "ep_info_buffer"]
        names += [
            "ep_success_buffer",
            "_last_original_obs",
            "_n_calls",
            "exploration_rate",
            "_current_progress_remaining",
        ]
        return [n for n in names if hasattr(self.model, n)]

    def _restore(self, state: dict[str, Any]) -> None:
        model = self.model
        self.vec_env.envs = state["envs"]
        for env in self.vec_env.envs:
            env.truncate_log()
        model.set_parameters(state["params"], exact_match=True)
        model.num_timesteps = state["num_timesteps"]
        for key, value in state["attributes"].items():
            setattr(model, key, value)
        _restore_buffer(getattr(model, "replay_buffer", None), state["replay_buffer"])
        if self.structure is not None:
            saved = state["structure"]
            self.structure.learner = saved["learner"]
            self.structure.history = saved["history"]
            self.structure.next_update = saved["next_update"]
        rng = state["rng"]
        np.random.set_state(rng["numpy"])
        random.setstate(rng["python"])
        th.set_rng_state(rng["torch"])
        model.action_space.np_random.bit_generator.state = rng["action_space"]
        self._next_checkpoint = state["next_checkpoint"]
        self.seconds = state["seconds"]

    # Learning ----------------------------------------------------------------------------------------------
    def learn(self, stop_after_checkpoints: int | None = None) -> bool:
        """Train up to the configured budget; returns False when stopped early (after that many checkpoints)."""
        cfg = self.config
        checkpointer = _Checkpointer(self, cfg.checkpoint_interval, stop_after_checkpoints)
        checkpointer.next_at = self._next_checkpoint
        callbacks = [checkpointer] + ([self.structure] if self.structure is not None else [])
        self._t0 = time.perf_counter()
        remaining = cfg.timesteps - self.model.num_timesteps
        if remaining > 0:
            self.model.learn(
                remaining,
                callback=CallbackList(callbacks),
                reset_num_timesteps=not self.resumed,
                progress_bar=self.progress,
            )
        self.seconds += time.perf_counter() - self._t0
        return self.model.num_timesteps >= cfg.timesteps

    # Saving ------------------------------------------------------------------------------------------------
    def save(self) -> dict[str, Any]:
        """Final model, learned graph, evaluation and metrics.json (written last: it marks the run finished)."""
        cfg = self.config
        buffer = io.BytesIO()
        self.model.save(buffer)
        atomic_write_bytes(self.dir / "model.zip", buffer.getvalue())
        graph = None
        metrics: dict[str, Any] = {
            "agent": cfg.agent,
            "env": cfg.env,
            "seed": cfg.seed,
            "timesteps": int(self.model.num_timesteps),
            "train_seconds": self.seconds,
            "steps_per_second": self.model.num_timesteps / max(self.seconds, 1e-9),
            "config": cfg.to_dict(),
        }
        if self.structure is not None:
            graph = self.structure.learner.graph
            history = self.structure.history
            atomic_write_json(self.dir / "graph.json", {"nodes": list(graph.nodes), "edges": list(graph.edges)})
            atomic_write_text(self.dir / "graph_metrics.csv", csv_text(history))
            metrics["graph_initial"] = history[0]
            metrics["graph_final"] = self.structure.learner.metrics(self.structure.true_graph).as_dict()
        episodes = [row for i in range(cfg.n_envs) for row in read_monitor(self.dir / f"{i}.monitor.csv")]
        metrics["train"] = _episode_summary(episodes)
        if cfg.eval_episodes:
            metrics["eval"] = self.evaluate(graph, cfg.eval_episodes)
        atomic_write_json(self.dir / "metrics.json", metrics)
        return metrics

    def evaluate(self, graph: nx.DiGraph | None, episodes: int) -> dict[str, Any]:
        """Deterministic episodes of the final policy (causal agents: their final graph, eta = 0)."""
        seed = 10_000 * (self.config.seed + 1)
        return evaluate_model(self.config, self.model, graph, episodes, seed).summary()


def evaluate_model(
    config: RunConfig, model: BaseAlgorithm, graph: nx.DiGraph | None, episodes: int, seed: int, progress: bool = False
) -> EvaluationResult:
    """Deterministic episodes of a trained model on its run's env (causal agents: under `graph`'s mask, eta = 0)."""
    env = gym.make(config.env, **config.env_kwargs)
    if graph is not None:
        env = CausalMaskWrapper(env, graph, config.spec.causal_kwargs(config.causal)["top_k"], eta=0.0)
    policy = ModelPolicy(model, config.agent, masked=config.spec.masked)
    result = evaluate(env, policy, episodes, seed=seed, env_id=config.env, progress=progress)
    env.close()
    return result


def evaluate_run(run_dir: str | Path, episodes: int, seed: int, progress: bool = False) -> EvaluationResult:
    """Evaluate a finished run folder's final model (and learned graph) for `episodes` episodes from `seed`."""
    folder = Path(run_dir)
    if not (folder / "model.zip").exists() or not (folder / "config.yaml").exists():
        raise ValueError(f"{folder} is not a finished training run (needs config.yaml and model.zip)")
    config = RunConfig(**yaml.safe_load((folder / "config.yaml").read_text(encoding="utf-8"))["run"])
    model = config.spec.algo.load(folder / "model.zip", device="cpu")
    graph = None
    if config.spec.causal:
        saved = json.loads((folder / "graph.json").read_text(encoding="utf-8"))
        graph = nx.DiGraph(saved["edges"])
        graph.add_nodes_from(saved["nodes"])
    return evaluate_model(config, model, graph, episodes, seed, progress)


def _buffer_state(buffer: Any) -> dict[str, Any] | None:
    """The filled part of a replay buffer's arrays, its position and fullness."""
    if buffer is None:
        return None
    n = buffer.buffer_size if buffer.full else buffer.pos
    arrays = {
        k: v[:n].copy() for k, v in vars(buffer).items() if isinstance(v, np.ndarray) and len(v) == buffer.buffer_size
    }
    return {"pos": buffer.pos, "full": buffer.full, "arrays": arrays}


def _restore_buffer(buffer: Any, state: dict[str, Any] | None) -> None:
    if buffer is None or state is None:
        return
    for key, value in state["arrays"].items():
        getattr(buffer, key)[: len(value)] = value
    buffer.pos, buffer.full = state["pos"], state["full"]


def _episode_summary(rows: list[dict[str, float]]) -> dict[str, float]:
    """Means over all training episodes and over the last 20% of them."""
    if not rows:
        return {"episodes": 0}
    out: dict[str, float] = {"episodes": len(rows)}
    tail = rows[-max(1, len(rows) // 5) :]
    for key, name in (("r", "reward"), ("l", "steps"), ("alarms", "alarms"), ("cleared", "cleared")):
        out[f"{name}_mean"] = float(np.mean([r[key] for r in rows]))
        out[f"{name}_last20"] = float(np.mean([r[key] for r in tail]))
    return out


def claim_run_folder(config: RunConfig) -> None:
    """Record the run's configuration in its folder (`run.json`), or check that the folder holds this same run.

    Raises ValueError when the folder belongs to a run with other settings (e.g. another budget), so a finished or
    half-finished run is never mistaken for, or continued as, a different one.
    """
    marker = config.run_dir / "run.json"
    mine = {k: v for k, v in json.loads(json.dumps(config.to_dict())).items() if k != "log_folder"}
    if marker.exists():
        stored = {k: v for k, v in json.loads(marker.read_text(encoding="utf-8")).items() if k != "log_folder"}
        if stored != mine:
            differ = sorted(k for k in set(stored) | set(mine) if stored.get(k) != mine.get(k))
            raise ValueError(
                f"{config.run_dir} holds a run with other settings ({', '.join(differ)}); "
                "choose another --log-folder / --out"
            )
    else:
        atomic_write_json(marker, config.to_dict())


def is_finished(config: RunConfig) -> bool:
    """Whether the run's metrics.json exists (written last); raises if the folder holds a different run."""
    if not (config.run_dir / "metrics.json").exists():
        return False
    claim_run_folder(config)
    return True


def load_metrics(config: RunConfig) -> dict[str, Any]:
    """A finished run's metrics."""
    return json.loads((config.run_dir / "metrics.json").read_text(encoding="utf-8"))


def train(config: RunConfig, resume: bool = False, progress: bool = False) -> dict[str, Any]:
    """Train (or, with `resume`, continue) one run to its budget, save it, and return its metrics.

    Without `resume`, an existing run folder is an error (so nothing is overwritten by accident).
    """
    if not resume and config.run_dir.exists() and any(config.run_dir.iterdir()):
        raise FileExistsError(f"run folder {config.run_dir} exists; pass resume=True (--resume) to continue it")
    if resume and is_finished(config):
        return load_metrics(config)
    claim_run_folder(config)
    if config.identification:
        return train_identification(
            config.agent, config.env, config.seed, config.timesteps, config.hyperparams, config.run_dir
        )
    run = TrainingRun(config, progress)
    run.setup(resume)
    run.learn()
    return run.save()

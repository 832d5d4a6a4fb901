"""The safe-RL family: PPO-Lagrangian and CPO on the safe-region envs, the RL baselines of Hammar, Alpcan and Lupu,
"Causal Online Learning of Safe Regions in Cloud Radio Access Networks" (section VII, Table II, Fig. 7).

A run trains the algorithm for the run's budget of env steps (one step = one intervention held over its window) on
`ControlView` (Box action over U', reward -sum of normalised controls, cost = `info["cost"]`, the clock features
`time_features`), with episodes of `episode_length` interventions, the run's `n_envs` env copies stepped in lockstep
(budget = steps over all copies; `n_steps` is the env steps per update over all copies, OmniSafe's steps_per_epoch,
so each copy steps n_steps / n_envs per rollout), and observation normalisation (SB3's VecNormalize; OmniSafe's
obs_normalize). `cost_limit` is per episode, as OmniSafe's; the YAMLs scale OmniSafe's 25 per 1000-step episode to
25 * episode_length / 1000 (`scaled_cost_limit`).

Metrics comparable with COL's:
- `safe_rl/unsafe_interventions`: the sum of `info["cost"]` over every training step, i.e. the number of training
  interventions whose window violated the specification (COL's `col/unsafe_interventions` counts the same event);
- `region/region_size`, the region "inferred from the control policy" (the paper's wording): the final policy acts
  deterministically for the evaluation episodes; the controls it applies are binned on a grid of `region_grid` cells
  per axis of U' (default 10); the inferred region is the union of the visited cells, and its size is their number
  over region_grid^|U'| (one cell: 0.01 in 2-D, the paper's 0.01 +- 0.01);
- the experience region (`experience.npz`): every training step's outcome counted per episode step and per cell of
  a grid of `experience_grid` cells per axis of U' (default 20), a snapshot after every update; which cells the run's
  own experience certifies safe (`dogym.agents.safe_region.safe_rl.experience`, which scores it) is the region the
  RL's data supports; the first `experience_log` steps (default 200 000) are also logged one by one (episode step,
  cell, outcome), so the region can be read at any step there, not only after each update;
- `truth/*`: the inferred region against the env's true region at the last evaluation step (ground truth, evaluation
  only), on COL's evaluation points (101^2 grid midpoints in 2-D, 501 in 1-D, 2048 Sobol points otherwise) with
  COL's `region_scores`: true region size, precision, recall, and whether the inferred region lies inside the truth.
Checkpoints (every `checkpoint_interval` env steps, at the next rollout boundary) hold SB3's `save` of the model (the
policy and every optimiser) and the rest of the run's state: counters and model attributes, the cost bookkeeping, the
Lagrange multiplier, the observation statistics, every env stack and every random generator; a resumed run continues
exactly as the uninterrupted one.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch as th
from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

from dogym.agents.fault_alarm.checkpoint import (
    MODEL_ATTRIBUTES,
    PeriodicCheckpoint,
    env_stack_state,
    restore_env_stack,
    restore_rng,
    rng_state,
    save_model,
)
from dogym.agents.io import read_json_checked
from dogym.agents.protocol import EVAL_PHASE, NONNEGATIVE, UNIT_INTERVAL, Agent, EpisodicFamily, RunContext
from dogym.agents.registry import keyword_names
from dogym.agents.safe_region.safe_rl.cpo import CPO
from dogym.agents.safe_region.safe_rl.ppo_lagrangian import PPOLagrangian
from dogym.agents.safe_region.safe_rl.view import TIME_FEATURES, ControlView
from dogym.agents.spec import AgentSpec

ALGORITHMS = {"ppo-lagrangian": PPOLagrangian, "cpo": CPO}
#: Hyper-parameters of the run (not of the algorithm), with their defaults.
RUN_KEYS = {"episode_length": 100, "reward": "resources", "obs_normalize": True, "region_grid": 10,
            "time_features": "none", "experience_grid": 20, "experience_log": 200_000}  # fmt: skip
#: OmniSafe's default cost limit: 25 per episode of 1000 steps.
OMNISAFE_COST_LIMIT, OMNISAFE_EPISODE = 25.0, 1000
ACTIVATIONS = ("Tanh", "ReLU", "ELU", "LeakyReLU")
#: The cost bookkeeping of `SafeOnPolicyMixin` that a checkpoint keeps beside `MODEL_ATTRIBUTES`.
COST_ATTRIBUTES = ("unsafe_steps", "episode_costs", "episode_lengths", "history", "_running_cost", "_running_length",
                   "_rollout_costs", "_episode_cost", "experience", "experience_history", "experience_log",
                   "experience_logged")  # fmt: skip
#: The running statistics of SB3's VecNormalize that a checkpoint keeps.
NORMALIZER_ATTRIBUTES = ("obs_rms", "ret_rms", "returns", "old_obs", "old_reward")
#: COL's evaluation points per dimension count (`dogym.agents.safe_region.col`).
EVALUATION_POINTS = {1: 501, 2: 101}


def scaled_cost_limit(episode_length: int) -> float:
    """OmniSafe's cost limit (25 per 1000-step episode) for episodes of `episode_length` steps: 25 * length / 1000
    (2.5 for dogym's 100-intervention episodes: at most 2.5% unsafe steps)."""
    return OMNISAFE_COST_LIMIT * episode_length / OMNISAFE_EPISODE


def split_options(name: str, hyperparams: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(run options with defaults, algorithm keyword arguments) from an agent's resolved hyper-parameters,
    validated (ValueError with the offending key otherwise)."""
    run = {k: hyperparams.get(k, v) for k, v in RUN_KEYS.items()}
    algo = {k: v for k, v in hyperparams.items() if k not in RUN_KEYS}
    for key, low in (("episode_length", 1), ("region_grid", 1), ("experience_grid", 1), ("experience_log", 0)):
        value = run[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"agent {name!r}: {key} must be an integer >= {low}, got {value!r}")
    if run["time_features"] not in TIME_FEATURES:
        raise ValueError(f"agent {name!r}: time_features must be one of {tuple(TIME_FEATURES)}, "
                         f"got {run['time_features']!r}")  # fmt: skip
    if not isinstance(run["obs_normalize"], bool):
        raise ValueError(f"agent {name!r}: obs_normalize must be true or false, got {run['obs_normalize']!r}")
    policy_kwargs = dict(algo.get("policy_kwargs") or {})
    activation = policy_kwargs.get("activation_fn")
    if isinstance(activation, str):
        match = [a for a in ACTIVATIONS if a.lower() == activation.lower()]
        if not match:
            raise ValueError(f"agent {name!r}: activation_fn must be one of {ACTIVATIONS}, got {activation!r}")
        policy_kwargs["activation_fn"] = getattr(th.nn, match[0])
    if policy_kwargs:
        algo["policy_kwargs"] = policy_kwargs
    return run, algo


class SafeRLAgent(Agent):
    """One run's PPO-Lagrangian or CPO learner (see the module docstring)."""

    def __init__(self, context: RunContext) -> None:
        self.context = context
        name = context.spec.options["algorithm"]
        self.options, algo_kwargs = split_options(context.spec.name, context.hyperparams)
        steps = algo_kwargs.get("n_steps", 20_000)
        if isinstance(steps, int) and not isinstance(steps, bool) and steps % context.n_envs:
            raise ValueError(f"{context.spec.name}: n_steps ({steps}, env steps per update over all env copies) must "
                             f"be a multiple of n_envs ({context.n_envs})")  # fmt: skip
        if isinstance(steps, int) and not isinstance(steps, bool):
            algo_kwargs["n_steps"] = steps // context.n_envs
        self.vec_env = DummyVecEnv([self._make_env] * context.n_envs)
        if self.options["obs_normalize"]:
            self.vec_env = VecNormalize(self.vec_env, norm_obs=True, norm_reward=False)
        try:
            self.model = ALGORITHMS[name](env=self.vec_env, seed=context.seed, **algo_kwargs)
        except TypeError as err:
            raise ValueError(f"bad hyper-parameter for {context.spec.name}: {err}") from err
        cells = self.options["experience_grid"] ** len(self.view.targets)
        self.model.experience = np.zeros((self.options["episode_length"], cells, 2), dtype=np.int32)
        self.model.experience_log = np.zeros((self.options["experience_log"], 3), dtype=np.int32)
        self.seconds = 0.0
        self.resumed = False
        self._next_checkpoint = context.checkpoint_interval

    def _make_env(self) -> ControlView:
        kwargs = {"horizon": self.options["episode_length"], **self.context.env_kwargs}
        return ControlView(gym.make(self.context.env_id, **kwargs), self.options["reward"], self.options["time_features"],
                           self.options["experience_grid"])  # fmt: skip

    @property
    def view(self) -> ControlView:
        """The training env's view (its action mapping and control box)."""
        return self._envs[0]

    def learn(self, budget: int, checkpoint: Callable[[], bool] | None = None) -> bool:
        """Train up to `budget` env steps; `checkpoint()` is called at rollout boundaries every `checkpoint_interval`
        steps. Returns False when a checkpoint asked to stop early."""
        self._checkpointer = PeriodicCheckpoint(self.context.checkpoint_interval, self._next_checkpoint, checkpoint)
        self._t0 = time.perf_counter()
        remaining = budget - self.model.num_timesteps
        if remaining > 0:
            self.model.learn(remaining, callback=self._checkpointer, progress_bar=self.context.progress,
                             reset_num_timesteps=self.model.num_timesteps == 0 and not self.resumed)  # fmt: skip
        self.seconds += time.perf_counter() - self._t0
        self._next_checkpoint = self._checkpointer.next_at
        return self.model.num_timesteps >= budget

    def policy_action(self, observation: np.ndarray) -> np.ndarray:
        """The final policy's deterministic action in [-1, 1]^|U'| for a `ControlView` observation."""
        obs = np.asarray(observation, dtype=np.float32)
        if isinstance(self.vec_env, VecNormalize):
            obs = self.vec_env.normalize_obs(obs)
        action, _ = self.model.predict(obs, deterministic=True)
        return np.asarray(action, dtype=np.float64)

    @property
    def _envs(self) -> list[gym.Env]:
        return (self.vec_env.venv if isinstance(self.vec_env, VecNormalize) else self.vec_env).envs

    def state(self, folder: Path) -> dict[str, Any]:
        """Write the model (SB3 `save`: the policy and every optimiser) into `folder`; return the rest of the run's
        state (see the module docstring)."""
        model = self.model
        model.save(folder / "model.zip")
        lagrange = getattr(model, "lagrange", None)
        return copy.deepcopy({
            "num_timesteps": model.num_timesteps,
            "next_checkpoint": self._checkpointer.next_at,
            "seconds": self.seconds + time.perf_counter() - self._t0,
            "attributes": {k: getattr(model, k) for k in MODEL_ATTRIBUTES + COST_ATTRIBUTES if hasattr(model, k)},
            "lagrange": None if lagrange is None else {"parameter": lagrange.parameter.detach(),
                                                       "optimizer": lagrange.optimizer.state_dict()},
            "normalizer": {k: getattr(self.vec_env, k) for k in NORMALIZER_ATTRIBUTES if hasattr(self.vec_env, k)},
            "envs": [env_stack_state(env) for env in self._envs],
            "rng": rng_state(model),
        })  # fmt: skip

    def restore(self, state: Mapping[str, Any], folder: Path) -> None:
        """Continue from a checkpoint written by `state`."""
        model = self.model
        model.set_parameters(str(folder / "model.zip"), exact_match=True)
        model.num_timesteps = state["num_timesteps"]
        for key, value in state["attributes"].items():
            setattr(model, key, value)
        if state["lagrange"] is not None:
            with th.no_grad():
                model.lagrange.parameter.copy_(state["lagrange"]["parameter"])
            model.lagrange.optimizer.load_state_dict(state["lagrange"]["optimizer"])
        for key, value in state["normalizer"].items():
            setattr(self.vec_env, key, value)
        for env, env_state in zip(self._envs, state["envs"], strict=True):
            restore_env_stack(env, env_state)
        restore_rng(model, state["rng"])
        self._next_checkpoint = state["next_checkpoint"]
        self.seconds = state["seconds"]
        self.resumed = True

    def save(self, folder: Path) -> None:
        """model.zip, obs_normalization.npz (running mean, var and count) and training.csv (one row per update)."""
        import io

        from dogym.agents.io import atomic_write_bytes, atomic_write_text, csv_text

        save_model(self.model, folder / "model.zip")
        if isinstance(self.vec_env, VecNormalize):
            rms = self.vec_env.obs_rms
            stats = io.BytesIO()
            np.savez(stats, mean=rms.mean, var=rms.var, count=np.array(rms.count))
            atomic_write_bytes(folder / "obs_normalization.npz", stats.getvalue())
        if self.model.history:
            atomic_write_text(folder / "training.csv", csv_text(self.model.history))
        if self.model.experience_history:
            counts = io.BytesIO()
            np.savez_compressed(counts, counts=np.stack(self.model.experience_history),
                                timesteps=np.array([row["timesteps"] for row in self.model.history], dtype=np.int64),
                                unsafe=np.array([row["unsafe"] for row in self.model.history]),
                                grid=np.array(self.options["experience_grid"]),
                                log=self.model.experience_log[: self.model.experience_logged])  # fmt: skip
            atomic_write_bytes(folder / "experience.npz", counts.getvalue())

    def load_saved(self, folder: Path) -> None:
        """Load what `save` wrote."""
        self.model.set_parameters(str(folder / "model.zip"), exact_match=True)
        if isinstance(self.vec_env, VecNormalize):
            with np.load(folder / "obs_normalization.npz") as stats:
                rms = self.vec_env.obs_rms
                rms.mean, rms.var, rms.count = stats["mean"], stats["var"], float(stats["count"])
        self.vec_env.training = False

    def summary(self) -> dict[str, Any]:
        """Env steps, time, unsafe interventions over training, episodes, last J_C and multiplier; per update."""
        model = self.model
        lagrange = getattr(model, "lagrange", None)
        last = model.history[-1] if model.history else {}
        return {
            "timesteps": int(model.num_timesteps),
            "train_seconds": self.seconds,
            "safe_rl": {
                "unsafe_interventions": float(model.unsafe_steps),
                "unsafe_fraction": float(model.unsafe_steps) / max(1, model.num_timesteps),
                "episodes": len(model.episode_costs),
                "episode_cost_last": last.get("episode_cost"),
                "updates": len(model.history),
                "lagrange_multiplier": None if lagrange is None else lagrange.value,
            },
            "history": model.history,
        }


def infer_region(visited: np.ndarray, points: np.ndarray, grid: int) -> tuple[np.ndarray, float]:
    """The region inferred from a policy: which of `points` (unit-box coordinates [m, d]) fall in a grid cell the
    policy visited (`visited`: its controls in unit-box coordinates [n, d]), and the visited cells' share of the
    grid^d cells."""

    def cells(x: np.ndarray) -> np.ndarray:
        return np.clip(np.floor(np.asarray(x) * grid), 0, grid - 1).astype(np.int64)

    visited_cells = {tuple(c) for c in cells(visited)}
    inside = np.array([tuple(c) in visited_cells for c in cells(points)], dtype=bool)
    return inside, len(visited_cells) / float(grid) ** visited.shape[1]


class SafeRLFamily(EpisodicFamily):
    """The family protocol for PPO-Lagrangian and CPO (see `dogym.agents.protocol.Family`); its evaluation episodes run
    on the agent's control view, so it plays them itself."""

    name = "safe_rl"
    budget_unit = "env steps"
    default_budget = 200_000
    metrics = {
        "safe_rl/unsafe_interventions": False,
        "region/region_size": True,
        "truth/true_region_size": True,
        "truth/precision": True,
        "truth/recall": True,
        "truth/inside": True,
        "eval/episode_cost_mean": False,
        "eval/reward_mean": True,
        "safe_rl/lagrange_multiplier": False,
    }
    headline = ("safe_rl/unsafe_interventions", "region/region_size", "truth/true_region_size", "truth/precision",
                "truth/recall", "truth/inside", "eval/episode_cost_mean")  # fmt: skip
    supports = {
        **dict.fromkeys(("truth/precision", "truth/recall", "truth/inside"), UNIT_INTERVAL),
        **dict.fromkeys(("safe_rl/unsafe_interventions", "region/region_size", "truth/true_region_size",
                         "eval/episode_cost_mean", "safe_rl/lagrange_multiplier"), NONNEGATIVE),
    }  # fmt: skip

    def info_view(self, context: RunContext) -> frozenset[str]:
        """The info keys the agents read: the step's cost and clock, the keys the control view adds (controls, cell)
        and those Stable-Baselines3 adds."""
        return frozenset({"cost", "t", "controls", "cell", "episode", "terminal_observation", "TimeLimit.truncated"})

    def hyperparameter_keys(self, spec: AgentSpec) -> frozenset[str]:
        """The run's options (`RUN_KEYS`) and the algorithm's constructor arguments, less those it fixes."""
        algorithm = ALGORITHMS[spec.options["algorithm"]]
        return frozenset(RUN_KEYS) | keyword_names(algorithm, ("policy", "env", "seed", *algorithm.FIXED_KEYWORDS))

    def build(self, context: RunContext) -> SafeRLAgent:
        """A fresh learner for the run."""
        return SafeRLAgent(context)

    def load(self, context: RunContext) -> SafeRLAgent:
        """The run's final policy (model.zip and the observation statistics of its folder)."""
        agent = SafeRLAgent(context)
        agent.load_saved(context.run_dir)
        return agent

    def evaluate(self, agent: SafeRLAgent, context: RunContext, episodes: int, seed: int) -> dict[str, Any]:
        """`episodes` episodes of the deterministic final policy; the region inferred from its controls against the
        env's true region at the last evaluation step (ground truth, evaluation only)."""
        from dogym.agents.safe_region.family import region_scores
        from dogym.causal.acquisition import box_points

        if episodes < 1:
            return {}
        env = agent._make_env()
        rewards, costs, lengths, controls = [], [], [], []
        for episode in range(episodes):
            obs, _ = env.reset(seed=seed + episode)
            done, total_r, total_c = False, 0.0, 0.0
            while not done:
                obs, reward, terminated, truncated, info = env.step(agent.policy_action(obs))
                total_r, total_c = total_r + reward, total_c + info["cost"]
                controls.append(info["controls"])
                done = terminated or truncated
            rewards.append(total_r)
            costs.append(total_c)
            lengths.append(len(controls) - sum(lengths))
        base = env.unwrapped
        points = box_points(env.low, env.high, EVALUATION_POINTS.get(len(env.low), 2048))
        estimate, size = infer_region(env.unit(np.array(controls)), env.unit(points), agent.options["region_grid"])
        region = base.ground_truth(t=base.t)["region"]
        truth = region.contains(points)
        env.close()
        steps = len(controls)
        return {
            EVAL_PHASE: {"policy": context.spec.name, "env": context.env_id, "seed": seed, "episodes": episodes,
                     "reward_mean": float(np.mean(rewards)), "reward_std": float(np.std(rewards)),
                     "steps_mean": float(np.mean(lengths)), "steps_std": float(np.std(lengths)), "episode_cost_mean": float(np.mean(costs)),
                     "episode_cost_std": float(np.std(costs)), "cost_rate": float(np.sum(costs)) / steps},
            "region": {"region_size": size, "estimate_points": int(estimate.sum())},
            "truth": {"true_region_size": region.size(), **region_scores(estimate, truth)},
        }  # fmt: skip

    def curves(self, context: RunContext) -> list[dict[str, Any]]:
        """Per update: env steps, unsafe interventions so far, and the rollout's mean episode cost."""
        metrics = read_json_checked(context.run_dir / "metrics.json")
        base = {"agent": context.spec.name, "env": context.env_id, "seed": context.seed, "kind": "safe_rl"}
        return [{**base, "timesteps": row["timesteps"], "unsafe": row["unsafe"], "episode_cost": row["episode_cost"]}
                for row in metrics.get("history", [])]  # fmt: skip

    def plot(self, rows: list[dict[str, Any]], out_dir: Path, title: str) -> list[Path]:
        """Episode cost against unsafe interventions during training (Fig. 7's x axis) as safe_rl_cost.png."""
        mine = [r for r in rows if r["kind"] == "safe_rl"]
        if not mine:
            return []
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(5, 3.5))
        for agent in sorted({r["agent"] for r in mine}):
            for seed in sorted({r["seed"] for r in mine if r["agent"] == agent}):
                run = [r for r in mine if r["agent"] == agent and r["seed"] == seed]
                ax.plot([r["unsafe"] for r in run], [r["episode_cost"] for r in run], label=f"{agent} s{seed}")
        ax.set_xlabel("unsafe interventions (training)")
        ax.set_ylabel("episode cost")
        ax.set_title(title)
        ax.legend(fontsize=6)
        path = out_dir / "safe_rl_cost.png"
        out_dir.mkdir(parents=True, exist_ok=True)
        fig.tight_layout()
        fig.savefig(path, dpi=120)
        plt.close(fig)
        return [path]


FAMILY = SafeRLFamily()

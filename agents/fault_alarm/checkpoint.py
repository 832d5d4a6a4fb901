"""Explicit checkpoint state for SB3 runs: when to checkpoint (`PeriodicCheckpoint`), the model attributes SB3's
`set_parameters` leaves out, the filled part of a replay buffer, an env stack layer by layer, and the global random
generators. Nothing here pickles an env or a model object."""

from __future__ import annotations

import copy
import io
import random
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch as th
from stable_baselines3.common.callbacks import BaseCallback

#: Types of the plain attributes kept for Gymnasium's own wrappers (TimeLimit's step count, OrderEnforcing's reset
#: flag, the passive checker's flags).
_PLAIN = (bool, int, float, type(None))
#: Model attributes that SB3's `set_parameters` does not restore but that determine the rest of a run.
MODEL_ATTRIBUTES = (
    "_last_obs",
    "_last_episode_starts",
    "_episode_num",
    "_n_updates",
    "ep_info_buffer",
    "ep_success_buffer",
    "_last_original_obs",
    "_n_calls",
    "exploration_rate",
    "_current_progress_remaining",
)


class PeriodicCheckpoint(BaseCallback):
    """Calls `checkpoint()` at the first rollout boundary once the run has reached `next_at` env steps, after moving
    `next_at` on to the next multiple of `interval` (so the checkpoint records when the following one is due); stops
    learning when `checkpoint()` returns False."""

    def __init__(self, interval: int, next_at: int, checkpoint: Callable[[], bool] | None) -> None:
        super().__init__()
        self.interval, self.next_at, self.checkpoint = interval, next_at, checkpoint
        self.stop = False

    def _on_rollout_start(self) -> None:
        if self.checkpoint is not None and self.num_timesteps >= self.next_at:
            self.next_at = (self.num_timesteps // self.interval + 1) * self.interval
            self.stop = not self.checkpoint()

    def _on_step(self) -> bool:
        return not self.stop


def buffer_arrays(buffer: Any) -> dict[str, np.ndarray]:
    """The filled part of every per-slot array of an SB3 replay buffer, with its position and fullness.

    SB3's own `save_replay_buffer` pickles the whole preallocated buffer (1e5 slots of 1800 observations: gigabytes
    for FaultAlarm); only the filled rows determine the rest of a run."""
    n = buffer.buffer_size if buffer.full else buffer.pos
    arrays = {
        f"slot_{k}": v[:n]
        for k, v in vars(buffer).items()
        if isinstance(v, np.ndarray) and len(v) == buffer.buffer_size
    }
    return {**arrays, "meta_pos": np.array(buffer.pos), "meta_full": np.array(buffer.full)}


def restore_buffer(buffer: Any, arrays: Mapping[str, np.ndarray]) -> None:
    """Write `buffer_arrays` output back into a freshly built buffer of the same size."""
    for key, value in arrays.items():
        if key.startswith("slot_"):
            getattr(buffer, key.removeprefix("slot_"))[: len(value)] = value
    buffer.pos, buffer.full = int(arrays["meta_pos"]), bool(arrays["meta_full"])


def _layers(env: gym.Env) -> list[gym.Env]:
    layers = [env]
    while isinstance(layers[-1], gym.Wrapper):
        layers.append(layers[-1].env)
    return layers


def env_stack_state(env: gym.Env) -> list[dict[str, Any]]:
    """One entry per layer, outermost first: dogym wrappers' `state()`, Gymnasium wrappers' plain attributes, and
    the base env's `get_state()`."""
    out = []
    for layer in _layers(env):
        if not isinstance(layer, gym.Wrapper):
            out.append({"env": layer.get_state()})
        elif hasattr(layer, "state") and callable(layer.state):
            out.append({"wrapper": layer.state()})
        else:
            out.append({"plain": {k: v for k, v in vars(layer).items() if isinstance(v, _PLAIN)}})
    return copy.deepcopy(out)


def restore_env_stack(env: gym.Env, state: list[dict[str, Any]]) -> None:
    """Put every layer of `env` (built like the checkpointed one) back into its checkpointed state."""
    layers = _layers(env)
    if len(layers) != len(state):
        raise ValueError(f"checkpoint holds {len(state)} env layers, the rebuilt env has {len(layers)}")
    for layer, saved in zip(layers, copy.deepcopy(state), strict=True):
        if "env" in saved:
            layer.set_state(saved["env"])
        elif "wrapper" in saved:
            layer.restore(saved["wrapper"])
        else:
            vars(layer).update(saved["plain"])


def rng_state(model: Any) -> dict[str, Any]:
    """The global numpy, Python and torch random states and that of the SB3 `model`'s action space."""
    return {"numpy": np.random.get_state(), "python": random.getstate(), "torch": th.get_rng_state(),
            "action_space": model.action_space.np_random.bit_generator.state}  # fmt: skip


def restore_rng(model: Any, state: Mapping[str, Any]) -> None:
    """Restore `rng_state(model)` output."""
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    th.set_rng_state(state["torch"])
    model.action_space.np_random.bit_generator.state = state["action_space"]


def save_model(model: Any, path: Path) -> None:
    """SB3's `save` of `model`, written atomically to `path`."""
    from dogym.agents.io import atomic_write_bytes

    buffer = io.BytesIO()
    model.save(buffer)
    atomic_write_bytes(path, buffer.getvalue())

"""Explicit checkpoint state for SB3 runs: the filled part of a replay buffer, an env stack layer by layer, and the
global random generators. Nothing here pickles an env or a model object."""

from __future__ import annotations

import copy
import random
from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np
import torch as th

#: Types of the plain attributes kept for Gymnasium's own wrappers (TimeLimit's step count, OrderEnforcing's reset
#: flag, the passive checker's flags).
_PLAIN = (bool, int, float, type(None))


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


def rng_state() -> dict[str, Any]:
    """The global numpy, Python and torch random states."""
    return {"numpy": np.random.get_state(), "python": random.getstate(), "torch": th.get_rng_state()}


def restore_rng(state: Mapping[str, Any]) -> None:
    """Restore `rng_state()` output."""
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    th.set_rng_state(state["torch"])

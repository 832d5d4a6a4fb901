"""Every registered env renders rgb_array frames: deterministic, drawn without the env's random generator, refused
modes rejected at construction; intervention and DCGO frames show the intervention."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import dogym.envs
from dogym.envs.core import EnvConfigError

IDS = sorted(dogym.envs.ENV_SPECS)


def _rng_state(env: gym.Env) -> dict:
    return env.unwrapped.np_random.bit_generator.state


@pytest.mark.parametrize("env_id", IDS)
def test_every_registered_env_renders_a_deterministic_rgb_frame(env_id):
    env = gym.make(env_id, render_mode="rgb_array")
    assert "rgb_array" in env.unwrapped.metadata["render_modes"]
    env.reset(seed=0)
    env.action_space.seed(0)
    _, _, _, _, info = env.step(env.action_space.sample())
    state = _rng_state(env)
    frame = env.render()
    assert isinstance(frame, np.ndarray) and frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 3
    assert len(np.unique(frame.reshape(-1, 3), axis=0)) > 1  # a picture, not a blank canvas
    assert _rng_state(env) == state  # rendering draws no randomness from the env
    np.testing.assert_array_equal(env.render(), frame)
    plain = gym.make(env_id)
    plain.reset(seed=0)
    plain.action_space.seed(0)
    assert sorted(plain.step(plain.action_space.sample())[4]) == sorted(info)  # rendering adds nothing to info
    assert plain.render() is None


@pytest.mark.parametrize("env_id", IDS)
def test_unsupported_render_mode_is_refused_at_construction(env_id):
    with pytest.raises(EnvConfigError, match="render_mode must be one of"):
        gym.make(env_id, render_mode="bogus")


def _intervene(env: gym.Env, index: int, value: float, **extra) -> None:
    base = env.unwrapped
    mask = np.zeros(base.action_space["mask"].n, dtype=np.int8)
    mask[index] = 1
    env.step({"mask": mask, "value": np.full(mask.shape, value), **extra})


def test_identification_frame_shows_the_intervention_and_values():
    env = gym.make("dogym/ToySCM-v0", render_mode="rgb_array")
    env.reset(seed=0)
    blank = env.render()
    _intervene(env, 1, 0.5)  # do(X = 0.5)
    first = env.render()
    _intervene(env, 1, -0.5)
    second = env.render()
    assert not np.array_equal(blank, first) and not np.array_equal(first, second)
    env.reset(seed=0)
    np.testing.assert_array_equal(env.render(), blank)


def test_dcgo_frame_shows_explorations_and_decisions():
    env = gym.make("dogym/DCGO-STAT-v0", render_mode="rgb_array")
    env.reset(seed=0)
    frames = [env.render()]
    _intervene(env, 0, 1.0, decide=0)  # explore do(X_0 = 1)
    frames.append(env.render())
    _intervene(env, 0, 1.0, decide=1)  # decide do(X_0 = 1): t -> 1
    frames.append(env.render())
    for a, b in zip(frames, frames[1:], strict=False):
        assert not np.array_equal(a, b)


@pytest.mark.parametrize("env_id", ["dogym/RANSteering-v0", "dogym/RANCpu-v0"])
def test_ran_frame_marks_the_current_intervention(env_id):
    env = gym.make(env_id, render_mode="rgb_array")
    env.reset(seed=0)
    base = env.unwrapped
    before = env.render()
    mask = np.array([name in base.intervention_set for name in base.controllable], dtype=np.int8)
    env.step({"mask": mask, "value": base.action_space["value"].high.copy()})
    assert not np.array_equal(env.render(), before)

"""API conformance of every registered dogym env: checkers, determinism under seeds, pickling."""

from __future__ import annotations

import pickle

import gymnasium as gym
import pytest
from gymnasium import spaces
from gymnasium.utils.env_checker import check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env
from testutils import assert_same

import dogym.envs  # noqa: F401  (registers the envs)

ENV_IDS = sorted(env_id for env_id in gym.registry if env_id.startswith("dogym/"))
SB3_SPACES = (spaces.Box, spaces.Discrete, spaces.MultiDiscrete, spaces.MultiBinary)
# SB3's checker only where SB3 supports the action space (Dict-action envs are checked through their flat wrapper).
SB3_ENV_IDS = [env_id for env_id in ENV_IDS if isinstance(gym.make(env_id).action_space, SB3_SPACES)]


def test_registry_has_the_fault_alarm_family():
    assert {"dogym/FaultAlarm-v0", "dogym/FaultAlarmSmall-v0", "dogym/FaultAlarmPoisson-v0"} <= set(ENV_IDS)


def test_registration_is_idempotent():
    before = sorted(gym.registry)
    dogym.envs.register_envs()
    dogym.envs.register_envs()
    assert sorted(gym.registry) == before


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_gymnasium_checker(env_id):
    env = gym.make(env_id)
    check_env(env.unwrapped, skip_render_check=True)
    env.close()


@pytest.mark.parametrize("env_id", SB3_ENV_IDS)
def test_sb3_checker(env_id):
    sb3_check_env(gym.make(env_id).unwrapped, warn=False)


def rollout(env: gym.Env, seed: int, n_steps: int) -> list:
    """Reset with `seed` and play actions sampled from a space seeded with `seed`."""
    obs, info = env.reset(seed=seed)
    env.action_space.seed(seed)
    trace = [(obs, info)]
    for _ in range(n_steps):
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        trace.append((obs, reward, terminated, truncated, info))
        if terminated or truncated:
            obs, info = env.reset()
            trace.append((obs, info))
    return trace


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_same_seed_same_trajectory(env_id):
    a = rollout(gym.make(env_id), seed=123, n_steps=40)
    b = rollout(gym.make(env_id), seed=123, n_steps=40)
    assert_same(a, b)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_different_seeds_differ(env_id):
    a = rollout(gym.make(env_id), seed=1, n_steps=20)
    b = rollout(gym.make(env_id), seed=2, n_steps=20)
    with pytest.raises(AssertionError):
        assert_same(a, b)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_pickle_round_trip_continues_identically(env_id):
    env = gym.make(env_id)
    env.reset(seed=7)
    env.action_space.seed(7)
    for _ in range(3):
        if env.step(env.action_space.sample())[2]:  # terminated (DCGO envs: after T decisions): start again
            env.reset()
    clone = pickle.loads(pickle.dumps(env))
    actions = [env.action_space.sample() for _ in range(5)]
    for action in actions:
        result = env.step(action)
        assert_same(result, clone.step(action))
        if result[2]:
            assert_same(env.reset(), clone.reset())


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_observations_stay_in_space(env_id):
    env = gym.make(env_id)
    obs, _ = env.reset(seed=0)
    env.action_space.seed(0)
    for _ in range(60):
        assert env.observation_space.contains(obs)
        obs, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated or truncated:
            obs, _ = env.reset()

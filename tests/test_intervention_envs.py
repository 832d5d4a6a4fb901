"""Intervention envs: gymnasium API, spaces, costs, scenario-2 change, determinism, pickling, the Box wrapper."""

import pickle

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import dogym.envs  # noqa: F401  (registers the envs)
from dogym.causal.intervention import Intervention, InterventionError
from dogym.envs.identification.microservice import MicroserviceEnv
from dogym.envs.intervention import FixedTargetsWrapper

IDS = ["dogym/ToySCM-v0", "dogym/Microservice-v0", "dogym/MicroserviceNonStationary-v0"]


@pytest.mark.parametrize("env_id", IDS)
def test_check_env_and_pickle(env_id):
    env = gym.make(env_id)
    check_env(env.unwrapped, skip_render_check=True)
    env.reset(seed=1)
    clone = pickle.loads(pickle.dumps(env.unwrapped))
    action = {"mask": np.ones(len(clone.controllable), np.int8), "value": clone.action_space["value"].low}
    np.testing.assert_array_equal(env.unwrapped.step(action)[0], clone.step(action)[0])


@pytest.mark.parametrize("env_id", IDS)
def test_same_seed_same_trajectory(env_id):
    def run(seed):
        env = gym.make(env_id)
        env.reset(seed=seed)
        env.action_space.seed(seed)
        return np.concatenate([env.step(env.action_space.sample())[0] for _ in range(5)])

    np.testing.assert_array_equal(run(4), run(4))
    assert not np.array_equal(run(4), run(5))


def test_costs_follow_table3_and_reward_is_negative_cost():
    env = MicroserviceEnv(scenario=1, samples_per_step=3)
    env.reset(seed=0)
    obs, reward, terminated, truncated, info = env.step(Intervention({"C1": 4, "P2": 0.2}))
    assert obs.shape == (3, 12)
    assert reward == -4000.0 and info["intervention_cost"] == 4000.0
    assert env.step(Intervention.passive())[1] == -1.0
    col = env.variable_names.index("C1")
    np.testing.assert_array_equal(obs[:, col], 4.0)


def test_passive_steps_stay_in_current_operating_region():
    env = MicroserviceEnv(scenario=1)
    env.reset(seed=0)
    passive = {"mask": np.zeros(8, np.int8), "value": env.action_space["value"].low}
    obs = np.concatenate([env.step(passive)[0] for _ in range(30)])
    cols = {n: obs[:, i] for i, n in enumerate(env.variable_names)}
    for name, nominal in {"B1": 0, "B2": 0, "P1": 0.5, "P2": 0.5, "C1": 1, "C3": 1, "L1": 4, "L2": 15}.items():
        np.testing.assert_array_equal(cols[name], nominal)
    assert np.all(np.abs(cols["Lt2"] - 15) < 1.0)


def test_invalid_actions_raise_clear_errors():
    env = gym.make("dogym/Microservice-v0").unwrapped
    env.reset(seed=0)
    value = env.action_space["value"].low.copy()
    value[env.controllable.index("L1")] = 80.0
    mask = np.zeros(8, np.int8)
    mask[env.controllable.index("L1")] = 1
    with pytest.raises(InterventionError, match=r"L1=80\.0 is outside the operating region \[0, 50\]"):
        env.step({"mask": mask, "value": value})
    with pytest.raises(InterventionError, match="not a controllable variable"):
        env.step(Intervention({"Lt1": 3.0}))
    with pytest.raises(InterventionError, match="mask entries must be 0 or 1"):
        env.step({"mask": np.full(8, 2), "value": env.action_space["value"].low})
    with pytest.raises(InterventionError, match="keys 'mask' and 'value'"):
        env.step(np.zeros(8))


def test_scenario2_changes_f_r2_exactly_at_step_11():
    env = MicroserviceEnv(scenario=2)
    x = np.array([[10.0, 0.7, 1.0, 2.0], [3.0, 0.5, 1.0, 1.0]])
    before = [env.scm_at(t).function("R2", x) for t in range(1, 11)]
    after = [env.scm_at(t).function("R2", x) for t in range(11, 30)]
    assert all(np.array_equal(b, before[0]) for b in before)
    assert all(np.array_equal(a, after[0]) for a in after)
    assert np.all(after[0] > before[0] + 0.01)
    env.reset(seed=0)
    for t in range(1, 12):
        assert env.true_scm() is env.scm_at(t)
        env.step(Intervention.passive())
    np.testing.assert_array_equal(env.true_scm(11).function("Lt2", np.array([[0.0, 5.0]])), [5.0])  # B2=0, L2=5


def test_fixed_targets_wrapper_gives_flat_box():
    env = FixedTargetsWrapper(gym.make("dogym/Microservice-v0"), ["C1", "L2"])
    assert env.action_space.shape == (2,)
    np.testing.assert_array_equal(env.action_space.high, [5.0, 50.0])
    env.reset(seed=0)
    obs, reward, *_, info = env.step(np.array([2.2, 30.0]))
    assert info["intervention"] == Intervention({"C1": 2.0, "L2": 30.0})  # integer CPU count is rounded
    assert reward == -6000.0
    with pytest.raises(InterventionError, match="not controllable"):
        FixedTargetsWrapper(gym.make("dogym/Microservice-v0"), ["R1"])


def test_fixed_targets_wrapper_passes_sb3_check_env():
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    with pytest.warns(UserWarning):  # SB3 recommends a normalised Box; the operating region is kept as is
        sb3_check_env(FixedTargetsWrapper(gym.make("dogym/Microservice-v0"), ["C1", "L2"]))


def test_microservice_calibration_matches_its_documentation():
    from dogym.envs.identification.microservice import response_s1, response_s2

    light = {"lt1": 0.01, "lt2": 0.01, "p1": 0.5, "p2": 0.5}
    for response in (response_s1, response_s2):
        assert 0.15 < response(**light, c1=1.0, c3=1.0) < 0.22  # ~0.2 s at 1 CPU under light load
        assert 0.08 < response(**light, c1=5.0, c3=5.0) < 0.13  # ~0.1 s at 5 CPUs
    env = MicroserviceEnv(scenario=2)
    nominal = np.array([[1.0, 0.5, 1.0, 1.0]])  # Lt2, P2, C1, C3
    before, after = (env.scm_at(t).function("R2", nominal)[0] for t in (10, 11))
    assert before < 0.25 and 1.5 < after < 2.5  # the background S1 load takes 90% of a 1-CPU node

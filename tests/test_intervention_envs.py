"""Intervention envs: gymnasium API, spaces, costs, scenario-2 change, determinism, pickling, the Box wrapper."""

import pickle

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import dogym.envs  # noqa: F401  (registers the envs)
from dogym.causal.intervention import Intervention, InterventionError
from dogym.causal.scm import StructuralView
from dogym.envs.core import EnvConfigError, EnvInputError
from dogym.envs.identification.microservice import MicroserviceEnv
from dogym.envs.identification.toy_scm import ToySCMEnv
from dogym.envs.intervention import FixedTargetsWrapper, InvalidInterventionError

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
    low = env.action_space["value"].low
    cases = [
        ({"mask": mask, "value": value}, r"L1=80\.0 is outside the operating region \[0, 50\]"),
        (Intervention({"Lt1": 3.0}), "not a controllable variable"),
        (Intervention({"C1": 2.5}), r"C1=2\.5 must be an integer"),
        ({"mask": np.full(8, 2), "value": low}, "mask entries must be 0 or 1"),
        ({"mask": np.array(["a"] * 8), "value": low}, "mask entries must be 0 or 1"),
        (np.zeros(8), "keys 'mask' and 'value'"),
        ({"mask": mask, "value": low, "extra": 1}, "keys 'mask' and 'value'"),
        ({"mask": np.zeros(7, np.int8), "value": low}, r"must each have 8 entries"),
        ({"mask": mask, "value": np.full(8, np.nan)}, "value entries must be finite numbers"),
        ({"mask": np.zeros(8, np.int8), "value": np.full(8, np.inf)}, "value entries must be finite numbers"),
        ({"mask": mask, "value": ["x"] * 8}, "mask and value must be numeric arrays"),
    ]
    for action, message in cases:
        with pytest.raises(InvalidInterventionError, match=message) as err:
            env.step(action)
        assert isinstance(err.value, EnvInputError) and isinstance(err.value, InterventionError)
        assert isinstance(err.value, ValueError) and "\n" not in str(err.value)
    assert env.t == 0  # no invalid action advanced the clock


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
    with pytest.raises(InvalidInterventionError, match="not controllable"):
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


def test_config_defaults_overrides_and_positional_compatibility():
    assert ToySCMEnv.default_config() == {
        "samples_per_step": 1,
        "horizon": 30,
        "noise_std": np.sqrt(0.05),
        "costs": "paper",
    }
    assert MicroserviceEnv.default_config() == {"scenario": 1, "samples_per_step": 1, "horizon": 30, "change_step": 11}
    env = MicroserviceEnv(2, change_step=1)
    assert (env.scenario, env.change_step, env.config["scenario"], env.config["change_step"]) == (2, 1, 2, 1)
    assert env.scm_at(1) is env.scm_at(11) and env.scm_at(1) is not MicroserviceEnv(2).scm_at(1)
    env = MicroserviceEnv(scenario=1, samples_per_step=3)
    assert env.samples_per_step == 3 and env.observation_space.shape == (3, 12)
    assert MicroserviceEnv(2, 4, 5).config == {"scenario": 2, "samples_per_step": 4, "horizon": 30, "change_step": 5}
    toy = gym.make("dogym/ToySCM-v0", horizon=5, samples_per_step=2, noise_std=0.0).unwrapped
    assert toy.config == {"samples_per_step": 2, "horizon": 5, "noise_std": 0.0, "costs": "paper"}
    toy.reset(seed=0)
    obs = toy.step(Intervention({"X": 1.0}))[0]
    np.testing.assert_allclose(obs[:, toy.variable_names.index("Z")], np.exp(-1.0))  # noise_std=0 was applied


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: MicroserviceEnv(3), r"scenario must be one of \[1, 2\], got 3"),
        (lambda: MicroserviceEnv(True), r"scenario must be one of \[1, 2\], got True"),
        (lambda: MicroserviceEnv(scenario=1, samples_per_step=0), r"samples_per_step must be an integer >= 1, got 0"),
        (lambda: MicroserviceEnv(1, 1, 11, 5), r"at most 3 positional options"),
        (lambda: MicroserviceEnv(1, scenario=2), r"scenario both positionally and as a keyword"),
        (lambda: MicroserviceEnv(change_step=0), r"change_step must be an integer >= 1, got 0"),
        (lambda: MicroserviceEnv(horizon=2.5), r"horizon must be an integer >= 1, got 2\.5"),
        (lambda: MicroserviceEnv(scenarios=1), r"unknown option\(s\) \['scenarios'\]; allowed: \['change_step'"),
        (lambda: ToySCMEnv(noise=0.1), r"unknown option\(s\) \['noise'\]"),
        (lambda: ToySCMEnv(noise_std=-1.0), r"noise_std must be a finite number in \[0, inf\], got -1\.0"),
        (lambda: ToySCMEnv(samples_per_step="2"), r"samples_per_step must be an integer >= 1, got '2'"),
        (lambda: ToySCMEnv(render_mode="human"), r"render_mode must be one of \['rgb_array'\] or None, got 'human'"),
        (lambda: gym.make("dogym/Microservice-v0", scenario=5), r"scenario must be one of \[1, 2\], got 5"),
    ],
)
def test_bad_config_raises_env_config_error(make, message):
    with pytest.raises(EnvConfigError, match=message) as err:
        make()
    assert isinstance(err.value, ValueError) and "\n" not in str(err.value)


@pytest.mark.parametrize("env_id", IDS)
def test_truncates_at_horizon_and_keeps_stepping(env_id):
    env = gym.make(env_id, horizon=4)
    assert env.spec.max_episode_steps is None and not isinstance(env, gym.wrappers.TimeLimit)
    _, info = env.reset(seed=0)
    assert info["t"] == 0
    flags = [env.step(Intervention.passive())[2:4] for _ in range(6)]
    assert flags == [(False, False)] * 3 + [(False, True)] * 3
    assert gym.make(env_id).unwrapped.config["horizon"] == 30


def test_info_keys_at_reset_and_step():
    env = MicroserviceEnv(scenario=1)
    _, info = env.reset(seed=0)
    assert info["t"] == 0 and info["cost"] == 0.0 and info["intervention_cost"] == 0.0
    np.testing.assert_array_equal(info["action_mask"], np.ones(8, bool))
    _, reward, _, _, info = env.step(Intervention({"P1": 0.3}))
    assert (info["t"], info["cost"], info["intervention_cost"], reward) == (1, 0.0, 1000.0, -1000.0)
    assert info["action_mask"].dtype == bool and info["action_mask"].shape == (8,)
    assert info["intervention"] == Intervention({"P1": 0.3}) and info["variables"] == env.variable_names


def test_ground_truth_follows_the_step():
    env = MicroserviceEnv(scenario=2)
    env.reset(seed=0)
    for t in range(1, 13):
        truth = env.ground_truth()
        assert truth["scm"] is env.scm_at(t) is env.true_scm()
        assert sorted(truth["graph"].edges) == sorted(env.scm_at(t).graph.edges)
        env.step(Intervention.passive())
    assert env.ground_truth(3)["scm"] is env.scm_at(3) is not env.ground_truth(11)["scm"]
    truth["graph"].add_edge("R2", "L2")  # a copy: the SCM's graph is untouched
    assert not env.scm_at(12).graph.has_edge("R2", "L2")


@pytest.mark.parametrize("env_id", IDS)
def test_structural_view_carries_the_structure_and_no_mechanisms(env_id):
    env = gym.make(env_id).unwrapped
    view, scm = env.structural_view(), env.scm_at(1)
    assert isinstance(view, StructuralView)
    assert (view.names, view.order, view.endogenous) == (scm.names, scm.order, scm.endogenous)
    assert (view.controllable, view.control_bounds) == (scm.controllable, scm.control_bounds)
    assert view.controllable == env.controllable and view.names == env.variable_names
    assert view.integer_variables == scm.integer_variables and dict(view.exogenous) == scm.exogenous
    assert all(view.parents(v) == scm.parents(v) for v in scm.endogenous)
    assert sorted(view.graph.edges) == sorted(scm.graph.edges)
    for name in ("mechanisms", "function", "sample", "sample_array", "interventional_mean"):
        assert not hasattr(view, name)


@pytest.mark.parametrize("env_id", IDS)
def test_estimator_built_from_the_structural_view_matches_the_scm(env_id):
    from dogym.agents.identification.estimator import CausalGPEstimator

    env = gym.make(env_id).unwrapped
    from_view, from_scm = CausalGPEstimator(env.structural_view()), CausalGPEstimator(env.scm_at(1))
    env.reset(seed=0)
    env.action_space.seed(0)
    for _ in range(4):
        obs, *_, info = env.step(env.action_space.sample())
        from_view.observe(obs, info["intervention"])
        from_scm.observe(obs, info["intervention"])
    assert from_view.surrogate_loss() == from_scm.surrogate_loss()
    rng = np.random.default_rng(0)
    n = len(env.controllable)
    mask, value = rng.random((2, 3, n)) > 0.5, rng.random((2, 3, n))
    uniforms = rng.uniform(0.01, 0.99, (2, 3, len(env.variable_names)))
    a, b = from_view.simulate(mask, value, uniforms), from_scm.simulate(mask, value, uniforms)
    for name in a.inputs:
        np.testing.assert_array_equal(a.inputs[name], b.inputs[name])

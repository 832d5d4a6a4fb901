"""The env contract (ARCHITECTURE.md, "The env contract"), checked on every registered dogym env.

Info keys with fixed shapes at reset and every step, `ground_truth()`, `structural_view()` without mechanisms,
`EnvConfigError` for unknown options, `EnvInputError` for invalid actions, truncation exactly at the configured limit,
and FaultAlarm's passive alarm log.
"""

from __future__ import annotations

import pickle

import gymnasium as gym
import networkx as nx
import numpy as np
import pytest
from gymnasium import spaces

import dogym.envs  # noqa: F401  (registers the envs)
from dogym.causal.structure.event_table import EventTable
from dogym.envs.core import INFO_KEYS, EnvConfigError, EnvInputError

ENV_IDS = sorted(env_id for env_id in gym.registry if env_id.startswith("dogym/"))
FAULT_ALARM_IDS = ["dogym/FaultAlarm-v0", "dogym/FaultAlarmPoisson-v0", "dogym/FaultAlarmSmall-v0"]
INTERVENTION_IDS = ["dogym/Microservice-v0", "dogym/MicroserviceNonStationary-v0", "dogym/ToySCM-v0"]
#: What an operator's view must never carry (mechanisms, sampling, the true model or graph accessors).
NOT_IN_A_VIEW = ("mechanisms", "function", "sample", "sample_array", "model", "true_graph", "true_scm", "scm_at")


def n_mask_entries(env: gym.Env) -> int:
    """Length of info["action_mask"]: one per Discrete action, one per controllable variable of a Dict action."""
    space = env.action_space
    if isinstance(space, spaces.Discrete):
        return int(space.n)
    return int(space["mask"].n)


def limit_key(env: gym.Env) -> str:
    """The config key that holds the env's episode limit."""
    keys = [k for k in ("step_max", "horizon") if k in env.unwrapped.config]
    assert len(keys) == 1, f"{env.unwrapped.config} must hold exactly one of step_max / horizon"
    return keys[0]


def idle_action(env: gym.Env, info: dict):
    """An action that changes nothing: an inactive pair (FaultAlarm) or the passive do(0) (intervention envs)."""
    if isinstance(env.action_space, spaces.Discrete):
        return int(np.flatnonzero(~info["action_mask"])[0])
    return {"mask": np.zeros(n_mask_entries(env), np.int8), "value": env.action_space["value"].low.copy()}


def test_the_contract_covers_every_known_family():
    assert set(FAULT_ALARM_IDS + INTERVENTION_IDS) <= set(ENV_IDS)
    assert INFO_KEYS == ("action_mask", "cost", "intervention_cost", "t")


def check_info(info: dict, n_mask: int, t: int) -> None:
    assert set(INFO_KEYS) <= set(info), f"missing {set(INFO_KEYS) - set(info)}"
    mask = info["action_mask"]
    assert isinstance(mask, np.ndarray) and mask.dtype == bool and mask.shape == (n_mask,)
    assert type(info["cost"]) is float and info["cost"] in (0.0, 1.0)
    assert type(info["intervention_cost"]) is float and info["intervention_cost"] >= 0.0
    assert type(info["t"]) is int and info["t"] == t


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_info_keys_have_fixed_shapes_at_reset_and_every_step(env_id):
    env = gym.make(env_id)
    n_mask = n_mask_entries(env)
    _, info = env.reset(seed=0)
    check_info(info, n_mask, 0)
    assert info["intervention_cost"] == 0.0
    env.action_space.seed(0)
    t = 0
    for _ in range(20):
        _, reward, terminated, truncated, info = env.step(env.action_space.sample())
        t += 1
        check_info(info, n_mask, t)
        if env_id in FAULT_ALARM_IDS:
            assert info["intervention_cost"] == 1.0 and info["cost"] == 0.0
        if env_id in INTERVENTION_IDS:
            assert info["intervention_cost"] == -reward >= 0 and info["cost"] == 0.0
            assert info["action_mask"].all()
        if terminated or truncated:
            _, info = env.reset()
            t = 0
            check_info(info, n_mask, 0)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_info_keys_stack_in_a_vector_env(env_id):
    envs = gym.make_vec(env_id, num_envs=2, vectorization_mode="sync")
    n_mask = n_mask_entries(envs.envs[0])
    _, infos = envs.reset(seed=0)
    envs.action_space.seed(0)
    for step in range(4):
        assert infos["action_mask"].shape == (2, n_mask) and infos["action_mask"].dtype == bool
        for key in ("cost", "intervention_cost"):
            assert infos[key].shape == (2,) and infos[key].dtype == np.float64
        assert infos["t"].shape == (2,) and infos["t"].dtype.kind == "i"
        np.testing.assert_array_equal(infos["t"], [step, step])
        _, _, _, _, infos = envs.step(envs.action_space.sample())
    envs.close()


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_ground_truth_gives_the_true_graph(env_id):
    env = gym.make(env_id).unwrapped
    env.reset(seed=0)
    truth = env.ground_truth()
    graph = truth["graph"]
    assert isinstance(graph, nx.DiGraph) and nx.is_directed_acyclic_graph(graph) and graph.number_of_edges() > 0
    if env_id in FAULT_ALARM_IDS:
        assert set(truth) == {"graph", "causal_order", "model"}
        assert list(graph.nodes) == list(env.type_names) and truth["model"] is env.model
        assert sorted(truth["causal_order"]) == sorted(env.type_names)
        rank = {name: i for i, name in enumerate(truth["causal_order"])}
        assert all(rank[cause] < rank[effect] for cause, effect in graph.edges)
        assert all({"hop", "alpha"} <= set(data) for *_, data in graph.edges(data=True))
    if env_id in INTERVENTION_IDS:
        assert set(truth) == {"scm", "graph"}
        assert truth["scm"] is env.scm_at(1) and sorted(graph.edges) == sorted(env.scm_at(1).graph.edges)
        assert env.ground_truth(t=25)["scm"] is env.scm_at(25)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_structural_view_has_no_mechanisms_or_truth(env_id):
    env = gym.make(env_id).unwrapped
    view = env.structural_view()
    for name in NOT_IN_A_VIEW:
        assert not hasattr(view, name), f"the structural view exposes {name!r}"
    clone = pickle.loads(pickle.dumps(view))
    assert clone == view
    if env_id in FAULT_ALARM_IDS:
        assert not hasattr(view, "graph")  # FaultAlarm's learners do not get the type DAG
        assert view.type_names == tuple(env.type_names) and view.n_pairs == env.action_space.n
        assert view.step_max == env.config["step_max"]
    if env_id in INTERVENTION_IDS:
        assert view.controllable == env.controllable and view.names == env.variable_names
        assert sorted(view.graph.edges) == sorted(env.ground_truth()["graph"].edges)  # a known graph, by design


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_unknown_config_key_is_an_env_config_error(env_id):
    with pytest.raises(EnvConfigError, match=r"unknown option\(s\) \['no_such_option'\]; allowed: \[") as err:
        gym.make(env_id, no_such_option=1)
    assert isinstance(err.value, ValueError) and isinstance(err.value, EnvInputError)
    assert "\n" not in str(err.value)
    env = gym.make(env_id).unwrapped
    defaults = type(env).default_config()
    assert set(defaults) == set(env.config)
    for key in defaults:  # every documented option is named in the error
        assert repr(key) in str(err.value)


def invalid_actions(env: gym.Env) -> list:
    space = env.action_space
    if isinstance(space, spaces.Discrete):
        n = int(space.n)
        return [-1, n, np.nan, 2.0, np.array([1, 2]), "1", None]
    n = n_mask_entries(env)
    low, high = space["value"].low, space["value"].high
    ones = np.ones(n, np.int8)
    return [
        {"mask": ones, "value": np.full(n, np.nan)},
        {"mask": ones, "value": high + 1.0},
        {"mask": ones, "value": low - 1.0},
        {"mask": np.ones(n + 1, np.int8), "value": low},
        {"mask": ones, "value": np.zeros((n, 2))},
        {"mask": ones},
        np.zeros(n),
    ]


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_invalid_actions_raise_env_input_errors(env_id):
    env = gym.make(env_id).unwrapped
    env.reset(seed=0)
    for action in invalid_actions(env):
        with pytest.raises(EnvInputError) as err:
            env.step(action)
        assert isinstance(err.value, ValueError) and "\n" not in str(err.value)
    _, _, _, _, info = env.step(env.action_space.sample())  # the env still works after the rejected actions
    assert info["t"] == 1


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_truncation_happens_exactly_at_the_configured_limit(env_id):
    default = gym.make(env_id)
    key = limit_key(default)
    assert default.spec.max_episode_steps is None  # no TimeLimit: the env's config is the only limit
    assert default.unwrapped.config[key] == {"step_max": 100, "horizon": 30}[key]
    limit = 5
    env = gym.make(env_id, **{key: limit})
    assert env.unwrapped.config[key] == limit
    _, info = env.reset(seed=0)
    for t in range(1, limit + 1):
        _, _, terminated, truncated, info = env.step(idle_action(env, info))
        assert not terminated
        assert truncated == (t == limit), f"truncated={truncated} at step {t} of {limit}"
        assert info["t"] == t


@pytest.mark.parametrize("env_id", FAULT_ALARM_IDS)
def test_observational_data_is_a_deterministic_passive_log(env_id):
    env = gym.make(env_id).unwrapped
    a, b = env.observational_data(300, seed=11), env.observational_data(300, seed=11)
    assert isinstance(a, EventTable) and len(a.times) == len(a.types) == len(a.devices) == 300
    for name in ("times", "types", "devices"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert not np.array_equal(env.observational_data(300, seed=12).times, a.times)
    assert a.type_names == tuple(env.type_names) and a.n_devices == env.n_devices
    assert not any(isinstance(value, nx.Graph) for value in vars(a).values())  # no true graph in the data

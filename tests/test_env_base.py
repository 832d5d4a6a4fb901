"""The one env base, `dogym.envs.core.DogymEnv`, on every registered env: the chained classmethod `default_config()`,
unknown options rejected, abstract `ground_truth` / `structural_view` / `get_state` / `set_state`, checkpoints that
repeat the episode exactly, the Gymnasium docstring sections, and DCGO agents that reach the env only through
`step()` (a wrapper counts every exploration and decision)."""

from __future__ import annotations

import copy
import importlib
import inspect
import pickle
import re
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import dogym.envs
from dogym.envs.core import DogymEnv, EnvConfigError

ENV_IDS = sorted(dogym.envs.ENV_SPECS)
SECTIONS = ("Description", "Action Space", "Observation Space", "Rewards", "Termination", "Truncation",
            "Registered Configurations")  # fmt: skip


def env_class(env_id: str) -> type:
    module, name = dogym.envs.ENV_SPECS[env_id][0].split(":")
    return getattr(importlib.import_module(module), name)


CLASSES = sorted({env_class(i) for i in ENV_IDS}, key=lambda c: c.__name__)


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_default_config_is_a_classmethod_chained_through_the_bases(cls):
    assert issubclass(cls, DogymEnv)
    chain = [k for k in cls.__mro__ if "default_config" in vars(k)]
    assert chain[-1] is DogymEnv and len(chain) >= 2
    for klass in chain:
        assert isinstance(vars(klass)["default_config"], classmethod), f"{klass.__name__}.default_config"
    for child, parent in zip(chain, chain[1:], strict=False):  # each class adds to its parent's options
        assert set(parent.default_config()) <= set(child.default_config()), (child.__name__, parent.__name__)
    assert set(cls.default_config()) == set(gym.make(next(i for i in ENV_IDS if env_class(i) is cls)).unwrapped.config)


def test_a_subclass_overrides_its_parent_s_defaults_and_keeps_the_rest():
    from dogym.envs.dcgo.base import DCGOEnv
    from dogym.envs.dcgo.synthetic import NOISYEnv
    from dogym.envs.fault_alarm.env import FaultAlarmEnv, FaultAlarmSmallEnv

    small, full = FaultAlarmSmallEnv.default_config(), FaultAlarmEnv.default_config()
    assert small["n_devices"] == 10 and full["n_devices"] == 50 and small["step_max"] == full["step_max"] == 100
    noisy = NOISYEnv.default_config()
    assert {"domains", "observational_noise"} == set(noisy) - set(DCGOEnv.default_config())
    noisy["horizon"] = 7  # a fresh dict each call: the defaults cannot be changed by a caller
    assert NOISYEnv.default_config()["horizon"] == DCGOEnv.default_config()["horizon"] == 30


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_unknown_options_are_rejected_and_bad_values_named(cls):
    with pytest.raises(EnvConfigError, match=r"unknown option\(s\) \['horizn'\]"):
        cls(horizn=3)
    limit = "step_max" if "step_max" in cls.default_config() else "horizon"
    with pytest.raises(EnvConfigError, match=rf"option {limit} must be an integer >= 1, got 0"):
        cls(**{limit: 0})


def test_the_base_s_methods_are_abstract():
    class Incomplete(DogymEnv):
        def ground_truth(self) -> dict[str, Any]:
            return {}

        def structural_view(self) -> Any:
            return None

    with pytest.raises(TypeError, match="get_state"):
        Incomplete()


def _actions(env: gym.Env, n: int) -> list[Any]:
    """n seeded random actions; DCGO envs decide at most twice (T >= 3), so no step is refused."""
    env.action_space.seed(4)
    actions = [env.action_space.sample() for _ in range(n)]
    if isinstance(actions[0], dict) and "decide" in actions[0]:
        for k, action in enumerate(actions):
            action["decide"] = int(k in (1, 4))
    return actions


def _transition(step: tuple) -> tuple:
    """A step's result in a comparable form (info values that are arrays or objects as reprs)."""
    obs, reward, terminated, truncated, info = step
    return obs.tolist(), reward, terminated, truncated, {k: repr(v) for k, v in info.items()}


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_get_state_then_set_state_repeats_the_episode_exactly(env_id):
    kwargs = {"noisy_outcomes": True} if env_id.startswith("dogym/DCGO-") else {}  # so that the rng matters
    env = gym.make(env_id, **kwargs).unwrapped
    env.reset(seed=3)
    actions = _actions(env, 6)
    for action in actions[:2]:
        env.step(action)
    state = env.get_state()
    saved = pickle.dumps(state)  # picklable, and not changed by the steps that follow
    first = [_transition(env.step(action)) for action in actions[2:]]
    assert pickle.dumps(state) == saved
    assert len({repr(t[0]) for t in first}) > 1  # the steps differ, so the comparison below can fail
    env.set_state(state)
    assert [_transition(env.step(action)) for action in actions[2:]] == first
    fresh = gym.make(env_id, **kwargs).unwrapped  # the whole episode is in the state: a fresh env continues it too
    fresh.reset(seed=99)
    fresh.set_state(copy.deepcopy(pickle.loads(saved)))
    assert [_transition(fresh.step(action)) for action in actions[2:]] == first


def _sections(doc: str) -> dict[str, str]:
    """The "## Title" sections of a docstring: title -> body."""
    parts = re.split(r"^## (.+)$", inspect.cleandoc(doc), flags=re.M)
    return {title.strip(): body for title, body in zip(parts[1::2], parts[2::2], strict=True)}


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_every_env_class_has_the_gymnasium_docstring_sections(cls):
    doc = vars(cls).get("__doc__") or ""
    sections = _sections(doc)
    missing = [s for s in SECTIONS if s not in sections]
    assert not missing, f"{cls.__name__} docstring lacks {missing}"
    order = [list(sections).index(s) for s in SECTIONS]
    assert order == sorted(order), f"{cls.__name__}: sections out of order"
    assert all(sections[s].strip() for s in SECTIONS)
    listed = re.findall(r"^- `(dogym/[^`]+)`: (.*)$", sections["Registered Configurations"], flags=re.M)
    mine = {i: kwargs for i, (entry, _, kwargs) in dogym.envs.ENV_SPECS.items() if env_class(i) is cls}
    assert sorted(i for i, _ in listed) == sorted(mine)  # every id of this class, and no other
    for env_id, text in listed:
        for key, value in mine[env_id].items():
            assert f"`{key}={value!r}`" in text, f"{env_id}: {key}={value!r} not in {text!r}"
        if not mine[env_id]:
            assert "the defaults" in text


class StepCounter(gym.Wrapper):
    """Counts the steps that pass through it, by kind."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.explorations = self.decisions = 0

    def step(self, action):
        result = self.env.step(action)
        if result[4]["decided"]:
            self.decisions += 1
        else:
            self.explorations += 1
        return result


@pytest.mark.parametrize("method", ["dcbo", "bo"])
def test_a_wrapper_sees_every_interaction_of_a_dcgo_run(method):
    from dogym.agents.dcgo.loop import run_replicate
    from dogym.envs.dcgo.base import DCGOEnv

    assert not hasattr(DCGOEnv, "explore") and not hasattr(DCGOEnv, "decide")  # step() is the only way in
    env = StepCounter(gym.make("dogym/DCGO-STAT-v0"))
    with threadpool_limits(1):  # tiny GPs: BLAS threads only slow them down
        result = run_replicate(env, method, 2, 0)
        plain = run_replicate(gym.make("dogym/DCGO-STAT-v0").unwrapped, method, 2, 0)
    assert env.decisions == result.T == 3
    assert env.explorations == len(result.trials) == 3 * 2  # every trial: DCBO's observation and the interventions
    assert env.unwrapped.t == 3 and env.unwrapped.get_state()["_steps"] == 9
    timing = {"seconds": 0.0, "cpu_seconds": 0.0}
    assert plain.to_dict() | timing == result.to_dict() | timing  # the wrapper changes nothing


def test_dcgo_decision_info_carries_the_realised_past():
    env = gym.make("dogym/DCGO-STAT-v0", optimal_history=True)
    _, info = env.reset(seed=0)
    assert info["past"].tolist() == [0.0, 0.0, 0.0]  # no past at t = 0
    base = env.unwrapped
    _, _, _, _, info = env.step(base.make_action({"X": 0.0}, decide=True))  # a poor decision; the optimal past holds
    assert info["past"].tolist() == [base.history[0]["values"][v] for v in base.variables]
    assert info["past"][1] == pytest.approx(-3.2003, abs=1e-4) != info["y"]
    _, _, _, _, explored = env.step(base.make_action({}))
    np.testing.assert_array_equal(explored["past"], info["past"])  # explorations do not change the past

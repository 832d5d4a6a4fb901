"""Fuzzing every registered dogym env with hypothesis (the env contract of `dogym.envs.core`).

- Random valid actions (drawn from the action space, half of the discrete ones among the currently allowed actions)
  give observations inside the observation space, finite rewards, and infos with the contract's keys, types and
  shapes whose every number is finite; the same seed and actions give the same trajectory again, whatever the env
  ran before.
- Invalid actions (NaN, inf, out of range, wrong shape, wrong dtype, wrong keys) raise the contract's
  `EnvInputError` with a one-line message, and leave the env usable.

Envs are taken from the registry, so every newly registered env is fuzzed. The long soak is
`benchmarks/env_soak.py`.
"""

from __future__ import annotations

import functools
import math
import warnings
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from testutils import assert_same

import dogym.envs  # noqa: F401  (registers the envs)
from dogym.envs.core import INFO_KEYS, EnvInputError

ENV_IDS = sorted(env_id for env_id in gym.registry if env_id.startswith("dogym/"))
#: Steps per example (episodes restart as they end).
N_STEPS = 12
#: Info keys that an env documents as NaN at reset (no value yet), with where it is documented.
NAN_AT_RESET = {"y": "DCGO envs: the outcome Y_t before the first step (envs/dcgo/base.py)"}
FUZZ = settings(max_examples=4, deadline=None, database=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip


@functools.cache
def make(env_id: str) -> gym.Env:
    """One env per id, reused across examples (every example resets it with a seed)."""
    return gym.make(env_id)


def box_values(box: spaces.Box) -> st.SearchStrategy[np.ndarray]:
    """Arrays inside a Box (infinite bounds replaced by +-1e3), the bounds themselves included."""
    low = np.where(np.isfinite(box.low), box.low, -1e3).reshape(-1)
    high = np.where(np.isfinite(box.high), box.high, 1e3).reshape(-1)
    entries = [st.one_of(st.sampled_from([float(lo), float(hi)]), st.floats(float(lo), float(hi)))
               for lo, hi in zip(low, high, strict=True)]  # fmt: skip
    return st.tuples(*entries).map(lambda v: np.array(v, dtype=box.dtype).reshape(box.shape))


def valid_action(space: spaces.Space, info: dict[str, Any]) -> st.SearchStrategy[Any]:
    """A valid action of `space`: Discrete (half of the time among `info["action_mask"]`'s allowed actions),
    MultiBinary, Box and Dicts of them."""
    if isinstance(space, spaces.Discrete):
        every = st.integers(int(space.start), int(space.start + space.n - 1))
        allowed = np.flatnonzero(np.asarray(info.get("action_mask", []), dtype=bool)) + int(space.start)
        return st.one_of(every, st.sampled_from(allowed.tolist())) if allowed.size else every
    if isinstance(space, spaces.MultiBinary):
        size = int(np.prod(space.shape))
        return st.lists(st.integers(0, 1), min_size=size, max_size=size).map(
            lambda v: np.array(v, dtype=space.dtype).reshape(space.shape)
        )
    if isinstance(space, spaces.Box):
        return box_values(space)
    if isinstance(space, spaces.Dict):
        return st.fixed_dictionaries({k: valid_action(s, {}) for k, s in space.spaces.items()})  # the mask is the top's
    raise NotImplementedError(f"no fuzzing strategy for {space}")


def assert_finite(value: Any, where: str) -> None:
    """Every number in `value` (nested dicts, lists, arrays) is finite."""
    if isinstance(value, dict):
        for key, item in value.items():
            assert_finite(item, f"{where}[{key!r}]")
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            assert_finite(item, f"{where}[{i}]")
    elif isinstance(value, np.ndarray) and value.dtype.kind in "fc":
        assert np.isfinite(value).all(), f"{where} has non-finite entries: {value}"
    elif isinstance(value, float | np.floating):
        assert math.isfinite(value), f"{where} = {value}"


def check_step(env: gym.Env, obs: Any, info: dict[str, Any], t: int, reward: Any = 0.0) -> None:
    """The contract on one reset or step."""
    assert env.observation_space.contains(obs), f"observation outside {env.observation_space}"
    assert_finite(obs, "observation")
    assert isinstance(reward, float | int | np.floating | np.integer) and math.isfinite(reward), f"reward {reward!r}"
    assert set(INFO_KEYS) <= set(info), f"missing info keys {set(INFO_KEYS) - set(info)}"
    mask = info["action_mask"]
    assert isinstance(mask, np.ndarray) and mask.dtype == bool and mask.ndim == 1
    assert type(info["cost"]) is float and info["cost"] in (0.0, 1.0)
    assert type(info["intervention_cost"]) is float and info["intervention_cost"] >= 0.0
    assert type(info["t"]) is int and info["t"] == t
    assert_finite({k: v for k, v in info.items() if t > 0 or k not in NAN_AT_RESET}, "info")


def rollout(env: gym.Env, seed: int, actions: list[Any]) -> list[tuple]:
    """(observation, reward, terminated, truncated, info) after the seeded reset and each action (resetting, without
    a seed, whenever an episode ends)."""
    obs, info = env.reset(seed=seed)
    out: list[tuple] = [(obs, 0.0, False, False, info)]
    for action in actions:
        if out[-1][2] or out[-1][3]:
            obs, info = env.reset()
            out.append((obs, 0.0, False, False, info))
        out.append(env.step(action))
    return out


@pytest.mark.parametrize("env_id", ENV_IDS)
@FUZZ
@given(data=st.data())
def test_random_valid_actions_keep_the_contract_and_are_deterministic(env_id, data):
    env = make(env_id)
    seed = data.draw(st.integers(0, 2**31 - 1), label="seed")
    obs, info = env.reset(seed=seed)
    check_step(env, obs, info, 0)
    n_mask = info["action_mask"].shape
    actions, t = [], 0
    for _ in range(N_STEPS):
        action = data.draw(valid_action(env.action_space, info), label=f"action {len(actions)}")
        actions.append(action)
        obs, reward, terminated, truncated, info = env.step(action)
        t += 1
        check_step(env, obs, info, t, reward)
        assert info["action_mask"].shape == n_mask
        if terminated or truncated:
            obs, info = env.reset()
            t = 0
            check_step(env, obs, info, 0)
    first, second = rollout(env, seed, actions), rollout(env, seed, actions)
    assert_same(first, second, f"{env_id} seed {seed}")


def invalid_action(space: spaces.Space, info: dict[str, Any]) -> st.SearchStrategy[tuple[str, Any]]:
    """(what is wrong, action): NaN, inf, out of range, wrong shape, wrong dtype or wrong keys."""
    if isinstance(space, spaces.Discrete):
        low, high = int(space.start), int(space.start + space.n - 1)
        return st.one_of(
            st.tuples(
                st.just("out of range"), st.one_of(st.integers(max_value=low - 1), st.integers(min_value=high + 1))
            ),
            st.tuples(st.just("not finite"), st.sampled_from([math.nan, math.inf, -math.inf, np.float64(np.nan)])),
            st.tuples(st.just("float"), st.floats(low, high).map(float)),
            st.tuples(st.just("bool"), st.booleans()),
            st.tuples(st.just("string"), st.integers(low, high).map(str)),
            st.tuples(st.just("shape"), st.lists(st.integers(low, high), min_size=2, max_size=4).map(np.array)),
            st.tuples(st.just("none"), st.none()),
        )
    assert isinstance(space, spaces.Dict), f"no invalid-action strategy for {space}"
    mask_space, value_space = space["mask"], space["value"]
    n = int(mask_space.n)

    @st.composite
    def broken(draw: st.DrawFn) -> tuple[str, Any]:
        action = dict(draw(valid_action(space, info)))
        i = draw(st.integers(0, n - 1), label="entry")
        value = np.asarray(action["value"], dtype=np.float64).copy()
        kind = draw(st.sampled_from(["nan", "inf", "above", "below", "value shape", "mask shape", "mask entry",
                                     "mask dtype", "value dtype", "missing key", "extra key", "not a dict"]))  # fmt: skip
        if kind in ("nan", "inf", "above", "below"):
            mask = np.asarray(action["mask"]).copy()
            mask[i] = 1  # the broken value is one the action intervenes on
            scale = max(1.0, abs(float(value_space.high[i])), abs(float(value_space.low[i])))
            delta = draw(st.floats(1e-3, 1e6)) * scale
            value[i] = {"nan": math.nan, "inf": draw(st.sampled_from([math.inf, -math.inf])),
                        "above": value_space.high[i] + delta, "below": value_space.low[i] - delta}[kind]  # fmt: skip
            action.update(mask=mask, value=value)
        elif kind == "value shape":
            action["value"] = draw(
                st.sampled_from([value[:-1], np.append(value, value[0]), np.stack([value, value], 1)])
            )
        elif kind == "mask shape":
            action["mask"] = np.ones(draw(st.sampled_from([n - 1, n + 1, 2 * n])), np.int8)
        elif kind == "mask entry":
            mask = np.asarray(action["mask"]).astype(np.int64)
            mask[i] = draw(st.sampled_from([2, -1, 7]))
            action["mask"] = mask
        elif kind == "mask dtype":
            action["mask"] = draw(st.sampled_from([np.full(n, 0.5), np.array(["1"] * n), np.array([None] * n)]))
        elif kind == "value dtype":
            action["value"] = draw(st.sampled_from([np.array(["x"] * n), np.array([None] * n), "0.5"]))
        elif kind == "missing key":
            del action[draw(st.sampled_from(["mask", "value"]))]
        elif kind == "extra key":
            action[draw(st.sampled_from(["values", "target", "extra"]))] = 1
        else:
            action = draw(st.sampled_from([value, list(value), None, 3]))
        return kind, action

    return broken()


@pytest.mark.parametrize("env_id", ENV_IDS)
@settings(FUZZ, max_examples=12)
@given(data=st.data())
def test_invalid_actions_raise_the_contract_error_and_change_nothing(env_id, data):
    env = make(env_id)
    if env_id not in _last_info:
        _last_info[env_id] = env.reset(seed=0)[1]
    info = _last_info[env_id]
    kind, action = data.draw(invalid_action(env.action_space, info), label="invalid action")
    with pytest.raises(EnvInputError) as err:
        env.step(action)
    assert isinstance(err.value, ValueError) and "\n" not in str(err.value) and str(err.value), kind
    _, _, terminated, truncated, after = env.step(env.action_space.sample())
    assert after["t"] == info["t"] + 1  # the rejected action did not count as a step
    _last_info[env_id] = env.reset()[1] if terminated or truncated else after


#: The latest info of each env of the invalid-action test (its env is reset only when an episode ends).
_last_info: dict[str, dict[str, Any]] = {}


@pytest.mark.parametrize("env_id", ["dogym/ToySCM-v0"])
def test_complex_values_are_rejected(env_id):
    env = make(env_id)
    env.reset(seed=0)
    n = env.action_space["mask"].n
    with warnings.catch_warnings(), pytest.raises(EnvInputError):  # numpy's ComplexWarning is not an error
        warnings.simplefilter("ignore")
        env.step({"mask": np.ones(n, np.int8), "value": env.action_space["value"].low + 1j})


def _kind(env: gym.Env) -> str:
    """ "alarms" (FaultAlarm: terminates when every alarm is cleared), "dcgo" (terminates with the decision at the
    last time step) or "intervention" (never terminates, as the contract documents); all truncate at their limit."""
    from dogym.envs.dcgo.base import DCGOEnv
    from dogym.envs.fault_alarm.env import FaultAlarmEnv

    unwrapped = env.unwrapped
    return (
        "alarms"
        if isinstance(unwrapped, FaultAlarmEnv)
        else "dcgo"
        if isinstance(unwrapped, DCGOEnv)
        else "intervention"
    )


def _policy_action(env: gym.Env, info: dict[str, Any], rng: np.random.Generator, goal: str) -> Any:
    """A valid action that heads for `goal`: "terminate" (FaultAlarm: an active pair; DCGO: decide) or "truncate"
    (FaultAlarm: a pair with no alarm, so nothing clears; DCGO: explore), else a random valid action."""
    space = env.action_space
    if isinstance(space, spaces.Discrete):
        mask = np.asarray(info["action_mask"], dtype=bool)
        choices = np.flatnonzero({"terminate": mask, "truncate": ~mask}.get(goal, np.ones_like(mask)))
        return int(rng.choice(choices if choices.size else np.arange(space.n)))
    action = {k: s.sample() for k, s in space.spaces.items() if k in ("mask", "value")}
    action = {"mask": action["mask"], "value": np.asarray(action["value"], dtype=np.float64)}
    if "decide" in space.spaces:
        action["decide"] = {"terminate": 1, "truncate": 0}.get(goal, int(rng.integers(2)))
    return action


def drive(env: gym.Env, seed: int, steps: int, goals: tuple[str, ...]) -> dict[str, int]:
    """`steps` steps from a seeded reset, checking the contract at each (`check_step`), alternating the goals per
    episode; returns how many episodes terminated and how many were truncated."""
    rng = np.random.default_rng(seed)
    env.action_space.seed(seed)
    obs, info = env.reset(seed=seed)
    check_step(env, obs, info, 0)
    counts, t, episode = {"terminated": 0, "truncated": 0}, 0, 0
    for _ in range(steps):
        action = _policy_action(env, info, rng, goals[episode % len(goals)])
        obs, reward, terminated, truncated, info = env.step(action)
        t += 1
        check_step(env, obs, info, t, reward)
        if terminated or truncated:
            counts["terminated" if terminated else "truncated"] += 1
            obs, info = env.reset()
            t, episode = 0, episode + 1
            check_step(env, obs, info, 0)
    return counts


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_every_env_is_driven_through_a_truncation_and_the_terminating_ones_through_a_termination(env_id):
    """Each env runs whole episodes under the contract: every env is truncated at its limit; FaultAlarm and DCGO envs
    also terminate (every alarm cleared; the last decision), at their default settings. Truncation is driven with
    the limit set to 20 steps through the env's own option (the one its registration reads). Before cf9b860 the fuzz test took 12 steps, so no
    horizon-30 env was ever truncated (checked: the old test never saw truncated=True on 15 of the 18 envs)."""
    env = gym.make(env_id)
    key = "horizon" if "horizon" in env.unwrapped.config else "step_max"
    short = gym.make(env_id, **{key: 20})  # the limit is an option (alarms may explode before the default 100)
    assert drive(short, seed=7, steps=45, goals=("truncate",))["truncated"] >= 1
    if _kind(env) != "intervention":
        counts = drive(env, seed=7, steps=3 * int(env.unwrapped.config[key]), goals=("terminate",))
        assert counts["terminated"] >= 1, counts


#: Steps per env of the soak run (`pytest -m soak`).
SOAK_STEPS = 2000


@pytest.mark.soak
@pytest.mark.parametrize("env_id", ENV_IDS)
def test_soak_2000_steps_keep_the_contract(env_id):
    """Nightly (`pytest -m soak`, deselected by default): SOAK_STEPS random and goal-driven steps per env, every step
    checked against the contract, over many whole episodes."""
    env = gym.make(env_id)
    goals = ("truncate",) if _kind(env) == "intervention" else ("terminate", "random", "truncate")
    counts = drive(env, seed=2026, steps=SOAK_STEPS, goals=goals)
    assert counts["terminated"] + counts["truncated"] >= SOAK_STEPS // 200, counts  # whole episodes, many of them

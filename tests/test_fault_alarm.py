"""FaultAlarm semantics: spaces, masks, clearing cascades, reward, termination, errors, reference behaviour."""

from __future__ import annotations

import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest

import dogym.envs  # noqa: F401
from dogym.agents import REFERENCE_POLICIES, evaluate
from dogym.envs.core import InvalidActionError
from dogym.envs.fault_alarm.dynamics import BranchingDynamics
from dogym.envs.fault_alarm.env import FaultAlarmEnv


@pytest.fixture
def env() -> FaultAlarmEnv:
    return gym.make("dogym/FaultAlarm-v0")


def descendants_by_walking(parent: np.ndarray, roots: set[int]) -> set[int]:
    """Independent reference: alarms whose ancestor chain meets `roots` (or that are in `roots`)."""
    out = set()
    for i in range(len(parent)):
        j = i
        while j >= 0:
            if j in roots:
                out.add(i)
                break
            j = int(parent[j])
    return out


def test_paper_scale_spaces_and_model(env):
    base = env.unwrapped
    assert env.action_space.n == 900
    assert env.observation_space.shape == (1800,) and env.observation_space.dtype == np.float32
    assert (base.n_devices, base.n_types) == (50, 18)
    graph = base.true_graph
    assert graph.number_of_edges() == 94
    hops = [d["hop"] for _, _, d in graph.edges(data=True)]
    assert hops.count(0) == 54 and hops.count(1) == 40
    alphas = np.array([d["alpha"] for _, _, d in graph.edges(data=True)])
    assert alphas.min() >= 1e-4 and alphas.max() <= 1.3e-3
    assert np.all((base.model.mu >= 5e-4) & (base.model.mu <= 8e-4))
    topo = base.topology
    assert topo.number_of_nodes() == 50 and topo.number_of_edges() == 50
    assert min(dict(topo.degree).values()) >= 1
    assert len(base.root_candidates) == 50
    root_types = {base.type_names[t] for t in np.unique(base.root_candidates % 18)}
    assert "HARD_BAD" in root_types and len(root_types) == 5


def test_reset_starts_with_a_cascade_from_distinct_root_types(env):
    for seed in range(5):
        obs, info = env.reset(seed=seed)
        assert info["n_alarms"] >= 20
        counts = obs.reshape(50, 18, 2)[..., 0]
        assert counts.sum() == info["n_alarms"]


def test_masks_match_active_pairs(env):
    obs, info = env.reset(seed=3)
    rng = np.random.default_rng(0)
    for _ in range(30):
        counts = obs.reshape(-1, 2)[:, 0]
        mask = env.unwrapped.action_masks()
        assert mask.dtype == bool and mask.shape == (900,)
        assert np.array_equal(mask, counts > 0)
        assert np.array_equal(mask, info["action_mask"])
        ages = obs.reshape(-1, 2)[:, 1]
        assert np.all(ages[~mask] == 0) and np.all((ages >= 0) & (ages <= 1))
        obs, _, terminated, truncated, info = env.step(int(rng.choice(np.flatnonzero(mask))))
        if terminated or truncated:
            obs, info = env.reset()


def tree_with_depth(dyn: BranchingDynamics) -> tuple[int, int]:
    """(root alarm, one of its grandchildren or children) in the current alarm forest."""
    for i in range(len(dyn.parent)):
        p = int(dyn.parent[i])
        if p >= 0 and dyn.parent[p] < 0 and dyn.pair[p] % 18 != dyn.pair[i] % 18:
            return p, i
    raise AssertionError("no two-level cascade found")


def test_clearing_a_root_removes_its_whole_cascade(env):
    env.reset(seed=11)
    dyn = env.unwrapped.dynamics
    root, _ = tree_with_depth(dyn)
    pair = int(dyn.pair[root])
    expected = descendants_by_walking(dyn.parent, set(np.flatnonzero(dyn.pair == pair)))
    survivors_before = [(int(dyn.pair[i]), float(dyn.birth[i])) for i in range(len(dyn.pair)) if i not in expected]
    result = dyn.clear(pair)
    assert result.n_cleared == len(expected) >= 2
    assert sorted(zip(dyn.pair.tolist(), dyn.birth.tolist(), strict=True)) == sorted(survivors_before)
    assert np.all(dyn.parent < np.arange(len(dyn.parent)))


def test_clearing_a_child_leaves_its_root(env):
    env.reset(seed=11)
    dyn = env.unwrapped.dynamics
    root, child = tree_with_depth(dyn)
    root_pair, child_pair = int(dyn.pair[root]), int(dyn.pair[child])
    before = dyn.counts()[root_pair]
    result = dyn.clear(child_pair)
    assert result.n_cleared >= 1 and child_pair in result.pairs
    assert dyn.counts()[root_pair] == before
    assert dyn.counts()[child_pair] == 0


def test_step_reports_cleared_cascade_and_local_counts(env):
    _, info = env.reset(seed=5)
    root_pair = int(np.flatnonzero(info["root_cause_mask"])[0])
    _, _, _, _, info = env.step(root_pair)
    assert info["action_effective"] and info["n_cleared"] >= 1 and info["cleared_mask"][root_pair]
    device, typ = divmod(root_pair, 18)
    assert (info["acted_device"], info["acted_type"]) == (device, typ)
    assert info["device_counts_before"][typ] >= 1
    assert info["device_counts_before"].shape == info["neighbour_counts_after"].shape == (18,)


def test_inactive_action_wastes_the_step(env):
    _, info = env.reset(seed=2)
    inactive = int(np.flatnonzero(~info["action_mask"])[0])
    _, _, _, _, info = env.step(inactive)
    assert not info["action_effective"] and info["n_cleared"] == 0 and not info["cleared_mask"].any()


@pytest.mark.parametrize("mode", ["paper", "authors"])
def test_reward_formula(mode):
    env = gym.make("dogym/FaultAlarm-v0", reward_mode=mode)
    _, info = env.reset(seed=4)
    rng = np.random.default_rng(4)
    for t in range(1, 15):
        _, reward, terminated, truncated, info = env.step(int(rng.choice(np.flatnonzero(info["action_mask"]))))
        n_t = info["n_alarms_before"]
        if mode == "authors" and info["n_cleared"] < n_t:
            n_t -= info["n_cleared"]
        assert reward == pytest.approx((n_t - info["n_alarms"]) / n_t - t / 100)
        if terminated or truncated:
            break


def test_terminates_when_clear_and_truncates_at_100():
    env = gym.make("dogym/FaultAlarm-v0")
    oracle = REFERENCE_POLICIES["oracle"](env, 0)
    obs, info = env.reset(seed=0)
    terminated = truncated = False
    while not (terminated or truncated):
        obs, _, terminated, truncated, info = env.step(oracle.act(obs, info))
    assert terminated and info["n_alarms"] == 0
    _, info = env.reset(seed=0)
    steps, truncated, terminated = 0, False, False
    while not (terminated or truncated):  # only wasted steps: the cascade grows until it explodes or time is up
        _, _, terminated, truncated, info = env.step(int(np.flatnonzero(~info["action_mask"])[0]))
        steps += 1
    assert (truncated and steps == 100) or (terminated and info["exploded"] and steps <= 100)


def test_caps_bound_memory():
    env = gym.make("dogym/FaultAlarm-v0")
    rng = np.random.default_rng(0)
    for seed in range(3):
        obs, info = env.reset(seed=seed)
        done = False
        while not done:
            obs, _, terminated, truncated, info = env.step(int(rng.integers(900)))
            assert obs.reshape(-1, 2)[:, 0].max() <= 10
            assert info["n_alarms"] <= 1001
            done = terminated or truncated
        assert info["exploded"] == (info["n_alarms"] > 1000)


@pytest.mark.parametrize(
    "action", [-1, 900, 3.0, np.nan, "3", None, True, np.array([1, 2]), np.array(2.5), [4]], ids=repr
)
def test_invalid_actions_raise_clear_errors(env, action):
    env.reset(seed=0)
    with pytest.raises(InvalidActionError, match=r"\[0, 900\)"):
        env.step(action)


def test_integer_like_actions_are_accepted(env):
    env.reset(seed=0)
    for action in (3, np.int64(3), np.array(3), np.array([3], dtype=np.int32)):
        env.step(action)


def test_unknown_option_and_bad_values_are_rejected():
    with pytest.raises(TypeError, match="unknown option"):
        FaultAlarmEnv(n_device=3)
    with pytest.raises(ValueError, match="dynamics"):
        FaultAlarmEnv(dynamics="euler")
    with pytest.raises(ValueError, match="reward_mode"):
        FaultAlarmEnv(reward_mode="other")


def test_poisson_dynamics_zeroes_only_the_acted_pair():
    env = gym.make("dogym/FaultAlarmPoisson-v0")
    _, info = env.reset(seed=1)
    counts = env.unwrapped.dynamics.counts()
    action = int(np.argmax(counts))
    _, _, _, _, info = env.step(action)
    assert info["n_cleared"] == counts[action]
    assert np.flatnonzero(info["cleared_mask"]).tolist() == [action]


def test_oracle_clears_nearly_all_and_uniform_random_almost_none():
    env = gym.make("dogym/FaultAlarm-v0")
    oracle = evaluate(env, REFERENCE_POLICIES["oracle"](env, 0), 100, seed=0).summary()
    assert oracle["cleared_rate"] >= 0.95
    assert oracle["steps_mean"] <= 14
    rand = evaluate(env, REFERENCE_POLICIES["random"](env, 0), 40, seed=0).summary()
    assert rand["cleared_rate"] <= 0.05
    assert rand["exploded_rate"] >= 0.5


def test_renders():
    env = gym.make("dogym/FaultAlarm-v0", render_mode="ansi")
    env.reset(seed=0)
    text = env.render()
    assert "HARD_BAD" in text or "active alarms" in text
    assert text.count("\n") == env.unwrapped.dynamics.counts().astype(bool).sum() + 2
    env = gym.make("dogym/FaultAlarm-v0", render_mode="rgb_array")
    env.reset(seed=0)
    image = env.render()
    assert image.shape == (18 * 8, 50 * 8, 3) and image.dtype == np.uint8
    assert (image[..., 1] < 240).any()  # active pairs are shaded


def test_make_with_module_prefix_from_any_directory(tmp_path):
    code = (
        "import gymnasium as gym; env = gym.make('dogym.envs:dogym/FaultAlarm-v0'); "
        "obs, _ = env.reset(seed=0); print(obs.shape)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "(1800,)"


def test_async_vector_env():
    envs = gym.make_vec("dogym/FaultAlarmSmall-v0", num_envs=2, vectorization_mode="async")
    obs, infos = envs.reset(seed=0)
    assert obs.shape == (2, 160)
    for _ in range(5):
        obs, rewards, terminated, truncated, infos = envs.step(envs.action_space.sample())
    assert rewards.shape == (2,)
    envs.close()


def test_maskable_ppo_trains_on_the_small_variant():
    from sb3_contrib import MaskablePPO

    env = gym.make("dogym/FaultAlarmSmall-v0")
    model = MaskablePPO("MlpPolicy", env, n_steps=256, batch_size=64, n_epochs=2, seed=0, device="cpu")
    model.learn(total_timesteps=2048)
    assert model.num_timesteps >= 2048
    obs, _ = env.reset(seed=0)
    action, _ = model.predict(obs, action_masks=env.unwrapped.action_masks(), deterministic=True)
    assert env.unwrapped.action_masks()[int(action)]


def test_small_variant_is_the_same_env_in_every_process():
    """Its type subset and order must not depend on Python's string hash seed (set iteration order)."""
    import os
    import subprocess
    import sys

    code = (
        "import gymnasium as gym, numpy as np, dogym.envs; e = gym.make('dogym/FaultAlarmSmall-v0'); "
        "o, _ = e.reset(seed=3); print(e.unwrapped.type_names, float((o * np.arange(1, o.size + 1)).sum()))"
    )
    outs = set()
    for hash_seed in ("0", "1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        outs.add(
            subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
        )
    assert len(outs) == 1, outs

"""FaultAlarm semantics: spaces, masks, clearing cascades, reward, termination, errors, reference behaviour."""

from __future__ import annotations

import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest

import dogym.envs  # noqa: F401
from dogym.agents import REFERENCE_POLICIES, evaluate
from dogym.envs.core import EnvConfigError, EnvInputError, InvalidActionError
from dogym.envs.fault_alarm.dynamics import BranchingDynamics
from dogym.envs.fault_alarm.env import FaultAlarmEnv
from dogym.envs.fault_alarm.logs import sample_alarm_log


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
    base = env.unwrapped
    n_roots = []
    for seed in range(5):
        obs, info = env.reset(seed=seed)
        assert info["n_alarms"] >= 20
        counts = obs.reshape(50, 18, 2)[..., 0]
        assert counts.sum() == info["n_alarms"]
        dyn = base.dynamics
        initial = (dyn.parent < 0) & (dyn.birth == 0.0)  # the reset's root alarms (transient ones may have expired)
        types = (dyn.pair[initial] % 18).tolist()
        assert len(set(types)) == len(types)  # distinct root types
        assert np.isin(dyn.pair[initial], base.root_candidates).all()
        n_roots.append(len(types))
    assert max(n_roots) == 5


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


def test_simulator_internals_only_with_debug_info(env):
    _, info = env.reset(seed=5)
    _, _, _, _, step_info = env.step(int(np.flatnonzero(info["action_mask"])[0]))
    assert not {"root_cause_mask", "cleared_mask"} & (set(info) | set(step_info))  # an operator never sees them
    debug = gym.make("dogym/FaultAlarm-v0", debug_info=True)
    _, info = debug.reset(seed=5)
    _, _, _, _, step_info = debug.step(int(np.flatnonzero(info["action_mask"])[0]))
    assert "root_cause_mask" in info and {"root_cause_mask", "cleared_mask"} <= set(step_info)
    with pytest.raises(ValueError, match="debug_info"):
        gym.make("dogym/FaultAlarm-v0", debug_info="yes")


def test_step_reports_cleared_cascade_and_local_counts():
    env = gym.make("dogym/FaultAlarm-v0", debug_info=True)
    _, info = env.reset(seed=5)
    root_pair = int(np.flatnonzero(info["root_cause_mask"])[0])
    _, _, _, _, info = env.step(root_pair)
    assert info["action_effective"] and info["n_cleared"] >= 1 and info["cleared_mask"][root_pair]
    device, typ = divmod(root_pair, 18)
    assert (info["acted_device"], info["acted_type"]) == (device, typ)
    assert info["device_counts_before"][typ] >= 1
    assert info["device_counts_before"].shape == info["neighbour_counts_after"].shape == (18,)


def test_inactive_action_wastes_the_step():
    env = gym.make("dogym/FaultAlarm-v0", debug_info=True)
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


def play_wasted_steps(env: gym.Env, seed: int) -> tuple[int, bool, bool, dict]:
    """Act only on inactive pairs until the episode ends; check `t` and the flags on the way."""
    _, info = env.reset(seed=seed)
    steps, terminated, truncated = 0, False, False
    while not (terminated or truncated):
        _, _, terminated, truncated, info = env.step(int(np.flatnonzero(~info["action_mask"])[0]))
        steps += 1
        assert info["t"] == steps and not info["action_effective"]
        assert steps <= 1000, "the episode never ended"
    return steps, terminated, truncated, info


def test_terminates_when_clear():
    env = gym.make("dogym/FaultAlarm-v0")
    oracle = REFERENCE_POLICIES["oracle"](env, 0)
    obs, info = env.reset(seed=0)
    terminated = truncated = False
    while not (terminated or truncated):
        obs, _, terminated, truncated, info = env.step(oracle.act(obs, info))
    assert terminated and not truncated and info["n_alarms"] == 0 and not info["exploded"]
    assert info["t"] < 100


def test_wasted_steps_let_the_cascade_explode_before_the_limit():
    for seed in range(3):
        steps, terminated, truncated, info = play_wasted_steps(gym.make("dogym/FaultAlarm-v0"), seed)
        assert terminated and not truncated and info["exploded"] and steps < 100
        assert info["n_alarms"] == 1001  # the total cap admits exactly one alarm over max_alarms = 1000


def test_truncates_exactly_at_step_max_without_a_time_limit_wrapper():
    # No excitation (alpha = 0), no transient pairs: the alarms never die out and never explode.
    quiet = {"alpha_range": (0.0, 0.0), "min_initial_alarms": 0, "transient_fraction": 0.0}
    env = gym.make("dogym/FaultAlarm-v0", **quiet)
    assert env.spec.max_episode_steps is None and env.unwrapped.config["step_max"] == 100
    wrapper = env
    while wrapper is not env.unwrapped:
        assert not isinstance(wrapper, gym.wrappers.TimeLimit)
        wrapper = wrapper.env
    steps, terminated, truncated, info = play_wasted_steps(env, 0)
    assert truncated and not terminated and steps == 100 and info["n_alarms"] > 0
    steps, terminated, truncated, _ = play_wasted_steps(gym.make("dogym/FaultAlarm-v0", step_max=7, **quiet), 0)
    assert truncated and not terminated and steps == 7


def test_caps_bound_memory():
    env = gym.make("dogym/FaultAlarm-v0")
    rng = np.random.default_rng(0)
    n_exploded = 0
    for seed in range(3):
        obs, info = env.reset(seed=seed)
        done = False
        while not done:
            obs, _, terminated, truncated, info = env.step(int(rng.integers(900)))
            assert obs.reshape(-1, 2)[:, 0].max() <= 10  # per-pair cap
            assert info["n_alarms"] <= 1001  # total cap
            assert len(env.unwrapped.dynamics.pair) == info["n_alarms"]  # no stale alarm records kept
            done = terminated or truncated
        n_exploded += info["exploded"]
    assert n_exploded >= 1  # uniform-random play does reach the cap, so the bounds above were exercised


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


@pytest.mark.parametrize(
    "options, message",
    [
        ({"n_device": 3}, r"unknown option\(s\) \['n_device'\]; allowed: \[.*'n_devices'"),
        ({"dynamics": "euler"}, r"dynamics must be one of \['branching', 'poisson'\], got 'euler'"),
        ({"reward_mode": "other"}, r"reward_mode must be one of \['paper', 'authors'\], got 'other'"),
        ({"hop_normalization": "max"}, r"hop_normalization must be one of \['rw', 'sym'.*\], got 'max'"),
        ({"step_max": 0}, r"step_max must be an integer >= 1, got 0"),
        ({"step_max": 2.5}, r"step_max must be an integer >= 1, got 2\.5"),
        ({"p_root": 1.5}, r"p_root must be a finite number in \[0, 1\], got 1\.5"),
        ({"time_range": 0.0}, r"time_range must be a finite number in \(0, inf\], got 0\.0"),
        ({"alpha_range": (1e-3, 1e-4)}, r"alpha_range must be a pair \(low, high\) with 0 <= low <= high"),
        ({"render_mode": "human"}, r"render_mode must be one of \['ansi', 'rgb_array'\] or None, got 'human'"),
    ],
    ids=lambda x: str(x)[:30],
)
def test_unknown_option_and_bad_values_are_rejected(options, message):
    with pytest.raises(EnvConfigError, match=message) as err:
        FaultAlarmEnv(**options)
    assert isinstance(err.value, ValueError) and isinstance(err.value, EnvInputError)
    assert "\n" not in str(err.value)


def test_a_cyclic_type_graph_is_a_config_error():
    import networkx as nx

    with pytest.raises(EnvConfigError, match="cannot build its model"):
        FaultAlarmEnv(type_graph=nx.DiGraph([("A", "B"), ("B", "A")]))


def test_step_max_comes_from_the_config_and_ints_are_normalised():
    env = FaultAlarmEnv(step_max=50.0)
    assert env.config["step_max"] == 50 and isinstance(env.config["step_max"], int)


def test_poisson_dynamics_zeroes_only_the_acted_pair():
    env = gym.make("dogym/FaultAlarmPoisson-v0", debug_info=True)
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
    counts = env.unwrapped.dynamics.counts().reshape(50, 18)
    lines = text.splitlines()
    assert f"active alarms={counts.sum()}" in lines[0]
    assert len(lines) == np.count_nonzero(counts) + 2
    rows = {(int(d), t, int(c)) for d, t, c in (line.split() for line in lines[2:])}
    names = env.unwrapped.type_names
    assert rows == {(d, names[t], int(counts[d, t])) for d, t in zip(*np.nonzero(counts), strict=True)}
    env = gym.make("dogym/FaultAlarm-v0", render_mode="rgb_array")
    env.reset(seed=0)
    image = env.render()
    assert image.shape == (18 * 8, 50 * 8, 3) and image.dtype == np.uint8
    counts = env.unwrapped.dynamics.counts().reshape(50, 18)
    cell_green = image[::8, ::8, 1]  # one pixel per (type, device) cell
    np.testing.assert_array_equal(cell_green < 240, counts.T > 0)  # exactly the active pairs are shaded


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
    obs, _ = env.reset(seed=0)
    for _ in range(20):  # the trained policy never picks a masked-out (inactive) pair
        mask = env.unwrapped.action_masks()
        action, _ = model.predict(obs, action_masks=mask, deterministic=True)
        assert mask[int(action)]
        obs, _, terminated, truncated, _ = env.step(int(action))
        if terminated or truncated:
            obs, _ = env.reset()


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


def test_ground_truth_and_structural_view():
    env = gym.make("dogym/FaultAlarm-v0").unwrapped
    truth = env.ground_truth()
    assert set(truth) == {"graph", "causal_order", "model"}
    assert truth["graph"].number_of_edges() == 94 and truth["causal_order"][0] == "HARD_BAD"
    assert sorted(truth["graph"].edges(data=True)) == sorted(env.true_graph.edges(data=True))
    assert truth["model"] is env.model
    rank = {name: i for i, name in enumerate(truth["causal_order"])}
    assert all(rank[c] < rank[e] for c, e in truth["graph"].edges)
    view = env.structural_view()
    assert view.type_names == tuple(env.type_names) and (view.n_devices, view.n_types) == (50, 18)
    np.testing.assert_array_equal(view.adjacency, env.model.adjacency)
    np.testing.assert_array_equal(view.hops, env.model.hops)
    assert (view.step_max, view.time_range, view.max_hop) == (100, 50.0, 2)
    assert not hasattr(view, "kernel_decay")  # a parameter of the simulator, not of the operator's view
    assert view.topology.number_of_edges() == env.topology.number_of_edges() == 50
    assert not view.adjacency.flags.writeable
    with pytest.raises(AttributeError):
        view.step_max = 3
    assert not any(hasattr(view, name) for name in ("graph", "true_graph", "model", "edge_alpha", "mu"))


def test_observational_data_is_the_passive_log():
    env = gym.make("dogym/FaultAlarmSmall-v0").unwrapped
    env.reset(seed=5)
    state = env.dynamics.pair.copy()
    a, b = env.observational_data(400, seed=3), env.observational_data(400, seed=3)
    np.testing.assert_array_equal(env.dynamics.pair, state)  # drawn on a copy: this env's episode is untouched
    assert len(a.times) == 400 and np.all(np.diff(a.times) >= 0)
    for field in ("times", "types", "devices"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    assert not np.array_equal(env.observational_data(400, seed=4).times, a.times)
    log = sample_alarm_log(400, 3, "dogym/FaultAlarmSmall-v0")  # the benchmark wrapper returns the same events
    np.testing.assert_array_equal(log.events.times, a.times)
    np.testing.assert_array_equal(log.events.types, a.types)
    # Poisson dynamics: the log comes from the same THP in branching form
    poisson = gym.make("dogym/FaultAlarmSmall-v0", dynamics="poisson").unwrapped
    np.testing.assert_array_equal(poisson.observational_data(400, seed=3).times, a.times)

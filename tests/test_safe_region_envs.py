"""The safe-region envs: true regions (areas at delta = 0.8), specification costs, passive data, rendering, errors and
determinism."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import dogym.envs  # noqa: F401
from dogym.causal.intervention import Intervention
from dogym.envs.core import EnvConfigError, EnvInputError

EDGE = "dogym/EdgeSafeRegion-v0"
EDGE2 = "dogym/EdgeSafeRegionNonStationary-v0"


@pytest.fixture(autouse=True)
def one_blas_thread():
    """Tiny GPs run several times slower with BLAS threads oversubscribing the cores."""
    with threadpool_limits(1):
        yield


def do(c: float, m: float) -> dict:
    return {"mask": np.array([1, 1]), "value": np.array([c, m])}


def test_edge_true_region_areas_at_delta_08():
    assert gym.make(EDGE).unwrapped.ground_truth()["region"].size() == pytest.approx(0.4869, abs=0.001)
    assert gym.make(EDGE, reading="literal").unwrapped.ground_truth()["region"].size() == pytest.approx(
        0.4485, abs=0.001
    )
    assert gym.make(EDGE, delta=0.5).unwrapped.ground_truth()["region"].size() == pytest.approx(0.561, abs=0.002)


def test_edge_nonstationary_region_changes_after_t10():
    env = gym.make(EDGE2).unwrapped
    sizes = [env.true_region(k).size() for k in range(1, 6)]  # judged at t = 11, 13, 15, 17, 19
    np.testing.assert_allclose(sizes, [0.623, 0.461, 0.490, 0.342, 0.198], atol=0.002)
    assert env.ground_truth(t=1)["region"] is env.true_region(1)  # cached
    assert env.window_start(1) == 10 and env.window_start(3) == 14


def test_cost_is_the_specification_violation_and_intervention_cost_is_c_of_u():
    env = gym.make(EDGE).unwrapped
    env.reset(seed=0)
    _, reward, _, _, info = env.step(do(0.5, 0.5))  # Y = 34.3 W < 50 always
    assert info["cost"] == 0.0 and info["intervention_cost"] == pytest.approx(2.0) == -reward
    _, _, _, _, info = env.step(do(0.0, 0.0))  # q = 175 > 50
    assert info["cost"] == 1.0 and info["intervention_cost"] == pytest.approx(0.5)
    np.testing.assert_allclose(env.costs_of(np.array([[1.0, 1.0], [0.0, 0.0]])), [4.5, 0.5])
    _, _, _, _, info = env.step({"mask": np.zeros(2), "value": np.zeros(2)})
    assert info["intervention_cost"] == 0.0 and info["time"] == 14


def test_violation_frequency_matches_the_true_probability():
    env = gym.make(EDGE).unwrapped
    env.reset(seed=1)
    u = np.array([0.5, 0.2])  # q = 22.5: p = F_W(27.5 / 34.3)
    p = float(env.ground_truth()["region"].probability(u[None])[0])
    costs = [env.step(do(*u))[4]["cost"] for _ in range(600)]
    assert 0.9 < p < 0.999 and abs((1 - np.mean(costs)) - p) < 0.03


def test_passive_data_follows_passive_operation():
    env = gym.make(EDGE).unwrapped
    data = env.observational_data(2000, seed=3)
    assert set(data) == {"W", "C", "M", "Y"} and all(len(v) == 2000 for v in data.values())
    assert abs(np.mean(data["Y"] < 50) - 0.297) < 0.03  # U-shaped Beta(0.5, 0.5) allocations: mostly unsafe
    again = env.observational_data(2000, seed=3)
    assert all(np.array_equal(data[k], again[k]) for k in data)


def test_render_draws_truth_estimate_and_last_intervention():
    env = gym.make(EDGE, render_mode="rgb_array").unwrapped
    env.reset(seed=0)
    image = env.render()
    assert image.shape == (200, 200, 3) and image.dtype == np.uint8
    red = np.all(image == (230, 60, 60), axis=-1).mean()
    assert red == pytest.approx(0.487, abs=0.01)
    env.show_estimate(lambda u: np.linalg.norm(u - 0.5, axis=1) < 0.2)
    env.step(do(0.5, 0.5))
    image = env.render()
    assert np.all(image == (150, 60, 170), axis=-1).mean() == pytest.approx(np.pi * 0.04, abs=0.01)
    assert np.all(image[97:102, 98:103] == 0)  # the cell of (0.5, 0.5): column 100, row 199 - 100
    assert gym.make(EDGE).unwrapped.render() is None


def test_bad_controls_and_options_raise_the_contract_errors():
    env = gym.make(EDGE).unwrapped
    env.reset(seed=0)
    for action in (do(1.2, 0.5), do(np.nan, 0.5), do(0.5, -0.1), Intervention({"W": 0.5}), Intervention({"Z": 1.0})):
        with pytest.raises(EnvInputError):
            env.step(action)
    for options in (
        {"scenario": 3},
        {"reading": "both"},
        {"delta": 0.0},
        {"spec_horizon": 0},
        {"monitoring_steps": -1},
    ):
        with pytest.raises(EnvConfigError):
            gym.make(EDGE, **options)


@pytest.mark.parametrize("env_id", [EDGE, EDGE2])
def test_same_seed_same_trajectory(env_id):
    def run(seed):
        env = gym.make(env_id)
        env.reset(seed=seed)
        rng = np.random.default_rng(0)
        return [env.step(do(*rng.random(2)))[0] for _ in range(5)]

    assert all(np.array_equal(a, b) for a, b in zip(run(4), run(4), strict=True))
    assert not all(np.array_equal(a, b) for a, b in zip(run(4), run(5), strict=True))


RAN_CPU, RAN_STEER = "dogym/RANCpu-v0", "dogym/RANSteering-v0"


def do_ran(env, **values) -> dict:
    mask = np.zeros(len(env.controllable), np.int8)
    value = env.action_space["value"].low.copy()
    for name, v in values.items():
        mask[env.controllable.index(name)], value[env.controllable.index(name)] = 1, v
    return {"mask": mask, "value": value}


def test_ran_cpu_true_region_is_exact_and_matches_the_simulator():
    env = gym.make(RAN_CPU).unwrapped
    region = env.ground_truth()["region"]
    assert env.intervention_set == ("C1", "C2", "C3", "C4", "CU1", "CU2") and region.error == 0.0
    assert env.scenario_context["G1"] == 10.0  # the paper's TX/RX gain (section VIII-A)
    p = region.probability(np.array([[1.0] * 6, [0.45] + [1.0] * 5, [2.9] + [1.0] * 5, [0.6] + [1.0] * 5]))
    assert p[0] > 0.999 and p[1] < 1e-6 and p[2] < 1e-6 and 0.9 < p[3] < 0.97  # too few / too many cores
    assert region.size() == pytest.approx(0.27, abs=0.02)
    env.reset(seed=0)
    costs = [env.step(do_ran(env, C1=0.6))[4]["cost"] for _ in range(300)]
    assert abs((1 - np.mean(costs)) - p[3]) < 0.04


def test_ran_steering_region_has_both_ends_unsafe_and_a_wide_margin_inside():
    env = gym.make(RAN_STEER).unwrapped
    region = env.ground_truth()["region"]
    assert region.error == 0.0 and region.size() == pytest.approx(0.6, abs=0.01)  # R in [0.75, 3.75)
    p = region.probability(np.array([[0.25], [1.0], [1.5], [3.7], [3.8], [5.0]]))
    assert p[0] < 0.2 and p[1] > 0.99 and p[2] > 0.98 and p[3] > 0.85  # ping-pong; balanced; the last safe step
    assert p[4] < 0.76 and p[5] < 0.65  # loads drift apart: congestion
    env.reset(seed=0)
    _, reward, _, _, info = env.step(do_ran(env, R=1.5))
    assert info["intervention_cost"] == pytest.approx(0.1) == -reward
    assert env.step(do_ran(env, R=1.5))[4]["cost"] in (0.0, 1.0)


@pytest.mark.parametrize("threshold", [0.3, 1.5, 4.0])
def test_ran_steering_exact_truth_matches_the_simulated_windows(threshold):
    env = gym.make(RAN_STEER).unwrapped
    p = env.ground_truth()["region"].probability(np.array([[threshold]]))[0]
    env.reset(seed=1)
    held = 1 - np.mean([env.step(Intervention({"R": threshold}))[4]["cost"] for _ in range(2000)])
    assert abs(held - p) < 4 * np.sqrt(p * (1 - p) / 2000) + 1e-3


def test_ran_ue_process_keeps_the_papers_per_du_rates():
    from dogym.envs.safe_region.ran import EVENT_P, PATTERN_P, PRE_STEER, START_STATE, UE_P

    bits = (np.arange(len(PATTERN_P))[:, None] >> np.arange(len(EVENT_P))) & 1
    assert PATTERN_P.sum() == pytest.approx(1.0)
    assert PATTERN_P[(bits[:, 0] | bits[:, 5]) == 1].sum() == pytest.approx(UE_P)  # cell a gains a UE
    assert PATTERN_P[(bits[:, 1] | bits[:, 4]) == 1].sum() == pytest.approx(UE_P)  # cell a loses one
    assert PATTERN_P[(bits[:, 2] | bits[:, 4]) == 1].sum() == pytest.approx(UE_P)  # cell b gains one
    start = PRE_STEER[START_STATE]  # from 5 and 5 UEs: the mean count does not drift
    assert (PATTERN_P[:, None] * start).sum(0) == pytest.approx([5.0, 5.0])


def test_ran_passive_data_and_the_lagged_cpu_confounder():
    from dogym.causal.effects import GPSCM
    from dogym.causal.graphs import backdoor_adjustment_set
    from dogym.causal.specification import Bound, Specification
    from dogym.envs.safe_region.ran import du_power, served

    env = gym.make(RAN_CPU).unwrapped
    view = env.structural_view()
    assert backdoor_adjustment_set(view.graph, ["C1"], ["P1"]) == ["C1_prev"]
    data = env.observational_data(6000, seed=0)
    assert set(data) == set(env.variable_names) and 0.6 <= data["C1"].min() and data["C1"].max() <= 1.0
    assert np.mean(data["C1"] == data["C1_prev"]) == pytest.approx(0.9, abs=0.02)  # the allocation persists
    rng = np.random.default_rng(0)
    cs = np.array([0.65, 0.8, 0.95])
    load, gain, prev = rng.uniform(0, 10, (3, 100000)) * [[1], [4], [0.04]] + [[0], [10], [0.6]]
    truth = [np.mean(du_power(c, prev, served(load, gain, c, 20.0)) + rng.standard_normal(100000) < 42.0) for c in cs]
    spec = Specification((Bound("P1", "<", 42.0),), horizon=1)
    adjusted = GPSCM({"S1": view.parents("S1"), "P1": view.parents("P1")}, max_points=150, max_condition=400)
    mean, _ = adjusted.fit(data).spec_effect(cs[:, None], ["C1"], spec, n_rows=1000, n_draws=4)
    np.testing.assert_allclose(mean, truth, atol=0.05)
    naive = GPSCM({"S1": view.parents("S1"), "P1": ("C1", "S1")}, max_points=150, max_condition=400)
    naive_mean, _ = naive.fit(data).spec_effect(cs[:, None], ["C1"], spec, n_rows=1000, n_draws=4)
    assert np.max(np.abs(naive_mean - truth)) > 0.06  # without C1_prev the estimate is confounded


def test_ran_bad_controls_and_options_raise_the_contract_errors():
    env = gym.make(RAN_STEER).unwrapped
    env.reset(seed=0)
    for action in (do_ran(env, R=5.5), do_ran(env, C1=0.2), do_ran(env, M1=np.nan), Intervention({"L1": 3.0})):
        with pytest.raises(EnvInputError):
            env.step(action)
    for options in ({"scenario": "memory"}, {"spec_horizon": 0}, {"delta": 1.5}):
        with pytest.raises(EnvConfigError):
            gym.make(RAN_CPU, **options)
    assert gym.make(RAN_STEER).unwrapped.config["spec_horizon"] == 5
    assert gym.make(RAN_CPU, spec_horizon=3).unwrapped.specification.horizon == 3


@pytest.mark.parametrize("env_id", [RAN_CPU, RAN_STEER])
def test_ran_same_seed_same_windows(env_id):
    def run(seed):
        env = gym.make(env_id)
        env.reset(seed=seed)
        env.action_space.seed(0)
        return [env.step(env.action_space.sample())[0] for _ in range(3)]

    assert all(np.array_equal(a, b) for a, b in zip(run(1), run(1), strict=True))
    assert not all(np.array_equal(a, b) for a, b in zip(run(1), run(2), strict=True))


def test_thresholds_with_the_same_steering_key_share_their_tables():
    from dogym.envs.safe_region.ran import pair_tables, steering_key

    thresholds = np.concatenate([np.random.default_rng(0).uniform(0.0, 5.0, 300), 0.75 * np.arange(7),
                                 0.75 * np.arange(7) - 1e-9, 0.75 * np.arange(7) + 1e-9])  # fmt: skip
    first: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for r in thresholds:
        tables = pair_tables(np.array(r))
        reference = first.setdefault(steering_key(float(r)), tables)
        assert all(np.array_equal(a, b) for a, b in zip(tables, reference, strict=True)), r
    assert 7 <= len(first) <= 8  # R in [0, 5] crosses the differences 0, 0.75, ..., 4.5
    distinct = {pair_tables(np.array(r))[0].tobytes() for r in (0.5, 1.0, 2.0)}
    assert len(distinct) == 3  # different keys do give different tables

"""The safe-region envs: true regions (areas at delta = 0.8), specification costs, passive data, rendering, errors and
determinism."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import dogym.envs  # noqa: F401
from dogym.causal.intervention import Intervention
from dogym.envs.core import EnvConfigError, EnvInputError

EDGE = "dogym/EdgeSafeRegion-v0"
EDGE2 = "dogym/EdgeSafeRegionNonStationary-v0"


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

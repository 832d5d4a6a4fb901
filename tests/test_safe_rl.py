"""PPO-Lagrangian and CPO (dogym.agents.safe_region.safe_rl): the constraint binds on a tiny constrained env, CPO's step respects
its trust region and linearised constraint, costs land in the right buffer slots, runs repeat under a seed, bad
hyper-parameters fail clearly, and the agents run through train.py on a safe-region env."""

from __future__ import annotations

import json

import gymnasium as gym
import numpy as np
import pytest
import torch as th
from gymnasium import spaces
from scipy.optimize import minimize
from stable_baselines3 import PPO
from threadpoolctl import threadpool_limits

import dogym.envs  # noqa: F401
from dogym.agents.registry import AGENTS, RunContext, family, resolve_hyperparams
from dogym.agents.safe_region.safe_rl.cpo import CPO, conjugate_gradient, cpo_step
from dogym.agents.safe_region.safe_rl.experience import (
    Scorer,
    baseline_readings,
    certified,
    experience_counts,
    log_timeline,
    reading,
    run_timeline,
    until,
)
from dogym.agents.safe_region.safe_rl.family import ALGORITHMS, infer_region, scaled_cost_limit, split_options
from dogym.agents.safe_region.safe_rl.ppo_lagrangian import Lagrange, PPOLagrangian
from dogym.agents.safe_region.safe_rl.view import ControlView
from dogym.experiments.cli import main
from dogym.experiments.papers.col_rl import collect_rl, run_baseline, summarize, text

th.set_num_threads(1)
threadpool_limits(1)

EPISODE, LIMIT = 10, 1.0


class Greedy(gym.Env):
    """A one-step-per-action constrained env: reward a, cost max(a, 0) for a in [-1, 1], episodes of 10 steps, so
    the unconstrained optimum (a = 1) costs 10 per episode and the limit 1 allows a mean positive action of 0.1."""

    observation_space = spaces.Box(-1.0, 1.0, (1,), np.float32)
    action_space = spaces.Box(-1.0, 1.0, (1,), np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.zeros(1, np.float32), {"cost": 0.0}

    def step(self, action):
        a = float(np.clip(action[0], -1.0, 1.0))
        self.t += 1
        return np.zeros(1, np.float32), a, False, self.t >= EPISODE, {"cost": max(a, 0.0)}


def episode_cost(model) -> float:
    """The deterministic policy's cost over one episode."""
    env = Greedy()
    obs, _ = env.reset(seed=0)
    total = 0.0
    for _ in range(EPISODE):
        action, _ = model.predict(obs, deterministic=True)
        obs, _, _, _, info = env.step(action)
        total += info["cost"]
    return total


FAST = {"n_steps": 100, "batch_size": 50, "n_epochs": 5, "learning_rate": 1e-3, "seed": 0}


def test_the_lagrangian_keeps_the_cost_under_its_limit_and_plain_ppo_does_not():
    lag = PPOLagrangian(Greedy(), cost_limit=LIMIT, lambda_lr=0.5, **FAST).learn(1500)
    plain = PPO("MlpPolicy", Greedy(), **FAST, policy_kwargs={"net_arch": {"pi": [64, 64], "vf": [64, 64]},
                                                              "activation_fn": th.nn.Tanh}).learn(800)  # fmt: skip
    assert episode_cost(lag) <= LIMIT
    assert np.mean([row["episode_cost"] for row in lag.history[-3:]]) <= LIMIT
    assert lag.lagrange.value > 0.55  # the multiplier grew while the constraint was violated
    assert episode_cost(plain) > 5 * LIMIT


def test_the_multiplier_rises_above_the_limit_falls_below_it_and_stays_nonnegative():
    lagrange = Lagrange(0.55, 0.035, cost_limit=25.0)
    assert lagrange.update(40.0) > 0.55
    high = lagrange.value
    assert lagrange.update(0.0) < high
    for _ in range(200):
        lagrange.update(0.0)
    assert lagrange.value == 0.0


def test_costs_land_in_the_slot_of_their_step_and_are_all_counted():
    model = PPOLagrangian(Greedy(), cost_limit=LIMIT, **FAST).learn(200)
    buffer = model.rollout_buffer  # the last rollout (flattened in step order: one env)
    expected = np.maximum(np.clip(buffer.actions[:, 0], -1.0, 1.0), 0.0)
    ends = np.flatnonzero(np.r_[buffer.episode_starts[1:].reshape(-1), 1.0])  # truncated steps bootstrap V_C
    keep = np.setdiff1d(np.arange(len(expected)), ends)
    assert np.allclose(buffer.costs.reshape(-1)[keep], expected[keep], atol=1e-6)
    assert model.unsafe_steps == pytest.approx(sum(model.episode_costs), abs=1e-6)


def random_problem(seed: int, dim: int = 6) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    root = rng.normal(size=(dim, dim))
    return root @ root.T + 0.5 * np.eye(dim), rng.normal(size=dim), rng.normal(size=dim)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("c", [-0.5, -0.01, 0.02, 0.3])
def test_the_cpo_step_stays_in_the_trust_region_and_keeps_the_linear_constraint(seed, c):
    hessian, g, b = random_problem(seed)
    delta = 0.01
    x, y = np.linalg.solve(hessian, g), np.linalg.solve(hessian, b)
    step, case = cpo_step(x, y, g @ x, g @ y, b @ y, c, delta)
    kl = 0.5 * step @ hessian @ step
    if case == 0:  # no feasible point in the trust region: the recovery step lowers the cost at the region's edge
        assert kl == pytest.approx(delta, rel=1e-6) and b @ step < 0
        assert c + b @ step > 0
    else:
        assert kl <= delta * (1 + 1e-6)
        assert c + b @ step <= 1e-9 or case == 3  # case 3: the constraint cannot bind anywhere in the region
        if case == 3:
            assert c + b @ step <= 0 and kl == pytest.approx(delta, rel=1e-6)
        best = minimize(lambda z: -g @ z, np.zeros_like(g), jac=lambda z: -g, method="SLSQP",
                        constraints=[{"type": "ineq", "fun": lambda z: delta - 0.5 * z @ hessian @ z},
                                     {"type": "ineq", "fun": lambda z: -(c + b @ z)}])  # fmt: skip
        assert g @ step == pytest.approx(g @ best.x, rel=1e-3, abs=1e-6)  # the step solves the linearised problem


def test_conjugate_gradient_solves_a_small_system():
    hessian, g, _ = random_problem(0)
    matrix = th.as_tensor(hessian, dtype=th.float64)
    x = conjugate_gradient(lambda v: matrix @ v, th.as_tensor(g), 20)
    assert np.allclose(x.numpy(), np.linalg.solve(hessian, g), atol=1e-6)


def test_a_cpo_update_respects_the_trust_region():
    model = CPO(Greedy(), cost_limit=LIMIT, n_steps=100, batch_size=50, n_epochs=2, seed=0).learn(300)
    assert len(model.history) == 3
    assert all(row["kl"] <= model.target_kl * (1 + 1e-4) for row in model.history)
    assert any(row["accepted"] for row in model.history)


def flat_parameters(model) -> np.ndarray:
    return th.nn.utils.parameters_to_vector(model.policy.parameters()).detach().numpy().copy()


@pytest.mark.parametrize("cls", [PPOLagrangian, CPO])
def test_runs_repeat_under_a_seed(cls):
    kwargs = {"n_steps": 50, "batch_size": 25, "n_epochs": 2, "cost_limit": LIMIT}
    runs = [cls(Greedy(), seed=seed, **kwargs).learn(100) for seed in (3, 3, 4)]
    assert np.array_equal(flat_parameters(runs[0]), flat_parameters(runs[1]))
    assert runs[0].unsafe_steps == runs[1].unsafe_steps and runs[0].history == runs[1].history
    assert not np.array_equal(flat_parameters(runs[0]), flat_parameters(runs[2]))


@pytest.mark.parametrize(
    ("cls", "kwargs", "match"),
    [
        (PPOLagrangian, {"lagrangian_multiplier_init": -0.1}, "lagrangian_multiplier_init"),
        (PPOLagrangian, {"lambda_lr": 0.0}, "lambda_lr"),
        (PPOLagrangian, {"cost_limit": float("nan")}, "cost_limit"),
        (PPOLagrangian, {"n_epochs": 0}, "n_epochs"),
        (PPOLagrangian, {"normalize_advantage": True}, "normalize_advantage"),
        (PPOLagrangian, {"cost_gamma": 1.5}, "cost_gamma"),
        (CPO, {"target_kl": 0.0}, "target_kl"),
        (CPO, {"cg_iters": 0}, "cg_iters"),
        (CPO, {"critic_lr": -1.0}, "cost_lr"),
        (CPO, {"batch_size": 1.5}, "batch_size"),
        (CPO, {"ent_coef": 0.01}, "ent_coef"),
        (CPO, {"learning_rate": 0.1}, "learning_rate"),
    ],
)  # fmt: skip
def test_bad_hyperparameters_raise_clear_errors(cls, kwargs, match):
    with pytest.raises(ValueError, match=match):
        cls(Greedy(), **kwargs)


def test_a_discrete_action_space_is_refused():
    env = Greedy()
    env.action_space = spaces.Discrete(2)
    with pytest.raises(ValueError, match="Box action space"):
        CPO(env, n_steps=10)


@pytest.mark.parametrize(
    ("options", "match"),
    [({"episode_length": 0}, "episode_length"), ({"region_grid": "ten"}, "region_grid"),
     ({"obs_normalize": "yes"}, "obs_normalize"), ({"policy_kwargs": {"activation_fn": "swish"}}, "activation_fn")],
)  # fmt: skip
def test_bad_run_options_raise_clear_errors(options, match):
    with pytest.raises(ValueError, match=match):
        split_options("cpo", options)


def test_an_unknown_hyperparameter_or_reward_is_named(tmp_path):
    spec = AGENTS["cpo"]
    for extra, match in (({"not_an_option": 1}, "bad hyper-parameter"), ({"reward": "profit"}, "reward")):
        hyper = {**resolve_hyperparams(spec, "dogym/EdgeSafeRegion-v0"), "n_steps": 10, **extra}
        context = RunContext(spec, "dogym/EdgeSafeRegion-v0", {}, 0, hyper, tmp_path)
        with pytest.raises(ValueError, match=match):
            family(spec.family).build(context)


def test_a_run_with_two_envs_counts_the_steps_of_both(tmp_path):
    spec = AGENTS["cpo"]
    # n_steps is per update over both copies (OmniSafe's steps_per_epoch): one update of 2 x 20 steps.
    hyper = {**resolve_hyperparams(spec, "dogym/EdgeSafeRegion-v0"), "n_steps": 40, "episode_length": 10}
    context = RunContext(spec, "dogym/EdgeSafeRegion-v0", {}, 0, hyper, tmp_path, n_envs=2)
    agent = family(spec.family).build(context)
    agent.learn(40)
    summary = agent.summary()
    assert summary["timesteps"] == 40 and summary["safe_rl"]["episodes"] == 4
    assert summary["history"][0]["step_cost"] == pytest.approx(summary["history"][0]["unsafe"] / 40)
    assert len(summary["history"]) == 1
    counts = agent.model.experience  # every step counted once, at its episode step and cell
    assert counts.sum() == 40 and counts[..., 1].sum() == summary["safe_rl"]["unsafe_interventions"]
    assert counts.sum(axis=(1, 2)).tolist() == [4] * 10
    log = agent.model.experience_log[: agent.model.experience_logged]  # the same steps, one by one
    assert (
        len(log) == 40 and log[:, 2].sum() == counts[..., 1].sum() and sorted(log[:, 0]) == sorted(list(range(10)) * 4)
    )
    with pytest.raises(ValueError, match="multiple of n_envs"):
        family(spec.family).build(RunContext(spec, "dogym/EdgeSafeRegion-v0", {}, 0, {**hyper, "n_steps": 41}, tmp_path,
                                             n_envs=2))  # fmt: skip


def test_the_view_applies_u_on_the_control_box_and_rewards_minus_c_minus_m():
    env = ControlView(gym.make("dogym/EdgeSafeRegion-v0"))
    obs, _ = env.reset(seed=0)
    assert obs.shape == (4,) and env.action_space.shape == (2,)
    _, reward, _, _, info = env.step(np.array([-1.0, 0.5]))
    assert np.allclose(info["controls"], [0.0, 0.75]) and reward == pytest.approx(-0.75)
    assert info["cost"] in (0.0, 1.0)


def test_the_inferred_region_is_the_union_of_visited_cells():
    points = (np.stack(np.meshgrid(np.arange(10), np.arange(10), indexing="ij"), -1).reshape(-1, 2) + 0.5) / 10
    inside, size = infer_region(np.array([[0.51, 0.52], [0.55, 0.58], [0.05, 0.95]]), points, 10)
    assert size == pytest.approx(0.02) and inside.sum() == 2


def test_train_py_reports_unsafe_interventions_and_region_metrics(tmp_path, capsys):
    argv = ["train", "--agent", "ppo-lagrangian", "--env", "dogym/EdgeSafeRegion-v0", "--timesteps", "120",
            "--hyperparams", "n_steps:60", "episode_length:20", "--log-folder", str(tmp_path),
            "--eval-episodes", "1", "--quiet"]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "safe_rl/unsafe_interventions" in out and "truth/precision" in out
    metrics = json.loads((tmp_path / "ppo-lagrangian" / "dogym_EdgeSafeRegion-v0_seed0" / "metrics.json").read_text())
    assert metrics["timesteps"] == 120 and 0 <= metrics["safe_rl"]["unsafe_interventions"] <= 120
    assert metrics["truth"]["true_region_size"] == pytest.approx(0.4869, abs=0.003)
    assert 0 < metrics["region"]["region_size"] <= 20 / 100
    run_dir = tmp_path / "ppo-lagrangian" / "dogym_EdgeSafeRegion-v0_seed0"
    assert main(["evaluate", "--run", str(run_dir), "--episodes", "1", "--quiet"]) == 0  # the saved policy reloads
    assert "episode_cost" in capsys.readouterr().out


@pytest.mark.parametrize("agent", ["ppo-lagrangian", "cpo"])
def test_an_interrupted_run_resumes_exactly(agent, tmp_path):
    from dogym.experiments.runner import RunConfig, train

    hyper = {"n_steps": 64, "batch_size": 32, "n_epochs": 2, "episode_length": 50}

    def config(folder: str) -> RunConfig:
        return RunConfig(agent, "dogym/EdgeSafeRegion-v0", 0, 256, hyperparams=hyper, eval_episodes=1,
                         checkpoint_interval=64, log_folder=str(tmp_path / folder))  # fmt: skip

    expected = train(config("straight"))
    interrupted = config("resumed")
    assert train(interrupted, stop_after_checkpoints=2) is None  # stopped at 128 of 256 env steps
    got = train(interrupted, resume=True)
    for key in ("safe_rl", "eval", "region", "truth", "history"):
        assert got[key] == expected[key], key
    with (
        np.load(config("straight").run_dir / "experience.npz") as a,
        np.load(interrupted.run_dir / "experience.npz") as b,
    ):
        assert a["counts"].shape[0] == 4 and np.array_equal(a["counts"], b["counts"])
    assert len(got["history"]) == 4 and got["timesteps"] == 256
    algo = ALGORITHMS[agent]
    final = [algo.load(c.run_dir / "model.zip").policy.state_dict() for c in (config("straight"), interrupted)]
    for (name, x), (_, y) in zip(final[0].items(), final[1].items(), strict=True):
        assert th.equal(x, y), name


def test_the_cost_limit_is_omnisafes_25_per_1000_steps_scaled_to_the_episode():
    assert scaled_cost_limit(100) == 2.5 and scaled_cost_limit(1000) == 25.0
    for name in ("cpo", "ppo-lagrangian"):
        for env_id in ("dogym/EdgeSafeRegion-v0", "dogym/EdgeSafeRegionNonStationary-v0"):
            hyper = resolve_hyperparams(AGENTS[name], env_id)
            assert hyper["cost_limit"] == scaled_cost_limit(hyper["episode_length"]), (name, env_id)


def test_scenario_2_observes_the_clock_and_the_load_phase():
    hyper = resolve_hyperparams(AGENTS["cpo"], "dogym/EdgeSafeRegionNonStationary-v0")
    assert hyper["time_features"] == "phase"
    assert resolve_hyperparams(AGENTS["cpo"], "dogym/EdgeSafeRegion-v0")["time_features"] == "none"
    env = ControlView(gym.make("dogym/EdgeSafeRegionNonStationary-v0", horizon=100), time_features="phase")
    obs, _ = env.reset(seed=0)
    end = env.unwrapped.window_start(100)
    assert obs.shape == (7,) == env.observation_space.shape
    for t in range(3):  # the features of the next intervention's start time tau = 10 + 2 t
        tau = 10 + 2 * t
        assert np.allclose(obs[-3:], [tau / end, np.sin(tau / 2), np.cos(tau / 2)], atol=1e-6), t
        obs, _, _, _, info = env.step(np.zeros(2))
        assert info["time"] == tau
    with pytest.raises(ValueError, match="time_features"):
        ControlView(gym.make("dogym/EdgeSafeRegion-v0"), time_features="sundial")


def test_experience_certifies_a_cell_only_with_enough_safe_visits():
    # 10 safe of 10: Clopper-Pearson lower bound 0.2^(1/10) = 0.85 >= 0.8; 9 of 9 misses the minimum visits;
    # 50 of 60 (0.83) is not enough evidence at alpha 0.8, 1000 of 1100 (0.91) is; 0 visits never.
    counts = np.array([[10, 0], [9, 0], [50, 10], [1000, 100], [0, 0], [7, 3]])
    assert certified(counts, delta=0.8, alpha=0.8, min_visits=10).tolist() == [True, False, False, True, False, False]
    assert not certified(np.array([[10, 0]]), delta=0.9, alpha=0.8, min_visits=10)[0]  # 0.85 < 0.9
    per_step = np.zeros((3, 2, 2), dtype=int)
    per_step[0, 0], per_step[2, 0], per_step[2, 1] = [5, 0], [7, 1], [0, 4]
    assert experience_counts(per_step, stationary=True).tolist() == [[12, 1], [0, 4]]
    assert experience_counts(per_step, stationary=False, step=3).tolist() == [[7, 1], [0, 4]]


def test_the_logged_steps_give_the_region_and_unsafe_count_at_every_reading():
    scorer = Scorer("dogym/EdgeSafeRegion-v0", step=1)
    centre = scorer.cells // 2 + scorer.grid // 2  # the cell at (0.5, 0.5)
    log = np.array([[0, centre, 0]] * 9 + [[3, 0, 1]] + [[5, centre, 0]] * 2)
    rows = log_timeline(log, scorer, stationary=True, every=5)
    assert [r["timesteps"] for r in rows] == [5, 10, 12] and [r["unsafe"] for r in rows] == [0, 1, 1]
    assert rows[0]["size"] == 0 and rows[1]["size"] == 0  # 9 safe visits: below the minimum of 10
    assert 0 < rows[2]["size"] < 0.01 and rows[2]["precision"] == 1.0  # 11 safe visits certify the centre cell
    assert log_timeline(log, scorer, stationary=False, every=12, step=1)[0]["size"] == 0  # step 1 saw only 9


def test_unsafe_until_90_percent_is_the_count_when_first_reached_and_censored_otherwise():
    hit = until([0, 5, 9, 20], [0.0, 0.1, 0.45, 0.6], 0.5)
    assert hit == {"reached": True, "unsafe": 9.0, "index": 2}
    miss = until([0, 5, 9], [0.0, 0.1, 0.2], 0.5)
    assert miss == {"reached": False, "unsafe": 9.0, "index": None}  # a lower bound: censored
    assert until([0, 1, 2], [0.3, 0.3, 0.3], [1.0, 0.4, 0.3])["index"] == 2  # one target per step (scenario 2)
    score = reading("region", [0, 1, 2], [0.3, 0.3, 0.3], [1.0, 0.4, 0.3], steps=2, total_unsafe=2)
    assert score == {"reading": "region", "reached": True, "unsafe_until": 2.0, "steps": 2.0, "total_unsafe": 2.0,
                     "final_size": 0.3, "target_size": 0.3}  # fmt: skip
    rows = [
        {
            "method": "m",
            "env": "e",
            "reading": "r",
            "seed": s,
            "reached": ok,
            "unsafe_until": v,
            "steps": 10.0,
            "final_size": 0.1,
            "target_size": 0.5,
        }
        for s, (ok, v) in enumerate([(True, 3.0), (False, 40.0)])
    ]
    entry = summarize(rows)[0]
    assert entry["censored"] and entry["lower_bound"] == 40.0 and "mean" not in entry
    assert "> 40 unsafe; censored" in text(entry)
    entry = summarize(rows[:1] * 3)[0]
    assert not entry["censored"] and entry["mean"] == 3.0 and entry["ci95"] == [3.0, 3.0]


def test_the_baselines_step_the_env_random_is_often_unsafe_and_the_centre_never():
    _, timeline = baseline_readings("random", "dogym/EdgeSafeRegion-v0", 0, budget=2000, stationary=True, block=1000)
    assert [c["timesteps"] for c in timeline] == [1000.0, 2000.0]
    assert 0.38 < timeline[-1]["unsafe"] / 2000 < 0.51  # the uniform action is unsafe on ~44% of S1's steps
    assert timeline[-1]["step_cost"] == (timeline[-1]["unsafe"] - timeline[0]["unsafe"]) / 1000
    readings, timeline = baseline_readings("fixed", "dogym/EdgeSafeRegion-v0", 0, budget=1000, stationary=True,
                                           block=1000)  # fmt: skip
    assert timeline[-1]["unsafe"] == 0 and timeline[-1]["precision"] == 1.0
    assert 0 < timeline[-1]["size"] < 0.01  # one certified cell of 20 x 20
    assert [r["reading"] for r in readings] == ["experience", "experience/ceiling"] and not readings[0]["reached"]
    assert readings[0]["final_size"] == timeline[-1]["size"] and readings[0]["steps"] == 1000
    with pytest.raises(ValueError, match="baseline"):
        baseline_readings("greedy", "dogym/EdgeSafeRegion-v0", 0, budget=1000, stationary=True, block=1000)
    with pytest.raises(ValueError, match="multiple of block"):
        baseline_readings("fixed", "dogym/EdgeSafeRegion-v0", 0, budget=1500, stationary=True, block=1000)
    rows, curve = run_baseline("fixed", "dogym/EdgeSafeRegion-v0", 0, budget=1000, block=1000)
    assert rows == [{"method": "fixed", "env": "dogym/EdgeSafeRegion-v0", "seed": 0, **r} for r in readings]
    assert curve == [{"method": "fixed", "env": "dogym/EdgeSafeRegion-v0", "seed": 0, **r} for r in timeline]


def test_a_shorter_same_seed_rerun_lends_its_step_log_only_when_it_repeated_the_steps(tmp_path):
    from dogym.experiments.runner import RunConfig, train

    def run(folder: str, steps: int, log: int, seed: int = 0):
        hyper = {"n_steps": 200, "batch_size": 100, "n_epochs": 1, "episode_length": 20, "experience_log": log}
        config = RunConfig("cpo", "dogym/EdgeSafeRegion-v0", seed, steps, hyperparams=hyper, eval_episodes=1,
                           n_envs=2, log_folder=str(tmp_path / folder))  # fmt: skip
        train(config)
        return config.run_dir

    full, short, other = run("full", 600, 0), run("short", 200, 10_000), run("other", 200, 10_000, seed=1)
    _, without = run_timeline(full, "dogym/EdgeSafeRegion-v0", stationary=True)
    _, with_log = run_timeline(full, "dogym/EdgeSafeRegion-v0", stationary=True, log_run=short)
    assert [c["timesteps"] for c in without] == [200, 400, 600]
    assert [c["timesteps"] for c in with_log][:2] == [200, 400] and len(with_log) == 3  # every 500: 200, then updates
    assert with_log[0]["unsafe"] == without[0]["unsafe"]
    with pytest.raises(ValueError, match="did not repeat"):
        run_timeline(full, "dogym/EdgeSafeRegion-v0", stationary=True, log_run=other)
    rows, curve = collect_rl(tmp_path / "full", log_runs=tmp_path / "short")  # the run folders under full/
    assert [(r["method"], r["seed"], r["reading"]) for r in rows] == [("cpo", 0, "policy"), ("cpo", 0, "experience"),
                                                                      ("cpo", 0, "experience/ceiling")]  # fmt: skip
    assert [c["timesteps"] for c in curve] == [c["timesteps"] for c in with_log]
    assert curve[1]["step_cost"] is not None and curve[2]["episode_cost"] is not None  # the updates at 400, 600

"""Causal RL agents, the online causal RL loop, resumable training runs, compare and the train/compare CLI."""

from __future__ import annotations

import json

import gymnasium as gym
import pytest
import torch as th

import dogym.envs  # noqa: F401
from dogym.agents import RandomActivePolicy, evaluate
from dogym.agents.fault_alarm.family import algorithm
from dogym.agents.fault_alarm.monitor import read_monitor
from dogym.agents.fault_alarm.specs import VANILLA_OF
from dogym.agents.registry import AGENTS, family, resolve_hyperparams
from dogym.experiments.cli import main
from dogym.experiments.grid import run_grid
from dogym.experiments.report import write_outputs
from dogym.experiments.runner import RunConfig, train

SMALL = "dogym/FaultAlarmSmall-v0"
FAST_PPO = {"n_steps": 128, "n_epochs": 4}
FAST_CAUSAL = {"n_log_events": 400, "structure_update_interval": 200}


def small_config(agent: str, tmp_path, **kwargs) -> RunConfig:
    causal = FAST_CAUSAL if AGENTS[agent].options["causal"] else {}
    options = {
        "env": SMALL,
        "timesteps": 1_000,
        "eval_episodes": 5,
        "checkpoint_interval": 400,
        "log_folder": str(tmp_path),
        "hyperparams": {**(FAST_PPO if "ppo" in agent else {"learning_starts": 100}), **causal},
    }
    return RunConfig(agent, **{**options, **kwargs})


class EffectSpy(gym.Wrapper):
    """Records whether each action cleared something (an action on an inactive pair does not)."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.effective: list[bool] = []

    def step(self, action):
        out = self.env.step(action)
        self.effective.append(bool(out[-1]["action_effective"]))
        return out


def test_every_causal_agent_has_a_vanilla_twin_with_the_same_algorithm_and_network():
    for causal, vanilla in VANILLA_OF.items():
        c, v = AGENTS[causal], AGENTS[vanilla]
        assert c.options["causal"] and not v.options["causal"] and v.options["masked"]
        assert c.options["algorithm"] == v.options["algorithm"]
        hc, hv = (resolve_hyperparams(spec, "dogym/FaultAlarm-v0") for spec in (c, v))
        assert hc["policy_kwargs"] == hv["policy_kwargs"]
        assert hc["learning_rate"] == hv["learning_rate"] == 3e-4


@pytest.mark.parametrize("agent", ["causal-ppo", "causal-dqn-random", "ppo", "d3qn"])
def test_masked_agents_only_ever_act_on_active_alarms(agent, tmp_path):
    config = small_config(agent, tmp_path, timesteps=600, eval_episodes=0)
    run = family(config.spec.family).build(config.context())
    monitor = run.vec_env.envs[0]
    monitor.env = spy = EffectSpy(monitor.env)  # under the monitor, above any mask wrapper
    run.learn(600)
    assert len(spy.effective) >= 600 and all(spy.effective)  # PPO finishes its last rollout


def test_causal_agent_learns_its_graph_and_logs_f1(tmp_path):
    metrics = train(small_config("causal-dqn-random", tmp_path, timesteps=1_500))
    run_dir = small_config("causal-dqn-random", tmp_path).run_dir
    history = (run_dir / "graph_metrics.csv").read_text().splitlines()
    assert len(history) == 1 + 1 + 1_500 // 200  # header, initial graph, one row per update
    assert metrics["graph_final"]["f1"] > metrics["graph_initial"]["f1"] + 0.2
    assert "causal/n_edges" in (run_dir / "progress.csv").read_text().splitlines()[0]
    graph = json.loads((run_dir / "graph.json").read_text())
    assert len(graph["edges"]) == metrics["graph_final"]["n_estimated"]


@pytest.mark.parametrize("agent", ["causal-ppo", "ppo", "causal-d3qn"])
def test_short_run_beats_random_among_active_alarms(agent, tmp_path):
    metrics = train(small_config(agent, tmp_path, timesteps=2_500, eval_episodes=30))
    env = gym.make(SMALL)
    active = evaluate(env, RandomActivePolicy(env.action_space.n), 30, seed=10_000).summary()
    assert metrics["eval"]["reward_mean"] > active["reward_mean"]
    assert metrics["eval"]["steps_mean"] < active["steps_mean"]


@pytest.mark.parametrize("agent", ["causal-dqn", "causal-ppo"])
def test_resuming_from_a_checkpoint_continues_identically(agent, tmp_path):
    straight = small_config(agent, tmp_path / "a", timesteps=1_200)
    expected = train(straight)
    resumed = small_config(agent, tmp_path / "b", timesteps=1_200)
    assert train(resumed, stop_after_checkpoints=1) is None  # "interrupted" after its first checkpoint
    with pytest.raises(FileExistsError, match="--resume"):
        train(resumed)
    got = train(resumed, resume=True)
    rows = [
        [(r["r"], r["l"], r["mean_alarms"]) for r in read_monitor(c.run_dir / "0.monitor.csv")]
        for c in (straight, resumed)
    ]
    assert rows[0] == rows[1]
    assert (straight.run_dir / "graph_metrics.csv").read_text() == (resumed.run_dir / "graph_metrics.csv").read_text()
    assert got["eval"] == expected["eval"] and got["graph_final"] == expected["graph_final"]
    algo = algorithm(AGENTS[agent].options["algorithm"])
    final = [algo.load(c.run_dir / "model.zip").policy.state_dict() for c in (straight, resumed)]
    for (name, x), (_, y) in zip(final[0].items(), final[1].items(), strict=True):
        assert th.equal(x, y), name


def test_compare_on_a_tiny_grid_writes_every_output(tmp_path):
    configs = [small_config(a, tmp_path / "runs", timesteps=400, seed=s) for a in ("causal-dqn", "dqn") for s in (0, 1)]
    finished = []
    runs = run_grid(configs, workers=1, progress=False, on_finish=finished.append)
    assert finished == configs
    summary = write_outputs(configs, runs, tmp_path)
    for name in ("results.csv", "curves.csv", "summary.json", "fig3.png"):
        assert (tmp_path / name).stat().st_size > 0
    stats = summary["causal-dqn"]["eval/reward_mean"]
    assert stats["n"] == 2 and stats["mean_ci95"][0] <= stats["mean"] <= stats["mean_ci95"][1]
    assert "graph_final/f1" in summary["causal-dqn"] and "graph_final/f1" not in summary["dqn"]
    assert run_grid(configs, workers=1, progress=False, on_finish=finished.append) == runs  # a re-run skips them
    assert len(finished) == len(configs)


def test_train_cli_writes_the_run_folder(tmp_path, capsys):
    argv = ["train", "--agent", "dqn", "--env", SMALL, "--timesteps", "300", "--log-folder", str(tmp_path),
            "--hyperparams", "learning_starts:50", "--eval-episodes", "3", "--quiet"]  # fmt: skip
    assert main(argv) == 0
    run_dir = tmp_path / "dqn" / "dogym_FaultAlarmSmall-v0_seed0"
    for name in ("config.yaml", "0.monitor.csv", "progress.csv", "model.zip", "metrics.json"):
        assert (run_dir / name).exists(), name
    assert any((run_dir / "tb").iterdir())
    assert "eval/reward_mean" in capsys.readouterr().out
    assert main(argv) == 2 and "--resume" in capsys.readouterr().err
    assert main([*argv, "--resume"]) == 0
    capsys.readouterr()
    assert main(["evaluate", "--run", str(run_dir), "--episodes", "2", "--quiet"]) == 0
    assert capsys.readouterr().out.splitlines()[2].startswith("dqn ")
    assert main(["evaluate", "--run", str(tmp_path), "--episodes", "2"]) == 2


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--agent", "nope"], "unknown agent"),
        (["train", "--agent", "dqn", "--timesteps", "0"], "timesteps must be an integer >= 1"),
        (
            ["train", "--agent", "dqn", "--hyperparams", "top_k:2", "--timesteps", "10"],
            "unknown hyper-parameter(s) ['top_k']",
        ),
        (["train", "--agent", "causal-dqn", "--hyperparams", "init:nope", "--timesteps", "10"], "init = 'nope'"),
        (
            ["train", "--agent", "dqn", "--hyperparams", "nope:1", "--timesteps", "10"],
            "unknown hyper-parameter(s) ['nope']",
        ),
        (["train", "--agent", "dqn", "--env", "dogym/ToySCM-v0"], "does not support env"),
        (
            ["train", "--agent", "cpo", "--env", "dogym/EdgeSafeRegion-v0", "--hyperparams", "ent_coef:0.1"],
            "unknown hyper-parameter(s) ['ent_coef'] for agent 'cpo'",
        ),
        (["compare", "--agents", "dqn,nope"], "unknown agent"),
        (["compare", "--agents", "dqn", "--seeds", "a"], "--seeds"),
        (["train", "--agent", "dqn", "--env", "dogym/Nope-v0"], "unknown env"),
    ],
)
def test_bad_flags_give_one_line_errors(argv, message, capsys, tmp_path):
    assert main([*argv, "--log-folder" if argv[0] == "train" else "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_checkpoint_is_compact_and_drops_the_replay_buffer_once_finished(tmp_path):
    config = small_config("dqn", tmp_path / "a", timesteps=500)
    assert train(config, stop_after_checkpoints=1) is None
    latest = config.run_dir / "checkpoints" / "latest"
    assert (latest / "replay_buffer.npz").stat().st_size < 5e6  # the 100k-slot buffer up to its fill level only
    assert sorted(p.name for p in latest.parent.iterdir()) == ["latest"]  # only the latest checkpoint
    train(config, resume=True)
    assert not (latest / "replay_buffer.npz").exists() and (latest / "state.pkl.z").exists()
    kept = small_config("dqn", tmp_path / "b", timesteps=500, keep_replay_buffer=True)
    train(kept)
    assert (kept.run_dir / "checkpoints" / "latest" / "replay_buffer.npz").exists()


def test_a_run_folder_is_never_reused_for_other_settings(tmp_path):
    config = small_config("dqn", tmp_path, timesteps=300, eval_episodes=2)
    train(config)
    longer = small_config("dqn", tmp_path, timesteps=600, eval_episodes=2)
    with pytest.raises(ValueError, match="other settings \\(timesteps\\)"):
        train(longer, resume=True)
    with pytest.raises(ValueError, match="other settings"):
        run_grid([longer], progress=False)
    assert train(config, resume=True)["timesteps"] == 300  # the same run is still found finished

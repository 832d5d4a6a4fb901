"""A new family plugs in through the registry alone: a tiny family defined here runs through train.py train, evaluate
and compare without any change to dogym.experiments."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import yaml

import dogym.envs  # noqa: F401
from dogym.agents import registry
from dogym.agents.protocol import EpisodicAgent, EpisodicFamily
from dogym.agents.registry import AgentSpec, RunContext
from dogym.experiments.cli import main

ENV = "dogym/FaultAlarmSmall-v0"


class ActiveGuesser(EpisodicAgent):
    """Acts on a uniformly random active alarm; 'learning' only counts env steps and the reward seen."""

    name = "tiny-guesser"

    def __init__(self, context: RunContext) -> None:
        self.context = context
        self.env = gym.make(context.env_id, **context.env_kwargs)
        self.rng = np.random.default_rng(context.seed)
        self.steps, self.reward = 0, 0.0
        self.bias = float(context.hyperparams["bias"])

    def reset(self, seed: int | None = None) -> None:
        self.rng = np.random.default_rng(seed)

    def act(self, observation: Any, info: dict) -> int:
        return int(self.rng.choice(np.flatnonzero(info["action_mask"])))

    def learn(self, budget: int, checkpoint=None) -> bool:
        obs, info = self.env.reset(seed=self.context.seed)
        while self.steps < budget:
            obs, reward, terminated, truncated, info = self.env.step(self.act(obs, info))
            self.steps, self.reward = self.steps + 1, self.reward + reward
            if terminated or truncated:
                obs, info = self.env.reset()
        return True

    def save(self, folder: Path) -> None:
        (folder / "guesser.json").write_text(json.dumps({"steps": self.steps}))

    def state(self, folder: Path) -> dict:
        return {}

    def restore(self, state: dict, folder: Path) -> None: ...

    def summary(self) -> dict:
        return {"timesteps": self.steps, "train": {"reward_sum": self.reward + self.bias}}


class TinyFamily(EpisodicFamily):
    name = "tiny"
    budget_unit = "env steps"
    default_budget = 50
    metrics = {"eval/reward_mean": True, "train/reward_sum": True}
    headline = ("eval/reward_mean", "train/reward_sum")

    def build(self, context: RunContext) -> ActiveGuesser:
        return ActiveGuesser(context)

    def load(self, context: RunContext) -> ActiveGuesser:
        assert (context.run_dir / "guesser.json").exists()
        return ActiveGuesser(context)

    def hyperparameter_keys(self, spec: AgentSpec) -> frozenset[str]:
        return frozenset({"bias"})

    def curves(self, context: RunContext) -> list[dict]:
        return [{"agent": context.spec.name, "env": context.env_id, "seed": context.seed, "kind": "tiny", "x": 1}]

    def plot(self, rows: list[dict], out_dir: Path, title: str) -> list[Path]:
        path = out_dir / "tiny.txt"
        path.write_text(str(len([r for r in rows if r["kind"] == "tiny"])))
        return [path]


@pytest.fixture
def tiny_agent(tmp_path, monkeypatch):
    monkeypatch.setattr(registry, "FAMILIES", dict(registry.FAMILIES))
    monkeypatch.setattr(registry, "AGENTS", dict(registry.AGENTS))
    hyperparams = tmp_path / "tiny-guesser.yml"
    hyperparams.write_text(yaml.safe_dump({"default": {"bias": 1.0}, ENV: {"bias": 100.0}}))
    registry.register_family("tiny", TinyFamily())
    registry.register_agent(AgentSpec("tiny-guesser", "tiny", "random active alarms", (ENV,), {}, hyperparams))
    return "tiny-guesser"


def test_a_family_defined_here_runs_through_train_evaluate_and_compare(tiny_agent, tmp_path, capsys):
    runs = tmp_path / "runs"
    argv = ["train", "--agent", tiny_agent, "--timesteps", "30", "--log-folder", str(runs), "--eval-episodes", "2",
            "--quiet", "--hyperparams", "bias:5"]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "train/reward_sum" in out and "eval/reward_mean" in out
    run_dir = runs / tiny_agent / "dogym_FaultAlarmSmall-v0_seed0"
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["timesteps"] == 30 and metrics["hyperparams"] == {"bias": 5}  # the override beats the env entry
    assert yaml.safe_load((run_dir / "config.yaml").read_text())["hyperparams"] == {"bias": 5}
    assert main(["evaluate", "--run", str(run_dir), "--episodes", "3", "--quiet"]) == 0
    assert capsys.readouterr().out.splitlines()[2].split()[1] == "3"  # episodes column
    out_dir = tmp_path / "cmp"
    argv = ["compare", "--agents", tiny_agent, "--seeds", "0,1", "--timesteps", "20", "--workers", "1",
            "--out", str(out_dir), "--quiet", "--eval-episodes", "2"]  # fmt: skip
    assert main(argv) == 0
    summary = json.loads((out_dir / "summary.json").read_text())
    assert summary[tiny_agent]["eval/reward_mean"]["n"] == 2
    assert summary[tiny_agent]["train/reward_sum"]["n"] == 2
    assert (out_dir / "tiny.txt").read_text() == "2" and (out_dir / "results.csv").exists()
    resolved = json.loads(
        (out_dir / "runs" / tiny_agent / "dogym_FaultAlarmSmall-v0_seed1" / "metrics.json").read_text()
    )
    assert resolved["hyperparams"] == {"bias": 100.0}  # the env entry of the YAML file beats its default


def test_an_agent_of_an_unknown_family_is_refused():
    with pytest.raises(ValueError, match="unknown family 'nope'"):
        registry.register_agent(AgentSpec("x", "nope", "x", (ENV,)))


def test_experiments_never_name_a_family_or_an_agent():
    root = Path(__file__).resolve().parents[1] / "experiments"
    names = {*registry.AGENTS, *registry.FAMILIES, "FaultAlarm", "Microservice", "ToySCM", "alarm"}
    for path in root.glob("*.py"):  # the runner, grid, report and CLI; papers/ hold the reproductions
        text = path.read_text()
        found = sorted(n for n in names if re.search(rf"(?<![\w-]){re.escape(n)}(?![\w-])", text))
        assert not found, f"{path.name} names {found}"


def test_summaries_never_pool_a_metric_across_envs():
    from dogym.experiments.report import summarize

    runs = [{"label": "a", "env": env, "seed": s, "eval": {"reward_mean": base + s}}
            for env, base in (("e1", 0.0), ("e2", 100.0)) for s in range(3)]  # fmt: skip
    summary = summarize(runs, ["eval/reward_mean"])
    assert set(summary) == {"a @ e1", "a @ e2"}
    assert summary["a @ e1"]["eval/reward_mean"]["mean"] == pytest.approx(1.0)
    assert summary["a @ e2"]["eval/reward_mean"]["mean"] == pytest.approx(101.0)
    single = summarize(runs[:3], ["eval/reward_mean"])
    assert set(single) == {"a"} and single["a"]["eval/reward_mean"]["n"] == 3


@pytest.mark.parametrize("name", sorted(registry.AGENTS))
def test_every_agent_declares_its_hyperparameter_keys_and_refuses_a_typo(name):
    spec = registry.agent_spec(name)
    for env in spec.envs:  # its own YAML defaults are accepted
        registry.check_hyperparams(spec, registry.resolve_hyperparams(spec, env))
    allowed = registry.family(spec.family).hyperparameter_keys(spec)
    with pytest.raises(ValueError, match="'no_such_key'") as caught:
        registry.check_hyperparams(spec, {"no_such_key": 1})
    assert repr(name) in str(caught.value) and all(key in str(caught.value) for key in allowed)

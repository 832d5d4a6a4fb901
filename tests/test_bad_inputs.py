"""The bad-input matrix: every bad input, tried as a user would (CLI flags, YAML configs,
hyper-parameter values, files on disk, env actions and reset options), ends in a one-line error naming the value and
what is allowed (exit status 2, no traceback unless --debug), or in a correct result (a damaged file is reported on
one line naming it and its run recomputed to the same numbers). The full matrix writes its table to
benchmarks/results/bad_inputs.md.

How this was checked to fail on the earlier code (5b7a283, run through a `dogym` shim over
`git archive 5b7a283` put first on PYTHONPATH): the 17 CLI cases whose checks existed before pass there too; every
one of the 99 reset-option and (1, n) / (n, 1) cases failed ("DID NOT RAISE EnvInputError"); `--ray-cpus inf` was
accepted and started the grid (which then rewrote the shared comparison, so that run's later CLI, YAML and file
cases are not individually informative); the issue's value cases `dqn gamma:.nan`, `batch_size:0` and `gamma:5`
went on training (no exit within 90 s, where this code exits 2 in seconds); the emptied graph.json, edited metrics
without a checksum, garbage / empty / scalar config.yaml and wrong-shape manifest cases are the issue's own
reproductions (silent results or tracebacks), whose files this code checks and the old code did not.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import dogym.envs  # noqa: F401  (registers the envs)
from dogym.agents.registry import AGENTS, hyperparameter_rules, resolve_hyperparams
from dogym.envs.core import EnvInputError
from dogym.experiments.cli import main

ROOT = Path(__file__).resolve().parents[1]
TABLE = ROOT / "benchmarks" / "results" / "bad_inputs.md"
SMALL = "dogym/FaultAlarmSmall-v0"
#: The memory limit the matrix runs under (so the messages, and the table, do not depend on the machine).
MEMORY_LIMIT = str(8 << 30)
#: A finished comparison (two cells: one with a learned graph) that the bad commands below point at.
CELL = ["--agents", "random-active,mask-random-thp", "--envs", SMALL, "--seeds", "0", "--timesteps", "100",
        "--eval-episodes", "2", "--workers", "1"]  # fmt: skip
ONE = ["--agents", "random-active", "--envs", SMALL, "--seeds", "0", "--timesteps", "100", "--eval-episodes", "2"]
RUN = "runs/random-active/dogym_FaultAlarmSmall-v0_seed0"
THP = "runs/mask-random-thp/dogym_FaultAlarmSmall-v0_seed0"


@dataclass(frozen=True)
class Case:
    """One bad input. CLI cases: `argv` (placeholders {out}: the finished comparison, {tmp}: this case's folder,
    {copy}: a copy of the comparison that `damage` changed first); an error case lists `words` its one-line message
    must hold, a result case gives `check(tmp, err)` for its exit-0 outcome. Env cases: `action()` must raise
    `EnvInputError` whose message holds `words`."""

    category: str
    name: str
    argv: tuple[str, ...] = ()
    words: tuple[str, ...] = ()
    files: dict[str, str] = field(default_factory=dict)
    damage: Callable[[Path], Any] | None = None
    check: Callable[[Path, str], None] | None = None
    action: Callable[[], Any] | None = None
    process: bool = False

    @property
    def id(self) -> str:
        return f"{self.category}: {self.name}"


def cli(category: str, name: str, argv: list[str], words: list[str], **kw: Any) -> Case:
    return Case(category, name, tuple(argv), tuple(words), **kw)


# ------------------------------------------------------------------------------------------------------ CLI flags
CLI = [
    cli("cli", "unknown agent", ["train", "--agent", "nope", "--log-folder", "{tmp}/runs"], ["'nope'", "available:"]),
    cli("cli", "unknown agent in a grid", ["compare", "--agents", "random-active,nope", "--out", "{tmp}"], ["'nope'"]),
    cli("cli", "unknown env", ["compare", *ONE[:2], "--envs", "dogym/Nope-v0", "--out", "{tmp}"],
        ["'dogym/Nope-v0'", "available:", SMALL]),
    cli("cli", "env the agent does not support", ["train", "--agent", "col", "--env", SMALL, "--log-folder",
        "{tmp}/runs"], [SMALL, "supports"]),
    cli("cli", "wrong type of a flag", ["compare", *ONE, "--timesteps", "ten", "--out", "{out}"], ["--timesteps", "'ten'"]),
    cli("cli", "fractional budget", ["compare", *ONE, "--timesteps", "1.5", "--out", "{out}"], ["--timesteps", "'1.5'"]),
    cli("cli", "wrong type of a seed", ["compare", *ONE, "--seeds", "0,one", "--out", "{out}"], ["--seeds", "'one'"]),
    cli("cli", "negative seed", ["compare", *ONE, "--seeds", "-1", "--out", "{tmp}"], ["seed", "-1", ">= 0"]),
    cli("cli", "empty seed list", ["compare", *ONE, "--seeds", ",", "--out", "{tmp}"], ["--seeds", "at least one"]),
    cli("cli", "empty agent list", ["compare", "--agents", ",", "--out", "{tmp}"], ["--agents", "at least one"]),
    cli("cli", "zero budget", ["compare", *ONE, "--timesteps", "0", "--out", "{out}"], ["timesteps", "0", ">= 1"]),
    cli("cli", "negative budget", ["compare", *ONE, "--timesteps", "-100", "--out", "{out}"], ["timesteps", "-100"]),
    cli("cli", "negative evaluation episodes", ["compare", *ONE, "--eval-episodes", "-1", "--out", "{out}"],
        ["eval_episodes", "-1", ">= 0"]),
    cli("cli", "zero checkpoint interval", ["compare", *ONE, "--checkpoint-interval", "0", "--out", "{out}"],
        ["checkpoint_interval", ">= 1"]),
    cli("cli", "zero envs per run", ["train", "--agent", "dqn", "--env", SMALL, "--n-envs", "0", "--log-folder",
        "{tmp}/runs"], ["n_envs", "0", ">= 1"]),
    cli("cli", "zero workers", ["compare", *ONE, "--workers", "0", "--out", "{out}"], ["--workers", "0", ">= 1"]),
    cli("cli", "negative workers", ["compare", *ONE, "--workers", "-2", "--out", "{out}"], ["--workers", "-2"]),
    cli("cli", "zero Ray CPUs", ["compare", *ONE, "--backend", "ray", "--ray-cpus", "0", "--out", "{out}"],
        ["ray_cpus", "0", "(0, 4096]"]),
    cli("cli", "infinite Ray CPUs", ["compare", *ONE, "--backend", "ray", "--ray-cpus", "inf", "--out", "{out}"],
        ["ray_cpus", "inf", "(0, 4096]"]),
    cli("cli", "NaN Ray CPUs", ["compare", *ONE, "--backend", "ray", "--ray-cpus", "nan", "--out", "{out}"],
        ["ray_cpus", "nan"]),
    cli("cli", "a Ray address without the ray backend", ["compare", *ONE, "--ray-address", "auto", "--out", "{out}"],
        ["'auto'", "ray backend"]),
    cli("cli", "a Ray address that is not HOST:PORT", ["compare", *ONE, "--backend", "ray", "--ray-address",
        "headnode", "--out", "{tmp}"], ["'headnode'", "HOST:PORT"]),
    cli("cli", "a Ray address where nothing listens", ["compare", *ONE, "--backend", "ray", "--ray-address",
        "127.0.0.1:1", "--out", "{tmp}"], ["127.0.0.1:1", "cannot reach"]),
    cli("cli", "unknown backend", ["compare", *ONE, "--backend", "spark", "--out", "{out}"], ["'spark'", "'local'"]),
    cli("cli", "zero evaluation episodes", ["evaluate", "--run", "{out}/" + RUN, "--episodes", "0"],
        ["--episodes", "0", ">= 1"]),
    cli("cli", "evaluate with --agent and --run", ["evaluate", "--agent", "random", "--run", "{out}/" + RUN],
        ["either --agent", "or --run"]),
    cli("cli", "evaluate with neither --agent nor --run", ["evaluate"], ["either --agent"]),
    cli("cli", "evaluate an unknown reference policy", ["evaluate", "--agent", "smart", "--env", SMALL],
        ["'smart'", "reference policies"]),
    cli("cli", "evaluate a reference policy without an env", ["evaluate", "--agent", "random"], ["--env"]),
    cli("cli", "env option without a colon", ["compare", *ONE, "--env-kwargs", "step_max", "--out", "{tmp}"],
        ["--env-kwargs", "key:value", "'step_max'"]),
    cli("cli", "env option without a key", ["compare", *ONE, "--env-kwargs", ":5", "--out", "{tmp}"],
        ["--env-kwargs", "':5'"]),
    cli("cli", "env option of the wrong type", ["compare", *ONE, "--env-kwargs", "step_max:lots", "--out", "{tmp}"],
        ["step_max", "'lots'", "integer >= 1"]),
    cli("cli", "NaN env option", ["compare", *ONE, "--env-kwargs", "step_max:.nan", "--out", "{tmp}"],
        ["step_max", "nan"]),
    cli("cli", "unknown env option", ["compare", *ONE, "--env-kwargs", "speed:3", "--out", "{tmp}"],
        ["'speed'", "allowed"]),
    cli("cli", "env option outside its choices", ["compare", *ONE, "--env-kwargs", "dynamics:nope", "--out",
        "{tmp}"], ["dynamics", "'nope'", "one of"]),
    cli("cli", "render_mode in a run's env options", ["train", "--agent", "random-active", "--env", SMALL,
        "--env-kwargs", "render_mode:human", "--log-folder", "{tmp}/runs"], ["render_mode", "'human'", "do not render"]),
    cli("cli", "render_mode in a grid's env options", ["compare", *ONE, "--env-kwargs", "render_mode:human", "--out",
        "{tmp}"], ["render_mode", "'human'"]),
    cli("cli", "unknown render mode to evaluate", ["evaluate", "--agent", "random", "--env", SMALL, "--env-kwargs",
        "render_mode:video", "--episodes", "1"], ["render_mode", "'video'"]),
    cli("cli", "env option YAML that does not parse", ["compare", *ONE, "--env-kwargs", "step_max:[1,", "--out",
        "{tmp}"], ["--env-kwargs", "step_max", "not valid YAML"]),
    cli("cli", "hyper-parameter YAML that does not parse", ["train", "--agent", "dqn", "--env", SMALL,
        "--hyperparams", "gamma:{{", "--log-folder", "{tmp}/runs"], ["--hyperparams", "gamma", "not valid YAML"]),
    cli("cli", "unknown hyper-parameter key", ["train", "--agent", "dqn", "--env", SMALL, "--hyperparams",
        "learning_rat:0.1", "--log-folder", "{tmp}/runs"], ["learning_rat", "allowed:", "learning_rate"]),
    cli("cli", "hyper-parameters for an agent without any", ["train", "--agent", "random-active", "--env", SMALL,
        "--hyperparams", "gamma:0.9", "--log-folder", "{tmp}/runs"], ["gamma", "random-active"]),
    cli("cli", "unknown hyper-parameter key in a grid", ["compare", *ONE, "--hyperparams", "rate:0.5", "--out",
        "{out}"], ["'rate'", "no hyper-parameters"]),
    cli("cli", "other settings in a finished folder", ["compare", *ONE[:-4], "--timesteps", "200", "--eval-episodes",
        "2", "--out", "{out}"], ["other settings", "timesteps"]),
    cli("cli", "unwritable output folder", ["compare", *ONE, "--out", "{tmp}/a_file/out"], ["a_file"],
        files={"a_file": "not a folder"}),
    cli("cli", "unwritable log folder", ["train", "--agent", "random-active", "--env", SMALL, "--log-folder",
        "{tmp}/a_file"], ["a_file"], files={"a_file": "not a folder"}),
    cli("cli", "env size that does not fit in memory (train)", ["train", "--agent", "random-active", "--env",
        "dogym/FaultAlarm-v0", "--env-kwargs", "n_devices:1000000", "--log-folder", "{tmp}/runs"],
        ["n_devices = 1000000", "30 TiB", "limit of 8 GiB", "DOGYM_MEMORY_LIMIT"]),
    cli("cli", "env size that does not fit in memory (evaluate)", ["evaluate", "--agent", "random", "--env",
        "dogym/FaultAlarm-v0", "--env-kwargs", "n_devices:1000000"], ["n_devices = 1000000", "limit of 8 GiB"]),
    cli("cli", "budget that does not fit in memory", ["train", "--agent", "dcbo", "--timesteps", "1000000000",
        "--log-folder", "{tmp}/runs"], ["H = 1000000000", "89.4 GiB", "limit of 8 GiB"]),
    cli("cli", "replay buffer that does not fit in memory", ["train", "--agent", "dqn", "--env", "dogym/FaultAlarm-v0",
        "--hyperparams", "buffer_size:1000000", "--log-folder", "{tmp}/runs"],
        ["buffer_size = 1000000", "replay buffer", "limit of 8 GiB"]),
    cli("cli", "unknown reproduction", ["reproduce", "table9"], ["'table9'", "'faultalarm'"]),
    cli("cli", "reproduction with a bad seed", ["reproduce", "dcbo", "--seeds", "0,x"], ["--seeds", "'x'"]),
    cli("cli", "unknown subcommand", ["fly"], ["'fly'", "'train'"]),
    cli("cli", "missing required flag", ["train"], ["--agent"]),
]  # fmt: skip


# --------------------------------------------------------------------------------------------------- YAML configs
def conf(name: str, text: str, words: list[str]) -> Case:
    return cli("yaml", name, ["compare", *ONE[:6], "--conf", "{tmp}/conf.yaml", "--out", "{tmp}/out"], words,
               files={"conf.yaml": text})  # fmt: skip


YAML = [
    conf("malformed YAML", "timesteps: [1, 2\nseed: 3\n", ["conf.yaml", "not valid YAML", "line 2"]),
    conf("a list, not a mapping", "- 1\n- 2\n", ["conf.yaml", "mapping", "list"]),
    conf("a scalar, not a mapping", "5\n", ["conf.yaml", "mapping", "int"]),
    conf("unknown key", "timestep: 100\n", ["'timestep'", "allowed:", "timesteps"]),
    conf("a key the grid sets", "seed: 3\n", ["'seed'", "allowed:"]),
    conf("wrong type", "n_envs: two\n", ["n_envs", "integer >= 1", "'two'"]),
    conf("a float budget", "timesteps: 1.0e+3\n", ["timesteps", "integer", "1000.0"]),
    conf("a boolean budget", "timesteps: true\n", ["timesteps", "True"]),
    conf("a NaN budget", "timesteps: .nan\n", ["timesteps", "nan"]),
    conf("label 5", "label: 5\n", ["label", "5", "folder name"]),
    conf("log_folder 5", "log_folder: 5\n", ["log_folder", "5"]),
    conf("label that leaves --out", "label: ../../x\n", ["label", "'../../x'", "no path separators"]),
    conf("label with a separator", "label: a/b\n", ["label", "'a/b'"]),
    conf("label ..", "label: ..\n", ["label", "'..'"]),
    conf("absolute label", "label: /tmp/elsewhere\n", ["label", "'/tmp/elsewhere'"]),
    conf("hyper-parameters not a mapping", "hyperparams: [1, 2]\n", ["hyperparams", "mapping"]),
    conf("env options not a mapping", "env_kwargs: 5\n", ["env_kwargs", "mapping"]),
    conf("env option keys that are not strings", "env_kwargs: {1: 2}\n", ["env_kwargs", "string keys"]),
    conf("keep_replay_buffer not a boolean", "keep_replay_buffer: yes please\n", ["keep_replay_buffer", "yes please"]),
    conf("render_mode in env options", "env_kwargs: {render_mode: human}\n", ["render_mode", "'human'"]),
    cli("yaml", "missing config file", ["compare", *ONE, "--conf", "{tmp}/none.yaml", "--out", "{tmp}"],
        ["none.yaml", "No such file"]),
    cli("yaml", "config file that is not text", ["compare", *ONE, "--conf", "{tmp}/bin.yaml", "--out", "{tmp}"],
        ["bin.yaml"], files={"bin.yaml": "\udcff\udcfe\x00"}),
]  # fmt: skip


# ---------------------------------------------------------------------------------------- hyper-parameter values
def hyper(agent: str, key: str, text: str, words: list[str] | None = None) -> Case:
    env = AGENTS[agent].default_env
    braced = f"{key}:{text}".replace("{", "{{").replace("}", "}}")  # argv is formatted with the case's folders
    return cli("hyperparams", f"{agent} {key}:{text}", ["train", "--agent", agent, "--env", env, "--hyperparams",
               braced, "--log-folder", "{tmp}/runs"], words or [key.split(":")[0], "allowed:"])  # fmt: skip


#: The cases the issue lists (each trained silently or ended in a traceback before).
ISSUE_VALUES = [
    hyper("dqn", "gamma", ".nan", ["gamma = nan", "float [0, 1]"]),
    hyper("dqn", "batch_size", "0", ["batch_size = 0", "int [1,"]),
    hyper("dqn", "gamma", "5", ["gamma = 5", "float [0, 1]"]),
    hyper("dqn", "buffer_size", "0", ["buffer_size = 0"]),
    hyper("dqn", "learning_starts", "-5", ["learning_starts = -5", "int [0,"]),
    hyper("dqn", "exploration_initial_eps", ".nan", ["exploration_initial_eps = nan"]),
    hyper("dqn", "policy_kwargs", "{net_arch: [0]}", ["policy_kwargs.net_arch = [0]", "list of int [1,"]),
    hyper("causal-dqn", "prune_penalty", ".nan", ["prune_penalty = nan"]),
    hyper("dqn", "train_freq", "0", ["train_freq = 0"]),
    hyper("causal-dqn", "top_k", ".nan", ["top_k = nan", "int [1,"]),
    hyper("ppo", "policy_kwargs", "{activation_fn: sigmoid}", ["activation_fn = 'sigmoid'", "'relu'"]),
    hyper("ppo", "batch_size", "2.5", ["batch_size = 2.5", "int"]),
    hyper("ppo", "gamma", "true", ["gamma = True"]),
    hyper("ppo", "learning_rate", "-0.1", ["learning_rate = -0.1"]),
    hyper("ppo", "clip_range", ".inf", ["clip_range = inf"]),
    hyper("col", "alpha", "1", ["alpha = 1", "float (0, 1)"]),
    hyper("col", "kappa", "huge", ["kappa = 'huge'", "'quantile'"]),
    hyper("acl-rollout", "gp", "{mode: magic}", ["gp.mode = 'magic'"]),
    hyper("dcbo", "variance_prior", "[2.0, -1]", ["variance_prior"]),
    hyper("dcbo", "data_seed", "-3", ["data_seed = -3"]),
]


def _out_of_range(declaration: str) -> list[str]:
    """YAML texts of values a numeric declaration refuses: NaN, and just outside each finite bound."""
    match = re.search(r"(int|float)\s*([\[(])\s*(-?[\d.e+]+|-?inf)\s*,\s*(-?[\d.e+]+|-?inf)\s*([\])])", declaration)
    if match is None or "|" in declaration.replace("null |", ""):
        return []
    kind, left, low, high, right = match.groups()
    out = [".nan"]
    if low != "-inf":
        out.append(str(int(float(low)) - 1) if kind == "int" else repr(float(low) - 1.0 if left == "[" else float(low)))
    if high != "inf":
        step = 1 if kind == "int" else (1.0 if right == "]" else 0.0)
        value = float(high) + step
        out.append(str(int(value)) if kind == "int" else repr(value))
    return out


def _value_cases() -> list[Case]:
    """NaN and out-of-range values of every numeric hyper-parameter of one agent per family (and both RL kinds)."""
    cases = []
    for agent in ("causal-dqn", "causal-ppo", "cpo", "ppo-lagrangian", "acl-rollout", "col", "dcbo"):
        spec = AGENTS[agent]
        rules = hyperparameter_rules(spec)
        for key in sorted(resolve_hyperparams(spec, spec.default_env)):
            declaration = rules.get(key)
            if isinstance(declaration, str):
                cases += [hyper(agent, key, text, [f"{key} = ", "allowed:"]) for text in _out_of_range(declaration)]
    return cases


HYPER = ISSUE_VALUES + [c for c in _value_cases() if c.id not in {i.id for i in ISSUE_VALUES}]


# ---------------------------------------------------------------------------------------------- files on disk
def _write(relative: str, text: str) -> Callable[[Path], None]:
    return lambda copy: (copy / relative).write_text(text, encoding="utf-8")


def _edit_metrics_without_checksum(copy: Path) -> None:
    (copy / RUN / "metrics.json.sha256").unlink()
    metrics = json.loads((copy / RUN / "metrics.json").read_text())
    metrics["eval"]["reward_mean"] += 1.0
    (copy / RUN / "metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")


def _tear(relative: str) -> Callable[[Path], None]:
    return lambda copy: (copy / relative).write_bytes((copy / relative).read_bytes()[:-7])


def _recomputed(name: str) -> Callable[[Path, str], None]:
    """A result case: the re-run reported the damaged file on one line, recomputed, and its summary equals the
    undamaged comparison's (timing aside)."""

    def check(tmp: Path, err: str) -> None:
        reports = [line for line in err.splitlines() if line.startswith("dogym:")]
        assert len(reports) == 1 and name in reports[0] and "recomputing" in reports[0], err
        from gridutils import _strip

        copy = _strip(json.loads((tmp / "copy" / "summary.json").read_text()))
        assert copy == _strip(json.loads((FINISHED["out"] / "summary.json").read_text()))

    return check


def evaluate_copy(damage: Callable[[Path], None], name: str, words: list[str], run: str = RUN) -> Case:
    return cli("files", f"evaluate --run: {name}", ["evaluate", "--run", "{copy}/" + run, "--episodes", "2"], words,
               damage=damage)  # fmt: skip


def rerun_copy(damage: Callable[[Path], None], name: str, file: str) -> Case:
    return cli("files", f"compare re-run: {name}", ["compare", *CELL, "--out", "{copy}"], [], damage=damage,
               check=_recomputed(file))  # fmt: skip


def _check_evaluates_same(tmp: Path, err: str) -> None:
    assert err == "", err


def _merged(tmp: Path, err: str) -> None:
    assert err.count("\n") == 1 and "listed more than once" in err, err
    summary = json.loads((tmp / "out" / "summary.json").read_text())
    counts = {json.dumps(entry.get("n")) for entry in _entries(summary)}
    assert counts == {"1"}, counts


def _entries(summary: Any) -> list[dict[str, Any]]:
    found = []
    if isinstance(summary, dict):
        if "n" in summary:
            found.append(summary)
        for value in summary.values():
            found += _entries(value)
    elif isinstance(summary, list):
        for value in summary:
            found += _entries(value)
    return found


FILES = [
    cli("files", "missing run folder", ["evaluate", "--run", "{tmp}/no_such_run"], ["no_such_run", "not a run folder"]),
    evaluate_copy(_write(RUN + "/config.yaml", "run: [unclosed\n"), "garbage config.yaml", ["config.yaml", "YAML"]),
    evaluate_copy(_write(RUN + "/config.yaml", ""), "empty config.yaml", ["config.yaml", "run's settings"]),
    evaluate_copy(_write(RUN + "/config.yaml", "5\n"), "scalar config.yaml", ["config.yaml", "run's settings"]),
    evaluate_copy(_write(RUN + "/config.yaml", "- run\n"), "list config.yaml", ["config.yaml", "run's settings"]),
    evaluate_copy(_write(RUN + "/config.yaml", "run: 5\n"), "config.yaml whose run is not a mapping",
                  ["config.yaml", "run's settings"]),
    evaluate_copy(_write(RUN + "/config.yaml", "run: {agent: random-active, speed: 2}\n"),
                  "config.yaml with unknown settings", ["config.yaml", "speed"]),
    evaluate_copy(_write(RUN + "/config.yaml", "run: {agent: nope}\n"), "config.yaml of an unknown agent",
                  ["'nope'"]),
    evaluate_copy(lambda c: (c / RUN / "metrics.json").unlink(), "no metrics.json", ["not a finished run"]),
    evaluate_copy(_tear(RUN + "/metrics.json"), "torn metrics.json", ["metrics.json", "checksum"]),
    evaluate_copy(_edit_metrics_without_checksum, "edited metrics.json without its checksum",
                  ["metrics.json", "checksum"]),
    evaluate_copy(_write(THP + "/graph.json", ""), "emptied graph.json", ["graph.json", "manifest says"], THP),
    evaluate_copy(_tear(THP + "/graph.json"), "torn graph.json", ["graph.json"], THP),
    evaluate_copy(_tear(RUN + "/0.monitor.csv"), "torn monitor", ["0.monitor.csv", "truncated"]),
    evaluate_copy(_write(RUN + "/manifest.json", "[1, 2]\n"), "manifest of the wrong shape",
                  ["manifest.json", "[size, sha256]"]),
    evaluate_copy(lambda c: (c / RUN / "manifest.json").unlink(), "deleted manifest", ["manifest.json"]),
    Case("files", "evaluate --run: an intact copy", ("evaluate", "--run", "{copy}/" + RUN, "--episodes", "2"),
         check=_check_evaluates_same, damage=lambda c: None),
    rerun_copy(_write(RUN + "/manifest.json", '{"0.monitor.csv": 5}\n'), "manifest of the wrong shape",
               "manifest.json"),
    rerun_copy(_write(RUN + "/manifest.json", "{not json"), "manifest that is not JSON", "manifest.json"),
    rerun_copy(_edit_metrics_without_checksum, "edited metrics.json without its checksum", "metrics.json"),
    rerun_copy(_write(THP + "/graph.json", ""), "emptied graph.json", "graph.json"),
    rerun_copy(_tear(RUN + "/0.monitor.csv"), "torn monitor of a finished run", "0.monitor.csv"),
    rerun_copy(_write(RUN + "/config.yaml", "{{{"), "garbage config.yaml", "config.yaml"),
    rerun_copy(_write(RUN + "/run.json", "[]"), "run.json of the wrong shape", "run.json"),
    rerun_copy(lambda c: (c / RUN / "manifest.json").unlink(), "deleted manifest", "manifest.json"),
    cli("files", "duplicate seeds", ["compare", *ONE[:4], "--seeds", "0,0", *ONE[6:], "--out", "{tmp}/out"], [],
        check=_merged),
    cli("files", "duplicate agents", ["compare", "--agents", "random-active,random-active", *ONE[2:],
        "--out", "{tmp}/out"], [], check=_merged),
]  # fmt: skip


# ----------------------------------------------------------------------------------------- env actions, options
ENV_IDS = sorted(env_id for env_id in gym.registry if env_id.startswith("dogym/"))
_ENVS: dict[str, gym.Env] = {}


def _env(env_id: str) -> gym.Env:
    if env_id not in _ENVS:
        _ENVS[env_id] = gym.make(env_id)
        _ENVS[env_id].reset(seed=0)
    return _ENVS[env_id]


def _reset(env_id: str, options: Any) -> Callable[[], Any]:
    return lambda: _env(env_id).reset(seed=0, options=options)


def _step(env_id: str, make_action: Callable[[gym.Env], Any]) -> Callable[[], Any]:
    def act() -> Any:
        env = _env(env_id)
        env.reset(seed=0)
        return env.step(make_action(env))

    return act


def _valid(env: gym.Env) -> dict[str, np.ndarray]:
    space = env.action_space
    return {"mask": np.ones(space["mask"].n, np.int8), "value": (space["value"].low + space["value"].high) / 2}


def _reshaped(key: str, shape: Callable[[int], tuple[int, ...]]) -> Callable[[gym.Env], Any]:
    def make(env: gym.Env) -> Any:
        action = _valid(env)
        action[key] = action[key].reshape(shape(action[key].size))
        return action

    return make


def _env_cases() -> list[Case]:
    cases = []
    for env_id in ENV_IDS:
        cases.append(Case("env", f"{env_id} reset with an unknown option", words=("'bogus'", "reset"),
                          action=_reset(env_id, {"bogus": 1})))  # fmt: skip
        cases.append(Case("env", f"{env_id} reset with options that are not a mapping", words=("reset", "mapping"),
                          action=_reset(env_id, "garbage")))  # fmt: skip
        if "FaultAlarm" in env_id:
            cases.append(Case("env", f"{env_id} action of shape (1, 1)", words=("(1, 1)",),
                              action=_step(env_id, lambda env: np.array([[0]]))))  # fmt: skip
            cases.append(Case("env", f"{env_id} action NaN", words=("nan",),
                              action=_step(env_id, lambda env: math.nan)))  # fmt: skip
            continue
        for key in ("mask", "value"):
            cases.append(Case("env", f"{env_id} {key} of shape (1, n)", words=("(1,",),
                              action=_step(env_id, _reshaped(key, lambda n: (1, n)))))  # fmt: skip
            cases.append(Case("env", f"{env_id} {key} of shape (n, 1)", words=(", 1)",),
                              action=_step(env_id, _reshaped(key, lambda n: (n, 1)))))  # fmt: skip
    return cases


ENV = _env_cases()


# ------------------------------------------------------------------------------------------------ whole processes
PROCESS = [
    Case("process", "python train.py with a zero budget", ("compare", "--agents", "random-active", "--timesteps", "0",
         "--out", "{tmp}"), ("timesteps", ">= 1"), process=True),
    Case("process", "python train.py evaluate --run of a garbage config.yaml", ("evaluate", "--run", "{copy}/" + RUN),
         ("config.yaml",), damage=_write(RUN + "/config.yaml", "\t{"), process=True),
    Case("process", "python train.py with a dead Ray address (within 30 s)", ("compare", *ONE, "--backend", "ray",
         "--ray-address", "127.0.0.1:9", "--out", "{tmp}"), ("127.0.0.1:9", "cannot reach"), process=True),
]  # fmt: skip

CASES = CLI + YAML + HYPER + FILES + ENV + PROCESS
#: case id -> (outcome, message) of the cases run so far (the table is written when every case has run).
RESULTS: dict[str, tuple[str, str]] = {}
FINISHED: dict[str, Path] = {}


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished comparison, and the (inode, mtime) of every result file in it."""
    out = tmp_path_factory.mktemp("finished")
    assert main(["compare", *CELL, "--out", str(out), "--quiet"]) == 0
    FINISHED["out"] = out
    yield out, _stamps(out)
    if len(RESULTS) == len(CASES):
        write_table()


def _stamps(folder: Path) -> dict[Path, tuple[int, int]]:
    return {
        p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in folder.rglob("*") if p.is_file() and p.suffix != ".lock"
    }


def _exit_status(argv: list[str]) -> int:
    """train.py's exit status for `argv` (argparse errors exit through SystemExit)."""
    try:
        return main(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)


def _normalise(text: str, paths: dict[str, Path]) -> str:
    """`text` on one line with the case's folders as placeholders and file sizes as N (monitors and metrics hold
    wall times, so their sizes vary from run to run)."""
    for name, path in paths.items():
        text = text.replace(str(path), f"<{name}>")
    text = re.sub(r"\d+ bytes", "N bytes", re.sub(r"manifest says \d+", "manifest says N", text))
    return " ".join(text.split())


def test_the_matrix_has_at_least_150_cases_and_covers_every_category():
    assert len(CASES) >= 150 and len({c.id for c in CASES}) == len(CASES)
    assert {c.category for c in CASES} == {"cli", "yaml", "hyperparams", "files", "env", "process"}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_gives_a_one_line_error_or_a_correct_result(finished, tmp_path, capsys, monkeypatch, case):
    out, stamps = finished
    monkeypatch.setenv("DOGYM_MEMORY_LIMIT", MEMORY_LIMIT)
    paths = {"copy": tmp_path / "copy", "tmp": tmp_path, "out": out}
    if case.action is not None:
        with pytest.raises(EnvInputError) as err:
            case.action()
        message = str(err.value)
        RESULTS[case.id] = ("EnvInputError", _normalise(message, paths))
        assert "\n" not in message and all(w in message for w in case.words), message
        return
    for name, text in case.files.items():
        (tmp_path / name).write_bytes(text.encode("utf-8", "surrogateescape"))
    if case.damage is not None:
        shutil.copytree(out, tmp_path / "copy")
        case.damage(tmp_path / "copy")
    argv = [a.format(out=out, tmp=tmp_path, copy=tmp_path / "copy") for a in case.argv]
    quiet = ["--quiet"] if argv and argv[0] in ("train", "compare", "evaluate") else []
    if case.process:
        start = time.monotonic()
        proc = subprocess.run([sys.executable, "train.py", *argv, *quiet], cwd=ROOT, capture_output=True, text=True,
                              timeout=60, env={**_environ(), "DOGYM_MEMORY_LIMIT": MEMORY_LIMIT})  # fmt: skip
        status, err, seconds = proc.returncode, proc.stderr, time.monotonic() - start
        assert seconds < 30, f"{case.id} took {seconds:.0f} s"
    else:
        status = _exit_status([*argv, *quiet])
        err = capsys.readouterr().err
    first = err.splitlines()[0] if err else ""
    if case.check is not None:
        RESULTS[case.id] = ("correct result", _normalise(first or "exit 0, no message", paths))
        assert status == 0, err
        case.check(tmp_path, err)
    else:
        RESULTS[case.id] = (f"exit {status}", _normalise(err, paths))
        assert status == 2 and err.count("\n") == 1 and err.startswith("train.py") and "error:" in err, err
        assert "Traceback" not in err
        for word in case.words:
            assert word in err, f"{case.id}: {word!r} not in {err!r}"
    assert _stamps(out) == stamps, f"{case.id} touched the finished comparison"


def _environ() -> dict[str, str]:
    import os

    return dict(os.environ)


def write_table() -> None:
    """benchmarks/results/bad_inputs.md: every case, its outcome and its message."""
    from dogym.agents.io import atomic_write_text

    passed = sum(1 for case in CASES if RESULTS[case.id][0] in ("exit 2", "EnvInputError", "correct result"))
    lines = [
        "# Bad-input matrix",
        "",
        "Written by `python -m pytest tests/test_bad_inputs.py` (the whole matrix). Every bad input ends in a one-line",
        "error (exit status 2, no traceback; env cases: an `EnvInputError` with a one-line message) or a correct",
        "result (a damaged file reported on one line and its run recomputed to the same summary; repeated cells run",
        "once). Paths are shown as <out> (a finished comparison), <tmp> and <copy> (a damaged copy of it); the memory",
        f"limit is set to {int(MEMORY_LIMIT) >> 30} GiB with DOGYM_MEMORY_LIMIT.",
        "",
        f"**{len(CASES)} cases, {passed} ({passed / len(CASES):.0%}) as promised, 0 tracebacks, 0 hangs.**",
        "",
        "| category | cases |",
        "|---|---|",
        *[f"| {cat} | {sum(c.category == cat for c in CASES)} |" for cat in dict.fromkeys(c.category for c in CASES)],
        "",
        "| # | category | case | outcome | message |",
        "|---|---|---|---|---|",
    ]
    for i, case in enumerate(CASES, 1):
        outcome, message = RESULTS[case.id]
        cell = message.replace("|", "\\|")
        lines.append(f"| {i} | {case.category} | {case.name.replace('|', '/')} | {outcome} | {cell} |")
    atomic_write_text(TABLE, "\n".join(lines) + "\n")


def test_the_debug_flag_shows_the_traceback(tmp_path):
    bad = [sys.executable, "train.py", "--debug", "compare", "--agents", "random-active", "--timesteps", "0", "--out",
           str(tmp_path)]  # fmt: skip
    debug = subprocess.run(bad, cwd=ROOT, capture_output=True, text=True)
    assert debug.returncode != 0 and "Traceback" in debug.stderr

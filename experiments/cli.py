"""Command-line interface behind train.py: list envs and agents, evaluate policies."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import yaml

import dogym.envs  # noqa: F401  (importing it registers the dogym envs)
from dogym.agents.evaluation import EvaluationResult, evaluate
from dogym.agents.reference import REFERENCE_POLICIES
from dogym.experiments.io import atomic_write_json


class UsageError(Exception):
    """A user-facing error: printed as one line, exit status 2."""


def parse_kwargs(items: Sequence[str] | None, flag: str) -> dict[str, Any]:
    """Parse rl-zoo style `key:value` items; values are read as YAML (numbers, strings, lists, booleans)."""
    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition(":")
        if not sep or not key:
            raise UsageError(f"{flag} expects key:value items, got {item!r}")
        try:
            out[key] = yaml.safe_load(value)
        except yaml.YAMLError as err:
            raise UsageError(f"{flag} value for {key!r} is not valid YAML: {value!r}") from err
    return out


def dogym_env_ids() -> list[str]:
    """Every registered dogym env id, sorted."""
    return sorted(env_id for env_id in gym.registry if env_id.startswith("dogym/"))


def make_env(env_id: str, env_kwargs: dict[str, Any]) -> gym.Env:
    """`gymnasium.make` with a clear error for unknown ids and bad options."""
    if env_id not in gym.registry:
        raise UsageError(f"unknown env {env_id!r}; available: {', '.join(dogym_env_ids())}")
    try:
        return gym.make(env_id, **env_kwargs)
    except (TypeError, ValueError) as err:
        raise UsageError(f"cannot make {env_id} with {env_kwargs}: {err}") from err


def agent_names() -> list[str]:
    """Every agent the CLI knows, sorted."""
    return sorted(REFERENCE_POLICIES)


def cmd_list(args: argparse.Namespace) -> int:
    """Print the registered envs and the available agents."""
    print("envs:")
    for env_id in dogym_env_ids():
        print(f"  {env_id}")
    print("agents:")
    for name in agent_names():
        print(f"  {name}")
    return 0


def format_table(results: Sequence[EvaluationResult]) -> str:
    """A fixed-width table of evaluation summaries (mean +- std over episodes)."""
    header = f"{'agent':<14} {'episodes':>8} {'reward':>16} {'steps':>14} {'alarms/step':>16} {'cleared':>8}"
    lines = [header, "-" * len(header)]
    for result in results:
        s = result.summary()
        lines.append(
            f"{result.policy:<14} {s['episodes']:>8} "
            f"{s['reward_mean']:>8.2f} ± {s['reward_std']:<5.2f} "
            f"{s['steps_mean']:>7.1f} ± {s['steps_std']:<4.1f} "
            f"{s['mean_alarms_mean']:>8.1f} ± {s['mean_alarms_std']:<5.1f} "
            f"{s['cleared_rate']:>8.0%}"
        )
    return "\n".join(lines)


def plot_results(results: Sequence[EvaluationResult], path: Path) -> Path:
    """Bar charts of reward, steps and alarms per step (mean with std error bars), one bar per agent."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    summaries = [r.summary() for r in results]
    names = [r.policy for r in results]
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.2))
    for ax, (key, label) in zip(
        axes,
        [("reward", "episode reward"), ("steps", "steps per episode"), ("mean_alarms", "alarms per step")],
        strict=True,
    ):
        ax.bar(names, [s[f"{key}_mean"] for s in summaries], yerr=[s[f"{key}_std"] for s in summaries], capsize=4)
        ax.set_title(label)
        ax.tick_params(axis="x", rotation=20)
    fig.suptitle(f"{results[0].env_id}: {summaries[0]['episodes']} episodes per agent, seed {results[0].seed}")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=120)
    plt.close(fig)
    tmp.replace(path)
    return path


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Evaluate one or more agents on one env and print a table (optionally write JSON and a plot)."""
    env_kwargs = parse_kwargs(args.env_kwargs, "--env-kwargs")
    agents = [a.strip() for a in args.agent.split(",") if a.strip()]
    unknown = [a for a in agents if a not in REFERENCE_POLICIES]
    if unknown or not agents:
        raise UsageError(f"unknown agent(s) {unknown or args.agent!r}; available: {', '.join(agent_names())}")
    if args.episodes < 1:
        raise UsageError(f"--episodes must be >= 1, got {args.episodes}")
    env = make_env(args.env, env_kwargs)
    results = []
    for name in agents:
        try:
            policy = REFERENCE_POLICIES[name](env, args.seed)
        except ValueError as err:
            raise UsageError(f"agent {name!r} cannot run on {args.env}: {err}") from err
        results.append(evaluate(env, policy, args.episodes, args.seed, env_id=args.env, progress=not args.quiet))
    env.close()
    print(format_table(results))
    if args.output:
        atomic_write_json(args.output, [r.summary() for r in results])
        print(f"wrote {args.output}")
    if args.plot:
        print(f"wrote {plot_results(results, Path(args.plot))}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The train.py argument parser."""
    parser = argparse.ArgumentParser(
        prog="train.py",
        description="dogym: train, evaluate and compare agents on causal decision-making environments.",
    )
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p_list = sub.add_parser("list", help="list the registered envs and the available agents")
    p_list.set_defaults(func=cmd_list)

    p_eval = sub.add_parser("evaluate", help="evaluate agents on an env and print a table")
    p_eval.add_argument("--env", default="dogym/FaultAlarm-v0", help="env id (default: %(default)s)")
    p_eval.add_argument("--agent", required=True, help="agent name, or several separated by commas")
    p_eval.add_argument("--episodes", type=int, default=100, help="episodes per agent (default: %(default)s)")
    p_eval.add_argument("--seed", type=int, default=0, help="seed of the first episode (default: %(default)s)")
    p_eval.add_argument("--env-kwargs", nargs="*", metavar="KEY:VALUE", help="env options, e.g. dynamics:poisson")
    p_eval.add_argument("--output", help="write the summary as JSON to this path")
    p_eval.add_argument("--plot", help="write a bar-chart PNG to this path")
    p_eval.add_argument("--quiet", action="store_true", help="no progress bars")
    p_eval.set_defaults(func=cmd_evaluate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; user errors print one line to stderr and return 2 (tracebacks only with --debug)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except (UsageError, OSError) as err:
        if args.debug:
            raise
        print(f"train.py {args.command}: error: {err}", file=sys.stderr)
        return 2

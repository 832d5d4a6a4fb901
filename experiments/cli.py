"""Command-line interface behind train.py: list, train, evaluate, compare, reproduce."""

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
from dogym.agents.identification.family import ACL_AGENTS
from dogym.agents.reference import REFERENCE_POLICIES
from dogym.agents.rl.family import RL_AGENTS
from dogym.experiments.grid import format_summary, run_grid, write_outputs
from dogym.experiments.io import atomic_save_figure, atomic_write_json
from dogym.experiments.runner import RunConfig, evaluate_run, train


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
    return sorted([*REFERENCE_POLICIES, *RL_AGENTS, *ACL_AGENTS])


def cmd_list(args: argparse.Namespace) -> int:
    """Print the registered envs and the available agents."""
    print("envs:")
    for env_id in dogym_env_ids():
        print(f"  {env_id}")
    print("reference policies (evaluate):")
    for name in sorted(REFERENCE_POLICIES):
        print(f"  {name}")
    print("learning agents (train, compare):")
    for name, spec in RL_AGENTS.items():
        print(f"  {name:<20} {spec.description}")
    print("identification agents (train, compare on ToySCM / Microservice envs):")
    for name, (_, description) in ACL_AGENTS.items():
        print(f"  {name:<20} {description}")
    return 0


def _split(value: str, flag: str, cast: type = str) -> list[Any]:
    items = [v.strip() for v in value.split(",") if v.strip()]
    if not items:
        raise UsageError(f"{flag} needs at least one value")
    try:
        return [cast(v) for v in items]
    except ValueError as err:
        raise UsageError(f"{flag}: {err}") from err


def _run_options(args: argparse.Namespace) -> dict[str, Any]:
    """RunConfig fields shared by train and compare: config file first, then flags."""
    options: dict[str, Any] = {}
    if getattr(args, "conf", None):
        try:
            loaded = yaml.safe_load(Path(args.conf).read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as err:
            raise UsageError(f"--conf {args.conf} is not valid YAML: {err}") from err
        if not isinstance(loaded, dict):
            raise UsageError(f"--conf {args.conf} must hold a mapping of RunConfig fields, got {type(loaded).__name__}")
        options.update(loaded)
    for flag, key in (("env_kwargs", "env_kwargs"), ("hyperparams", "hyperparams"), ("causal", "causal")):
        parsed = parse_kwargs(getattr(args, flag), f"--{flag.replace('_', '-')}")
        if parsed:
            options[key] = {**options.get(key, {}), **parsed}
    for key in ("timesteps", "n_envs", "eval_episodes", "checkpoint_interval", "log_folder"):
        if getattr(args, key, None) is not None:
            options[key] = getattr(args, key)
    return options


def _config(agent: str, env: str, seed: int, options: dict[str, Any]) -> RunConfig:
    try:
        return RunConfig(agent=agent, env=env, seed=seed, **options)
    except (TypeError, ValueError) as err:
        raise UsageError(str(err)) from err


def cmd_train(args: argparse.Namespace) -> int:
    """Train one agent on one env and seed; print its final evaluation."""
    config = _config(args.agent, args.env, args.seed, _run_options(args))
    try:
        metrics = train(config, resume=args.resume, progress=not args.quiet)
    except (FileExistsError, ValueError) as err:
        raise UsageError(str(err)) from err
    print(f"run folder: {config.run_dir}")
    if "eval" in metrics:
        e = metrics["eval"]
        print(
            f"{config.agent}: {metrics['timesteps']} steps at {metrics['steps_per_second']:.0f} steps/s; final policy "
            f"over {e['episodes']} episodes: reward {e['reward_mean']:.2f} ± {e['reward_std']:.2f}, steps "
            f"{e['steps_mean']:.1f}, alarms/step {e['mean_alarms_mean']:.1f}, cleared {e['cleared_rate']:.0%}"
        )
    if "identification" in metrics:
        m = metrics["identification"]
        print(
            f"{config.agent}: loss (5) {m['initial_loss']:.4g} -> {m['final_loss']:.4g} after {metrics['timesteps']} "
            f"interventions (median decision {m['median_decision_seconds']:.3f} s, total cost {m['total_cost']:.4g})"
        )
    if "graph_final" in metrics:
        g0, g = metrics["graph_initial"], metrics["graph_final"]
        print(
            f"learned graph: F1 {g0['f1']:.3f} -> {g['f1']:.3f} (precision {g['precision']:.3f}, recall {g['recall']:.3f})"
        )
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    """Train a grid of agents x envs x seeds (skipping finished runs) and write the comparison outputs."""
    agents = _split(args.agents, "--agents")
    unknown = [a for a in agents if a not in RL_AGENTS and a not in ACL_AGENTS]
    if unknown:
        raise UsageError(f"unknown learning agent(s) {unknown}; available: {', '.join([*RL_AGENTS, *ACL_AGENTS])}")
    out = Path(args.out)
    options = {"log_folder": str(out / "runs"), **_run_options(args)}
    configs = [
        _config(agent, env, seed, options)
        for agent in agents
        for env in _split(args.envs, "--envs")
        for seed in _split(args.seeds, "--seeds", int)
    ]
    if args.workers < 1:
        raise UsageError(f"--workers must be >= 1, got {args.workers}")
    runs = run_grid(configs, args.workers, progress=not args.quiet)
    summary = write_outputs(configs, runs, out, f"{', '.join(sorted({c.env for c in configs}))}")
    keys = ["eval/reward_mean", "eval/steps_mean", "eval/mean_alarms_mean", "graph_final/f1"]
    if all(c.identification for c in configs):
        keys = ["identification/final_loss", "identification/median_decision_seconds", "identification/total_cost"]
    print(format_summary(summary, keys))
    plots = [p.name for p in (out / "fig3.png", out / "loss_curves.png") if p.exists()]
    print(f"wrote results.csv, curves.csv, summary.json, {', '.join(plots)} in {out}")
    return 0


def cmd_reproduce(args: argparse.Namespace) -> int:
    """Reproduce a paper's table (runs the grid, writes a Markdown report beside the paper's numbers)."""
    seeds = _split(args.seeds or ("0,1,2,3" if args.table == "faultalarm" else "0,1,2,3,4"), "--seeds", int)
    if args.table == "faultalarm":
        from dogym.experiments.papers.faultalarm import reproduce_faultalarm

        timesteps = args.timesteps or (3_000 if args.quick else 15_000)
        command = (
            "python train.py " + " ".join(sys.argv[1:]) if sys.argv[1:] else "python train.py reproduce faultalarm"
        )
        path = reproduce_faultalarm(
            args.out or ("benchmarks/results/faultalarm" + ("-quick" if args.quick else "")),
            seeds,
            timesteps,
            args.eval_episodes,
            args.workers,
            command,
        )
    else:
        from dogym.experiments.papers.acl import reproduce_acl

        path = Path(args.out or ("benchmarks/results/acl" + ("-quick" if args.quick else "")))
        reproduce_acl(path, seeds, quick=args.quick, workers=args.workers)
        path = path / "report.md"
    print(Path(path).read_text(encoding="utf-8"))
    print(f"wrote {path}")
    return 0


def format_table(results: Sequence[EvaluationResult]) -> str:
    """A fixed-width table of evaluation summaries (mean +- std over episodes)."""
    header = f"{'agent':<20} {'episodes':>8} {'reward':>16} {'steps':>14} {'alarms/step':>16} {'cleared':>8}"
    lines = [header, "-" * len(header)]
    for result in results:
        s = result.summary()
        lines.append(
            f"{result.policy:<20} {s['episodes']:>8} "
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
    return atomic_save_figure(fig, path, dpi=120)


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Evaluate one or more agents on one env and print a table (optionally write JSON and a plot)."""
    if args.episodes < 1:
        raise UsageError(f"--episodes must be >= 1, got {args.episodes}")
    if bool(args.agent) == bool(args.run):
        raise UsageError("give either --agent (reference policies) or --run (trained run folders)")
    if args.run:
        results = [evaluate_run(run, args.episodes, args.seed, not args.quiet) for run in _split(args.run, "--run")]
        return _report(results, args)
    env_kwargs = parse_kwargs(args.env_kwargs, "--env-kwargs")
    agents = [a.strip() for a in args.agent.split(",") if a.strip()]
    unknown = [a for a in agents if a not in REFERENCE_POLICIES]
    if unknown or not agents:
        raise UsageError(f"unknown agent(s) {unknown or args.agent!r}; available: {', '.join(agent_names())}")
    env = make_env(args.env, env_kwargs)
    results = []
    for name in agents:
        try:
            policy = REFERENCE_POLICIES[name](env, args.seed)
        except ValueError as err:
            raise UsageError(f"agent {name!r} cannot run on {args.env}: {err}") from err
        results.append(evaluate(env, policy, args.episodes, args.seed, env_id=args.env, progress=not args.quiet))
    env.close()
    return _report(results, args)


def _report(results: list[EvaluationResult], args: argparse.Namespace) -> int:
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
    p_eval.add_argument("--agent", help="reference policy name, or several separated by commas")
    p_eval.add_argument("--run", help="trained run folder(s), comma-separated (evaluates model.zip on its env)")
    p_eval.add_argument("--episodes", type=int, default=100, help="episodes per agent (default: %(default)s)")
    p_eval.add_argument("--seed", type=int, default=0, help="seed of the first episode (default: %(default)s)")
    p_eval.add_argument("--env-kwargs", nargs="*", metavar="KEY:VALUE", help="env options, e.g. dynamics:poisson")
    p_eval.add_argument("--output", help="write the summary as JSON to this path")
    p_eval.add_argument("--plot", help="write a bar-chart PNG to this path")
    p_eval.add_argument("--quiet", action="store_true", help="no progress bars")
    p_eval.set_defaults(func=cmd_evaluate)

    def run_flags(p: argparse.ArgumentParser) -> None:
        p.add_argument("--timesteps", type=int, help="env steps per run (default 20000; identification agents: 30)")
        p.add_argument("--env-kwargs", nargs="*", metavar="KEY:VALUE", help="env options, e.g. dynamics:poisson")
        p.add_argument(
            "--hyperparams",
            nargs="*",
            metavar="KEY:VALUE",
            help="algorithm / learner overrides, e.g. n_epochs:10 "
            "(identification: lookahead, horizon, n_rollouts, popsize, maxiter; rollout-only options are "
            "ignored by acl-passive / acl-random)",
        )
        p.add_argument("--causal", nargs="*", metavar="KEY:VALUE", help="causal options, e.g. top_k:2 eta:0.1")
        p.add_argument("--conf", help="YAML file of run options (timesteps, hyperparams, causal, env_kwargs, ...)")
        p.add_argument("--n-envs", type=int, help="envs per run (in one process; default 1)")
        p.add_argument("--eval-episodes", type=int, help="final evaluation episodes (default 20)")
        p.add_argument("--checkpoint-interval", type=int, help="env steps between checkpoints (default 5000)")
        p.add_argument("--quiet", action="store_true", help="no progress bars")

    p_train = sub.add_parser("train", help="train one learning agent (run folder with logs, checkpoints, model)")
    p_train.add_argument("--env", default="dogym/FaultAlarm-v0", help="env id (default: %(default)s)")
    p_train.add_argument("--agent", required=True, help=f"one of: {', '.join([*RL_AGENTS, *ACL_AGENTS])}")
    p_train.add_argument("--seed", type=int, default=0, help="seed (default: %(default)s)")
    p_train.add_argument("--log-folder", help="parent of the run folders (default: runs)")
    p_train.add_argument("--resume", action="store_true", help="continue the run from its latest checkpoint")
    run_flags(p_train)
    p_train.set_defaults(func=cmd_train)

    p_cmp = sub.add_parser("compare", help="train a grid of agents x envs x seeds and compare them (CSV, JSON, plot)")
    p_cmp.add_argument("--agents", required=True, help="learning agents, comma-separated")
    p_cmp.add_argument("--envs", default="dogym/FaultAlarm-v0", help="env ids, comma-separated (default: %(default)s)")
    p_cmp.add_argument("--seeds", default="0,1,2,3", help="seeds, comma-separated (default: %(default)s)")
    p_cmp.add_argument("--workers", type=int, default=2, help="parallel runs (default: %(default)s)")
    p_cmp.add_argument("--out", default="results/compare", help="output folder (default: %(default)s)")
    run_flags(p_cmp)
    p_cmp.set_defaults(func=cmd_compare)

    p_rep = sub.add_parser("reproduce", help="reproduce a paper's table and write a report beside the paper's numbers")
    p_rep.add_argument(
        "table",
        choices=["faultalarm", "acl"],
        help="faultalarm: seed 002 Table 1 / Fig. 3; acl: seed 000 Table 1 / Figs. 7, 17, 19",
    )
    p_rep.add_argument("--seeds", help="seeds, comma-separated (default: 0,1,2,3 for faultalarm, 0-4 for acl)")
    p_rep.add_argument("--timesteps", type=int, help="faultalarm: env steps per run (default 15000; 3000 with --quick)")
    p_rep.add_argument("--eval-episodes", type=int, default=30, help="faultalarm: evaluation episodes per run")
    p_rep.add_argument("--workers", type=int, default=2, help="parallel runs (default: %(default)s)")
    p_rep.add_argument("--quick", action="store_true", help="a small budget, to check the pipeline")
    p_rep.add_argument("--out", help="output folder (default: benchmarks/results/<table>[-quick])")
    p_rep.set_defaults(func=cmd_reproduce)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; user errors print one line to stderr and return 2 (tracebacks only with --debug)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except (UsageError, OSError, ValueError) as err:
        if args.debug:
            raise
        print(f"train.py {args.command}: error: {err}", file=sys.stderr)
        return 2

"""Command-line interface behind train.py: list, train, evaluate, compare, reproduce.

Every agent goes through the registry and its family (`dogym.agents.registry`): nothing here knows a family.
Heavy libraries are imported inside the commands, so `train.py list` and `--help` start fast.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn


class UsageError(Exception):
    """A user-facing error: printed as one line, exit status 2."""


def one_line(message: object) -> str:
    """`message` on one line (YAML and OS errors span several)."""
    return " ".join(str(message).split())


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage block; `--help` shows it), exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {one_line(message)} (see {self.prog} --help)\n")


def parse_kwargs(items: Sequence[str] | None, flag: str) -> dict[str, Any]:
    """Parse rl-zoo style `key:value` items; values are read as YAML (numbers, strings, lists, booleans)."""
    import yaml

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
    """Every registered dogym env id and every registered env a registered agent or reference policy names (a plugin's
    envs), sorted."""
    import gymnasium as gym

    import dogym.envs  # noqa: F401  (importing it registers the dogym envs)
    from dogym.agents.registry import AGENTS, POLICIES

    named = {env_id for spec in (*AGENTS.values(), *POLICIES.values()) for env_id in spec.envs}
    return sorted(env_id for env_id in gym.registry if env_id.startswith("dogym/") or env_id in named)


def make_env(env_id: str, env_kwargs: Mapping[str, Any]) -> Any:
    """`gymnasium.make` with a clear error for unknown ids and bad options."""
    import gymnasium as gym

    if env_id not in dogym_env_ids():
        raise UsageError(f"unknown env {env_id!r}; available: {', '.join(dogym_env_ids())}")
    with warnings.catch_warnings(record=True) as caught:  # Gymnasium's warnings only once the env is made
        try:
            env = gym.make(env_id, **env_kwargs)
        except (TypeError, ValueError) as err:
            raise UsageError(f"cannot make {env_id} with {dict(env_kwargs)}: {err}") from err
    for warning in caught:
        warnings.warn_explicit(warning.message, warning.category, warning.filename, warning.lineno)
    return env


def cmd_list(args: argparse.Namespace) -> int:
    """Print the registered envs, the reference policies (with the envs they fit), the agents by family, and the
    reproductions."""
    from dogym.agents.registry import AGENTS, POLICIES
    from dogym.experiments.papers import PAPERS

    print("envs:")
    for env_id in dogym_env_ids():
        print(f"  {env_id}")
    print("reference policies (evaluate --agent; the envs each fits):")
    for name, policy in sorted(POLICIES.items()):
        print(f"  {name:<20} {policy.description}; envs: {', '.join(policy.envs) or 'every env'}")
    for family in dict.fromkeys(s.family for s in AGENTS.values()):
        specs = [s for s in AGENTS.values() if s.family == family]
        print(f"agents of family {family} (train, compare; envs: {', '.join(specs[0].envs)}):")
        for spec in specs:
            print(f"  {spec.name:<20} {spec.description}")
    print("reproductions (reproduce):")
    for name, reproduction in PAPERS.items():
        print(f"  {name:<20} {reproduction.description}")
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
    import yaml

    options: dict[str, Any] = {}
    if getattr(args, "conf", None):
        try:
            loaded = yaml.safe_load(Path(args.conf).read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as err:
            raise UsageError(f"--conf {args.conf} is not valid YAML: {err}") from err
        except UnicodeDecodeError as err:
            raise UsageError(f"--conf {args.conf} is not UTF-8 text: {err}") from err
        if not isinstance(loaded, dict):
            raise UsageError(f"--conf {args.conf} must hold a mapping of RunConfig fields, got {type(loaded).__name__}")
        from dataclasses import fields

        from dogym.experiments.runner import RunConfig

        allowed = [f.name for f in fields(RunConfig) if f.name not in ("agent", "env", "seed")]
        unknown = sorted(str(k) for k in loaded if k not in allowed)
        if unknown:
            raise UsageError(f"--conf {args.conf} has unknown key(s) {unknown}; allowed: {', '.join(allowed)}")
        options.update(loaded)
    for key in ("env_kwargs", "hyperparams"):
        parsed = parse_kwargs(getattr(args, key), f"--{key.replace('_', '-')}")
        if parsed:
            options[key] = {**options.get(key, {}), **parsed}
    for key in ("timesteps", "n_envs", "eval_episodes", "checkpoint_interval", "log_folder"):
        if getattr(args, key, None) is not None:
            options[key] = getattr(args, key)
    if getattr(args, "keep_replay_buffer", False):
        options["keep_replay_buffer"] = True
    return options


def _config(agent: str, env: str | None, seed: int, options: dict[str, Any]) -> Any:
    from dogym.experiments.runner import RunConfig

    try:
        return RunConfig(agent=agent, env=env, seed=seed, **options)
    except (TypeError, ValueError) as err:
        raise UsageError(str(err)) from err


def _fmt(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def cmd_train(args: argparse.Namespace) -> int:
    """Train one agent on one env and seed; print its headline metrics."""
    from dogym.agents.registry import family
    from dogym.experiments.report import metric_value
    from dogym.experiments.runner import train

    config = _config(args.agent, args.env, args.seed, _run_options(args))
    try:
        metrics = train(config, resume=args.resume, progress=not args.quiet)
    except (FileExistsError, ValueError) as err:
        raise UsageError(str(err)) from err
    fam = family(config.spec.family)
    print(f"run folder: {config.run_dir}")
    print(f"{config.agent} on {config.env}, seed {config.seed}: {metrics['timesteps']} {fam.budget_unit}")
    for key in fam.headline:
        value = metric_value(metrics, key)
        if value is not None:
            print(f"  {key:<40} {_fmt(value)}")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    """Run a grid of agents x envs x seeds (skipping finished runs) and write the comparison outputs."""
    from dogym.experiments.grid import run_grid, unique_cells
    from dogym.experiments.report import format_summary, headline_keys, write_outputs
    from dogym.experiments.runner import report_problem

    agents = _split(args.agents, "--agents")
    envs = _split(args.envs, "--envs") if args.envs else [None]
    out = Path(args.out)
    options = {"log_folder": str(out / "runs"), **_run_options(args)}
    if args.workers < 1:
        raise UsageError(f"--workers must be >= 1, got {args.workers}")
    try:
        configs = unique_cells(
            [
                _config(agent, env, seed, options)
                for agent in agents
                for env in envs
                for seed in _split(args.seeds, "--seeds", int)
            ],
            report_problem,
        )
        runs = run_grid(configs, args.workers, progress=not args.quiet, backend=_backend(args))
    except (FileExistsError, ValueError) as err:
        raise UsageError(str(err)) from err
    summary = write_outputs(configs, runs, out, ", ".join(sorted({str(c.env) for c in configs})))
    print(format_summary(summary, headline_keys(configs)))
    written = sorted(p.name for p in out.iterdir() if p.suffix in (".csv", ".json", ".png"))
    print(f"wrote {', '.join(written)} in {out}")
    return 0


def _backend(args: argparse.Namespace) -> Any:
    """The grid backend of --backend / --ray-address / --ray-cpus (a clear error when Ray is missing)."""
    from dogym.experiments.grid import Backend, ray_module

    try:
        backend = Backend(args.backend, args.ray_address, args.ray_cpus)
        if backend.name == "ray":
            ray_module()
    except ValueError as err:
        raise UsageError(f"--backend {args.backend}: {err}") from err
    return backend


def cmd_reproduce(args: argparse.Namespace) -> int:
    """Reproduce a paper's tables (runs its grid, writes a Markdown report beside the paper's numbers)."""
    from dogym.experiments.grid import grid_backend
    from dogym.experiments.papers import Reproduction, paper, reproduce

    chosen = paper(args.table)
    seeds = tuple(_split(args.seeds, "--seeds", int)) if args.seeds else tuple(chosen.seeds)
    out = Path(args.out or f"benchmarks/results/{args.table}" + ("-quick" if args.quick else ""))
    command = "python train.py " + " ".join(sys.argv[1:]) if sys.argv[1:] else f"python train.py reproduce {args.table}"
    job = Reproduction(out, seeds, args.quick, args.workers, args.timesteps, args.eval_episodes, command)
    backend = _backend(args)
    with grid_backend(backend.name, backend.ray_address, backend.ray_cpus):
        report = reproduce(chosen, job)
    print(Path(report).read_text(encoding="utf-8"))
    print(f"wrote {report}")
    return 0


def format_table(summaries: Sequence[Mapping[str, Any]]) -> str:
    """A fixed-width table of evaluation summaries: reward and steps, then every other `_mean` (with its std) and
    `_rate` column the envs report."""
    extra = [k for k in dict.fromkeys(k for s in summaries for k in s) if k.endswith(("_mean", "_rate"))]
    extra = [k for k in extra if k not in ("reward_mean", "steps_mean")]
    columns = ["reward_mean", "steps_mean", *extra]
    header = f"{'agent':<20} {'episodes':>8}" + "".join(f" {c.removesuffix('_mean'):>18}" for c in columns)
    lines = [header, "-" * len(header)]
    for s in summaries:
        cells = []
        for c in columns:
            if c not in s:
                cells.append(f" {'-':>18}")
            elif c.endswith("_rate"):
                cells.append(f" {s[c]:>18.0%}")
            else:
                cells.append(f" {s[c]:>10.2f} ± {s[c.removesuffix('_mean') + '_std']:<5.2f}")
        lines.append(f"{s['policy']:<20} {s['episodes']:>8}" + "".join(cells))
    return "\n".join(lines)


def plot_results(summaries: Sequence[Mapping[str, Any]], path: Path) -> Path:
    """Bar charts of every `_mean` metric (with std error bars), one bar per agent."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from dogym.agents.io import atomic_save_figure

    keys = [k.removesuffix("_mean") for k in summaries[0] if k.endswith("_mean")]
    names = [s["policy"] for s in summaries]
    fig, axes = plt.subplots(1, len(keys), figsize=(3.7 * len(keys), 3.2), squeeze=False)
    for ax, key in zip(axes[0], keys, strict=True):
        ax.bar(names, [s[f"{key}_mean"] for s in summaries], yerr=[s[f"{key}_std"] for s in summaries], capsize=4)
        ax.set_title(key.replace("_", " "))
        ax.tick_params(axis="x", rotation=20)
    fig.suptitle(f"{summaries[0]['env']}: {summaries[0]['episodes']} episodes per agent, seed {summaries[0]['seed']}")
    return atomic_save_figure(fig, path, dpi=120)


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Evaluate reference policies, or trained run folders, on an env and print a table."""
    from dogym.agents.evaluation import evaluate
    from dogym.agents.protocol import EVAL_PHASE
    from dogym.agents.registry import POLICIES, make_policy
    from dogym.experiments.runner import evaluate_run

    if args.episodes < 1:
        raise UsageError(f"--episodes must be >= 1, got {args.episodes}")
    if bool(args.agent) == bool(args.run):
        raise UsageError("give either --agent (reference policies) or --run (trained run folders)")
    if args.run:
        summaries = []
        for run in _split(args.run, "--run"):
            result = evaluate_run(run, args.episodes, args.seed, not args.quiet)
            if EVAL_PHASE not in result:
                raise UsageError(f"{run}: this agent's family has no episodic evaluation (an EpisodicFamily's)")
            summaries.append(result[EVAL_PHASE])
        return _report(summaries, args)
    agents = _split(args.agent, "--agent")
    unknown = [a for a in agents if a not in POLICIES]
    if unknown:
        raise UsageError(f"unknown agent(s) {unknown}; reference policies: {', '.join(sorted(POLICIES))} (trained "
                         "agents: --run RUN_FOLDER)")  # fmt: skip
    if not args.env:
        raise UsageError("--agent needs --env (train.py list shows the env ids)")
    env_kwargs = parse_kwargs(args.env_kwargs, "--env-kwargs")
    env = make_env(args.env, env_kwargs)
    try:
        policies = [make_policy(name, env, args.env, args.seed) for name in agents]  # every pairing, before any runs
    except ValueError as err:
        raise UsageError(str(err)) from err
    summaries = []
    for policy in policies:
        result = evaluate(env, policy, args.episodes, args.seed, env_id=args.env, progress=not args.quiet)
        summaries.append(result.summary())
    env.close()
    return _report(summaries, args)


def _report(summaries: list[dict[str, Any]], args: argparse.Namespace) -> int:
    from dogym.agents.io import atomic_write_json

    print(format_table(summaries))
    if args.output:
        atomic_write_json(args.output, summaries)
        print(f"wrote {args.output}")
    if args.plot:
        print(f"wrote {plot_results(summaries, Path(args.plot))}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The train.py argument parser."""
    from dogym.experiments.papers import PAPERS

    parser = _Parser(
        prog="train.py",
        description="dogym: train, evaluate and compare agents on causal decision-making environments. "
        "`train.py list` shows every env, agent and reproduction.",
    )
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    parser.add_argument(
        "--plugin",
        action="append",
        metavar="MODULE",
        help="import MODULE first, a plugin that registers families, agents, envs or reference policies (repeatable; "
        "give it BEFORE the command: train.py --plugin my_family compare ...); grid workers load it too. Installed "
        "packages' dogym.plugins entry points load without it",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p_list = sub.add_parser("list", help="list the registered envs, agents and reproductions")
    p_list.set_defaults(func=cmd_list)

    p_eval = sub.add_parser("evaluate", help="evaluate reference policies or trained runs on an env; print a table")
    p_eval.add_argument("--env", help="env id for --agent (train.py list shows them)")
    p_eval.add_argument("--agent", help="reference policy name, or several separated by commas")
    p_eval.add_argument("--run", help="trained run folder(s), comma-separated (evaluates the final agent on its env)")
    p_eval.add_argument("--episodes", type=int, default=100, help="episodes per agent (default: %(default)s)")
    p_eval.add_argument("--seed", type=int, default=0, help="seed of the first episode (default: %(default)s)")
    p_eval.add_argument("--env-kwargs", nargs="*", metavar="KEY:VALUE", help="env options, e.g. dynamics:poisson")
    p_eval.add_argument("--output", help="write the summary as JSON to this path")
    p_eval.add_argument("--plot", help="write a bar-chart PNG to this path")
    p_eval.add_argument("--quiet", action="store_true", help="no progress bars")
    p_eval.set_defaults(func=cmd_evaluate)

    def backend_flags(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--backend",
            choices=("local", "ray"),
            default="local",
            help="where the grid's cells run: a local process pool, or Ray tasks (pip install -e '.[ray]')",
        )
        p.add_argument(
            "--ray-address",
            help="join this Ray cluster (e.g. auto, or HEAD:6379; default: start a local "
            "Ray with --workers x --ray-cpus CPUs); the output folder must be on storage every node shares",
        )
        p.add_argument("--ray-cpus", type=float, default=1.0, help="CPUs each cell reserves (default: %(default)s)")

    def run_flags(p: argparse.ArgumentParser) -> None:
        p.add_argument("--timesteps", type=int, help="budget per run, in the family's unit (default: the family's)")
        p.add_argument("--env-kwargs", nargs="*", metavar="KEY:VALUE", help="env options, e.g. dynamics:poisson")
        p.add_argument(
            "--hyperparams",
            nargs="*",
            metavar="KEY:VALUE",
            help="override the agent's YAML hyper-parameters (its file in agents/hyperparams/), "
            "e.g. n_epochs:10 top_k:2 init:random",
        )
        p.add_argument("--conf", help="YAML file of run options (timesteps, hyperparams, env_kwargs, ...)")
        p.add_argument("--n-envs", type=int, help="envs per run (in one process; default 1)")
        p.add_argument("--eval-episodes", type=int, help="final evaluation episodes (default 20)")
        p.add_argument("--checkpoint-interval", type=int, help="budget units between checkpoints (default 5000)")
        p.add_argument("--keep-replay-buffer", action="store_true", help="keep the replay buffer of finished runs")
        p.add_argument("--quiet", action="store_true", help="no progress bars")

    p_train = sub.add_parser("train", help="train one agent (run folder with logs, checkpoints, model, metrics)")
    p_train.add_argument("--agent", required=True, help="agent name (train.py list shows them)")
    p_train.add_argument("--env", help="env id (default: the agent's first supported env)")
    p_train.add_argument("--seed", type=int, default=0, help="seed (default: %(default)s)")
    p_train.add_argument("--log-folder", help="parent of the run folders (default: runs)")
    p_train.add_argument("--resume", action="store_true", help="continue the run from its latest checkpoint")
    run_flags(p_train)
    p_train.set_defaults(func=cmd_train)

    p_cmp = sub.add_parser("compare", help="run a grid of agents x envs x seeds and compare them (CSV, JSON, plots)")
    p_cmp.add_argument("--agents", required=True, help="agents, comma-separated")
    p_cmp.add_argument("--envs", help="env ids, comma-separated (default: each agent's first supported env)")
    p_cmp.add_argument("--seeds", default="0,1,2,3", help="seeds, comma-separated (default: %(default)s)")
    p_cmp.add_argument("--workers", type=int, default=2, help="parallel runs (default: %(default)s)")
    p_cmp.add_argument("--out", default="results/compare", help="output folder (default: %(default)s)")
    run_flags(p_cmp)
    backend_flags(p_cmp)
    p_cmp.set_defaults(func=cmd_compare)

    p_rep = sub.add_parser("reproduce", help="reproduce a paper's tables and write a report beside the paper's numbers")
    p_rep.add_argument(
        "table",
        choices=list(PAPERS),
        help="; ".join(f"{k}: {p.description}" for k, p in PAPERS.items()).replace("%", "%%"),
    )
    p_rep.add_argument("--seeds", help="seeds, comma-separated (default: the reproduction's)")
    p_rep.add_argument("--timesteps", type=int, help="budget per run (default: the reproduction's)")
    p_rep.add_argument(
        "--eval-episodes", type=int, help="evaluation episodes per run (episodic agents; default: the reproduction's)"
    )
    p_rep.add_argument("--workers", type=int, default=2, help="parallel runs (default: %(default)s)")
    p_rep.add_argument("--quick", action="store_true", help="a small budget, to check the pipeline")
    p_rep.add_argument("--out", help="output folder (default: benchmarks/results/<table>[-quick])")
    backend_flags(p_rep)
    p_rep.set_defaults(func=cmd_reproduce)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; user errors print one line to stderr and return 2 (tracebacks only with --debug). The --plugin
    modules are imported first, so the parser's choices include what they register."""
    early = argparse.ArgumentParser(add_help=False)
    early.add_argument("--plugin", action="append", default=[])
    early.add_argument("--debug", action="store_true")
    known, _ = early.parse_known_args(argv)
    if known.plugin:
        from dogym.agents.registry import load_plugin

        try:
            for module in known.plugin:
                load_plugin(module)
        except ValueError as err:
            if known.debug:
                raise
            print(f"train.py: error: {one_line(err)}", file=sys.stderr)
            return 2
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except (UsageError, OSError, ValueError, ImportError) as err:  # ImportError: an optional dependency is missing
        if args.debug:
            raise
        print(f"train.py {args.command}: error: {one_line(err)}", file=sys.stderr)
        return 2
    except MemoryError as err:  # an allocation no size check foresaw: still one line, with the limit
        if args.debug:
            raise
        from dogym.envs.core import format_bytes, memory_limit

        limit, source = memory_limit()
        print(f"train.py {args.command}: error: out of memory ({one_line(err) or 'MemoryError'}); the limit is "
              f"{format_bytes(limit)} ({source})", file=sys.stderr)  # fmt: skip
        return 2

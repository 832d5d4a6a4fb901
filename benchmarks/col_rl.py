"""The safe-RL learning curves and the "unsafe interventions until 90% of the true region" table of the COL
reproduction (`dogym.experiments.papers.col_rl` defines every reading).

    python benchmarks/col_rl.py --train --runs runs/col_rl          # CPO (and --agents ...) x seeds x S1, S2, 1e6 steps
    python benchmarks/col_rl.py --runs runs/col_rl --col-seeds 0-9  # tables, curves, baselines (and COL's column)

`--train` runs the RL cells one after the other (resumable: a re-run continues each from its checkpoint), with
OmniSafe's 20 000 env steps per update over `--n-envs` env copies. The report then reads every finished run under
`--runs`, steps the random and fixed-centre baselines, runs COL (the registry's `col`, as the working tree has it)
on `--col-seeds` when given, and writes until90.csv, curves.csv, summary.json, learning_curve.png and report.md under
`--out` (benchmarks/results/col/rl).
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import time
from pathlib import Path

from dogym.experiments.papers import col_rl
from dogym.experiments.runner import RunConfig, load_metrics, train

ROOT = Path(__file__).resolve().parents[1]
OMNISAFE_STEPS = 10_000_000


def seeds_of(text: str) -> list[int]:
    """'0-2' or '0,1,2' -> [0, 1, 2]."""
    if "-" in text:
        low, high = text.split("-")
        return list(range(int(low), int(high) + 1))
    return [int(s) for s in text.split(",") if s]


def train_rl(args: argparse.Namespace) -> None:
    """The RL cells, seed by seed, S1 then S2 (one process, one run at a time)."""
    for agent in args.agents:
        for seed in seeds_of(args.seeds):
            for env_id in args.envs:
                config = RunConfig(agent, env_id, seed, args.steps, n_envs=args.n_envs, eval_episodes=20,
                                   checkpoint_interval=100_000, log_folder=str(args.runs))  # fmt: skip
                print(f"{time.strftime('%H:%M:%S')} {agent} {env_id} seed {seed}", flush=True)
                train(config, resume=True)


def col_rows(args: argparse.Namespace) -> list[dict]:
    """COL's rows on `--col-seeds` (the registry's `col` with its YAML defaults, budget 20)."""
    rows: list[dict] = []
    for env_id in col_rl.STATIONARY:
        seeds = seeds_of(args.col_seeds)
        metrics = []
        for seed in seeds:
            config = RunConfig("col", env_id, seed, 20, eval_episodes=0, log_folder=str(args.runs))
            metrics.append(train(config, resume=True) or load_metrics(config))
        rows += col_rl.col_records(metrics, env_id, seeds)
    return rows


def col_rows_from(runs: Path, labels: list[str], seeds: list[int]) -> list[dict]:
    """COL's rows from finished runs of `train.py reproduce col` (`<runs>/<label>/<env>_seed<k>/metrics.json`): the
    label "col" (the paper's budget C = 20) keeps the method name "col", any other (e.g. "col-c40") is named by it.
    Scenario 2's variants exist only where the reproduction ran them (missing runs are skipped)."""
    rows: list[dict] = []
    for label in labels:
        for env_id in col_rl.STATIONARY:
            found = [(s, runs / label / f"{env_id.replace('/', '_')}_seed{s}" / "metrics.json") for s in seeds]
            found = [(s, path) for s, path in found if path.exists()]
            if not found:
                continue
            metrics = [json.loads(path.read_text(encoding="utf-8")) for _, path in found]
            for row in col_rl.col_records(metrics, env_id, [s for s, _ in found]):
                rows.append(row if label == "col" else {**row, "method": label})
    return rows


def shared_start_notes(rows: list[dict]) -> list[str]:
    """A note per scenario where CPO and PPO-Lagrangian reach the experience target with identical unsafe counts on
    every common seed: both then reached it on the same steps, before any update could tell them apart."""
    notes = []
    for env_id in col_rl.STATIONARY:
        got = {m: {r["seed"]: r["unsafe_until"] for r in rows if r["method"] == m and r["env"] == env_id
                   and r["reading"] == "experience" and r["reached"]} for m in col_rl.RL_AGENTS}  # fmt: skip
        common = sorted(set.intersection(*(set(v) for v in got.values())))
        if common and all(len({got[m][s] for m in col_rl.RL_AGENTS}) == 1 for s in common):
            notes.append(f"{env_id}: CPO and PPO-Lagrangian reach 90% by experience with identical unsafe counts on "
                         f"seeds {common}: they share the seed's initial policy and env streams, and the target is "
                         f"reached within the first {col_rl.UPDATE} steps, before the first policy update. This "
                         "reading therefore measures the initial stochastic policy's exploration, not the safe-RL "
                         "algorithms; their learning shows in the unsafe fraction per update and the policy reading.")  # fmt: skip
    return notes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=Path, default=ROOT / "runs" / "col_rl")
    parser.add_argument(
        "--log-runs",
        type=Path,
        default=None,
        help="shorter same-seed re-runs with the step-by-step log (for runs that predate it)",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "col" / "rl")
    parser.add_argument("--train", action="store_true", help="train the RL cells (resumable), then stop")
    parser.add_argument("--agents", nargs="+", default=["cpo"], choices=col_rl.RL_AGENTS)
    parser.add_argument("--seeds", default="0-2")
    parser.add_argument("--envs", nargs="+", default=list(col_rl.STATIONARY), choices=list(col_rl.STATIONARY),
                        help="the scenarios to train (e.g. one per process)")  # fmt: skip
    parser.add_argument("--steps", type=int, default=1_000_000)
    parser.add_argument("--n-envs", type=int, default=10)
    parser.add_argument("--col-seeds", default="", help="run COL on these seeds for its column (e.g. 0-9)")
    parser.add_argument(
        "--col-runs",
        type=Path,
        default=None,
        help="read COL's column from `train.py reproduce col`'s run folders instead (with --col-seeds)",
    )
    parser.add_argument("--col-labels", default="col,col-c40", help="the reproduction's COL labels to read")  # fmt: skip
    parser.add_argument("--random-seeds", default="0-9", help="seeds of the random baseline on S1")
    parser.add_argument("--random-seeds-s2", default="0-2", help="seeds of the random baseline on S2")
    parser.add_argument("--random-steps", type=int, default=200_000, help="the random baseline's budget")
    parser.add_argument("--fixed-seeds", default="0-2")
    parser.add_argument("--notes", default="", help="a line for the report (e.g. which runs were cut and why)")
    args = parser.parse_args()
    if args.train:
        train_rl(args)
        return
    rows, curves = col_rl.collect_rl(args.runs, log_runs=args.log_runs)
    rl_seconds = {}
    for agent in col_rl.RL_AGENTS:
        for env_id in col_rl.STATIONARY:
            for folder in sorted((args.runs / agent).glob(f"{env_id.replace('/', '_')}_seed*")):
                if (folder / "metrics.json").exists():
                    metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
                    rl_seconds[f"{agent} {env_id} {folder.name}"] = [metrics["timesteps"], metrics["train_seconds"]]
    started = time.perf_counter()
    for method, seeds_s1, seeds_s2, budget in (("random", args.random_seeds, args.random_seeds_s2, args.random_steps),
                                               ("fixed", args.fixed_seeds, args.fixed_seeds, col_rl.UPDATE)):  # fmt: skip
        for env_id, seeds in zip(col_rl.STATIONARY, (seeds_s1, seeds_s2), strict=True):
            for seed in seeds_of(seeds):
                new_rows, curve = col_rl.run_baseline(method, env_id, seed, budget)
                rows += new_rows
                curves += curve
    baseline_seconds = time.perf_counter() - started
    if args.col_seeds and args.col_runs:
        rows = col_rows_from(args.col_runs, args.col_labels.split(","), seeds_of(args.col_seeds)) + rows
    elif args.col_seeds:
        rows = col_rows(args) + rows
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    per_million = [s / t * 1e6 for t, s in rl_seconds.values() if t]
    notes = [
        f"Protocol: OmniSafe's defaults, 20 000 env steps per update, cost_limit 2.5 per 100-step episode (OmniSafe's "
        f"25 per 1000 steps, scaled), S2 observes the clock and the load phase; {args.n_envs} env copies. RL runs: "
        f"{len(rl_seconds)} ({', '.join(sorted(rl_seconds))}).",
        f"Budget: {args.steps:.0e} env steps per RL run, not OmniSafe's {OMNISAFE_STEPS:.0e}: one 1e6-step run took "
        + (
            f"{min(per_million) / 60:.0f}-{max(per_million) / 60:.0f} minutes here (measured), so 1e7 on 3 seeds x 2 "
            f"scenarios x 2 algorithms would take about {12 * 10 * sum(per_million) / len(per_million) / 3600:.0f} hours "
            f"at these runs' mean rate per step (per run: rl_train_seconds in summary.json)."
            if per_million
            else "(no run finished)."
        )
        + " (train_seconds: wall-clock of a process sharing 2 cores with up to 5 other training runs and other "
        "jobs, so an idle machine is faster.)",
        "Experience reading: a 20 x 20 cell is certified when tried >= 10 times with the one-sided Clopper-Pearson "
        "lower bound (confidence 0.8, COL's alpha) of P(spec) >= delta 0.8; S1 pools every training step, S2 uses the "
        "episode's last step (system time 208), scored against that step's true region. The region is read every "
        "500 env steps (RL: over the first 200 000 steps, logged one by one; runs without that log, and later steps, "
        "after each update of 20 000 steps, so up to one update late), the baselines every 500 steps.",
        "Censored values ('not reached ... (> X unsafe)') are lower bounds and never enter a mean.",
        "Fixed centre action: the box's midpoint, chosen by symmetry without ground truth; its safety is a property "
        "of the envs (the response is centred there), so it is an oracle-informed reference, not a method.",
        f"Random baseline: uniform actions, {args.random_steps} steps at most (stops once the region reached both "
        f"targets); baselines took {baseline_seconds:.0f} s. Machine: {platform.processor() or platform.machine()}, "
        f"commit {commit.stdout.strip()}.",
    ]
    if args.col_seeds and args.col_runs:
        notes.append(f"COL: `train.py reproduce col`'s runs ({args.col_labels}) on seeds {args.col_seeds}; col-c40 is "
                     "COL with twice the paper's budget (C = 40), so that its region can reach 90% of the true one.")  # fmt: skip
    elif args.col_seeds:
        notes.append(f"COL: the registry's `col` on seeds {args.col_seeds} as the working tree had it at that commit.")
    notes += shared_start_notes(rows)
    if args.notes:
        notes.append(args.notes)
    meta = {"notes": notes, "rl_train_seconds": rl_seconds, "random_steps": args.random_steps}
    for path in col_rl.write(args.out, rows, curves, meta).values():
        print(path)


if __name__ == "__main__":
    main()

"""The headline cells of `train.py reproduce faultalarm` at 10 seeds: the causal agents against the no-learning mask
baselines (and the references random-active and oracle), run cell by cell with a stop time, so a shared machine can
give it whatever time it has; every finished cell is kept and a re-run continues.

    python benchmarks/faultalarm_headline.py [--seeds 0-9] [--agents causal-dqn,...] [--stop-at HH:MM] [--finalize]

Cells run seed by seed (each seed's baselines, then its causal agents), so a stopped run has the same seeds for
every agent. The result files and report go to benchmarks/results/faultalarm/headline/ (the runs to --runs, outside
the repository), written by the reproduction's own code (`dogym.experiments.papers.faultalarm.write_report`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

from dogym.agents.io import atomic_write_json, atomic_write_text, csv_text  # noqa: E402
from dogym.experiments.grid import run_grid  # noqa: E402
from dogym.experiments.papers import faultalarm  # noqa: E402
from dogym.experiments.readme import replace_block  # noqa: E402
from dogym.experiments.report import long_rows, write_outputs  # noqa: E402
from dogym.experiments.runner import is_finished  # noqa: E402

OUT = Path(__file__).resolve().parent / "results" / "faultalarm" / "headline"
BASELINES = ("mask-random-thp", "mask-random-online", "mask-random-true", "random-active", "oracle")
CAUSAL = ("causal-dqn", "causal-d3qn", "causal-ppo")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", default="0-9")
    parser.add_argument("--agents", default=",".join(BASELINES + CAUSAL))
    parser.add_argument("--timesteps", type=int, default=15_000)
    parser.add_argument("--runs", default="/tmp/dogym_faultalarm_headline")
    parser.add_argument("--stop-at", default=None, help="UTC HH:MM after which no new cell starts")
    parser.add_argument("--finalize", action="store_true", help="only write the result files from finished cells")
    parser.add_argument("--code-version", default="", help="the commit the runs were computed at (for the report)")
    args = parser.parse_args()
    first, _, last = args.seeds.partition("-")
    seeds = list(range(int(first), int(last or first) + 1))
    agents = args.agents.split(",")
    runs = Path(args.runs)
    configs = [c for c in faultalarm.grid(runs, seeds, args.timesteps, 30) if c.label in agents]
    configs.sort(key=lambda c: (c.seed, agents.index(c.label)))  # seed by seed: a stopped run has whole seeds
    stop = None
    if args.stop_at:
        hour, minute = map(int, args.stop_at.split(":"))
        stop = dt.datetime.now(dt.UTC).replace(hour=hour, minute=minute, second=0, microsecond=0)
    start = time.perf_counter()
    if not args.finalize:
        for config in configs:
            if stop is not None and dt.datetime.now(dt.UTC) >= stop:
                print(f"stop time {args.stop_at} reached; {config.label} seed {config.seed} and later not started")
                break
            run_grid([config], 1, progress=False)
            print(f"{dt.datetime.now(dt.UTC):%H:%M} finished {config.label} seed {config.seed}", flush=True)
    done = [c for c in configs if is_finished(c)]
    if not done:
        raise SystemExit("no finished cell yet")
    results = run_grid(done, 1, progress=False)  # all cached: reads their metrics
    OUT.mkdir(parents=True, exist_ok=True)
    write_outputs(done, results, OUT, f"FaultAlarm-v0 headline cells, {args.timesteps} steps per run")
    atomic_write_text(OUT / "graph_initial.csv", csv_text(long_rows(results, faultalarm.INITIAL_GRAPH_KEYS)))
    meta = {"command": f"python benchmarks/faultalarm_headline.py --seeds {args.seeds} --agents {args.agents}",
            "seeds": sorted({c.seed for c in done}), "timesteps": args.timesteps,
            "wall_minutes": (time.perf_counter() - start) / 60, "machine": platform.machine(),
            "code_version": args.code_version}  # fmt: skip
    atomic_write_json(OUT / "meta.json", meta)
    faultalarm.write_report(OUT, update_readme=False)
    replace_block(faultalarm.README_BLOCK, faultalarm.readme_text())
    print(f"{len(done)} of {len(configs)} cells finished; report: {OUT / 'report.md'}")


if __name__ == "__main__":
    main()

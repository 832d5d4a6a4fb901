"""Grid throughput: the same small grid on the local backend and on Ray; cells per minute and overhead per cell.

    python benchmarks/grid_throughput.py            # 8 cells: dqn on FaultAlarmSmall-v0, 2000 steps, seeds 0-7
    python benchmarks/grid_throughput.py --quick    # 4 cells of 500 steps

Each configuration runs the grid from scratch into a fresh folder, through `dogym.experiments.grid.run_grid`:

- `serial in-process`: workers=1 in this (already warm) process: the cells' own compute, the baseline;
- `local, N workers`: the process pool (its workers fork this process, so imports are already paid);
- `ray, local instance`: `--backend ray` with no address: starts a Ray instance with N CPUs, runs, stops it
  (what a user of `train.py compare --backend ray` pays on one machine);
- `ray, warm cluster`: a second grid on a Ray instance that already ran one (its workers have imported dogym):
  what each further grid costs on a long-lived cluster.

Overhead per cell = (wall time x parallel slots - serial in-process time) / cells: the seconds each cell costs
beyond its own compute (process start, imports, scheduling, result hand-off). Every configuration's results must
equal the serial ones (timing columns aside); the script checks it. Results: benchmarks/results/grid_throughput.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from dogym.experiments.threads import set_thread_env

set_thread_env(1)

from dogym.agents.io import atomic_write_json, atomic_write_text  # noqa: E402
from dogym.experiments.grid import Backend, local_ray_priority, run_grid  # noqa: E402
from dogym.experiments.runner import RunConfig  # noqa: E402

TIMING = re.compile(r"seconds|per_second|fps|time|log_folder")


def grid(folder: Path, n_cells: int, steps: int) -> list[RunConfig]:
    """The benchmark grid: dqn on FaultAlarmSmall-v0, seeds 0..n_cells-1, learning from step 100."""
    return [RunConfig("dqn", "dogym/FaultAlarmSmall-v0", seed, timesteps=steps, eval_episodes=5,
                      checkpoint_interval=max(1, steps // 4), hyperparams={"learning_starts": 100},
                      log_folder=str(folder))  # fmt: skip
            for seed in range(n_cells)]  # fmt: skip


def strip(value: Any) -> Any:
    """`value` without timing keys (and the output folder's path)."""
    if isinstance(value, dict):
        return {k: strip(v) for k, v in value.items() if not TIMING.search(k)}
    if isinstance(value, list):
        return [strip(v) for v in value]
    return value


def timed(name: str, configs: list[RunConfig], workers: int, backend: Backend) -> tuple[float, list[dict]]:
    t0 = time.perf_counter()
    runs = run_grid(configs, workers, progress=False, backend=backend)
    wall = time.perf_counter() - t0
    print(f"{name:<28} {wall:7.1f} s  {len(configs) / wall * 60:6.1f} cells/min", flush=True)
    return wall, runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="4 cells of 500 steps")
    parser.add_argument("--workers", type=int, default=2, help="parallel slots (default: %(default)s)")
    parser.add_argument("--out", default="benchmarks/results", help="output folder (default: %(default)s)")
    args = parser.parse_args()
    n_cells, steps = (4, 500) if args.quick else (8, 2000)
    scratch = Path(tempfile.mkdtemp(prefix="grid_throughput-"))
    slots = args.workers
    rows: list[dict[str, Any]] = []
    try:
        # warm this process (imports, torch) on a throw-away cell, so the serial baseline is pure compute
        run_grid(grid(scratch / "warm", 1, 100), 1, progress=False, backend=Backend())
        serial, reference = timed("serial in-process", grid(scratch / "serial", n_cells, steps), 1, Backend())
        rows.append({"configuration": "serial in-process", "slots": 1, "wall_s": serial})
        wall, runs = timed(f"local, {slots} workers", grid(scratch / "local", n_cells, steps), slots, Backend())
        rows.append(
            {
                "configuration": f"local, {slots} workers",
                "slots": slots,
                "wall_s": wall,
                "same": strip(runs) == strip(reference),
            }
        )
        ray_rows = []
        try:
            import ray

            ray_backend = Backend("ray")
            wall, runs = timed("ray, local instance", grid(scratch / "ray", n_cells, steps), slots, ray_backend)
            ray_rows.append({"configuration": f"ray, local instance ({slots} CPUs, started and stopped)", "slots": slots,
                             "wall_s": wall, "same": strip(runs) == strip(reference)})  # fmt: skip
            with local_ray_priority():
                ray.init(num_cpus=slots, include_dashboard=False, log_to_driver=False, logging_level="WARNING")
            run_grid(grid(scratch / "ray-warm-up", slots, 100), slots, progress=False, backend=ray_backend)
            wall, runs = timed("ray, warm cluster", grid(scratch / "ray-warm", n_cells, steps), slots, ray_backend)
            ray_rows.append({"configuration": f"ray, warm cluster ({slots} CPUs)", "slots": slots, "wall_s": wall,
                             "same": strip(runs) == strip(reference)})  # fmt: skip
            ray.shutdown()
        except ImportError:
            print("ray is not installed (pip install -e '.[ray]'): Ray rows skipped")
        rows += ray_rows
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    for row in rows:
        row["cells_per_min"] = n_cells / row["wall_s"] * 60
        row["overhead_per_cell_s"] = (row["wall_s"] * row["slots"] - serial) / n_cells
    name = "grid_throughput" + ("-quick" if args.quick else "")
    meta = {"cells": n_cells, "steps": steps, "agent": "dqn", "env": "dogym/FaultAlarmSmall-v0",
            "python": platform.python_version(), "cpus": os.cpu_count(), "load_average": os.getloadavg()}  # fmt: skip
    atomic_write_json(Path(args.out) / f"{name}.json", {"meta": meta, "rows": rows})
    lines = [
        f"# Grid throughput ({'--quick: ' if args.quick else ''}{n_cells} cells: dqn on FaultAlarmSmall-v0, "
        f"{steps} steps, seeds 0-{n_cells - 1})",
        "",
        f"Command: `python benchmarks/grid_throughput.py{' --quick' if args.quick else ''}`. {os.cpu_count()} CPUs, "
        f"load average at the end {meta['load_average'][0]:.1f} (the machine is shared: absolute times vary, "
        "compare rows of one run). Overhead per cell = (wall x slots - serial in-process) / cells. "
        "`same results` checks every run's metrics against the serial run's, timing columns aside.",
        "",
        "| configuration | slots | wall (s) | cells/min | overhead per cell (s) | same results |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        same = {True: "yes", False: "NO"}.get(row.get("same"), "(baseline)")
        lines.append(f"| {row['configuration']} | {row['slots']} | {row['wall_s']:.1f} | {row['cells_per_min']:.1f} | "
                     f"{row['overhead_per_cell_s']:.2f} | {same} |")  # fmt: skip
    atomic_write_text(Path(args.out) / f"{name}.md", "\n".join(lines) + "\n")
    print(json.dumps(rows, indent=1))
    print(f"wrote {Path(args.out) / name}.md")


if __name__ == "__main__":
    main()

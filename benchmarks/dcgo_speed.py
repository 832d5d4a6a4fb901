"""DCGO speed: one DCBO replicate on DCGO-STAT-v0 (T = 3, N = 10 observational trajectories, H = 10 and the
reproduction's H = 50) on one core, and the other methods' replicates beside it, with every method's defaults
(agents/hyperparams; the authors' fresh acquisition candidates per trial and their observational GP fit).

    python benchmarks/dcgo_speed.py            # median of 5 replicates (seeds 0-4) per method and H
    python benchmarks/dcgo_speed.py --quick    # median of 3 replicates, DCBO at H = 10 only

The process is pinned to one core with one BLAS thread. Wall-clock and CPU (process) time are both reported: on a
shared machine the CPU time is the better measure. A replicate includes fitting the GP-SCM on D^O, every prior, the
acquisitions, the GP refits and the env's own interventions; not the ground truth. Targets: one DCBO replicate <= 2 s
(the DCBO authors' GPy code takes about 20 s, measured here on their demo setting with N = 20) and
one STAT replicate <= 1 s CPU.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

from dogym.experiments.threads import pin_to_one_core, set_thread_env  # noqa: E402

set_thread_env(1)

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402

import dogym.envs  # noqa: E402, F401
from dogym.agents.dcgo.loop import run_replicate  # noqa: E402
from dogym.agents.io import atomic_write_json, atomic_write_text  # noqa: E402
from dogym.agents.registry import AGENTS, resolve_hyperparams  # noqa: E402

STAT = "dogym/DCGO-STAT-v0"


def replicate_times(agent: str, seeds: int, H: int = 10) -> dict[str, float]:
    """Median wall and CPU seconds of one replicate of `agent` on STAT over seeds 0..seeds-1 (after one warm-up)."""
    spec = AGENTS[agent]
    options = resolve_hyperparams(spec, STAT)
    env = gym.make(STAT, n_observational=10).unwrapped
    run_replicate(env, spec.options["method"], H, 1000, **options)  # warm-up: imports and first-call caches
    wall, cpu = [], []
    for seed in range(seeds):
        w, c = time.perf_counter(), time.process_time()
        run_replicate(env, spec.options["method"], H, seed, **options)
        wall.append(time.perf_counter() - w)
        cpu.append(time.process_time() - c)
    return {"median_wall_seconds": float(np.median(wall)), "median_cpu_seconds": float(np.median(cpu)),
            "replicates": seeds}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = parser.parse_args()
    pin_to_one_core()
    seeds, agents = (3, ("dcbo",)) if args.quick else (5, ("dcbo", "cbo", "abo", "bo", "dcgo-random"))
    horizons = (10,) if args.quick else (10, 50)
    result = {"machine": platform.platform(), "load_average": os.getloadavg(), "env": STAT, "T": 3, "H": horizons,
              "N": 10}  # fmt: skip
    for agent in agents:
        for H in horizons:
            result[agent if H == 10 else f"{agent}@H{H}"] = replicate_times(agent, seeds, H)
    result["load_average_after"] = os.getloadavg()
    name = "dcgo_speed" + ("-quick" if args.quick else "")
    atomic_write_json(Path(args.out) / f"{name}.json", result)
    lines = [f"# DCGO speed ({'quick' if args.quick else 'full'}; one core; load average {result['load_average'][0]:.1f}"
             f" before, {result['load_average_after'][0]:.1f} after)", "",
             f"One replicate on {STAT} (T = 3, N = 10), median of {seeds} seeds.", "",
             "| agent | H | wall | CPU | target |", "|---|---|---|---|---|"]  # fmt: skip
    for agent in agents:
        for H in horizons:
            r = result[agent if H == 10 else f"{agent}@H{H}"]
            target = "<= 2 s wall, <= 1 s CPU" if agent == "dcbo" else "<= 1 s CPU"
            lines.append(f"| {agent} | {H} | {r['median_wall_seconds']:.2f} s | {r['median_cpu_seconds']:.2f} s | "
                         f"{target} |")  # fmt: skip
    atomic_write_text(Path(args.out) / f"{name}.md", "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

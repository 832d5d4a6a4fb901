"""Safe-region speed: one COL run on EdgeSafeRegion-v0 (budget C = 20) and RAN env steps per second on one core.

    python benchmarks/safe_region_speed.py            # 10 COL seeds, 5000 env steps per RAN env
    python benchmarks/safe_region_speed.py --quick    # 3 COL seeds, 1000 env steps

The process is pinned to one core with one BLAS thread. Wall-clock and CPU (process) time are both reported: on a
shared machine the CPU time is the better measure. Targets: one COL run <= 2 s; RAN envs
>= 2000 steps/s. RAN actions are uniform random Dict actions (a new threshold each step; RANSteering reuses the UE
process's tables of thresholds with the same `steering_key`, of which [0, 5] holds 7).
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
from dogym.agents.io import atomic_write_json, atomic_write_text  # noqa: E402
from dogym.agents.registry import AGENTS, resolve_hyperparams  # noqa: E402
from dogym.agents.safe_region.col import COL, COLConfig  # noqa: E402

EDGE = "dogym/EdgeSafeRegion-v0"


def col_runs(seeds: int) -> dict[str, float]:
    """Median wall and CPU seconds of one COL run (prior + Algorithm 1, budget 20) over seeds."""
    config = COLConfig(**resolve_hyperparams(AGENTS["col"], EDGE))
    wall, cpu = [], []
    for seed in range(seeds):
        env = gym.make(EDGE).unwrapped
        w, c = time.perf_counter(), time.process_time()
        COL(env, config, seed).run(20.0)
        wall.append(time.perf_counter() - w)
        cpu.append(time.process_time() - c)
    return {"median_wall_seconds": float(np.median(wall)), "median_cpu_seconds": float(np.median(cpu))}


def env_steps(env_id: str, n_steps: int) -> dict[str, float]:
    """Steps per second of `env.step` under random actions."""
    env = gym.make(env_id)
    env.reset(seed=0)
    env.action_space.seed(0)
    actions = [env.action_space.sample() for _ in range(n_steps)]
    w, c = time.perf_counter(), time.process_time()
    for action in actions:
        env.step(action)
    return {"steps_per_second_wall": n_steps / (time.perf_counter() - w),
            "steps_per_second_cpu": n_steps / (time.process_time() - c)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = parser.parse_args()
    pin_to_one_core()
    seeds, steps = (3, 1000) if args.quick else (10, 5000)
    result = {"machine": platform.platform(), "load_average": os.getloadavg(), "col_edge_budget20": col_runs(seeds)}
    for env_id in ("dogym/RANCpu-v0", "dogym/RANSteering-v0"):
        result[env_id] = env_steps(env_id, steps)
    name = "safe_region_speed" + ("-quick" if args.quick else "")
    atomic_write_json(Path(args.out) / f"{name}.json", result)
    col = result["col_edge_budget20"]
    lines = [f"# Safe-region speed ({'quick' if args.quick else 'full'}; load average {result['load_average'][0]:.1f})",
             "", "| what | wall | CPU | target |", "|---|---|---|---|",
             f"| one COL run, EdgeSafeRegion S1, C = 20 (median of {seeds}) | {col['median_wall_seconds']:.2f} s | "
             f"{col['median_cpu_seconds']:.2f} s | <= 2 s |"]  # fmt: skip
    for env_id in ("dogym/RANCpu-v0", "dogym/RANSteering-v0"):
        r = result[env_id]
        lines.append(
            f"| {env_id} steps/s | {r['steps_per_second_wall']:.0f} | {r['steps_per_second_cpu']:.0f} | >= 2000 |"
        )
    atomic_write_text(Path(args.out) / f"{name}.md", "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

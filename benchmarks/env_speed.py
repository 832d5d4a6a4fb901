"""FaultAlarm environment speed: env steps per second on one core, per policy and dynamics.

    python benchmarks/env_speed.py            # 5 repetitions x 20000 steps per cell
    python benchmarks/env_speed.py --quick    # 3 repetitions x 3000 steps

Only `env.step` calls are timed (resets are timed separately), through the registered env (TimeLimit wrapper
included). The process is pinned to one core with one BLAS thread. Reference: the authors' simulator takes
30-80 ms per step (12-33 steps/s); dogym's target is >= 2000 steps/s with the random-among-active policy.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

from dogym.experiments.threads import pin_to_one_core, set_thread_env  # noqa: E402

set_thread_env(1)  # before numpy is imported: tiny GPs and small networks run faster on one BLAS thread

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402

import dogym.envs  # noqa: E402, F401
from dogym.agents import REFERENCE_POLICIES  # noqa: E402
from dogym.agents.io import atomic_write_json, atomic_write_text  # noqa: E402


def measure(env_id: str, policy_name: str, n_steps: int, seed: int) -> dict[str, float]:
    """Time `n_steps` env steps (and the resets between episodes) under one reference policy."""
    env = gym.make(env_id)
    policy = REFERENCE_POLICIES[policy_name](env, seed)
    obs, info = env.reset(seed=seed)
    step_time = reset_time = 0.0
    resets = 0
    for _ in range(n_steps):
        action = policy.act(obs, info)
        t0 = time.perf_counter()
        obs, _, terminated, truncated, info = env.step(action)
        step_time += time.perf_counter() - t0
        if terminated or truncated:
            t0 = time.perf_counter()
            obs, info = env.reset()
            reset_time += time.perf_counter() - t0
            resets += 1
    env.close()
    return {
        "steps_per_s": n_steps / step_time,
        "steps_per_s_with_resets": n_steps / (step_time + reset_time),
        "episodes": resets,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="3 repetitions x 3000 steps")
    parser.add_argument("--steps", type=int, help="steps per repetition")
    parser.add_argument("--reps", type=int, help="repetitions (seeds 0..reps-1)")
    parser.add_argument("--out", default="benchmarks/results/env_speed", help="output path stem (.json, .md)")
    args = parser.parse_args()
    n_steps = args.steps or (3000 if args.quick else 20000)
    reps = args.reps or (3 if args.quick else 5)
    pin_to_one_core()
    cells = [
        (env_id, policy)
        for env_id in ("dogym/FaultAlarm-v0", "dogym/FaultAlarmPoisson-v0")
        for policy in ("random-active", "oracle", "random")
    ]
    rows = []
    header = "| env | policy | steps/s median | min | max | steps/s incl. resets | episodes/rep |"
    lines = [header, "|---|---|---|---|---|---|---|"]
    print(f"{n_steps} steps x {reps} repetitions per cell, one core")
    for env_id, policy in cells:
        runs = [measure(env_id, policy, n_steps, seed) for seed in range(reps)]
        speed = np.array([r["steps_per_s"] for r in runs])
        with_resets = np.median([r["steps_per_s_with_resets"] for r in runs])
        episodes = np.median([r["episodes"] for r in runs])
        rows.append({"env": env_id, "policy": policy, "runs": runs, "median_steps_per_s": float(np.median(speed))})
        line = (
            f"| {env_id} | {policy} | {np.median(speed):.0f} | {speed.min():.0f} | {speed.max():.0f} | "
            f"{with_resets:.0f} | {episodes:.0f} |"
        )
        lines.append(line)
        print(line, flush=True)
    meta = {"steps": n_steps, "reps": reps, "python": platform.python_version(), "machine": platform.machine(),
            "cpu_count": os.cpu_count()}  # fmt: skip
    stem = Path(args.out)
    atomic_write_json(stem.with_suffix(".json"), {"meta": meta, "rows": rows})
    text = "# FaultAlarm env speed (one core)\n\n" + f"`{meta}`\n\n" + "\n".join(lines) + "\n"
    atomic_write_text(stem.with_suffix(".md"), text)
    print(f"wrote {stem.with_suffix('.json')} and {stem.with_suffix('.md')}")


if __name__ == "__main__":
    main()

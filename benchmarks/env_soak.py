"""Env soak: many random valid steps on every registered dogym env; steps/s, crashes and non-finite values.

    python benchmarks/env_soak.py            # 100000 steps per env (capped at --max-seconds per env)
    python benchmarks/env_soak.py --quick    # 2000 steps per env

Actions are drawn from each env's action space with a seeded generator (for discrete actions, half of the time among
the actions `info["action_mask"]` allows). Every reset and step is checked as in tests/test_fuzz_envs.py: the
observation inside the observation space and finite, a finite reward, the contract's info keys, every info number
finite (except keys an env documents as NaN at reset). A crash is any exception from `reset` or `step` on a valid
action; the env is reset and the soak goes on. Targets: 0 crashes, 0 non-finite values.
Results: benchmarks/results/env_soak[-quick].{md,json}.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

from dogym.experiments.threads import set_thread_env

set_thread_env(1)

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402
from gymnasium import spaces  # noqa: E402

import dogym.envs  # noqa: E402, F401
from dogym.agents.io import atomic_write_json, atomic_write_text  # noqa: E402
from dogym.envs.core import INFO_KEYS  # noqa: E402

#: Info keys an env documents as NaN at reset (no value yet): the DCGO envs' outcome before the first step.
NAN_AT_RESET = ("y",)


def random_action(space: spaces.Space, info: dict[str, Any], rng: np.random.Generator) -> Any:
    """A random valid action (discrete: half of the time among the allowed actions of `info["action_mask"]`)."""
    if isinstance(space, spaces.Discrete):
        allowed = np.flatnonzero(np.asarray(info.get("action_mask", []), dtype=bool))
        if allowed.size and rng.random() < 0.5:
            return int(space.start + rng.choice(allowed))
        return int(space.start + rng.integers(space.n))
    if isinstance(space, spaces.MultiBinary):
        return rng.integers(0, 2, size=space.shape).astype(space.dtype)
    if isinstance(space, spaces.Box):
        low = np.where(np.isfinite(space.low), space.low, -1e3)
        high = np.where(np.isfinite(space.high), space.high, 1e3)
        return rng.uniform(low, high).astype(space.dtype)
    if isinstance(space, spaces.Dict):
        return {k: random_action(s, {}, rng) for k, s in space.spaces.items()}
    raise NotImplementedError(f"no random action for {space}")


def non_finite(value: Any) -> int:
    """How many numbers in `value` (nested dicts, lists, arrays) are NaN or infinite."""
    if isinstance(value, dict):
        return sum(non_finite(v) for v in value.values())
    if isinstance(value, list | tuple):
        return sum(non_finite(v) for v in value)
    if isinstance(value, np.ndarray) and value.dtype.kind in "fc":
        return int((~np.isfinite(value)).sum())
    if isinstance(value, float | np.floating):
        return int(not math.isfinite(value))
    return 0


def problems(env: gym.Env, obs: Any, info: dict[str, Any], reward: float, at_reset: bool) -> tuple[int, int]:
    """(non-finite values, contract violations) of one reset or step."""
    skip = NAN_AT_RESET if at_reset else ()
    bad = non_finite(obs) + non_finite(reward) + non_finite({k: v for k, v in info.items() if k not in skip})
    violations = int(not env.observation_space.contains(obs)) + int(not set(INFO_KEYS) <= set(info))
    return bad, violations


def soak(env_id: str, n_steps: int, seed: int, max_seconds: float) -> dict[str, Any]:
    """`n_steps` random valid steps (or as many as fit in `max_seconds`) on one env."""
    env = gym.make(env_id)
    rng = np.random.default_rng(seed)
    obs, info = env.reset(seed=seed)
    stats = {"steps": 0, "episodes": 0, "crashes": 0, "non_finite": 0, "violations": 0, "first_crash": ""}
    bad, wrong = problems(env, obs, info, 0.0, True)
    stats["non_finite"] += bad
    stats["violations"] += wrong
    step_seconds = 0.0
    start = time.perf_counter()
    while stats["steps"] < n_steps and time.perf_counter() - start < max_seconds:
        action = random_action(env.action_space, info, rng)
        try:
            t0 = time.perf_counter()
            obs, reward, terminated, truncated, info = env.step(action)
            step_seconds += time.perf_counter() - t0
            bad, wrong = problems(env, obs, info, float(reward), False)
            if terminated or truncated:
                stats["episodes"] += 1
                obs, info = env.reset()
                more, also = problems(env, obs, info, 0.0, True)
                bad, wrong = bad + more, wrong + also
        except Exception as err:  # noqa: BLE001  (a crash is what the soak counts)
            stats["crashes"] += 1
            stats["first_crash"] = stats["first_crash"] or f"{type(err).__name__}: {err}"[:200]
            obs, info = env.reset()
            bad = wrong = 0
        stats["steps"] += 1
        stats["non_finite"] += bad
        stats["violations"] += wrong
    total = time.perf_counter() - start
    env.close()
    return {**stats, "steps_per_s": stats["steps"] / max(step_seconds, 1e-12),
            "steps_per_s_with_resets": stats["steps"] / max(total, 1e-12), "seconds": total,
            "capped": stats["steps"] < n_steps}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="2000 steps per env")
    parser.add_argument("--steps", type=int, help="steps per env (default 100000; 2000 with --quick)")
    parser.add_argument("--max-seconds", type=float, default=600.0, help="time cap per env (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--envs", help="env ids, comma-separated (default: every registered dogym env)")
    parser.add_argument("--out", default="benchmarks/results", help="output folder (default: %(default)s)")
    args = parser.parse_args()
    n_steps = args.steps or (2_000 if args.quick else 100_000)
    env_ids = args.envs.split(",") if args.envs else sorted(e for e in gym.registry if e.startswith("dogym/"))
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    rows = {}
    for env_id in env_ids:
        rows[env_id] = soak(env_id, n_steps, args.seed, args.max_seconds)
        r = rows[env_id]
        print(f"{env_id:<36} {r['steps']:>7} steps {r['steps_per_s']:>9.0f}/s  crashes {r['crashes']}  "
              f"non-finite {r['non_finite']}  violations {r['violations']}{'  (time cap)' if r['capped'] else ''}",
              flush=True)  # fmt: skip
    name = "env_soak" + ("-quick" if args.quick else "")
    meta = {"steps_per_env": n_steps, "max_seconds": args.max_seconds, "seed": args.seed, "python": platform.python_version(),
            "machine": platform.machine(), "load_average": os.getloadavg()}  # fmt: skip
    atomic_write_json(Path(args.out) / f"{name}.json", {"meta": meta, "envs": rows})
    lines = [
        f"# Env soak ({'--quick, ' if args.quick else ''}{n_steps} random valid steps per env, seed {args.seed})",
        "",
        f"Command: `python benchmarks/env_soak.py {' '.join(sys.argv[1:])}`. Cap {args.max_seconds:g} s per env. "
        "One core, one BLAS thread; "
        f"load average at the end {meta['load_average'][0]:.1f} (the machine is shared). steps/s times `env.step` "
        "only; with resets it includes the resets and checks. Targets: 0 crashes, 0 non-finite values.",
        "",
        "| env | steps | episodes | steps/s | steps/s with resets | crashes | non-finite | contract violations |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for env_id, r in rows.items():
        steps = f"{r['steps']}" + (" (time cap)" if r["capped"] else "")
        lines.append(f"| {env_id} | {steps} | {r['episodes']} | {r['steps_per_s']:.0f} | "
                     f"{r['steps_per_s_with_resets']:.0f} | {r['crashes']} | {r['non_finite']} | {r['violations']} |")  # fmt: skip
    crashes = [f"- {e}: {r['first_crash']}" for e, r in rows.items() if r["crashes"]]
    total = sum(r["crashes"] for r in rows.values()), sum(r["non_finite"] for r in rows.values())
    lines += ["", f"Total: {total[0]} crashes (target 0), {total[1]} non-finite values (target 0)."]
    if crashes:
        lines += ["", "First crash per env:", *crashes]
    atomic_write_text(Path(args.out) / f"{name}.md", "\n".join(lines) + "\n")
    print(f"wrote {Path(args.out) / name}.md")


if __name__ == "__main__":
    main()

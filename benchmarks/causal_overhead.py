"""Training throughput of each causal FaultAlarm agent against its vanilla version, measured side by side.

    python benchmarks/causal_overhead.py            # 15000 env steps per run (the reproduction's budget), seed 0
    python benchmarks/causal_overhead.py --quick    # 3000 env steps per run

Each (causal, vanilla) pair is trained back to back in this process on one thread, with the same seed and budget, and
the pair is repeated `--repeats` times in alternating order, so both see the same machine load. Reported: env steps/s
of the learning phase (SB3 `learn`, which for causal agents includes feeding the structure learner and the graph
updates, but not the THP fit on the passive log before training) and the ratio causal / vanilla (target:
>= 70%). Causal PPO updates every 256 steps and PPO every 512 (Cai et al., Table 4), so Causal PPO runs twice as many
50-epoch updates; the PPO pairs are also measured against PPO with n_steps 256, which isolates the causal overhead.
Results go to benchmarks/results/causal_overhead.{json,md}.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from dogym.experiments.threads import set_thread_env

set_thread_env(1)  # before numpy and torch are imported

from dogym.agents.fault_alarm.specs import VANILLA_OF  # noqa: E402
from dogym.agents.io import atomic_write_json, atomic_write_text  # noqa: E402
from dogym.experiments.runner import RunConfig, train  # noqa: E402

TARGET = 0.70
RESULTS = Path(__file__).parent / "results"


#: Vanilla agents measured a second time with the causal agent's update schedule: label -> (agent, overrides).
SAME_SCHEDULE = {"ppo (n_steps 256)": ("ppo", {"n_steps": 256})}


def throughput(agent: str, seed: int, timesteps: int) -> float:
    """Env steps/s of one training run's learning phase (`agent` may be a `SAME_SCHEDULE` label)."""
    name, overrides = SAME_SCHEDULE.get(agent, (agent, {}))
    with tempfile.TemporaryDirectory() as folder:
        config = RunConfig(name, seed=seed, timesteps=timesteps, log_folder=folder, eval_episodes=0,
                           hyperparams=overrides)  # fmt: skip
        return float(train(config, progress=False)["steps_per_second"])


def measure(pairs: list[tuple[str, str]], seed: int, timesteps: int, repeats: int) -> list[dict[str, Any]]:
    """Per pair: the steps/s of every repeat of both agents, their medians and the ratio of medians."""
    rows = []
    for causal, vanilla in pairs:
        speeds: dict[str, list[float]] = {causal: [], vanilla: []}
        for r in range(repeats):
            for agent in (causal, vanilla) if r % 2 == 0 else (vanilla, causal):
                speeds[agent].append(throughput(agent, seed, timesteps))
                print(f"{agent:<22} {speeds[agent][-1]:8.1f} steps/s", flush=True)
        c, v = statistics.median(speeds[causal]), statistics.median(speeds[vanilla])
        rows.append({"causal": causal, "vanilla": vanilla, "causal_steps_per_s": speeds[causal],
                     "vanilla_steps_per_s": speeds[vanilla], "ratio": c / v})  # fmt: skip
    return rows


def report(rows: list[dict[str, Any]], args: argparse.Namespace, wall: float) -> str:
    """The Markdown table."""
    lines = [
        "# Causal agents' training throughput against their vanilla versions",
        "",
        f"Command: `python benchmarks/causal_overhead.py{' --quick' if args.quick else ''}`; seed {args.seed}; "
        f"{args.timesteps} env steps per run; {args.repeats} repeats per agent (alternating order); one thread; "
        f"{platform.machine()}; wall {wall / 60:.1f} min. Target: causal >= {TARGET:.0%} of vanilla.",
        "",
        "| causal | vanilla | causal steps/s (median) | vanilla steps/s (median) | ratio | target |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        c, v = statistics.median(row["causal_steps_per_s"]), statistics.median(row["vanilla_steps_per_s"])
        verdict = "met" if row["ratio"] >= TARGET else "**missed**"
        lines.append(f"| {row['causal']} | {row['vanilla']} | {c:.0f} | {v:.0f} | {row['ratio']:.0%} | {verdict} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="3000 env steps per run")
    parser.add_argument("--timesteps", type=int, default=None, help="env steps per run (default 15000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=1, help="runs per agent")
    parser.add_argument("--agents", nargs="*", default=None, help="causal agents (default: all)")
    args = parser.parse_args()
    args.timesteps = args.timesteps or (3_000 if args.quick else 15_000)
    pairs = [(c, v) for c, v in VANILLA_OF.items() if args.agents is None or c in args.agents]
    pairs += [(c, label) for c, v in list(pairs) for label, (agent, _) in SAME_SCHEDULE.items() if agent == v]
    start = time.perf_counter()
    rows = measure(pairs, args.seed, args.timesteps, args.repeats)
    wall = time.perf_counter() - start
    suffix = "-quick" if args.quick else ""
    atomic_write_json(RESULTS / f"causal_overhead{suffix}.json", {"timesteps": args.timesteps, "seed": args.seed,
                                                                   "repeats": args.repeats, "rows": rows})  # fmt: skip
    print(atomic_write_text(RESULTS / f"causal_overhead{suffix}.md", report(rows, args, wall)).read_text())


if __name__ == "__main__":
    main()

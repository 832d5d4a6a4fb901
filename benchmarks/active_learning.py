"""Seed-000 benchmark: Table 1, loss curves (Figs. 7, 17, 19) and the rollout decision time on the microservice SCM.

python benchmarks/active_learning.py [--quick] [--seeds 0 ... 9] [--workers 1] [--out benchmarks/results/acl]
    [--table1-seeds 5] [--table1-rollouts 2,5 3,5 ...] [--recovery-seeds N]   (also: scenario 2's recovery over seeds 0..N-1 -> scenario2_recovery.json)
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

from dogym.experiments.threads import set_thread_env  # noqa: E402

set_thread_env(1)  # before numpy is imported: tiny GPs and small networks run faster on one BLAS thread

import numpy as np  # noqa: E402

from dogym.agents.identification.estimator import GPConfig  # noqa: E402
from dogym.agents.identification.learner import make_learner  # noqa: E402
from dogym.agents.io import atomic_write_json  # noqa: E402
from dogym.causal.random_streams import named_rng  # noqa: E402
from dogym.envs.identification.microservice import MicroserviceEnv  # noqa: E402
from dogym.experiments.papers import Reproduction, reproduce  # noqa: E402
from dogym.experiments.papers.acl import ACL, MICROSERVICE_COST_WEIGHT, TABLE1_ROLLOUTS, scenario2_recovery  # noqa: E402


def decision_seconds(n_decisions: int, n_data: int = 15, seed: int = 0) -> tuple[list[float], list[float]]:
    """Wall and CPU times of single rollout decisions (l=1, m=5, L=10, DE 10 x 30) on microservice scenario 1 with
    n_data random-intervention samples already collected (CPU time: what a decision costs when the machine is
    shared)."""
    env = MicroserviceEnv(1)
    env.reset(seed=seed)
    rng = named_rng(seed, "policy")
    warm = make_learner("random", env, GPConfig(mode="scaled"))
    for _ in range(n_data):
        iv = warm.act(rng)
        warm.observe(env.step(iv)[0], iv)
    learner = make_learner("rollout", env, GPConfig(mode="scaled"), cost_weight=MICROSERVICE_COST_WEIGHT)
    learner.estimator.buffer.extend(warm.estimator.buffer)
    learner.estimator.refit()
    wall, cpu = [], []
    for _ in range(n_decisions):
        start, start_cpu = time.perf_counter(), time.process_time()
        learner.act(rng)
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short smoke run (12 steps, small DE)")
    parser.add_argument("--decisions-only", action="store_true", help="only time the rollout decisions")
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(10)))
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--out", default="benchmarks/results/acl")
    parser.add_argument(
        "--recovery-seeds", type=int, default=0, help="also summarise scenario 2's recovery over this many seeds"
    )
    parser.add_argument(
        "--table1-seeds",
        type=int,
        default=5,
        help="how many seeds run Table 1's longer rollouts (l, m other than 1, 5)",
    )
    parser.add_argument(
        "--table1-rollouts", nargs="+", default=None, metavar="L,M", help="Table 1's rows beyond (1, 5), e.g. 2,5 3,5"
    )
    args = parser.parse_args()
    rows = [tuple(int(v) for v in lm.split(",")) for lm in args.table1_rollouts] if args.table1_rollouts else None
    times, cpu = decision_seconds(5 if args.quick else 20)
    timing = {"median_s": float(np.median(times)), "min_s": float(np.min(times)), "median_cpu_s": float(np.median(cpu)),
              "n": len(times), "paper_s": 12.5, "load_average": os.getloadavg()}  # fmt: skip
    atomic_write_json(os.path.join(args.out, "decision_time.json"), timing)
    print(f"microservice rollout decision: median {timing['median_s']:.3f} s wall, {timing['median_cpu_s']:.3f} s CPU")
    if args.decisions_only:
        return
    paper = ACL(args.table1_seeds, tuple(rows or TABLE1_ROLLOUTS))
    reproduce(paper, Reproduction(Path(args.out), tuple(args.seeds), args.quick, args.workers))
    summary = json.loads((Path(args.out) / "summary.json").read_text(encoding="utf-8"))
    print(f"{'learner':<20}{'loss mean':>12}{'std':>10}{'paper':>10}{'s/decision':>12}{'paper s':>10}")
    for r in summary["table1"]:
        print(
            f"{r['learner']:<20}{r['loss_mean']:>12.1f}{r['loss_std']:>10.1f}{str(r['paper_loss'] or '-'):>10}"
            f"{r['decision_s_median']:>12.3f}{str(r['paper_decision_s'] or '-'):>10}"
        )
    for exp, by in summary["curves"].items():
        print(exp, {lab: round(c["mean"][-1], 1) for lab, c in by.items()})
    print(f"microservice rollout decision (l=1, m=5, L=10, DE 10x30): median {timing['median_s']:.3f} s (paper 12.5 s)")
    if args.recovery_seeds > 0:
        recovery = scenario2_recovery(args.out, range(args.recovery_seeds), args.workers)
        for label, r in recovery.items():
            if label != "seeds":
                f_r2 = ", ".join(f"t={t}: {m:.1f} +- {s:.1f}" for t, (m, s) in zip(r["steps"], r["f_R2"], strict=True))
                print(
                    f"scenario 2 f_R2, {label} ({r['seeds']} seeds): {f_r2}; lower at t={r['steps'][2]} than at "
                    f"t={r['steps'][1]}: {r['seeds_recovering']}; fresh start, t={r['steps'][0]}: "
                    f"{r['reference_f_R2'][0]:.1f} +- {r['reference_f_R2'][1]:.1f}"
                )


if __name__ == "__main__":
    main()

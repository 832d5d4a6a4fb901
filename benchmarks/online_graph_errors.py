"""Which edges does the online structure learner (ATT orientation + BIC pruning) get wrong, and why?

    python benchmarks/online_graph_errors.py                 # tuning seeds 100 and 101, 15000 interventions each
    python benchmarks/online_graph_errors.py --quick         # seed 100, 3000 interventions

A random-among-active policy acts on FaultAlarm-v0 and feeds every transition to the learner started from THP
(as `mask-random-online` does, without RL), with a graph update every 500 interventions. At the end every missed true
edge and every extra edge is listed with the ATT statistics of its pair (samples, relative effect, t statistic,
supported / rejected) and, for extra edges, whether the true graph has a directed path from cause to effect (an
indirect effect: ATT measures total effects, not direct ones). Seeds are tuning seeds (100+), never reported ones.
Results: benchmarks/results/online_graph_errors[-quick].md.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from dogym.experiments.threads import set_thread_env  # noqa: E402

set_thread_env(1)

import gymnasium as gym  # noqa: E402
import networkx as nx  # noqa: E402
from structure_learning import feed_random_active  # noqa: E402

import dogym.envs  # noqa: E402, F401
from dogym.agents.fault_alarm.online_causal import initial_structure_learner  # noqa: E402
from dogym.agents.io import atomic_write_text  # noqa: E402

UPDATE_EVERY = 500


def errors(seed: int, budget: int) -> list[str]:
    """Markdown lines: the final metrics, then one row per missed or extra edge."""
    env = gym.make("dogym/FaultAlarm-v0")
    truth = env.unwrapped.true_graph  # evaluation only
    learner = initial_structure_learner(env, "thp", seed)
    feed_random_active(env, learner, seed, budget, UPDATE_EVERY)
    m = learner.metrics(truth)
    graph, est = learner.graph, learner.last_estimate
    index = {name: i for i, name in enumerate(learner.type_names)}
    lines = [
        f"## Seed {seed}, {budget} interventions: F1 {m.f1:.3f}, SHD {m.shd}, precision {m.precision:.3f}, "
        f"recall {m.recall:.3f}",
        "",
        "| error | edge | ATT samples | relative effect | t | supported | rejected | reverse supported | true path |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    wrong = [("missed", e) for e in sorted(truth.edges) if not graph.has_edge(*e)]
    wrong += [("extra", e) for e in sorted(graph.edges) if not truth.has_edge(*e)]
    for kind, (a, b) in wrong:
        i, j = index[a], index[b]
        path = "reversed edge" if truth.has_edge(b, a) else "yes" if nx.has_path(truth, a, b) else "no"
        lines.append(
            f"| {kind} | {a} -> {b} | {est.n[i, j]:.0f} | {est.rel[i, j]:+.3f} | {est.t[i, j]:+.1f} | "
            f"{bool(est.supported[i, j])} | {bool(est.rejected[i, j])} | {bool(est.supported[j, i])} | "
            f"{path if kind == 'extra' else '-'} |"
        )
    print("\n".join(lines), flush=True)
    return lines + [""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="seed 100, 3000 interventions")
    parser.add_argument("--seeds", type=int, nargs="+", default=[100, 101], help="tuning seeds (default: 100 101)")
    parser.add_argument("--budget", type=int, default=15_000, help="interventions per seed (default: %(default)s)")
    parser.add_argument("--out", default="benchmarks/results", help="output folder (default: %(default)s)")
    args = parser.parse_args()
    seeds, budget = ([100], 3000) if args.quick else (args.seeds, args.budget)
    lines = [
        "# Errors of the online structure learner (ATT orientation + BIC pruning) on FaultAlarm-v0",
        "",
        f"Command: `python benchmarks/online_graph_errors.py{' --quick' if args.quick else ''}`. THP start, random "
        f"actions among active alarms, update every {UPDATE_EVERY} interventions. Relative effect: the ATT estimate "
        "of clearing the cause on the effect's count, relative to its mean before (negative = a drop); supported "
        "needs t < -z and a drop beyond min_effect (5%). 'true path': an extra edge from an ancestor of the effect "
        "in the true graph (ATT sees its indirect effect).",
        "",
    ]
    for seed in seeds:
        lines += errors(seed, budget)
    name = "online_graph_errors" + ("-quick" if args.quick else "")
    atomic_write_text(Path(args.out) / f"{name}.md", "\n".join(lines))
    print(f"wrote {Path(args.out) / name}.md")


if __name__ == "__main__":
    main()

"""The rollout learner of Hammar & Stadler with its causal graph known, wrong (one edge reversed) or learned from its own
data, on ToySCM and Microservice S1 at the paper's budget (30 interventions), on tuning seeds (100+, disjoint from the
reported seeds 0-9). Chooses the learned graph's settings (graph_alpha, relearn_every, orientation_weight) for
`graph: learned` by the final loss (5), then the final SHD ("learned" runs the YAML's values).

Per cell: final loss (5), cumulative cost, SHD and F1 of the final graph, CPU seconds of structure learning and their
share of the run's wall time (train_seconds). Writes benchmarks/results/acl_graph/runs.csv (one row per run) and
summary.md (mean +- std over the seeds per env and variant).

    python benchmarks/acl_graph.py [--seeds 100 101 102] [--envs toy ms1] [--out /tmp/acl_graph] [--workers 1]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from dogym.experiments.threads import set_thread_env  # noqa: E402

set_thread_env(1)

import numpy as np  # noqa: E402

from dogym.agents.io import atomic_write_text, csv_text  # noqa: E402
from dogym.experiments.grid import run_grid  # noqa: E402
from dogym.experiments.report import markdown_table  # noqa: E402
from dogym.experiments.runner import RunConfig  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "acl_graph"
ENVS = {"toy": "dogym/ToySCM-v0", "ms1": "dogym/Microservice-v0"}
#: variant label -> hyper-parameter overrides of acl-rollout (known: none, the YAML's defaults).
VARIANTS = {
    "known": {},
    "wrong": {"graph": "wrong"},
    "learned": {"graph": "learned"},  # the YAML's graph_alpha and relearn_every
    "learned ow=0.5": {"graph": "learned", "orientation_weight": 0.5},
    **{f"learned a={a:g} k=1": {"graph": "learned", "graph_alpha": a, "relearn_every": 1} for a in (0.05, 0.2)},
    "learned a=0.2 k=5": {"graph": "learned", "graph_alpha": 0.2, "relearn_every": 5},
}


def _commit() -> str:
    import subprocess

    return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[100, 101, 102])
    parser.add_argument("--envs", nargs="+", default=list(ENVS), choices=list(ENVS))
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--out", default="/tmp/acl_graph")
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    cells = [(env, label, seed) for env in args.envs for label in args.variants for seed in args.seeds]
    configs = [
        RunConfig("acl-rollout", ENVS[env], seed, 30, {}, dict(VARIANTS[label]), eval_episodes=0,
                  log_folder=str(Path(args.out) / env), label=label.replace(" ", "_").replace("=", ""))
        for env, label, seed in cells
    ]  # fmt: skip
    runs = run_grid(configs, args.workers, progress=False)
    rows = [
        {
            "env": env,
            "variant": label,
            "seed": seed,
            "final_loss": m["identification"]["final_loss"],
            "total_cost": m["identification"]["total_cost"],
            "shd": m["graph"]["shd"],
            "f1": m["graph"]["f1"],
            "learn_seconds": m["graph"]["learn_seconds"],
            "train_seconds": m["train_seconds"],
            "learn_share": m["graph"]["learn_seconds"] / m["train_seconds"],
        }
        for (env, label, seed), m in zip(cells, runs, strict=True)
    ]
    RESULTS.mkdir(parents=True, exist_ok=True)
    atomic_write_text(RESULTS / "runs.csv", csv_text(rows))
    table = []
    for env in args.envs:
        for label in args.variants:
            mine = [r for r in rows if r["env"] == env and r["variant"] == label]

            def pm(key: str, digits: int = 1, mine=mine) -> str:
                values = np.array([r[key] for r in mine], float)
                return f"{values.mean():.{digits}f} +- {values.std():.{digits}f}"

            table.append([env, label, len(mine), pm("final_loss"), pm("total_cost", 0), pm("shd", 2), pm("f1", 2),
                          pm("learn_seconds", 2), pm("train_seconds"), pm("learn_share", 3)])  # fmt: skip
    header = (
        "env",
        "variant",
        "seeds",
        "loss (5)",
        "cost",
        "SHD",
        "F1",
        "learn s (CPU)",
        "run s (wall)",
        "learn share",
    )
    text = "\n".join([
        "# acl-rollout: known, wrong and learned graph (tuning seeds)", "",
        f"Seeds {args.seeds}; 30 interventions; mean +- std over seeds; code at commit {_commit()}. Written by "
        "benchmarks/acl_graph.py.", "",
        *markdown_table(header, table), "",
    ])  # fmt: skip
    atomic_write_text(RESULTS / "summary.md", text)
    print(text)


if __name__ == "__main__":
    main()

"""COL's graph settings on tuning seeds (100 and up, disjoint from the reported seeds 0-9): the known graph, a wrong
graph (one edge reversed) and learned graphs (`graph_alpha`, `graph_passive_steps`, `relearn_every`,
`orientation_weight`) on the edge example (EdgeSafeRegion-v0, scenario 1) of Hammar, Alpcan and Lupu, "Causal Online
Learning of Safe Regions in Cloud Radio Access Networks", at the paper's budget C = 20.

    python benchmarks/col_graph_tuning.py [--seeds 100-102] [--runs /tmp/col_graph_runs] [--config LABEL KEY=VALUE ...]

Every cell is a run of the experiment runner (`col` with the configuration's hyper-parameter overrides), so the
numbers are those a reproduction reads from metrics.json: unsafe interventions, final region size, precision and
recall against the true region, SHD and F1 of the final graph, CPU seconds of structure learning and the run's wall
seconds. Finished cells are kept in benchmarks/results/col_graph/runs.jsonl (a rerun skips them); runs.md has the
per-configuration means and medians over seeds.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import yaml  # noqa: E402

from dogym.agents.io import atomic_write_text  # noqa: E402
from dogym.experiments.runner import RunConfig, train  # noqa: E402

ENV = "dogym/EdgeSafeRegion-v0"
OUT = Path(__file__).resolve().parent / "results" / "col_graph"
#: label -> hyper-parameter overrides (on top of agents/hyperparams/col.yml).
CONFIGS: dict[str, dict[str, Any]] = {
    "known": {"graph": "known"},
    "wrong": {"graph": "wrong"},
}
CONFIGS.update(
    (f"learned {test} a={a} passive={n} relearn={k}",
     {"graph": "learned", "graph_test": test, "graph_alpha": a, "graph_passive_steps": n, "relearn_every": k})
    for test in ("basis", "rank") for n in (0, 300, 1000) for a in (0.01, 0.05, 0.2) for k in (1, 3)
    if (test == "basis" or (a, k) == (0.01, 1)) and (a != 0.2 or n == 0)
)  # fmt: skip
#: The orientation rule against the plain one at the chosen setting (the defaults of col.yml).
CONFIGS["learned (col.yml defaults)"] = {"graph": "learned"}
CONFIGS["learned (col.yml defaults), orientation_weight 1"] = {"graph": "learned", "orientation_weight": 1.0}
#: The columns of runs.md: (key of a run row, header, decimals).
COLUMNS = (("unsafe", "unsafe", 1), ("size", "region size", 3), ("precision", "precision", 3), ("recall", "recall", 3),
           ("shd", "SHD", 2), ("f1", "F1", 2), ("learn_seconds", "learn s", 2), ("wall_seconds", "run s", 1),
           ("learn_share", "learn share", 3))  # fmt: skip


def run_cell(label: str, overrides: dict[str, Any], seed: int, runs: Path) -> dict[str, Any]:
    """One run through the runner; its metrics as a flat row."""
    config = RunConfig("col", ENV, seed, 20, hyperparams=dict(overrides), eval_episodes=0,
                       log_folder=str(runs), label=_folder(label))  # fmt: skip
    m = train(config)
    wall = float(m["train_seconds"])
    return {"label": label, "seed": seed, "overrides": overrides, "unsafe": m["col"]["unsafe_interventions"],
            "interventions": m["col"]["interventions"], "size": m["col"]["region_size"],
            "precision": m["truth"]["precision"], "recall": m["truth"]["recall"], "shd": m["graph"]["shd"],
            "f1": m["graph"]["f1"], "learn_seconds": m["graph"]["learn_seconds"], "wall_seconds": wall,
            "learn_share": m["graph"]["learn_seconds"] / wall if wall > 0 else 0.0}  # fmt: skip


def structure_code() -> str:
    """The last commit of the structure learner's code, with "+local changes" when its files differ from it."""
    root = Path(__file__).resolve().parent.parent
    git = ["git", "-C", str(root)]
    commit = subprocess.run(
        [*git, "log", "-1", "--format=%h", "--", "causal/structure"], capture_output=True, text=True
    )
    dirty = subprocess.run([*git, "status", "--porcelain", "--", "causal/structure"], capture_output=True, text=True)
    return commit.stdout.strip() + (" +local changes" if dirty.stdout.strip() else "")


def _folder(label: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in label)


def table(rows: list[dict[str, Any]], labels: list[str]) -> list[str]:
    """Markdown lines: per configuration the mean (median) of each column over its seeds."""
    lines = ["| configuration | seeds | " + " | ".join(h for _, h, _ in COLUMNS) + " |",
             "|---|---|" + "---|" * len(COLUMNS)]  # fmt: skip
    for label in labels:
        mine = [r for r in rows if r["label"] == label]
        if not mine:
            continue
        cells = []
        for key, _, digits in COLUMNS:
            values = np.array([r[key] for r in mine], dtype=float)
            cells.append(f"{values.mean():.{digits}f} ({np.median(values):.{digits}f})")
        lines.append(f"| {label} | {len(mine)} | " + " | ".join(cells) + " |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", default="100-102", help="first-last (tuning seeds: 100 and up)")
    parser.add_argument("--runs", default="/tmp/col_graph_runs", help="parent of the run folders (not committed)")
    parser.add_argument("--config", nargs="+", action="append", metavar="LABEL KEY=VALUE", help="a configuration")
    args = parser.parse_args()
    first, _, last = args.seeds.partition("-")
    seeds = list(range(int(first), int(last or first) + 1))
    if min(seeds) < 100:
        raise SystemExit("tune on seeds >= 100 only (0-9 are the reported seeds)")
    configs = CONFIGS
    if args.config:
        configs = {c[0]: {k: yaml.safe_load(v) for k, v in (kv.split("=", 1) for kv in c[1:])} for c in args.config}
    OUT.mkdir(parents=True, exist_ok=True)
    log = OUT / "runs.jsonl"
    rows = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    done = {(r["label"], r["seed"]) for r in rows}
    for label, overrides in configs.items():
        for seed in seeds:
            if (label, seed) in done:
                continue
            rows.append({**run_cell(label, overrides, seed, Path(args.runs)), "structure_code": structure_code()})
            atomic_write_text(log, "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows))
            print(json.dumps(rows[-1]), flush=True)
    labels = list(dict.fromkeys(r["label"] for r in rows))
    lines = [f"# COL graph settings on tuning seeds ({ENV}, C = 20)", "",
             "Mean (median) over the seeds of each configuration (benchmarks/col_graph_tuning.py).", "",
             *table(rows, labels)]  # fmt: skip
    atomic_write_text(OUT / "runs.md", "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

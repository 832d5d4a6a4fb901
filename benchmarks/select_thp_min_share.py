"""Choose THP's minimum edge share (`thp.MIN_SHARE`: an edge must explain at least this share of its effect type's
events) on tuning logs only: the structure benchmark's generator settings and two gCastle `THPSimulation` settings of
other sizes than the reported ones (seeds 100+), and FaultAlarm-v0 models other than the env's default (model seeds 1
and 2, log seeds 100+). Every other THP setting stays at its default.

    python benchmarks/select_thp_min_share.py            # 4 seeds per setting, 3 per FaultAlarm model and size
    python benchmarks/select_thp_min_share.py --quick    # 1 seed each

Score of a candidate: the smallest margin, over the log families, of its mean F1 above the family's target (FaultAlarm:
0.70 at 2000 events, 0.75 at 4000; generator and gCastle settings: 0.90); the best score wins, ties (within
`MARGIN_TIE`) go to the larger mean margin. Written to benchmarks/results/thp_min_share.{json,md}; `thp.MIN_SHARE`
is set from it by hand.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from dogym.experiments.threads import set_thread_env  # noqa: E402

set_thread_env(1)

import numpy as np  # noqa: E402
from select_thp_defaults import TARGETS, table_head, tuning_logs  # noqa: E402
from thp_generators import GCASTLE_TUNING_SETTINGS, gcastle_log  # noqa: E402

from dogym.agents.io import atomic_write_json, atomic_write_text  # noqa: E402
from dogym.causal import edge_metrics  # noqa: E402
from dogym.causal.structure.thp import THP  # noqa: E402

CANDIDATES = (0.0, 0.005, 0.01, 0.015, 0.02, 0.03)
MARGIN_TIE = 0.01
ALL_TARGETS = TARGETS | {s: 0.90 for s in GCASTLE_TUNING_SETTINGS}


def evaluate(n_seeds: int) -> list[dict[str, Any]]:
    logs = tuning_logs(n_seeds)
    logs += [(s, gcastle_log(s, seed)) for s in GCASTLE_TUNING_SETTINGS for seed in range(100, 100 + n_seeds)]
    rows = []
    for i, (family, log) in enumerate(logs):
        for share in CANDIDATES:
            c0 = time.process_time()
            result = THP(min_share=share).fit(log.events, log.hops)
            m = edge_metrics(result.graph, log.true_graph)
            rows.append({"family": family, "log": i, "min_share": share, "f1": m.f1, "precision": m.precision,
                         "recall": m.recall, "penalty": result.penalty, "cpu_s": time.process_time() - c0})  # fmt: skip
        print(family, i, [round(r["f1"], 3) for r in rows[-len(CANDIDATES) :]], flush=True)
    return rows


def summarise(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], float]:
    """Per candidate: mean F1 per family, worst and mean margin; and the chosen candidate."""
    families = list(dict.fromkeys(r["family"] for r in rows))
    table = []
    for share in CANDIDATES:
        f1 = {
            f: float(np.mean([r["f1"] for r in rows if r["family"] == f and r["min_share"] == share])) for f in families
        }
        margins = [f1[f] - ALL_TARGETS[f] for f in families]
        table.append({"min_share": share, "f1": f1, "worst": min(margins), "mean": float(np.mean(margins))})
    best = max(t["worst"] for t in table)
    chosen = max((t for t in table if t["worst"] >= best - MARGIN_TIE), key=lambda t: t["mean"])
    return table, chosen["min_share"]


def report(table: list[dict[str, Any]], chosen: float, command: str, n_logs: dict[str, int]) -> str:
    families = list(table[0]["f1"])
    lines = [
        "# THP minimum edge share",
        "",
        f"Command: `{command}`; tuning logs only (generator and gCastle tuning settings: seeds 100+; FaultAlarm-v0 "
        "model seeds 1-2, log seeds 100+). Mean F1 per family; worst margin = min over families of mean F1 - target.",
        "",
        *table_head(["min share"], [f"{f} (target {ALL_TARGETS[f]:.2f}, {n_logs[f]} logs)" for f in families],
                    ["worst margin", "mean margin"]),
    ]  # fmt: skip
    lines += [
        f"| {t['min_share']:g} | " + " | ".join(f"{t['f1'][f]:.3f}" for f in families)
        + f" | {t['worst']:+.3f} | {t['mean']:+.3f} |"
        for t in table
    ]  # fmt: skip
    lines += ["", f"Chosen (best worst margin; within {MARGIN_TIE} of it, the best mean margin): min share {chosen:g}."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="one seed per family")
    parser.add_argument("--seeds", type=int, default=4, help="seeds per setting (default: %(default)s)")
    parser.add_argument("--out", default="benchmarks/results/thp_min_share", help="output path stem")
    args = parser.parse_args()
    n_seeds = 1 if args.quick else args.seeds
    rows = evaluate(n_seeds)
    table, chosen = summarise(rows)
    n_logs = {f: len({r["log"] for r in rows if r["family"] == f}) for f in table[0]["f1"]}
    command = "python benchmarks/select_thp_min_share.py" + (" --quick" if args.quick else f" --seeds {args.seeds}")
    out = Path(args.out)
    atomic_write_json(out.with_suffix(".json"), {"rows": rows, "table": table, "chosen": chosen})
    text = report(table, chosen, command, n_logs)
    atomic_write_text(out.with_suffix(".md"), text)
    print(text)


if __name__ == "__main__":
    main()

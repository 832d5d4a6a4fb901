"""The DCBO reproduction with other acquisition candidates than the authors' (every method's default).

`python train.py reproduce dcbo` runs every method on the authors' candidates: fresh uniform points per trial, 100 for
a 1-D set and int(sqrt(100)) = 10 for larger ones (Aglietti, Dhir, Gonzalez and Damoulas, "Dynamic Causal Bayesian
Optimization"; their experiment scripts pass `sample_anchor_points=True`). This script runs the same grid, scoring
and report with every method's `anchors` overridden:
- "grid": a fixed grid including the bounds (100 points per 1-D set, 10 per dimension for larger sets; dogym's
  former default);
- "sobol": fresh scrambled Sobol points per trial with the authors' counts.

    python benchmarks/dcgo_anchor_variants.py --anchors grid --horizons 50 --workers 2
    python benchmarks/dcgo_anchor_variants.py --anchors sobol --scms STAT,IND --horizons 50
    python benchmarks/dcgo_anchor_variants.py --anchors grid --quick

Runs are cached under --runs (default /tmp/dogym-dcgo-variants/<anchors>); report.md, table.csv, orderings.csv and
summary.json are copied to benchmarks/results/dcbo/variants/<anchors>[-quick]/.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from dogym.experiments.papers import Reproduction, reproduce
from dogym.experiments.papers.dcbo import DCBO, SCMS

RESULTS = Path(__file__).parent / "results" / "dcbo" / "variants"
FILES = ("report.md", "table.csv", "orderings.csv", "summary.json")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--anchors", choices=("grid", "sobol"), required=True)
    parser.add_argument("--scms", default=",".join(SCMS), help="comma-separated SCM columns (default: all)")
    parser.add_argument("--horizons", default="30,50", help="comma-separated H values (default: 30,50)")
    parser.add_argument("--seeds", default="0-9", help="replicates, e.g. 0-9 (default) or 0,1,2")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="STAT and IND at H = 10, 3 replicates")
    parser.add_argument("--runs", help="run cache folder (default /tmp/dogym-dcgo-variants/<anchors>)")
    args = parser.parse_args()
    if "-" in args.seeds:
        low, high = (int(v) for v in args.seeds.split("-"))
        seeds = list(range(low, high + 1))
    else:
        seeds = [int(v) for v in args.seeds.split(",")]
    name = args.anchors + ("-quick" if args.quick else "")
    work = Path(args.runs or f"/tmp/dogym-dcgo-variants/{name}")
    command = (f"python benchmarks/dcgo_anchor_variants.py --anchors {args.anchors} --scms {args.scms} --horizons "
               f"{args.horizons} --seeds {args.seeds} --workers {args.workers}" + (" --quick" if args.quick else ""))  # fmt: skip
    variant = DCBO(tuple(args.scms.split(",")), tuple(int(h) for h in args.horizons.split(",")),
                   (("anchors", args.anchors),))  # fmt: skip
    reproduce(variant, Reproduction(work, tuple(seeds), args.quick, args.workers, command=command))
    target = RESULTS / name
    target.mkdir(parents=True, exist_ok=True)
    for file in FILES:
        if (work / file).exists():
            shutil.copyfile(work / file, target / file)
    print(f"wrote {target / 'report.md'}")


if __name__ == "__main__":
    main()

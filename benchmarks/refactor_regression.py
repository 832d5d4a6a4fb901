"""Check that a refactor leaves the numbers where they were: run the regression grid (causal-dqn and dqn, seeds 0
and 1, 4000 steps) and every paper's `--quick` reproduction, then fingerprint every result file's values, timings
left out.

    python benchmarks/refactor_regression.py --out /tmp/before              # at the old commit
    python benchmarks/refactor_regression.py --out /tmp/after --against /tmp/before/fingerprint.json

The fingerprint (`fingerprint.json`) maps each result file (`results.csv` of the grid and of each reproduction) to its
rows `agent|env|seed|phase|metric -> value`, without the metrics that measure time (seconds, steps per second,
wall time). `--against` lists every row that differs or exists on one side only, and exits 1 if there is one.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
from pathlib import Path

from dogym.agents.io import atomic_write_json

ROOT = Path(__file__).resolve().parent.parent
PAPERS = ("faultalarm", "acl", "col", "dcbo")
GRID = ["compare", "--agents", "causal-dqn,dqn", "--seeds", "0,1", "--timesteps", "4000", "--quiet"]
TIMING_WORDS = ("second", "wall", "time", "speed", "per_s")


def run_all(out: Path, workers: int) -> None:
    """The regression grid and each paper's quick reproduction, into `out`."""
    commands = [[*GRID, "--workers", str(workers), "--out", str(out / "compare")]]
    commands += [["reproduce", paper, "--quick", "--workers", str(workers), "--out", str(out / paper)] for paper in PAPERS]
    for command in commands:
        print("python train.py " + " ".join(command), flush=True)
        subprocess.run([sys.executable, str(ROOT / "train.py"), *command], check=True)


def fingerprint(out: Path) -> dict[str, dict[str, str]]:
    """Every `results.csv` under `out`, as rows keyed by agent, env, seed, phase and metric (timings left out)."""
    prints: dict[str, dict[str, str]] = {}
    for path in sorted(out.rglob("results.csv")):
        if "runs" in path.relative_to(out).parts:
            continue
        with path.open(newline="") as handle:
            rows = list(csv.DictReader(handle))
        values = {}
        for row in rows:
            metric = row.get("metric", "")
            if any(word in metric.lower() for word in TIMING_WORDS):
                continue
            key = "|".join(str(row.get(k, "")) for k in ("agent", "env", "seed", "phase", "metric"))
            values[key] = row.get("value", "")
        prints[str(path.relative_to(out))] = values
    return prints


def differences(new: dict[str, dict[str, str]], old: dict[str, dict[str, str]]) -> list[str]:
    """Human-readable lines for every file or row that differs between two fingerprints."""
    lines = []
    for name in sorted(set(new) | set(old)):
        if name not in new or name not in old:
            lines.append(f"{name}: only in the {'new' if name in new else 'old'} run")
            continue
        for key in sorted(set(new[name]) | set(old[name])):
            if new[name].get(key) != old[name].get(key):
                lines.append(f"{name}: {key}: {old[name].get(key, '(none)')} -> {new[name].get(key, '(none)')}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, type=Path, help="folder for the runs and fingerprint.json")
    parser.add_argument("--against", type=Path, help="an earlier fingerprint.json to compare with")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--fingerprint-only", action="store_true", help="skip the runs; fingerprint what is in --out")
    args = parser.parse_args()
    if not args.fingerprint_only:
        run_all(args.out, args.workers)
    prints = fingerprint(args.out)
    atomic_write_json(args.out / "fingerprint.json", prints)
    print(f"{sum(len(v) for v in prints.values())} values in {len(prints)} files: {args.out / 'fingerprint.json'}")
    if args.against:
        lines = differences(prints, json.loads(args.against.read_text()))
        print("\n".join(lines) if lines else "identical to " + str(args.against))
        raise SystemExit(1 if lines else 0)


if __name__ == "__main__":
    main()

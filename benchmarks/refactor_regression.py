"""Check that a refactor leaves the numbers where they were: run the regression grid (causal-dqn and dqn, seeds 0
and 1, 4000 steps) and every paper's `--quick` reproduction, then fingerprint every result file's values, timings
left out.

    python benchmarks/refactor_regression.py --out /tmp/before              # at the old commit
    python benchmarks/refactor_regression.py --out /tmp/after --against /tmp/before/fingerprint.json

The fingerprint (`fingerprint.json`) maps each result table (`*.csv`) and summary (`summary.json`) of the grid and
of each reproduction to its values, without the metrics and columns that measure time (seconds, steps per second,
wall time). `--against` lists every row that differs or exists on one side only, and exits 1 if there is one.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from dogym.agents.io import atomic_write_json

ROOT = Path(__file__).resolve().parent.parent
PAPERS = ("faultalarm", "acl", "col", "dcbo")
GRID = ["compare", "--agents", "causal-dqn,dqn", "--seeds", "0,1", "--timesteps", "4000", "--quiet"]
TIMING_WORDS = ("second", "minute", "wall", "speed", "per_s", "_s_")
#: Summary keys that describe the invocation, not a result (a resumed run reads its cells instead of running them).
INVOCATION_KEYS = frozenset(
    {"command", "cells_run", "invocations", "figures", "workers", "machine", "code_version", "rescored"}
)


def run_all(out: Path, workers: int) -> None:
    """The regression grid and each paper's quick reproduction, into `out`."""
    commands = [[*GRID, "--workers", str(workers), "--out", str(out / "compare")]]
    commands += [
        ["reproduce", paper, "--quick", "--workers", str(workers), "--out", str(out / paper)] for paper in PAPERS
    ]
    for command in commands:
        print("python train.py " + " ".join(command), flush=True)
        subprocess.run([sys.executable, str(ROOT / "train.py"), *command], check=True)


def _timing(name: str) -> bool:
    return name in INVOCATION_KEYS or any(word in name.lower() for word in TIMING_WORDS)


def _flatten(value: Any, prefix: str = "") -> dict[str, str]:
    if isinstance(value, dict):
        return {k: v for key, item in value.items() if not _timing(str(key))
                for k, v in _flatten(item, f"{prefix}{key}/").items()}  # fmt: skip
    if isinstance(value, list):
        return {k: v for i, item in enumerate(value) for k, v in _flatten(item, f"{prefix}{i}/").items()}
    return {prefix.rstrip("/"): repr(value)}


def fingerprint(out: Path) -> dict[str, dict[str, str]]:
    """Every result table (`*.csv`) and summary (`summary.json`) under `out`, outside the run folders, as flat
    key -> value maps, timings left out. A table's rows (without timing columns, and without the rows of a long table
    whose metric is a timing) are keyed by their text, with their count, so a changed row shows as one row gone and
    one new; a summary's leaves are keyed by their path."""
    prints: dict[str, dict[str, str]] = {}
    for path in sorted([*out.rglob("*.csv"), *out.rglob("summary.json")]):
        if "runs" in path.relative_to(out).parts:
            continue
        if path.suffix == ".json":
            prints[str(path.relative_to(out))] = _flatten(json.loads(path.read_text()))
            continue
        with path.open(newline="") as handle:
            rows = [row for row in csv.DictReader(handle) if not _timing(row.get("metric") or "")]
        kept = [json.dumps({k: v for k, v in row.items() if not _timing(k)}, sort_keys=True) for row in rows]
        prints[str(path.relative_to(out))] = {row: str(kept.count(row)) for row in kept}
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

"""COL settings checked on tuning seeds (100+, disjoint from the reported seeds 0-9 of `train.py reproduce col`):
unsafe interventions, region size and whether the estimate lies inside the true region, per configuration, on the
edge example of Hammar, Alpcan and Lupu, "Causal Online Learning of Safe Regions in Cloud Radio Access Networks".

    python benchmarks/col_tuning.py [--quick] [--env dogym/EdgeSafeRegion-v0] [--seeds 100-119] \\
        [--config name key=value ...]

Each `--config` is a label followed by COLConfig overrides (on top of agents/hyperparams/col.yml); the default list
compares the defaults with a few alternatives. Writes benchmarks/results/col_tuning.md (and .json).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402
import yaml  # noqa: E402

import dogym.envs  # noqa: E402, F401
from dogym.agents.io import atomic_write_text  # noqa: E402
from dogym.agents.registry import agent_spec, resolve_hyperparams  # noqa: E402
from dogym.agents.safe_region.col import COL, COLConfig  # noqa: E402
from dogym.agents.safe_region.family import region_scores  # noqa: E402

DEFAULT_CONFIGS = {
    "default": {},
    "roots from the passive rows": {"roots": "data"},
    "8 posterior draws": {"prior_draws": 8},
    "binary outcome (indicator, the previous default)": {"outcome": "indicator", "kernel": "matern52"},
    "backdoor prior": {"prior": "backdoor"},
    "plain maximum likelihood": {"hyperpriors": None},
    "matern52 kernel": {"kernel": "matern52"},
}


def evaluate(env_id: str, seeds: list[int], overrides: dict, budget: float) -> dict:
    """Mean unsafe interventions, region size, inside fraction, precision and recall over `seeds`."""
    hp = {**resolve_hyperparams(agent_spec("col"), env_id, {}), **overrides}
    rows = []
    for seed in seeds:
        env = gym.make(env_id).unwrapped
        record = COL(env, COLConfig(**hp), seed).run(budget)
        truth = env.ground_truth(t=len(record.regions))["region"]
        scores = region_scores(record.regions[-1], truth.contains(record.candidates))
        rows.append({"unsafe": record.unsafe, "size": record.sizes[-1], "prior_size": record.sizes[0], **scores,
                     "true_size": truth.size(), "precise": float(scores["precision"] >= 0.98),
                     "grew": float(record.sizes[-1] > record.sizes[0])})  # fmt: skip
    return {key: float(np.mean([r[key] for r in rows])) for key in rows[0]} | {
        "size_std": float(np.std([r["size"] for r in rows])), "seeds": len(rows)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="dogym/EdgeSafeRegion-v0")
    parser.add_argument("--seeds", default="100-119", help="first-last (tuning seeds: 100 and up)")
    parser.add_argument("--budget", type=float, default=20.0)
    parser.add_argument("--config", nargs="+", action="append", metavar="LABEL KEY=VALUE", help="a configuration")
    parser.add_argument("--quick", action="store_true", help="5 seeds")
    parser.add_argument("--out", default="benchmarks/results/col_tuning")
    args = parser.parse_args()
    first, _, last = args.seeds.partition("-")
    seeds = list(range(int(first), int(last or first) + 1))[: 5 if args.quick else None]
    if min(seeds) < 100:
        raise SystemExit("tune on seeds >= 100 only (0-9 are the reported seeds)")
    configs = DEFAULT_CONFIGS
    if args.config:
        configs = {c[0]: {k: yaml.safe_load(v) for k, v in (kv.split("=", 1) for kv in c[1:])} for c in args.config}
    results = {}
    lines = [f"# COL settings on tuning seeds {seeds[0]}-{seeds[-1]} ({args.env}, C = {args.budget:g})", "",
             "| configuration | unsafe | prior size | region size | true size | inside | precision | precision >= 0.98 "
             "| grew | recall | s |", "|---|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for label, overrides in configs.items():
        start = time.perf_counter()
        r = evaluate(args.env, seeds, overrides, args.budget)
        results[label] = {"overrides": overrides, **r}
        lines.append(f"| {label} | {r['unsafe']:.1f} | {r['prior_size']:.3f} | {r['size']:.3f} ± {r['size_std']:.3f} "
                     f"| {r['true_size']:.3f} | {r['inside']:.2f} | {r['precision']:.3f} | {r['precise']:.1f} | {r['grew']:.1f} "
                     f"| {r['recall']:.3f} "
                     f"| {time.perf_counter() - start:.0f} |")  # fmt: skip
        print(lines[-1], flush=True)
    out = Path(args.out + ("-quick" if args.quick else ""))
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out.with_suffix(".md"), "\n".join(lines) + "\n")
    atomic_write_text(out.with_suffix(".json"), json.dumps(results, indent=1))


if __name__ == "__main__":
    main()

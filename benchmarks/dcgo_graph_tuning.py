"""DCBO and CBO with a known, learned or wrong causal graph on DCGO STAT and IND, on tuning seeds (>= 100), and the
choice between pooled slices and a lagged first tier for the time-unrolled structure learner.

Two parts:
- `--part slices`: the within-slice skeleton learned from D^O alone (N = 10 trajectories of T = 3 steps, the paper's;
  --n-observational for more)
  by `learn_cpdag` on pooled slices (every (trajectory, t) row) against conditioning on the lagged slice (rows t >= 1
  with the lagged variables as a first tier of `Knowledge`, V_{t-1} -> V_t required, no other edge across slices):
  skeleton SHD and F1 of the slice graph per seed; the reason `dogym.causal.structure.time_unrolled` pools.
- `--part runs` (default): every (env, method, setting, seed) replicate at the reproduction's budget (H = 30 trials
  per time step, `train.py reproduce dcbo`'s Table 3), with the YAML defaults plus the setting's overrides: known,
  wrong, learned at several relearn_every (r), graph_alpha (a) and orientation_weight (ow) values and without reading
  descendants off the noise-free responses (noisy). Per replicate: the per-replicate
  gap, % optimal set, regret, the final slice graph's SHD / F1 against the true slice graph (evaluation only), the
  CPU seconds of structure learning and of the whole run, and their ratio.

    python benchmarks/dcgo_graph_tuning.py --part slices
    nice -n 10 python benchmarks/dcgo_graph_tuning.py --seeds 100-102

Rows are appended to benchmarks/results/dcgo_graph/<part>.jsonl (done cells are skipped on a rerun) and summarised
in <part>.md (means over seeds with a Student-t 95% interval, `dogym.experiments.report.mean_interval`).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import gymnasium as gym
import networkx as nx
import numpy as np

import dogym.envs  # noqa: F401
from dogym.agents.dcgo.family import graph_scores, score_run
from dogym.agents.dcgo.loop import run_replicate
from dogym.agents.io import atomic_write_text
from dogym.agents.protocol import NONNEGATIVE, UNIT_INTERVAL
from dogym.agents.registry import AGENTS, resolve_hyperparams
from dogym.causal.structure.continuous import Knowledge, learn_cpdag
from dogym.causal.structure.time_unrolled import pooled_slices, slice_graph
from dogym.experiments.report import INTERVAL_METHOD, markdown_table, mean_interval

RESULTS = Path(__file__).parent / "results" / "dcgo_graph"
ENVS = {"STAT": "dogym/DCGO-STAT-v0", "IND": "dogym/DCGO-IND-v0"}
#: Trials per time step: the reproduction's Table 3 budget.
H = 30
#: Ranges the intervals are clipped to (every other metric is nonnegative).
SUPPORTS = {"gap": UNIT_INTERVAL, "f1": UNIT_INTERVAL, "skeleton_f1": UNIT_INTERVAL, "learn_share": UNIT_INTERVAL,
            "optimal_set": (0.0, 100.0)}  # fmt: skip
#: Settings: label -> overrides of the YAML defaults.
SETTINGS: dict[str, dict[str, Any]] = {
    "known": {},
    "wrong": {"graph": "wrong"},
    "learned-r1": {"graph": "learned", "relearn_every": 1},
    "learned-r1-a05": {"graph": "learned", "relearn_every": 1, "graph_alpha": 0.05},
    "learned-r5": {"graph": "learned", "relearn_every": 5},
    "learned-r10": {"graph": "learned", "relearn_every": 10},
    "learned-r10-a05": {"graph": "learned", "relearn_every": 10, "graph_alpha": 0.05},
    "learned-r10-ow01": {"graph": "learned", "relearn_every": 10, "orientation_weight": 0.1},
    "learned-r10-ow1": {"graph": "learned", "relearn_every": 10, "orientation_weight": 1.0},
    "learned-r10-noisy": {"graph": "learned", "relearn_every": 10, "noise_free": False},
}


def parse_seeds(text: str) -> list[int]:
    """Seeds from "100-102" or "100,105"; ValueError for a seed below 100 (these are tuning seeds)."""
    seeds: list[int] = []
    for part in text.split(","):
        low, _, high = part.partition("-")
        seeds += list(range(int(low), int(high or low) + 1))
    if min(seeds) < 100:
        raise ValueError(f"tuning seeds must be >= 100 (0-9 are the reported ones), got {seeds}")
    return seeds


def _skeleton_scores(estimated: Iterable[frozenset[str]], truth: nx.DiGraph) -> dict[str, float]:
    """Skeleton SHD (missing + extra adjacencies) and F1 of undirected adjacencies."""
    est, true = set(estimated), {frozenset(e) for e in truth.edges}
    tp = len(est & true)
    f1 = 2 * tp / (len(est) + len(true)) if tp else 0.0
    return {"skeleton_shd": len(est ^ true), "skeleton_f1": f1}


def slices_rows(seeds: list[int], alpha: float, n: int | None) -> Iterable[dict[str, Any]]:
    """The skeleton learned from D^O (n trajectories; None: the paper's N): pooled slices against a lagged first tier
    (module docstring)."""
    for name, env_id in ENVS.items():
        for seed in seeds:
            env = gym.make(env_id, n_observational=n).unwrapped
            env.reset(seed=seed)
            data, names = env.observational_data(), list(env.variables)
            truth = slice_graph(env.ground_truth()["graph"], names)  # evaluation only
            pooled = learn_cpdag(pooled_slices(data, names), alpha=alpha)
            adjacent = {frozenset(e) for e in pooled.directed} | set(pooled.undirected)
            yield {"env": name, "seed": seed, "form": "pooled", "rows": len(pooled_slices(data, names)[names[0]]),
                   **_skeleton_scores(adjacent, truth)}  # fmt: skip
            lag = {f"{v}_lag": np.asarray(data[v])[:, :-1].reshape(-1) for v in names}
            now = {v: np.asarray(data[v])[:, 1:].reshape(-1) for v in names}
            rows = {**lag, **now}
            keep = np.all(np.isfinite(np.stack(list(rows.values()), axis=1)), axis=1)
            knowledge = Knowledge(
                tiers=(tuple(lag), tuple(names)),
                required=frozenset((f"{v}_lag", v) for v in names),
                forbidden=frozenset((f"{u}_lag", v) for u in names for v in names if u != v),
            )
            lagged = learn_cpdag({k: c[keep] for k, c in rows.items()}, knowledge, alpha=alpha)
            within = {frozenset(e) for e in lagged.directed} | set(lagged.undirected)
            within = {e for e in within if all(v in names for v in e)}
            yield {"env": name, "seed": seed, "form": "lagged tier", "rows": int(keep.sum()),
                   **_skeleton_scores(within, truth)}  # fmt: skip


def run_rows(seeds: list[int], methods: list[str], settings: list[str], done: set[tuple]) -> Iterable[dict[str, Any]]:
    """One replicate per (env, method, setting, seed) not in `done` (module docstring)."""
    for name, env_id in ENVS.items():
        for method in methods:
            defaults = resolve_hyperparams(AGENTS[method], env_id)
            for setting in settings:
                for seed in seeds:
                    if (name, method, setting, seed) in done:
                        continue
                    env = gym.make(env_id)
                    start = time.perf_counter()
                    result = run_replicate(env, method, H, seed, **{**defaults, **SETTINGS[setting]})
                    wall = time.perf_counter() - start
                    truth = env.unwrapped.ground_truth()  # evaluation only
                    scores = score_run(result, truth)
                    final = graph_scores(result, truth["graph"], list(env.unwrapped.variables))[-1]
                    yield {"env": name, "method": method, "setting": setting, "seed": seed, "H": H,
                           "gap": scores["gap"], "optimal_set": scores["optimal_set"], "regret": scores["regret"],
                           "shd": final["shd"], "f1": final["f1"], "learn_seconds": result.learn_seconds,
                           "cpu_seconds": result.cpu_seconds, "wall_seconds": wall,
                           "learn_share": result.learn_seconds / result.cpu_seconds,
                           "relearnings": len(result.graph_history) - 1,
                           "final_graph": result.graph_history[-1][1]}  # fmt: skip


def summary(rows: list[dict[str, Any]], keys: tuple[str, ...], metrics: tuple[str, ...]) -> str:
    """A markdown table of mean [Student-t 95% interval] per group of `keys`."""
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(row[k] for k in keys), []).append(row)
    table = []
    for group, members in groups.items():
        cells = []
        for metric in metrics:
            values = [float(m[metric]) for m in members]
            low, high = mean_interval(values, support=SUPPORTS.get(metric, NONNEGATIVE))
            cells.append(f"{np.mean(values):.3f} [{low:.3f}, {high:.3f}]")
        table.append([*group, len(members), *cells])
    return "\n".join(markdown_table([*keys, "seeds", *metrics], table))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("runs", "slices"), default="runs")
    parser.add_argument("--seeds", default="100-102", help="tuning seeds (>= 100), e.g. 100-102")
    parser.add_argument("--methods", default="dcbo,cbo")
    parser.add_argument("--settings", default=",".join(SETTINGS), help=f"comma-separated from {list(SETTINGS)}")
    parser.add_argument("--alpha", type=float, default=0.01, help="the learner's alpha for --part slices")
    parser.add_argument(
        "--n-observational", type=int, help="D^O's trajectories for --part slices (default: the paper's)"
    )
    args = parser.parse_args()
    seeds = parse_seeds(args.seeds)
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{args.part}.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    if args.part == "slices":
        n = args.n_observational
        rows = [r for r in rows if (r.get("alpha"), r.get("n_observational")) != (args.alpha, n)]
        fresh = (r | {"alpha": args.alpha, "n_observational": n} for r in slices_rows(seeds, args.alpha, n))
        keys, metrics = ("env", "n_observational", "form", "alpha"), ("rows", "skeleton_shd", "skeleton_f1")
    else:
        unknown = sorted(set(args.settings.split(",")) - set(SETTINGS))
        if unknown:
            raise ValueError(f"unknown settings {unknown}; known: {list(SETTINGS)}")
        done = {(r["env"], r["method"], r["setting"], r["seed"]) for r in rows}
        fresh = run_rows(seeds, args.methods.split(","), args.settings.split(","), done)
        keys = ("env", "method", "setting")
        metrics = ("gap", "optimal_set", "shd", "f1", "learn_seconds", "cpu_seconds", "learn_share")
    with path.open("a" if args.part == "runs" else "w") as handle:
        if args.part == "slices":
            handle.writelines(json.dumps(r) + "\n" for r in rows)
        for row in fresh:
            rows.append(row)
            handle.write(json.dumps(row) + "\n")
            handle.flush()
            print(json.dumps({k: v for k, v in row.items() if k != "final_graph"}), flush=True)
    title = "DCBO / CBO graph settings on tuning seeds" if args.part == "runs" else "Slice skeleton from D^O"
    text = f"# {title} (benchmarks/dcgo_graph_tuning.py --part {args.part})\n\nMeans over seeds with a {INTERVAL_METHOD}.\n\n"
    atomic_write_text(RESULTS / f"{args.part}.md", text + summary(rows, keys, metrics) + "\n")


if __name__ == "__main__":
    main()

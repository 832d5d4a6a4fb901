"""The learned-graph settings of `train.py reproduce unknown-graph`, chosen on tuning seeds (100+, disjoint from the
reported seeds 0-9): the structure learner's significance level `graph_alpha` and how often it relearns
(`relearn_every`), then the weight of the orientation-valuing rule (`orientation_weight`), per env, for the headline
agent of each env (the rollout learner of Hammar & Stadler, COL of Hammar, Alpcan and Lupu, DCBO of Aglietti et al.).

    python benchmarks/unknown_graph_tuning.py [--quick] [--envs toy,ms1,edge] [--seeds 100-102] [--workers 2] \\
        [--alphas 0.01,0.05,0.2] [--relearn 1,5] [--weights 0.5,2,8]

Each family measures its own learned graph on tuning seeds, and the reproduction takes their choices: DCBO / CBO by
`benchmarks/dcgo_graph_tuning.py`, COL by `benchmarks/col_graph_tuning.py`, the rollout learner by
`benchmarks/acl_graph.py` (the script each env's `Setting.tuned_by` names). This script is the family-independent
two-stage selection for an env without its own (or a check of one), through the reproduction's own cells.

Stage 1 runs `graph: learned` at every (graph_alpha, relearn_every) of the candidates and keeps the one with the
lowest mean SHD of the final graph (ties: the better headline metric); stage 2 runs the orientation rule at the kept
setting for every weight and keeps the lowest mean SHD likewise (a weight that does not lower it is reported as such:
the plain rule stays the comparison). Runs go through the one grid runner, at the reproduction's budgets, cached under
the output folder (a re-run computes only what is missing; a family helper's own measurements are reused when they
ran these same cells in this folder). Writes benchmarks/results/unknown_graph_tuning.md and .json; the chosen values
are copied into `dogym.experiments.papers.unknown_graph.SETTINGS` (`learned`, `orientation_weight`).
"""

from __future__ import annotations

import argparse
import itertools
import os
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from dogym.agents.io import atomic_write_json, atomic_write_text  # noqa: E402
from dogym.experiments.grid import run_grid  # noqa: E402
from dogym.experiments.papers import unknown_graph as ug  # noqa: E402
from dogym.experiments.report import markdown_table, metric_value  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results"
#: Candidates of stage 1 (structure learner) and stage 2 (orientation rule).
ALPHAS, RELEARN, WEIGHTS = (0.01, 0.05, 0.2), (1, 5), (0.5, 2.0, 8.0)
#: Quick mode: one seed, the smallest grid, the reproduction's quick budgets.
QUICK = ((0.05,), (1,), (2.0,))


def _label(overrides: dict[str, Any]) -> str:
    return "-".join(f"{k}{v:g}" for k, v in sorted(overrides.items()) if k != "graph")


def run(settings: list[ug.Setting], seeds: list[int], candidates: list[dict[str, Any]], quick: bool, workers: int,
        folder: Path) -> dict[tuple[str, str], list[dict[str, Any]]]:  # fmt: skip
    """Every (env, candidate, seed) of the headline agent with `graph: learned` and the candidate's overrides;
    returns (env key, candidate label) -> the runs' metrics."""
    cells = [ug.Cell(s.key, f"{s.agents[0]}-learned-{_label(c)}", s.agents[0], seed,
                     {**ug.MODES["learned"], **s.learned, **c})
             for s in settings for c in candidates for seed in seeds]  # fmt: skip
    runs = run_grid([c.config(folder / "runs", quick) for c in cells], workers, progress=False)
    out: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for cell, metrics in zip(cells, runs, strict=True):
        out.setdefault((cell.setting, cell.label.split("-learned-", 1)[1]), []).append(metrics)
    return out


def score(s: ug.Setting, runs: list[dict[str, Any]]) -> dict[str, float]:
    """Mean SHD and F1 of the final graph, the headline metric and the learning share over the runs."""

    def mean(key: str) -> float:
        values = [v for r in runs if (v := metric_value(r, key)) is not None]
        return float(np.mean(values)) if values else float("nan")

    shares = [metric_value(r, ug.LEARN_SECONDS) / metric_value(r, ug.WALL_SECONDS) for r in runs
              if metric_value(r, ug.LEARN_SECONDS) is not None and metric_value(r, ug.WALL_SECONDS)]  # fmt: skip
    return {"shd": mean(ug.SHD), "f1": mean(ug.F1), "headline": mean(s.headline),
            "share": float(np.mean(shares)) if shares else float("nan"), "seeds": len(runs)}  # fmt: skip


def best(s: ug.Setting, scored: dict[str, dict[str, float]]) -> str:
    """The candidate with the lowest mean SHD; ties broken by the better headline metric."""
    sign = -1.0 if s.larger_is_better else 1.0
    return min(scored, key=lambda k: (round(scored[k]["shd"], 6), sign * scored[k]["headline"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="one seed, one candidate per stage, small budgets")
    parser.add_argument("--envs", default="toy,ms1,edge", help=f"env keys of {', '.join(ug.SETTING)}")
    parser.add_argument("--seeds", default="100-102", help="tuning seeds (>= 100)")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--alphas", default=",".join(map(str, ALPHAS)), help="graph_alpha candidates")
    parser.add_argument("--relearn", default=",".join(map(str, RELEARN)), help="relearn_every candidates")
    parser.add_argument("--weights", default=",".join(map(str, WEIGHTS)), help="orientation_weight candidates")
    parser.add_argument(
        "--out", type=Path, default=None, help="output folder of the runs and the summary (default: benchmarks/results)"
    )
    args = parser.parse_args()
    first, _, last = args.seeds.partition("-")
    seeds = list(range(int(first), int(last or first) + 1))[: 1 if args.quick else None]
    if min(seeds) < 100:
        raise SystemExit(f"tuning seeds must be >= 100 (the reported seeds are 0-9), got {seeds}")
    keys = [k for k in args.envs.split(",") if k]
    unknown = sorted(set(keys) - set(ug.SETTING))
    if unknown:
        raise SystemExit(f"unknown env key(s) {unknown}; keys: {', '.join(ug.SETTING)}")
    settings = [ug.SETTING[k] for k in keys if all(ug.graph_ready(a, ug.SETTING[k].env) for a in ug.SETTING[k].agents)]
    skipped = [k for k in keys if ug.SETTING[k] not in settings]
    given = ([float(a) for a in args.alphas.split(",")], [int(k) for k in args.relearn.split(",")],
             [float(w) for w in args.weights.split(",")])  # fmt: skip
    alphas, relearn, weights = QUICK if args.quick else given
    name = "unknown_graph_tuning" + ("-quick" if args.quick else "")
    folder = args.out or OUT / name
    grid = [{"graph_alpha": a, "relearn_every": k} for a, k in itertools.product(alphas, relearn)]
    stage1 = run(settings, seeds, grid, args.quick, args.workers, folder)
    chosen, tables = {}, {}
    for s in settings:
        scored = {label: score(s, runs) for (key, label), runs in stage1.items() if key == s.key}
        pick = best(s, scored)
        chosen[s.key] = next(c for c in grid if _label(c) == pick)
        tables[s.key] = {"stage 1": scored}
    second = {s.key: [{**chosen[s.key], "orientation_weight": w} for w in weights] for s in settings}
    for s in settings:
        stage2 = run([s], seeds, second[s.key], args.quick, args.workers, folder)
        scored = {label: score(s, runs) for (_, label), runs in stage2.items()}
        plain = tables[s.key]["stage 1"][_label(chosen[s.key])]
        pick = best(s, scored)
        tables[s.key]["stage 2"] = scored
        weight = next(c for c in second[s.key] if _label(c) == pick)["orientation_weight"]
        chosen[s.key] = {**chosen[s.key], "orientation_weight": weight,
                         "orientation_lowers_shd": bool(scored[pick]["shd"] < plain["shd"])}  # fmt: skip
    lines = [
        "# Learned-graph settings of `reproduce unknown-graph`, chosen on tuning seeds",
        "",
        f"Command: `python benchmarks/unknown_graph_tuning.py{' --quick' if args.quick else ''} --envs {args.envs} "
        f"--seeds {args.seeds} --alphas {args.alphas} --relearn {args.relearn} --weights {args.weights}`; seeds {seeds}, disjoint from the reported seeds 0-9. Budgets: the reproduction's"
        f"{' quick' if args.quick else ''} budgets. Stage 1: `graph: learned` at every graph_alpha x relearn_every, "
        "keep the lowest mean SHD of the final graph (ties: the better headline metric); stage 2: the orientation "
        "rule at the kept setting for every orientation_weight, same rule. Means over the seeds.",
        "",
    ]
    if skipped:
        lines += [f"Not tuned (their agents take no `graph` hyper-parameter here): {', '.join(skipped)}.", ""]
    for s in settings:
        lines += [f"## {s.title} ({s.agents[0]}; headline {s.headline})", ""]
        for stage, scored in tables[s.key].items():
            rows = [[label, f"{r['shd']:.2f}", f"{r['f1']:.3f}", f"{r['headline']:.4g}", f"{r['share']:.1%}",
                     r["seeds"]] for label, r in scored.items()]  # fmt: skip
            lines += [f"{stage}:", "", *markdown_table(("setting", "SHD", "F1", s.headline, "learning share",
                                                        "seeds"), rows), ""]  # fmt: skip
        lines += [f"Chosen: {chosen[s.key]}.", ""]
    where = args.out or OUT
    atomic_write_json(where / f"{name}.json", {"seeds": seeds, "chosen": chosen, "tables": tables})
    atomic_write_text(where / f"{name}.md", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()

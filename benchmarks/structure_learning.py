"""Structure learning on FaultAlarm-v0 and on other topological Hawkes generators: THP (Cai et al., "THP:
Topological Hawkes Processes for Learning Causal Structure on Event Sequences") vs the tick Hawkes baseline (and
gCastle TTPM when installed), and the online learner (ATT orientation + BIC pruning) fed with interventions.

    python benchmarks/structure_learning.py            # seeds 0-4; online learner up to 4000 interventions
    python benchmarks/structure_learning.py --quick    # seeds 0-2; online learner up to 2500 interventions

Part 1a: passive FaultAlarm-v0 alarm logs of 2000 and 4000 events (`sample_alarm_log`, caps lifted) per seed; each
learner's F1 / precision / recall / SHD / edge count against Table 3 and its wall time (single thread). THP at its
defaults chooses the kernel decay and the penalty from the log; the old behaviour (the simulator's decay, penalty
0.05 x BIC) is reported beside it. Every learner gets the model's hop operators (the user's topology).
Part 1b: the same for 4000-event logs of generator settings unlike FaultAlarm (`thp_generators.py`: random type
DAGs of 10-20 types on 30-60 devices, box kernels, binary 3-hop topologies, noisy base rates), one model per seed.

Part 2: a random-among-active policy acts on FaultAlarm-v0; every transition goes to an `OnlineStructureLearner`
started from the THP graph (2000-event log, as in the paper) or a random DAG; `update()` every `--every`
interventions. Reported: interventions and seconds (env + learner) until F1 >= 0.84, and the final F1.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dogym.experiments.threads import set_thread_env  # noqa: E402

set_thread_env(1)  # before numpy is imported: tiny GPs and small networks run faster on one BLAS thread

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402
from thp_generators import SETTINGS, BenchmarkLog, fault_alarm_log, generator_log  # noqa: E402

import dogym.envs  # noqa: E402, F401
from dogym.agents.fault_alarm.online_causal import add_alarm_step, initial_structure_learner  # noqa: E402
from dogym.agents.io import atomic_write_json, atomic_write_text  # noqa: E402
from dogym.causal import edge_metrics  # noqa: E402
from dogym.causal.random_streams import named_rng  # noqa: E402
from dogym.causal.structure.hawkes_baseline import hawkes_granger_graph  # noqa: E402
from dogym.causal.structure.thp import THP  # noqa: E402
from dogym.experiments.readme import replace_block, table_under  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
#: The README block this benchmark writes, and the report's heading of the table it holds.
THP_BLOCK, TARGETS_HEADING = "thp", "### Targets: THP at its defaults"
TARGET_F1 = 0.84
GENERATOR_EVENTS = 4000
DEFAULT = "THP (data-driven decay and penalty, default)"
DECAY_ONLY = "THP (data-driven decay, penalty 0.05 x BIC)"
OLD = "THP (true decay, penalty 0.05 x BIC, no edge pruning: old default)"


def ttpm_available() -> bool:
    """Whether gCastle (and its TTPM) can be imported."""
    try:
        from castle.algorithms import TTPM  # noqa: F401
    except ImportError:
        return False
    return True


def _ttpm(log: BenchmarkLog):
    """gCastle's TTPM on the same log (hops 0 and 1, the model's decay)."""
    import networkx as nx
    import pandas as pd
    from castle.algorithms import TTPM

    adjacency = (log.hops[1] > 0).astype(float)
    frame = pd.DataFrame({"event": log.events.types, "timestamp": log.events.times, "node": log.events.devices})
    model = TTPM(nx.to_numpy_array(nx.from_numpy_array(adjacency)), delta=log.true_decay, max_hop=1)
    model.learn(frame)
    return _graph_from_matrix(np.asarray(model.causal_matrix), log.events.type_names), None


def _graph_from_matrix(matrix: np.ndarray, names: tuple[str, ...]):
    import networkx as nx

    graph = nx.DiGraph()
    graph.add_nodes_from(names)
    graph.add_edges_from((names[i], names[j]) for i, j in zip(*np.nonzero(matrix), strict=True) if i != j)
    return graph


def _thp(**options: Any):
    """A learner running THP with `options`; `decay="true"` passes the generating model's decay."""

    def fit(log: BenchmarkLog):
        kw = {**options, "decay": log.true_decay} if options.get("decay") == "true" else options
        result = THP(**kw).fit(log.events, log.hops)
        return result.graph, {"penalty": result.penalty, "decay_ratio": result.decay / log.true_decay}

    return fit


def learners(with_baselines: bool, with_ttpm: bool) -> dict[str, Any]:
    """Name -> function(log) returning (graph, selected settings or None)."""
    out = {DEFAULT: _thp(), DECAY_ONLY: _thp(penalty=0.05), OLD: _thp(decay="true", penalty=0.05, min_share=0.0)}
    if with_baselines:
        out["THP (true decay, full BIC)"] = _thp(decay="true", penalty=1.0)
        out["tick ADM4 (no topology, true decay)"] = lambda log: (
            hawkes_granger_graph(log.events, decay=log.true_decay).graph,
            None,
        )
    if with_ttpm:
        out["gCastle TTPM"] = _ttpm
    return out


def _run(family: str, n_events: int, seed: int, log: BenchmarkLog, fits: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for name, fit in fits.items():
        t0 = time.perf_counter()
        graph, chosen = fit(log)
        seconds = time.perf_counter() - t0
        m = edge_metrics(graph, log.true_graph)
        rows.append(
            {
                "family": family,
                "method": name,
                "n_events": n_events,
                "seed": seed,
                "seconds": seconds,
                **m.as_dict(),
                **(chosen or {}),
            }
        )
        extra = "" if chosen is None else f" penalty={chosen['penalty']} decay/true={chosen['decay_ratio']:.2f}"
        print(
            f"{family:12s} {name:50s} n={n_events} seed={seed} F1={m.f1:.3f} P={m.precision:.3f} "
            f"R={m.recall:.3f} SHD={m.shd} edges={m.n_estimated} {seconds:.2f}s{extra}",
            flush=True,
        )
    return rows


def offline(seeds: list[int], sizes: list[int], with_ttpm: bool) -> list[dict[str, Any]]:
    """Part 1: FaultAlarm-v0 logs of each size, then 4000-event logs of every generator setting, per seed."""
    rows = []
    for n_events in sizes:
        for seed in seeds:
            rows += _run("FaultAlarm", n_events, seed, fault_alarm_log(n_events, seed), learners(True, with_ttpm))
    for setting in SETTINGS:
        for seed in seeds:
            log = generator_log(setting, GENERATOR_EVENTS, seed)
            rows += _run(setting, GENERATOR_EVENTS, seed, log, learners(False, False))
    return rows


def feed_random_active(
    env: gym.Env, learner: Any, seed: int, budget: int, every: int, on_update: Callable[[int], None] | None = None
) -> None:
    """Act at random among the active alarms for `budget` steps from `env.reset(seed=seed)`, feeding every
    transition to the online `learner` and updating it every `every` steps (then calling `on_update(step)`)."""
    rng = named_rng(seed, "policy")
    obs, info = env.reset(seed=seed)
    for step in range(1, budget + 1):
        action = int(rng.choice(np.flatnonzero(info["action_mask"])))
        next_obs, _, terminated, truncated, info = env.step(action)
        add_alarm_step(learner, obs, next_obs, info)
        obs = next_obs
        if terminated or truncated:
            obs, info = env.reset()
        if step % every == 0:
            learner.update()
            if on_update is not None:
                on_update(step)


def online(seed: int, init: str, budget: int, every: int) -> dict[str, Any]:
    env = gym.make("dogym/FaultAlarm-v0")
    base = env.unwrapped
    t0 = time.perf_counter()
    learner = initial_structure_learner(env, init, seed)  # 2000-event log, THP or random
    f1_start = learner.metrics(base.true_graph).f1
    reached: dict[str, Any] = {"interventions": None, "seconds": None}
    curve = []

    def record(step: int) -> None:
        nonlocal reached
        f1 = learner.metrics(base.true_graph).f1
        curve.append((step, round(f1, 4)))
        if reached["interventions"] is None and f1 >= TARGET_F1:
            reached = {"interventions": step, "seconds": time.perf_counter() - t0}

    feed_random_active(env, learner, seed, budget, every, record)
    final = learner.metrics(base.true_graph)
    row = {
        "seed": seed,
        "init": init,
        "f1_start": f1_start,
        "reached": reached,
        "final": final.as_dict(),
        "best_f1": max(f for _, f in curve),
        "curve": curve,
        "seconds_total": time.perf_counter() - t0,
    }
    print(
        f"online init={init} seed={seed}: F1 {f1_start:.3f} -> {final.f1:.3f} (best {row['best_f1']:.3f}); "
        f"reached {TARGET_F1}: {reached}",
        flush=True,
    )
    return row


def _fmt(values: list[float]) -> str:
    return f"{np.mean(values):.3f} +- {np.std(values):.3f}"


def _selected(sel: list[dict[str, Any]]) -> str:
    if "penalty" not in sel[0]:
        return "-"
    pens = sorted({r["penalty"] for r in sel})
    ratios = [r["decay_ratio"] for r in sel]
    return f"{', '.join(f'{p:g}' for p in pens)}; decay/true {np.min(ratios):.2f}-{np.max(ratios):.2f}"


def offline_table(rows: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| family | method | events | F1 (mean +- std) | precision | recall | SHD | edges (true) | median s | "
        "penalty chosen; decay / true decay |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for family in dict.fromkeys(r["family"] for r in rows):
        for n in sorted({r["n_events"] for r in rows if r["family"] == family}):
            for name in dict.fromkeys(r["method"] for r in rows if r["family"] == family):
                sel = [r for r in rows if r["family"] == family and r["method"] == name and r["n_events"] == n]
                lines.append(
                    f"| {family} | {name} | {n} | {_fmt([r['f1'] for r in sel])} | "
                    f"{_fmt([r['precision'] for r in sel])} | {_fmt([r['recall'] for r in sel])} | "
                    f"{np.mean([r['shd'] for r in sel]):.1f} | {np.mean([r['n_estimated'] for r in sel]):.1f} "
                    f"({np.mean([r['n_true'] for r in sel]):.1f}) | {np.median([r['seconds'] for r in sel]):.2f} | "
                    f"{_selected(sel)} |"
                )
    return lines


TARGETS = {("FaultAlarm", 2000): 0.70, ("FaultAlarm", 4000): 0.75} | {(s, GENERATOR_EVENTS): 0.90 for s in SETTINGS}


def target_table(rows: list[dict[str, Any]]) -> list[str]:
    """THP at its defaults against its targets (mean F1 over seeds), with the old default beside."""
    lines = [
        "| family | events | target F1 | default F1 (mean) | met | old default F1 (mean) | default median s | "
        "old default median s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for (family, n), target in TARGETS.items():
        new = [r for r in rows if (r["family"], r["n_events"], r["method"]) == (family, n, DEFAULT)]
        old = [r for r in rows if (r["family"], r["n_events"], r["method"]) == (family, n, OLD)]
        if not new:
            continue
        f1 = float(np.mean([r["f1"] for r in new]))
        lines.append(
            f"| {family} | {n} | {target:.2f} | {f1:.3f} | {'yes' if f1 >= target else 'no'} | "
            f"{np.mean([r['f1'] for r in old]):.3f} | {np.median([r['seconds'] for r in new]):.2f} | "
            f"{np.median([r['seconds'] for r in old]):.2f} |"
        )
    return lines


def report(rows: list[dict[str, Any]], onl: list[dict[str, Any]], seeds: list[int], args: argparse.Namespace) -> str:
    lines = [
        "# Structure learning on FaultAlarm-v0 and other topological Hawkes generators",
        "",
        f"Command: `python benchmarks/structure_learning.py{' --quick' if args.quick else ''}`; seeds {seeds}; "
        f"{platform.processor() or platform.machine()}, one thread. FaultAlarm truth: Table 3 of Cai et al. "
        "(94 edges); generator settings: the drawn model's type DAG (one model per seed, see "
        "`benchmarks/thp_generators.py`). Std over seeds; SHD and edges are means.",
        "",
        "## Offline learners on passive event logs",
        "",
        *offline_table(rows),
        "",
        TARGETS_HEADING,
        "",
        *target_table(rows),
        "",
        "Reference (4000 FaultAlarm events; authors' code, measured here, not paper numbers): the authors' THP "
        "F1 0.658 in 13 s, gCastle TTPM F1 0.641 in 351 s. gCastle TTPM rows appear only when `gcastle` is "
        "installed.",
        "",
        f"## Online learner (ATT orientation + BIC pruning), random-among-active interventions, target F1 >= {TARGET_F1}",
        "",
        f"Update every {args.every} interventions, budget {args.budget}. Seconds include the env, the 2000-event "
        "log and (for THP init) the THP fit.",
        "",
        "| init | seed | start F1 | interventions to target | seconds to target | best F1 | final F1 |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in onl:
        sec = "-" if r["reached"]["seconds"] is None else f"{r['reached']['seconds']:.1f}"
        steps = "not reached" if r["reached"]["interventions"] is None else str(r["reached"]["interventions"])
        lines.append(
            f"| {r['init']} | {r['seed']} | {r['f1_start']:.3f} | {steps} | {sec} | {r['best_f1']:.3f} | "
            f"{r['final']['f1']:.3f} |"
        )
    lines += [
        "",
        "## Notes",
        "",
        "- Logs: passive operation (nothing cleared) with the env's 1000-alarm and 10-copies caps lifted, so the log is "
        "an uncensored draw of the env's THP; the kernel time constant (1/decay = 5000) spans the whole log.",
        "- THP's defaults choose the kernel decay (held-out log-likelihood of the model with every edge, on a grid "
        "relative to the log's span) and the penalty (held-out log-likelihood of the learned structure on a penalty "
        "grid) on a time split, then learn the structure on the whole log; the selection's constants come from "
        "`benchmarks/select_thp_defaults.py` (tuning logs disjoint from these: generator seeds 100+, FaultAlarm "
        "model seeds 1-2), see `benchmarks/results/thp_defaults.md`. The old default (the simulator's decay, "
        "penalty 0.05 x BIC, tuned on FaultAlarm logs of seeds 100-102 of this very model) and full BIC are "
        "reported beside it.",
        "- THP's defaults then drop every edge that explains less than `thp.MIN_SHARE` of its effect type's events "
        "(chosen on the tuning logs and on two gCastle `THPSimulation` settings by "
        "`benchmarks/select_thp_min_share.py`, see `benchmarks/results/thp_min_share.md`). THP against gCastle's "
        "TTPM on logs of gCastle's own generator: `benchmarks/results/thp_gcastle.md`.",
        "- `decay/true` for the box kernel compares THP's exponential decay with 1 / box length (same kernel mass).",
        "- FaultAlarm at the defaults: on its logs the held-out log-likelihood often prefers penalties of 0.5-1 "
        "(sparser graphs predict the held-out events better), while F1 against Table 3 is highest at 0.02-0.05: "
        "Table 3 is dense (94 edges over 18 types) and many of its edges are weak. With the data-driven decay and the "
        "penalty fixed at 0.05 (row 'data-driven decay, penalty 0.05') FaultAlarm keeps its F1, but on the generator "
        "settings that penalty keeps about as many false edges as true ones (the 'old default' rows). None of the "
        "selection rules tried on the tuning logs met both (`benchmarks/results/thp_defaults.md`).",
        "- Seconds are wall time on one thread of a 2-core machine shared with other jobs during the run; the "
        "old-default rows, measured in the same run on the same logs, are the side-by-side reference.",
        "- The online learner's ATT thresholds (z = 2, 5% relative drop) were tuned on seed 0 of this experiment. "
        "Once every type pair has enough treated samples the ATT decisions dominate, so both starts end on the "
        "same graph; the THP start is ahead in the first few hundred interventions (see the JSON curves).",
        "- Interventions = env steps of the random-among-active policy (every action clears an active pair).",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="3 seeds, smaller online budget")
    parser.add_argument("--seeds", type=int, help="number of seeds (0..n-1)")
    parser.add_argument("--budget", type=int, help="interventions per online run")
    parser.add_argument("--every", type=int, default=100, help="interventions between online updates")
    parser.add_argument("--no-ttpm", action="store_true", help="skip gCastle TTPM even when installed")
    parser.add_argument(
        "--offline-only", action="store_true", help="skip Part 2 (the online learner; keeps the saved online runs)"
    )
    parser.add_argument("--out", default="benchmarks/results/structure_learning", help="output path stem")
    parser.add_argument("--render", action="store_true", help="only rewrite the report from the existing JSON")
    args = parser.parse_args()
    out = Path(args.out)
    if args.render:
        saved = json.loads(out.with_suffix(".json").read_text())
        args.quick, args.budget, args.every = saved.get("quick", False), saved["budget"], saved["every"]
        text = report(saved["offline"], saved["online"], saved["seeds"], args)
        atomic_write_text(out.with_suffix(".md"), text)
        write_readme_block(out, args.quick)
        print(text)
        return
    if args.every < 1:
        parser.error(f"--every must be >= 1, got {args.every}")
    seeds = list(range(args.seeds or (3 if args.quick else 5)))
    args.budget = args.budget or (2500 if args.quick else 4000)
    rows = offline(seeds, [2000, 4000], with_ttpm=not args.no_ttpm and ttpm_available())
    if args.offline_only:  # keep the online runs of the last full run
        previous = out.with_suffix(".json")
        onl = json.loads(previous.read_text())["online"] if previous.exists() else []
    else:
        onl = [online(seed, init, args.budget, args.every) for init in ("thp", "random") for seed in seeds]
    out.parent.mkdir(parents=True, exist_ok=True)
    saved = {"offline": rows, "online": onl, "seeds": seeds, "budget": args.budget, "every": args.every}
    atomic_write_json(out.with_suffix(".json"), {**saved, "quick": args.quick})
    text = report(rows, onl, seeds, args)
    atomic_write_text(out.with_suffix(".md"), text)
    write_readme_block(out, args.quick)
    print(text)


def write_readme_block(out: Path, quick: bool) -> None:
    """The README's THP block: the targets table of the committed full report (never of a quick run)."""
    if not quick and out.resolve() == ROOT / "benchmarks" / "results" / "structure_learning":
        replace_block(THP_BLOCK, table_under(out.with_suffix(".md"), TARGETS_HEADING))


if __name__ == "__main__":
    main()

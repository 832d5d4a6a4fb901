"""The continuous structure learner (`dogym.causal.structure.continuous`) on the data of the five unknown-graph envs:
SHD / F1 against the true graph vs sample size, with and without interventions, for each conditional-independence
test, and our PC against causal-learn's PC on the same passive data (agreement of the CPDAGs, median CPU seconds).

    nice -n 10 python benchmarks/structure_continuous.py            # seeds 0-9
    nice -n 10 python benchmarks/structure_continuous.py --quick    # seeds 0-2, n in {30, 300}: *_quick.{json,md}
    python benchmarks/structure_continuous.py --seeds 100-109 --out /tmp/struct_tuning   # the CI-test choice

Data (the envs' own APIs; the truth only scores):
- ToySCM (U -> X -> Z -> Y) and Microservice S1 (12 variables, 16 edges; its 8 exogenous variables are constant
  in passive operation): n passive steps (do(0)), then k steps under do() of one controllable variable drawn at
  random, its value uniform in its control bounds, one row each. Knowledge: the exogenous variables are roots.
- EdgeSafeRegion S1 (C, M, W -> Y): n rows of passive monitoring (`observational_data`), then k steps under
  do(C = c, M = m) with (c, m) uniform in [0, 1]^2 (each step's window rows). Knowledge: W, C, M are roots.
- DCGO STAT (X -> Z -> Y) and IND (X -> Y <- Z), two-slice: rows (X, Z, Y at t - 1; X, Z, Y at t) for t = 1, 2 of
  n passive trajectories (D^O, the env's `n_observational`), then k noise-free explorations per time step t = 1, 2
  (half under do(X = x), half under do(Z = z), values uniform in the domains, the past the first trajectory's),
  each time step a regime; tiers: the lagged slice first; scored: the edges into slice t (within-slice and
  transition edges) against the unrolled graph's.
The learned graph is `GraphLearner.dag()` (one consistent extension of the learned PDAG). Our PC vs causal-learn:
both with the Fisher-z test on the same passive rows and alpha (envs whose passive data have constant columns are
left out: causal-learn's Fisher-z cannot run on them).
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dogym.experiments.threads import set_thread_env  # noqa: E402

set_thread_env(1)

import gymnasium as gym  # noqa: E402
import networkx as nx  # noqa: E402
import numpy as np  # noqa: E402

import dogym.envs  # noqa: E402, F401
from dogym.agents.io import atomic_write_json, atomic_write_text  # noqa: E402
from dogym.causal.graphs import edge_metrics  # noqa: E402
from dogym.causal.intervention import Intervention  # noqa: E402
from dogym.causal.structure.continuous import CI_TESTS, GraphLearner, Knowledge, learn_cpdag  # noqa: E402
from dogym.causal.structure.pc import causallearn_pdag  # noqa: E402
from dogym.experiments.report import markdown_table, mean_interval  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ALPHA = 0.01

#: An interventional call: (targets, rows name -> [m] values, regime).
Call = tuple[list[str], dict[str, np.ndarray], Hashable]


@dataclass
class Problem:
    """One env's data for the structure learner."""

    label: str
    names: list[str]
    knowledge: Knowledge
    truth: nx.DiGraph
    passive: Callable[[int, int], dict[str, np.ndarray]]  # (n, seed) -> rows
    interventions: Callable[[int, int], list[Call]]  # (k, seed) -> calls
    shift_test: bool = True
    scored: set[str] | None = None  # score only the edges into these nodes (None: every edge)

    def score(self, graph: nx.DiGraph) -> tuple[int, float]:
        """(SHD, F1) of `graph` against the truth, on the scored edges."""
        keep = (
            (lambda g: g)
            if self.scored is None
            else (lambda g: nx.DiGraph([e for e in g.edges if e[1] in self.scored]))
        )
        metrics = edge_metrics(keep(graph), keep(self.truth))
        return metrics.shd, metrics.f1


def _scm_problem(label: str, env_id: str) -> Problem:
    env = gym.make(env_id).unwrapped
    view = env.structural_view()
    names = list(view.names)
    bounds = view.control_bounds

    def rows(out: np.ndarray) -> dict[str, np.ndarray]:
        return {v: out[:, i].astype(float) for i, v in enumerate(env.variable_names)}

    def passive(n: int, seed: int) -> dict[str, np.ndarray]:
        e = gym.make(env_id, samples_per_step=n).unwrapped
        e.reset(seed=seed)
        return rows(e.step(Intervention({}))[0])

    def interventions(k: int, seed: int) -> list[Call]:
        rng = np.random.default_rng([seed, 1])
        e = gym.make(env_id).unwrapped
        e.reset(seed=seed + 7919)
        calls = []
        for _ in range(k):
            target = str(rng.choice(sorted(bounds)))
            low, high = bounds[target]
            value = float(rng.uniform(low, high))
            if target in view.integer_variables:
                value = float(np.round(value))
            calls.append(([target], rows(e.step(Intervention({target: value}))[0]), None))
        return calls

    truth = env.ground_truth()["graph"]
    return Problem(label, names, Knowledge(roots=frozenset(view.exogenous)), truth, passive, interventions)


def _edge_problem() -> Problem:
    env_id = "dogym/EdgeSafeRegion-v0"
    env = gym.make(env_id).unwrapped
    env.reset(seed=0)
    view = env.structural_view()
    names = list(view.names)

    def passive(n: int, seed: int) -> dict[str, np.ndarray]:
        return {k: np.asarray(v, float) for k, v in env.observational_data(n, seed).items()}

    def interventions(k: int, seed: int) -> list[Call]:
        rng = np.random.default_rng([seed, 1])
        e = gym.make(env_id, horizon=max(k, 1)).unwrapped
        e.reset(seed=seed + 7919)
        calls = []
        for _ in range(k):
            c, m = rng.uniform(0.0, 1.0, 2)
            out = e.step(Intervention({"C": float(c), "M": float(m)}))[0]
            calls.append((["C", "M"], {v: out[:, i] for i, v in enumerate(e.variable_names)}, None))
        return calls

    truth = env.ground_truth()["graph"]
    return Problem(
        "EdgeSafeRegion S1", names, Knowledge(roots=frozenset(view.exogenous)), truth, passive, interventions
    )


def _dcgo_problem(label: str, env_id: str) -> Problem:
    env = gym.make(env_id).unwrapped
    env.reset(seed=0)
    view = env.structural_view()
    slice_vars = list(view.variables)
    lagged = [f"{v}_lag" for v in slice_vars]
    names = lagged + slice_vars
    unrolled = env.ground_truth()["graph"]
    truth = nx.DiGraph()
    truth.add_nodes_from(names)
    label_of = {**{(v, 1): f"{v}_lag" for v in slice_vars}, **{(v, 2): v for v in slice_vars}}
    truth.add_edges_from((label_of[a], label_of[b]) for a, b in unrolled.edges if a in label_of and b in label_of)
    scm = env.ground_truth()["scm"]

    def two_slice(data: dict[str, np.ndarray], t: int) -> dict[str, np.ndarray]:
        return {**{f"{v}_lag": data[v][:, t - 1] for v in slice_vars}, **{v: data[v][:, t] for v in slice_vars}}

    def passive(n: int, seed: int) -> dict[str, np.ndarray]:
        e = gym.make(env_id, n_observational=n).unwrapped
        e.reset(seed=seed)
        data = e.observational_data()
        parts = [two_slice(data, t) for t in range(1, view.horizon)]
        return {v: np.concatenate([p[v] for p in parts]) for v in names}

    def interventions(k: int, seed: int) -> list[Call]:
        rng = np.random.default_rng([seed, 1])
        e = gym.make(env_id, n_observational=1).unwrapped
        e.reset(seed=seed + 7919)
        first = e.observational_data()
        calls = []
        per = max(1, k // len(view.manipulative))
        for t in range(1, view.horizon):
            past = {v: float(first[v][0, t - 1]) for v in slice_vars}
            for target in view.manipulative:
                low, high = view.domains[target]
                values = rng.uniform(low, high, per)
                out = scm.slice_values(t, past, {target: values})
                rows = {
                    **{f"{v}_lag": np.full(per, past[v]) for v in slice_vars},
                    **{v: np.broadcast_to(out[v], (per,)).astype(float) for v in slice_vars},
                }
                calls.append(([target], rows, t))
        return calls

    knowledge = Knowledge(tiers=(tuple(lagged), tuple(slice_vars)))
    return Problem(label, names, knowledge, truth, passive, interventions, shift_test=False, scored=set(slice_vars))


def problems() -> list[Problem]:
    """The five envs of the unknown-graph study."""
    return [
        _scm_problem("ToySCM", "dogym/ToySCM-v0"),
        _scm_problem("Microservice S1", "dogym/Microservice-v0"),
        _edge_problem(),
        _dcgo_problem("DCGO STAT", "dogym/DCGO-STAT-v0"),
        _dcgo_problem("DCGO IND", "dogym/DCGO-IND-v0"),
    ]


def run_learner(problem: Problem, n: int, k: int, seed: int, ci_test: str) -> dict[str, Any]:
    """One learning run: SHD / F1 of the learned DAG and the CPU seconds of `learn()`."""
    learner = GraphLearner(
        problem.names, problem.knowledge, ALPHA, seed, ci_test=ci_test, shift_test=problem.shift_test
    )
    learner.add_observational(problem.passive(n, seed))
    for targets, rows, regime in problem.interventions(k, seed) if k else []:
        learner.add_interventional(targets, rows, regime=regime)
    start = time.process_time()
    learner.learn()
    seconds = time.process_time() - start
    shd, f1 = problem.score(learner.dag())
    return {"shd": shd, "f1": f1, "seconds": seconds, "undirected": learner.pdag.n_undirected}


def compare_causallearn(problem: Problem, n: int, seed: int) -> dict[str, Any] | None:
    """Our PC (Fisher-z) vs causal-learn's PC on the same passive rows: equal CPDAGs, CPU seconds of each; None when
    a passive column is constant (causal-learn's Fisher-z cannot run)."""
    data = problem.passive(n, seed)
    if any(np.ptp(v) == 0 for v in data.values()):
        return None
    start = time.process_time()
    ours = learn_cpdag(data, alpha=ALPHA, ci_test="fisherz")
    ours_seconds = time.process_time() - start
    start = time.process_time()
    theirs = causallearn_pdag(np.stack([data[v] for v in problem.names], axis=1), problem.names, ALPHA)
    theirs_seconds = time.process_time() - start
    return {"equal": ours == theirs, "ours_seconds": ours_seconds, "causallearn_seconds": theirs_seconds}


def _mean_ci(values: list[float], digits: int = 2, support: tuple[float, float] = (0.0, np.inf)) -> str:
    low, high = mean_interval(values, support=support)
    return f"{np.mean(values):.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def _ordered(runs: dict[str, Any], envs: list[str]) -> list[tuple[str, Any]]:
    """Items keyed "env|ci_test|n|k" or "env|n" in env, CI-test (default first) and numeric order (JSON sorts keys)."""

    def order(key: str) -> tuple:
        env, *rest = key.split("|")
        test = [CI_TESTS.index(rest[0])] if len(rest) == 3 else []
        return (envs.index(env), *test, *(int(x) for x in rest[len(test) :]))

    return sorted(runs.items(), key=lambda item: order(item[0]))


def report(results: dict[str, Any]) -> str:
    """The Markdown report of a results dict (every number from it)."""
    seeds = results["seeds"]
    lines = [
        "# Continuous structure learning on the unknown-graph envs",
        "",
        f"Written by `benchmarks/structure_continuous.py{' --quick' if results['quick'] else ''}`; seeds "
        f"{seeds[0]}-{seeds[-1]} ({len(seeds)}), alpha {results['alpha']}, {results['machine']}. Learned graph: "
        "`GraphLearner.dag()` vs the true graph; mean over seeds with its Student-t 95% interval. n: passive rows "
        "(DCGO: trajectories, two slice rows each); k: interventional calls (DCGO: rows per time step, noise-free). "
        "The default CI test was chosen on seeds 100-109 (`--seeds 100-109 --name structure_continuous_tuning`): the "
        "lowest mean SHD with interventions there.",
        "",
    ]
    for label in results["envs"]:
        rows = []
        for key, runs in _ordered(results["runs"], results["envs"]):
            env, ci_test, n, k = key.split("|")
            if env != label:
                continue
            rows.append(
                [
                    ci_test + (" (default)" if ci_test == results["default_ci_test"] else ""),
                    n,
                    k,
                    _mean_ci([r["shd"] for r in runs]),
                    _mean_ci([r["f1"] for r in runs], support=(0.0, 1.0)),
                    f"{np.median([r['seconds'] for r in runs]) * 1000:.1f}",
                ]
            )
        lines += [f"## {label}", "", *markdown_table(["CI test", "n", "k", "SHD", "F1", "median ms"], rows), ""]
    lines += ["## Mean SHD per CI test over every env and passive size", ""]
    rows = []
    for ci_test in dict.fromkeys(key.split("|")[1] for key, _ in _ordered(results["runs"], results["envs"])):
        cells = {k: [] for k in ("0", "30")}
        seconds = []
        for key, runs in results["runs"].items():
            _, test, _, k = key.split("|")
            if test == ci_test:
                cells.setdefault(k, []).append(np.mean([r["shd"] for r in runs]))
                seconds += [r["seconds"] for r in runs if k != "0"]
        rows.append(
            [ci_test, f"{np.mean(cells['0']):.2f}", f"{np.mean(cells['30']):.2f}", f"{np.median(seconds) * 1000:.1f}"]
        )
    lines += markdown_table(["CI test", "passive only", "with 30 calls", "median ms (with calls)"], rows) + [""]
    lines += ["## Our PC vs causal-learn's PC (Fisher-z, passive rows)", ""]
    rows = []
    for key, runs in _ordered(results["causallearn"], results["envs"]):
        env, n = key.split("|")
        done = [r for r in runs if r is not None]
        if not done:
            rows.append([env, n, "n/a (constant passive columns)", "", ""])
            continue
        rows.append(
            [
                env,
                n,
                f"{sum(r['equal'] for r in done)}/{len(done)}",
                f"{np.median([r['ours_seconds'] for r in done]) * 1000:.1f}",
                f"{np.median([r['causallearn_seconds'] for r in done]) * 1000:.1f}",
            ]
        )
    lines += markdown_table(["env", "n", "identical CPDAG", "ours median ms", "causal-learn median ms"], rows)
    return "\n".join(lines) + "\n"


def _seeds(text: str) -> list[int]:
    if "-" in text:
        low, high = (int(x) for x in text.split("-"))
        return list(range(low, high + 1))
    return [int(x) for x in text.split(",")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--seeds", default=None, help="e.g. 0-9 or 100-109 (default: 0-9, quick 0-2)")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    parser.add_argument("--ci-tests", nargs="+", default=list(CI_TESTS))
    parser.add_argument("--name", default=None, help="file stem of the results (default structure_continuous[_quick])")
    parser.add_argument("--report-only", action="store_true", help="rewrite the .md from the existing .json")
    args = parser.parse_args()
    args.name = args.name or ("structure_continuous_quick" if args.quick else "structure_continuous")
    out = Path(args.out)
    if args.report_only:
        atomic_write_text(out / f"{args.name}.md", report(json.loads((out / f"{args.name}.json").read_text())))
        return
    seeds = _seeds(args.seeds) if args.seeds else list(range(3 if args.quick else 10))
    sizes = [30, 300] if args.quick else [10, 30, 100, 300]
    calls = [0, 30]
    results: dict[str, Any] = {
        "quick": args.quick,
        "seeds": seeds,
        "alpha": ALPHA,
        "machine": f"{platform.machine()} {platform.python_version()}, 1 thread",
        "default_ci_test": GraphLearner(["a"]).ci_test,
        "envs": [],
        "runs": {},
        "causallearn": {},
    }
    for problem in problems():
        results["envs"].append(problem.label)
        for ci_test in args.ci_tests:
            for n in sizes:
                for k in calls:
                    key = f"{problem.label}|{ci_test}|{n}|{k}"
                    results["runs"][key] = [run_learner(problem, n, k, seed, ci_test) for seed in seeds]
                    shd = np.mean([r["shd"] for r in results["runs"][key]])
                    print(f"{key}: SHD {shd:.2f}", flush=True)
        for n in sizes:
            results["causallearn"][f"{problem.label}|{n}"] = [compare_causallearn(problem, n, s) for s in seeds]
    atomic_write_json(out / f"{args.name}.json", results)
    atomic_write_text(out / f"{args.name}.md", report(results))
    print(report(results))


if __name__ == "__main__":
    main()

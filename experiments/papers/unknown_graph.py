"""Beyond the papers: three methods that assume a known causal graph, run on a graph they learn online from their own
data, against the known graph (the oracle) and a wrong graph (one edge reversed: the cost of misspecification).

The methods: the rollout learner of Hammar & Stadler ("Online Identification of IT Systems through Active Causal
Learning"), on ToySCM and Microservice scenario 1; COL (Hammar, Alpcan and Lupu, "Causal Online Learning of Safe
Regions in Cloud Radio Access Networks"), on the edge example's scenario 1; DCBO and CBO (Aglietti, Dhir, González and
Damoulas, "Dynamic Causal Bayesian Optimization"), on DCGO STAT and IND. Each runs at its own reproduction's budget and
defaults (`train.py reproduce acl / col / dcbo`), so the known-graph cells are those reproductions' runs.

Grid (`cells`; each cell one run of the one grid runner under `out/runs/<env>/`, so a re-run skips finished cells),
per env and seed: the graph-aware agent with `graph` known (no override: the agent's default), learned, learned with
the orientation-valuing rule (`orientation_weight` > 0), wrong, and learned but frozen at its first estimate (never
relearned: the no-learning baseline of the structure learner), and the family's random-intervention baseline at
equal cost (`acl-random`, `col-random`, `dcgo-random`). The learned / wrong cells of an agent run only when the agent
accepts `graph: learned` (`graph_ready`); an env without them is reported as missing. `--quick` runs 2 seeds at small
budgets to check the pipeline.

The report (`write`) reads only `results.csv` and `graph_curves.csv`, which it writes first from the runs: per env the
headline metric (identification loss (5); region size and unsafe interventions; the per-replicate gap) under each
graph with Student-t 95% intervals over seeds (`INTERVAL_METHOD`), paired per-seed differences against the known
graph and of relearning against the frozen graph, SHD and F1 of the learned graph at the end and over interventions
(a figure per env), the share of a run's wall time spent learning the graph, and every target with a met / missed
verdict; from the default output folder, the README block `unknown-graph`.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dogym.agents.io import atomic_save_figure, atomic_write_json, atomic_write_text, csv_text
from dogym.agents.protocol import NONNEGATIVE, UNIT_INTERVAL
from dogym.agents.registry import agent_spec, check_hyperparams, family, resolve_hyperparams
from dogym.experiments.papers import Paper, Reproduction, Timing
from dogym.experiments.readme import replace_block
from dogym.experiments.report import (
    INTERVAL_METHOD,
    interval_text,
    invocation_timing,
    invocations_text,
    markdown_table,
    mean_interval,
    metric_keys,
    metric_value,
    paired_difference,
    pyplot,
    read_csv,
    seed_summary,
    separated,
    verdict,
)
from dogym.experiments.runner import RunConfig

NAME = "unknown-graph"
#: Where `train.py reproduce unknown-graph` writes by default; only this folder's results rewrite the README block.
DEFAULT_OUT = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / NAME
DEFAULT_SEEDS = tuple(range(10))
QUICK_SEEDS = 2
#: The graph-aware agents' graph modes: label suffix -> hyper-parameter overrides. "known" has none (the agents'
#: default), so its cells are the family reproductions' own runs; "learned-ow" adds the orientation-valuing rule with
#: the env's `Setting.orientation_weight`.
#: "learned-frozen" is the structure learner without relearning: `relearn_every` at its declared maximum
#: (`FROZEN_RELEARN`), above every family's budget, so the graph stays the learner's first estimate, made from what the
#: agent has before its first intervention (`FROZEN_READING`).
FROZEN_RELEARN = 1_000_000
MODES = {"known": {}, "learned": {"graph": "learned"}, "wrong": {"graph": "wrong"}, "learned-ow": {"graph": "learned"},
         "learned-frozen": {"graph": "learned", "relearn_every": FROZEN_RELEARN}}  # fmt: skip
#: Column titles of the modes in the README block.
MODE_TITLES = {"known": "known graph", "learned": "learned graph", "wrong": "wrong graph (one edge reversed)",
               "learned-ow": "learned graph, orientation rule",
               "learned-frozen": "learned graph frozen at its first estimate"}  # fmt: skip
#: The graph metrics every graph-aware agent reports (final graph against the true one; CPU seconds of structure
#: learning) and the run's wall time (written by the runner).
SHD, F1, LEARN_SECONDS, WALL_SECONDS = "graph/shd", "graph/f1", "graph/learn_seconds", "train_seconds"
GRAPH_KEYS = (SHD, F1, LEARN_SECONDS, WALL_SECONDS)
#: Targets: learned within this fraction of known (with overlapping intervals) on at least `LEARNED_ENVS` envs; the
#: wrong graph measurably worse (paired per-seed difference) on at least `WRONG_ENVS` envs (no count was set: a
#: majority); structure learning at most `LEARN_SHARE` of a learned run's wall time.
WITHIN, LEARNED_ENVS, WRONG_ENVS, LEARN_SHARE = 0.10, 4, 3, 0.20
#: The README block this reproduction writes (`dogym.experiments.readme`), from the default output folder only.
README_BLOCK = NAME


@dataclass(frozen=True)
class Setting:
    """One env of the reproduction: its key and title, the registered env, the graph-aware agents (the first is the
    headline one) and the random baseline, the quick budget (the full budget is the family's default, which is its
    reproduction's), the headline metrics as (key, larger is better) with the first one the 10% target's, the SHD
    target of the learned graph (None: none), the orientation rule's weight, the script that chose the learned
    graph's settings on tuning seeds, overrides of the learned cells (beyond the agent's YAML defaults), documented
    variants of the headline agent's learned run (mode name -> overrides; they run after the modes) and the
    overrides of every cell in quick mode (smaller optimisers)."""

    key: str
    title: str
    env: str
    agents: tuple[str, ...]
    baseline: str
    quick_budget: int
    metrics: tuple[tuple[str, bool], ...]
    shd_target: float | None
    orientation_weight: float = 1.0
    tuned_by: str = "benchmarks/unknown_graph_tuning.py"
    learned: dict[str, Any] = field(default_factory=dict)
    variants: dict[str, dict[str, Any]] = field(default_factory=dict)
    quick: dict[str, Any] = field(default_factory=dict)

    @property
    def headline(self) -> str:
        return self.metrics[0][0]

    @property
    def larger_is_better(self) -> bool:
        return self.metrics[0][1]

    def labels(self, modes: Sequence[str] = tuple(MODES)) -> dict[str, tuple[str, dict[str, Any]]]:
        """Run label -> (agent, overrides): the baseline, then each of `modes` of every graph-aware agent (known only
        for an agent that does not accept `graph: learned` yet)."""
        out: dict[str, tuple[str, dict[str, Any]]] = {self.baseline: (self.baseline, {})}
        for agent in self.agents:
            ready = graph_ready(agent, self.env)
            for mode, overrides in ((m, MODES[m]) for m in modes if ready or m == "known"):
                extra = dict(self.learned) if mode.startswith("learned") else {}
                if mode == "learned-ow":
                    extra["orientation_weight"] = self.orientation_weight
                out[f"{agent}-{mode}"] = (agent, {**overrides, **extra})
            if ready and "learned" in modes and agent == self.agents[0]:
                out |= {f"{agent}-{name}": (agent, dict(overrides)) for name, overrides in self.variants.items()}
        return out


#: Quick mode of the rollout learner: a small differential evolution and horizon (as `reproduce acl --quick`).
ACL_QUICK = {"popsize": 5, "maxiter": 4, "n_rollouts": 3, "horizon": 2}
LOSS = (("identification/final_loss", False),)
#: The rollout learner's orientation weight: orienting every undirected edge of the learned CPDAG is worth this
#: fraction of its current surrogate loss (8) (the family's scale; COL's and DCGO's are on their acquisitions' scales).
ACL_WEIGHT = 0.5
#: DCBO / CBO's orientation weight (on their causal EI / cost; DCBO's choice on its tuning seeds).
DCGO_WEIGHT = 0.1
#: The scripts that chose each family's learned-graph settings on tuning seeds (each family measures its own).
DCGO_TUNING, COL_TUNING, ACL_TUNING = (
    "benchmarks/dcgo_graph_tuning.py",
    "benchmarks/col_graph_tuning.py",
    "benchmarks/acl_graph.py",
)
SETTINGS = (
    Setting("stat", "DCGO STAT", "dogym/DCGO-STAT-v0", ("dcbo", "cbo"), "dcgo-random", 10,
            (("truth/gap", True),), 1.0, DCGO_WEIGHT, tuned_by=DCGO_TUNING),
    Setting("ind", "DCGO IND", "dogym/DCGO-IND-v0", ("dcbo", "cbo"), "dcgo-random", 10, (("truth/gap", True),), None,
            DCGO_WEIGHT, tuned_by=DCGO_TUNING),
    Setting("edge", "EdgeSafeRegion S1", "dogym/EdgeSafeRegion-v0", ("col",), "col-random", 8,
            (("col/region_size", True), ("col/unsafe_interventions", False)), 1.0, tuned_by=COL_TUNING,
            variants={"learned-t0": {"graph": "learned", "graph_passive_steps": 0, "graph_alpha": 0.2}}),
    Setting("toy", "ToySCM", "dogym/ToySCM-v0", ("acl-rollout",), "acl-random", 8, LOSS, 1.0, ACL_WEIGHT,
            tuned_by=ACL_TUNING, quick=ACL_QUICK),
    Setting("ms1", "Microservice S1", "dogym/Microservice-v0", ("acl-rollout",), "acl-random", 8, LOSS, 2.0,
            ACL_WEIGHT, tuned_by=ACL_TUNING, quick=ACL_QUICK),
)  # fmt: skip
SETTING = {s.key: s for s in SETTINGS}
#: Metric ranges beyond the families' own (`Family.supports`): the graph metrics.
GRAPH_SUPPORTS = {SHD: NONNEGATIVE, F1: UNIT_INTERVAL, LEARN_SECONDS: NONNEGATIVE, WALL_SECONDS: NONNEGATIVE}


@functools.cache
def graph_ready(agent: str, env: str) -> bool:
    """Whether the agent accepts `graph: learned` on the env (its family's hyper-parameters include it)."""
    try:
        check_hyperparams(agent_spec(agent), {"graph": "learned"}, env)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class Cell:
    """One run: the env's setting key, the run's label (agent-mode, or the baseline's name), agent, seed, overrides."""

    setting: str
    label: str
    agent: str
    seed: int
    overrides: dict[str, Any]

    def config(self, runs: Path, quick: bool) -> RunConfig:
        """The cell as a run of the one grid runner (its folder is its cache entry); quick: the setting's small
        budget and optimiser."""
        s = SETTING[self.setting]
        quick_overrides = s.quick if quick and self.agent in s.agents else {}
        return RunConfig(self.agent, s.env, self.seed, s.quick_budget if quick else None,
                         hyperparams={**quick_overrides, **self.overrides}, eval_episodes=0,
                         log_folder=str(runs / self.setting), label=self.label)  # fmt: skip


def cells(
    seeds: Sequence[int], settings: Sequence[Setting] = SETTINGS, modes: Sequence[str] = tuple(MODES)
) -> list[Cell]:
    """The grid in the order it runs: mode by mode in `MODES` order (the known graph with the random baselines,
    then learned, wrong, the orientation rule, the frozen graph: an interrupted grid has the most important cells), within a mode the
    cheapest envs first (DCGO, the edge example, then the rollout learner), every label of `Setting.labels` (with
    `modes`) over the seeds."""
    unknown = sorted(set(modes) - set(MODES))
    if unknown:
        raise ValueError(f"unknown graph mode(s) {unknown}; modes: {', '.join(MODES)}")
    grid = [Cell(s.key, label, agent, seed, overrides) for s in settings
            for label, (agent, overrides) in s.labels(modes).items() for seed in seeds]  # fmt: skip
    rank = {mode: i for i, mode in enumerate(MODES)}
    order = {label: rank.get(label.removeprefix(f"{agent}-"), 0 if label == s.baseline else len(rank))
             for s in settings for label, (agent, _) in s.labels(modes).items()}  # fmt: skip
    return sorted(grid, key=lambda c: order[c.label])


# ---------------------------------------------------------------------------------------------------- result files
def result_rows(grid: Sequence[Cell], runs: Sequence[Mapping[str, Any]], keys: Sequence[str]) -> list[dict[str, Any]]:
    """One row per (run, metric) it has: env key, label, agent, seed, metric, value (results.csv)."""
    return [{"env": c.setting, "label": c.label, "agent": c.agent, "seed": c.seed, "metric": key, "value": value}
            for c, run in zip(grid, runs, strict=True) for key in keys
            if (value := metric_value(run, key)) is not None]  # fmt: skip


def history_rows(grid: Sequence[Cell], configs: Sequence[RunConfig]) -> list[dict[str, Any]]:
    """Every run's graph history (its graph_history.csv: interventions, shd, f1 after each relearn), labelled with
    its env key, label and seed (graph_curves.csv)."""
    rows = []
    for c, config in zip(grid, configs, strict=True):
        path = config.run_dir / "graph_history.csv"
        if path.exists():
            rows += [{"env": c.setting, "label": c.label, "seed": c.seed, "interventions": int(r["interventions"]),
                      "shd": float(r["shd"]), "f1": float(r["f1"])} for r in read_csv(path)]  # fmt: skip
    return rows


#: env key -> label -> metric -> seed -> value.
Values = dict[str, dict[str, dict[str, dict[int, float]]]]


def read_values(out: Path) -> Values:
    """results.csv as env key -> label -> metric -> seed -> value."""
    values: Values = {}
    for r in read_csv(Path(out) / "results.csv"):
        values.setdefault(r["env"], {}).setdefault(r["label"], {}).setdefault(r["metric"], {})[int(r["seed"])] = float(
            r["value"]
        )
    return values


def read_histories(out: Path) -> dict[tuple[str, str], dict[int, list[tuple[int, float, float]]]]:
    """graph_curves.csv as (env key, label) -> seed -> [(interventions, shd, f1)] (absent file: empty)."""
    path = Path(out) / "graph_curves.csv"
    histories: dict[tuple[str, str], dict[int, list[tuple[int, float, float]]]] = {}
    for r in read_csv(path) if path.exists() else []:
        histories.setdefault((r["env"], r["label"]), {}).setdefault(int(r["seed"]), []).append(
            (int(r["interventions"]), float(r["shd"]), float(r["f1"]))
        )
    return histories


# ---------------------------------------------------------------------------------------------------- analysis
def _support(metric: str, supports: Mapping[str, tuple[float, float]]) -> tuple[float, float]:
    return supports.get(metric, GRAPH_SUPPORTS.get(metric, (-np.inf, np.inf)))


def stats(by_seed: Mapping[int, float] | None, support: tuple[float, float] = (-np.inf, np.inf)) -> dict | None:
    """`seed_summary` of one metric's values over seeds (None without values)."""
    return seed_summary(list(by_seed.values()), support) if by_seed else None


def paired(a: Mapping[int, float] | None, b: Mapping[int, float] | None) -> dict[str, Any] | None:
    """`paired_difference` (the per-seed difference a - b, same seed: same env data, with its `INTERVAL_METHOD`
    interval), None without two common seeds."""
    common = set(a or ()) & set(b or ())
    return paired_difference(dict(a), dict(b)) if len(common) >= 2 else None  # type: ignore[arg-type]


def shares(metrics: Mapping[str, Mapping[int, float]]) -> dict[int, float]:
    """Per seed, the share of the run's wall time spent learning the graph."""
    learn, wall = metrics.get(LEARN_SECONDS, {}), metrics.get(WALL_SECONDS, {})
    return {s: learn[s] / wall[s] for s in learn if wall.get(s)}


def worse(diff: dict[str, Any] | None, larger_is_better: bool) -> bool | None:
    """Whether a paired difference (candidate - reference) shows the candidate worse (its interval excludes 0 on
    the worse side); None without a difference."""
    if diff is None:
        return None
    return diff["ci95"][1] < 0 if larger_is_better else diff["ci95"][0] > 0


def analyse(values: Values, supports: Mapping[str, tuple[float, float]]) -> dict[str, Any]:
    """Everything the report and the README block say, from results.csv's values: per env, per label the summaries
    of the headline and graph metrics and the learning share; the paired comparisons; the targets."""
    envs = {}
    for s in SETTINGS:
        mine = values.get(s.key, {})
        if not mine:
            continue
        labels = {}
        for label, metrics in mine.items():
            row = {m: stats(metrics.get(m), _support(m, supports)) for m, _ in s.metrics}
            row |= {m: stats(metrics.get(m), _support(m, supports)) for m in GRAPH_KEYS}
            row["share"] = stats(shares(metrics), UNIT_INTERVAL)
            row["seeds"] = len(metrics.get(s.headline, {}))
            labels[label] = row
        head = s.agents[0]

        def of(label: str, metric: str, metrics: Mapping = mine) -> dict[int, float] | None:
            return metrics.get(label, {}).get(metric)

        comparisons = {}
        for agent in s.agents:
            pairs = {"learned - known": (f"{agent}-learned", f"{agent}-known"),
                     "wrong - known": (f"{agent}-wrong", f"{agent}-known"),
                     "learned-ow - learned": (f"{agent}-learned-ow", f"{agent}-learned"),
                     "learned - random": (f"{agent}-learned", s.baseline),
                     "known - random": (f"{agent}-known", s.baseline),
                     "learned - learned-frozen": (f"{agent}-learned", f"{agent}-learned-frozen"),
                     "learned-frozen - random": (f"{agent}-learned-frozen", s.baseline)}  # fmt: skip
            for name, (a, b) in pairs.items():
                graph = name in ("learned-ow - learned", "learned - learned-frozen")
                for m in (*(k for k, _ in s.metrics), *((SHD,) if graph else ())):
                    diff = paired(of(a, m), of(b, m))
                    if diff is not None:
                        comparisons[f"{agent}: {name}: {m}"] = diff
        known, learned = labels.get(f"{head}-known"), labels.get(f"{head}-learned")
        close = better = None
        if known and learned and known[s.headline] and learned[s.headline]:
            k, lr = known[s.headline], learned[s.headline]
            larger = s.larger_is_better
            overlap = not separated(k, lr, larger) and not separated(lr, k, larger)
            close = abs(lr["mean"] - k["mean"]) <= WITHIN * abs(k["mean"]) and overlap
            better = lr["mean"] > k["mean"] if larger else lr["mean"] < k["mean"]
        wrong = [worse(comparisons.get(f"{head}: wrong - known: {m}"), larger) for m, larger in s.metrics]
        envs[s.key] = {
            "labels": labels,
            "comparisons": comparisons,
            "learned_close": close,
            "learned_better": better,
            "wrong_worse": None if all(w is None for w in wrong) else any(bool(w) for w in wrong),
            "wrong_separated": _wrong_separated(s, labels),
        }
    return {"envs": envs, "targets": targets(envs)}


def _wrong_separated(s: Setting, labels: Mapping[str, Any]) -> bool | None:
    """Whether the wrong graph's interval of a headline metric lies entirely on the worse side of the known's."""
    known, wrong = labels.get(f"{s.agents[0]}-known"), labels.get(f"{s.agents[0]}-wrong")
    if not known or not wrong:
        return None
    return any(known[m] and wrong[m] and separated(known[m], wrong[m], larger) for m, larger in s.metrics)


def targets(envs: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """Every target as (target, ours, verdict), from `analyse`'s per-env results."""
    out = []
    for s in SETTINGS:
        if s.shd_target is None:
            continue
        learned = envs.get(s.key, {}).get("labels", {}).get(f"{s.agents[0]}-learned")
        shd = learned and learned[SHD]
        out.append((f"{s.title}: SHD of the learned graph <= {s.shd_target:g} at the end of the budget "
                    f"({s.agents[0]})", f"{interval_text(shd)} ({shd['n']} seeds)" if shd else "missing",
                    verdict(shd["mean"] <= s.shd_target if shd else None)))  # fmt: skip
    counted = (
        ("learned_close", LEARNED_ENVS, f"Headline metric with the learned graph within {WITHIN:.0%} of the known "
                                        "graph's, with overlapping 95% CIs"),
        ("wrong_worse", WRONG_ENVS, "The wrong graph (one edge reversed) is measurably worse than the known graph "
                                    "(paired per-seed difference of a headline metric, 95% CI excluding 0)"),
    )  # fmt: skip
    for key, need, text in counted:
        found = {s.title: envs.get(s.key, {}).get(key) for s in SETTINGS}
        hit, missing = [t for t, v in found.items() if v], [t for t, v in found.items() if v is None]
        ours = f"{len(hit)} of {len(SETTINGS)}: {', '.join(hit) or 'none'}"
        ours += f" (missing: {', '.join(missing)})" if missing else ""
        if key == "learned_close":
            above = [s.title for s in SETTINGS if envs.get(s.key, {}).get("learned_better") and found[s.title] is False]
            ours += f"; outside on the better side (learned better than known): {', '.join(above) or 'none'}"
        if key == "wrong_worse":
            apart = [s.title for s in SETTINGS if envs.get(s.key, {}).get("wrong_separated")]
            ours += f"; with separated 95% CIs (unpaired) on {len(apart)}: {', '.join(apart) or 'none'}"
        out.append((f"{text}, on >= {need} of {len(SETTINGS)} envs", ours,
                    verdict(len(hit) >= need if len(missing) < len(SETTINGS) else None)))  # fmt: skip
    shares_text, ok, ratios_text = [], [], []
    for s in SETTINGS:
        labels = envs.get(s.key, {}).get("labels", {})
        share = (labels.get(f"{s.agents[0]}-learned") or {}).get("share")
        if share:
            shares_text.append(f"{s.title} {share['mean']:.1%} (CI upper end {share['mean_ci95'][1]:.1%})")
            ok.append(share["mean"] <= LEARN_SHARE)
        walls = [(labels.get(f"{s.agents[0]}-{m}") or {}).get(WALL_SECONDS) for m in ("learned", "known")]
        if all(walls):
            ratios_text.append(f"{s.title} {walls[0]['mean'] / walls[1]['mean']:.2f}x")
    out.append((f"Structure learning <= {LEARN_SHARE:.0%} of a learned run's wall time (CPU seconds of learning / "
                "wall seconds of the run, mean over seeds, every env)", "; ".join(shares_text) or "missing",
                verdict(all(ok) if ok else None)))  # fmt: skip
    out.append(("A learned run's wall time against the known graph's (everything the learned graph adds: learning "
                "and rebuilding the models on each new graph; mean wall seconds of runs measured at different loads of "
                "a shared machine: shown, not judged)", "; ".join(ratios_text) or "missing", verdict(None)))  # fmt: skip
    out.append(("Relearning against the learned graph frozen at its first estimate (paired per-seed difference "
                "learned - learned-frozen of the headline metric; no target was set: shown, not judged)",
                "; ".join(relearning(envs)) or "missing", verdict(None)))  # fmt: skip
    return out


def relearning(envs: Mapping[str, Any]) -> list[str]:
    """Per env, the headline agent's paired difference learned - learned-frozen of the headline metric, and whether
    its interval says relearning is better, worse or neither."""
    out = []
    for s in SETTINGS:
        diff = envs.get(s.key, {}).get("comparisons", {}).get(f"{s.agents[0]}: learned - learned-frozen: {s.headline}")
        if diff is not None:
            side = ("better" if worse(diff, not s.larger_is_better) else "worse" if worse(diff, s.larger_is_better)
                    else "no difference")  # fmt: skip
            out.append(f"{s.title} {_diff_text(diff)}: {side}")
    return out


# ---------------------------------------------------------------------------------------------------- figures
def curve_band(by_seed: Mapping[int, Sequence[tuple[int, float, float]]], column: int) -> tuple[np.ndarray, ...]:
    """Mean and `INTERVAL_METHOD` band over seeds of the graph history's `column` (1: SHD, 2: F1) against
    interventions: at each count, every seed's graph after its last relearn up to that count (a run that stopped
    earlier keeps its final graph)."""
    xs = np.array(sorted({row[0] for rows in by_seed.values() for row in rows}))
    mean, low, high = (np.full(len(xs), np.nan) for _ in range(3))
    for i, x in enumerate(xs):
        now = [max((r for r in rows if r[0] <= x), key=lambda r: r[0])[column] for rows in by_seed.values()
               if any(r[0] <= x for r in rows)]  # fmt: skip
        if now:
            mean[i] = float(np.mean(now))
            low[i], high[i] = mean_interval(now, support=GRAPH_SUPPORTS[(SHD, F1)[column - 1]])
    return xs, mean, low, high


def plot_setting(s: Setting, env: Mapping[str, Any], histories: Mapping, path: Path) -> Path:
    """One env's figure: SHD and F1 of the graph over interventions (mean and 95% CI band over seeds, every label
    with a graph history), and the headline metric per label (mean, 95% CI bars)."""
    plt = pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(15, 3.8))
    labels = list(env["labels"])
    end = max((r[0] for (key, _), by in histories.items() if key == s.key for rows in by.values() for r in rows),
              default=0)  # fmt: skip
    for i, label in enumerate(labels):
        by_seed = histories.get((s.key, label))
        if not by_seed or label == s.baseline:  # the random baseline's graph is not its own
            continue
        for ax, column in ((axes[0], 1), (axes[1], 2)):
            xs, mean, low, high = curve_band(by_seed, column)
            if xs[-1] < end:  # a fixed graph (known, wrong) is recorded once: hold it to the env's last count
                xs, mean, low, high = (np.append(a, a[-1]) for a in (xs, mean, low, high))
                xs[-1] = end
            style = {"known": ":", "wrong": "--", "frozen": "-."}.get(label.rsplit("-", 1)[-1], "-")
            ax.step(xs, mean, style, where="post", color=f"C{i}", label=f"{label} ({len(by_seed)} seeds)")
            ax.fill_between(xs, low, high, step="post", color=f"C{i}", alpha=0.15)
    for ax, name in ((axes[0], "SHD to the true graph"), (axes[1], "F1 of the edges")):
        ax.set(xlabel="interventions", ylabel=name, title=f"{s.title}: {name}")
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    shown = [(label, env["labels"][label][s.headline]) for label in labels if env["labels"][label][s.headline]]
    means = np.array([st["mean"] for _, st in shown])
    err = np.array([[st["mean"] - st["mean_ci95"][0], st["mean_ci95"][1] - st["mean"]] for _, st in shown]).T
    axes[2].bar(range(len(shown)), means, yerr=err if len(shown) else None, capsize=3,
                color=[f"C{labels.index(label)}" for label, _ in shown])  # fmt: skip
    axes[2].set_xticks(range(len(shown)), [label for label, _ in shown], rotation=30, ha="right", fontsize=7)
    axes[2].set(title=f"{s.title}: {s.headline} ({'higher' if s.larger_is_better else 'lower'} is better)")
    return atomic_save_figure(fig, path, dpi=110)


# ---------------------------------------------------------------------------------------------------- report
def _diff_text(diff: Mapping[str, Any] | None) -> str:
    if diff is None:
        return "-"
    low, high = diff["ci95"]
    return f"{diff['mean']:+.3g} [{low:+.3g}, {high:+.3g}] (n={diff['n']})"


def _share_text(share: Mapping[str, Any] | None) -> str:
    return "-" if not share else f"{share['mean']:.1%} [{share['mean_ci95'][0]:.1%}, {share['mean_ci95'][1]:.1%}]"


#: Per env, what limits the learned graph (the structure learner's and the families' diagnoses on tuning seeds; the
#: numbers are in the tables above each note).
READING = {
    "toy": "the passive rows vary (U is random), so the skeleton U - X - Z - Y is testable, but under do(Z) the output "
           "Y = cos(Z) - exp(-Z/20) oscillates over Z's operating range (several periods sampled by a few rows), so "
           "Z - Y is found from the monotone passive range only; X -> Z is oriented by do(X) once its response test "
           "reaches the level, else the pooled skeleton's collider U -> X <- Z can win.",
    "ms1": "the 8 exogenous variables are constant in the passive data, so every edge out of them comes from "
           "interventions (the learner keeps an untested exogenous variable as a parent of every endogenous one); R1 "
           "and R2 saturate together, so on the interventional rows they are nearly collinear and PC explains one by "
           "the other, missing their other parents: the SHD target is out of reach from 30 rows.",
    "edge": "the effects of C and M on Y are U-shaped (zero rank correlation), so COL's learner uses the cubic-basis "
            "test, and reads a longer free passive log for the structure only (the model still fits the paper's t0 "
            "rows; `graph_passive_steps`); the variant `col-learned-t0` learns from the t0 rows and the "
            "interventions alone. The orientation rule is inert: with the exogenous variables as roots every learned "
            "edge points into Y, so no edge is left undirected.",
    "stat": "D^O holds 10 trajectories of 3 slices, too few for the skeleton, so the slice graph comes mostly from "
            "the noise-free explorations (a variable that varies under do(X) alone in one time step is a "
            "descendant of X); the transitions V_{t-1} -> V_t are assumed.",
    "ind": "as STAT: the slice graph from D^O and the noise-free explorations, transitions assumed.",
}  # fmt: skip

#: Per headline agent, what its learned graph frozen at its first estimate is (the families' own first graphs).
FROZEN_READING = {
    "acl-rollout": "the rollout learner has no data before its first intervention, so its first graph is its starting "
                   "graph: every exogenous or controllable variable a parent of every endogenous variable after it in "
                   "the order exogenous first, then by name (on ToySCM the complete DAG of U, X, Y, Z, so Z -> Y is "
                   "reversed; on the microservice every exogenous variable a parent of every endogenous one, and no "
                   "edge out of the latencies). It keeps every possible parent and never prunes one.",
    "col": "COL's first graph is learned from the passive log before its first intervention (`graph_passive_steps` "
           "rows) and kept; the interventions' rows reach the model but never the graph.",
    "dcbo": "the slice graph learned from D^O alone, kept for the run. Its exploration sets keep every manipulative "
            "variable alone (none was probed when the graph was learned), and, as a learned graph gets the causal "
            "prior only once it was relearned after every manipulative variable was probed, the frozen runs have no "
            "causal prior: DCBO and CBO then make the same choices.",
}  # fmt: skip


def env_lines(s: Setting, env: Mapping[str, Any], budget: str) -> list[str]:
    """An env's section: the table per label, the paired comparisons and the figure."""
    header = ("run", "seeds", *(f"{m} ({'higher' if up else 'lower'} better)" for m, up in s.metrics),
              "SHD at the end", "F1 at the end", "learning share of wall time", "wall s per run")  # fmt: skip
    rows = [[label, r["seeds"], *(interval_text(r[m], 3) for m, _ in s.metrics), interval_text(r[SHD]),
             interval_text(r[F1]), _share_text(r["share"]), interval_text(r[WALL_SECONDS], 1)]
            for label, r in env["labels"].items()]  # fmt: skip
    lines = [f"## {s.title} (`{s.env}`, {budget})", "", *markdown_table(header, rows), ""]
    if s.key in READING:
        lines += [f"What the learned graph sees here: {READING[s.key]}", ""]
    if f"{s.agents[0]}-learned-frozen" in env["labels"]:
        lines += [f"The graph frozen at its first estimate (`learned-frozen`): {FROZEN_READING[s.agents[0]]}", ""]
    if env["comparisons"]:
        lines += ["Paired per-seed differences (first minus second; mean [95% CI], n seeds):", ""]
        lines += markdown_table(("comparison", "metric", "difference"),
                                [[name.rsplit(": ", 1)[0], name.rsplit(": ", 1)[1], _diff_text(d)]
                                 for name, d in env["comparisons"].items()])  # fmt: skip
        lines.append("")
    return [*lines, f"![{s.title}](fig_{s.key}.png)", ""]


#: The structure learner's hyper-parameters shown in the report (resolved from each learned run's configuration).
LEARNER_KEYS = ("graph_alpha", "graph_test", "graph_passive_steps", "relearn_every", "orientation_weight")


def learner_settings(grid: Sequence[Cell], configs: Sequence[RunConfig]) -> dict[str, str]:
    """Per env, the structure-learner settings of its headline agent's learned runs that its YAML file or the grid
    sets (the rest are the agent's code defaults), and the orientation rule's weight."""
    out: dict[str, str] = {}
    for c, cfg in zip(grid, configs, strict=True):
        head = SETTING[c.setting].agents[0]
        if c.label == f"{head}-learned" and c.setting not in out:
            resolved = cfg.resolved_hyperparams()
            shown = [f"{k} {resolved[k]}" for k in LEARNER_KEYS[:-1] if k in resolved]
            out[c.setting] = ", ".join(shown) or "the agent's defaults"
    for c in grid:
        if c.label == f"{SETTING[c.setting].agents[0]}-learned-ow" and "weight" not in out.get(c.setting, "weight"):
            out[c.setting] += f"; orientation rule weight {c.overrides['orientation_weight']:g}"
    return out


def settings_lines(summary: Mapping[str, Any]) -> list[str]:
    """The table of envs, agents, budgets, the learned graph's settings and the graph modes that ran."""
    rows = []
    for s in SETTINGS:
        ready = all(graph_ready(a, s.env) for a in s.agents)
        ran = ", ".join(m for m in summary["modes"] if ready or m == "known")
        ran += "" if ready else " (the agents take no `graph` hyper-parameter at this commit)"
        rows.append([s.title, ", ".join(s.agents), s.baseline, summary["budgets"].get(s.key, "not run"),
                     summary["learner"].get(s.key, "-"), f"`{s.tuned_by}`", ran])  # fmt: skip
    return markdown_table(("env", "graph-aware agents", "random baseline", "budget", "structure learner (headline "
                           "agent)", "chosen on seeds >= 100 by", "graph modes run"), rows)  # fmt: skip


def markdown(analysis: Mapping[str, Any], summary: Mapping[str, Any]) -> str:
    """The Markdown report (see the module docstring)."""
    lines = [
        "# Unknown graph: the rollout learner, COL and DCBO / CBO on a causal graph learned online",
        "",
        f"Command: `{summary['command']}`; seeds {summary['seeds']}. Time: {invocations_text(summary)}"
        + (
            f" **Partial report**: {summary['cells_reported']} of the grid's {summary['grid_cells']} cells had finished."
            if summary["cells_reported"] < summary["grid_cells"]
            else ""
        ),
        "",
        "Each graph-aware agent runs with `graph: known` (the structural view's graph: the oracle, and the family "
        "reproductions' own runs), `graph: learned` (the graph only from its own data: the passive data it already "
        "gets and its own interventions, through `dogym.causal.structure.continuous.GraphLearner`, relearned every "
        "`relearn_every` interventions; background knowledge: the variables the view declares exogenous have no "
        "parents), `learned-ow` (the same with the orientation-valuing rule: `orientation_weight` x the expected "
        "number of edges a candidate intervention orients is added to its acquisition value) and `graph: wrong` (the "
        "known graph with one edge reversed, fixed for the run). `learned-frozen` is the structure learner without "
        f"relearning: `graph: learned` with `relearn_every` {FROZEN_RELEARN}, above the budget, so the graph stays "
        "the learner's first estimate, made from what the agent has before its first intervention (per family "
        "below each env's table). The random baseline intervenes at random under the same budget. SHD and F1 score the agent's final graph against the true graph (evaluation only; 0 and 1 for "
        "the known graph); for DCGO the within-slice graph against the true slice graph (the transitions "
        "V_{t-1} -> V_t are assumed, not learned or scored). The curves hold each seed's graph after its last "
        "relearning. The learning share is the CPU seconds of structure learning over the run's wall seconds.",
        "",
        f"Intervals: {INTERVAL_METHOD} (`dogym.experiments.report.mean_interval`), written mean [low, high]. The "
        "learned-graph settings were chosen on seeds >= 100, disjoint from the reported seeds, by the scripts the "
        "table names.",
        "",
        *settings_lines(summary),
        "",
        "## Targets",
        "",
        *markdown_table(("target", "ours", "verdict"), analysis["targets"]),
        "",
    ]
    missing = [s.title for s in SETTINGS if s.key not in analysis["envs"]]
    if missing:
        lines += [f"No results for: {', '.join(missing)}.", ""]
    for s in SETTINGS:
        if s.key in analysis["envs"]:
            lines += env_lines(s, analysis["envs"][s.key], summary["budgets"].get(s.key, "-"))
    return "\n".join(lines)


def readme_block(out: Path) -> str:
    """The README's block: one row per env, the headline metric under the known, learned and wrong graph (and the
    orientation rule, the graph frozen at its first estimate, the random baseline, the learned graph's SHD), and the targets, from the committed
    results.csv."""
    values = read_values(out)
    analysis = analyse(values, _supports())
    rows = []
    for s in SETTINGS:
        env = analysis["envs"].get(s.key, {"labels": {}})
        head = s.agents[0]

        def cell(label: str, metric: str, digits: int = 3, labels: Mapping = env["labels"]) -> str:
            return interval_text((labels.get(label) or {}).get(metric), digits)

        rows.append([s.title, head, s.headline, *(cell(f"{head}-{m}", s.headline) for m in MODES),
                     cell(s.baseline, s.headline), cell(f"{head}-learned", SHD, 2)])  # fmt: skip
    variants = []
    for s in SETTINGS:
        for name, overrides in s.variants.items():
            row = analysis["envs"].get(s.key, {"labels": {}})["labels"].get(f"{s.agents[0]}-{name}")
            if row:
                learned = resolve_hyperparams(agent_spec(s.agents[0]), s.env, {"graph": "learned", **s.learned})
                variants.append(
                    f"{s.title}, variant {name} ({', '.join(f'{k} {v}' for k, v in overrides.items())}; the learned "
                    f"graph above: {', '.join(f'{k} {learned.get(k)}' for k in overrides if k != 'graph')}): "
                    f"{s.headline} {interval_text(row[s.headline], 3)}, SHD {interval_text(row[SHD])}."
                )
    seeds = sorted({n for env in analysis["envs"].values() for r in env["labels"].values() if (n := r["seeds"])})
    header = ("env", "agent", "metric", *MODE_TITLES.values(), "random at equal cost",
              "learned graph SHD at the end")  # fmt: skip
    targets_rows = [[t.replace("|", "/"), o, v] for t, o, v in analysis["targets"]]
    lines = [
        f"Known vs learned vs wrong graph: mean [{INTERVAL_METHOD}], {'/'.join(map(str, seeds))} seeds per cell. "
        "Headline metrics: identification loss (5) (lower is better), the safe region's size (higher is better), "
        "DCGO's per-replicate gap (higher is better).",
        "",
        *markdown_table(header, rows),
        "",
        *(variants + [""] if variants else []),
        *markdown_table(("target", "ours", "verdict"), targets_rows),
        "",
        f"Details: `benchmarks/results/{NAME}/report.md`.",
    ]
    return "\n".join(lines)


def _supports() -> dict[str, tuple[float, float]]:
    """The metric ranges the settings' families declare (`Family.supports`)."""
    agents = {a for s in SETTINGS for a in (*s.agents, s.baseline)}
    return {k: v for name in {agent_spec(a).family for a in agents} for k, v in family(name).supports.items()}


def write(out: Path, grid: Sequence[Cell], configs: Sequence[RunConfig], runs: Sequence[Mapping[str, Any]],
          summary: dict[str, Any]) -> Path:  # fmt: skip
    """results.csv and graph_curves.csv from the runs, then (from those files only) summary.json, the figures,
    report.md and, from the default output folder and not in quick mode, the README block."""
    keys = list(dict.fromkeys([*metric_keys(configs), *GRAPH_KEYS]))
    atomic_write_text(out / "results.csv", csv_text(result_rows(grid, runs, keys)))
    histories = history_rows(grid, configs)
    if histories:
        atomic_write_text(out / "graph_curves.csv", csv_text(histories))
    analysis = analyse(read_values(out), _supports())
    curves = read_histories(out)
    for s in SETTINGS:
        if s.key in analysis["envs"]:
            plot_setting(s, analysis["envs"][s.key], curves, out / f"fig_{s.key}.png")
    atomic_write_json(out / "summary.json", {**summary, **analysis})
    report = atomic_write_text(out / "report.md", markdown(analysis, summary))
    if not summary["quick"] and out.resolve() == DEFAULT_OUT.resolve():
        replace_block(README_BLOCK, readme_block(out))
    return report


@dataclass(frozen=True)
class UnknownGraph(Paper):
    """`train.py reproduce unknown-graph` at the family reproductions' budgets (`--quick`: 2 seeds, small budgets);
    `settings` (env keys) and `modes` (graph modes) select a part of the grid."""

    settings: tuple[str, ...] = tuple(SETTING)
    modes: tuple[str, ...] = tuple(MODES)
    name = NAME
    seeds = DEFAULT_SEEDS

    def cells(self, job: Reproduction) -> list[Cell]:
        """The grid's cells (each family at its reproduction's budget)."""
        if job.timesteps is not None:
            raise ValueError("reproduce unknown-graph runs each family at its reproduction's budget; drop --timesteps")
        unknown = sorted(set(self.settings) - set(SETTING))
        if unknown:
            raise ValueError(f"unknown env key(s) {unknown}; keys: {', '.join(SETTING)}")
        seeds = job.seeds[:QUICK_SEEDS] if job.quick else job.seeds
        return cells(seeds, [SETTING[k] for k in self.settings], self.modes)

    def grid(self, job: Reproduction) -> list[RunConfig]:
        return [c.config(job.out / "runs", job.quick) for c in self.cells(job)]

    def report(self, job: Reproduction, runs: list[dict[str, Any]], timing: Timing) -> Path:
        return self._write(job, self.cells(job), self.grid(job), runs, timing)

    def report_finished(self, job: Reproduction) -> Path:
        """The report from the grid's finished cells only (while the grid runs, or after it was stopped); it says how
        many of the grid's cells it holds."""
        from dogym.experiments.runner import is_finished, load_metrics

        done = [(c, cfg) for c, cfg in zip(self.cells(job), self.grid(job), strict=True) if is_finished(cfg)]
        if not done:
            raise ValueError(f"no finished cell of reproduce {NAME} in {job.out}")
        grid, configs = [c for c, _ in done], [cfg for _, cfg in done]
        timing = Timing(0.0, 0.0, len(self.cells(job)), 0, job.workers)
        return self._write(job, grid, configs, [load_metrics(cfg) for cfg in configs], timing)

    def _write(self, job: Reproduction, grid: list[Cell], configs: list[RunConfig], runs: list[dict[str, Any]],
               timing: Timing) -> Path:  # fmt: skip
        budgets = {c.setting: f"{cfg.timesteps} {family(cfg.spec.family).budget_unit}"
                   for c, cfg in zip(grid, configs, strict=True)}  # fmt: skip
        summary = {
            "command": job.command or f"python train.py reproduce {NAME}" + (" --quick" if job.quick else ""),
            "seeds": sorted({c.seed for c in grid}),
            "quick": job.quick,
            "modes": list(self.modes),
            "budgets": budgets,
            "learner": learner_settings(grid, configs),
            **invocation_timing(
                job.out, timing.cells, timing.cells_run, timing.workers, timing.wall_minutes, timing.cpu_minutes
            ),  # fmt: skip
            "cells_reported": len(grid),
            "grid_cells": timing.cells,
        }
        return write(job.out, grid, configs, runs, summary)


PAPER = UnknownGraph()

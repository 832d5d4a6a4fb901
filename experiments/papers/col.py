"""Reproduction of Hammar, Alpcan and Lupu, "Causal Online Learning of Safe Regions in Cloud Radio Access Networks":
Table II (edge example, scenarios 1 and 2: COL, CPO, PPO-Lagrangian), Fig. 6 (region evolution), Fig. 8 (ablations)
and Fig. 14 (synthetic cloud RAN: region size against unsafe interventions, with and without the causal prior), each
with the random-interventions-at-equal-cost baseline (`col-random`), and a Markdown report beside the paper's numbers
with every target and a met / missed verdict.

Grid (each cell is one run of the one grid runner under `out/runs/`, so a re-run skips finished cells):
- edge example (`EdgeSafeRegion-v0`, `EdgeSafeRegionNonStationary-v0`): `EDGE_AGENTS` x seeds, cost budget C = 20;
- synthetic RAN (`RANCpu-v0`, `RANSteering-v0`): `RAN_AGENTS` x the first `RAN_SEEDS` seeds, the paper's C = 100;
- safe RL (edge example): CPO and PPO-Lagrangian, trained by `benchmarks/col_rl.py` (hours) and read from its files;
- documented variants beside the paper's setting on scenario 1 (`VARIANTS`): the binary-outcome reading, 100 passive
  samples, C = 40.
Cells run cheapest first (the edge example, then the RAN, `workers` at a time); a re-run with every cell cached
rewrites the outputs from them. `--quick` runs 3 seeds (1 on the RAN, with smaller budgets, a 1000-window passive log
and a smaller prior) to check the pipeline.
"""

from __future__ import annotations

import json
import platform
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from dogym.agents.io import atomic_write_bytes, atomic_write_text, csv_text
from dogym.agents.protocol import NONNEGATIVE, UNIT_INTERVAL
from dogym.experiments.papers import Paper, Reproduction, Timing, col_rl
from dogym.experiments.readme import replace_block
from dogym.experiments.report import (
    INTERVAL_METHOD,
    Line,
    Panel,
    Target,
    count_text,
    figure,
    group,
    markdown_table,
    mean_std_text,
    metric_value,
    overlap,
    refuse_timesteps,
    section,
    seed_summary,
    separated_above,
    target,
    targets_table,
    values_text,
    write_outputs,
)
from dogym.experiments.runner import RunConfig

RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results"
#: Where `train.py reproduce col` writes by default; only this folder's results rewrite the README's COL block.
DEFAULT_OUT = RESULTS / "col"
#: The RL baselines' result folder, written by `benchmarks/col_rl.py` (hours of training; read, not run, here).
RL_RESULTS = DEFAULT_OUT / "rl"
#: `benchmarks/safe_region_speed.py`'s result (one COL S1 run's CPU time on one core).
SPEED_FILE = RESULTS / "safe_region_speed.json"
DEFAULT_SEEDS = tuple(range(10))
#: A fresh block of seeds no setting was chosen on (tuning used seeds 100-109: benchmarks/col_tuning.py).
FRESH_SEEDS = tuple(range(200, 210))
S1, S2 = "dogym/EdgeSafeRegion-v0", "dogym/EdgeSafeRegionNonStationary-v0"
RAN_CPU, RAN_STEERING = "dogym/RANCpu-v0", "dogym/RANSteering-v0"
SCENARIOS = {S1: "Scenario 1 (steady state)", S2: "Scenario 2 (non-stationary)"}
#: COL, the random baseline and the ablations of Fig. 8 on the edge example.
EDGE_AGENTS = ("col", "col-random", "col-no-prior", "col-no-safety", "col-no-cost")
#: The agents of the fresh seed block: the targets' COL and random baseline (the ablations run on the reported seeds).
FRESH_AGENTS = ("col", "col-random")
#: Fig. 14's configurations (the paper's three) and the random baseline on the synthetic RAN.
RAN_AGENTS = ("col", "col-no-prior", "col-no-safety", "col-random")
#: Documented variants beside the paper's setting, on scenario 1 and the reported seeds: label -> (agent,
#: hyper-parameter overrides, cost budget). The binary-outcome reading (one GP on the indicator of phi per
#: intervention, the previous default), COL with a 100-step passive phase (the paper's t0 is 10), and COL with twice
#: the paper's budget (how far the region grows when the budget is not what stops it).
VARIANTS = {"col-indicator": ("col", {"outcome": "indicator", "kernel": "matern52"}, 20),
            "col-t0-100": ("col", {"monitoring_steps": 100}, 20),
            "col-c40": ("col", {}, 40)}  # fmt: skip
#: Cost budgets C: the edge example's 20 and the testbed's 100 (section VIII-C); quick mode: smaller RAN budgets.
EDGE_BUDGET, RAN_BUDGET = 20, {RAN_CPU: 100, RAN_STEERING: 100}
QUICK_RAN_BUDGET = {RAN_CPU: 30, RAN_STEERING: 5}
#: How many of the seeds run the RAN cells (Fig. 14 has ten; the causal prior from 40 320 passive windows makes them
#: the slowest cells).
RAN_SEEDS = 10
QUICK_SEEDS = 3
#: Quick mode only: a small passive log and prior on the RAN (the full prior takes minutes per seed).
QUICK_RAN_HYPERPARAMS = {"monitoring_steps": 1_000, "prior_max_points": 40, "prior_max_condition": 80, "prior_rows": 8,
                         "prior_draws": 4}  # fmt: skip

#: COL's rows of the paper's Table II (mean, std over 10 seeds): unsafe interventions to converge and region size
#: (its CPO and PPO-Lagrangian rows are compared by `benchmarks/col_rl.py`'s experience reading instead).
PAPER_TABLE2 = {S1: ((6.10, 0.30), (0.48, 0.05)), S2: ((19.80, 2.41), (0.12, 0.04))}
#: The reproduction's targets.
TRUE_S1_SIZE, SIZE_TOLERANCE, S1_MAX_UNSAFE, S2_MAX_UNSAFE = 0.487, 0.05, 10, 30
#: A seed's estimate counts as "inside with tolerance" at this precision; S1 needs it in PRECISE_SEEDS of 10 seeds,
#: growth from the prior in GROWN_SEEDS of 10, S2 a mean precision of S2_PRECISION.
TOLERANT_PRECISION, PRECISE_SEEDS, GROWN_SEEDS, S2_PRECISION = 0.98, 8, 9, 0.9
RANDOM_FACTOR, STEERING_FACTOR, COL_SECONDS, QUICK_MINUTES = 3.0, 5.0, 2.0, 5
#: Fig. 8's findings: ablation -> (the claim, whether its unsafe interventions must lie above COL's (separated CIs) or
#: overlap them).
ABLATION_CLAIMS = {"col-no-prior": ("the causal prior cuts unsafe interventions (separated 95% CIs)", True),
                   "col-no-safety": ("dropping the safety constraint raises unsafe interventions (separated 95% CIs)",
                                     True),
                   "col-no-cost": ("the cost denominator has a minor effect (95% CIs overlap)", False)}  # fmt: skip
#: Fig. 8's bar groups: cumulative unsafe interventions after this many interventions (and at the end).
FIG8_STEPS = (3, 6, 9)
LABELS = {"col": "COL", "col-random": "random at equal cost", "col-no-prior": "COL without causal prior",
          "col-no-safety": "COL without safety constraint", "col-no-cost": "COL without cost denominator",
          "cpo": "CPO", "ppo-lagrangian": "PPO-Lagrangian",
          "col-indicator": "COL on the binary outcome (variant: outcome indicator)",
          "col-t0-100": "COL, 100 passive samples (variant; paper t0 = 10)",
          "col-c40": "COL with C = 40 (variant; paper C = 20)"}  # fmt: skip


# ---------------------------------------------------------------------------------------------------- grid
@dataclass(frozen=True)
class Plan:
    """The grid's seeds: the reported ones, the fresh block of the edge-example cells and the RAN's (quick mode also
    shrinks the RAN's budgets and prior)."""

    seeds: tuple[int, ...]
    fresh: tuple[int, ...]
    ran_seeds: tuple[int, ...]
    quick: bool

    @classmethod
    def of(cls, seeds: Sequence[int], quick: bool) -> Plan:
        """The plan for `seeds` (quick: the first 3 of them, no fresh block)."""
        seeds = tuple(int(s) for s in seeds)
        if not seeds:
            raise ValueError("reproduce col needs at least one seed")
        if quick:
            return cls(seeds[:QUICK_SEEDS], (), seeds[:1], True)
        return cls(seeds, tuple(s for s in FRESH_SEEDS if s not in seeds), seeds[:RAN_SEEDS], False)

    @property
    def ran_budget(self) -> dict[str, int]:
        """The cost budget of each RAN env."""
        return QUICK_RAN_BUDGET if self.quick else RAN_BUDGET


def configs(out: Path, plan: Plan) -> list[RunConfig]:
    """The grid in the order it runs: the edge-example cells (reported seeds, then COL and the random baseline on the
    fresh block, then the variants), then the RAN cells. The RL baselines train in `benchmarks/col_rl.py` (hours) and
    are read from its result files."""
    runs, ran_hyperparams = str(out / "runs"), QUICK_RAN_HYPERPARAMS if plan.quick else {}
    edge = [RunConfig(a, env, s, EDGE_BUDGET, eval_episodes=0, log_folder=runs)
            for block, agents in ((plan.seeds, EDGE_AGENTS), (plan.fresh, FRESH_AGENTS))
            for env in SCENARIOS for a in agents for s in block]  # fmt: skip
    edge += [RunConfig(agent, S1, s, budget, hyperparams=dict(overrides), eval_episodes=0, log_folder=runs,
                       label=label) for label, (agent, overrides, budget) in VARIANTS.items()
             for s in plan.seeds]  # fmt: skip
    return edge + [RunConfig(a, env, s, plan.ran_budget[env], hyperparams=dict(ran_hyperparams), eval_episodes=0,
                             log_folder=runs)
                   for env in (RAN_CPU, RAN_STEERING) for a in RAN_AGENTS for s in plan.ran_seeds]  # fmt: skip


# ---------------------------------------------------------------------------------------------------- numbers
#: The numbers the report reads from a run's metrics, by name ("phase/metric" keys).
METRICS = {"unsafe": "col/unsafe_interventions", "converge": "col/unsafe_to_converge", "size": "col/region_size",
           "interventions": "col/interventions", "cost": "col/cost_spent", "true_size": "truth/true_region_size",
           "inside": "truth/inside", "precision": "truth/precision", "recall": "truth/recall",
           "covered": "truth/covered", "unsafe_to_cover": "truth/unsafe_to_cover"}  # fmt: skip


def value(run: dict[str, Any], name: str) -> float:
    """A run's number by name: `METRICS`, or derived from its curves: initial_size (the prior's region), grew (1 when
    the region ended larger) and tolerant (1 when precision >= `TOLERANT_PRECISION`)."""
    sizes, precision = run["sizes"], metric_value(run, "truth/precision")
    derived = {"initial_size": sizes[0], "grew": sizes[-1] > sizes[0], "tolerant": precision >= TOLERANT_PRECISION}
    return float(derived[name]) if name in derived else metric_value(run, METRICS[name])


def unsafe_after(runs: Sequence[dict[str, Any]], k: int | None) -> np.ndarray:
    """Each run's cumulative unsafe interventions after `k` interventions (None or beyond its end: all)."""
    return np.array([len(r["outcomes"][:k]) - sum(r["outcomes"][:k]) for r in runs], dtype=float)


class Cells:
    """The runs by (agent label, env); called, a number's values over a cell's seeds."""

    def __init__(self, runs: Sequence[dict[str, Any]]) -> None:
        self.runs = group(runs, lambda r: (r["label"], r["env"]))

    def __call__(self, agent: str, env: str, name: str) -> np.ndarray:
        return np.array([value(r, name) for r in self.runs.get((agent, env), [])], dtype=float)


def in_block(runs: Sequence[dict[str, Any]], seeds: Sequence[int]) -> list[dict[str, Any]]:
    """The runs of a block of seeds."""
    return [r for r in runs if int(r["seed"]) in set(seeds)]


#: "mean [low, high]" of values over seeds (`INTERVAL_METHOD`), clipped to the range of a count (`ci`) or of a
#: region's size or precision, a share of the control box or of the estimate (`share`).
ci = partial(values_text, support=NONNEGATIVE)
share = partial(values_text, support=UNIT_INTERVAL)


# ---------------------------------------------------------------------------------------------------- targets
def targets(runs: Sequence[dict[str, Any]]) -> list[Target]:
    """The edge example's targets on one block of seeds, Fig. 8's findings (`ABLATION_CLAIMS`, on the seeds the
    ablations ran on) last."""
    v = Cells(runs)
    unsafe, rand, unsafe2 = v("col", S1, "unsafe"), v("col-random", S1, "unsafe"), v("col", S2, "unsafe")
    size, tolerant, grew, n = v("col", S1, "size"), v("col", S1, "tolerant"), v("col", S1, "grew"), len(unsafe)
    size2, true2, precision2 = v("col", S2, "size"), v("col", S2, "true_size"), v("col", S2, "precision")
    ratio, r_size = rand.mean() / max(unsafe.mean(), 1e-9), v("col-random", S1, "size")
    out = [
        target(f"S1: COL unsafe interventions <= {S1_MAX_UNSAFE}", f"{ci(unsafe, 1)} ({n} seeds)",
               unsafe.mean() <= S1_MAX_UNSAFE),
        target(f"S1: region size within {SIZE_TOLERANCE} of the true {TRUE_S1_SIZE}", share(size, 3),
               abs(size.mean() - TRUE_S1_SIZE) <= SIZE_TOLERANCE),
        target(f"S1: precision >= {TOLERANT_PRECISION} in >= {PRECISE_SEEDS}/10 seeds",
               f"{count_text(tolerant)} seeds (strict inside: {count_text(v('col', S1, 'inside'))})",
               tolerant.sum() >= PRECISE_SEEDS * n / 10),
        target(f"S1: the region grows from its prior in >= {GROWN_SEEDS}/10 seeds",
               f"{count_text(grew)} seeds ({share(v('col', S1, 'initial_size'), 3)} -> {share(size, 3)})",
               grew.sum() >= GROWN_SEEDS * n / 10),
        target(f"S1: COL spends >= {RANDOM_FACTOR:g}x fewer unsafe interventions than random at equal cost, and "
               "reaches a larger region (separated 95% CIs)",
               f"unsafe {ci(rand, 1)} vs {ci(unsafe, 1)} ({ratio:.1f}x); size {share(r_size, 3)} vs {share(size, 3)}",
               ratio >= RANDOM_FACTOR and separated_above(size, r_size, UNIT_INTERVAL)),
        target(f"S2: COL unsafe interventions <= {S2_MAX_UNSAFE}", ci(unsafe2, 1), unsafe2.mean() <= S2_MAX_UNSAFE),
        target(f"S2: size within {SIZE_TOLERANCE} of the true final region, precision >= {S2_PRECISION}",
               f"{share(size2, 3)} vs true {true2.mean():.3f} (paper 0.12); precision {share(precision2, 3)}",
               abs(size2.mean() - true2.mean()) <= SIZE_TOLERANCE and precision2.mean() >= S2_PRECISION),
    ]  # fmt: skip
    for env in SCENARIOS:
        col = v("col", env, "unsafe")
        for agent, (claim, above) in ABLATION_CLAIMS.items():
            other = v(agent, env, "unsafe")
            if len(other):
                met = separated_above(other, col, NONNEGATIVE) if above else overlap(other, col, NONNEGATIVE)
                out.append(target(f"{env.split('/')[1]} (Fig. 8): {claim}", f"{ci(other, 1)} vs COL {ci(col, 1)}", met))
    return out


def ran_targets(runs: Sequence[dict[str, Any]]) -> list[Target]:
    """Fig. 14's findings on the synthetic RAN."""
    v = Cells(runs)
    steer_col, steer_np = v("col", RAN_STEERING, "unsafe_to_cover"), v("col-no-prior", RAN_STEERING, "unsafe_to_cover")
    cpu_col, cpu_np = v("col", RAN_CPU, "unsafe"), v("col-no-prior", RAN_CPU, "unsafe")
    ratio, bound = steer_np.mean() / max(steer_col.mean(), 1.0), ">= " if steer_col.mean() < 1.0 else ""
    covered = [count_text(v(a, RAN_STEERING, "covered")) for a in ("col", "col-no-prior")]
    return [target("RANSteering: the causal prior cuts unsafe interventions (until the estimate covers 90% of the true "
                   f"region with precision >= 0.9) >= {STEERING_FACTOR:g}x",
                   f"without prior {ci(steer_np, 1)}, with {ci(steer_col, 1)}: {bound}{ratio:.1f}x (covered: with "
                   f"{covered[0]}, without {covered[1]} seeds; uncovered seeds count all their unsafe interventions, "
                   "a lower bound)", ratio >= STEERING_FACTOR),
            target("RANCpu: the causal prior has little effect (95% CIs of unsafe interventions overlap)",
                   f"without prior {ci(cpu_np, 1)}, with {ci(cpu_col, 1)}", overlap(cpu_col, cpu_np, NONNEGATIVE))]  # fmt: skip


def rl_targets(folder: Path = RL_RESULTS) -> list[Target]:
    """The RL target from `benchmarks/col_rl.py`'s summary: COL (and its C = 40 variant) spends >= 10x fewer unsafe
    interventions than each RL method until its region reaches 90% of the true size (experience reading)."""
    path = folder / "summary.json"
    summary = json.loads(path.read_text(encoding="utf-8"))["summary"] if path.exists() else []
    out = []
    for env in SCENARIOS if summary else ():
        for method in ("col", "col-c40"):
            result = col_rl.rl_target(summary, env, method=method)
            detail = result.get("why") or ", ".join(f"{LABELS.get(m, m)} >= {r:.0f}x"
                                                      for m, r in result.get("ratios_lower_bound", {}).items())  # fmt: skip
            if result["met"] is not None:
                out.append(target(f"{env.split('/')[1]}: {LABELS[method]} spends >= 10x fewer unsafe interventions "
                                  "than the RL baselines until 90% of the true region (RL: the region its experience "
                                  "certifies)", detail, result["met"]))  # fmt: skip
    return out


def speed_targets(speed_file: Path = SPEED_FILE) -> list[Target]:
    """One COL S1 run's CPU time (`benchmarks/safe_region_speed.py`'s file, one core)."""
    if not speed_file.exists():
        return []
    result = json.loads(speed_file.read_text(encoding="utf-8"))
    col, load = result["col_edge_budget20"], result["load_average"][0]
    return [target(f"Speed: one COL S1 run <= {COL_SECONDS:g} s",
                   f"median {col['median_cpu_seconds']:.2f} s CPU, {col['median_wall_seconds']:.2f} s wall "
                   f"(`{speed_file.name}`, load average {load:.1f})", col["median_cpu_seconds"] <= COL_SECONDS)]  # fmt: skip


def tagged(rows: Sequence[Sequence[str]], tag: str) -> list[Target]:
    """`rows` with their block's `tag` appended to each target."""
    return [Target(f"{name} [{tag}]", ours, verdict) for name, ours, verdict in rows]


# ---------------------------------------------------------------------------------------------------- tables
#: Table II's columns beyond scenario, method and seeds: CSV key -> (report header, number, digits of mean ± std, or
#: "count": seeds with the flag set).
TABLE2 = {"unsafe": ("unsafe interventions", "unsafe", 1), "unsafe_to_converge": ("unsafe to converge", "converge", 1),
          "initial_size": ("initial λ(Ŝ)", "initial_size", 2), "size": ("λ(Ŝ)", "size", 2),
          "true_size": ("true λ(S)", "true_size", 3), "precision": ("precision", "precision", 3),
          "recall": ("recall", "recall", 2), "inside": ("Ŝ ⊆ S (strict)", "inside", "count"),
          "tolerant": ("precision >= 0.98", "tolerant", "count"), "grew": ("grew", "grew", "count"),
          "interventions": ("interventions", "interventions", 1), "cost_spent": ("cost spent", "cost", 2)}  # fmt: skip


def table2(runs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Table II's COL rows (ours beside the paper's), per scenario and method, with the random baseline and the
    variants, and the region metrics: size, precision, recall, strict and tolerant inside counts, growth."""
    v, rows = Cells(runs), []
    for env in SCENARIOS:
        for agent in ("col", "col-random", *VARIANTS):
            seeds = len(v(agent, env, "unsafe"))
            if not seeds:
                continue
            paper = [f"{mean:g} ± {std:g}" for mean, std in PAPER_TABLE2[env]] if agent == "col" else ["-", "-"]
            cells = {column: count_text(x) if d == "count" else mean_std_text(x, d)
                     for column, (_, name, d) in TABLE2.items() for x in [v(agent, env, name)]}  # fmt: skip
            rows.append({"scenario": env, "method": agent, "seeds": seeds, **cells,
                         **dict(zip(("paper_unsafe", "paper_size"), paper, strict=True))})  # fmt: skip
    return rows


def fig8_tables(runs: Sequence[dict[str, Any]]) -> list[str]:
    """Fig. 8 as tables, one per scenario: each configuration's unsafe interventions after k interventions and in
    all, its region's size and precision, and its interventions (mean [95% CI] over seeds)."""
    v, lines = Cells(runs), []
    header = ("configuration", "seeds", *(f"unsafe after {k}" for k in FIG8_STEPS), "unsafe (all)", "λ(Ŝ)", "precision",
              "precision >= 0.98", "interventions")  # fmt: skip
    for env in SCENARIOS:
        body = [[LABELS[agent], len(mine), *(ci(unsafe_after(mine, k), 1) for k in FIG8_STEPS),
                 ci(v(agent, env, "unsafe"), 1), share(v(agent, env, "size")), share(v(agent, env, "precision"), 3),
                 count_text(v(agent, env, "tolerant")), ci(v(agent, env, "interventions"), 1)]
                for agent, mine in ablations(v, env).items()]  # fmt: skip
        lines += section(SCENARIOS[env], markdown_table(header, body), level=3)
    return lines


def fig14_table(runs: Sequence[dict[str, Any]]) -> list[str]:
    """Fig. 14 as a table, per RAN env and configuration: unsafe interventions (in all, and until the estimate covers
    90% of the true region), the seeds that covered it, the estimated and true region sizes, precision and
    interventions."""
    v = Cells(runs)
    body = [[env.split("/")[1], LABELS[agent], len(unsafe), ci(unsafe, 1), ci(v(agent, env, "unsafe_to_cover"), 1),
             count_text(v(agent, env, "covered")), share(v(agent, env, "size")),
             mean_std_text(v(agent, env, "true_size"), 3), share(v(agent, env, "precision"), 3),
             ci(v(agent, env, "interventions"), 1)]
            for env in (RAN_CPU, RAN_STEERING) for agent in RAN_AGENTS for unsafe in [v(agent, env, "unsafe")]
            if len(unsafe)]  # fmt: skip
    return markdown_table(("env", "configuration", "seeds", "unsafe", "unsafe to cover 90%", "covered", "λ(Ŝ)",
                           "true λ(S)", "precision", "interventions"), body)  # fmt: skip


# ---------------------------------------------------------------------------------------------------- figures
def ablations(v: Cells, env: str) -> dict[str, list[dict[str, Any]]]:
    """Fig. 8's configurations that ran on `env` (in `EDGE_AGENTS` order) and their runs."""
    return {agent: v.runs[(agent, env)] for agent in EDGE_AGENTS if (agent, env) in v.runs}


def plot_ablations(runs: Sequence[dict[str, Any]], path: Path) -> Path:
    """Fig. 8: bars = configurations, groups = cumulative unsafe interventions after k interventions (and at the
    end), 95% CIs (`INTERVAL_METHOD`), one panel per scenario."""
    groups, v, panels = [*FIG8_STEPS, None], Cells(runs), []
    for env in SCENARIOS:
        cells = ablations(v, env)
        width, bars = 0.8 / max(1, len(cells)), []
        for i, (agent, mine) in enumerate(cells.items()):
            stats = [seed_summary(unsafe_after(mine, k), NONNEGATIVE) for k in groups]
            err = np.array([[s["mean"] - s["mean_ci95"][0], s["mean_ci95"][1] - s["mean"]] for s in stats]).T
            bars.append(Line(np.arange(len(groups)) + i * width, [s["mean"] for s in stats], LABELS[agent], "bar",
                             err=err, width=width, style={"capsize": 2}))  # fmt: skip
        ticks = (np.arange(len(groups)) + 0.4 - width / 2, [f"after {k}" if k else "end" for k in groups])
        panels.append(Panel(bars, SCENARIOS[env], ylabel="unsafe interventions", xticks=ticks))
    return figure(panels, path, panel_size=(6, 3.6), dpi=110)


def plot_ran(runs: Sequence[dict[str, Any]], path: Path) -> Path:
    """Fig. 14: estimated region size against cumulative unsafe interventions, mean over seeds at each intervention
    count (runs that stopped earlier hold their last values), one panel per RAN env."""
    v, panels = Cells(runs), []
    for env in (RAN_CPU, RAN_STEERING):
        lines = []
        for i, agent in enumerate(RAN_AGENTS):
            mine = v.runs.get((agent, env), [])
            if mine:
                n = max(len(r["sizes"]) for r in mine)
                sizes = np.array([np.pad(r["sizes"], (0, n - len(r["sizes"])), mode="edge") for r in mine])
                unsafe = [unsafe_after(mine, k).mean() for k in range(n)]
                lines.append(Line(unsafe, sizes.mean(0), f"{LABELS[agent]} ({len(mine)} seeds)",
                                  band=(sizes.mean(0) - sizes.std(0), sizes.mean(0) + sizes.std(0)), band_alpha=0.15,
                                  style={"color": f"C{i}"}))  # fmt: skip
        panels.append(Panel(lines, env, "unsafe interventions", "estimated region size (fraction of the box)",
                            grid=True))  # fmt: skip
    return figure(panels, path, panel_size=(5.5, 3.8), dpi=110)


# ---------------------------------------------------------------------------------------------------- report
def report(runs: Sequence[dict[str, Any]], plan: Plan, wall: float, command: str,
           rl_lines: Sequence[str] = ()) -> tuple[str, list[Target]]:  # fmt: skip
    """The Markdown report (see the module docstring), and every target for targets.json: the same targets, tagged
    by block ("reported", "fresh"), without the quick run's wall time."""
    blocks = [(f"seeds {plan.seeds[0]}-{plan.seeds[-1]}", "reported", in_block(runs, plan.seeds))]
    if in_block(runs, plan.fresh):
        blocks.append((f"fresh seeds {plan.fresh[0]}-{plan.fresh[-1]}", "fresh", in_block(runs, plan.fresh)))
    found = [(name, tag, targets(block)) for name, tag, block in blocks]
    others = {"Fig. 14 targets (synthetic RAN)": ran_targets(runs),
              "RL target (from `benchmarks/col_rl.py`)": rl_targets(), "Speed targets": speed_targets()}  # fmt: skip
    every = [t for _, tag, rows in found for t in tagged(rows, tag)]
    every += [t for rows in others.values() for t in rows]
    if plan.quick and wall:
        others["Speed targets"] = [*others["Speed targets"], target(
            f"Speed: reproduce col --quick <= {QUICK_MINUTES} min", f"{wall / 60:.1f} min wall",
            wall <= QUICK_MINUTES * 60)]  # fmt: skip
    lines = [
        '# Hammar, Alpcan and Lupu, "Causal Online Learning of Safe Regions": Table II, Figs. 6, 8, 14',
        "",
        f"Command: `{command}`. COL, its ablations and the random baseline on the edge example (C = {EDGE_BUDGET}) "
        f"on the reported seeds {list(plan.seeds)}"
        + (f" and on a fresh block {list(plan.fresh)} that no setting was chosen on" if plan.fresh else "")
        + f"; seeds {list(plan.ran_seeds)} on the synthetic RAN (C = {plan.ran_budget[RAN_CPU]} on RANCpu, "
        f"{plan.ran_budget[RAN_STEERING]} on RANSteering). Settings were chosen on seeds 100-109 only "
        "(`benchmarks/col_tuning.py`, results in `benchmarks/results/col_tuning*.md`). "
        + (f"Wall time of this invocation {wall / 60:.1f} min " if wall else "Outputs rewritten from cached cells ")
        + f"({platform.machine()}, one thread per run; run times are in each run's metrics.json).",
        "",
        "COL reads the specification's metrics (the default `outcome: metric`): the GP-SCM of the response time "
        "(the RAN: throughput, power, jitter) is fitted on the passive data (the causal prior, eqs. 3-4) and "
        "conditioned on every intervention window, its hyper-parameters refitted by marginal likelihood under "
        "BoTorch's default priors; P(phi | do(u)) comes from the metric posteriors and their noise, and the safe set "
        "is its lower confidence bound at alpha (eq. 6; eq. 7 unchanged). The binary-outcome reading is the variant "
        "`col-indicator`.",
        "",
        f"Intervals: {INTERVAL_METHOD} (`dogym.experiments.report.mean_interval`), "
        'written mean [low, high]; plain cells are mean ± std. "paper" columns are printed '
        "in the paper's Table II. Unsafe interventions are every intervention whose window violated the "
        "specification. Estimates are scored against the true region of the intervention they would make next "
        "(evaluation only): precision (share of the estimate inside the truth), recall (share of the truth "
        "covered), strict inside (no grid point outside) and inside with tolerance (precision >= 0.98).",
        "",
    ]
    for title, rows in [*((f"Targets ({name})", tagged(rows, name)) for name, _, rows in found), *others.items()]:
        lines += section(title, targets_table(rows))
    header = ("scenario", "method", "seeds", *(h for h, _, _ in TABLE2.values()), "paper unsafe", "paper λ(Ŝ)")
    for name, _, block in blocks:
        rows = [[SCENARIOS[r["scenario"]], LABELS[r["method"]], *list(r.values())[2:]] for r in table2(block)]
        lines += section(f"Table II: COL on the edge example ({name})", markdown_table(header, rows))
    lines += [
        '"Unsafe to converge" counts unsafe interventions until the region size changed by < 0.01 over 3 '
        "consecutive interventions. The random baseline draws interventions uniformly over the control box "
        "under the same budget and stop rule, and estimates the region with COL's estimator on their outcomes.",
        "",
        *rl_lines,
        *section(f"Fig. 6: region evolution (seed {plan.seeds[0]}; true region red, estimate blue at alpha = 0.8, "
                 "0.85, 0.9, 0.95)", "![Scenario 1](fig6_s1.png)", "![Scenario 2](fig6_s2.png)"),
    ]  # fmt: skip
    for name, _, block in blocks:
        lines += section(f"Fig. 8: ablations ({name}; mean [95% CI] over seeds)") + fig8_tables(block)
    provisional = [f"The RAN cells ran on {len(plan.ran_seeds)} seeds (fewer than the 10 of the headline comparisons), "
                   "so these intervals and verdicts are provisional."] if len(plan.ran_seeds) < 10 else []  # fmt: skip
    lines += ["![Fig. 8](fig8_ablations.png)", "", *section(
        "Fig. 14: synthetic cloud RAN (mean [95% CI])",
        "The paper's testbed (section VIII) is replaced by dogym's synthetic 4-DU / 2-CU simulator "
        "(`dogym.envs.safe_region.ran`, calibration in `benchmarks/results/ran_calibration.md`); the paper's "
        "curves are testbed measurements, so only their direction is compared: little effect of the prior on "
        "RANCpu, ~10x on RANSteering. \"Unsafe to cover\" counts unsafe interventions until the estimate "
        "covers 90% of the true region with at least 90% of itself inside it (a seed that never does counts "
        "all of its unsafe interventions).", *provisional, fig14_table(runs), "![Fig. 14](fig14_ran.png)")]  # fmt: skip
    return "\n".join(lines), every


def rl_section(folder: Path) -> list[str]:
    """The safe-RL section from `benchmarks/col_rl.py`'s report (its headings one level down, its learning-curve
    figure linked), or a line saying it has not run."""
    source = folder / "report.md"
    if not source.exists():
        return section("Safe RL baselines", f"Not run yet: `python benchmarks/col_rl.py` writes {folder}.")
    lines = ["#" + line if line.startswith("#") else line for line in source.read_text(encoding="utf-8").splitlines()]
    if (folder / "learning_curve.png").exists():
        lines += ["", f"![Safe-RL learning curves]({folder.name}/learning_curve.png)"]
    return [*lines, ""]


def readme_block(every: Sequence[Sequence[str]]) -> str:
    """The README's COL block: every target with ours and the verdict (from `targets.json`)."""
    return "\n".join(targets_table([[t.replace("|", "/"), o.replace("|", "/"), v] for t, o, v in every]))


def write(out: Path, configs: Sequence[RunConfig], runs: list[dict[str, Any]], plan: Plan, wall: float,
          command: str) -> Path:  # fmt: skip
    """Every output from the runs: results.csv, curves.csv, summary.json, table2.csv, the figures, targets.json and
    report.md (with the RL section from `benchmarks/col_rl.py`'s files, when they exist)."""
    write_outputs(configs, runs, out, "Hammar, Alpcan and Lupu: COL")
    reported = in_block(runs, plan.seeds)
    atomic_write_text(out / "table2.csv", csv_text(table2(reported)))
    plot_ablations(reported, out / "fig8_ablations.png")
    plot_ran(runs, out / "fig14_ran.png")
    for env, name in ((S1, "fig6_s1.png"), (S2, "fig6_s2.png")):  # Fig. 6: the first reported seed's COL run
        run_dir = next(c.run_dir for c in configs if c.label == "col" and c.env == env and c.seed == plan.seeds[0])
        atomic_write_bytes(out / name, (run_dir / "region_evolution.png").read_bytes())
    text, every = report(runs, plan, wall, command, rl_section(RL_RESULTS))
    atomic_write_text(out / "targets.json", json.dumps(every, indent=1))
    if out.resolve() == DEFAULT_OUT and not plan.quick:
        replace_block("col", readme_block(every))
    return atomic_write_text(out / "report.md", text)


class COL(Paper):
    """`train.py reproduce col` at the paper's budgets (the RL baselines train in `benchmarks/col_rl.py`)."""

    name = "col"
    seeds = DEFAULT_SEEDS

    def grid(self, job: Reproduction) -> list[RunConfig]:
        refuse_timesteps(job, "col runs COL at the paper's budgets; the RL baselines train in benchmarks/col_rl.py "
                         "(--timesteps there)")  # fmt: skip
        return configs(job.out, Plan.of(job.seeds, job.quick))

    def report(self, job: Reproduction, runs: list[dict[str, Any]], timing: Timing) -> Path:
        wall = timing.wall_minutes * 60 if timing.cells_run else 0.0  # 0: every cell came from the cache
        return write(job.out, self.grid(job), runs, Plan.of(job.seeds, job.quick), wall, job.command)


PAPER = COL()

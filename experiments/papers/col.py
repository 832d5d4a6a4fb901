"""Reproduction of Hammar, Alpcan and Lupu, "Causal Online Learning of Safe Regions in Cloud Radio Access Networks":
Table II (edge example, scenarios 1 and 2: COL, CPO, PPO-Lagrangian), Fig. 6 (region evolution), Fig. 8 (ablations)
and Fig. 14 (synthetic cloud RAN: region size against unsafe interventions, with and without the causal prior), each
with the random-interventions-at-equal-cost baseline (`col-random`), and a Markdown report beside the paper's numbers
with every target of SPEC section 7 and a met / missed verdict.

Grid (each cell is one run of the one grid runner under `out/runs/`, so a re-run skips finished cells):
- edge example (`EdgeSafeRegion-v0`, `EdgeSafeRegionNonStationary-v0`): `EDGE_AGENTS` x seeds, cost budget C = 20;
- synthetic RAN (`RANCpu-v0`, `RANSteering-v0`): `RAN_AGENTS` x the first `RAN_SEEDS` seeds, the paper's C = 100;
- safe RL (edge example): CPO and PPO-Lagrangian x the first `RL_SEEDS` seeds, `RL_STEPS` env steps each;
- a documented variant beside the paper's setting (`VARIANTS`): COL on scenario 1 with 100 passive samples.
Cells run cheapest first (COL, then RAN, then the RL runs, `workers` at a time), and the report is rewritten after
every stage, so an interrupted reproduction still reports what finished. `--quick` runs 3 seeds (1 on the RAN, with
smaller budgets, a 1000-window passive log and a smaller prior) and 4000 RL steps (two updates of 2000 steps) to check
the pipeline.
"""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dogym.experiments.grid import run_grid
from dogym.experiments.io import atomic_save_figure, atomic_write_bytes, atomic_write_text, csv_text
from dogym.experiments.report import bootstrap_summary, write_outputs
from dogym.experiments.runner import RunConfig, is_finished, load_metrics

DESCRIPTION = 'Hammar, Alpcan and Lupu, "Causal Online Learning of Safe Regions": Table II and Figs. 6, 8, 14'
DEFAULT_SEEDS = tuple(range(10))
S1, S2 = "dogym/EdgeSafeRegion-v0", "dogym/EdgeSafeRegionNonStationary-v0"
RAN_CPU, RAN_STEERING = "dogym/RANCpu-v0", "dogym/RANSteering-v0"
SCENARIOS = {S1: "Scenario 1 (steady state)", S2: "Scenario 2 (non-stationary)"}
#: COL, the random baseline and the ablations of Fig. 8 on the edge example.
EDGE_AGENTS = ("col", "col-random", "col-no-prior", "col-no-safety", "col-no-cost")
#: Fig. 14's configurations (the paper's three) and the random baseline on the synthetic RAN.
RAN_AGENTS = ("col", "col-no-prior", "col-no-safety", "col-random")
RL_AGENTS = ("cpo", "ppo-lagrangian")
#: A documented variant, not the paper's setting: COL with a 100-step passive phase on scenario 1 (the paper's t0 is
#: 10). `benchmarks/col_tuning.py` on seeds 100-109 showed the 10-sample causal prior to be what limits the region.
#: Label -> (agent, hyper-parameter overrides).
VARIANTS = {"col-t0-100": ("col", {"monitoring_steps": 100})}
#: Cost budgets C: the edge example's 20 and the testbed's 100 (section VIII-C); quick mode: smaller RAN budgets.
EDGE_BUDGET, RAN_BUDGET = 20, {RAN_CPU: 100, RAN_STEERING: 100}
QUICK_RAN_BUDGET = {RAN_CPU: 30, RAN_STEERING: 5}
#: Env steps per RL run (SPEC: at least 2e5; the paper's OmniSafe default is 1e7) and how many of the seeds run RL
#: (all ten, as Table II): one 2e5-step run took 6-28 CPU-minutes on this machine (median 7-15 by agent and
#: scenario), 7.1 CPU-hours for the 40 runs, measured. They run last on `workers` processes, and the report is rewritten
#: after each run, so an interrupted reproduction reports the seeds that finished and a re-run resumes the rest.
RL_STEPS, RL_SEEDS = 200_000, 10
#: How many of the seeds run the RAN cells (all ten, as Fig. 14): the causal prior from 40 320 passive windows takes
#: ~2 CPU-minutes per seed on RANCpu (shared by the agents of a seed within one process), and RANSteering at C = 100
#: is 1000 interventions per run: ~5-10 CPU-minutes per seed in all.
RAN_SEEDS = 10
QUICK_SEEDS, QUICK_RL_STEPS, QUICK_RL_HYPERPARAMS = 3, 4_000, {"n_steps": 2_000}
#: Quick mode only: a small passive log and prior on the RAN (the full prior takes minutes per seed).
QUICK_RAN_HYPERPARAMS = {"monitoring_steps": 1_000, "prior_max_points": 40, "prior_max_condition": 80, "prior_rows": 8,
                         "prior_draws": 4}  # fmt: skip

#: Table II of the paper (mean, std over 10 seeds): unsafe interventions to converge and region size.
PAPER_TABLE2 = {
    (S1, "col"): ((6.10, 0.30), (0.48, 0.05)),
    (S1, "cpo"): ((60342.33, 81.12), (0.01, 0.01)),
    (S1, "ppo-lagrangian"): ((63271.76, 104.77), (0.01, 0.01)),
    (S2, "col"): ((19.80, 2.41), (0.12, 0.04)),
    (S2, "cpo"): ((23412.41, 89.24), (0.01, 0.00)),
    (S2, "ppo-lagrangian"): ((64292.61, 1292.92), (0.01, 0.00)),
}
#: SPEC section 7's targets.
TRUE_S1_SIZE, SIZE_TOLERANCE, S1_MAX_UNSAFE, S2_MAX_UNSAFE, INSIDE_FRACTION = 0.487, 0.05, 10, 30, 0.8
RL_FACTOR, STEERING_FACTOR = 100.0, 5.0
#: Fig. 8's bar groups: cumulative unsafe interventions after this many interventions (and at the end).
FIG8_STEPS = (3, 6, 9)
LABELS = {"col": "COL", "col-random": "random at equal cost", "col-no-prior": "COL without causal prior",
          "col-no-safety": "COL without safety constraint", "col-no-cost": "COL without cost denominator",
          "cpo": "CPO", "ppo-lagrangian": "PPO-Lagrangian",
          "col-t0-100": "COL, 100 passive samples (variant; paper t0 = 10)"}  # fmt: skip


@dataclass(frozen=True)
class Plan:
    """The grid's sizes: seeds of the COL cells, of the RAN cells and of the RL cells, and the budgets."""

    seeds: tuple[int, ...]
    ran_seeds: tuple[int, ...]
    rl_seeds: tuple[int, ...]
    rl_steps: int
    ran_budget: dict[str, int]
    rl_hyperparams: dict[str, Any]
    ran_hyperparams: dict[str, Any]
    quick: bool

    @classmethod
    def of(cls, seeds: Sequence[int], quick: bool, rl_steps: int | None) -> Plan:
        """The plan for `seeds` (quick: the first 3 of them, small budgets); `rl_steps` overrides the RL budget."""
        seeds = tuple(int(s) for s in seeds)
        if not seeds:
            raise ValueError("reproduce col needs at least one seed")
        if quick:
            seeds = seeds[:QUICK_SEEDS]
            return cls(seeds, seeds[:1], seeds[:1], rl_steps or QUICK_RL_STEPS, dict(QUICK_RAN_BUDGET),
                       dict(QUICK_RL_HYPERPARAMS), dict(QUICK_RAN_HYPERPARAMS), True)  # fmt: skip
        return cls(seeds, seeds[:RAN_SEEDS], seeds[:RL_SEEDS], rl_steps or RL_STEPS, dict(RAN_BUDGET), {}, {}, False)


def stages(out: Path, plan: Plan, eval_episodes: int) -> list[list[RunConfig]]:
    """The grid in the order it runs: the edge-example COL cells, the RAN cells, then the RL cells (seed by seed, so
    a partial report has every baseline on the first seeds)."""
    runs = str(out / "runs")
    edge = [RunConfig(a, env, s, EDGE_BUDGET, eval_episodes=0, log_folder=runs)
            for env in SCENARIOS for a in EDGE_AGENTS for s in plan.seeds]  # fmt: skip
    edge += [RunConfig(agent, S1, s, EDGE_BUDGET, hyperparams=dict(overrides), eval_episodes=0, log_folder=runs,
                       label=label) for label, (agent, overrides) in VARIANTS.items() for s in plan.seeds]  # fmt: skip
    ran = [RunConfig(a, env, s, plan.ran_budget[env], hyperparams=dict(plan.ran_hyperparams), eval_episodes=0,
                     log_folder=runs)
           for env in (RAN_CPU, RAN_STEERING) for a in RAN_AGENTS for s in plan.ran_seeds]  # fmt: skip
    rl = [RunConfig(a, env, s, plan.rl_steps, hyperparams=dict(plan.rl_hyperparams), eval_episodes=eval_episodes,
                    log_folder=runs) for s in plan.rl_seeds for env in SCENARIOS for a in RL_AGENTS]  # fmt: skip
    return [edge, ran, rl]


# ---------------------------------------------------------------------------------------------------- metrics
def _value(run: dict[str, Any], key: str) -> float | None:
    """A run's metric by name, whichever family ran it."""
    paths = {
        "unsafe": (("col", "unsafe_interventions"), ("safe_rl", "unsafe_interventions")),
        "converge": (("col", "unsafe_to_converge"),),
        "size": (("col", "region_size"), ("region", "region_size")),
        "true_size": (("truth", "true_region_size"),),
        "inside": (("truth", "inside"),),
        "outside": (("truth", "outside_fraction"),),
        "precision": (("truth", "precision"),),
        "recall": (("truth", "recall"),),
        "interventions": (("col", "interventions"),),
        "cost": (("col", "cost_spent"),),
        "steps": (("timesteps",),),
    }
    for path in paths[key]:
        node: Any = run
        for part in path:
            node = node.get(part) if isinstance(node, dict) else None
        if node is not None:
            return float(node)
    return None


def _values(runs: Sequence[dict[str, Any]], agent: str, env: str, key: str) -> np.ndarray:
    got = [_value(r, key) for r in runs if r["label"] == agent and r["env"] == env]
    return np.array([v for v in got if v is not None], dtype=float)


def unsafe_after(run: dict[str, Any], k: int | None) -> int:
    """Cumulative unsafe interventions of a COL-family run after `k` interventions (None or beyond its end: all)."""
    outcomes = np.asarray(run["outcomes"], dtype=int)
    return int(len(outcomes[:k]) - outcomes[:k].sum())


def _ms(values: np.ndarray, digits: int = 2) -> str:
    return "-" if not len(values) else f"{values.mean():.{digits}f} ± {values.std():.{digits}f}"


def _ci(values: np.ndarray, digits: int = 2) -> str:
    if not len(values):
        return "-"
    stats = bootstrap_summary(values)
    low, high = stats["mean_ci95"]
    return f"{stats['mean']:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def _interval(values: np.ndarray) -> tuple[float, float]:
    return tuple(bootstrap_summary(values)["mean_ci95"]) if len(values) else (np.nan, np.nan)


def _verdict(met: bool | None) -> str:
    return "-" if met is None else ("met" if met else "**missed**")


# ---------------------------------------------------------------------------------------------------- report
def table2(runs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Table II's rows (ours beside the paper's), per scenario and method, with the random baseline."""
    rows = []
    for env in SCENARIOS:
        for agent in ("col", "col-random", *VARIANTS, *RL_AGENTS):
            unsafe = _values(runs, agent, env, "unsafe")
            if not len(unsafe):
                continue
            paper = PAPER_TABLE2.get((env, agent))
            size, inside = _values(runs, agent, env, "size"), _values(runs, agent, env, "inside")
            rows.append({
                "scenario": env, "method": agent, "seeds": len(unsafe), "unsafe": _ms(unsafe, 1),
                "unsafe_to_converge": _ms(_values(runs, agent, env, "converge"), 1), "size": _ms(size),
                "true_size": _ms(_values(runs, agent, env, "true_size"), 3),
                "inside": f"{int(inside.sum())}/{len(inside)}",
                "outside": _ms(_values(runs, agent, env, "outside"), 3),
                "precision": _ms(_values(runs, agent, env, "precision")),
                "recall": _ms(_values(runs, agent, env, "recall")),
                "interventions": _ms(_values(runs, agent, env, "interventions"), 1) if agent.startswith("col")
                else f"{_values(runs, agent, env, 'steps').mean():.0f} env steps",
                "cost_spent": _ms(_values(runs, agent, env, "cost")),
                "paper_unsafe": f"{paper[0][0]:g} ± {paper[0][1]:g}" if paper else "-",
                "paper_size": f"{paper[1][0]:g} ± {paper[1][1]:g}" if paper else "-",
            })  # fmt: skip
    return rows


def targets(runs: Sequence[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """Every target of SPEC section 7 for this paper: (target, ours, verdict)."""
    out = []

    def mean(agent: str, env: str, key: str) -> float | None:
        values = _values(runs, agent, env, key)
        return float(values.mean()) if len(values) else None

    u1, z1, inside1 = mean("col", S1, "unsafe"), mean("col", S1, "size"), _values(runs, "col", S1, "inside")
    if u1 is not None:
        out.append(
            ("S1: COL unsafe interventions <= 10", f"{u1:.1f} (mean of {len(inside1)} seeds)", _verdict(u1 <= 10))
        )
        out.append((f"S1: region size within {SIZE_TOLERANCE} of the true {TRUE_S1_SIZE}", f"{z1:.3f}",
                    _verdict(abs(z1 - TRUE_S1_SIZE) <= SIZE_TOLERANCE)))  # fmt: skip
        frac = float(inside1.mean())
        out.append(("S1: estimate inside the true region in >= 80% of seeds",
                    f"{int(inside1.sum())}/{len(inside1)} seeds", _verdict(frac >= INSIDE_FRACTION)))  # fmt: skip
    for label in VARIANTS:
        inside = _values(runs, label, S1, "inside")
        if len(inside):
            out.append((f"(not a target) S1 with the variant {LABELS[label]}: unsafe / size / inside",
                        f"{mean(label, S1, 'unsafe'):.1f} / {mean(label, S1, 'size'):.3f} / "
                        f"{int(inside.sum())}/{len(inside)} seeds", "variant"))  # fmt: skip
    u2, z2, t2 = mean("col", S2, "unsafe"), mean("col", S2, "size"), mean("col", S2, "true_size")
    if u2 is not None:
        out.append(("S2: COL unsafe interventions <= 30", f"{u2:.1f}", _verdict(u2 <= S2_MAX_UNSAFE)))
        paper_ok, truth_ok = abs(z2 - 0.12) <= SIZE_TOLERANCE, abs(z2 - t2) <= SIZE_TOLERANCE
        which = "the true final region" if truth_ok else "the paper's 0.12" if paper_ok else "neither"
        precision = mean("col", S2, "precision")
        out.append(("S2: size within 0.05 of the paper's 0.12 or of the true final region (the true region at the "
                     "time of the next intervention: what the estimate claims)",
                     f"{z2:.3f} (paper 0.12; true final {t2:.3f}); met against {which}; sizes only: the estimate's "
                     f"precision against the true final region is {precision:.2f}",
                     _verdict(paper_ok or truth_ok)))  # fmt: skip
    for env in SCENARIOS:
        col = mean("col", env, "unsafe")
        for agent in RL_AGENTS:
            rl = mean(agent, env, "unsafe")
            if col is not None and rl is not None:
                ratio = rl / max(col, 1e-9)
                out.append((f"{env.split('/')[1]}: {LABELS[agent]} >= 100x COL's unsafe interventions",
                            f"{rl:.0f} vs {col:.1f} ({ratio:.0f}x; {len(_values(runs, agent, env, 'unsafe'))} "
                            f"seed(s) at {mean(agent, env, 'steps'):.0f} env steps)", _verdict(ratio >= RL_FACTOR)))  # fmt: skip
    for env in SCENARIOS:
        for line in ablation_verdicts(runs, env):
            out.append(line)
    steer_col, steer_np = _values(runs, "col", RAN_STEERING, "unsafe"), _values(runs, "col-no-prior", RAN_STEERING,
                                                                                  "unsafe")  # fmt: skip
    if len(steer_col) and len(steer_np):
        ratio = steer_np.mean() / max(steer_col.mean(), 1e-9)
        out.append(("RANSteering: the causal prior cuts unsafe interventions >= 5x",
                    f"without prior {steer_np.mean():.1f}, with {steer_col.mean():.1f}: {ratio:.1f}x "
                    f"({len(steer_col)} seeds)", _verdict(ratio >= STEERING_FACTOR)))  # fmt: skip
    cpu_col, cpu_np = _values(runs, "col", RAN_CPU, "unsafe"), _values(runs, "col-no-prior", RAN_CPU, "unsafe")
    if len(cpu_col) and len(cpu_np):
        a, b = _interval(cpu_col), _interval(cpu_np)
        overlap = a[0] <= b[1] and b[0] <= a[1]
        out.append(("RANCpu: the causal prior has little effect (95% CIs of unsafe interventions overlap)",
                    f"without prior {_ci(cpu_np, 1)}, with {_ci(cpu_col, 1)}", _verdict(overlap)))  # fmt: skip
    return out


def ablation_verdicts(runs: Sequence[dict[str, Any]], env: str) -> list[tuple[str, str, str]]:
    """Fig. 8's findings on one scenario: the prior cuts unsafe interventions, dropping the safety constraint raises
    them (each: means in the paper's direction with separated 95% CIs), dropping the cost denominator changes little
    (CIs overlap)."""
    col = _values(runs, "col", env, "unsafe")
    if not len(col):
        return []
    lo, hi = _interval(col)
    out = []
    name = env.split("/")[1]
    for agent, claim in (("col-no-prior", "the causal prior cuts unsafe interventions"),
                         ("col-no-safety", "dropping the safety constraint raises unsafe interventions")):  # fmt: skip
        other = _values(runs, agent, env, "unsafe")
        if len(other):
            o_lo, _ = _interval(other)
            out.append((f"{name} (Fig. 8): {claim} (separated 95% CIs)", f"{_ci(other, 1)} vs COL {_ci(col, 1)}",
                        _verdict(bool(o_lo > hi))))  # fmt: skip
    other = _values(runs, "col-no-cost", env, "unsafe")
    if len(other):
        o_lo, o_hi = _interval(other)
        out.append((f"{name} (Fig. 8): the cost denominator has a minor effect (95% CIs overlap)",
                    f"{_ci(other, 1)} vs COL {_ci(col, 1)}", _verdict(bool(o_lo <= hi and lo <= o_hi))))  # fmt: skip
    return out


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + [
        "| " + " | ".join(str(c) for c in row) + " |" for row in rows
    ]


def report(runs: Sequence[dict[str, Any]], plan: Plan, wall: float, command: str, pending: int) -> str:
    """The Markdown report (see the module docstring)."""
    rl_steps = sorted({int(_value(r, "steps") or 0) for r in runs if r["label"] in RL_AGENTS})
    lines = [
        '# Hammar, Alpcan and Lupu, "Causal Online Learning of Safe Regions": Table II, Figs. 6, 8, 14',
        "",
        f"Command: `{command}`. COL, its ablations and the random baseline: seeds {list(plan.seeds)} on the edge "
        f"example (C = {EDGE_BUDGET}), seeds {list(plan.ran_seeds)} on the synthetic RAN (C = "
        f"{plan.ran_budget[RAN_CPU]} on RANCpu, {plan.ran_budget[RAN_STEERING]} on RANSteering). CPO and "
        f"PPO-Lagrangian: seeds {list(plan.rl_seeds)}, {plan.rl_steps} env steps per run (OmniSafe's defaults, "
        f"{plan.rl_hyperparams.get('n_steps', 20_000)} steps per update; the paper trained for OmniSafe's 1e7). "
        + (f"Wall time of this invocation {wall / 60:.1f} min " if wall else "Outputs rewritten from cached cells ")
        + f"({platform.machine()}, one thread per run; run times are in each run's metrics.json)."
        + (f" **{pending} cells have not run yet: this report is partial.**" if pending else ""),
        "",
        'Numbers are mean ± std over seeds unless marked [95% bootstrap CI]. "paper" columns are printed in the '
        "paper's Table II. Unsafe interventions are every intervention whose window violated the specification "
        "(for the RL baselines: every training step with info cost 1). COL's region estimate is scored against the "
        "true region of the intervention it would make next (evaluation only).",
        "",
        "## Targets (SPEC section 7)",
        "",
        *_table(("target", "ours", "verdict"), targets(runs)),
        "",
        "## Table II (edge example)",
        "",
    ]
    rows = table2(runs)
    header = ("scenario", "method", "seeds", "unsafe interventions", "unsafe to converge", "λ(Ŝ)", "true λ(S)",
              "Ŝ ⊆ S", "Ŝ outside S", "precision", "recall", "interventions", "cost spent", "paper unsafe",
              "paper λ(Ŝ)")  # fmt: skip
    lines += _table(header, [[SCENARIOS[r["scenario"]], LABELS[r["method"]]] + list(r.values())[2:] for r in rows])
    lines += [
        "",
        '"Ŝ ⊆ S": seeds whose estimate has no grid point outside the true region; "Ŝ outside S": the fraction of the '
        'estimate outside it. "Unsafe to converge" counts unsafe interventions until the region size changed by < 0.01 over 3 consecutive '
        'interventions (notes D.8). The RL region is the one "inferred from the control policy": the 10 x 10 grid '
        "cells the final deterministic policy visits (one cell = 0.01). The random baseline draws interventions "
        "uniformly over the control box under the same budget and stop rule, and estimates the region with COL's "
        f"estimator (prior, GP posterior, eq. 6) on their outcomes. RL env steps: {rl_steps or '-'}.",
        "",
        "## Fig. 6: region evolution (seed "
        f"{plan.seeds[0]}; true region red, estimate blue at alpha = 0.8, 0.85, 0.9, 0.95)",
        "",
        "![Scenario 1](fig6_s1.png)",
        "",
        "![Scenario 2](fig6_s2.png)",
        "",
        "## Fig. 8: ablations (mean [95% bootstrap CI] over seeds)",
        "",
    ]
    for env in SCENARIOS:
        lines += [f"### {SCENARIOS[env]}", ""]
        body = []
        for agent in EDGE_AGENTS:
            mine = [r for r in runs if r["label"] == agent and r["env"] == env]
            if not mine:
                continue
            steps = [_ci(np.array([unsafe_after(r, k) for r in mine], float), 1) for k in FIG8_STEPS]
            inside = _values(runs, agent, env, "inside")
            body.append([LABELS[agent], len(mine), *steps, _ci(_values(runs, agent, env, "unsafe"), 1),
                         _ci(_values(runs, agent, env, "size")), f"{int(inside.sum())}/{len(inside)}",
                         _ci(_values(runs, agent, env, "interventions"), 1)])  # fmt: skip
        lines += _table(("configuration", "seeds", *(f"unsafe after {k}" for k in FIG8_STEPS), "unsafe (all)",
                         "λ(Ŝ)", "Ŝ ⊆ S", "interventions"), body)  # fmt: skip
        lines.append("")
    lines += ["![Fig. 8](fig8_ablations.png)", "", "## Fig. 14: synthetic cloud RAN (mean [95% bootstrap CI])", "",
              "The paper's testbed (section VIII) is replaced by dogym's synthetic 4-DU / 2-CU simulator "
              "(`dogym.envs.safe_region.ran`); the paper's curves are testbed measurements, so only their "
              "direction is compared: little effect of the prior on RANCpu, ~10x on RANSteering.", ""]  # fmt: skip
    body = []
    for env in (RAN_CPU, RAN_STEERING):
        for agent in RAN_AGENTS:
            unsafe = _values(runs, agent, env, "unsafe")
            if len(unsafe):
                inside = _values(runs, agent, env, "inside")
                body.append([env.split("/")[1], LABELS[agent], len(unsafe), _ci(unsafe, 1),
                             _ci(_values(runs, agent, env, "size")), _ms(_values(runs, agent, env, "true_size"), 3),
                             f"{int(inside.sum())}/{len(inside)}", _ci(_values(runs, agent, env, "precision")),
                             _ci(_values(runs, agent, env, "interventions"), 1)])  # fmt: skip
    lines += _table(("env", "configuration", "seeds", "unsafe", "λ(Ŝ)", "true λ(S)", "Ŝ ⊆ S", "precision",
                     "interventions"), body)  # fmt: skip
    lines += ["", "![Fig. 14](fig14_ran.png)", ""]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------- figures
def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_ablations(runs: Sequence[dict[str, Any]], path: Path) -> Path:
    """Fig. 8: bars = configurations, groups = cumulative unsafe interventions after k interventions (and at the
    end), 95% bootstrap CIs, one panel per scenario."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(SCENARIOS), figsize=(6 * len(SCENARIOS), 3.6), squeeze=False)
    groups = [*FIG8_STEPS, None]
    for ax, env in zip(axes[0], SCENARIOS, strict=True):
        agents = [a for a in EDGE_AGENTS if any(r["label"] == a and r["env"] == env for r in runs)]
        width = 0.8 / max(1, len(agents))
        for i, agent in enumerate(agents):
            mine = [r for r in runs if r["label"] == agent and r["env"] == env]
            stats = [bootstrap_summary(np.array([unsafe_after(r, k) for r in mine], float)) for k in groups]
            means = np.array([s["mean"] for s in stats])
            err = np.array([[s["mean"] - s["mean_ci95"][0], s["mean_ci95"][1] - s["mean"]] for s in stats]).T
            ax.bar(np.arange(len(groups)) + i * width, means, width, yerr=err, capsize=2, label=LABELS[agent])
        ax.set_xticks(np.arange(len(groups)) + 0.4 - width / 2, [f"after {k}" if k else "end" for k in groups])
        ax.set(title=SCENARIOS[env], ylabel="unsafe interventions")
        ax.legend(fontsize=7)
    return atomic_save_figure(fig, path, dpi=110)


def plot_ran(runs: Sequence[dict[str, Any]], path: Path) -> Path:
    """Fig. 14: estimated region size against cumulative unsafe interventions, mean over seeds at each intervention
    count (runs that stopped earlier hold their last values), one panel per RAN env."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), squeeze=False)
    for ax, env in zip(axes[0], (RAN_CPU, RAN_STEERING), strict=True):
        for i, agent in enumerate(RAN_AGENTS):
            mine = [r for r in runs if r["label"] == agent and r["env"] == env]
            if not mine:
                continue
            n = max(len(r["sizes"]) for r in mine)
            sizes = np.array([np.pad(r["sizes"], (0, n - len(r["sizes"])), mode="edge") for r in mine])
            unsafe = np.array([np.pad(np.concatenate([[0], np.cumsum(1 - np.asarray(r["outcomes"], int))]),
                                      (0, n - len(r["sizes"])), mode="edge") for r in mine])  # fmt: skip
            ax.plot(unsafe.mean(0), sizes.mean(0), color=f"C{i}", label=f"{LABELS[agent]} ({len(mine)} seeds)")
            ax.fill_between(unsafe.mean(0), sizes.mean(0) - sizes.std(0), sizes.mean(0) + sizes.std(0),
                            color=f"C{i}", alpha=0.15)  # fmt: skip
        ax.set(title=env, xlabel="unsafe interventions", ylabel="estimated region size (fraction of the box)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    return atomic_save_figure(fig, path, dpi=110)


def _write(out: Path, configs: Sequence[RunConfig], plan: Plan, wall: float, command: str, pending: int) -> Path:
    """Every output from the finished cells: results.csv, curves.csv, summary.json, table2.csv, the figures and
    report.md."""
    runs = [load_metrics(c) for c in configs]
    write_outputs(configs, runs, out, "Hammar, Alpcan and Lupu: COL")
    atomic_write_text(out / "table2.csv", csv_text(table2(runs)))
    edge = [r for r in runs if r["env"] in SCENARIOS and r["label"] in EDGE_AGENTS]
    if edge:
        plot_ablations(edge, out / "fig8_ablations.png")
    ran = [r for r in runs if r["env"] in (RAN_CPU, RAN_STEERING)]
    if ran:
        plot_ran(ran, out / "fig14_ran.png")
    for env, name in ((S1, "fig6_s1.png"), (S2, "fig6_s2.png")):
        source = next((c.run_dir / "region_evolution.png" for c in configs
                       if c.agent == "col" and c.env == env and c.seed == plan.seeds[0]), None)  # fmt: skip
        if source is not None and source.exists():
            atomic_write_bytes(out / name, source.read_bytes())
    atomic_write_text(out / "targets.json", json.dumps(targets(runs), indent=1))
    return atomic_write_text(out / "report.md", report(runs, plan, wall, command, pending))


def rewrite(
    out_dir: str | Path,
    seeds: Sequence[int] = DEFAULT_SEEDS,
    *,
    quick: bool = False,
    timesteps: int | None = None,
    eval_episodes: int = 10,
    command: str = "python train.py reproduce col",
) -> Path:
    """Rewrite the outputs from the cells that have finished, without running any (e.g. while RL cells still run);
    returns the report's path."""
    out = Path(out_dir)
    plan = Plan.of(seeds, quick, timesteps)
    grid = [c for s in stages(out, plan, min(eval_episodes, 10)) for c in s]
    done = [c for c in grid if is_finished(c)]
    return _write(out, done, plan, 0.0, command, len(grid) - len(done))


def reproduce(
    out_dir: str | Path,
    seeds: Sequence[int] = DEFAULT_SEEDS,
    *,
    quick: bool = False,
    workers: int = 1,
    timesteps: int | None = None,
    eval_episodes: int = 10,
    command: str = "python train.py reproduce col",
) -> Path:
    """Run (or finish) the grid stage by stage (`stages`), rewriting the outputs after each stage and after each RL
    run (those take minutes; the other workers go on meanwhile); returns the report's path. `timesteps` sets the RL
    baselines' env steps (default 2e5; 4000 with `quick`); COL's budgets are the paper's."""
    out = Path(out_dir)
    plan = Plan.of(seeds, quick, timesteps)
    grid = stages(out, plan, min(eval_episodes, 10))
    cells = [c for stage in grid for c in stage]
    start = time.perf_counter()

    def write_now(_: RunConfig | None = None) -> Path:
        done = [c for c in cells if is_finished(c)]
        return _write(out, done, plan, time.perf_counter() - start, command, len(cells) - len(done))

    report_path = out / "report.md"
    for k, stage in enumerate(grid):
        run_grid(stage, workers, on_finish=write_now if k == len(grid) - 1 else None)
        report_path = write_now()
    return report_path

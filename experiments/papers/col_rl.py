"""The safe-RL part of the COL reproduction (Hammar, Alpcan and Lupu, "Causal Online Learning of Safe Regions in Cloud
Radio Access Networks", section VII, Table II, Fig. 7): the paper's claim that COL needs far fewer unsafe
interventions than CPO and PPO-Lagrangian, measured as what each method spends until its region reaches 90% of the
true region's size, beside uniform random actions and a fixed safe action.

The regions, each scored against the true region (`dogym.agents.safe_region.safe_rl.experience`): COL's estimate
after each intervention ("region"); the RL's final policy's visited cells on a 10 x 10 grid ("policy", the paper's
"region inferred from the control policy": about 0.01, so it never reaches 90%); and, for RL and the baselines, the
cells of a 20 x 20 grid that the method's own training interventions certify ("experience"; "experience/ceiling":
against 90% of the largest region the grid can certify). The fixed centre action is chosen by symmetry, without
ground truth or learning; that it is safe on the edge envs is a property of the envs, whose quadratic response is
centred there, so read it as an oracle-informed reference for "a safe policy exists", not as a method.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

import dogym.envs  # noqa: F401  (registers the envs)
from dogym.agents.io import atomic_write_json, atomic_write_text, csv_text
from dogym.agents.protocol import NONNEGATIVE
from dogym.agents.registry import agent_spec, resolve_hyperparams
from dogym.agents.safe_region.family import cumulative_unsafe
from dogym.agents.safe_region.safe_rl import experience
from dogym.agents.safe_region.safe_rl.family import scaled_cost_limit
from dogym.experiments.report import INTERVAL_METHOD, Line, Panel, figure, group, mean_interval, section, table

#: The edge scenarios S1 and S2, and whether each is stationary.
STATIONARY = {"dogym/EdgeSafeRegion-v0": True, "dogym/EdgeSafeRegionNonStationary-v0": False}
#: Env steps per update of the RL baselines (their `n_steps`: OmniSafe's steps_per_epoch), from their YAML.
UPDATE = int(resolve_hyperparams(agent_spec("cpo"), "dogym/EdgeSafeRegion-v0")["n_steps"])
RL_AGENTS = ("cpo", "ppo-lagrangian")
LABELS = {"col": "COL", "col-c40": "COL with C = 40", "cpo": "CPO", "ppo-lagrangian": "PPO-Lagrangian",
          "random": "uniform random actions", "fixed": "fixed centre action (reference)"}  # fmt: skip


# ---------------------------------------------------------------------------------------------------- records
def _tagged(method: str, env_id: str, seed: int, rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """`rows` of one run, each prefixed with its method, env and seed."""
    return [{"method": method, "env": env_id, "seed": int(seed), **row} for row in rows]


def col_records(metrics: Sequence[Mapping[str, Any]], env_id: str, seeds: Sequence[int]) -> list[dict[str, Any]]:
    """One row per COL run (its `metrics.json` dict, with "sizes" [k + 1] and "outcomes" [k]): unsafe interventions
    until its region reaches 90% of the true size (of the intervention after each estimate)."""
    env = gym.make(env_id, horizon=10_000).unwrapped
    env.reset(seed=0)
    rows = []
    for run, seed in zip(metrics, seeds, strict=True):
        unsafe = cumulative_unsafe(run["outcomes"])
        truth = [env.ground_truth(t=k + 1)["region"].size() for k in range(len(run["sizes"]))]
        score = experience.reading("region", unsafe, run["sizes"], truth, len(run["outcomes"]), unsafe[-1])
        rows += _tagged("col", env_id, seed, [score])
    return rows


def collect_rl(runs: Path, log_runs: Path | None = None) -> tuple[list[dict], list[dict]]:
    """(rows, curves) of every finished RL run under `runs` (`<runs>/<agent>/<env>_seed<k>/metrics.json`) on S1, S2:
    its "policy" and "experience" readings and the experience region over training (`run_readings`); `log_runs`
    holds shorter same-seed re-runs that lend their step-by-step log to runs without one."""
    rows, curves = [], []
    for agent, env_id in itertools.product(RL_AGENTS, STATIONARY):
        for folder in sorted((runs / agent).glob(f"{env_id.replace('/', '_')}_seed*")):
            if (folder / "metrics.json").exists() and (folder / "experience.npz").exists():
                log_run = None if log_runs is None else log_runs / agent / folder.name
                readings, timeline = experience.run_readings(folder, env_id, STATIONARY[env_id], log_run)
                seed = int(folder.name.rsplit("seed", 1)[1])
                rows += _tagged(agent, env_id, seed, readings)
                curves += _tagged(agent, env_id, seed, timeline)
    return rows, curves


def run_baseline(method: str, env_id: str, seed: int, budget: int,
                 block: int = experience.BLOCK) -> tuple[list[dict], list[dict]]:  # fmt: skip
    """(rows, curve) of a no-learning baseline ("random" or "fixed", `baseline_readings`) on `env_id`."""
    readings, timeline = experience.baseline_readings(method, env_id, seed, budget, STATIONARY[env_id], block)
    return _tagged(method, env_id, seed, readings), _tagged(method, env_id, seed, timeline)


# ---------------------------------------------------------------------------------------------------- summaries
def summarize(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per env, reading and method: seeds, how many reached, and (only when all did) mean, median and the 95% CI
    (`INTERVAL_METHOD`) of the mean of the unsafe interventions until 90%; else the censored bound."""
    out = []
    groups = group(rows, lambda r: (r["env"], r["reading"], r["method"]))
    for (env_id, reading, method), runs in sorted(groups.items()):
        values, reached = np.array([r["unsafe_until"] for r in runs]), [r["reached"] for r in runs]
        entry = {"env": env_id, "reading": reading, "method": method, "seeds": [r["seed"] for r in runs],
                 "n": len(runs), "reached": int(sum(reached)), "reached_flags": reached, "values": values.tolist(),
                 "steps": [r["steps"] for r in runs], "final_size": float(np.median([r["final_size"] for r in runs])),
                 "target_size": float(np.median([r["target_size"] for r in runs]))}  # fmt: skip
        if all(reached):  # counts: the interval is clipped at 0
            entry.update(mean=float(values.mean()), median=float(np.median(values)),
                         ci95=list(mean_interval(values, support=NONNEGATIVE)), censored=False)  # fmt: skip
        else:
            entry.update(censored=True, lower_bound=float(values[~np.array(reached)].min()))
        out.append(entry)
    return out


def text(entry: Mapping[str, Any]) -> str:
    """A summary entry as table text: mean [95% CI] (median), or the censored bound."""
    if not entry["censored"]:
        return f"{entry['mean']:.1f} [{entry['ci95'][0]:.1f}, {entry['ci95'][1]:.1f}] (median {entry['median']:.1f})"
    observed = ", ".join(f"{v:.0f}" for v, ok in zip(entry["values"], entry["reached_flags"], strict=True) if ok)
    seen = f"; reached on {entry['reached']}/{entry['n']}: {observed}" if observed else ""
    return (f"not reached on {entry['n'] - entry['reached']}/{entry['n']} seeds within "
            f"{max(entry['steps']):.0f} steps (> {entry['lower_bound']:.0f} unsafe; censored){seen}")  # fmt: skip


def rl_target(summary: Sequence[Mapping[str, Any]], env_id: str, factor: float = 10.0,
              method: str = "col") -> dict[str, Any]:  # fmt: skip
    """The RL target on `env_id`: COL spends at least `factor`x fewer unsafe interventions until 90% than
    each RL method (experience reading; censored RL values count by their lower bound, which can only understate
    the ratio). Met when COL reached on every seed and factor * COL's upper CI <= each RL method's lower CI (or its
    censored bound). `method` names COL's rows ("col", or a variant such as "col-c40")."""
    col = next((e for e in summary if e["env"] == env_id and e["method"] == method), None)
    rl = [e for e in summary if e["env"] == env_id and e["method"] in RL_AGENTS and e["reading"] == "experience"]
    if col is None or not rl:
        return {"met": None, "why": "COL or RL rows missing"}
    if col["censored"]:
        return {"met": False, "why": f"COL did not reach 90% on {col['n'] - col['reached']}/{col['n']} seeds"}
    col_high = max(col["ci95"][1], 1e-9)
    ratios = {e["method"]: (e["lower_bound"] if e["censored"] else e["ci95"][0]) / col_high for e in rl}
    return {"met": all(r >= factor for r in ratios.values()), "col_upper_ci": col["ci95"][1],
            "ratios_lower_bound": ratios}  # fmt: skip


# ---------------------------------------------------------------------------------------------------- outputs
def _lines(runs: Mapping[tuple[str, int], Sequence[Mapping[str, Any]]], key: str) -> list[Line]:
    """One line of `key` (where set) against env steps per (method, seed) run, labelled once per method."""
    colours = {"cpo": "tab:blue", "ppo-lagrangian": "tab:orange", "random": "tab:grey", "fixed": "tab:green"}
    order = (*RL_AGENTS, *experience.BASELINES)
    lines: list[Line] = []
    for (method, _), run in sorted(runs.items(), key=lambda item: (order.index(item[0][0]), item[0][1])):
        points = [(c["timesteps"], c[key]) for c in run if c.get(key) is not None]
        label = None if any(line.label == LABELS[method] for line in lines) else LABELS[method]
        style = {"color": colours[method], "alpha": 0.8, "marker": "." if len(points) < 3 else None}
        lines += [Line(*zip(*points, strict=True), label, style=style)] if points else []
    return lines


def plot_curves(curves: Sequence[Mapping[str, Any]], path: Path, goals: Mapping[str, float], limit: float) -> Path:
    """Fraction of unsafe steps per update (left column, dotted: the cost limit's fraction `limit`) and the experience
    region's size (right, dashed: 90% of the env's true size, `goals`) against env steps, one row per scenario;
    `limit`: the RL runs' cost limit per episode over the episode's length."""
    reference = {"color": "black", "linewidth": 1}
    panels = []
    for env_id in (e for e in STATIONARY if any(c["env"] == e for c in curves)):
        runs = group((c for c in curves if c["env"] == env_id), lambda c: (c["method"], c["seed"]))
        panels += [
            Panel(_lines(runs, "step_cost"), f"{env_id}: unsafe steps per update", "env steps",
                  "unsafe fraction of steps", "log", title_size=9,
                  hlines=[(limit, {**reference, "linestyle": ":", "label": "cost limit / episode length"})]),
            Panel(_lines(runs, "size"), f"{env_id}: certified region (grid {experience.EXPERIENCE_GRID})", "env steps",
                  "experience region size", "log", title_size=9, options={"ylim": (0, None)},
                  hlines=[(goals[env_id], {**reference, "linestyle": "--", "label": "90% of true"})]),
        ]  # fmt: skip
    return figure(panels, path, columns=2, panel_size=(5, 3.4), dpi=110, tight=True)


#: The readings' descriptions in the report.
READINGS = {"region": "COL's estimate", "policy": "region inferred from the final policy (paper; 10 x 10 cells)",
            "experience": f"region certified by the method's own experience ({experience.EXPERIENCE_GRID}^2 cells), "
                          "target 90% of the true size",
            "experience/ceiling": "the same, target 90% of the largest region the grid can certify"}  # fmt: skip
SUMMARY_COLUMNS = {"method": lambda e: LABELS.get(e["method"], e["method"]), "reading": lambda e: READINGS[e["reading"]],
                   "seeds": lambda e: e["n"], "unsafe until 90%: mean [95% CI] (median)": text,
                   "final size (median)": lambda e: f"{e['final_size']:.4f}",
                   "target size": lambda e: f"{e['target_size']:.4f}"}  # fmt: skip
#: The per-seed table: until90.csv's columns (header: the column's name with spaces) and their formats.
PER_SEED_COLUMNS = {key.replace("_", " "): lambda r, key=key, spec=spec: format(r[key], spec) for key, spec in (
    ("method", ""), ("env", ""), ("seed", ""), ("reading", ""), ("reached", ""), ("unsafe_until", ".0f"),
    ("steps", ".0f"), ("total_unsafe", ".0f"), ("final_size", ".4f"))}  # fmt: skip


def markdown(summary: Sequence[Mapping[str, Any]], rows: Sequence[Mapping[str, Any]],
             curves: Sequence[Mapping[str, Any]], meta: Mapping[str, Any]) -> str:  # fmt: skip
    """The Markdown section: per scenario, the table per method and reading, the RL target's verdicts and the unsafe
    fraction of steps at the first and last update; then the per-seed values."""
    notes = [str(line) for line in meta.get("notes", [])] + [f"Intervals: {INTERVAL_METHOD}."]
    lines = section("Safe RL against COL: unsafe interventions until 90% of the true region", notes)
    order = {m: i for i, m in enumerate(("col", "col-c40", *RL_AGENTS, *experience.BASELINES))}
    by_env = group(summary, lambda e: e["env"])
    for env_id in (e for e in STATIONARY if e in by_env):
        mine = sorted(by_env[env_id], key=lambda e: (order.get(e["method"], 9), e["reading"]))
        blocks = [table(mine, SUMMARY_COLUMNS)]
        for method in ("col", "col-c40"):
            verdict = rl_target(summary, env_id, method=method)
            if verdict["met"] is not None:
                blocks.append(f"RL target ({LABELS[method]} >= 10x fewer, experience reading, conservative): "
                              f"{'met' if verdict['met'] else 'missed'}; {json.dumps(verdict, default=float)}")  # fmt: skip
        fractions = []
        for method in (*RL_AGENTS, *experience.BASELINES):
            runs = group((c for c in curves if c["env"] == env_id and c["method"] == method
                          and c.get("step_cost") is not None), lambda c: c["seed"])  # fmt: skip
            parts = [f"seed {seed}: {run[0]['step_cost']:.3f} -> {run[-1]['step_cost']:.3f} ({run[-1]['timesteps']:.0f} "
                     f"steps, {run[-1]['unsafe']:.0f} unsafe)" for seed, run in sorted(runs.items())]  # fmt: skip
            fractions += [f"- {LABELS[method]}: " + "; ".join(parts)] if parts else []
        blocks += ["Unsafe fraction of steps, first update -> last update (per seed):", fractions]
        lines += section(env_id, *blocks, level=3)
    lines += ["Per seed (unsafe_until is a lower bound where reached is false):", "", *table(rows, PER_SEED_COLUMNS)]
    return "\n".join(lines) + "\n"


def write(out: Path, rows: Sequence[Mapping[str, Any]], curves: Sequence[Mapping[str, Any]],
          meta: Mapping[str, Any]) -> dict[str, Path]:  # fmt: skip
    """Write until90.csv, curves.csv, summary.json, learning_curve.png and report.md under `out` (atomically)."""
    out.mkdir(parents=True, exist_ok=True)
    summary = summarize(rows)
    targets = {env_id: rl_target(summary, env_id) for env_id in STATIONARY}
    paths = {"rows": atomic_write_text(out / "until90.csv", csv_text(list(rows))),
             "curves": atomic_write_text(out / "curves.csv", csv_text(list(curves))),
             "summary": atomic_write_json(out / "summary.json", {"meta": dict(meta), "summary": summary,
                                                                  "targets": targets}),
             "report": atomic_write_text(out / "report.md", markdown(summary, rows, curves, meta))}  # fmt: skip
    if curves:
        goals = {r["env"]: experience.FRACTION * r["target_size"] for r in rows if r["reading"] == "experience"}
        limit = scaled_cost_limit(experience.EPISODE_LENGTH) / experience.EPISODE_LENGTH
        paths["plot"] = plot_curves(curves, out / "learning_curve.png", goals, limit)
    return paths

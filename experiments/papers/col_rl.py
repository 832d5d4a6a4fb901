"""The safe-RL part of the COL reproduction (Hammar, Alpcan and Lupu, "Causal Online Learning of Safe Regions in Cloud
Radio Access Networks", section VII, Table II, Fig. 7): the paper's claim that COL needs far fewer unsafe
interventions than CPO and PPO-Lagrangian, measured as what each method spends until its region reaches 90% of the
true region's size, beside uniform random actions and a fixed safe action.

Regions, one per method (ground truth only scores them):
- COL: its estimate after each intervention (`metrics.json` "sizes"; "outcomes" give the unsafe count), against the
  true region of the next intervention (as `reproduce col` scores it);
- RL, "policy" reading (the paper's "region inferred from the control policy"): the final deterministic policy's
  visited cells on a 10 x 10 grid (`region/region_size` of the run; about 0.01, so it never reaches 90%);
- RL and the baselines, "experience" reading: the cells of a `experience_grid`^d grid (20 x 20) that the method's own
  training interventions certify: a cell is in the region when it was tried at least `MIN_VISITS` times and the
  one-sided Clopper-Pearson lower bound, at confidence alpha (COL's alpha, 0.8), of its probability of meeting the
  specification is >= delta (the env's, 0.8): the certificate COL's region gives, from the method's own data. On the
  stationary scenario 1 every training step counts; on scenario 2, whose region moves with the system time, only the
  steps at the episode's step `EVAL_STEP` (the same system time in every episode: episodes restart the clock), scored
  against that step's true region. It is read every `BLOCK` (500) env steps over the run's step-by-step log (its
  first 200 000 steps), then after every update (every 20 000 env steps), with the cumulative unsafe count then.
The region's size is its share of COL's evaluation points (101^2 grid midpoints). A cell grid cannot cover a curved
region exactly: the "ceiling" is the largest region the grid can certify (the cells whose true probability, averaged
over the cell, is >= delta); its size is reported, and the experience reading is also scored against 90% of it.

Unsafe interventions until the size first reaches fraction * target: where it never does within the run, the value is
censored ("not reached within N steps (> X unsafe)": X is a lower bound), and no mean is taken over such seeds.
Summaries (`summarize`): per method, scenario and reading, the seeds reached, and over seeds that all reached, the
mean, median and the project's 95% interval of the mean (`dogym.experiments.report.INTERVAL_METHOD`).
Baselines (`run_baseline`): "random" (uniform actions over the control box) and "fixed" (the box's centre every step:
chosen by symmetry, without ground truth or learning; that it is safe on the edge envs is a property of the envs,
whose quadratic response is centred there, so read it as an oracle-informed reference for "a safe policy exists",
not as a method), stepped through the RL's `ControlView` with the same episodes and grid.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from scipy import stats

import dogym.envs  # noqa: F401  (registers the envs)
from dogym.agents.io import atomic_write_json, atomic_write_text, csv_text
from dogym.agents.protocol import NONNEGATIVE
from dogym.agents.safe_region.family import region_scores
from dogym.agents.safe_region.safe_rl.family import scaled_cost_limit
from dogym.agents.safe_region.safe_rl.view import ControlView
from dogym.causal.acquisition import box_points
from dogym.experiments.report import INTERVAL_METHOD, Line, Panel, figure, group, seed_summary, table

S1, S2 = "dogym/EdgeSafeRegion-v0", "dogym/EdgeSafeRegionNonStationary-v0"
STATIONARY = {S1: True, S2: False}
FRACTION, ALPHA, MIN_VISITS, EXPERIENCE_GRID, EVAL_RESOLUTION = 0.9, 0.8, 10, 20, 101
#: Env steps per update (OmniSafe's steps_per_epoch) and between readings of the logged steps and of the baselines.
EPISODE_LENGTH, UPDATE, BLOCK = 100, 20_000, 500
#: The RL runs' cost limit per episode (agents/hyperparams: OmniSafe's 25 per 1000 steps, scaled).
COST_LIMIT = scaled_cost_limit(EPISODE_LENGTH)
#: Scenario 2's episode step whose region the experience reading scores (the episode's last).
EVAL_STEP = EPISODE_LENGTH
RL_AGENTS = ("cpo", "ppo-lagrangian")
BASELINES = ("random", "fixed")
LABELS = {"col": "COL", "col-c40": "COL with C = 40", "cpo": "CPO", "ppo-lagrangian": "PPO-Lagrangian", "random": "uniform random actions",
          "fixed": "fixed centre action (reference)"}  # fmt: skip


# ---------------------------------------------------------------------------------------------------- regions
def certified(counts: np.ndarray, delta: float, alpha: float = ALPHA, min_visits: int = MIN_VISITS) -> np.ndarray:
    """Which cells a method's experience certifies: counts [cells, 2] (column 0 safe, 1 unsafe outcomes) -> bool
    [cells], True where visits >= min_visits and the one-sided Clopper-Pearson lower bound at confidence alpha of
    P(safe) is >= delta."""
    counts = np.asarray(counts)
    if counts.ndim != 2 or counts.shape[1] != 2:
        raise ValueError(f"counts must have shape [cells, 2], got {counts.shape}")
    safe, visits = counts[:, 0].astype(float), counts.sum(axis=1).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        lower = np.where(safe > 0, stats.beta.ppf(1.0 - alpha, safe, visits - safe + 1.0), 0.0)
    return (visits >= min_visits) & (np.nan_to_num(lower) >= delta)


class Scorer:
    """Scores cell regions of one env (and episode step) against its true region, on COL's evaluation points."""

    def __init__(
        self, env_id: str, step: int, grid: int = EXPERIENCE_GRID, env_kwargs: Mapping[str, Any] | None = None
    ):
        env = gym.make(env_id, **{"horizon": EPISODE_LENGTH, **(env_kwargs or {})}).unwrapped
        env.reset(seed=0)
        self.delta, self.grid = float(env.delta), int(grid)
        self.cells = self.grid ** len(env.low)
        points = box_points(env.low, env.high, EVAL_RESOLUTION)
        unit = (points - env.low) / (env.high - env.low)
        cells = np.clip(np.floor(unit * grid), 0, grid - 1).astype(np.int64)
        self.point_cells = np.ravel_multi_index(tuple(cells.T), (grid,) * points.shape[1])
        region = env.ground_truth(t=step)["region"]  # ground truth: evaluation only
        self.truth = region.contains(points)
        self.true_size = float(region.size())
        fine = box_points(env.low, env.high, 400)
        fine_cells = np.clip(np.floor((fine - env.low) / (env.high - env.low) * grid), 0, grid - 1).astype(np.int64)
        flat = np.ravel_multi_index(tuple(fine_cells.T), (grid,) * points.shape[1])
        mean_p = np.bincount(flat, region.probability(fine), grid ** points.shape[1]) / np.bincount(flat)
        self.ceiling = float(np.mean((mean_p >= self.delta)[self.point_cells]))

    def score(self, cells: np.ndarray) -> dict[str, float]:
        """Size, precision and recall of the region made of the cells marked True in `cells` [grid^d]."""
        estimate = np.asarray(cells, bool)[self.point_cells]
        scores = region_scores(estimate, self.truth)
        return {"size": float(estimate.mean()), "precision": scores["precision"], "recall": scores["recall"]}


def experience_counts(counts: np.ndarray, stationary: bool, step: int = EVAL_STEP) -> np.ndarray:
    """The counts [cells, 2] a region is certified from: counts [episode steps, cells, 2] summed over the episode's
    steps (stationary env) or at episode step `step` (1-based; a non-stationary env)."""
    counts = np.asarray(counts)
    return counts.sum(axis=0) if stationary else counts[step - 1]


def experience_timeline(history: np.ndarray, timesteps: Sequence[float], unsafe: Sequence[float], scorer: Scorer,
                        stationary: bool, alpha: float = ALPHA) -> list[dict[str, float]]:  # fmt: skip
    """One row per snapshot of `history` [updates, episode steps, cells, 2]: env steps, cumulative unsafe steps, and
    the experience region's size, precision and recall."""
    rows = []
    for snapshot, steps, bad in zip(history, timesteps, unsafe, strict=True):
        region = certified(experience_counts(snapshot, stationary), scorer.delta, alpha)
        rows.append({"timesteps": float(steps), "unsafe": float(bad), **scorer.score(region)})
    return rows


def log_timeline(log: np.ndarray, scorer: Scorer, stationary: bool, every: int = BLOCK, alpha: float = ALPHA,
                 step: int = EVAL_STEP) -> list[dict[str, float]]:  # fmt: skip
    """The experience region every `every` steps of a step-by-step log [n, 3] of (episode step - 1, cell, unsafe),
    in training order: rows of env steps, cumulative unsafe steps, size, precision and recall."""
    log = np.asarray(log, dtype=np.int64).reshape(-1, 3)
    counts = np.zeros((scorer.cells, 2), dtype=np.int64)
    keep = np.ones(len(log), bool) if stationary else log[:, 0] == step - 1
    ends = [*range(every, len(log) + 1, every), *([len(log)] if len(log) % every else [])]
    rows, start, unsafe = [], 0, 0
    for end in ends:
        chunk = log[start:end][keep[start:end]]
        np.add.at(counts, (chunk[:, 1], chunk[:, 2]), 1)
        unsafe += int(log[start:end, 2].sum())
        rows.append({"timesteps": float(end), "unsafe": float(unsafe), **scorer.score(certified(counts, scorer.delta,
                                                                                              alpha))})  # fmt: skip
        start = end
    return rows


def until(unsafe: Sequence[float], sizes: Sequence[float], target: float | Sequence[float],
          fraction: float = FRACTION) -> dict[str, Any]:  # fmt: skip
    """Unsafe interventions spent until the region first reaches `fraction` of `target` (a size, or one per entry):
    {"reached", "unsafe" (the count then; when not reached, the final count, a lower bound: censored), "index"}."""
    unsafe, sizes = np.asarray(unsafe, float), np.asarray(sizes, float)
    if unsafe.shape != sizes.shape or unsafe.ndim != 1 or not len(unsafe):
        raise ValueError(f"unsafe and sizes must be equal-length 1-D sequences, got {unsafe.shape} and {sizes.shape}")
    goal = fraction * np.broadcast_to(np.asarray(target, float), sizes.shape)
    hits = np.flatnonzero(sizes >= goal - 1e-12)
    if hits.size:
        return {"reached": True, "unsafe": float(unsafe[hits[0]]), "index": int(hits[0])}
    return {"reached": False, "unsafe": float(unsafe[-1]), "index": None}


# ---------------------------------------------------------------------------------------------------- records
def col_records(metrics: Sequence[Mapping[str, Any]], env_id: str, seeds: Sequence[int],
                env_kwargs: Mapping[str, Any] | None = None, fraction: float = FRACTION) -> list[dict[str, Any]]:  # fmt: skip
    """One row per COL run (its `metrics.json` dict, with "sizes" [k + 1] and "outcomes" [k]): unsafe interventions
    until its region reaches `fraction` of the true size (of the intervention after each estimate)."""
    env = gym.make(env_id, **{"horizon": 10_000, **(env_kwargs or {})}).unwrapped
    env.reset(seed=0)
    rows = []
    for run, seed in zip(metrics, seeds, strict=True):
        sizes, outcomes = list(run["sizes"]), [int(o) for o in run["outcomes"]]
        unsafe = np.concatenate([[0], np.cumsum(1 - np.array(outcomes, dtype=int))])
        truth = [env.ground_truth(t=k + 1)["region"].size() for k in range(len(sizes))]
        hit = until(unsafe, sizes, truth, fraction)
        rows.append(_row("col", env_id, seed, "region", hit, len(outcomes), unsafe[-1], sizes[-1], truth[-1]))
    return rows


def _row(method: str, env_id: str, seed: int, reading: str, hit: Mapping[str, Any], steps: float, total_unsafe: float,
         size: float, target: float, **extra: Any) -> dict[str, Any]:  # fmt: skip
    return {"method": method, "env": env_id, "seed": int(seed), "reading": reading, "reached": bool(hit["reached"]),
            "unsafe_until": hit["unsafe"], "steps": float(steps), "total_unsafe": float(total_unsafe),
            "final_size": float(size), "target_size": float(target), **extra}  # fmt: skip


def rl_records(
    run_dir: Path, method: str, env_id: str, seed: int, alpha: float = ALPHA, log_run: Path | None = None
) -> tuple[list[dict], list[dict]]:
    """(rows, curve) of one RL run folder (metrics.json, experience.npz): the "policy" and "experience" readings
    (the latter against the true size and against the grid's ceiling), and the curve. `log_run`: a shorter re-run
    of the same agent, env and seed whose experience.npz holds the step-by-step log this run lacks; it is used only
    when its update snapshots equal this run's (the same steps), else ValueError."""
    metrics = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
    with np.load(run_dir / "experience.npz") as data:
        history, timesteps, unsafe = data["counts"], data["timesteps"], data["unsafe"]
        grid = int(data["grid"])
        log = data["log"] if "log" in data.files else np.zeros((0, 3), dtype=np.int64)
    if not len(log) and log_run is not None and (log_run / "experience.npz").exists():
        with np.load(log_run / "experience.npz") as data:
            same = len(data["counts"]) <= len(history) and np.array_equal(
                data["counts"], history[: len(data["counts"])]
            )
            if not same:
                raise ValueError(f"{log_run} did not repeat the steps of {run_dir}: its log cannot stand for them")
            log = data["log"]
    stationary = STATIONARY[env_id]
    scorer = Scorer(env_id, 1 if stationary else EVAL_STEP, grid)
    fine = log_timeline(log, scorer, stationary, alpha=alpha) if len(log) else []
    logged = fine[-1]["timesteps"] if fine else 0.0
    timeline = fine + [row for row in experience_timeline(history, timesteps, unsafe, scorer, stationary, alpha)
                       if row["timesteps"] > logged]  # fmt: skip
    steps, total = float(metrics["timesteps"]), float(metrics["safe_rl"]["unsafe_interventions"])
    policy_size = float(metrics["region"]["region_size"])
    policy_truth = float(metrics["truth"]["true_region_size"])
    hit = until([total], [policy_size], policy_truth)
    rows = [_row(method, env_id, seed, "policy", hit, steps, total, policy_size, policy_truth)]
    rows += _experience_rows(method, env_id, seed, timeline, scorer, steps, total)
    by_update = {row["timesteps"]: row for row in metrics.get("history", [])}
    curve = [{"method": method, "env": env_id, "seed": seed, **row,
              "step_cost": by_update.get(row["timesteps"], {}).get("step_cost"),
              "episode_cost": by_update.get(row["timesteps"], {}).get("episode_cost")} for row in timeline]  # fmt: skip
    return rows, curve


def _experience_rows(method: str, env_id: str, seed: int, timeline: list[dict[str, float]], scorer: Scorer,
                     steps: float, total: float) -> list[dict[str, Any]]:  # fmt: skip
    unsafe, sizes = [r["unsafe"] for r in timeline], [r["size"] for r in timeline]
    last = timeline[-1]
    return [_row(method, env_id, seed, reading, until(unsafe, sizes, target), steps, total, last["size"], target,
                 precision=last["precision"], recall=last["recall"])
            for reading, target in (("experience", scorer.true_size), ("experience/ceiling", scorer.ceiling))]  # fmt: skip


def run_baseline(method: str, env_id: str, seed: int, budget: int, block: int = BLOCK, alpha: float = ALPHA,
                 grid: int = EXPERIENCE_GRID) -> tuple[list[dict], list[dict]]:  # fmt: skip
    """(rows, curve) of a no-learning baseline ("random": uniform actions; "fixed": the box centre) stepped for
    `budget` env steps through `ControlView` in episodes of `EPISODE_LENGTH`, scored every `block` steps like an RL
    update; stops early once the experience region reached both targets."""
    if method not in BASELINES:
        raise ValueError(f"baseline must be one of {BASELINES}, got {method!r}")
    if budget < block or budget % block:
        raise ValueError(f"budget ({budget}) must be a positive multiple of block ({block})")
    stationary = STATIONARY[env_id]
    scorer = Scorer(env_id, 1 if stationary else EVAL_STEP, grid)
    env = ControlView(gym.make(env_id, horizon=EPISODE_LENGTH), grid=grid)
    rng = np.random.default_rng(seed)
    counts = np.zeros((EPISODE_LENGTH, grid ** len(env.low), 2), dtype=np.int64)
    timeline: list[dict[str, float]] = []
    env.reset(seed=seed)
    steps = unsafe = 0
    centre = np.zeros(len(env.low))
    while steps < budget:
        for _ in range(block):
            action = rng.uniform(-1.0, 1.0, len(env.low)) if method == "random" else centre
            _, _, _, truncated, info = env.step(action)
            counts[min(int(info["t"]), EPISODE_LENGTH) - 1, info["cell"], int(info["cost"] > 0)] += 1
            unsafe += int(info["cost"] > 0)
            if truncated:
                env.reset()
        steps += block
        region = certified(experience_counts(counts, stationary), scorer.delta, alpha)
        timeline.append({"timesteps": float(steps), "unsafe": float(unsafe), **scorer.score(region),
                         "step_cost": (unsafe - (timeline[-1]["unsafe"] if timeline else 0)) / block})  # fmt: skip
        sizes = [r["size"] for r in timeline]
        if until(sizes, sizes, scorer.true_size)["reached"] and until(sizes, sizes, scorer.ceiling)["reached"]:
            break
    env.close()
    rows = _experience_rows(method, env_id, seed, timeline, scorer, steps, unsafe)
    curve = [{"method": method, "env": env_id, "seed": seed, **row} for row in timeline]
    return rows, curve


# ---------------------------------------------------------------------------------------------------- summaries
def summarize(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Per method, env and reading: seeds, how many reached, and (only when all did) mean, median and the 95%
    95% CI (`INTERVAL_METHOD`) of the mean of the unsafe interventions until 90%; else the censored bound."""
    out = []
    keys = sorted({(r["env"], r["reading"], r["method"]) for r in rows})
    for env_id, reading, method in keys:
        group = [r for r in rows if (r["env"], r["reading"], r["method"]) == (env_id, reading, method)]
        values = np.array([r["unsafe_until"] for r in group])
        reached = [r["reached"] for r in group]
        entry = {"env": env_id, "reading": reading, "method": method, "seeds": [r["seed"] for r in group],
                 "n": len(group), "reached": int(sum(reached)), "reached_flags": reached, "values": values.tolist(),
                 "steps": [r["steps"] for r in group], "final_size": float(np.median([r["final_size"] for r in group])),
                 "target_size": float(np.median([r["target_size"] for r in group]))}  # fmt: skip
        if all(reached):
            stats = seed_summary(values, NONNEGATIVE)  # counts
            entry.update(mean=stats["mean"], median=float(np.median(values)), ci95=stats["mean_ci95"], censored=False)
        else:
            entry.update(censored=True, lower_bound=float(values[~np.array(reached)].min()))
        out.append(entry)
    return out


def text(entry: Mapping[str, Any]) -> str:
    """A summary entry as table text: mean [95% CI] (median), or the censored bound."""
    if not entry["censored"]:
        return f"{entry['mean']:.1f} [{entry['ci95'][0]:.1f}, {entry['ci95'][1]:.1f}] (median {entry['median']:.1f})"
    observed = [v for v, ok in zip(entry["values"], entry["reached_flags"], strict=True) if ok]
    seen = (
        f"; reached on {entry['reached']}/{entry['n']}: {', '.join(f'{v:.0f}' for v in observed)}" if observed else ""
    )
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
def collect_rl(
    runs: Path, agents: Sequence[str] = RL_AGENTS, alpha: float = ALPHA, log_runs: Path | None = None
) -> tuple[list[dict], list[dict]]:
    """(rows, curves) of every finished RL run under `runs` (`<runs>/<agent>/<env>_seed<k>/metrics.json`) on S1, S2;
    `log_runs` holds shorter same-seed re-runs with the step-by-step log (`rl_records`)."""
    rows: list[dict] = []
    curves: list[dict] = []
    for agent in agents:
        for env_id in STATIONARY:
            for folder in sorted((runs / agent).glob(f"{env_id.replace('/', '_')}_seed*")):
                if not (folder / "metrics.json").exists() or not (folder / "experience.npz").exists():
                    continue
                seed = int(folder.name.rsplit("seed", 1)[1])
                log_run = None if log_runs is None else log_runs / agent / folder.name
                new_rows, curve = rl_records(folder, agent, env_id, seed, alpha, log_run)
                rows += new_rows
                curves += curve
    return rows, curves


def plot_curves(curves: Sequence[Mapping[str, Any]], path: Path, targets: Mapping[str, float] | None = None,
                limit: float | None = None) -> Path:  # fmt: skip
    """Fraction of unsafe steps per update (left column, dotted: the cost limit's fraction `limit`) and the experience
    region's size (right, dashed: 90% of the env's true size in `targets`) against env steps, one row per scenario;
    one line per method and seed."""
    colours = {"cpo": "tab:blue", "ppo-lagrangian": "tab:orange", "random": "tab:grey", "fixed": "tab:green"}
    panels = []
    for env_id in (e for e in STATIONARY if any(c["env"] == e for c in curves)):
        runs = group((c for c in curves if c["env"] == env_id), lambda c: (c["method"], c["seed"]))
        costs, sizes = [], []
        for method in (m for m in (*RL_AGENTS, *BASELINES) if any(key[0] == m for key in runs)):
            for seed in sorted(seed for m, seed in runs if m == method):
                run, first = runs[(method, seed)], seed == min(s for m, s in runs if m == method)
                style = {"color": colours[method], "alpha": 0.8}
                cost = [(c["timesteps"], c["step_cost"]) for c in run if c.get("step_cost") is not None]
                costs += [Line(*zip(*cost, strict=True), LABELS[method] if first else None,
                               style={**style, "marker": "." if len(cost) < 3 else None})] if cost else []  # fmt: skip
                sizes.append(Line([c["timesteps"] for c in run], [c["size"] for c in run],
                                  LABELS[method] if first else None,
                                  style={**style, "marker": "." if len(run) < 3 else None}))  # fmt: skip
        reference = {"color": "black", "linewidth": 1}
        panels += [
            Panel(costs, f"{env_id}: unsafe steps per update", "env steps", "unsafe fraction of steps", "log",
                  hlines=[(limit, {**reference, "linestyle": ":", "label": "cost limit / episode length"})]
                  if limit is not None else (), title_size=9),
            Panel(sizes, f"{env_id}: certified region (grid {EXPERIENCE_GRID})", "env steps",
                  "experience region size", "log", title_size=9, options={"ylim": (0, None)},
                  hlines=[(FRACTION * targets[env_id], {**reference, "linestyle": "--", "label": "90% of true"})]
                  if targets and env_id in targets else ()),
        ]  # fmt: skip
    return figure(panels, path, columns=2, panel_size=(5, 3.4), dpi=110, tight=True)


#: The readings' descriptions in the report.
READINGS = {"region": "COL's estimate", "policy": "region inferred from the final policy (paper; 10 x 10 cells)",
            "experience": f"region certified by the method's own experience ({EXPERIENCE_GRID}^2 cells), target 90% of "
                          "the true size",
            "experience/ceiling": "the same, target 90% of the largest region the grid can certify"}  # fmt: skip
SUMMARY_COLUMNS = {"method": lambda e: LABELS.get(e["method"], e["method"]), "reading": lambda e: READINGS[e["reading"]],
                   "seeds": lambda e: e["n"], "unsafe until 90%: mean [95% CI] (median)": text,
                   "final size (median)": lambda e: f"{e['final_size']:.4f}",
                   "target size": lambda e: f"{e['target_size']:.4f}"}  # fmt: skip
PER_SEED_COLUMNS = {"method": lambda r: r["method"], "env": lambda r: r["env"], "seed": lambda r: r["seed"],
                    "reading": lambda r: r["reading"], "reached": lambda r: r["reached"],
                    "unsafe until": lambda r: f"{r['unsafe_until']:.0f}", "steps": lambda r: f"{r['steps']:.0f}",
                    "total unsafe": lambda r: f"{r['total_unsafe']:.0f}",
                    "final size": lambda r: f"{r['final_size']:.4f}"}  # fmt: skip


def markdown(summary: Sequence[Mapping[str, Any]], rows: Sequence[Mapping[str, Any]],
             curves: Sequence[Mapping[str, Any]], meta: Mapping[str, Any]) -> str:  # fmt: skip
    """The Markdown section: the headline table per scenario and reading, the per-seed values, the RL target's
    verdict and the unsafe fraction per step at the start and end of training."""
    lines = ["## Safe RL against COL: unsafe interventions until 90% of the true region", ""]
    lines += [str(line) for line in meta.get("notes", [])] + [f"Intervals: {INTERVAL_METHOD}.", ""]
    order = {m: i for i, m in enumerate(("col", "col-c40", *RL_AGENTS, *BASELINES))}
    for env_id in STATIONARY:
        mine = sorted(
            (e for e in summary if e["env"] == env_id), key=lambda e: (order.get(e["method"], 9), e["reading"])
        )
        if not mine:
            continue
        lines += [f"### {env_id}", "", *table(mine, SUMMARY_COLUMNS)]
        for method in ("col", "col-c40"):
            verdict = rl_target(summary, env_id, method=method)
            if verdict["met"] is not None:
                lines += ["", f"RL target ({LABELS[method]} >= 10x fewer, experience reading, conservative): "
                              f"{'met' if verdict['met'] else 'missed'}; {json.dumps(verdict, default=float)}"]  # fmt: skip
        lines += ["", "Unsafe fraction of steps, first update -> last update (per seed):", ""]
        for method in (*RL_AGENTS, *BASELINES):
            runs = group((c for c in curves if c["env"] == env_id and c["method"] == method
                          and c.get("step_cost") is not None), lambda c: c["seed"])  # fmt: skip
            parts = [f"seed {seed}: {run[0]['step_cost']:.3f} -> {run[-1]['step_cost']:.3f} ({run[-1]['timesteps']:.0f} "
                     f"steps, {run[-1]['unsafe']:.0f} unsafe)" for seed, run in sorted(runs.items())]  # fmt: skip
            if parts:
                lines.append(f"- {LABELS[method]}: " + "; ".join(parts))
        lines.append("")
    lines += ["Per seed (unsafe_until is a lower bound where reached is false):", "", *table(rows, PER_SEED_COLUMNS)]
    return "\n".join(lines) + "\n"


def write(out: Path, rows: Sequence[Mapping[str, Any]], curves: Sequence[Mapping[str, Any]],
          meta: Mapping[str, Any]) -> dict[str, Path]:  # fmt: skip
    """Write until90.csv, curves.csv, summary.json, learning_curve.png and report.md under `out` (atomically)."""
    out.mkdir(parents=True, exist_ok=True)
    summary = summarize(rows)
    paths = {"rows": atomic_write_text(out / "until90.csv", csv_text([dict(r) for r in rows])),
             "curves": atomic_write_text(out / "curves.csv", csv_text([dict(c) for c in curves])),
             "summary": atomic_write_json(out / "summary.json", {"meta": dict(meta), "summary": summary,
                                                                  "targets": {e: rl_target(summary, e)
                                                                              for e in STATIONARY}}),
             "report": atomic_write_text(out / "report.md", markdown(summary, rows, curves, meta))}  # fmt: skip
    if curves:
        targets = {r["env"]: r["target_size"] for r in rows if r["reading"] == "experience"}
        paths["plot"] = plot_curves(curves, out / "learning_curve.png", targets, COST_LIMIT / EPISODE_LENGTH)
    return paths

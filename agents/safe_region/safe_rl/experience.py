"""The experience region of a safe-RL run or a no-learning baseline: the cells of a grid over the control box that the
method's own training interventions certify safe, read over training and scored against the env's true region
(ground truth: scoring only), as the reproduction of Hammar, Alpcan and Lupu, "Causal Online Learning of Safe Regions
in Cloud Radio Access Networks" (section VII), compares it with COL's region.

- A cell of the `experience_grid`^d grid (20 x 20) is in the region when it was tried at least `MIN_VISITS` times and
  the one-sided Clopper-Pearson lower bound, at confidence `ALPHA` (COL's alpha, 0.8), of its probability of meeting
  the specification is >= delta (the env's, 0.8): the certificate COL's region gives, from the method's own data.
- On a stationary env every training step counts; on a non-stationary one, whose region moves with the system time,
  only the steps at the episode's step `EVAL_STEP` (the same system time in every episode: episodes restart the
  clock), scored against that step's true region.
- A run's region (`run_timeline`) is read every `BLOCK` (500) env steps over its step-by-step log (`experience.npz`
  "log": the run's first `experience_log` steps), then after every update, with the cumulative unsafe count then.
- A region's size is its share of COL's evaluation points (101^2 grid midpoints). A cell grid cannot cover a curved
  region exactly: the "ceiling" (`Scorer.ceiling`) is the largest region the grid can certify (the cells whose true
  probability, averaged over the cell, is >= delta).
- A run's score under a reading (`reading`): the unsafe interventions it spent until its region first reached
  `FRACTION` (90%) of a target size (`until`; where it never did, the final count, a censored lower bound): the
  true size ("experience") or the ceiling ("experience/ceiling"); `run_readings` adds the "policy" reading, the
  region inferred from the run's final policy (`region/region_size` of its metrics) against the true size.
- Baselines (`baseline_readings`): "random" (uniform actions over the control box) and "fixed" (the box's centre
  every step: chosen by symmetry, without ground truth or learning), stepped through `ControlView` with the RL's
  episodes and grid.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from scipy import stats

from dogym.agents.io import read_json_checked
from dogym.agents.safe_region.family import region_scores
from dogym.agents.safe_region.safe_rl.family import RUN_KEYS
from dogym.agents.safe_region.safe_rl.view import ControlView
from dogym.causal.acquisition import box_points

#: The certificate's confidence (COL's alpha) and the visits a cell needs; the env steps between readings; the share
#: of a target size that counts as reaching it; COL's evaluation points per axis.
ALPHA, MIN_VISITS, BLOCK, FRACTION, EVAL_RESOLUTION = 0.8, 10, 500, 0.9, 101
#: The RL runs' episode length and experience grid (the family's defaults).
EPISODE_LENGTH, EXPERIENCE_GRID = RUN_KEYS["episode_length"], RUN_KEYS["experience_grid"]
#: A non-stationary env's episode step whose region is scored (the episode's last).
EVAL_STEP = EPISODE_LENGTH
BASELINES = ("random", "fixed")


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
    """Scores cell regions of one env against its true region at intervention `step` (1 on a stationary env), on
    COL's evaluation points, with cells of a `grid`^d grid over the control box."""

    def __init__(self, env_id: str, step: int, grid: int = EXPERIENCE_GRID):
        env = gym.make(env_id, horizon=EPISODE_LENGTH).unwrapped
        env.reset(seed=0)
        self.delta, self.grid = float(env.delta), int(grid)
        self.cells = self.grid ** len(env.low)

        def cells(points: np.ndarray) -> np.ndarray:
            unit = (points - env.low) / (env.high - env.low)
            index = np.clip(np.floor(unit * grid), 0, grid - 1).astype(np.int64)
            return np.ravel_multi_index(tuple(index.T), (grid,) * len(env.low))

        points, fine = box_points(env.low, env.high, EVAL_RESOLUTION), box_points(env.low, env.high, 400)
        region = env.ground_truth(t=step)["region"]  # ground truth: scoring only
        self.point_cells, self.truth, self.true_size = cells(points), region.contains(points), float(region.size())
        fine_cells = cells(fine)
        mean_p = np.bincount(fine_cells, region.probability(fine), self.cells) / np.bincount(fine_cells)
        self.ceiling = float(np.mean((mean_p >= self.delta)[self.point_cells]))
        env.close()

    def score(self, cells: np.ndarray) -> dict[str, float]:
        """Size, precision and recall of the region made of the cells marked True in `cells` [grid^d]."""
        estimate = np.asarray(cells, bool)[self.point_cells]
        scores = region_scores(estimate, self.truth)
        return {"size": float(estimate.mean()), "precision": scores["precision"], "recall": scores["recall"]}

    def row(self, steps: float, unsafe: float, counts: np.ndarray) -> dict[str, float]:
        """A timeline row: env steps, cumulative unsafe steps, and the size, precision and recall of the region that
        `counts` [cells, 2] certify."""
        return {"timesteps": float(steps), "unsafe": float(unsafe), **self.score(certified(counts, self.delta))}


def experience_counts(counts: np.ndarray, stationary: bool, step: int = EVAL_STEP) -> np.ndarray:
    """The counts [cells, 2] a region is certified from: counts [episode steps, cells, 2] summed over the episode's
    steps (stationary env) or at episode step `step` (1-based; a non-stationary env)."""
    counts = np.asarray(counts)
    return counts.sum(axis=0) if stationary else counts[step - 1]


def log_timeline(log: np.ndarray, scorer: Scorer, stationary: bool, every: int = BLOCK,
                 step: int = EVAL_STEP) -> list[dict[str, float]]:  # fmt: skip
    """The experience region every `every` steps of a step-by-step log [n, 3] of (episode step - 1, cell, unsafe),
    in training order: `Scorer.row` rows."""
    log = np.asarray(log, dtype=np.int64).reshape(-1, 3)
    counts = np.zeros((scorer.cells, 2), dtype=np.int64)
    keep = np.ones(len(log), bool) if stationary else log[:, 0] == step - 1
    ends = [*range(every, len(log) + 1, every), *([len(log)] if len(log) % every else [])]
    rows, start, unsafe = [], 0, 0
    for end in ends:
        chunk = log[start:end][keep[start:end]]
        np.add.at(counts, (chunk[:, 1], chunk[:, 2]), 1)
        unsafe += int(log[start:end, 2].sum())
        rows.append(scorer.row(end, unsafe, counts))
        start = end
    return rows


def run_timeline(run_dir: Path, env_id: str, stationary: bool,
                 log_run: Path | None = None) -> tuple[Scorer, list[dict[str, float]]]:  # fmt: skip
    """(scorer, timeline) of a safe-RL run folder's experience.npz: the region every `BLOCK` steps over the logged
    steps, then after each later update. `log_run`: a shorter re-run of the same agent, env and seed whose
    experience.npz holds the step-by-step log this run lacks; it is used only when its update snapshots equal this
    run's (the same steps), else ValueError."""
    with np.load(run_dir / "experience.npz") as data:
        history, timesteps, unsafe = data["counts"], data["timesteps"], data["unsafe"]
        grid = int(data["grid"])
        log = data["log"] if "log" in data.files else np.zeros((0, 3), dtype=np.int64)
    if not len(log) and log_run is not None and (log_run / "experience.npz").exists():
        with np.load(log_run / "experience.npz") as data:
            repeated = data["counts"]
            if len(repeated) > len(history) or not np.array_equal(repeated, history[: len(repeated)]):
                raise ValueError(f"{log_run} did not repeat the steps of {run_dir}: its log cannot stand for them")
            log = data["log"]
    scorer = Scorer(env_id, 1 if stationary else EVAL_STEP, grid)
    timeline = log_timeline(log, scorer, stationary) if len(log) else []
    logged = timeline[-1]["timesteps"] if timeline else 0.0
    return scorer, timeline + [scorer.row(steps, bad, experience_counts(snapshot, stationary))
                               for snapshot, steps, bad in zip(history, timesteps, unsafe, strict=True)
                               if steps > logged]  # fmt: skip


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


def reading(name: str, unsafe: Sequence[float], sizes: Sequence[float], target: float | Sequence[float],
            steps: float, total_unsafe: float, **extra: Any) -> dict[str, Any]:  # fmt: skip
    """A run's score under one reading of its region (its `sizes` after `unsafe` unsafe interventions): whether and
    after how many unsafe interventions it first reached `FRACTION` of `target` (`until`; "unsafe_until" is a lower
    bound where not reached), the run's env steps and unsafe total, the final size and the (final) target."""
    hit = until(unsafe, sizes, target)
    return {"reading": name, "reached": hit["reached"], "unsafe_until": hit["unsafe"], "steps": float(steps),
            "total_unsafe": float(total_unsafe), "final_size": float(sizes[-1]),
            "target_size": float(np.ravel(target)[-1]), **extra}  # fmt: skip


def experience_readings(scorer: Scorer, timeline: Sequence[dict[str, float]], steps: float,
                        total_unsafe: float) -> list[dict[str, Any]]:  # fmt: skip
    """The experience region's readings over `timeline`: against the true size ("experience") and against the grid's
    ceiling ("experience/ceiling"), with the final region's precision and recall."""
    unsafe, sizes = [r["unsafe"] for r in timeline], [r["size"] for r in timeline]
    scores = {key: timeline[-1][key] for key in ("precision", "recall")}
    return [reading(name, unsafe, sizes, target, steps, total_unsafe, **scores)
            for name, target in (("experience", scorer.true_size), ("experience/ceiling", scorer.ceiling))]  # fmt: skip


def run_readings(run_dir: Path, env_id: str, stationary: bool,
                 log_run: Path | None = None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:  # fmt: skip
    """(readings, timeline) of a safe-RL run folder: the "policy" reading (the region inferred from the final policy,
    `region/region_size` of metrics.json, against the true size then) and the experience readings; the timeline
    (`run_timeline`) with each update's "step_cost" and "episode_cost" (None between updates)."""
    metrics = read_json_checked(run_dir / "metrics.json")
    scorer, timeline = run_timeline(run_dir, env_id, stationary, log_run)
    steps, total = float(metrics["timesteps"]), float(metrics["safe_rl"]["unsafe_interventions"])
    size, truth = float(metrics["region"]["region_size"]), float(metrics["truth"]["true_region_size"])
    readings = [reading("policy", [total], [size], truth, steps, total)]
    by_update = {row["timesteps"]: row for row in metrics.get("history", [])}
    return readings + experience_readings(scorer, timeline, steps, total), [
        {**row, **{key: by_update.get(row["timesteps"], {}).get(key) for key in ("step_cost", "episode_cost")}}
        for row in timeline]  # fmt: skip


def baseline_readings(method: str, env_id: str, seed: int, budget: int, stationary: bool, block: int = BLOCK,
                      grid: int = EXPERIENCE_GRID) -> tuple[list[dict[str, Any]], list[dict[str, float]]]:  # fmt: skip
    """(experience readings, timeline) of a no-learning baseline ("random": uniform actions; "fixed": the box centre)
    stepped for `budget` env steps through `ControlView` in episodes of `EPISODE_LENGTH`, read every `block` steps
    like an RL update (rows with "step_cost", the block's unsafe share); stops early once the region reached
    `FRACTION` of both the true size and the ceiling."""
    if method not in BASELINES:
        raise ValueError(f"baseline must be one of {BASELINES}, got {method!r}")
    if budget < block or budget % block:
        raise ValueError(f"budget ({budget}) must be a positive multiple of block ({block})")
    scorer = Scorer(env_id, 1 if stationary else EVAL_STEP, grid)
    env = ControlView(gym.make(env_id, horizon=EPISODE_LENGTH), grid=grid)
    rng = np.random.default_rng(seed)
    counts = np.zeros((EPISODE_LENGTH, scorer.cells, 2), dtype=np.int64)
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
        step_cost = (unsafe - (timeline[-1]["unsafe"] if timeline else 0)) / block
        row = scorer.row(steps, unsafe, experience_counts(counts, stationary))
        timeline.append({**row, "step_cost": step_cost})
        sizes = [r["size"] for r in timeline]
        if all(until(sizes, sizes, target)["reached"] for target in (scorer.true_size, scorer.ceiling)):
            break
    env.close()
    return experience_readings(scorer, timeline, steps, unsafe), timeline

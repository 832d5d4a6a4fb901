"""Metrics of the DCGO agents: the gap metric, % optimal set and cumulative cost.

The gap metric is eq. 4 of Aglietti, Dhir, Gonzalez and Damoulas, "Dynamic Causal Bayesian Optimization" (a modified
version of Huang et al.'s), per time step t of a run with best-so-far curve y_0..y_{H-1} (the target is minimised):

    G_t = [ gap + (H - H(x*)) / H ] / (1 + (H - 1) / H),   gap = clip((y_{H-1} - y_init) / (y*_t - y_init), 0, 1)

with y*_t the true optimum at t and H(x*) the trial at which the run converged (H if never). Two forms:
- "authors" (the authors' code, used for their tables): y_init is the **common initial value**, the largest first
  value over the compared methods at (replicate, t); convergence is judged on the **replicate-mean** best-so-far
  curve, clipped below at y*_t, as the first trial whose value rounded to 1 decimal equals round(y*_t, 1) (the mean
  of y*_t over replicates when each replicate has its own optimum). Index 0 is DCBO's and CBO's observation trial, so
  a curve that starts at the optimum scores a speed term of 1.
- "replicate": eq. 4 as printed, per replicate: y_init is the replicate's own first value, convergence is judged on
  its own curve (same rounding rule) and H(x*) counts trials from 1 (converging at the first trial scores a speed
  term of (H - 1) / H), so 0 <= G_t <= 1.
Where y*_t equals y_init (nothing to close) the gap term is 1; the authors' code divides by zero there.
Tables report the mean over replicates per t, averaged over t, with the standard deviation over replicates (as the
authors' code) and the standard error; `replicate_gaps` and `replicate_summary` give the per-replicate gap (averaged
over t) with a 95% CI over replicates (`dogym.agents.intervals.INTERVAL_METHOD`), `final_regrets` the final regret per (replicate, t).

Quirks of the authors' form (why the per-replicate form is the headline): each method's system is driven by its own
decisions, so at t >= 1 the common initial value mixes states of different methods; the convergence test on the
replicate-mean curve makes the speed term one number shared by all replicates, so the spread over replicates
understates the uncertainty; and the rounding test is discontinuous (0.08 above y*_t can count as converged when it
rounds to the same decimal, 0.01 above may not). The per-replicate form keeps the rounding rule of eq. 4's authors.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from dogym.agents.dcgo.loop import ReplicateResult
from dogym.agents.intervals import seed_summary

MODES = ("authors", "replicate")
#: Rounding (decimals) of the convergence test.
DECIMALS = 1


def curves_of(results: Sequence[ReplicateResult]) -> np.ndarray:
    """Best-so-far curves [R, T, H] of a method's replicates (all with the same T and H)."""
    if not results:
        raise ValueError("no replicate results")
    shapes = {r.best_so_far.shape for r in results}
    if len(shapes) != 1:
        raise ValueError(f"replicates have differently shaped curves {sorted(shapes)}: use one T and H")
    return np.stack([r.best_so_far for r in results])


def common_initial_values(curves: Mapping[str, np.ndarray]) -> np.ndarray:
    """[R, T]: the largest first value over methods at each (replicate, t) (the authors' common starting point)."""
    firsts = [np.asarray(c, dtype=np.float64)[..., 0] for c in curves.values()]
    if len({f.shape for f in firsts}) != 1:
        raise ValueError("every method needs the same number of replicates and time steps")
    return np.max(np.stack(firsts), axis=0)


def convergence_trial(curve: np.ndarray, optimum: float) -> int:
    """First index whose value, clipped below at the optimum and rounded to 1 decimal, equals the rounded optimum;
    len(curve) if none."""
    values = np.round(np.maximum(np.asarray(curve, dtype=np.float64), optimum), DECIMALS)
    hits = np.flatnonzero(values == np.round(optimum, DECIMALS))
    return int(hits[0]) if hits.size else len(values)


def gap_scores(curves: np.ndarray, optima: np.ndarray, init: np.ndarray, mode: str = "authors") -> np.ndarray:
    """G per (replicate, t) [R, T] for one method: curves [R, T, H], optima [R, T] (y*_t per replicate), init [R, T]
    (y_init: common initial values in the authors' form, ignored in the per-replicate form)."""
    if mode not in MODES:
        raise ValueError(f"gap mode must be one of {MODES}, got {mode!r}")
    curves = np.asarray(curves, dtype=np.float64)
    if curves.ndim != 3:
        raise ValueError(f"curves must be [replicates, T, H], got shape {curves.shape}")
    n_rep, n_t, h = curves.shape
    optima = np.broadcast_to(np.asarray(optima, dtype=np.float64), (n_rep, n_t))
    if not (np.all(np.isfinite(curves)) and np.all(np.isfinite(optima))):
        raise ValueError("curves and optima must be finite")
    init = curves[..., 0] if mode == "replicate" else np.broadcast_to(np.asarray(init, dtype=np.float64), optima.shape)
    last = curves[..., -1]
    denom = optima - init
    flat = np.isclose(denom, 0.0, atol=1e-12)
    gap = np.where(flat, 1.0, np.clip((last - init) / np.where(flat, 1.0, denom), 0.0, 1.0))
    if mode == "authors":
        mean_curve = np.maximum(curves, optima[..., None]).mean(axis=0)
        index = np.array([convergence_trial(mean_curve[t], optima[:, t].mean()) for t in range(n_t)])
        index = np.broadcast_to(index, (n_rep, n_t))
    else:
        index = np.array([[convergence_trial(curves[r, t], optima[r, t]) for t in range(n_t)] for r in range(n_rep)])
        index = np.where(index < h, index + 1, h)  # eq. 4 counts trials from 1: converging at the first scores (H-1)/H
    speed = (h - index) / h
    return (gap + speed) / (1.0 + (h - 1) / h)


def gap_table(
    results_by_method: Mapping[str, Sequence[ReplicateResult]],
    optima: Mapping[str, np.ndarray] | np.ndarray,
    H: int | None = None,
    mode: str = "authors",
    reference: Sequence[str] | None = None,
) -> dict[str, dict[str, Any]]:
    """The gap of every method: {method: {"gap", "std", "se", "per_t", "per_t_std", "n"}}.

    optima: y*_t as [T] (one optimum for every run), [R, T], or per method {method: [R, T]} (each replicate's
    optimum given its own decisions). H: checked against the curves' length when given. In the authors' form the
    common initial value is taken over the `reference` methods (default: all given); the others (e.g. a baseline
    the paper does not compare) are scored against it without moving it."""
    curves = {m: curves_of(rs) for m, rs in results_by_method.items()}
    if not curves:
        raise ValueError("no methods to score")
    for m, c in curves.items():
        if H is not None and c.shape[2] != H:
            raise ValueError(f"{m}: curves have {c.shape[2]} trials per step, expected H = {H}")
    init = common_initial_values({m: curves[m] for m in reference or curves}) if mode == "authors" else None
    table = {}
    for m, c in curves.items():
        opt = optima[m] if isinstance(optima, Mapping) else optima
        scores = gap_scores(c, np.asarray(opt, dtype=np.float64), init if init is not None else c[..., 0], mode)
        per_t, per_t_std = scores.mean(axis=0), scores.std(axis=0)
        table[m] = {"gap": float(per_t.mean()), "std": float(per_t_std.mean()),
                    "se": float(per_t_std.mean() / np.sqrt(len(c))), "per_t": per_t.tolist(),
                    "per_t_std": per_t_std.tolist(), "n": len(c)}  # fmt: skip
    return table


def set_hits(decision_sets: Sequence[Sequence[Sequence[str]]], accepted: Sequence[Sequence[Any]]) -> np.ndarray:
    """[R, T] booleans: whether replicate r's decision set at t is one of the accepted (optimal) sets there.
    decision_sets: [R][T] sets; accepted: [R][T] collections of sets (each replicate's own optimal or tied sets).
    Sets compare as unordered, so a tie counts for every tied set."""
    if not decision_sets:
        raise ValueError("no replicates")
    if len(accepted) != len(decision_sets):
        raise ValueError(f"{len(accepted)} replicates of optimal sets for {len(decision_sets)} of decisions")
    hits = []
    for decisions, ok in zip(decision_sets, accepted, strict=True):
        if len(decisions) != len(ok):
            raise ValueError(f"{len(decisions)} decisions for {len(ok)} time steps of optimal sets")
        hits.append([frozenset(d) in {frozenset(s) for s in sets} for d, sets in zip(decisions, ok, strict=True)])
    return np.array(hits, dtype=bool)


def optimal_set_percent(decision_sets: Sequence[Sequence[tuple[str, ...]]], optimal_sets: Sequence[Any]) -> float:
    """% of replicates whose decision set equals the true optimal set, per t, averaged over t (Tables 2 and 4; the
    strict count). decision_sets: [R][T] sets; optimal_sets: [T] sets or [R][T] (each replicate's own optimum)."""
    if not decision_sets:
        raise ValueError("no replicates")
    own = isinstance(optimal_sets[0][0], list | tuple)  # [R][T] of sets, not [T] of sets of names
    per_rep = optimal_sets if own else [optimal_sets] * len(decision_sets)
    return float(100.0 * set_hits(decision_sets, [[[s] for s in rep] for rep in per_rep]).mean())


def replicate_summary(values: np.ndarray) -> dict[str, Any]:
    """Mean of per-replicate values [R] with its 95% CI over replicates (`dogym.agents.intervals.INTERVAL_METHOD`,
    `seed_summary`): {"mean", "ci": [low, high], "std", "n"}."""
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    if values.size == 0 or not np.all(np.isfinite(values)):
        raise ValueError("need at least one finite per-replicate value")
    stats = seed_summary(values)
    return {"mean": float(values.mean()), "ci": [float(v) for v in stats["mean_ci95"]], "std": float(values.std()),
            "n": int(values.size)}  # fmt: skip


def replicate_gaps(curves: np.ndarray, optima: np.ndarray) -> np.ndarray:
    """[R]: each replicate's per-replicate gap (eq. 4 on its own curve and optimum, `gap_scores` "replicate"),
    averaged over t."""
    curves = np.asarray(curves, dtype=np.float64)
    return gap_scores(curves, optima, curves[..., 0], mode="replicate").mean(axis=1)


def final_regrets(curves: np.ndarray, optima: np.ndarray) -> np.ndarray:
    """[R, T]: the best value found at the last trial of each t minus that replicate's y*_t (>= 0 up to the optimiser's
    tolerance)."""
    curves = np.asarray(curves, dtype=np.float64)
    return curves[..., -1] - np.broadcast_to(np.asarray(optima, dtype=np.float64), curves.shape[:2])


def replicate_scores(
    results: Sequence[ReplicateResult], optima: np.ndarray, tied_sets: Sequence[Any], optimal_sets: Sequence[Any]
) -> dict[str, Any]:
    """One method's scores over its replicates, each against its own evaluation (optima [R, T]; per replicate and t,
    the tied sets and the arg-min set): `replicate_summary`s of the per-replicate gap ("gap") and of the final regret
    averaged over t ("regret") and per t ("regret_per_t"), the % of (replicate, t) whose decision set is optimal
    (tolerant, any tied set: "optimal_set"; strict, the arg-min set: "optimal_set_strict"), the mean cumulative cost
    ("cost") and the median "seconds" and "cpu_seconds" of a replicate."""
    curves = curves_of(results)
    regrets = final_regrets(curves, optima)
    decisions = [r.decision_sets for r in results]
    return {
        "gap": replicate_summary(replicate_gaps(curves, optima)),
        "optimal_set": float(100.0 * set_hits(decisions, tied_sets).mean()),
        "optimal_set_strict": float(100.0 * set_hits(decisions, [[[s] for s in rep] for rep in optimal_sets]).mean()),
        "regret": replicate_summary(regrets.mean(axis=1)),
        "regret_per_t": [replicate_summary(regrets[:, t]) for t in range(regrets.shape[1])],
        "cost": float(np.mean([r.cumulative_cost()[-1, -1] for r in results])),
        "seconds": float(np.median([r.seconds for r in results])),
        "cpu_seconds": float(np.median([r.cpu_seconds for r in results])),
    }

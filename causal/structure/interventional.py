"""Orientation of edges at intervened variables from interventional data.

For an adjacent pair X - Y and data sampled under do(T) with X in T and Y not in T: if X -> Y, Y's distribution
depends on the value X is set to and in general differs from its observational distribution; if Y -> X, cutting X
from its parents leaves Y untouched (Eberhardt, Glymour and Scheines, "On the number of experiments sufficient and in
the worst case necessary to identify all causal relations among N variables"; Hauser and Buehlmann,
"Characterization and greedy learning of interventional Markov equivalence classes of directed acyclic graphs").
So X -> Y when the test below rejects "Y does not respond to do(X)" at level alpha, and Y -> X when it does not
(with enough rows, and unless Y's own do() left X unmoved too: see `interventional_orientations`).

The interventional rows come in groups (target set and regime, e.g. a time step with its realised past). For the rows
under do(T) with X in T and Y not in T the test makes:
- dose-response (when X takes several values): an F-test of the basis (s, s^2) of the normal scores s of X's do()
  values in a least-squares regression of Y's normal scores on it plus the other targets' indicators, on all rows
  of a regime whose do() included X and not Y, so a monotone or U-shaped response is found, and Kendall's tau
  between X's do() values and Y on the same rows (exact for small n: a monotone response shows in five rows, where
  the regression has no degrees of freedom left);
- shift (when T = {X}, and unless switched off): a two-sample Kolmogorov-Smirnov test of Y under do(X) against Y's
  observational rows (switch it off when the interventional rows are noise-free and the observational ones are not).
Y constant within a group (a non-descendant in a noise-free system) is no response: that group gives p = 1.
The p-values of all tests for the pair are combined by Bonferroni's rule (smallest p times the number of tests).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from math import comb, factorial

import numpy as np
from scipy.stats import f as f_dist
from scipy.stats import kendalltau, ks_2samp

from dogym.causal.structure.pc import normal_scores


def _quadratic(x: np.ndarray) -> np.ndarray | None:
    """[n, 2] basis (s, s^2) of the normal scores s of x (monotone and U-shaped responses, two degrees of freedom
    for the few rows one do() set gives), or None when x is (nearly) constant."""
    if np.ptp(x) <= 1e-12 * max(1.0, float(np.abs(x).max())):
        return None
    s = normal_scores(x[:, None])[:, 0]
    return np.stack([s, s**2], axis=1)


def _dose_response_pvalue(y: np.ndarray, x: np.ndarray, covariates: np.ndarray) -> float | None:
    """F-test p-value of the quadratic basis of x (`_quadratic`) in the regression of normal-scored y on it and the `covariates`
    columns ([n, c], plus an intercept); 1.0 when y is constant (no response); None when x is constant or the rows
    are too few."""
    n = len(y)
    basis = _quadratic(x)
    if basis is None:
        return None
    if np.ptp(y) <= 1e-12 * max(1.0, float(np.abs(y).max())):
        return 1.0
    base = np.column_stack([np.ones(n), covariates])
    full = np.column_stack([base, basis])
    rank_full = np.linalg.matrix_rank(full)
    rank_base = np.linalg.matrix_rank(base)
    dof = n - rank_full
    extra = rank_full - rank_base
    if dof < 2 or extra < 1:
        return None
    ys = normal_scores(y[:, None])[:, 0]
    rss_base = float(np.sum((ys - base @ np.linalg.lstsq(base, ys, rcond=None)[0]) ** 2))
    rss_full = float(np.sum((ys - full @ np.linalg.lstsq(full, ys, rcond=None)[0]) ** 2))
    if rss_base <= 1e-15:
        return 1.0
    if rss_full <= 1e-12 * rss_base:
        return 0.0
    stat = max(rss_base - rss_full, 0.0) / extra / (rss_full / dof)
    return float(f_dist.sf(stat, extra, dof))


def _kendall_pvalue(y: np.ndarray, x: np.ndarray) -> float | None:
    """Two-sided p-value of Kendall's tau between the cause's do() values and the effect (exact for small n): a
    monotone response shows in as few as 5 rows, where the regression test has no degrees of freedom left. 1.0 when
    y is constant; None when x is constant or there are fewer than 3 rows."""
    if len(x) < 3 or np.ptp(x) <= 1e-12 * max(1.0, float(np.abs(x).max())):
        return None
    if np.ptp(y) <= 1e-12 * max(1.0, float(np.abs(y).max())):
        return 1.0
    p = kendalltau(x, y).pvalue
    return 1.0 if not np.isfinite(p) else float(p)


def _other_targets(rows: np.ndarray, masks: np.ndarray, cause: int) -> np.ndarray:
    """Covariates for the other targets of pooled rows ([n, p] values, [n, p] intervened flags): the indicator of
    each other variable intervened on in some rows (not all), a fixed effect per target set. Their set values are
    left out: chosen independently of the cause's value they are noise, not confounders, and the few rows one
    target set gives cannot pay for them; their natural values in the other rows may descend from the cause."""
    columns = []
    for w in np.flatnonzero(masks.any(axis=0)):
        if w == cause:
            continue
        flag = masks[:, w]
        if not flag.all():
            columns.append(flag.astype(float)[:, None])
    return np.concatenate(columns, axis=1) if columns else np.zeros((len(rows), 0))


def response_pvalue(
    cause: int,
    effect: int,
    groups: Mapping[tuple[frozenset[int], Hashable], np.ndarray],
    observational: np.ndarray,
    shift_test: bool = True,
    level: float = 1.0,
) -> float | None:
    """Bonferroni-combined p-value of "the effect variable does not respond to do(cause)" (see module docstring):
    per regime, one dose-response test on every row whose do() included the cause and not the effect (whatever the
    other targets: they enter as covariates, `_other_targets`), and a shift test per group under do(cause) alone.

    groups: (target-index set, regime) -> [n, p] interventional rows; observational: [m, p] rows. A rank test whose
    smallest attainable p-value exceeds `level` (too few rows) is left out: it could only dilute the others. None
    when no group intervenes on `cause` without `effect` with enough rows (nothing to test)."""
    pvalues: list[float] = []
    pooled: dict[Hashable, list[tuple[frozenset[int], np.ndarray]]] = {}
    for (targets, regime), rows in groups.items():
        if cause not in targets or effect in targets or len(rows) == 0:
            continue
        pooled.setdefault(regime, []).append((targets, rows))
        reachable = 2.0 / comb(len(rows) + len(observational), len(rows)) <= level  # complete separation's p
        if shift_test and targets == frozenset({cause}) and reachable and len(observational) >= 2:
            if np.ptp(rows[:, effect]) <= 1e-12 * max(1.0, float(np.abs(rows[:, effect]).max())):
                pvalues.append(1.0)
            else:
                pvalues.append(float(ks_2samp(rows[:, effect], observational[:, effect]).pvalue))
    for blocks in pooled.values():
        rows = np.concatenate([r for _, r in blocks])
        masks = np.zeros(rows.shape, dtype=bool)
        start = 0
        for targets, r in blocks:
            masks[start : start + len(r), sorted(targets)] = True
            start += len(r)
        p = _dose_response_pvalue(rows[:, effect], rows[:, cause], _other_targets(rows, masks, cause))
        if p is not None:
            pvalues.append(p)
        p = _kendall_pvalue(rows[:, effect], rows[:, cause]) if 2.0 / factorial(len(rows)) <= level else None
        if p is not None:
            pvalues.append(p)
    if not pvalues:
        return None
    return min(1.0, min(pvalues) * len(pvalues))


#: Fewest rows under do(X) (without Y) for reading "Y does not respond" as Y -> X.
MIN_ROWS_NO_RESPONSE = 10


def interventional_orientations(
    adjacency: np.ndarray,
    groups: Mapping[tuple[frozenset[int], Hashable], np.ndarray],
    observational: np.ndarray,
    alpha: float,
    shift_test: bool = True,
    responses: Callable[[int, int], float | None] | None = None,
) -> list[tuple[int, int]]:
    """Directed pairs (a, b) the interventional data imply for adjacent pairs with an intervened end: X -> Y when Y
    responds to do(X) (p <= alpha; if both ends respond to each other's do(), the smaller p-value decides); Y -> X
    when Y does not respond to do(X) in at least `MIN_ROWS_NO_RESPONSE` rows and only X's side was tested; when both
    sides were tested and neither responds, the evidence contradicts itself (one of them must respond) and the pair
    is left to the other rules. Strongest evidence first. `responses(x, y)`: the response p-values (default
    `response_pvalue` on these data; pass a memo to share them with `ancestral_additions`)."""
    respond = responses or (lambda x, y: response_pvalue(x, y, groups, observational, shift_test, alpha))
    decided: list[tuple[float, tuple[int, int]]] = []
    intervened = set().union(*(targets for targets, _ in groups))
    p = adjacency.shape[0]
    for a in range(p):
        for b in range(a + 1, p):
            if not adjacency[a, b] or not ({a, b} & intervened):
                continue
            sides = {}
            for x, y in ((a, b), (b, a)):
                pval = respond(x, y)
                if pval is not None:
                    rows = sum(len(r) for (t, _), r in groups.items() if x in t and y not in t)
                    sides[(x, y)] = (pval, rows)
            responses = sorted((pval, pair) for pair, (pval, _) in sides.items() if pval <= alpha)
            if responses:
                decided.append(responses[0])
            elif len(sides) == 1:
                (((x, y), (pval, rows)),) = sides.items()
                if rows >= MIN_ROWS_NO_RESPONSE:
                    decided.append((1.0 + (1.0 - pval), (y, x)))  # a response is stronger evidence than none
    return [pair for _, pair in sorted(decided)]


def _reachable(directed: np.ndarray, undirected: np.ndarray, source: int) -> np.ndarray:
    """Nodes reachable from `source` along directed (forward) or undirected edges: its possible descendants."""
    step = directed | undirected
    seen = np.zeros(directed.shape[0], dtype=bool)
    frontier = seen.copy()
    frontier[source] = True
    while frontier.any():
        seen |= frontier
        frontier = step[frontier].any(axis=0) & ~seen
    seen[source] = False
    return seen


def ancestral_additions(
    directed: np.ndarray,
    undirected: np.ndarray,
    groups: Mapping[tuple[frozenset[int], Hashable], np.ndarray],
    observational: np.ndarray,
    alpha: float,
    shift_test: bool = True,
    forbidden: np.ndarray | None = None,
    dependence: Callable[[int, int], float] | None = None,
    responses: Callable[[int, int], float | None] | None = None,
) -> list[tuple[int, int]]:
    """Edges the interventions demand: Y responds to do(X) (the test of `response_pvalue`, with the false discovery
    rate of the pairs tested held at alpha by the procedure of Benjamini and Hochberg, "Controlling the false
    discovery rate: a practical and powerful approach to multiple testing"), so X is an ancestor of Y, yet the PDAG
    has no possibly directed path from X to Y (e.g. when a near-copy of Y explained X's edge away). The path is
    completed by one edge M -> Y from X or one of its possible descendants M: the one most dependent on Y (smallest
    `dependence(M, Y)` p-value; X itself without `dependence`), a heuristic that prefers the proximal cause. Pairs
    are handled strongest evidence first, and a pair already joined by an earlier addition needs none; an edge that
    is forbidden or would close a directed cycle is never added. `responses` as in `interventional_orientations`."""
    respond = responses or (lambda x, y: response_pvalue(x, y, groups, observational, shift_test, alpha))
    intervened = sorted(set().union(*(targets for targets, _ in groups)))
    n = directed.shape[0]
    blocked = np.zeros((n, n), dtype=bool) if forbidden is None else forbidden
    tested = []
    for x in intervened:
        reach = _reachable(directed, undirected, x)
        for y in range(n):
            if y != x and not reach[y] and not blocked[x, y]:
                p = respond(x, y)
                if p is not None:
                    tested.append((p, x, y))
    tested.sort()
    m = len(tested)
    passed = max((k for k, (p, _, _) in enumerate(tested, start=1) if p <= alpha * k / m), default=0)
    d = directed.copy()
    added = []
    for _, x, y in tested[:passed]:
        reach = _reachable(d, undirected, x)
        if reach[y]:
            continue
        sources = [x, *np.flatnonzero(reach).tolist()]
        sources = [s for s in sources if not blocked[s, y] and not _reachable(d, undirected, y)[s]]
        if not sources:
            continue
        if dependence is not None:
            sources.sort(key=lambda s: dependence(s, y))
        d[sources[0], y] = True
        added.append((sources[0], y))
    return added

"""The PC algorithm's skeleton phase (Spirtes, Glymour and Scheines, "Causation, Prediction, and Search"; the
order-independent "stable" variant of Colombo and Maathuis, "Order-independent constraint-based causal structure
learning") with a partial-correlation test, vectorised in numpy.

Conditional independence X _||_ Y | S is tested with Fisher's z of the partial correlation, read off the inverse of
the correlation submatrix of (X, Y, S); all conditioning sets of one size for one pair are inverted in one batched
call. `ci_test` chooses the correlation:
- "rank" (default): the nonparanormal / Gaussian-copula test of Liu, Lafferty and Wasserman, "The nonparanormal:
  semiparametric estimation of high dimensional undirected graphs", and Harris and Drton, "PC algorithm for
  nonparanormal graphical models": each column is replaced by its normal scores Phi^{-1}(rank / (n + 1)), so any
  monotone mechanism looks linear;
- "fisherz": Pearson correlation of the raw data (the Gaussian test).
Columns that are constant are independent of everything.

The separating sets are those of causal-learn's stable PC: an edge removed at depth d keeps the union of every
conditioning set of size d, from either endpoint's adjacency, that separated the pair; a triple x - y - z is a
collider iff y is in none of them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import combinations

import numpy as np
from scipy.special import ndtri
from scipy.stats import norm, rankdata

#: The conditional-independence tests `learn_skeleton` offers.
CI_TESTS: tuple[str, ...] = ("rank", "fisherz")


def normal_scores(x: np.ndarray) -> np.ndarray:
    """Column-wise normal scores Phi^{-1}(rank / (n + 1)) (average ranks for ties) of an [n, p] array."""
    x = np.asarray(x, dtype=np.float64)
    return ndtri(rankdata(x, axis=0) / (x.shape[0] + 1))


def correlation(x: np.ndarray, ci_test: str = "rank") -> np.ndarray:
    """The [p, p] correlation matrix the test reads (constant columns: correlation 0 off the diagonal)."""
    if ci_test not in CI_TESTS:
        raise ValueError(f"unknown ci_test {ci_test!r}; choose one of {', '.join(CI_TESTS)}")
    x = np.asarray(x, dtype=np.float64)
    if ci_test == "rank":
        x = normal_scores(x)
    centred = x - x.mean(axis=0)
    scale = np.sqrt(np.einsum("ij,ij->j", centred, centred))
    constant = scale <= 1e-12 * max(1.0, float(np.abs(x).max(initial=0.0)))
    z = np.where(constant, 0.0, centred / np.where(constant, 1.0, scale))
    corr = z.T @ z
    np.fill_diagonal(corr, 1.0)
    return np.clip(corr, -1.0, 1.0)


def fisher_z_pvalues(corr: np.ndarray, x: int, y: int, sets: np.ndarray, n: int) -> np.ndarray:
    """p-values of X _||_ Y | S for each row S of `sets` ([k, d] int), by Fisher's z of the partial correlation
    (two-sided). Rows where n - d - 3 <= 0 or the submatrix is singular get p = 0 (dependence: the edge stays)."""
    k, d = sets.shape
    if n - d - 3 <= 0:
        return np.zeros(k)
    idx = np.concatenate([np.tile([x, y], (k, 1)), sets], axis=1)
    sub = corr[idx[:, :, None], idx[:, None, :]]
    try:
        prec = np.linalg.inv(sub)
    except np.linalg.LinAlgError:
        prec = np.linalg.pinv(sub)
    denom = np.sqrt(np.abs(prec[:, 0, 0] * prec[:, 1, 1]))
    r = np.divide(-prec[:, 0, 1], denom, out=np.ones(k), where=denom > 0)
    r = np.clip(r, -1.0 + np.finfo(float).eps, 1.0 - np.finfo(float).eps)
    stat = np.sqrt(n - d - 3) * np.abs(np.arctanh(r))
    return 2.0 * norm.sf(stat)


def learn_skeleton(
    corr: np.ndarray,
    n: int,
    alpha: float,
    banned: np.ndarray | None = None,
    kept: np.ndarray | None = None,
    max_depth: int | None = None,
) -> tuple[np.ndarray, dict[tuple[int, int], frozenset[int] | None]]:
    """Stable PC skeleton from a correlation matrix of n rows: returns the symmetric adjacency and the separating
    variables of each removed pair (i, j), i < j (None for pairs `banned` removes a priori: no test was made).
    `kept` pairs (e.g. required edges) are never tested."""
    p = corr.shape[0]
    adj = ~np.eye(p, dtype=bool)
    separated: dict[tuple[int, int], frozenset[int] | None] = {}
    if banned is not None:
        banned = np.asarray(banned, dtype=bool)
        banned = banned & banned.T
        for i, j in zip(*np.nonzero(np.triu(banned, 1)), strict=True):
            separated[(int(i), int(j))] = None
        adj &= ~banned
    protect = np.zeros((p, p), dtype=bool) if kept is None else np.asarray(kept, dtype=bool) | np.asarray(kept).T
    depth = 0
    while adj.sum(axis=1).max(initial=0) - 1 >= depth and (max_depth is None or depth <= max_depth):
        frozen = adj.copy()
        removed: dict[tuple[int, int], set[int]] = {}
        for x in range(p):
            neighbours = np.flatnonzero(frozen[x])
            for y in neighbours:
                if protect[x, y]:
                    continue
                others = neighbours[neighbours != y]
                if len(others) < depth:
                    continue
                subsets = list(combinations(others.tolist(), depth))
                sets = np.array(subsets, dtype=np.int64).reshape(len(subsets), depth)
                pvalues = fisher_z_pvalues(corr, int(x), int(y), sets, n)
                independent = pvalues > alpha
                if independent.any():
                    key = (int(min(x, y)), int(max(x, y)))
                    removed.setdefault(key, set()).update(int(v) for v in np.unique(sets[independent]))
        for (i, j), sep in removed.items():
            adj[i, j] = adj[j, i] = False
            separated[(i, j)] = frozenset(sep)
        depth += 1
    return adj, separated


def data_matrix(data: Mapping[str, np.ndarray], names: Sequence[str], what: str = "data") -> np.ndarray:
    """[n, p] float array of the columns `names` of `data` (1-D columns of equal length), ValueError otherwise."""
    missing = [v for v in names if v not in data]
    if missing:
        raise ValueError(f"{what} lacks the columns {missing}; expected {list(names)}")
    extra = sorted(set(data) - set(names))
    if extra:
        raise ValueError(f"{what} has unknown columns {extra}; expected {list(names)}")
    columns = []
    for v in names:
        col = np.asarray(data[v], dtype=np.float64)
        if col.ndim != 1:
            raise ValueError(f"{what}[{v!r}] must be a 1-D array, got shape {col.shape}")
        if not np.all(np.isfinite(col)):
            raise ValueError(f"{what}[{v!r}] has non-finite values")
        columns.append(col)
    lengths = {len(c) for c in columns}
    if len(lengths) > 1:
        raise ValueError(f"{what} columns have different lengths: {dict(zip(names, map(len, columns), strict=True))}")
    return np.stack(columns, axis=1) if columns else np.zeros((0, 0))

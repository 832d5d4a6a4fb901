"""The PC algorithm's skeleton phase (Spirtes, Glymour and Scheines, "Causation, Prediction, and Search"; the
order-independent "stable" variant of Colombo and Maathuis, "Order-independent constraint-based causal structure
learning"), vectorised in numpy, with three conditional-independence tests (`CITest`):
- "basis": a residual test with a small basis. Each column is replaced by its normal scores
  Phi^{-1}(rank / (n + 1)) and expanded into the powers 1..3 of them (orthonormalised); X _||_ Y | S is the F-test
  that X's basis adds nothing to the least-squares regression of Y's normal score on S's bases, and the same with X
  and Y swapped (Bonferroni: twice the smaller p-value). It sees monotone and U-shaped dependence (a symmetric
  U-shaped effect has zero rank correlation);
- "rank" (the default of the learners): Fisher's z of the partial correlation of the normal scores, the nonparanormal / Gaussian-copula test
  (Liu, Lafferty and Wasserman, "The nonparanormal: semiparametric estimation of high dimensional undirected
  graphs"; Harris and Drton, "PC algorithm for nonparanormal graphical models"): any monotone mechanism looks linear;
- "fisherz": Fisher's z of the Pearson partial correlation (the Gaussian test), read off the inverse of the
  correlation submatrix of (X, Y, S); the submatrices of all conditioning sets of one size are inverted in one call.
A variable without variation on the tested rows is independent of everything. The learners default to "rank": with
interventions it had the lowest mean SHD over the five unknown-graph envs on the tuning seeds, and it is the fastest
(benchmarks/structure_continuous.py, results in benchmarks/results/structure_continuous_tuning.md); "basis" is the
choice for passive data with non-monotone effects.

The separating sets are those of causal-learn's stable PC: an edge removed at depth d keeps the union of every
conditioning set of size d, from either endpoint's adjacency, that separated the pair; a triple x - y - z is a
collider iff y is in none of them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from itertools import combinations

import numpy as np
from scipy.special import ndtri
from scipy.stats import f as f_dist
from scipy.stats import norm, rankdata

#: The conditional-independence tests `CITest` offers.
CI_TESTS: tuple[str, ...] = ("rank", "basis", "fisherz")

#: Degree of the polynomial basis of the "basis" test.
BASIS_DEGREE = 3


def normal_scores(x: np.ndarray) -> np.ndarray:
    """Column-wise normal scores Phi^{-1}(rank / (n + 1)) (average ranks for ties) of an [n, p] array."""
    x = np.asarray(x, dtype=np.float64)
    return ndtri(rankdata(x, axis=0) / (x.shape[0] + 1))


def fisher_z_pvalues(corr: np.ndarray, x: int, y: int, sets: np.ndarray, n: int) -> np.ndarray:
    """p-values of X _||_ Y | S for each row S of `sets` ([k, d] int), by Fisher's z of the partial correlation
    (two-sided), all k submatrices inverted in one batched call. Rows where n - d - 3 <= 0 get p = 0 (untestable:
    the edge stays)."""
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
    r = np.divide(-prec[:, 0, 1], denom, out=np.zeros(k), where=denom > 1e-300)
    r = np.clip(r, -1.0 + np.finfo(float).eps, 1.0 - np.finfo(float).eps)
    stat = np.sqrt(n - d - 3) * np.abs(np.arctanh(r))
    return 2.0 * norm.sf(stat)


def _orthonormal(columns: np.ndarray, tol: float = 1e-8) -> np.ndarray:
    """An orthonormal basis of the span of `columns` ([n, m]) by SVD, dropping directions below `tol` relative."""
    if columns.shape[1] == 0:
        return columns
    u, sv, _ = np.linalg.svd(columns, full_matrices=False)
    return u[:, sv > tol * max(float(sv[0]), 1e-300)] if sv[0] > 1e-12 else u[:, :0]


class CITest:
    """Conditional-independence tests X _||_ Y | S on [n, p] rows (see the module docstring for `ci_test`).

    targets: optional [n, p] booleans, row r intervened on variable v; a pair (x, y) is tested on the rows that did
    not intervene on y (where an edge x -> y shows) and on those that did not intervene on x (where y -> x shows),
    combined by Bonferroni (twice the smaller p-value); a do() that cut the edge never dilutes it, and a joint do()
    of both is never used. strata: optional [n] integer labels of regimes (e.g. time steps with different realised
    pasts); every test then adjusts for a fixed effect per regime (the columns are centred within regimes and the
    degrees of freedom reduced accordingly)."""

    def __init__(
        self,
        data: np.ndarray,
        ci_test: str = "rank",
        targets: np.ndarray | None = None,
        strata: np.ndarray | None = None,
    ):
        if ci_test not in CI_TESTS:
            raise ValueError(f"unknown ci_test {ci_test!r}; choose one of {', '.join(CI_TESTS)}")
        self.ci_test = ci_test
        self.data = np.asarray(data, dtype=np.float64)
        n, p = self.data.shape
        self.targets = np.zeros((n, p), dtype=bool) if targets is None else np.asarray(targets, dtype=bool)
        self.strata = np.zeros(n, dtype=np.int64) if strata is None else np.unique(strata, return_inverse=True)[1]
        self.scores = self.data if ci_test == "fisherz" else normal_scores(self.data)
        self._views: dict[bytes, tuple] = {}

    def _view(self, rows: np.ndarray) -> tuple:
        """(per-variable features or a correlation matrix, effective n, strata dummies) on the selected rows."""
        key = rows.tobytes()
        if key in self._views:
            return self._views[key]
        z = self.scores[rows]
        labels = self.strata[rows]
        present = np.unique(labels)
        dummies = (labels[:, None] == present[None, :]).astype(np.float64)
        # centre within regimes: subtract each regime's mean (projection off the dummies)
        means = (dummies.T @ z) / dummies.sum(axis=0)[:, None]
        centred = z - dummies @ means
        n_eff = len(z) - (len(present) - 1)
        if self.ci_test == "basis":
            features = []
            for j in range(z.shape[1]):
                powers = np.stack([z[:, j] ** k for k in range(1, BASIS_DEGREE + 1)], axis=1)
                powers = powers - dummies @ ((dummies.T @ powers) / dummies.sum(axis=0)[:, None])
                features.append(_orthonormal(powers))
            view = (features, centred, n_eff)
        else:
            scale = np.sqrt(np.einsum("ij,ij->j", centred, centred))
            constant = scale <= 1e-12 * max(1.0, float(np.abs(z).max(initial=0.0)))
            unit = np.where(constant, 0.0, centred / np.where(constant, 1.0, scale))
            corr = unit.T @ unit
            np.fill_diagonal(corr, 1.0)
            corr[constant, :] = corr[:, constant] = 0.0
            corr[constant, constant] = 1.0
            view = (np.clip(corr, -1.0, 1.0), centred, n_eff)
        self._views[key] = view
        return view

    def __call__(self, x: int, y: int, sets: np.ndarray) -> np.ndarray:
        """p-values of X _||_ Y | S for each row S of `sets` ([k, d] int variable indices)."""
        into_y, into_x = ~self.targets[:, y], ~self.targets[:, x]
        if np.array_equal(into_y, into_x):
            return self._pvalues(into_y, x, y, sets)
        # an edge x -> y shows on the rows that left y's mechanism alone, y -> x on those that left x's; a row set on
        # which x or y does not vary tells nothing and is left out
        informative = [rows for rows in (into_y, into_x) if self._varies(rows, x) and self._varies(rows, y)]
        if len(informative) < 2:
            return self._pvalues(informative[0] if informative else into_y, x, y, sets)
        both = np.minimum(self._pvalues(into_y, x, y, sets), self._pvalues(into_x, x, y, sets))
        return np.minimum(1.0, 2.0 * both)

    def _varies(self, rows: np.ndarray, v: int) -> bool:
        return bool(rows.any()) and bool(np.ptp(self.data[rows, v]) > 0)

    def _pvalues(self, rows: np.ndarray, x: int, y: int, sets: np.ndarray) -> np.ndarray:
        if rows.sum() == 0:
            return np.ones(len(sets))
        tables, centred, n_eff = self._view(rows)
        if self.ci_test != "basis":
            return fisher_z_pvalues(tables, x, y, sets, n_eff)
        return np.array([self._basis_pvalue(tables, centred, n_eff, x, y, row) for row in sets.tolist()])

    @staticmethod
    def _basis_pvalue(features, centred, n_eff: int, x: int, y: int, s: Sequence[int]) -> float:
        """Two F-tests, Y's (centred) normal score on X's basis given S's bases and the reverse, combined by
        Bonferroni (2 x the smaller p-value). Untestable (no residual degrees of freedom): p = 0, the edge stays;
        a variable without variation on these rows: p = 1."""
        if features[x].shape[1] == 0 or features[y].shape[1] == 0:
            return 1.0
        base = _orthonormal(np.concatenate([features[v] for v in s], axis=1)) if len(s) else centred[:, :0]
        pvalues = []
        for a, b in ((x, y), (y, x)):
            extra_cols = features[a] - base @ (base.T @ features[a])
            extra = _orthonormal(extra_cols)
            k = extra.shape[1]
            dof = n_eff - 1 - base.shape[1] - k
            if k == 0:
                pvalues.append(1.0)
                continue
            if dof <= 0:
                return 0.0
            t = centred[:, b] - base @ (base.T @ centred[:, b])
            rss_base = float(t @ t)
            explained = float(np.sum((extra.T @ t) ** 2))
            rss_full = max(rss_base - explained, 0.0)
            if rss_base <= 1e-24:
                pvalues.append(1.0)
                continue
            if rss_full <= 1e-12 * rss_base:
                pvalues.append(0.0)
                continue
            stat = explained / k / (rss_full / dof)
            pvalues.append(float(f_dist.sf(stat, k, dof)))
        return min(1.0, 2.0 * min(pvalues))


def learn_skeleton(
    test: Callable[[int, int, np.ndarray], np.ndarray],
    p: int,
    alpha: float,
    banned: np.ndarray | None = None,
    kept: np.ndarray | None = None,
    max_depth: int | None = None,
) -> tuple[np.ndarray, dict[tuple[int, int], frozenset[int] | None]]:
    """Stable PC skeleton over p variables with the conditional-independence `test`: returns the symmetric adjacency and the separating
    variables of each removed pair (i, j), i < j (None for pairs `banned` removes a priori: no test was made).
    `kept` pairs (e.g. required edges) are never tested."""
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
                pvalues = test(int(x), int(y), sets)
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


def causallearn_pdag(rows: np.ndarray, names: Sequence[str], alpha: float):
    """causal-learn's PC (stable, Fisher-z, colliders with existing ones first, Meek's rules) on [n, p] rows, as a
    `dogym.causal.structure.pdag.PDAG` (a bidirected conflict edge becomes undirected): the reference our PC is
    checked against. Needs the optional causal-learn package."""
    from causallearn.search.ConstraintBased.PC import pc
    from causallearn.utils.cit import fisherz

    from dogym.causal.structure.pdag import PDAG

    graph = pc(np.asarray(rows, dtype=np.float64), alpha, fisherz, stable=True, show_progress=False).G.graph
    directed = (graph.T == 1) & (graph == -1)
    undirected = ((graph == -1) & (graph.T == -1)) | ((graph == 1) & (graph.T == 1))
    return PDAG.from_matrices(list(names), directed, undirected)

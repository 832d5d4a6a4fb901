"""Topological Hawkes process (THP) structure learning (Cai et al., "THP: Topological Hawkes Processes for Learning
Causal Structure on Event Sequences"; Cai et al. section 5 uses it for the initial alarm graph).

Model: for event type v on device n, lambda_v(n, t) = mu_v + sum_{c in PA(v)} sum_k alpha_{c,v,k}
sum_{events j of type c before t} A_k[n_j, n] exp(-decay (t - t_j)), with hop operators A_k over the device
topology. The log-likelihood decomposes over effect types, so each type's term depends only on its parent set:
it is fitted by EM (branching-structure responsibilities) and cached per (type, parent set). Structure search is
greedy hill climbing over single-edge additions, deletions and reversals that keep the graph a DAG, scored by the
log-likelihood minus a penalty per edge (`penalty` x the BIC's log M / 2 per parameter, `max_hop` parameters per
edge).

The kernel decay and the penalty are chosen from the data unless the user fixes them: the decay maximises the
held-out log-likelihood of the model with every possible edge, and the penalty that of the learned structure, on
the last part of the log (a time split) with parameters fitted on the first part; the structure is then learned
on the whole log.

Hot paths are vectorised: the events that the topology links are indexed once (`ExcitationIndex`), so the
excitation features of every candidate decay are one cumulative log-sum-exp, and all candidate parent sets of one
type are fitted in one batched EM.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx
import numpy as np

from dogym.causal.graphs import causal_order
from dogym.causal.structure.event_table import EventTable
from dogym.causal.structure.hawkes import kernel_mass

_BLOCK = 1024

# Selection constants, chosen by benchmarks/select_thp_defaults.py on generator models and seeds disjoint from
# the reported ones (see benchmarks/results/thp_defaults.json).
DECAY_GRID = (0.1, 1.0, 10.0, 100.0, 1000.0, 10000.0, 100000.0)  # candidate decays x the log's time span
PENALTY_GRID = (0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0)  # candidate penalties (x BIC)
DECAY_EM_STEPS = 30  # EM steps per fit of the model with every edge when comparing decays
HOLDOUT = 0.3  # fraction of the events (the last ones) held out for selection
FOLDS = 1  # forward-chaining folds in the held-out part (each trains on all events before its window)
EM_TOL = 1e-5  # THP's EM stops when a SQUAREM cycle changes the log-likelihood by < EM_TOL x |log-likelihood|
N_BLOCKS = 10  # held-out blocks for the standard error of a log-likelihood difference
SE_RULE = 1.0  # penalties whose held-out log-likelihood is within SE_RULE standard errors of the best tie ...
TIE_BREAK = "dense"  # ... and among them the largest ("sparse") or the smallest ("dense") penalty is chosen
MIN_SHARE = 0.02  # an edge must explain at least this share of its effect type's events (`prune_weak_parents`;
# chosen by benchmarks/select_thp_min_share.py, see benchmarks/results/thp_min_share.md)


@dataclass(frozen=True)
class THPSelection:
    """How the data chose THP's settings: the decays tried and the held-out log-likelihood (nats) of the model with
    every edge at each, the penalty grid and the held-out log-likelihood of the structure learned at each penalty
    with its standard error relative to the best, and the held-out fraction."""

    decay_grid: tuple[float, ...]
    decay_scores: tuple[float, ...]
    penalty_grid: tuple[float, ...]
    penalty_scores: tuple[float, ...]
    penalty_stderr: tuple[float, ...]
    holdout: float


@dataclass(frozen=True)
class THPResult:
    """A learned THP: DAG over type names (edges carry `alpha`, one value per hop), its causal order and the
    fitted parameters mu (V,), alpha (max_hop, V, V) [hop, cause, effect], with the final score, and the kernel
    decay and penalty actually used (`selection` says how the data chose them; None when the user fixed both)."""

    graph: nx.DiGraph
    causal_order: list[str]
    mu: np.ndarray
    alpha: np.ndarray
    log_likelihood: float
    score: float
    n_moves: int
    decay: float
    penalty: float
    selection: THPSelection | None = None


@dataclass(frozen=True)
class ExcitationFeatures:
    """Per-event excitation sums phi (M, max_hop * V) and their integrals over the horizon (max_hop * V,).

    Column k * V + c holds sum over earlier events j of type c of A_k[n_j, n_i] exp(-decay (t_i - t_j)).
    """

    phi: np.ndarray
    integral: np.ndarray
    exposure: float  # horizon * n_devices: the integral of mu's unit intensity


@dataclass(frozen=True)
class ExcitationIndex:
    """The excitation sums of every event as running sums, for any decay.

    Column k * V + c of event i's features is a sum over the events j of type c before t_i whose device n_j links to
    n_i at hop k, of A_k[n_j, n_i] exp(-decay (t_i - t_j)): for each group (k, target device n, type c) a running
    sum over its sources in time order, read just before each query (the events on device n). Sources and queries of
    all groups are sorted once, groups one after another and by time within a group, with the queries before the
    sources at equal times (only strictly earlier events excite); one decay is then one cumulative log-sum-exp
    (`phi`), O(events x linked devices x hops + events x hops x types) time and memory, whatever the lags."""

    group: np.ndarray  # (E,) group of each sorted entry
    time: np.ndarray  # (E,) its time
    log_weight: np.ndarray  # (E,) log A_k[n_j, n] for sources, -inf for queries
    query_at: np.ndarray  # (Q,) position of each query in the sorted entries
    query_cell: np.ndarray  # (Q,) flat index i * n_cols + k * V + c of the feature the query reads
    n_rows: int
    n_cols: int

    def phi(self, decay: float) -> np.ndarray:
        """The (M, max_hop * V) excitation sums under the exponential kernel `decay`."""
        _check_decay(decay)
        out = np.zeros(self.n_rows * self.n_cols)
        if len(self.query_at):
            t0 = self.time.min()
            span = float(self.time.max() - t0)
            # Group g's terms are offset by g * step, so every earlier group's total is below exp(-800) (0.0 in
            # double precision) of any of its terms: one cumulative log-sum-exp over all groups acts as a running sum
            # that restarts at each group.
            low = min(float(self.log_weight[np.isfinite(self.log_weight)].min(initial=0.0)), 0.0)
            step = decay * span + 800.0 + np.log(len(self.group)) - low
            rel = decay * (self.time - t0)
            acc = np.logaddexp.accumulate(self.log_weight + rel + self.group * step)
            q = self.query_at
            out[self.query_cell] = np.exp(acc[q] - rel[q] - self.group[q] * step)
        return out.reshape(self.n_rows, self.n_cols)


def excitation_index(events: EventTable, hops: np.ndarray) -> ExcitationIndex:
    """The `ExcitationIndex` of the events under hop operators `hops` (max_hop, N, N)."""
    hops = _check_hops(events, hops)
    n_hop, n_dev, n_types, m = hops.shape[0], events.n_devices, events.n_types, len(events)
    t, dev, typ = events.times, events.devices, events.types
    # sources: (event j, hop k, target device n) with A_k[n_j, n] != 0, in group (k, n, type_j)
    k_idx, src_dev, dst_dev = np.nonzero(hops)
    link_of = np.argsort(src_dev, kind="stable")  # links grouped by source device
    first = np.searchsorted(src_dev[link_of], np.arange(n_dev + 1))
    per_event = first[dev + 1] - first[dev]
    j = np.repeat(np.arange(m), per_event)
    link = link_of[np.repeat(first[dev], per_event) + _ramp(per_event)]
    src_group = (k_idx[link] * n_dev + dst_dev[link]) * n_types + typ[j]
    src_logw = np.log(hops[k_idx[link], src_dev[link], dst_dev[link]])
    # queries: (event i, hop k, type c) in group (k, n_i, c)
    qi = np.repeat(np.arange(m), n_hop * n_types)
    qk = np.tile(np.repeat(np.arange(n_hop), n_types), m)
    qc = np.tile(np.arange(n_types), m * n_hop)
    q_group = (qk * n_dev + dev[qi]) * n_types + qc
    group = np.concatenate([q_group, src_group])
    time = np.concatenate([t[qi], t[j]])
    is_source = np.concatenate([np.zeros(len(qi), bool), np.ones(len(j), bool)])
    order = np.lexsort((is_source, time, group))
    position = np.empty(len(order), dtype=np.int64)
    position[order] = np.arange(len(order))
    log_weight = np.concatenate([np.full(len(qi), -np.inf), src_logw])[order]
    n_cols = n_hop * n_types
    return ExcitationIndex(
        group[order].astype(float),
        time[order],
        log_weight,
        position[: len(qi)],
        qi * n_cols + qk * n_types + qc,
        m,
        n_cols,
    )


def _ramp(counts: np.ndarray) -> np.ndarray:
    """0, 1, ..., c - 1 for each c in `counts`, concatenated."""
    total = int(counts.sum())
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    return np.arange(total) - starts


def _check_hops(events: EventTable, hops: np.ndarray) -> np.ndarray:
    hops = np.asarray(hops, dtype=float)
    if hops.ndim != 3 or hops.shape[1:] != (events.n_devices, events.n_devices):
        raise ValueError(f"hops must have shape (max_hop, {events.n_devices}, {events.n_devices}), got {hops.shape}")
    return hops


def _check_decay(decay: float) -> None:
    if not np.isfinite(decay) or decay < 0:
        raise ValueError(f"kernel decay must be finite and >= 0, got {decay}")


def dense_phi(events: EventTable, hops: np.ndarray, decay: float) -> np.ndarray:
    """The (M, max_hop * V) excitation sums, computed over time-ordered blocks of all event pairs (the reference
    for `ExcitationIndex`: quadratic in the events)."""
    n_hop, n_types, m = hops.shape[0], events.n_types, len(events)
    t, dev, typ = events.times, events.devices, events.types
    onehot = np.zeros((m, n_types))
    onehot[np.arange(m), typ] = 1.0
    phi = np.zeros((m, n_hop * n_types))
    for lo in range(0, m, _BLOCK):
        hi = min(lo + _BLOCK, m)
        last = int(np.searchsorted(t, t[hi - 1], side="left"))  # only strictly earlier events excite
        if last == 0:
            continue
        dt = t[lo:hi, None] - t[None, :last]
        kern = np.where(dt > 0, np.exp(-decay * np.maximum(dt, 0.0)), 0.0)
        for k in range(n_hop):
            weight = kern * hops[k][dev[lo:hi]][:, dev[:last]]
            phi[lo:hi, k * n_types : (k + 1) * n_types] = weight @ onehot[:last]
    return phi


def window_integral(events: EventTable, hops: np.ndarray, decay: float, start: float, end: float) -> np.ndarray:
    """(max_hop * V,) integrals over [start, end] of the excitation sums, summed over all target devices."""
    n_hop, n_types = hops.shape[0], events.n_types
    t = events.times
    lo = np.maximum(t, start)
    mass = kernel_mass(decay, t, lo, np.full(len(t), end))
    integral = np.zeros(n_hop * n_types)
    for k in range(n_hop):
        reach = hops[k].sum(axis=1)[events.devices]  # sum over target devices n of A_k[n_j, n]
        integral[k * n_types : (k + 1) * n_types] = np.bincount(events.types, weights=reach * mass, minlength=n_types)
    return integral


def excitation_features(
    events: EventTable, hops: np.ndarray, decay: float, index: ExcitationIndex | None = None
) -> ExcitationFeatures:
    """Excitation features of every event under exponential kernel `decay` and hop operators `hops` (K, N, N).

    `index` (from `excitation_index` on the same events and hops) saves building it again for each decay.
    """
    hops = _check_hops(events, hops)
    _check_decay(decay)
    phi = (excitation_index(events, hops) if index is None else index).phi(decay)
    integral = window_integral(events, hops, decay, 0.0, events.horizon)
    return ExcitationFeatures(phi, integral, events.horizon * events.n_devices)


def batched_em(
    x: np.ndarray,
    g: np.ndarray,
    theta: np.ndarray,
    n_iter: int = 100,
    tol: float = 1e-6,
    weights: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Maximise sum_i w_i log(theta . x_i) - theta . g for B independent problems by EM.

    x (B, n, F) >= 0, g (B, F) > 0, theta (B, F) >= 0 the start, weights (n,) >= 0 (default 1: point-process
    events; counts for Poisson count data). Returns (theta, log-likelihood (B,)). The EM step is
    theta_f <- theta_f * sum_i w_i x_if / lambda_i / g_f (responsibilities of the branching structure), accelerated
    by squared extrapolation (Varadhan and Roland, "Simple and globally convergent methods for accelerating the
    convergence of any EM algorithm") with a fall-back to the plain EM step wherever extrapolating does not help;
    `n_iter` caps the EM steps per problem.
    """
    theta = theta.copy()
    w = np.ones(x.shape[1]) if weights is None else np.asarray(weights, dtype=float)
    out_ll = np.zeros(len(theta))
    active = np.arange(len(theta))  # problems not yet converged; x and g are cut down to them as they converge
    prev = np.full(len(theta), -np.inf)
    steps = 0
    while True:
        th = theta[active]
        t1, ll = _em_step(x, g, w, th)
        done = (np.abs(ll - prev) <= tol * np.maximum(1.0, np.abs(ll))) | (steps + 3 > n_iter)
        if done.any():
            out_ll[active[done]] = ll[done]
            keep = ~done
            if not keep.any():
                return theta, out_ll
            active, x, g, th, t1, ll = active[keep], x[keep], g[keep], th[keep], t1[keep], ll[keep]
        prev = ll
        t2, ll1 = _em_step(x, g, w, t1)
        r, v = t1 - th, t2 - 2.0 * t1 + th
        rr, vv = (r * r).sum(axis=1), (v * v).sum(axis=1)
        step = -np.sqrt(np.divide(rr, vv, out=np.ones_like(rr), where=vv > 0))
        step = np.minimum(step, -1.0)[:, None]
        jump = th - 2.0 * step * r + step * step * v
        ok = np.all(jump > 0, axis=1)
        jump[~ok] = t2[~ok]
        t3, ll_jump = _em_step(x, g, w, jump)
        worse = ll_jump < ll1
        t3[worse] = t2[worse]
        theta[active] = t3
        steps += 3


def _em_step(x: np.ndarray, g: np.ndarray, w: np.ndarray, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One EM step from `theta` and the log-likelihood at `theta` (see `batched_em`)."""
    lam = np.maximum(np.matmul(x, theta[:, :, None])[:, :, 0], 1e-300)
    ll = np.log(lam) @ w - (theta * g).sum(axis=1)
    return theta * np.matmul((w / lam)[:, None, :], x)[:, 0, :] / g, ll


class TypeScorer:
    """One effect type's log-likelihood as a function of its parent set, fitted by EM and cached per parent set.

    x (n, 1 + max_hop * V): a column of ones (for mu) then the excitation features (column 1 + k * V + c for
    cause type c at hop k) of the n observations; g (1 + max_hop * V): their integrals (compensator);
    weights (n,): events per observation (None: one each). The log-likelihood is
    sum_i w_i log(theta . x_i) - theta . g over the columns that the parent set selects.
    """

    def __init__(
        self,
        x: np.ndarray,
        g: np.ndarray,
        n_types: int,
        n_hop: int,
        n_iter: int,
        weights: np.ndarray | None = None,
        tol: float = 1e-6,
    ) -> None:
        self.x, self.g, self.weights = x, np.maximum(g, 1e-12), weights
        self.n_types, self.n_hop, self.n_iter, self.tol = n_types, n_hop, n_iter, tol
        self.n_events = float(len(x) if weights is None else np.sum(weights))
        self.cache: dict[frozenset[int], tuple[float, np.ndarray]] = {}
        #: EM starting points per parent set, e.g. the fits of an earlier scorer on most of the same data.
        self.prior: dict[frozenset[int], np.ndarray] = {}

    @classmethod
    def from_features(
        cls, feats: ExcitationFeatures, rows: np.ndarray, n_types: int, n_hop: int, n_iter: int, tol: float = 1e-6
    ) -> TypeScorer:
        """The scorer of the effect type whose events are `rows` of the point-process features."""
        x = np.concatenate([np.ones((len(rows), 1)), feats.phi[rows]], axis=1)
        return cls(x, np.concatenate([[feats.exposure], feats.integral]), n_types, n_hop, n_iter, tol=tol)

    def columns(self, parents: frozenset[int]) -> np.ndarray:
        """Columns of x (and entries of theta) that the parent set selects: mu, then each parent's hops."""
        causes = np.array(sorted(parents), dtype=np.int64)
        hops = 1 + np.arange(self.n_hop, dtype=np.int64) * self.n_types
        return np.concatenate([[0], (causes[:, None] + hops[None, :]).ravel()])

    def fit(self, sets: list[frozenset[int]]) -> None:
        """Fit every parent set in `sets` not yet cached, in one batch per set size."""
        todo = [s for s in dict.fromkeys(sets) if s not in self.cache]
        by_size: dict[int, list[frozenset[int]]] = {}
        for s in todo:
            by_size.setdefault(len(s), []).append(s)
        for group in by_size.values():
            cols = np.stack([self.columns(s) for s in group])
            x = self.x[:, cols].transpose(1, 0, 2)
            g = self.g[cols]
            if self.n_events == 0:
                theta = np.zeros_like(g)
                self.cache.update({s: (0.0, th) for s, th in zip(group, theta, strict=True)})
                continue
            theta = np.full(g.shape, 0.0)
            theta[:, 0] = 0.5 * self.n_events / g[:, 0]
            theta[:, 1:] = 0.5 * self.n_events / (g[:, 1:] * max(cols.shape[1] - 1, 1))
            for i, s in enumerate(group):
                if s in self.prior:
                    theta[i] = self.prior[s]
                else:
                    self._warm_start(s, cols[i], theta[i])
            theta, ll = batched_em(x, g, theta, self.n_iter, self.tol, weights=self.weights)
            self.cache.update({s: (float(v), th) for s, v, th in zip(group, ll, theta, strict=True)})

    def _warm_start(self, parents: frozenset[int], cols: np.ndarray, theta: np.ndarray) -> None:
        """Start EM from the fit of a cached parent set that differs by one parent, when there is one: its
        parameters where the columns agree, and a tenth of the default start for the new parent's columns."""
        for c in sorted(parents):
            near = self.cache.get(parents - {c})
            if near is None:
                continue
            index = {col: i for i, col in enumerate(self.columns(parents - {c}))}
            theta *= 0.1
            for i, col in enumerate(cols):
                if col in index:
                    theta[i] = near[1][index[col]]
            return

    def loglik(self, parents: frozenset[int]) -> float:
        """The maximised log-likelihood of this type under `parents`."""
        self.fit([parents])
        return self.cache[parents][0]

    def shares(self, parents: frozenset[int]) -> dict[int, float]:
        """Per parent, the share of this type's events that the fitted model attributes to it: at the maximum
        likelihood, the events attributed to column f (the sum of their branching responsibilities) are
        theta_f g_f, summed over the parent's hops, over the number of events."""
        self.fit([parents])
        theta = self.cache[parents][1]
        attributed = theta * self.g[self.columns(parents)] / max(self.n_events, 1e-300)
        hops = attributed[1:].reshape(len(parents), self.n_hop).sum(axis=1)
        return dict(zip(sorted(parents), hops.tolist(), strict=True))

    def evaluate(self, parents: frozenset[int], theta: np.ndarray) -> float:
        """The log-likelihood of given parameters `theta` (laid out as `columns(parents)`) on this data."""
        cols = self.columns(parents)
        lam = np.maximum(self.x[:, cols] @ theta, 1e-300)
        w = np.ones(len(lam)) if self.weights is None else self.weights
        return float(np.log(lam) @ w - theta @ self.g[cols])


@dataclass
class _SplitScorers:
    """Per-type scorers of the training part (first events) and the held-out part (last events) of one log at one
    decay, the held-out part also cut into time blocks (for standard errors)."""

    train: list[TypeScorer]
    test: list[list[TypeScorer]] = field(default_factory=list)  # [block][type]
    n_train: int = 0
    x: np.ndarray | None = None  # the whole log's design matrix [1, phi] at this decay

    def heldout(self, parents: list[frozenset[int]]) -> np.ndarray:
        """Held-out log-likelihood (blocks, types) of the structure `parents` with its training-part parameters."""
        for v, pa in enumerate(parents):
            self.train[v].fit([pa])
        return np.array(
            [[blk[v].evaluate(pa, self.train[v].cache[pa][1]) for v, pa in enumerate(parents)] for blk in self.test]
        )


class THP:
    """THP structure learner (Cai et al., "THP: Topological Hawkes Processes for Learning Causal Structure on Event
    Sequences"): `fit(events, hops)` returns a `THPResult`.

    `decay` is the exponential-kernel rate and `penalty` scales the BIC penalty (1.0 = BIC, log M / 2 per
    parameter). Either left None (the default) is chosen from the data by held-out log-likelihood on a time split:
    the decay on `decay_grid` (in units of 1 / the log's time span, refined around the best) for the model with
    every edge, then the penalty on `penalty_grid` for the structure learned at each penalty; parameters are fitted
    on the events before the held-out part, which is the last `holdout` fraction of the events (in `folds`
    forward-chaining windows). Penalties whose held-out log-likelihood is within `se_rule` standard errors (over
    time blocks) of the best tie, and the largest (`tie_break="sparse"`) or smallest ("dense") of them is chosen;
    the structure is then learned on the whole log. Every learned structure then loses the edges that explain less
    than `min_share` of their effect type's events (`prune_weak_parents`). The result records the decay and penalty
    used and the held-out scores. `max_parents` bounds in-degree (None =
    unbounded); `n_iter` caps EM steps per fit and `em_tol` is EM's relative convergence tolerance.
    """

    def __init__(
        self,
        decay: float | None = None,
        penalty: float | None = None,
        max_parents: int | None = None,
        n_iter: int = 100,
        *,
        decay_grid: tuple[float, ...] = DECAY_GRID,
        penalty_grid: tuple[float, ...] = PENALTY_GRID,
        holdout: float = HOLDOUT,
        se_rule: float = SE_RULE,
        tie_break: str = TIE_BREAK,
        folds: int = FOLDS,
        em_tol: float = EM_TOL,
        min_share: float = MIN_SHARE,
    ) -> None:
        if decay is not None:
            _check_decay(decay)
        if penalty is not None and not penalty >= 0:
            raise ValueError(f"penalty must be >= 0, got {penalty}")
        if n_iter < 1:
            raise ValueError(f"n_iter must be >= 1, got {n_iter}")
        if not 0.0 < holdout < 1.0:
            raise ValueError(f"holdout must be in (0, 1), got {holdout}")
        if not decay_grid or min(decay_grid) <= 0:
            raise ValueError(f"decay_grid must be non-empty and positive, got {decay_grid}")
        if not penalty_grid or min(penalty_grid) < 0:
            raise ValueError(f"penalty_grid must be non-empty and >= 0, got {penalty_grid}")
        if se_rule < 0:
            raise ValueError(f"se_rule must be >= 0, got {se_rule}")
        if tie_break not in ("sparse", "dense"):
            raise ValueError(f"tie_break must be 'sparse' or 'dense', got {tie_break!r}")
        if folds < 1:
            raise ValueError(f"folds must be >= 1, got {folds}")
        if not 0.0 <= min_share < 1.0:
            raise ValueError(f"min_share must be in [0, 1), got {min_share}")
        if not 0.0 < em_tol < 1.0:
            raise ValueError(f"em_tol must be in (0, 1), got {em_tol}")
        self.decay = None if decay is None else float(decay)
        self.penalty = None if penalty is None else float(penalty)
        self.max_parents, self.n_iter = max_parents, n_iter
        self.decay_grid, self.penalty_grid = tuple(decay_grid), tuple(sorted(penalty_grid))
        self.holdout, self.se_rule, self.tie_break, self.folds = float(holdout), float(se_rule), tie_break, folds
        self.em_tol, self.min_share = float(em_tol), float(min_share)

    def fit(self, events: EventTable, hops: np.ndarray) -> THPResult:
        """Learn a DAG over `events.type_names` from the events and hop operators (max_hop, N, N)."""
        if len(events) < 2:
            raise ValueError(f"THP needs at least 2 events, got {len(events)}")
        hops = _check_hops(events, hops)
        n_types, n_hop = events.n_types, hops.shape[0]
        index = excitation_index(events, hops)
        selection, start = None, None
        decay, penalty = self.decay, self.penalty
        if decay is None or penalty is None:
            decay, penalty, selection, start = self._select(events, hops, index)
        feats = excitation_features(events, hops, decay, index)
        scorers = [
            TypeScorer.from_features(feats, np.flatnonzero(events.types == v), n_types, n_hop, self.n_iter, self.em_tol)
            for v in range(n_types)
        ]
        edge_pen = np.broadcast_to(np.asarray(penalty, dtype=float) * 0.5 * np.log(len(events)) * n_hop, (n_types,))
        parents, n_moves = greedy_search(scorers, edge_pen, self.max_parents, start)
        parents = prune_weak_parents(scorers, parents, self.min_share)
        return self._result(events, scorers, parents, edge_pen, n_moves, decay, penalty, selection)

    def _select(
        self, events: EventTable, hops: np.ndarray, index: ExcitationIndex
    ) -> tuple[float, float, THPSelection, list[frozenset[int]]]:
        """Chosen (decay, penalty), the record of the choice, and the structure learned on the training part."""
        span = max(events.horizon - float(events.times[0]), 1e-12)
        if self.decay is None:
            decays, decay_scores, split = self._select_decay(events, hops, index, span)
            decay = decays[int(np.argmax(decay_scores))]
        else:
            decay = self.decay
            split = self._split(events, hops, decay, index)
            decays, decay_scores = (decay,), (float("nan"),)
        splits = [split] + [self._split(events, hops, decay, split.x, fold) for fold in range(1, self.folds)]
        grid = self.penalty_grid if self.penalty is None else (self.penalty,)
        paths = [self._penalty_path(part, grid, hops.shape[0]) for part in splits]
        structures = [path[0] for path in paths]  # [split][penalty, sparse first]
        blocks = [path[1] for path in paths]
        per_pen = [np.concatenate([b[j] for b in blocks]).sum(axis=1) for j in range(len(grid))][::-1]  # ascending
        totals, stderr, ok = within_se(per_pen, self.se_rule)
        chosen = int(ok.max() if self.tie_break == "sparse" else ok.min())  # the grid is ascending
        penalty = grid[chosen] if self.penalty is None else self.penalty
        record = THPSelection(
            tuple(decays), decay_scores, tuple(grid), tuple(totals.tolist()), tuple(stderr.tolist()), self.holdout
        )
        return decay, penalty, record, structures[0][::-1][chosen]

    def _penalty_path(
        self, part: _SplitScorers, grid: tuple[float, ...], n_hop: int
    ) -> tuple[list[list[frozenset[int]]], list[np.ndarray]]:
        """The structures learned on `part`'s training events at each penalty of `grid`, sparse to dense (each search
        starts from the sparser graph before pruning), weak edges pruned, and their held-out log-likelihoods (blocks,
        types)."""
        edge_unit = 0.5 * np.log(part.n_train) * n_hop
        structures: list[list[frozenset[int]]] = []
        blocks: list[np.ndarray] = []
        grown: list[frozenset[int]] | None = None
        for pen in sorted(grid, reverse=True):
            grown, _ = greedy_search(part.train, pen * edge_unit, self.max_parents, grown)
            parents = prune_weak_parents(part.train, grown, self.min_share)
            structures.append(parents)
            blocks.append(part.heldout(parents))
        return structures, blocks

    def _select_decay(
        self, events: EventTable, hops: np.ndarray, index: ExcitationIndex, span: float
    ) -> tuple[tuple[float, ...], tuple[float, ...], _SplitScorers]:
        """Held-out log-likelihood (one held-out block) of the model with every edge at decays of the grid (x 1 /
        span): from the middle of the grid uphill, stopping at the first decay that scores worse (coarse, early
        stop); then at the geometric midpoints between the best grid decay and its neighbours, then at the vertex of
        a parabola in log decay through the best three (fine). Every candidate's features come from the same
        `index`. Returns the decays tried (ascending), their scores and the (forward) split scorers at the best."""
        n_types = events.n_types
        full = [frozenset(range(n_types)) - {v} for v in range(n_types)]
        tried: dict[float, tuple[float, _SplitScorers]] = {}

        def score(decay: float) -> float:
            if decay in tried:
                return tried[decay][0]
            split = self._split(events, hops, decay, index, n_blocks=1)
            for scorer in split.train:  # a coarser fit suffices to compare decays
                scorer.n_iter = min(self.n_iter, DECAY_EM_STEPS)
            tried[decay] = (float(split.heldout(full).sum()), split)
            for v, scorer in enumerate(split.train):
                scorer.n_iter = self.n_iter
                scorer.cache.pop(full[v], None)
            return tried[decay][0]

        grid = sorted(c / span for c in self.decay_grid)
        start = best = len(grid) // 2
        for step in (1, -1):
            while 0 <= best + step < len(grid) and score(grid[best + step]) > score(grid[best]):
                best += step
            if best != start:
                break
        for j in (best - 1, best + 1):
            if 0 <= j < len(grid):
                score(float(np.sqrt(grid[best] * grid[j])))
        vertex = _parabola_vertex({np.log(d): v for d, (v, _) in tried.items()})
        if vertex is not None and np.exp(vertex) not in tried:
            score(float(np.exp(vertex)))
        decays = tuple(sorted(tried))
        top = max(decays, key=lambda d: tried[d][0])
        return decays, tuple(tried[d][0] for d in decays), self._split(events, hops, top, tried[top][1].x)

    def _split(
        self,
        events: EventTable,
        hops: np.ndarray,
        decay: float,
        source: ExcitationIndex | np.ndarray,
        fold: int = 0,
        n_blocks: int = N_BLOCKS,
    ) -> _SplitScorers:
        """Training / held-out scorers at one decay for one fold of forward chaining: the last `holdout` of the
        events is cut into `folds` consecutive test windows; fold f (0 = the last window) holds out window f from
        the end and trains on every event before it. `source` is the design matrix [1, phi] or what gives phi; the
        held-out window is cut into `n_blocks` time blocks (for standard errors)."""
        m, n_types, n_hop = len(events), events.n_types, hops.shape[0]
        if isinstance(source, np.ndarray):
            x = source
        else:
            x = np.concatenate([np.ones((m, 1)), source.phi(decay)], axis=1)
        n_test = min(max(int(round(self.holdout * m)), self.folds), m - 1)
        edges = np.linspace(m - n_test, m, self.folds + 1).round().astype(int)
        lo, hi = int(edges[-2 - fold]), int(edges[-1 - fold])
        cuts = np.linspace(lo, hi, min(n_blocks, hi - lo) + 1).round().astype(int)
        t = events.times

        def boundary(i: int) -> float:
            return 0.0 if i == 0 else events.horizon if i == m else 0.5 * (t[i - 1] + t[i])

        def scorers(first: int, last: int) -> list[TypeScorer]:
            start, end = boundary(first), boundary(last)
            g = np.concatenate([[(end - start) * events.n_devices], window_integral(events, hops, decay, start, end)])
            typ = events.types[first:last]
            rows = [x[first:last][typ == v] for v in range(n_types)]
            return [TypeScorer(r, g, n_types, n_hop, self.n_iter, tol=self.em_tol) for r in rows]

        test = [scorers(cuts[b], cuts[b + 1]) for b in range(len(cuts) - 1)]
        return _SplitScorers(scorers(0, lo), test, lo, x)

    def _result(
        self,
        events: EventTable,
        scorers: list[TypeScorer],
        parents: list[frozenset[int]],
        edge_pen: np.ndarray,
        n: int,
        decay: float,
        penalty: float,
        selection: THPSelection | None,
    ) -> THPResult:
        n_types, n_hop = events.n_types, scorers[0].n_hop
        mu, alpha = np.zeros(n_types), np.zeros((n_hop, n_types, n_types))
        graph = nx.DiGraph()
        graph.add_nodes_from(events.type_names)
        ll = 0.0
        for v, pa in enumerate(parents):
            value, theta = scorers[v].cache[pa]
            ll += value
            mu[v] = theta[0]
            for i, c in enumerate(sorted(pa)):
                alpha[:, c, v] = theta[1 + i * n_hop : 1 + (i + 1) * n_hop]
                graph.add_edge(events.type_names[c], events.type_names[v], alpha=alpha[:, c, v].tolist())
        score = ll - sum(edge_pen[v] * len(pa) for v, pa in enumerate(parents))
        return THPResult(graph, causal_order(graph), mu, alpha, ll, score, n, decay, float(penalty), selection)


def _parabola_vertex(scores: dict[float, float]) -> float | None:
    """The maximiser of the parabola through the best point of `scores` (x -> value) and its two neighbours in x,
    when the best is interior and the parabola is concave (None otherwise)."""
    xs = sorted(scores)
    i = max(range(len(xs)), key=lambda k: scores[xs[k]])
    if i == 0 or i == len(xs) - 1:
        return None
    x = np.array(xs[i - 1 : i + 2])
    a, b, _ = np.polyfit(x, [scores[v] for v in x], 2)
    if a >= 0:
        return None
    return float(np.clip(-b / (2 * a), x[0], x[2]))


def within_se(per_penalty: list[np.ndarray], se_rule: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For held-out log-likelihood blocks per penalty: their totals, the standard error of each total's difference
    from the best, and the indices of the penalties within `se_rule` standard errors of the best (the ties)."""
    totals = np.array([b.sum() for b in per_penalty])
    best = int(np.argmax(totals))
    stderr = np.array([_stderr(b - per_penalty[best]) for b in per_penalty])
    return totals, stderr, np.flatnonzero(totals >= totals[best] - se_rule * stderr)


def prune_weak_parents(
    scorers: list[TypeScorer], parents: list[frozenset[int]], min_share: float
) -> list[frozenset[int]]:
    """Per effect type, drop the parent that explains the smallest share of the type's events (`TypeScorer.shares`)
    while that share is below `min_share`, refitting after each drop. A minimum effect size: a misspecified kernel
    or topology (bursty excitation, events that share a cause) lets penalised likelihood keep many edges that each
    explain a few percent of their effect's events at most. Dropping edges keeps the graph a DAG."""
    pruned = []
    for scorer, pa in zip(scorers, parents, strict=True):
        while pa and min_share > 0:
            shares = scorer.shares(pa)
            weakest = min(shares, key=shares.__getitem__)
            if shares[weakest] >= min_share:
                break
            pa = pa - {weakest}
        scorer.fit([pa])  # cached for the caller, also when every parent went
        pruned.append(pa)
    return pruned


def _stderr(diff: np.ndarray) -> float:
    """Standard error of sum(diff) from its per-block terms."""
    if len(diff) < 2:
        return 0.0
    return float(np.std(diff, ddof=1) * np.sqrt(len(diff)))


def greedy_search(
    scorers: list[TypeScorer],
    edge_pen: float | np.ndarray,
    max_parents: int | None = None,
    start: list[frozenset[int]] | None = None,
) -> tuple[list[frozenset[int]], int]:
    """Hill climbing over single-edge additions, deletions and reversals that keep the graph a DAG, maximising
    sum of per-type log-likelihoods - `edge_pen` per edge (one value, or one per effect type), from the empty graph
    or the DAG `start` (parent sets).

    Returns the parent sets and the number of moves made.
    """
    n_types = len(scorers)
    pen = np.broadcast_to(np.asarray(edge_pen, dtype=float), (n_types,))
    parents = [frozenset() for _ in range(n_types)] if start is None else list(start)
    adj = np.zeros((n_types, n_types), dtype=bool)
    for v, pa in enumerate(parents):
        adj[list(pa), v] = True
    n_moves = 0
    fitted: list[frozenset[int] | None] = [None] * n_types  # the parent set whose candidates were last fitted
    fitted_adds: list[set[int]] = [set() for _ in range(n_types)]
    while True:
        reach = reachability(adj)
        best, move = 1e-9, None
        for v in range(n_types):
            cur = parents[v]
            cap_ok = max_parents is None or len(cur) < max_parents
            adds = [c for c in range(n_types) if c != v and c not in cur and not reach[v, c] and cap_ok]
            if fitted[v] != cur or not fitted_adds[v].issuperset(adds):  # else every candidate is cached already
                scorers[v].fit([cur] + [cur | {c} for c in adds] + [cur - {c} for c in cur])
                fitted[v], fitted_adds[v] = cur, set(adds)
            base = scorers[v].cache[cur][0]
            for c in adds:
                gain = scorers[v].cache[cur | {c}][0] - base - pen[v]
                if gain > best:
                    best, move = gain, ("add", c, v)
            for c in cur:
                drop = scorers[v].cache[cur - {c}][0] - base + pen[v]
                if drop > best:
                    best, move = drop, ("del", c, v)
                # Reverse c->v into v->c: legal when c->v is the only path from c to v, i.e. c reaches no other
                # parent of v (a path from c to another parent cannot use the edge c->v in a DAG).
                if any(reach[c, p] for p in cur if p != c):
                    continue
                if max_parents is None or len(parents[c]) < max_parents:
                    gain = drop - pen[c] + scorers[c].loglik(parents[c] | {v}) - scorers[c].loglik(parents[c])
                    if gain > best:
                        best, move = gain, ("rev", c, v)
        if move is None:
            return parents, n_moves
        kind, c, v = move
        if kind == "add":
            parents[v], adj[c, v] = parents[v] | {c}, True
        else:
            parents[v], adj[c, v] = parents[v] - {c}, False
            if kind == "rev":
                parents[c], adj[v, c] = parents[c] | {v}, True
        n_moves += 1


def reachability(adj: np.ndarray) -> np.ndarray:
    """reach[a, b] True when there is a directed path a -> ... -> b (or a == b)."""
    reach = adj | np.eye(len(adj), dtype=bool)
    while True:
        nxt = reach | ((reach.astype(np.int64) @ reach.astype(np.int64)) > 0)
        if np.array_equal(nxt, reach):
            return reach
        reach = nxt

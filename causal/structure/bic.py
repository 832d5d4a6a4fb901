"""BIC pruning (Cai et al. eq. 6): delete-only hill climbing on the penalised log-likelihood of count transitions.

Data are count transitions of a topological Hawkes process in discrete time (Cai et al. eqs. 27-28): per step t,
the alarm counts X_t (pairs p = device * V + type, after the step's intervention) and the new alarms Y_t born
during the step. Y_t[n, v] ~ Poisson(mu_v + sum_{c in PA(v)} sum_k alpha_{c,v,k} (A_k^T X_t[:, c])[n]).
Observational data (passive logs, binned into steps) and interventional data (agent transitions, where clearing
removed alarms before the step) enter the same likelihood, so interventions inform the pruning.

`bic_prune` removes, one at a time, the edge whose deletion most increases log-likelihood - penalty * 0.5 *
log(n) * max_hop * |E| (n = number of count observations), until no deletion helps. Deleting edges keeps a DAG.
"""

from __future__ import annotations

from collections.abc import Sequence

import networkx as nx
import numpy as np

from dogym.causal.structure.event_table import EventTable
from dogym.causal.structure.thp import TypeScorer


class CountTransitions:
    """Store of count transitions: state X (T, P) entering each step and births Y (T, P) in it.

    Counts are kept as float32 in a ring buffer; with `max_rows` set, only the newest `max_rows` transitions are
    kept (FIFO), so memory stays bounded over long runs. Adding a transition costs amortised O(P).
    """

    def __init__(self, n_devices: int, n_types: int, max_rows: int | None = None) -> None:
        if max_rows is not None and max_rows < 1:
            raise ValueError(f"max_rows must be >= 1 or None, got {max_rows}")
        self.n_devices, self.n_types, self.max_rows = n_devices, n_types, max_rows
        self.n_added = 0  # transitions ever added (a version number for caches)
        n_pairs = n_devices * n_types
        capacity = 256 if max_rows is None else min(max_rows, 256)
        self._x = np.zeros((capacity, n_pairs), dtype=np.float32)
        self._y = np.zeros((capacity, n_pairs), dtype=np.float32)
        self._len = 0  # rows held
        self._head = 0  # index of the oldest row

    def __len__(self) -> int:
        return self._len

    def add(self, state: np.ndarray, births: np.ndarray) -> None:
        """Append transitions: `state` and `births` of shape (P,) or (T, P), non-negative counts."""
        state = np.atleast_2d(np.asarray(state, dtype=float))
        births = np.atleast_2d(np.asarray(births, dtype=float))
        n_pairs = self.n_devices * self.n_types
        if state.shape != births.shape or state.shape[1] != n_pairs:
            raise ValueError(f"state and births must have shape (T, {n_pairs}), got {state.shape} and {births.shape}")
        if (state < 0).any() or (births < 0).any() or not (np.isfinite(state).all() and np.isfinite(births).all()):
            raise ValueError("state and births must be finite non-negative counts")
        self.n_added += len(state)
        if self.max_rows is not None and len(state) > self.max_rows:
            state, births = state[-self.max_rows :], births[-self.max_rows :]
        self._reserve(self._len + len(state))
        capacity = len(self._x)
        slots = (self._head + self._len + np.arange(len(state))) % capacity
        self._x[slots], self._y[slots] = state, births
        overflow = max(self._len + len(state) - capacity, 0)  # only when full at max_rows: drop the oldest
        self._head = (self._head + overflow) % capacity
        self._len += len(state) - overflow

    def _reserve(self, rows: int) -> None:
        """Grow the ring (doubling, up to `max_rows`) so it can hold `rows` rows; keeps the order."""
        capacity = len(self._x)
        limit = rows if self.max_rows is None else min(rows, self.max_rows)
        if limit <= capacity:
            return
        new_capacity = max(limit, 2 * capacity)
        if self.max_rows is not None:
            new_capacity = min(new_capacity, self.max_rows)
        x, y = self._ordered()
        self._x = np.zeros((new_capacity, x.shape[1]), dtype=np.float32)
        self._y = np.zeros_like(self._x)
        self._x[: len(x)], self._y[: len(y)] = x, y
        self._head = 0

    def _ordered(self) -> tuple[np.ndarray, np.ndarray]:
        idx = (self._head + np.arange(self._len)) % len(self._x)
        return self._x[idx], self._y[idx]

    def add_events(self, events: EventTable, step: float) -> None:
        """Append a passive event log binned into steps of length `step` (nothing is ever cleared)."""
        if step <= 0:
            raise ValueError(f"step must be > 0, got {step}")
        n_pairs = self.n_devices * self.n_types
        if events.n_devices != self.n_devices or events.n_types != self.n_types:
            raise ValueError(
                f"events have {events.n_devices} devices x {events.n_types} types, expected "
                f"{self.n_devices} x {self.n_types}"
            )
        if len(events) == 0:
            return
        bins = (events.times // step).astype(np.int64)
        births = np.zeros((int(bins[-1]) + 1, n_pairs))
        np.add.at(births, (bins, events.devices * self.n_types + events.types), 1.0)
        state = np.cumsum(births, axis=0) - births
        self.add(state, births)

    def window(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray, int]:
        """The transitions held with absolute indices (order of addition, from 0) in [start, stop), as float arrays
        (X, Y), and the absolute index of the first one returned."""
        first = self.n_added - self._len
        lo, hi = max(start, first), min(stop, self.n_added)
        idx = (self._head + np.arange(lo - first, max(hi, lo) - first)) % len(self._x)
        return self._x[idx].astype(float), self._y[idx].astype(float), lo

    def state_total(self) -> np.ndarray:
        """Sum over the held transitions of the state X, shape (P,)."""
        return self._x[: self._len].sum(axis=0, dtype=np.float64)

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """All transitions as (X, Y), each (T, P), oldest first."""
        x, y = self._ordered()
        return x.astype(float), y.astype(float)


def count_scorers(data: CountTransitions, hops: np.ndarray, n_iter: int = 100) -> list[TypeScorer]:
    """One cached `TypeScorer` per effect type for the Poisson count likelihood of `data`."""
    return CountFeatures(hops).scorers(data, n_iter)


class CountFeatures:
    """The excitation features of a `CountTransitions` store's pruning likelihood, kept up to date incrementally.

    Features of birth row (t, n): [1, h[t, n, k * V + c] = sum_n' A_k[n', n] X_t[n', c]]; only rows with a birth enter
    the likelihood's log term, and the integral term needs only column sums of X. Features are computed once per block
    of `BLOCK` consecutive transitions (a block is cached once complete), so an update costs O(new transitions) plus
    assembling the held rows. Every block is computed with the same array shapes (missing rows are zeros), so the
    features do not depend on when they were computed: a learner restored from a checkpoint reproduces them exactly.
    """

    BLOCK = 64

    def __init__(self, hops: np.ndarray) -> None:
        self.hops = np.asarray(hops, dtype=float)
        #: block number -> (absolute transition index, device, features, births) of the block's birth rows.
        self._blocks: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = {}

    def scorers(self, data: CountTransitions, n_iter: int = 100) -> list[TypeScorer]:
        """One `TypeScorer` per effect type on the transitions `data` holds now."""
        n_dev, n_typ, n_hop = data.n_devices, data.n_types, self.hops.shape[0]
        if self.hops.shape[1:] != (n_dev, n_dev):
            raise ValueError(f"hops must have shape (max_hop, {n_dev}, {n_dev}), got {self.hops.shape}")
        first = data.n_added - len(data)  # absolute index of the oldest transition held
        blocks = range(first // self.BLOCK, -(-data.n_added // self.BLOCK))
        if not blocks:
            raise ValueError("count features need at least one count transition")
        self._blocks = {b: self._blocks[b] if b in self._blocks else self._block(data, b) for b in blocks}
        t_abs, _, feats, births = (np.concatenate(parts) for parts in zip(*self._blocks.values(), strict=True))
        keep = t_abs >= first
        if data.n_added % self.BLOCK:  # the newest block is still filling: compute it afresh next time
            del self._blocks[blocks[-1]]
        feats = np.concatenate([np.ones((int(keep.sum()), 1)), feats[keep]], axis=1)
        weights = births[keep]
        g = np.concatenate(
            [[len(data) * n_dev], (self.hops.sum(axis=2) @ data.state_total().reshape(n_dev, n_typ)).ravel()]
        )
        scorers = []
        for v in range(n_typ):
            rows = np.flatnonzero(weights[:, v] > 0)
            scorers.append(TypeScorer(feats[rows], g, n_typ, n_hop, n_iter, weights=weights[rows, v]))
        return scorers

    def _block(self, data: CountTransitions, block: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(absolute index, device, features, births) of the birth rows of transitions [block * B, (block + 1) * B)."""
        n_dev, n_typ, size = data.n_devices, data.n_types, self.BLOCK
        x, y, start = data.window(block * size, (block + 1) * size)
        state = np.zeros((size, n_dev, n_typ))
        births = np.zeros((size, n_dev, n_typ))
        offset = start - block * size
        state[offset : offset + len(x)] = x.reshape(len(x), n_dev, n_typ)
        births[offset : offset + len(y)] = y.reshape(len(y), n_dev, n_typ)
        t_idx, n_idx = np.nonzero(births.any(axis=2))
        by_device = np.ascontiguousarray(state.transpose(1, 0, 2)).reshape(n_dev, -1)  # (N, B * V): one BLAS product
        spread = [(hop.T @ by_device).reshape(n_dev, size, n_typ)[n_idx, t_idx] for hop in self.hops]
        h = np.stack(spread, axis=1).reshape(len(t_idx), len(self.hops) * n_typ)
        return block * size + t_idx, n_idx, h, births[t_idx, n_idx]


def bic_prune(
    graph: nx.DiGraph,
    data: CountTransitions,
    hops: np.ndarray,
    type_names: Sequence[str],
    penalty: float = 1.0,
    scorers: list[TypeScorer] | None = None,
) -> nx.DiGraph:
    """Delete-only hill climbing of `graph` (over `type_names`) on the BIC score of the count data.

    Returns a new DiGraph with a subset of the edges; `scorers` (from `count_scorers`) may be passed to reuse
    cached fits across calls on the same data.
    """
    if penalty < 0:
        raise ValueError(f"penalty must be >= 0, got {penalty}")
    index = {name: i for i, name in enumerate(type_names)}
    unknown = set(graph.nodes) - set(index)
    if unknown:
        raise ValueError(f"graph has node(s) {sorted(map(str, unknown))} not in type_names {list(type_names)}")
    if len(data) == 0:
        raise ValueError("BIC pruning needs at least one count transition")
    scorers = count_scorers(data, hops) if scorers is None else scorers
    n_obs = len(data) * data.n_devices
    edge_pen = penalty * 0.5 * np.log(max(n_obs, 2)) * hops.shape[0]
    parents = [frozenset(index[c] for c in graph.predecessors(name)) for name in type_names]
    while True:
        best, move = 1e-9, None
        for v, pa in enumerate(parents):
            if not pa:
                continue
            scorers[v].fit([pa] + [pa - {c} for c in pa])
            base = scorers[v].cache[pa][0]
            for c in pa:
                gain = scorers[v].cache[pa - {c}][0] - base + edge_pen
                if gain > best:
                    best, move = gain, (c, v)
        if move is None:
            break
        c, v = move
        parents[v] = parents[v] - {c}
    pruned = nx.DiGraph()
    pruned.add_nodes_from(graph.nodes)
    pruned.add_edges_from((type_names[c], type_names[v]) for v, pa in enumerate(parents) for c in pa)
    return pruned

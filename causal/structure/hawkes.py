"""Topological Hawkes process (THP) models over event types and a device topology.

A THP has event (alarm) types V with a causal DAG G_V, devices N with an undirected topology, and intensities

    lambda_v(n, t) = mu_v + sum_{v' in PA(v)} sum_{n'} sum_k alpha_{v',v,k} A_k[n', n] sum_{t_i} kappa(t - t_i)

with hop operators A_0 = I, A_1 = D^-1 A D^-1 (or D^-1/2 A D^-1/2), A_k = A_1^k (or the unnormalised
exactly-k-hop neighbour sets), and the exponential kernel kappa(s) = exp(-decay * s) (or a box kernel of the same
mass, kappa(s) = 1 for 0 <= s < 1/decay). Each true edge v'->v acts at one hop k (same device or neighbours).

This module holds the model (`TopologicalHawkesModel`), its seeded generation with the FaultAlarm parameters
(Table 2 of Cai et al.), the vectorised branching (cluster) primitives that simulators use (every event knows
its parent, and offspring of an event are drawn as a Poisson number with kernel-distributed delays) and
`simulate_events`, a stationary event log of a model.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx
import numpy as np

from dogym.causal.graphs import assert_dag
from dogym.causal.structure.event_table import EventTable

HOP_NORMALIZATIONS = ("rw", "sym", "binary")
KERNELS = ("exp", "box")


def random_topology(n_devices: int, rng: np.random.Generator) -> np.ndarray:
    """Symmetric boolean adjacency with exactly `n_devices` undirected edges: each device links to one other.

    Device i picks a partner j != i among the devices it is not yet linked to, so every device has degree >= 1
    and there are no duplicate edges; the graph need not be connected.
    """
    if n_devices < 3:
        raise ValueError(f"a topology needs at least 3 devices, got n_devices={n_devices}")
    adj = np.zeros((n_devices, n_devices), dtype=bool)
    for i in range(n_devices):
        free = np.flatnonzero(~adj[i])
        free = free[free != i]
        j = int(rng.choice(free))
        adj[i, j] = adj[j, i] = True
    return adj


def random_type_dag(n_types: int, n_edges: int, rng: np.random.Generator, prefix: str = "T") -> nx.DiGraph:
    """A uniformly drawn DAG with `n_edges` edges over types named f"{prefix}{i}": edges go forward in a random
    permutation of the types, chosen without replacement among all such pairs."""
    n_pairs = n_types * (n_types - 1) // 2
    if not 0 <= n_edges <= n_pairs:
        raise ValueError(f"a DAG over {n_types} types has 0..{n_pairs} edges, got n_edges={n_edges}")
    order = rng.permutation(n_types)
    lo, hi = np.triu_indices(n_types, k=1)
    pick = rng.choice(n_pairs, size=n_edges, replace=False)
    graph = nx.DiGraph()
    graph.add_nodes_from(f"{prefix}{i}" for i in range(n_types))
    graph.add_edges_from((f"{prefix}{order[lo[p]]}", f"{prefix}{order[hi[p]]}") for p in np.sort(pick))
    return graph


def hop_operators(adjacency: np.ndarray, max_hop: int, normalization: str = "rw") -> np.ndarray:
    """Stack (max_hop, N, N) of hop operators; A_0 = I always.

    `max_hop` counts operators as Table 2 of Cai et al. does ("max hop 2" means hops 0 and 1). `normalization`
    "rw" gives A_1 = D^-1 A D^-1 (the authors' code) and "sym" A_1 = D^-1/2 A D^-1/2 (the paper's text), with
    A_k = A_1^k; "binary" gives the unnormalised exactly-k-hop neighbour sets: A_k[i, j] = 1 iff the shortest-path
    distance between devices i and j is exactly k.
    """
    if normalization not in HOP_NORMALIZATIONS:
        raise ValueError(f"hop normalization must be one of {HOP_NORMALIZATIONS}, got {normalization!r}")
    if max_hop < 1:
        raise ValueError(f"max_hop must be >= 1 (hop 0 is the device itself), got {max_hop}")
    adj = np.asarray(adjacency, dtype=float)
    if adj.ndim != 2 or adj.shape[0] != adj.shape[1]:
        raise ValueError(f"adjacency must be a square matrix, got shape {adj.shape}")
    if normalization == "binary":
        return _exact_hop_sets(adj > 0, max_hop)
    deg = adj.sum(axis=1)
    inv = np.divide(1.0, deg, out=np.zeros_like(deg), where=deg > 0)
    scale = inv if normalization == "rw" else np.sqrt(inv)
    a1 = scale[:, None] * adj * scale[None, :]
    ops = [np.eye(len(adj))]
    for _ in range(1, max_hop):
        ops.append(a1 if len(ops) == 1 else ops[-1] @ a1)
    return np.stack(ops)


def _exact_hop_sets(adj: np.ndarray, max_hop: int) -> np.ndarray:
    """(max_hop, N, N) 0/1 matrices: entry [k, i, j] = 1 iff the shortest path from i to j has exactly k links."""
    seen = np.eye(len(adj), dtype=bool)
    frontier = seen.copy()
    ops = [seen.astype(float)]
    step = adj.astype(np.int64)
    for _ in range(1, max_hop):
        frontier = ((frontier.astype(np.int64) @ step) > 0) & ~seen
        seen |= frontier
        ops.append(frontier.astype(float))
    return np.stack(ops)


@dataclass(frozen=True)
class TopologicalHawkesModel:
    """A fully specified THP: type DAG, device topology, per-edge hop and intensity, base rates and kernel decay.

    Pairs (device n, type v) are indexed p = n * n_types + v throughout dogym.
    """

    type_names: tuple[str, ...]
    adjacency: np.ndarray  # (N, N) bool, symmetric
    edge_cause: np.ndarray  # (E,) type index of each edge's cause
    edge_effect: np.ndarray  # (E,) type index of each edge's effect
    edge_hop: np.ndarray  # (E,) hop k at which the edge acts
    edge_alpha: np.ndarray  # (E,) excitation intensity alpha_{v',v,k}
    mu: np.ndarray  # (V,) spontaneous intensity per device and time unit
    decay: float  # exponential-kernel decay rate (box kernel: the inverse of its length)
    max_hop: int = 2
    normalization: str = "rw"
    kernel: str = "exp"  # "exp": exp(-decay s); "box": 1 on [0, 1/decay) (same mass 1/decay)
    hops: np.ndarray = field(init=False, repr=False)
    _csr: tuple[np.ndarray, np.ndarray, np.ndarray] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.kernel not in KERNELS:
            raise ValueError(f"kernel must be one of {KERNELS}, got {self.kernel!r}")
        if self.kernel == "box" and not self.decay > 0:
            raise ValueError(f"a box kernel needs decay > 0 (its length is 1/decay), got {self.decay}")
        object.__setattr__(self, "hops", hop_operators(self.adjacency, self.max_hop, self.normalization))
        object.__setattr__(self, "_csr", self._build_offspring_table())

    @property
    def n_devices(self) -> int:
        """Number of devices N."""
        return int(self.adjacency.shape[0])

    @property
    def n_types(self) -> int:
        """Number of event types V."""
        return len(self.type_names)

    @property
    def n_pairs(self) -> int:
        """Number of (device, type) pairs N * V."""
        return self.n_devices * self.n_types

    def type_graph(self) -> nx.DiGraph:
        """The causal DAG over type names, with each edge's `hop` and `alpha` as attributes."""
        graph = nx.DiGraph()
        graph.add_nodes_from(self.type_names)
        for c, e, k, a in zip(self.edge_cause, self.edge_effect, self.edge_hop, self.edge_alpha, strict=True):
            graph.add_edge(self.type_names[c], self.type_names[e], hop=int(k), alpha=float(a))
        return graph

    def alpha_tensor(self) -> np.ndarray:
        """Dense (max_hop, V, V) array alpha[k, cause, effect]."""
        alpha = np.zeros((self.max_hop, self.n_types, self.n_types))
        alpha[self.edge_hop, self.edge_cause, self.edge_effect] = self.edge_alpha
        return alpha

    def pair_excitation(self) -> np.ndarray:
        """Dense (P, P) rate matrix R[p, q]: excitation of pair q per unit kernel mass of an event at pair p."""
        indptr, child, rate = self._csr
        dense = np.zeros((self.n_pairs, self.n_pairs))
        src = np.repeat(np.arange(self.n_pairs), np.diff(indptr))
        np.add.at(dense, (src, child), rate)
        return dense

    def offspring_table(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """CSR (indptr, child_pair, rate): the pairs an event at pair p excites and at what rate alpha * A_k[n, n']."""
        return self._csr

    def _build_offspring_table(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n_dev, n_typ = self.n_devices, self.n_types
        rows: list[np.ndarray] = []
        for k in range(self.max_hop):
            sel = self.edge_hop == k
            if not sel.any():
                continue
            src_dev, dst_dev = np.nonzero(self.hops[k])
            weight = self.hops[k][src_dev, dst_dev]
            cause, effect, alpha = self.edge_cause[sel], self.edge_effect[sel], self.edge_alpha[sel]
            # Every (device link) x (type edge) combination at this hop.
            dev_i = np.repeat(np.arange(len(src_dev)), len(cause))
            edge_i = np.tile(np.arange(len(cause)), len(src_dev))
            rows.append(
                np.stack(
                    [
                        src_dev[dev_i] * n_typ + cause[edge_i],
                        dst_dev[dev_i] * n_typ + effect[edge_i],
                        weight[dev_i] * alpha[edge_i],
                    ]
                )
            )
        table = np.concatenate(rows, axis=1) if rows else np.zeros((3, 0))
        src = table[0].astype(np.int64)
        order = np.lexsort((table[1], src))
        src, child, rate = src[order], table[1].astype(np.int64)[order], table[2][order]
        indptr = np.searchsorted(src, np.arange(n_dev * n_typ + 1))
        return indptr.astype(np.int64), child, rate

    @classmethod
    def generate(
        cls,
        type_graph: nx.DiGraph,
        n_devices: int,
        seed: int,
        *,
        alpha_range: tuple[float, float],
        mu_range: tuple[float, float],
        same_device_fraction: float,
        decay: float,
        max_hop: int = 2,
        normalization: str = "rw",
        kernel: str = "exp",
    ) -> TopologicalHawkesModel:
        """Draw a model for `type_graph`: a random topology, a hop and alpha per edge, and mu per type.

        alpha per edge uniform in `alpha_range`, mu per type uniform in `mu_range`, and round(same_device_fraction * E)
        edges acting on the same device, the others on neighbours (FaultAlarm's values, Table 2 of Cai et al., are in
        its env's `default_config()`; 54 of 94 edges act on the same device in the authors' model). `kernel` "exp"
        (default) or "box" sets the kernel shape (see the module docstring). The same seed always gives the same
        model.
        """
        assert_dag(type_graph)
        if not 0.0 <= same_device_fraction <= 1.0:
            raise ValueError(f"same_device_fraction must be in [0, 1], got {same_device_fraction}")
        if decay < 0:
            raise ValueError(f"kernel decay must be >= 0, got {decay}")
        rng = np.random.default_rng(seed)
        names = tuple(type_graph.nodes)
        index = {name: i for i, name in enumerate(names)}
        edges = list(type_graph.edges)
        n_edges = len(edges)
        hop = np.ones(n_edges, dtype=np.int64)
        hop[rng.permutation(n_edges)[: round(same_device_fraction * n_edges)]] = 0
        if max_hop > 2:
            far = hop == 1
            hop[far] = rng.integers(1, max_hop, size=int(far.sum()))
        return cls(
            type_names=names,
            adjacency=random_topology(n_devices, rng),
            edge_cause=np.array([index[c] for c, _ in edges], dtype=np.int64),
            edge_effect=np.array([index[e] for _, e in edges], dtype=np.int64),
            edge_hop=np.minimum(hop, max_hop - 1),
            edge_alpha=rng.uniform(*alpha_range, size=n_edges),
            mu=rng.uniform(*mu_range, size=len(names)),
            decay=float(decay),
            max_hop=max_hop,
            normalization=normalization,
            kernel=kernel,
        )


def kernel_mass(decay: float, birth: np.ndarray, start: np.ndarray, end: np.ndarray, kernel: str = "exp") -> np.ndarray:
    """Integral of kappa(t - birth) over [start, end] (zero where end <= start), for the exponential kernel
    exp(-decay (t - birth)) or (`kernel="box"`) the box kernel 1 on [birth, birth + 1/decay)."""
    if kernel == "box":
        lo, hi = _box_window(decay, birth, start, end)
        return np.maximum(hi - lo, 0.0)
    width = np.maximum(end - start, 0.0)
    if decay == 0.0:
        return width
    lead = np.exp(-decay * (start - birth))
    return lead * -np.expm1(-decay * width) / decay


def sample_delays(
    rng: np.random.Generator,
    decay: float,
    birth: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    kernel: str = "exp",
) -> np.ndarray:
    """Event times in [start, end] drawn with density proportional to kappa(t - birth) (inverse CDF)."""
    u = rng.random(len(birth))
    if kernel == "box":
        lo, hi = _box_window(decay, birth, start, end)
        return lo + u * np.maximum(hi - lo, 0.0)
    width = end - start
    if decay == 0.0:
        return start + u * width
    # Truncated exponential on [0, width], shifted to start.
    offset = -np.log1p(u * np.expm1(-decay * width)) / decay
    return start + offset


def _box_window(decay: float, birth: np.ndarray, start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """[start, end] clipped to the box kernel's support [birth, birth + 1/decay)."""
    return np.maximum(start, birth), np.minimum(end, birth + 1.0 / decay)


@dataclass
class Offspring:
    """Children drawn for a batch of parent events: parent position in the batch, child pair and birth time."""

    parent: np.ndarray
    pair: np.ndarray
    time: np.ndarray


def draw_offspring(
    rng: np.random.Generator,
    model: TopologicalHawkesModel,
    parent_pair: np.ndarray,
    parent_birth: np.ndarray,
    window_start: np.ndarray,
    window_end: np.ndarray,
) -> Offspring:
    """Children that each parent event triggers while it is excitatory in [window_start, window_end].

    The number of children of parent i at pair q is Poisson(rate(p_i -> q) * kernel mass over the window), and
    their times follow the kernel restricted to the window. Fully vectorised over parents and children.
    """
    indptr, child_pair, rate = model.offspring_table()
    mass = kernel_mass(model.decay, parent_birth, window_start, window_end, model.kernel)
    lo, hi = indptr[parent_pair], indptr[parent_pair + 1]
    n_cand = hi - lo
    total = int(n_cand.sum())
    if total == 0:
        empty = np.zeros(0, dtype=np.int64)
        return Offspring(empty, empty, np.zeros(0))
    owner = np.repeat(np.arange(len(parent_pair)), n_cand)
    cand = np.arange(total) - np.repeat(np.cumsum(n_cand) - n_cand, n_cand) + np.repeat(lo, n_cand)
    counts = rng.poisson(rate[cand] * mass[owner])
    hit = np.flatnonzero(counts)
    if len(hit) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return Offspring(empty, empty, np.zeros(0))
    reps = counts[hit]
    parent = np.repeat(owner[hit], reps)
    pair = np.repeat(child_pair[cand[hit]], reps)
    time = sample_delays(rng, model.decay, parent_birth[parent], window_start[parent], window_end[parent], model.kernel)
    return Offspring(parent, pair, time)


def branching_ratio(model: TopologicalHawkesModel) -> float:
    """Spectral radius of the mean-offspring matrix over (device, type) pairs; the process is stationary iff < 1."""
    if model.decay <= 0:
        return np.inf
    return float(np.max(np.abs(np.linalg.eigvals(model.pair_excitation() / model.decay))))


def simulate_events(model: TopologicalHawkesModel, n_events: int, seed: int) -> EventTable:
    """The first `n_events` events of `model` started empty at time 0, drawn in branching (cluster) form.

    Spontaneous events arrive at rate mu_v on every device; each event then triggers offspring through the hop
    operators and the kernel. The model must be subcritical (`branching_ratio` < 1). The same seed always gives the
    same log.
    """
    if n_events < 1:
        raise ValueError(f"n_events must be >= 1, got {n_events}")
    ratio = branching_ratio(model)
    if not ratio < 1.0:
        raise ValueError(f"the model is not subcritical (branching ratio {ratio:.3f} >= 1): its log would explode")
    rng = np.random.default_rng(seed)
    mu_pair = np.tile(model.mu, model.n_devices)
    gain = np.linalg.solve(np.eye(model.n_pairs) - model.pair_excitation().T / model.decay, mu_pair)
    horizon = 1.2 * n_events / gain.sum()
    while True:
        counts = rng.poisson(mu_pair * horizon)
        pair = np.repeat(np.arange(model.n_pairs), counts)
        birth = rng.uniform(0.0, horizon, size=len(pair))
        pairs, births = [pair], [birth]
        while len(pair):
            kids = draw_offspring(rng, model, pair, birth, birth, np.full(len(pair), horizon))
            pair, birth = kids.pair, kids.time
            pairs.append(pair)
            births.append(birth)
        all_pairs, all_births = np.concatenate(pairs), np.concatenate(births)
        if len(all_pairs) >= n_events:
            break
        horizon *= 2.0
    order = np.argsort(all_births, kind="stable")[:n_events]
    device, typ = np.divmod(all_pairs[order], model.n_types)
    return EventTable(typ, all_births[order], device, model.type_names, model.n_devices)

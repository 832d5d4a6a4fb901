"""Topological Hawkes process (THP) models over event types and a device topology.

A THP has event (alarm) types V with a causal DAG G_V, devices N with an undirected topology, and intensities

    lambda_v(n, t) = mu_v + sum_{v' in PA(v)} sum_{n'} sum_k alpha_{v',v,k} A_k[n', n] sum_{t_i} kappa(t - t_i)

with hop operators A_0 = I, A_1 = D^-1 A D^-1 (or D^-1/2 A D^-1/2), A_k = A_1^k, and the exponential kernel
kappa(s) = exp(-decay * s). Each true edge v'->v acts at one hop k (same device or neighbours).

This module holds the model (`TopologicalHawkesModel`), its seeded generation with the FaultAlarm parameters
(Table 2 of Cai et al.), and the vectorised branching (cluster) primitives that simulators use: every event knows
its parent, and offspring of an event are drawn as a Poisson number with exponentially distributed delays.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx
import numpy as np

from dogym.causal.graphs import assert_dag

HOP_NORMALIZATIONS = ("rw", "sym")


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


def hop_operators(adjacency: np.ndarray, max_hop: int, normalization: str = "rw") -> np.ndarray:
    """Stack (max_hop, N, N) of hop operators A_0 = I, A_1 = normalised adjacency, A_k = A_1^k.

    `max_hop` counts operators as Table 2 of Cai et al. does ("max hop 2" means hops 0 and 1). `normalization`
    "rw" gives D^-1 A D^-1 (the authors' code), "sym" gives D^-1/2 A D^-1/2 (the paper's text).
    """
    if normalization not in HOP_NORMALIZATIONS:
        raise ValueError(f"hop normalization must be one of {HOP_NORMALIZATIONS}, got {normalization!r}")
    if max_hop < 1:
        raise ValueError(f"max_hop must be >= 1 (hop 0 is the device itself), got {max_hop}")
    adj = np.asarray(adjacency, dtype=float)
    deg = adj.sum(axis=1)
    inv = np.divide(1.0, deg, out=np.zeros_like(deg), where=deg > 0)
    scale = inv if normalization == "rw" else np.sqrt(inv)
    a1 = scale[:, None] * adj * scale[None, :]
    ops = [np.eye(len(adj))]
    for _ in range(1, max_hop):
        ops.append(a1 if len(ops) == 1 else ops[-1] @ a1)
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
    decay: float  # exponential-kernel decay rate
    max_hop: int = 2
    normalization: str = "rw"
    hops: np.ndarray = field(init=False, repr=False)
    _csr: tuple[np.ndarray, np.ndarray, np.ndarray] = field(init=False, repr=False)

    def __post_init__(self) -> None:
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
    ) -> TopologicalHawkesModel:
        """Draw a model for `type_graph`: a random topology, a hop and alpha per edge, and mu per type.

        alpha per edge uniform in `alpha_range`, mu per type uniform in `mu_range`, and round(same_device_fraction * E)
        edges acting on the same device, the others on neighbours (FaultAlarm's values, Table 2 of Cai et al., are in
        its env's `default_config()`; 54 of 94 edges act on the same device in the authors' model). The same seed
        always gives the same model.
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
        )


def kernel_mass(decay: float, birth: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Integral of kappa(t - birth) = exp(-decay (t - birth)) over [start, end] (zero where end <= start)."""
    width = np.maximum(end - start, 0.0)
    if decay == 0.0:
        return width
    lead = np.exp(-decay * (start - birth))
    return lead * -np.expm1(-decay * width) / decay


def sample_delays(
    rng: np.random.Generator, decay: float, birth: np.ndarray, start: np.ndarray, end: np.ndarray
) -> np.ndarray:
    """Event times in [start, end] drawn with density proportional to kappa(t - birth) (inverse CDF)."""
    u = rng.random(len(birth))
    width = end - start
    if decay == 0.0:
        return start + u * width
    # Truncated exponential on [0, width], shifted to start.
    offset = -np.log1p(u * np.expm1(-decay * width)) / decay
    return start + offset


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
    mass = kernel_mass(model.decay, parent_birth, window_start, window_end)
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
    time = sample_delays(rng, model.decay, parent_birth[parent], window_start[parent], window_end[parent])
    return Offspring(parent, pair, time)

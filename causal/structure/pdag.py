"""Partially directed graphs over named variables: background knowledge, Meek's orientation rules and a consistent
DAG extension.

- `Knowledge`: what a user states before any data (roots, forbidden and required directed edges, a time order of
  tiers), validated against the variable names.
- `PDAG`: directed plus undirected edges (a CPDAG when it is the output of PC and Meek's rules), with `dag()`, one
  consistent extension by Dor and Tarsi, "A simple algorithm to construct a consistent extension of a partially
  oriented graph".
- `orient(...)`: from a skeleton to a PDAG: forced orientations (knowledge, interventions), unshielded colliders
  (Spirtes, Glymour and Scheines, "Causation, Prediction, and Search", the PC algorithm), then Meek's rules R1-R4
  (Meek, "Causal inference and causal explanation with background knowledge") to closure; no step creates a directed
  cycle or an edge the knowledge forbids.

Internally a graph over n variables is two boolean n x n matrices: `directed[i, j]` for i -> j and the symmetric
`undirected[i, j]` for i - j.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import networkx as nx
import numpy as np


def _pairs(value: Iterable[Sequence[str]], what: str) -> frozenset[tuple[str, str]]:
    out = set()
    for pair in value:
        if isinstance(pair, str) or len(pair) != 2:
            raise ValueError(f"{what}: each entry must be a directed pair (a, b), got {pair!r}")
        a, b = (str(x) for x in pair)
        if a == b:
            raise ValueError(f"{what}: a self-loop ({a!r}, {b!r}) is not an edge")
        out.add((a, b))
    return frozenset(out)


@dataclass(frozen=True)
class Knowledge:
    """Background knowledge a user states: `roots` have no parents; `forbidden` / `required` are directed pairs
    (a, b) meaning a -> b is impossible / present; `tiers` are node groups in time order (no edge from a later tier
    into an earlier one; nodes in no tier are unconstrained). Contradictions raise ValueError naming them;
    `check(names)` raises for nodes that are not variables."""

    roots: frozenset[str] = field(default_factory=frozenset)
    forbidden: frozenset[tuple[str, str]] = field(default_factory=frozenset)
    required: frozenset[tuple[str, str]] = field(default_factory=frozenset)
    tiers: tuple[tuple[str, ...], ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.roots, str):
            raise ValueError(f"roots must be a collection of names, got the string {self.roots!r}")
        set_ = object.__setattr__
        set_(self, "roots", frozenset(str(r) for r in self.roots))
        set_(self, "forbidden", _pairs(self.forbidden, "forbidden"))
        set_(self, "required", _pairs(self.required, "required"))
        tiers = []
        for tier in self.tiers:
            if isinstance(tier, str):
                raise ValueError(f"each tier must be a collection of names, got the string {tier!r}")
            tiers.append(tuple(str(v) for v in tier))
        set_(self, "tiers", tuple(tiers))
        seen: dict[str, int] = {}
        for k, tier in enumerate(self.tiers):
            for v in tier:
                if v in seen:
                    raise ValueError(f"node {v!r} is in tier {seen[v]} and tier {k}")
                seen[v] = k
        both = sorted(self.required & self.forbidden)
        if both:
            raise ValueError(f"edges both required and forbidden: {both}")
        into_root = sorted((a, b) for a, b in self.required if b in self.roots)
        if into_root:
            raise ValueError(f"required edges into nodes declared roots: {into_root}")
        backwards = sorted((a, b) for a, b in self.required if self.tier_of(a) > self.tier_of(b) >= 0)
        if backwards:
            raise ValueError(f"required edges from a later tier into an earlier one: {backwards}")
        two_way = sorted((a, b) for a, b in self.required if (b, a) in self.required and a < b)
        if two_way:
            raise ValueError(f"edges required in both directions: {two_way}")
        required = nx.DiGraph(list(self.required))
        if not nx.is_directed_acyclic_graph(required):
            raise ValueError(f"required edges form a directed cycle: {nx.find_cycle(required)}")

    def tier_of(self, node: str) -> int:
        """Index of the node's tier, -1 when it is in none."""
        for k, tier in enumerate(self.tiers):
            if node in tier:
                return k
        return -1

    @property
    def nodes(self) -> frozenset[str]:
        """Every node the knowledge names."""
        named = set(self.roots) | {v for tier in self.tiers for v in tier}
        named |= {v for pair in self.forbidden | self.required for v in pair}
        return frozenset(named)

    def check(self, names: Sequence[str]) -> None:
        """Raise ValueError naming the nodes the knowledge mentions that are not in `names`."""
        unknown = sorted(self.nodes - set(names))
        if unknown:
            raise ValueError(f"background knowledge names unknown nodes {unknown}; variables: {list(names)}")

    def forbids(self, a: str, b: str) -> bool:
        """Whether a -> b is impossible: forbidden, into a root, or from a later tier into an earlier one."""
        if (a, b) in self.forbidden or b in self.roots:
            return True
        ta, tb = self.tier_of(a), self.tier_of(b)
        return ta > tb >= 0

    def matrices(self, names: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(forbidden, required) as boolean n x n matrices over `names` (entry [i, j] for i -> j)."""
        self.check(names)
        n = len(names)
        index = {v: i for i, v in enumerate(names)}
        forbidden = np.zeros((n, n), dtype=bool)
        for i, a in enumerate(names):
            for j, b in enumerate(names):
                forbidden[i, j] = i != j and self.forbids(a, b)
        required = np.zeros((n, n), dtype=bool)
        for a, b in self.required:
            required[index[a], index[b]] = True
        if np.any(required & forbidden):
            bad = [(names[i], names[j]) for i, j in zip(*np.nonzero(required & forbidden), strict=True)]
            raise ValueError(f"required edges forbidden by roots or tiers: {bad}")
        return forbidden, required

    def as_dict(self) -> dict[str, list]:
        """Plain lists (sorted), for checkpoints."""
        return {
            "roots": sorted(self.roots),
            "forbidden": sorted(list(p) for p in self.forbidden),
            "required": sorted(list(p) for p in self.required),
            "tiers": [list(t) for t in self.tiers],
        }

    @classmethod
    def from_dict(cls, state: Mapping[str, Sequence]) -> Knowledge:
        """Inverse of `as_dict`."""
        return cls(
            roots=frozenset(state.get("roots", ())),
            forbidden=frozenset(tuple(p) for p in state.get("forbidden", ())),
            required=frozenset(tuple(p) for p in state.get("required", ())),
            tiers=tuple(tuple(t) for t in state.get("tiers", ())),
        )


@dataclass(frozen=True)
class PDAG:
    """A partially directed acyclic graph over `nodes`: `directed` pairs (a, b) for a -> b and `undirected` pairs
    {a, b} for a - b."""

    nodes: tuple[str, ...]
    directed: frozenset[tuple[str, str]]
    undirected: frozenset[frozenset[str]]

    @classmethod
    def from_matrices(cls, nodes: Sequence[str], directed: np.ndarray, undirected: np.ndarray) -> PDAG:
        """The PDAG of boolean matrices (`undirected` symmetric)."""
        names = tuple(nodes)
        d = {(names[i], names[j]) for i, j in zip(*np.nonzero(directed), strict=True)}
        u = {frozenset((names[i], names[j])) for i, j in zip(*np.nonzero(np.triu(undirected, 1)), strict=True)}
        return cls(names, frozenset(d), frozenset(u))

    def matrices(self) -> tuple[np.ndarray, np.ndarray]:
        """(directed, undirected) boolean matrices in `nodes` order."""
        index = {v: i for i, v in enumerate(self.nodes)}
        n = len(self.nodes)
        d = np.zeros((n, n), dtype=bool)
        u = np.zeros((n, n), dtype=bool)
        for a, b in self.directed:
            d[index[a], index[b]] = True
        for pair in self.undirected:
            a, b = sorted(pair)
            u[index[a], index[b]] = u[index[b], index[a]] = True
        return d, u

    @property
    def n_undirected(self) -> int:
        """Number of undirected edges."""
        return len(self.undirected)

    def dag(self) -> nx.DiGraph:
        """One consistent extension (a DAG with the same skeleton and unshielded colliders whose directed edges
        include this PDAG's), by Dor and Tarsi's algorithm: repeatedly take the first node, in `nodes` order, that
        has no outgoing directed edge and whose undirected neighbours are adjacent to all its other neighbours,
        direct its undirected edges into it and remove it. If no node qualifies (the PDAG has no consistent
        extension, e.g. after conflicting tests), the first node without outgoing directed edges is taken, so the
        result is always a DAG that keeps every directed edge."""
        d, u = self.matrices()
        return nx_from_matrix(self.nodes, extend(d, u))

    def as_dict(self) -> dict[str, list]:
        """Plain lists (sorted), for checkpoints."""
        return {
            "nodes": list(self.nodes),
            "directed": sorted(list(e) for e in self.directed),
            "undirected": sorted(sorted(e) for e in self.undirected),
        }

    @classmethod
    def from_dict(cls, state: Mapping[str, Sequence]) -> PDAG:
        """Inverse of `as_dict`."""
        return cls(
            tuple(state["nodes"]),
            frozenset(tuple(e) for e in state["directed"]),
            frozenset(frozenset(e) for e in state["undirected"]),
        )


def nx_from_matrix(nodes: Sequence[str], directed: np.ndarray) -> nx.DiGraph:
    """A DiGraph with nodes in the given order and an edge per True entry."""
    graph = nx.DiGraph()
    graph.add_nodes_from(nodes)
    graph.add_edges_from((nodes[i], nodes[j]) for i, j in zip(*np.nonzero(directed), strict=True))
    return graph


def extend(directed: np.ndarray, undirected: np.ndarray, priority: Sequence[int] | None = None) -> np.ndarray:
    """Dor and Tarsi's consistent extension as a directed adjacency matrix (see `PDAG.dag`); nodes are tried in
    `priority` order (default 0..n-1)."""
    d = directed.copy()
    u = undirected.copy()
    n = d.shape[0]
    order = list(range(n)) if priority is None else list(priority)
    alive = np.ones(n, dtype=bool)
    for _ in range(n):
        adj = (d | d.T | u) & alive[None, :] & alive[:, None]
        chosen = None
        fallback = None
        for x in order:
            if not alive[x] or np.any(d[x] & alive):
                continue
            if fallback is None:
                fallback = x
            neighbours = np.flatnonzero(adj[x])
            if all(np.all(adj[y, neighbours[neighbours != y]]) for y in np.flatnonzero(u[x] & alive)):
                chosen = x
                break
        if chosen is None:
            chosen = fallback
        if chosen is None:
            raise ValueError("the directed part of the PDAG has a cycle; no DAG extends it")
        ys = u[chosen] & alive
        d[ys, chosen] = True
        u[chosen, :] = u[:, chosen] = False
        alive[chosen] = False
    return d


def _reaches(directed: np.ndarray, source: int, target: int) -> bool:
    """Whether a directed path source ->* target exists."""
    seen = np.zeros(directed.shape[0], dtype=bool)
    frontier = np.zeros_like(seen)
    frontier[source] = True
    while frontier.any():
        if frontier[target]:
            return True
        seen |= frontier
        frontier = directed[frontier].any(axis=0) & ~seen
    return False


class Orienter:
    """Mutable directed / undirected matrices with orientation steps that never create a directed cycle or an edge
    `forbidden` marks (boolean n x n, [i, j] for i -> j)."""

    def __init__(self, adjacency: np.ndarray, forbidden: np.ndarray | None = None):
        n = adjacency.shape[0]
        self.directed = np.zeros((n, n), dtype=bool)
        self.undirected = np.asarray(adjacency, dtype=bool) & ~np.eye(n, dtype=bool)
        self.undirected = self.undirected | self.undirected.T
        self.forbidden = np.zeros((n, n), dtype=bool) if forbidden is None else np.asarray(forbidden, dtype=bool)

    @classmethod
    def from_pdag(cls, directed: np.ndarray, undirected: np.ndarray, forbidden: np.ndarray | None = None) -> Orienter:
        """An orienter that starts from existing matrices."""
        out = cls(np.zeros_like(directed), forbidden)
        out.directed = directed.copy()
        out.undirected = undirected.copy()
        return out

    @property
    def adjacent(self) -> np.ndarray:
        """Symmetric adjacency."""
        return self.directed | self.directed.T | self.undirected

    def can_orient(self, a: int, b: int) -> bool:
        """Whether a -> b may be set: the pair is adjacent, not already b -> a... (undirected or a -> b already),
        not forbidden, and no directed path b ->* a exists."""
        if self.directed[a, b]:
            return True
        return bool(self.undirected[a, b]) and not self.forbidden[a, b] and not _reaches(self.directed, b, a)

    def orient(self, a: int, b: int) -> bool:
        """Set a -> b when allowed (see `can_orient`); True if the graph changed."""
        if self.directed[a, b] or not self.can_orient(a, b):
            return False
        self.directed[a, b] = True
        self.undirected[a, b] = self.undirected[b, a] = False
        return True

    def add(self, a: int, b: int) -> bool:
        """Add the edge a -> b between non-adjacent nodes unless it is forbidden or closes a directed cycle."""
        if self.adjacent[a, b] or self.forbidden[a, b] or _reaches(self.directed, b, a):
            return False
        self.directed[a, b] = True
        return True

    def force(self, a: int, b: int) -> bool:
        """Set a -> b even over an existing b -> a (stronger evidence), unless that closes a directed cycle."""
        if self.directed[a, b]:
            return False
        if not (self.undirected[a, b] or self.directed[b, a]):
            return False
        saved = self.directed[b, a]
        self.directed[b, a] = False
        if _reaches(self.directed, b, a):
            self.directed[b, a] = saved
            return False
        self.directed[a, b] = True
        self.undirected[a, b] = self.undirected[b, a] = False
        return True

    def colliders(self, separated: Mapping[tuple[int, int], frozenset[int] | None]) -> None:
        """Orient x -> y <- z for every unshielded triple x - y - z (x < z, non-adjacent) whose y lies in no
        separating set found for (x, z) (`separated[(x, z)]`, x < z; None: non-adjacent by knowledge, no
        collider inferred). A triple that conflicts with an earlier orientation (y -> x or y -> z already) is
        skipped (existing colliders have priority)."""
        adj = self.adjacent
        n = adj.shape[0]
        for y in range(n):
            nbrs = np.flatnonzero(adj[y])
            for ix, x in enumerate(nbrs):
                for z in nbrs[ix + 1 :]:
                    if adj[x, z]:
                        continue
                    sep = separated.get((int(x), int(z)))
                    if sep is None or y in sep:
                        continue
                    if self.directed[y, x] or self.directed[y, z] or self.forbidden[x, y] or self.forbidden[z, y]:
                        continue
                    if self.can_orient(x, y) and self.can_orient(z, y):
                        self.orient(x, y)
                        self.orient(z, y)

    def meek(self) -> None:
        """Apply Meek's rules R1-R4 until none applies (rules as in Meek, "Causal inference and causal explanation
        with background knowledge"; R4 matters only with background knowledge or interventions)."""
        while True:
            d = self.directed.astype(np.int64)
            u = self.undirected
            adj = self.adjacent
            non_adj = ~adj & ~np.eye(adj.shape[0], dtype=bool)
            ui = u.astype(np.int64)
            # R1: a -> b - c, a and c non-adjacent => b -> c.
            r1 = u & ((d.T @ non_adj.astype(np.int64)) > 0)
            # R2: a -> b -> c and a - c => a -> c.
            r2 = u & ((d @ d) > 0)
            # R3: a - c -> b, a - d -> b, c and d non-adjacent, a - b => a -> b.
            w = ui[:, None, :] * d.T[None, :, :]  # w[a, b, c] = (a - c) and (c -> b)
            r3 = u & (np.einsum("abc,abd,cd->ab", w, w, non_adj.astype(np.int64)) > 0)
            # R4: a - d -> c -> b, a adjacent to c, b and d non-adjacent, a - b => a -> b.
            r4 = u & (np.einsum("ad,dc,cb,ac,bd->ab", ui, d, d, adj.astype(np.int64), non_adj.astype(np.int64)) > 0)
            candidates = (r1 | r2 | r3 | r4) & ~self.forbidden
            changed = False
            for a, b in zip(*np.nonzero(candidates), strict=True):
                if self.undirected[a, b] and self.orient(int(a), int(b)):
                    changed = True
                    break  # recompute the rules on the changed graph (sequential application)
            if not changed:
                return


def orient(
    adjacency: np.ndarray,
    separated: Mapping[tuple[int, int], frozenset[int] | None],
    forbidden: np.ndarray | None = None,
    forced: Sequence[tuple[int, int]] = (),
) -> tuple[np.ndarray, np.ndarray]:
    """Skeleton -> PDAG: `forced` orientations first (in the given order; one that would close a cycle or
    contradict an earlier one is skipped), then every edge whose reverse `forbidden` marks, then unshielded
    colliders, then Meek's rules. Returns (directed, undirected)."""
    state = Orienter(adjacency, forbidden)
    for a, b in forced:
        if not state.directed[b, a]:
            state.orient(a, b)
    one_way = state.undirected & state.forbidden.T & ~state.forbidden
    for a, b in zip(*np.nonzero(one_way), strict=True):
        state.orient(int(a), int(b))
    state.colliders(separated)
    state.meek()
    return state.directed, state.undirected

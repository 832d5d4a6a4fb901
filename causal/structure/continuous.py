"""Causal structure learning for continuous variables from observations plus interventions.

- `learn_cpdag(data, knowledge, alpha)`: the PC algorithm (Spirtes, Glymour and Scheines, "Causation, Prediction,
  and Search"; stable variant) on observational data with a nonparanormal Fisher-z test (`dogym.causal.structure.pc`),
  unshielded colliders and Meek's rules (Meek, "Causal inference and causal explanation with background
  knowledge"), background knowledge respected (`Knowledge`). Returns a `PDAG` (the CPDAG).
- `GraphLearner`: the online learner an agent holds: it accumulates observational rows and rows under do() of
  target sets, and `learn()` relearns from all of them: the skeleton and colliders from the observational rows, the
  edges at intervened variables oriented by the interventional test of `dogym.causal.structure.interventional`,
  then Meek's rules. `dag()` is one consistent extension (Dor and Tarsi), `edge_confidence` a bootstrap frequency,
  `expected_orientations(targets)` how many undirected edges a do(targets) is expected to orient.
- `misspecified(graph, seed)`: the graph with one edge reversed, acyclic (the cost of a wrong graph).

For time-unrolled graphs, state the time order as `Knowledge(tiers=...)` (e.g. lagged variables as the first tier);
no edge then points back in time. `Knowledge`, `PDAG` (`dogym.causal.structure.pdag`) and `CI_TESTS`
(`dogym.causal.structure.pc`) can be imported from here too; they are documented where they are defined.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from itertools import product
from typing import Any

import networkx as nx
import numpy as np

from dogym.causal.random_streams import named_rng
from dogym.causal.structure.interventional import ancestral_additions, interventional_orientations, response_pvalue
from dogym.causal.structure.pc import CI_TESTS, CITest, data_matrix, learn_skeleton
from dogym.causal.structure.pdag import PDAG, Knowledge, Orienter, extend, orient

__all__ = ["GraphLearner", "learn_cpdag", "misspecified"]  # and the re-exports CI_TESTS, Knowledge, PDAG

#: Fewest observational rows the partial-correlation test can use (n - |S| - 3 > 0 at |S| = 1).
MIN_ROWS = 5

#: Up to this many undirected edges, `expected_orientations` enumerates every DAG of the equivalence class.
MAX_ENUMERATED_EDGES = 10


def _check_alpha(alpha: float) -> float:
    alpha = float(alpha)
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    return alpha


def _check_names(names: Sequence[str]) -> tuple[str, ...]:
    if isinstance(names, str):
        raise ValueError(f"names must be a sequence of variable names, got the string {names!r}")
    out = tuple(names)
    if not out:
        raise ValueError("a structure learner needs at least one variable")
    if not all(isinstance(v, str) and v for v in out):
        raise ValueError(f"variable names must be non-empty strings, got {list(out)}")
    if len(set(out)) != len(out):
        raise ValueError(f"variable names must be unique, got {list(out)}")
    return out


#: Interventional rows grouped by (target-index set, regime).
Groups = Mapping[tuple[frozenset[int], Hashable], np.ndarray]


def fit_pdag(
    names: Sequence[str],
    observational: np.ndarray,
    groups: Groups,
    knowledge: Knowledge,
    alpha: float,
    ci_test: str = "rank",
    pooled: bool = True,
    shift_test: bool = True,
) -> PDAG:
    """The PDAG of [n, p] observational rows and interventional row groups (see `GraphLearner` for `pooled` and
    `shift_test`): skeleton and colliders, required edges, interventional orientations, Meek's rules. With fewer
    than `MIN_ROWS` rows for the skeleton the result has no edges but the required ones."""
    forbidden, required = knowledge.matrices(names)
    p = len(names)
    blocks = [observational, *groups.values()] if pooled else [observational]
    rows = np.concatenate(blocks) if blocks else np.zeros((0, p))
    if rows.shape[0] < MIN_ROWS:
        return PDAG.from_matrices(names, required, np.zeros((p, p), dtype=bool))
    targets = np.zeros((len(observational), p), dtype=bool)
    regimes: list[Hashable] = [None]
    strata = [np.zeros(len(observational), dtype=np.int64)]
    if pooled:
        masks = [targets]
        for (chosen, regime), block in groups.items():
            mask = np.zeros((len(block), p), dtype=bool)
            mask[:, sorted(chosen)] = True
            masks.append(mask)
            if regime not in regimes:
                regimes.append(regime)
            strata.append(np.full(len(block), regimes.index(regime), dtype=np.int64))
        targets = np.concatenate(masks)
    test = CITest(rows, ci_test, targets, np.concatenate(strata))
    adjacency, separated = learn_skeleton(test, p, alpha, banned=forbidden, kept=required)
    forced = [(int(a), int(b)) for a, b in zip(*np.nonzero(required), strict=True)]
    no_set = np.zeros((1, 0), dtype=np.int64)

    def marginal(a: int, b: int) -> float:
        return float(test(a, b, no_set)[0])

    memo: dict[tuple[int, int], float | None] = {}

    def responses(x: int, y: int) -> float | None:
        if (x, y) not in memo:
            memo[(x, y)] = response_pvalue(x, y, groups, observational, shift_test, alpha)
        return memo[(x, y)]

    forced += interventional_orientations(adjacency, groups, observational, alpha, shift_test, responses)
    directed, undirected = orient(adjacency, separated, forbidden, forced)
    added = ancestral_additions(
        directed, undirected, groups, observational, alpha, shift_test, forbidden, marginal, responses
    )
    if added:
        state = Orienter.from_pdag(directed, undirected, forbidden)
        for a, b in added:
            state.add(a, b)
        state.meek()
        directed, undirected = state.directed, state.undirected
    return PDAG.from_matrices(names, directed, undirected)


def learn_cpdag(
    data: Mapping[str, np.ndarray], knowledge: Knowledge | None = None, alpha: float = 0.01, *, ci_test: str = "rank"
) -> PDAG:
    """The CPDAG of observational data (name -> 1-D column, all of one length) by the PC algorithm with the
    `ci_test` conditional-independence test of `dogym.causal.structure.pc.CITest` ("rank": nonparanormal Fisher-z,
    the default; "basis": cubic-basis residual test, for non-monotone effects in passive data; "fisherz": Pearson),
    level `alpha`, and the background `knowledge`. Nodes follow the order of `data`."""
    names = _check_names(list(data))
    return fit_pdag(names, data_matrix(data, names), {}, knowledge or Knowledge(), _check_alpha(alpha), ci_test)


def _colliders(directed: np.ndarray) -> np.ndarray:
    """[n, n, n] boolean: a -> b <- c with a, c non-adjacent (a != c)."""
    adj = directed | directed.T
    non_adj = ~adj & ~np.eye(adj.shape[0], dtype=bool)
    return directed[:, :, None] & directed.T[None, :, :] & non_adj[:, None, :]


def _is_acyclic(directed: np.ndarray) -> bool:
    d = directed.copy()
    alive = np.ones(d.shape[0], dtype=bool)
    while alive.any():
        sinks = alive & ~(d & alive[None, :]).any(axis=1)
        if not sinks.any():
            return False
        alive &= ~sinks
    return True


def class_members(directed: np.ndarray, undirected: np.ndarray, forbidden: np.ndarray, limit: int) -> list[np.ndarray]:
    """DAGs of the PDAG's class: every orientation of its undirected edges that is acyclic, adds no unshielded
    collider and no forbidden edge (enumerated up to `limit` undirected edges); beyond that, Dor and Tarsi's
    extension under 32 node orders (distinct results only). Never empty: falls back to `extend`."""
    pairs = list(zip(*np.nonzero(np.triu(undirected, 1)), strict=True))
    if len(pairs) > limit:
        rng = np.random.default_rng(len(pairs))
        found = {extend(directed, undirected, rng.permutation(directed.shape[0])).tobytes(): None for _ in range(32)}
        shape = directed.shape
        return [np.frombuffer(b, dtype=bool).reshape(shape).copy() for b in found]
    base = _colliders(directed)
    members = []
    for signs in product((False, True), repeat=len(pairs)):
        d = directed.copy()
        for (i, j), flip in zip(pairs, signs, strict=True):
            a, b = (j, i) if flip else (i, j)
            d[a, b] = True
        if np.any(d & forbidden) or not _is_acyclic(d) or not np.array_equal(_colliders(d), base):
            continue
        members.append(d)
    return members or [extend(directed, undirected)]


class GraphLearner:
    """The online structure learner an agent holds (see module docstring).

    names: the variables (nodes in this order); knowledge: background knowledge (e.g. the roots an operator knows:
    the exogenous variables); alpha: level of every test; seed: the bootstrap's random stream (None means 0);
    ci_test: the skeleton's conditional-independence test (`learn_cpdag`).

    pooled (default True): the skeleton and colliders come from every row, observational and interventional
    alike. A do() changes only its targets' mechanisms, so the pooled rows follow the same graph, as in the joint
    causal inference of Mooij, Magliacane and Claassen, "Joint causal inference from multiple contexts", with the
    targets known; a pair is tested on the rows that did not intervene on both of its variables (a joint do() shifts
    both together), and each regime given to `add_interventional` gets a fixed effect in every test. Pooling is
    what lets interventions ADD adjacencies: a variable held constant in the passive data (a nominal configuration)
    varies only under do(). pooled=False: the skeleton from the observational rows only.
    shift_test (default True): the interventional orientation may compare a target's effect with its
    observational distribution (`dogym.causal.structure.interventional`); switch it off when interventional
    outcomes are noise-free and the observational ones are not."""

    def __init__(
        self,
        names: Sequence[str],
        knowledge: Knowledge | None = None,
        alpha: float = 0.01,
        seed: int | None = None,
        *,
        ci_test: str = "rank",
        pooled: bool = True,
        shift_test: bool = True,
    ):
        self.names = _check_names(names)
        self.knowledge = knowledge if knowledge is not None else Knowledge()
        if not isinstance(self.knowledge, Knowledge):
            raise ValueError(f"knowledge must be a Knowledge, got {type(self.knowledge).__name__}")
        self.knowledge.check(self.names)
        self.knowledge.matrices(self.names)  # contradictions between roots/tiers and required edges
        self.alpha = _check_alpha(alpha)
        self.seed = 0 if seed is None else int(seed)
        if ci_test not in CI_TESTS:
            raise ValueError(f"unknown ci_test {ci_test!r}; choose one of {', '.join(CI_TESTS)}")
        self.ci_test = ci_test
        self.pooled = bool(pooled)
        self.shift_test = bool(shift_test)
        self._index = {v: i for i, v in enumerate(self.names)}
        self._observational: list[np.ndarray] = []
        self._interventional: list[tuple[frozenset[int], Hashable, np.ndarray]] = []
        self.pdag: PDAG | None = None
        self._members: list[np.ndarray] | None = None

    # ------------------------------------------------------------------ data
    def add_observational(self, data: Mapping[str, np.ndarray]) -> None:
        """Append passive rows (name -> 1-D column, every variable, equal lengths)."""
        rows = data_matrix(data, self.names, "observational data")
        if len(rows):
            self._observational.append(rows)

    def add_interventional(
        self, targets: Sequence[str], data: Mapping[str, np.ndarray], *, regime: Hashable = None
    ) -> None:
        """Append rows sampled under do(targets) (the targets' set values are their columns in `data`). `regime`
        (optional, hashable, e.g. a time step): rows of one regime share their background (e.g. a realised past);
        rows pool by (targets, regime), and every test adjusts for the regime (see the class docstring)."""
        if isinstance(targets, str):
            raise ValueError(f"targets must be a sequence of names, got the string {targets!r}")
        unknown = [t for t in targets if t not in self._index]
        if unknown or not targets:
            raise ValueError(f"interventional targets must be a non-empty subset of {list(self.names)}, got {targets}")
        try:
            hash(regime)
        except TypeError:
            raise ValueError(f"regime must be hashable (e.g. an int or a string), got {regime!r}") from None
        rows = data_matrix(data, self.names, f"interventional data under do({', '.join(targets)})")
        if len(rows):
            self._interventional.append((frozenset(self._index[t] for t in targets), regime, rows))

    @property
    def n_observational(self) -> int:
        """Observational rows held."""
        return sum(len(b) for b in self._observational)

    @property
    def n_interventional(self) -> int:
        """Interventional rows held."""
        return sum(len(b) for *_, b in self._interventional)

    def _data(self) -> tuple[np.ndarray, dict[tuple[frozenset[int], Hashable], np.ndarray]]:
        obs = np.concatenate(self._observational) if self._observational else np.zeros((0, len(self.names)))
        groups: dict[tuple[frozenset[int], Hashable], list[np.ndarray]] = {}
        for targets, regime, rows in self._interventional:
            groups.setdefault((targets, regime), []).append(rows)
        return obs, {key: np.concatenate(blocks) for key, blocks in groups.items()}

    def _fit(self, obs: np.ndarray, groups: Groups) -> PDAG:
        return fit_pdag(self.names, obs, groups, self.knowledge, self.alpha, self.ci_test, self.pooled, self.shift_test)

    # ------------------------------------------------------------------ learning
    def learn(self) -> PDAG:
        """Relearn the PDAG from every row so far (see module docstring); also stored as `.pdag`."""
        self.pdag = self._fit(*self._data())
        self._members = None
        return self.pdag

    def _learned(self) -> PDAG:
        if self.pdag is None:
            raise ValueError("no graph learned yet: call learn() after adding observational data")
        return self.pdag

    def dag(self) -> nx.DiGraph:
        """One consistent DAG extension of the last learned PDAG (`PDAG.dag`)."""
        return self._learned().dag()

    def edge_confidence(self, n_boot: int = 20) -> dict[tuple[str, str], float]:
        """Bootstrap frequency of every directed edge (a, b), a != b: the share of `n_boot` refits, each on rows
        resampled with replacement (observational rows, and each target set's rows separately), whose PDAG has
        a -> b; an undirected a - b counts 1/2 for each direction. Deterministic in the learner's seed and data."""
        if int(n_boot) < 1:
            raise ValueError(f"n_boot must be >= 1, got {n_boot}")
        self._learned()
        obs, groups = self._data()
        rng = named_rng(self.seed, "structure_bootstrap")
        total = np.zeros((len(self.names), len(self.names)))
        for _ in range(int(n_boot)):
            boot_obs = obs[rng.integers(0, len(obs), len(obs))]
            boot_groups = {t: rows[rng.integers(0, len(rows), len(rows))] for t, rows in groups.items()}
            d, u = self._fit(boot_obs, boot_groups).matrices()
            total += d + 0.5 * u
        total /= int(n_boot)
        return {
            (a, b): float(total[i, j]) for i, a in enumerate(self.names) for j, b in enumerate(self.names) if i != j
        }

    def expected_orientations(self, targets: Sequence[str]) -> float:
        """Expected number of undirected edges of the current PDAG that a do(targets) would orient, directly (edges
        between a target and a non-target) and by Meek's rules, averaged uniformly over the DAGs of the PDAG's
        class (enumerated; `class_members`)."""
        if isinstance(targets, str):
            raise ValueError(f"targets must be a sequence of names, got the string {targets!r}")
        unknown = [t for t in targets if t not in self._index]
        if unknown:
            raise ValueError(f"unknown targets {unknown}; variables: {list(self.names)}")
        pdag = self._learned()
        directed, undirected = pdag.matrices()
        chosen = np.zeros(len(self.names), dtype=bool)
        chosen[[self._index[t] for t in targets]] = True
        cut = undirected & (chosen[:, None] ^ chosen[None, :])
        if not cut.any():
            return 0.0
        forbidden, _ = self.knowledge.matrices(self.names)
        if self._members is None:
            self._members = class_members(directed, undirected, forbidden, MAX_ENUMERATED_EDGES)
        counts = []
        for member in self._members:
            state = Orienter.from_pdag(directed, undirected, forbidden)
            for a, b in zip(*np.nonzero(cut & member), strict=True):
                state.orient(int(a), int(b))
            state.meek()
            counts.append(pdag.n_undirected - int(np.triu(state.undirected, 1).sum()))
        return float(np.mean(counts))

    # ------------------------------------------------------------------ checkpoints
    def state(self) -> dict[str, Any]:
        """Plain arrays and lists: settings, every row held and the last learned PDAG."""
        return {
            "names": list(self.names),
            "knowledge": self.knowledge.as_dict(),
            "alpha": self.alpha,
            "seed": self.seed,
            "ci_test": self.ci_test,
            "pooled": self.pooled,
            "shift_test": self.shift_test,
            "observational": [b.copy() for b in self._observational],
            "interventional": [
                {"targets": [self.names[i] for i in sorted(t)], "regime": r, "data": b.copy()}
                for t, r, b in self._interventional
            ],
            "pdag": None if self.pdag is None else self.pdag.as_dict(),
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> GraphLearner:
        """Inverse of `state()`."""
        learner = cls(
            state["names"],
            Knowledge.from_dict(state["knowledge"]),
            state["alpha"],
            state["seed"],
            ci_test=state["ci_test"],
            pooled=state.get("pooled", True),
            shift_test=state.get("shift_test", True),
        )
        p = len(learner.names)
        for block in state["observational"]:
            learner._observational.append(np.asarray(block, dtype=np.float64).reshape(-1, p))
        for item in state["interventional"]:
            targets = frozenset(learner._index[t] for t in item["targets"])
            rows = np.asarray(item["data"], dtype=np.float64).reshape(-1, p)
            regime = item.get("regime")
            regime = tuple(regime) if isinstance(regime, list) else regime  # a JSON round trip turns tuples to lists
            learner._interventional.append((targets, regime, rows))
        if state.get("pdag") is not None:
            learner.pdag = PDAG.from_dict(state["pdag"])
        return learner


def misspecified(graph: nx.DiGraph, seed: int) -> nx.DiGraph:
    """The graph with one edge u -> v reversed, chosen uniformly (stream "wrong_graph" of `seed`) among the edges
    whose reversal keeps the graph acyclic (those with no other directed path from u to v). Node order and node /
    edge data are kept. ValueError when the graph has no edge or is not a DAG."""
    if not nx.is_directed_acyclic_graph(graph):
        raise ValueError("misspecified needs a DAG")
    candidates = []
    for u, v in graph.edges:
        rest = graph.copy()
        rest.remove_edge(u, v)
        if not nx.has_path(rest, u, v):
            candidates.append((u, v))
    if not candidates:
        raise ValueError("misspecified needs a graph with at least one edge whose reversal keeps it acyclic")
    u, v = candidates[int(named_rng(int(seed), "wrong_graph").integers(len(candidates)))]
    wrong = nx.DiGraph()
    wrong.add_nodes_from(graph.nodes(data=True))
    for a, b, data in graph.edges(data=True):
        if (a, b) == (u, v):
            wrong.add_edge(v, u, **data)
        else:
            wrong.add_edge(a, b, **data)
    return wrong

"""Structure learning for dynamic (time-unrolled) SCMs: the within-slice graph learned from observational trajectories
and from interventions on single time slices, unrolled over the horizon with assumed transition edges.

The model class is that of Aglietti, Dhir, Gonzalez and Damoulas, "Dynamic Causal Bayesian Optimization" (section 2):
the same within-slice DAG at every time step and edges from slice t - 1 into slice t. What is learned and what is
assumed:

- **Assumed transitions**: every slice variable V carries its own past, V_{t-1} -> V_t, and no other edge crosses
  slices (`assumed_transitions`). They are not learned; a system with cross-variable lags (V_{t-1} -> W_t) is outside
  this learner.
- **Learned within-slice graph**: one stationary slice DAG, learned by `dogym.causal.structure.continuous.GraphLearner`
  (PC on the observational rows, interventional orientation, Meek's rules) from **pooled slices**: every complete
  (trajectory, t) row of D^O is one observational row of the slice variables. Pooling was chosen over conditioning on
  the lagged slice (the lagged variables as a first tier of `Knowledge`): on the DCBO benchmarks D^O has N = 10
  trajectories of T = 3 steps, and the lagged form keeps only the N (T - 1) rows with a past and recovers less of the
  slice skeleton, also at N = 300 (STAT and IND, seeds 100-119: benchmarks/dcgo_graph_tuning.py --part slices,
  benchmarks/results/dcgo_graph/slices.md). Pooling ignores the lagged paths between slice variables (e.g. STAT's
  X_t <- X_{t-1} -> Z_{t-1} -> Y_{t-1} -> Y_t), which a test may see as a within-slice dependence given many rows.
- **Interventional rows**: each do(X_s = x) at time step t returns the whole slice; rows of the same (t, X_s) share
  the realised previous slice (one regime), so they are passed to the learner as one interventional batch.

`TimeUnrolledLearner` keeps the rows and relearns from all of them; `unrolled_graph` gives the time-unrolled DAG
that `dogym.causal.dynamic_effects.DynamicGPSCM` and the minimal intervention sets read.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import networkx as nx
import numpy as np

from dogym.causal.graphs import unroll

if TYPE_CHECKING:
    from dogym.causal.structure.continuous import PDAG, GraphLearner, Knowledge

#: With noise-free outcomes, a variable responds to a do() when its values in one regime spread by more than this
#: relative amount (`TimeUnrolledLearner.responses`).
RESPONSE_TOLERANCE = 1e-9

#: A regime of interventional rows: (time step, intervened variables).
Regime = tuple[int, tuple[str, ...]]


def assumed_transitions(variables: Iterable[str]) -> list[tuple[str, str]]:
    """The transition edges this learner assumes: V_{t-1} -> V_t for every slice variable V (module docstring)."""
    return [(v, v) for v in variables]


def slice_graph(unrolled: nx.DiGraph, variables: Sequence[str], t: int | None = None) -> nx.DiGraph:
    """The within-slice DAG over `variables` at time step t (default: the last slice of the unrolled graph) of a
    time-unrolled graph with (variable, t) nodes."""
    last = max(step for _, step in unrolled.nodes)
    t = last if t is None else int(t)
    graph = nx.DiGraph()
    graph.add_nodes_from(variables)
    graph.add_edges_from((u[0], v[0]) for u, v in unrolled.edges if u[1] == t and v[1] == t)
    return graph


def transition_edges(unrolled: nx.DiGraph) -> list[tuple[str, str]]:
    """Every (u, v) with an edge u_{t-1} -> v_t at some t of a time-unrolled graph, in edge order."""
    return list(dict.fromkeys((u[0], v[0]) for u, v in unrolled.edges if v[1] == u[1] + 1))


def unrolled_graph(
    within: nx.DiGraph, variables: Sequence[str], horizon: int, transitions: Iterable[tuple[str, str]] | None = None
) -> nx.DiGraph:
    """The time-unrolled DAG of a slice DAG over t = 0..horizon-1 with the given transition edges (default: the
    assumed ones, `assumed_transitions`)."""
    edges = assumed_transitions(variables) if transitions is None else list(transitions)
    return unroll(within, edges, horizon, variables)


def pooled_slices(data: Mapping[str, np.ndarray], variables: Sequence[str]) -> dict[str, np.ndarray]:
    """Observational trajectories (name -> [N, T], NaN where a step has no data) as slice rows: every complete
    (trajectory, t) pair is one row (name -> 1-D column)."""
    arrays = [np.asarray(data[v], dtype=np.float64) for v in variables]
    shapes = {a.shape for a in arrays}
    if len(shapes) != 1 or arrays[0].ndim != 2:
        raise ValueError(f"observational data must be [N, T] arrays of one shape, got shapes {sorted(shapes)}")
    rows = np.stack([a.reshape(-1) for a in arrays], axis=1)
    rows = rows[np.all(np.isfinite(rows), axis=1)]
    return {v: rows[:, i].copy() for i, v in enumerate(variables)}


class TimeUnrolledLearner:
    """The within-slice graph of a dynamic SCM learned from pooled observational slices plus interventional slices
    (module docstring), relearned on demand.

    variables: the slice variables; horizon: T; knowledge: background knowledge on the slice variables (e.g. roots);
    alpha: the learner's significance level; seed: its bootstrap seed. `learn()` builds a fresh
    `GraphLearner` from every row so far (observational rows first, then one interventional batch per regime in
    the order the regimes first appeared; no shift test, see below), so the result depends on the data only, and adds
    its CPU seconds to `seconds`.

    noise_free: the interventional slices are noise-free (the DCGO envs' explorations by default, as the DCBO
    authors' plug-in outcomes), so within one regime a variable that is no descendant of the intervened one stays
    exactly constant and a descendant varies (`responses`; the learner's shift test, which compares with the noisy
    observational rows, is off either way). The learned DAG is then corrected: the children of every probed variable
    X (`probed`) are its children in the transitive reduction of the responses, i.e. the sparsest graph with the
    descendants the interventions showed (no direct X -> V beside a path X -> Z ~> V: such a shortcut is invisible
    to responses and is assumed absent), a learned edge V -> X against a response is reversed, and an edge that
    would close a cycle is left out. This recovers a descendant whose response no smooth-basis test sees in a few
    rows (STAT's Y = cos(Z) - exp(-Z / 20) over Z in [-5, 20]) and drops the shortcut X -> Y that a test on the
    pooled slices may find. With noisy outcomes every variable would "respond": keep it off."""

    def __init__(
        self,
        variables: Sequence[str],
        horizon: int,
        knowledge: Knowledge | None = None,
        alpha: float = 0.01,
        seed: int | None = None,
        noise_free: bool = False,
    ) -> None:
        self.variables = tuple(variables)
        self.noise_free = bool(noise_free)
        self._dag = nx.DiGraph()
        self.horizon = int(horizon)
        self.knowledge, self.alpha, self.seed = knowledge, float(alpha), seed
        self.observational: dict[str, np.ndarray] = {v: np.empty(0) for v in self.variables}
        self.interventional: dict[Regime, list[list[float]]] = {}
        self.learner: GraphLearner | None = None
        self.seconds = 0.0

    def add_observational(self, data: Mapping[str, np.ndarray]) -> None:
        """Observational trajectories name -> [N, T] (NaN where a step has no data), pooled into slice rows."""
        missing = [v for v in self.variables if v not in data]
        if missing:
            raise ValueError(f"observational data lacks the slice variables {missing}")
        rows = pooled_slices(data, self.variables)
        self.observational = {v: np.concatenate([self.observational[v], rows[v]]) for v in self.variables}

    def add_interventional(self, t: int, targets: Sequence[str], values: Mapping[str, float]) -> None:
        """One slice observed under do(targets) at time step t (`values`: every slice variable's value)."""
        unknown = sorted(set(targets) - set(self.variables))
        if unknown or not targets:
            raise ValueError(f"intervened variables must be a non-empty subset of {self.variables}, got {targets}")
        missing = [v for v in self.variables if v not in values]
        if missing:
            raise ValueError(f"an interventional slice lacks the values of {missing}")
        key = (int(t), tuple(sorted(targets, key=self.variables.index)))
        self.interventional.setdefault(key, []).append([float(values[v]) for v in self.variables])

    @property
    def n_interventional(self) -> int:
        """The interventional rows so far."""
        return sum(len(rows) for rows in self.interventional.values())

    def responses(self) -> set[tuple[str, str]]:
        """The pairs (X, V) such that V varied among the slices of one regime under do(X) alone while X varied: with
        noise-free outcomes V is then a descendant of X (a non-descendant stays exactly constant within a regime)."""
        out: set[tuple[str, str]] = set()
        for (_, targets), rows in self.interventional.items():
            values = np.asarray(rows, dtype=np.float64)
            x = self.variables.index(targets[0])
            if len(targets) > 1 or np.ptp(values[:, x]) == 0:
                continue
            spread = np.ptp(values, axis=0) > RESPONSE_TOLERANCE * (1.0 + np.abs(values).max(axis=0))
            out |= {(targets[0], v) for i, v in enumerate(self.variables) if i != x and spread[i]}
        return out

    def probed(self) -> set[str]:
        """The variables intervened on alone at two or more values within one regime (their descendants are then
        seen, with noise-free outcomes)."""
        out: set[str] = set()
        for (_, targets), rows in self.interventional.items():
            values = np.asarray(rows, dtype=np.float64)
            if len(targets) == 1 and np.ptp(values[:, self.variables.index(targets[0])]) > 0:
                out.add(targets[0])
        return out

    def _complete(self, dag: nx.DiGraph) -> nx.DiGraph:
        """The learned DAG corrected by the noise-free responses (class docstring)."""
        found = nx.DiGraph(sorted(self.responses()))
        if not nx.is_directed_acyclic_graph(found):
            return dag
        reduced = nx.transitive_reduction(found)
        probed = self.probed()
        out = dag.copy()
        out.remove_edges_from([(x, v) for x, v in dag.edges if x in probed and not reduced.has_edge(x, v)])
        for x, v in sorted(reduced.edges):
            back = out.has_edge(v, x)
            out.remove_edges_from([(v, x)])
            out.add_edge(x, v)
            if not nx.is_directed_acyclic_graph(out):
                out.remove_edge(x, v)
                if back:
                    out.add_edge(v, x)
        return out

    def learn(self) -> PDAG:
        """Relearn the slice CPDAG from every row so far (class docstring)."""
        from dogym.causal.structure.continuous import GraphLearner

        start = time.process_time()
        learner = GraphLearner(list(self.variables), self.knowledge, self.alpha, self.seed, shift_test=False)
        learner.add_observational(self.observational)
        for (t, targets), rows in self.interventional.items():
            columns = np.asarray(rows, dtype=np.float64)
            learner.add_interventional(targets, {v: columns[:, i] for i, v in enumerate(self.variables)}, regime=t)
        pdag = learner.learn()
        self.learner = learner
        dag = nx.DiGraph()
        dag.add_nodes_from(self.variables)
        dag.add_edges_from(sorted(learner.dag().edges))
        self._dag = self._complete(dag) if self.noise_free else dag
        self.seconds += time.process_time() - start
        return pdag

    def _learned(self) -> GraphLearner:
        if self.learner is None:
            raise RuntimeError("call learn() first")
        return self.learner

    def slice_dag(self) -> nx.DiGraph:
        """The last learned slice DAG over the slice variables: one consistent extension of the learned CPDAG
        (`PDAG.dag`), completed by the noise-free responses when `noise_free` (class docstring)."""
        self._learned()
        return self._dag.copy()

    def unrolled(self) -> nx.DiGraph:
        """The time-unrolled DAG of `slice_dag` with the assumed transitions."""
        return unrolled_graph(self.slice_dag(), self.variables, self.horizon)

    def expected_orientations(self, targets: Sequence[str]) -> float:
        """How many undirected edges of the last learned CPDAG a do(targets) would orient
        (`GraphLearner.expected_orientations`)."""
        return float(self._learned().expected_orientations(list(targets)))

    def state(self) -> dict[str, Any]:
        """Plain lists: the rows, the regimes and the seconds so far (`from_state` reads it back; the graph is
        relearned from the rows)."""
        return {
            "variables": list(self.variables),
            "horizon": self.horizon,
            "alpha": self.alpha,
            "seed": self.seed,
            "noise_free": self.noise_free,
            "observational": {v: self.observational[v].tolist() for v in self.variables},
            "interventional": [[t, list(targets), rows] for (t, targets), rows in self.interventional.items()],
            "seconds": self.seconds,
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any], knowledge: Knowledge | None = None) -> TimeUnrolledLearner:
        """The learner saved by `state()` (call `learn()` to rebuild its graph)."""
        learner = cls(state["variables"], state["horizon"], knowledge, state["alpha"], state["seed"],
                      state["noise_free"])  # fmt: skip
        learner.observational = {v: np.asarray(c, dtype=np.float64) for v, c in state["observational"].items()}
        learner.interventional = {(int(t), tuple(targets)): [list(r) for r in rows]
                                  for t, targets, rows in state["interventional"]}  # fmt: skip
        learner.seconds = float(state["seconds"])
        return learner

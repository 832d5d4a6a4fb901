"""Where the identification learner's causal graph comes from: hyper-parameter `graph` of the rollout learner.

- "known" (the default): the structural view's graph, as Hammar & Stadler assume ("Online Identification of IT Systems
  through Active Causal Learning").
- "wrong": the view's graph with one edge reversed (`misspecified(view graph, seed=<run seed>)`), fixed for the run:
  what a misspecified graph costs.
- "learned": the graph comes only from the agent's own data, through the online `GraphLearner` of
  `dogym.causal.structure.continuous` (PC on the passive rows, orientations from the interventions, Meek's rules).
  Rows measured under the passive do(0) feed `add_observational`, all others `add_interventional(targets)`. The
  learner relearns every `relearn_every` steps (every step counts, the passive do(0) included: the family's budget
  unit) and the estimator is then rebuilt on the new graph from the data already collected. The only background
  knowledge is what an operator knows without a graph: the variables the view declares exogenous are roots
  (`Knowledge(roots=...)`); the view's graph and parents are never read. The learner keeps every row, also when the
  estimator's D_t is a FIFO buffer (scenario 2 changes a mechanism, not the graph).

The model graph under "learned" is the DAG `GraphLearner.dag()` returns (one consistent extension of the learned
CPDAG) plus the edges the data cannot have ruled out yet (absence of evidence is not evidence of absence): a
variable that has varied on its own fewer than `MIN_TESTS` times (distinct values; an exogenous variable in any row,
on the microservice only once an intervention sets it, a controllable endogenous one in the rows that intervene on
it) is *untested* and is kept as a parent of every endogenous variable after it in the model's order: the learned
DAG's topological order with the exogenous variables first and ties broken by name (never by the env's declaration
order). Edges only go forward in that order, so the model stays acyclic. Without them the rollout would see nothing
to learn from intervening on a variable whose effects the few rows so far do not show (an edge PC drops at small n
means a constant function, whose variance no intervention reduces), and would never test them. So the first graph,
before any data, is the complete DAG of that order; an untested variable loses its extra edges once it has been
intervened on (or varied) `MIN_TESTS` times and the learner can judge its effects. Non-controllable endogenous
variables cannot be tested by intervention: their edges come from the learner alone. A variable that is endogenous
in the view but has no parent in the model graph is modelled as a constant plus noise (`CausalGPEstimator`).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import networkx as nx
import numpy as np

from dogym.agents.graph_settings import check_graph_settings
from dogym.causal.graphs import edge_history_scores, edge_metrics, graph_from_edges
from dogym.causal.intervention import Intervention
from dogym.causal.scm import StructuralView
from dogym.causal.structure.continuous import MIN_ROWS, GraphLearner, Knowledge, misspecified

#: A variable that has varied on its own fewer times (distinct values) is untested: kept as a parent of every
#: endogenous variable after it in the model's order (see the module docstring).
MIN_TESTS = 3

Edge = tuple[str, str]


def model_view(view: StructuralView, edges: Iterable[Edge]) -> StructuralView:
    """The view the estimator uses: `view`'s variables and P[U] with the parents that `edges` give (in declaration
    order). A variable with parents gets a GP of them (an exogenous variable of `view` that gets a parent loses its
    P[U]); an exogenous variable without parents keeps P[U]; every other variable is endogenous, parentless ones
    included. Reads only `view.names`, `view.variables` and `view.exogenous`, never its graph."""
    names = view.names
    parents: dict[str, set[str]] = {n: set() for n in names}
    for a, b in edges:
        parents[b].add(a)
    exogenous = {n: dist for n, dist in view.exogenous.items() if not parents[n]}
    endogenous = {n: tuple(p for p in names if p in parents[n]) for n in names if n not in exogenous}
    return StructuralView(list(view.variables.values()), exogenous, endogenous)


def view_edges(view: StructuralView) -> list[Edge]:
    """The sorted edges parent -> child of a (model) view."""
    return sorted((p, v) for v in view.names for p in view.parents(v))


class GraphSource:
    """The estimator's causal graph for one run (see the module docstring): `view` is the current model view;
    `observe` feeds a step's rows and says whether the graph changed; `history` holds (steps so far, sorted edges)
    after each (re)learning (the start included); `learn_seconds` the CPU seconds spent in structure learning."""

    def __init__(
        self,
        mode: str,
        view: StructuralView,
        seed: int,
        relearn_every: int = 1,
        alpha: float = 0.01,
    ):
        check_graph_settings(mode, relearn_every, alpha, 0.0)
        self.mode, self.operator, self.relearn_every = mode, view, relearn_every
        self.steps, self.learn_seconds = 0, 0.0
        self.learner: Any = None
        self._tested: dict[str, set[float]] = {}
        if mode == "known":
            self.view = view
        elif mode == "wrong":
            self.view = model_view(view, misspecified(view.graph, seed=seed).edges)
        else:
            roots = frozenset(view.exogenous)
            self.learner = GraphLearner(view.names, knowledge=Knowledge(roots=roots), alpha=alpha, seed=seed)
            testable = roots | {n for n in view.names if view.variables[n].controllable}
            self._tested = {n: set() for n in view.names if n in testable}
            self.view = model_view(view, self._model_edges(()))
        self.history: list[tuple[int, list[Edge]]] = [(0, view_edges(self.view))]

    # ------------------------------------------------------------------ learning
    def _model_edges(self, learned: Iterable[Edge]) -> list[Edge]:
        """The learned DAG's edges plus every untested variable -> every endogenous variable after it in the order."""
        exogenous = self.operator.exogenous
        dag = graph_from_edges(self.operator.names, learned)
        order = list(nx.lexicographical_topological_sort(dag, key=lambda n: (n not in exogenous, n)))
        untested = set(self.untested())
        extra = {(a, b) for i, a in enumerate(order) if a in untested for b in order[i + 1 :] if b not in exogenous}
        return sorted(set(dag.edges) | extra)

    def untested(self) -> list[str]:
        """The variables that have varied on their own fewer than `MIN_TESTS` times (learned graph only)."""
        return [n for n, seen in self._tested.items() if len(seen) < MIN_TESTS]

    def observe(self, samples: np.ndarray, intervention: Intervention) -> bool:
        """Count a step (rows [M, n_vars] in the view's column order, measured under `intervention`); under "learned",
        feed them to the learner and relearn every `relearn_every` steps. True when the model graph changed."""
        self.steps += 1
        if self.learner is None:
            return False
        rows = np.atleast_2d(np.asarray(samples, dtype=np.float64))
        data = {n: rows[:, j].copy() for j, n in enumerate(self.operator.names)}
        start = time.process_time()
        if intervention.is_passive:
            self.learner.add_observational(data)
        else:
            self.learner.add_interventional(sorted(intervention.targets), data)
        for name, seen in self._tested.items():
            if len(seen) < MIN_TESTS and (name in self.operator.exogenous or name in intervention.targets):
                seen.update(float(x) for x in data[name])
        changed = False
        if (
            self.steps % self.relearn_every == 0
            and self.learner.n_observational + self.learner.n_interventional >= MIN_ROWS
        ):
            self.learner.learn()
            edges = self._model_edges(self.learner.dag().edges)
            self.history.append((self.steps, edges))
            changed = edges != view_edges(self.view)
            if changed:
                self.view = model_view(self.operator, edges)
        self.learn_seconds += time.process_time() - start
        return changed

    def orientations(self, targets: Sequence[str]) -> float:
        """The share of the learned CPDAG's undirected edges that a do(targets) is expected to orient (directly and by
        Meek's rules; 0 before the first learning, without undirected edges, and for the known or wrong graph)."""
        if self.learner is None or self.learner.pdag is None or not self.learner.pdag.n_undirected:
            return 0.0
        return float(self.learner.expected_orientations(list(targets))) / self.learner.pdag.n_undirected

    # ------------------------------------------------------------------ evaluation and checkpoints
    def metrics(self, truth: nx.DiGraph) -> dict[str, float]:
        """graph/shd and graph/f1 of the current model graph against `truth` (evaluation only), graph/learn_seconds."""
        scores = edge_metrics(graph_from_edges(self.operator.names, view_edges(self.view)), truth)
        return {"shd": float(scores.shd), "f1": float(scores.f1), "learn_seconds": self.learn_seconds}

    def history_rows(self, truth: nx.DiGraph, steps: int) -> list[dict[str, float]]:
        """graph_history.csv's rows: SHD and F1 after each (re)learning, and at `steps` (the run's end)."""
        points = dict(self.history)
        points.setdefault(steps, view_edges(self.view))
        return edge_history_scores(sorted(points.items()), self.operator.names, truth)

    def state(self) -> dict[str, Any]:
        """Plain data that `restore` continues from (the learner's own state included)."""
        return {
            "steps": self.steps,
            "learn_seconds": self.learn_seconds,
            "history": [[n, [list(e) for e in edges]] for n, edges in self.history],
            "edges": [list(e) for e in view_edges(self.view)],
            "tested": {n: sorted(seen) for n, seen in self._tested.items()},
            "learner": None if self.learner is None else self.learner.state(),
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        """Continue from `state` (written by `state` for the same mode and view)."""
        self.steps, self.learn_seconds = int(state["steps"]), float(state["learn_seconds"])
        self.history = [(int(n), [(a, b) for a, b in edges]) for n, edges in state["history"]]
        self._tested = {n: set(seen) for n, seen in state["tested"].items()}
        if state["learner"] is not None:
            self.learner = GraphLearner.from_state(state["learner"])
        if self.mode != "known":
            self.view = model_view(self.operator, [(a, b) for a, b in state["edges"]])

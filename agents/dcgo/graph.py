"""The causal graph DCBO and CBO work with, and everything that depends on it: the exploration sets and the GP-SCM
that gives the causal priors (Aglietti, Dhir, Gonzalez and Damoulas, "Dynamic Causal Bayesian Optimization").

The `graph` option of the loop chooses where the graph comes from:
- "known" (default, the paper's setting): the structural view's time-unrolled graph and the env's exploration sets.
- "learned": the agent's own data only (`dogym.causal.structure.time_unrolled.TimeUnrolledLearner`): the within-slice
  graph learned from D^O (pooled slices), unrolled with the ASSUMED transitions V_{t-1} -> V_t of every slice
  variable, started from one consistent extension of the learned CPDAG (`PDAG.dag`) and relearned after every
  `relearn_every` interventions from D^O plus every slice the agent's interventions returned (`noise_free`, default
  True as the envs' explorations: a variable that varies under do(X) within one time step is a descendant of X and
  completes the learned graph; `TimeUnrolledLearner`); each change of the slice graph rebuilds the exploration sets
  (the minimal intervention sets of Lee and Bareinboim, "Structural Causal Bandits: Where to Intervene?", over the
  manipulative variables for the target) and refits the GP-SCM (a graph seen before reuses its fit; no causal prior
  until every manipulative variable has been probed, see below, so the graph of D^O alone is never fitted). The agent
  still uses the operator's knowledge of the variables, the target, the manipulative variables, their domains and
  costs and the horizon; never the view's graph, parents or exploration sets.
- "wrong": the view's slice graph with one edge reversed (`misspecified`, seeded by the run seed), unrolled with the
  view's transition edges, fixed for the run: the cost of a misspecified graph.

With a learned or wrong graph in which no manipulative variable is an ancestor of the target, the exploration sets
fall back to every manipulative variable alone (each such intervention shows its descendants to the learner). With a
learned graph, every manipulative variable not yet probed (never intervened on alone at two values within one time
step, `TimeUnrolledLearner.probed`) is an exploration set alone and the next interventions probe it first (the first
unprobed variable in the manipulative order; its value still maximises the acquisition): until then the data say
nothing of its descendants, and a graph learned from D^O would otherwise exclude it for good. With noise-free
outcomes this costs two trials per manipulative variable, all at t = 0. A probed variable to which nothing responded
yet (two values in a flat region of the system, e.g. IND's Z far from its bumps) stays an exploration set alone, left
to the acquisition.

`orientation_weight` w > 0 (learned only) adds w * sd(Y) * expected_orientations(X_s) / cost(X_s) to the
acquisition (causal EI / cost) of every point of exploration set X_s, where sd(Y) is the standard deviation of the
target in D^O (so EI and the bonus are both in units of the target per unit cost: w = 1 values orienting one edge as
one observational standard deviation of improvement) and expected_orientations counts the undirected edges of the
current CPDAG that do(X_s) would orient (`GraphLearner.expected_orientations`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import networkx as nx
import numpy as np

from dogym.agents.dcgo.priors import observational_model
from dogym.agents.graph_settings import check_graph_settings
from dogym.causal.dynamic_effects import DynamicGPSCM
from dogym.causal.graphs import minimal_intervention_sets

SetKey = tuple[str, ...]


def check_graph_options(method: str, options: Any) -> None:
    """ValueError for a `graph`, `relearn_every`, `graph_alpha` or `orientation_weight` the method cannot use."""
    check_graph_settings(options.graph, options.relearn_every, options.graph_alpha, options.orientation_weight)
    if options.graph != "known" and method not in ("dcbo", "cbo"):
        raise ValueError(f"graph: {options.graph} applies to dcbo and cbo only ({method} uses no causal graph)")


def view_graph(env: Any) -> nx.DiGraph:
    """The graph of the env's structural view (an object with `.graph` or a mapping with "graph")."""
    view = env.structural_view()
    return view["graph"] if isinstance(view, Mapping) else view.graph


def exploration_sets(within: nx.DiGraph, manipulative: Sequence[str], target: str) -> list[SetKey]:
    """The minimal intervention sets of a slice graph for the target (the same at every time step), or every
    manipulative variable alone when none is an ancestor of the target (module docstring)."""
    sets = [tuple(s) for s in minimal_intervention_sets(within, manipulative, target)]
    return sets or [(v,) for v in manipulative]


def _has_mechanism(graph: nx.DiGraph, temporal: bool) -> bool:
    """Whether the GP-SCM of a time-unrolled graph models any variable (an edge within a slice, or across slices
    for the temporal model)."""
    return any(u[1] == v[1] or temporal for u, v in graph.edges)


class CausalStructure:
    """The exploration sets and the observational GP-SCM of a DCBO or CBO run, from a known, learned or wrong graph
    (module docstring). `history` holds (interventions so far, sorted slice edges) after each (re)learning;
    `seconds` the CPU seconds spent in structure learning."""

    def __init__(self, base: Any, method: str, options: Any, seed: int) -> None:
        from dogym.causal.structure.time_unrolled import TimeUnrolledLearner, slice_graph

        self.base, self.options, self.temporal = base, options, method == "dcbo"
        self.kind = options.graph
        self.data = base.observational_data()
        self.variables = list(base.variables)
        self.learner: TimeUnrolledLearner | None = None
        self.history: list[tuple[int, list[list[str]]]] = []
        self.interventions = 0
        self.model: DynamicGPSCM | None = None
        self._models: dict[frozenset, DynamicGPSCM | None] = {}
        self.sets: list[SetKey] = []
        self.within: nx.DiGraph | None = None
        if self.kind == "known":
            graph = view_graph(base)
            self.sets = [tuple(s) for s in base.exploration_sets]
            self.model = observational_model(graph, self.variables, base.target, self.data, self.temporal, options)
            self._record(slice_graph(graph, self.variables))
        elif self.kind == "wrong":
            from dogym.causal.structure.continuous import misspecified
            from dogym.causal.structure.time_unrolled import transition_edges, unrolled_graph

            truth = view_graph(base)
            wrong = misspecified(slice_graph(truth, self.variables), seed=int(seed))
            self._rebuild(wrong, unrolled_graph(wrong, self.variables, base.T, transition_edges(truth)))
        else:
            self.learner = TimeUnrolledLearner(self.variables, base.T, alpha=options.graph_alpha, seed=int(seed),
                                               noise_free=options.noise_free)  # fmt: skip
            self.learner.add_observational(self.data)
            self._relearn()
        target = np.asarray(self.data[base.target], dtype=np.float64)
        finite = target[np.isfinite(target)]
        self.target_sd = float(finite.std()) if finite.size > 1 else 1.0

    @property
    def seconds(self) -> float:
        """CPU seconds spent learning the structure (0 for a known or wrong graph)."""
        return self.learner.seconds if self.learner is not None else 0.0

    def _record(self, within: nx.DiGraph) -> None:
        self.within = within
        self.history.append((self.interventions, sorted([list(e) for e in within.edges])))

    def _rebuild(self, within: nx.DiGraph, unrolled: nx.DiGraph, sets: list[SetKey] | None = None) -> None:
        base = self.base
        self.sets = exploration_sets(within, base.manipulative, base.target) if sets is None else sets
        key = frozenset(unrolled.edges)
        if not self._probed_all():  # a learned graph before every manipulative variable was probed: no causal prior
            self.model = None
            self._record(within)
            return
        if key not in self._models:  # a fit depends on the graph and D^O only: a graph seen before reuses its fit
            self._models[key] = None
            if _has_mechanism(unrolled, self.temporal):
                self._models[key] = observational_model(unrolled, self.variables, base.target, self.data,
                                                        self.temporal, self.options)  # fmt: skip
        self.model = self._models[key]
        self._record(within)

    def _relearn(self) -> bool:
        """Relearn the slice graph; rebuild what depends on it when it changed. True when it changed."""
        assert self.learner is not None
        self.learner.learn()
        within = self.learner.slice_dag()
        sets = exploration_sets(within, self.base.manipulative, self.base.target)
        seen = self.learner.probed() & {x for x, _ in self.learner.responses()}  # probed, with a descendant seen
        sets += [(v,) for v in self.base.manipulative if v not in seen and (v,) not in sets]
        ready = self.model is not None or not self._probed_all()  # the prior is as it will stay for this graph
        if self.within is not None and set(within.edges) == set(self.within.edges) and sets == self.sets and ready:
            self.history.append((self.interventions, self.history[-1][1]))
            return False
        self._rebuild(within, self.learner.unrolled(), sets)
        return True

    def _probed_all(self) -> bool:
        """Whether the graph can be trusted for a causal prior: known or wrong, or every manipulative variable
        probed (module docstring)."""
        return self.learner is None or set(self.base.manipulative) <= self.learner.probed()

    def observe(self, t: int, key: SetKey, values: Mapping[str, float]) -> bool:
        """Count one intervention do(key) at time step t whose slice came back as `values`; with a learned graph, add
        it to the learner and relearn every `relearn_every` interventions. True when the graph (and so the sets and
        the GP-SCM) changed."""
        self.interventions += 1
        if self.learner is None:
            return False
        self.learner.add_interventional(t, key, values)
        return self.interventions % self.options.relearn_every == 0 and self._relearn()

    def candidates(self, sets: list[SetKey]) -> list[SetKey]:
        """The sets the next intervention may use: with a learned graph, the first manipulative variable not yet
        probed, alone (module docstring); otherwise every set."""
        if self.learner is None:
            return sets
        probed = self.learner.probed()
        return next(([(v,)] for v in self.base.manipulative if v not in probed and (v,) in sets), sets)

    def bonus(self, key: SetKey, cost: float) -> float:
        """The orientation bonus of exploration set `key` (module docstring; 0 without a learned graph)."""
        weight = float(self.options.orientation_weight)
        if weight == 0.0 or self.learner is None:
            return 0.0
        return weight * self.target_sd * self.learner.expected_orientations(key) / cost

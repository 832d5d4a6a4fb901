"""Dynamic (time-unrolled) structural causal models: per-time-step mechanisms whose parents lie in the same time slice
or in the previous one, evaluated in a vectorised way (Aglietti, Dhir, Gonzalez and Damoulas, "Dynamic Causal
Bayesian Optimization", section 2, Def. 1-3).

A `DynamicSCM` has slice variables (e.g. X, Z, Y), one table of `TimeMechanism`s per time step (the last table
governs every later step, so a stationary SCM gives two tables: t = 0 and t > 0) and the noise distribution of each
variable. `slice_values(t, past, do, noise)` computes one time slice given the realised values of the previous slice;
every input may be an array, and the outputs broadcast, so thousands of interventions are evaluated in one call
(noise-free by default: the plug-in value of the DCBO authors' ground truth). `simulate` rolls out N trajectories.
`DynamicStructuralView` is what an operator knows: the time-unrolled graph with `(variable, t)` nodes, the
manipulative variables, their domains, the target and the exploration sets; no mechanisms.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np

from dogym.causal.graphs import assert_dag, causal_order
from dogym.causal.scm import Exogenous, Normal

#: A time mechanism maps its parents' values (in parent order) and the variable's noise to its value:
#: fn(*parent_values, noise) -> values; noise is 0.0 for noise-free evaluation. Module-level functions keep SCMs
#: picklable.
TimeFn = Callable[..., Any]

#: A parent of a time mechanism: (variable name, lag), lag 0 = same slice, 1 = previous slice.
Parent = tuple[str, int]


@dataclass(frozen=True)
class TimeMechanism:
    """V_t = fn(*parents, noise_V,t); parents are (name, lag) pairs with lag 0 (slice t) or 1 (slice t - 1)."""

    parents: tuple[Parent, ...]
    fn: TimeFn

    def __post_init__(self) -> None:
        for parent in self.parents:
            if not (isinstance(parent, tuple) and len(parent) == 2 and parent[1] in (0, 1)):
                raise ValueError(f"a time-mechanism parent must be a (name, lag) pair with lag 0 or 1, got {parent!r}")


class DynamicSCM:
    """A dynamic SCM over slice variables with per-time-step mechanisms (see module docstring).

    variables: slice variable names. mechanisms: one table name -> TimeMechanism per time step; table k governs
    t = k and the last table every t >= its index. Every table must define every variable. At t = 0 no mechanism
    may have a lagged parent. noise: each variable's noise distribution (default N(0, 1))."""

    def __init__(
        self,
        variables: Sequence[str],
        mechanisms: Sequence[Mapping[str, TimeMechanism]],
        noise: Mapping[str, Exogenous] | None = None,
    ):
        self.variables: list[str] = list(variables)
        if len(set(self.variables)) != len(self.variables):
            raise ValueError(f"slice variable names must be unique, got {self.variables}")
        if not mechanisms:
            raise ValueError("a dynamic SCM needs at least one table of mechanisms")
        self.mechanisms: list[dict[str, TimeMechanism]] = [dict(table) for table in mechanisms]
        self.noise: dict[str, Exogenous] = {v: Normal(0.0, 1.0) for v in self.variables}
        self.noise.update(noise or {})
        self._orders: list[list[str]] = []
        for k, table in enumerate(self.mechanisms):
            if set(table) != set(self.variables):
                raise ValueError(f"mechanism table {k} defines {sorted(table)}, expected {sorted(self.variables)}")
            within = nx.DiGraph()
            within.add_nodes_from(self.variables)
            for name, mech in table.items():
                for parent, lag in mech.parents:
                    if parent not in table:
                        raise ValueError(f"{name!r} has unknown parent {parent!r}")
                    if lag == 1 and k == 0:
                        raise ValueError(f"{name!r} has a lagged parent {parent!r} at t = 0")
                    if lag == 0:
                        within.add_edge(parent, name)
            self._orders.append(causal_order(within))

    def mechanisms_at(self, t: int) -> dict[str, TimeMechanism]:
        """The mechanism table that governs time step t."""
        return self.mechanisms[min(int(t), len(self.mechanisms) - 1)]

    def order_at(self, t: int) -> list[str]:
        """Slice variables in causal order at time step t."""
        return self._orders[min(int(t), len(self._orders) - 1)]

    def graph(self, horizon: int) -> nx.DiGraph:
        """The time-unrolled DAG over t = 0..horizon-1 with `(variable, t)` nodes (slice by slice)."""
        graph = nx.DiGraph()
        graph.add_nodes_from((v, t) for t in range(horizon) for v in self.variables)
        for t in range(horizon):
            for name, mech in self.mechanisms_at(t).items():
                graph.add_edges_from(((p, t - lag), (name, t)) for p, lag in mech.parents)
        assert_dag(graph)
        return graph

    def slice_values(
        self,
        t: int,
        past: Mapping[str, Any] | None = None,
        do: Mapping[str, Any] | None = None,
        noise: Mapping[str, Any] | None = None,
    ) -> dict[str, np.ndarray]:
        """Values of every slice variable at time t under do(...), given the realised values `past` of slice t - 1.

        Inputs may be floats or arrays; outputs broadcast against them. `noise` maps names to noise values (missing
        names: 0, i.e. noise-free). Intervened variables take their value and ignore their mechanism."""
        do = do or {}
        noise = noise or {}
        mechs = self.mechanisms_at(t)
        values: dict[str, np.ndarray] = {}
        for name in self.order_at(t):
            if name in do:
                values[name] = np.asarray(do[name], dtype=np.float64)
                continue
            mech = mechs[name]
            args = []
            for parent, lag in mech.parents:
                if lag == 0:
                    args.append(values[parent])
                elif past is None or parent not in past:
                    raise ValueError(f"{name!r} at t = {t} needs the past value of {parent!r}")
                else:
                    args.append(np.asarray(past[parent], dtype=np.float64))
            values[name] = np.asarray(mech.fn(*args, noise.get(name, 0.0)), dtype=np.float64)
        return {name: values[name] for name in self.variables}

    def draw_noise(
        self, rng: np.random.Generator, shape: tuple[int, ...], noise: Mapping[str, Exogenous] | None = None
    ) -> dict[str, np.ndarray]:
        """Noise arrays of `shape` for every variable from `noise` (default: the SCM's own distributions)."""
        table = {**self.noise, **(noise or {})}
        size = int(np.prod(shape))
        return {v: table[v].sample(rng, size).reshape(shape) for v in self.variables}

    def simulate(
        self,
        horizon: int,
        noise: Mapping[str, np.ndarray] | None = None,
        do: Sequence[Mapping[str, Any]] | None = None,
        n: int = 1,
    ) -> dict[str, np.ndarray]:
        """Trajectories V_{0:horizon}: name -> [n, horizon] values. noise: name -> [n, horizon] noise (missing:
        noise-free); do: one intervention per time step (missing: passive)."""
        noise = noise or {}
        out = {v: np.empty((n, horizon)) for v in self.variables}
        past: dict[str, np.ndarray] | None = None
        for t in range(horizon):
            step_do = do[t] if do is not None and t < len(do) else {}
            values = self.slice_values(t, past, step_do, {v: e[:, t] for v, e in noise.items()})
            for v in self.variables:
                out[v][:, t] = np.broadcast_to(values[v], (n,))
            past = {v: out[v][:, t] for v in self.variables}
        return out


@dataclass(frozen=True, eq=False)
class DynamicStructuralView:
    """What an operator knows of a dynamic SCM (no mechanisms): the time-unrolled graph with `(variable, t)` nodes,
    the slice variables in causal order, the manipulative variables and their domains, the target, the exploration
    sets, the horizon T and the noise distributions."""

    unrolled: nx.DiGraph
    variables: tuple[str, ...]
    manipulative: tuple[str, ...]
    domains: Mapping[str, tuple[float, float]]
    target: str
    exploration_sets: tuple[tuple[str, ...], ...]
    horizon: int
    noise: Mapping[str, Exogenous] = field(default_factory=dict)

    @property
    def graph(self) -> nx.DiGraph:
        """The time-unrolled DAG (a fresh copy)."""
        return self.unrolled.copy()

    def slice_parents(self, name: str, t: int) -> tuple[tuple[str, int], ...]:
        """Parents of node (name, t) as `(variable, time)` nodes, in graph order."""
        if (name, t) not in self.unrolled:
            raise KeyError(f"({name!r}, {t}) is not a node of the unrolled graph")
        preds = set(self.unrolled.predecessors((name, t)))
        return tuple(node for node in self.unrolled.nodes if node in preds)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DynamicStructuralView):
            return NotImplemented
        mine = (self.variables, self.manipulative, dict(self.domains), self.target, self.exploration_sets)
        theirs = (other.variables, other.manipulative, dict(other.domains), other.target, other.exploration_sets)
        return (
            mine == theirs
            and self.horizon == other.horizon
            and dict(self.noise) == dict(other.noise)
            and list(self.unrolled.nodes) == list(other.unrolled.nodes)
            and sorted(self.unrolled.edges) == sorted(other.unrolled.edges)
        )

    __hash__ = None  # type: ignore[assignment]

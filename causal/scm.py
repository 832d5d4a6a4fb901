"""Structural causal models: variables with operating-region domains, exogenous distributions, structural functions
with additive Gaussian noise, sampling under do(), and ground-truth interventional means.

`StructuralView` is what an operator knows of an SCM without its mechanisms (graph, variables and operating regions,
P[U]); `SCM.structural_view()` makes one. Learners that assume a known graph take a view, not the SCM."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import networkx as nx
import numpy as np
from scipy.stats import norm

from dogym.causal.graphs import assert_dag, causal_order
from dogym.causal.intervention import Intervention, validate_intervention

#: A structural function maps its parents' values (one [n] array per parent, in parent order) to [n] outputs.
StructuralFn = Callable[..., np.ndarray]


@dataclass(frozen=True)
class Variable:
    """A system variable and its operating region [low, high] (Def. 1 of Hammar & Stadler).

    `controllable` variables may be intervened on, within `control_bounds` (default [low, high]; needed when the
    operating region is unbounded). `integer` variables take integral values only.
    """

    name: str
    low: float = -np.inf
    high: float = np.inf
    controllable: bool = True
    integer: bool = False
    control_bounds: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        if not self.low < self.high:
            raise ValueError(f"variable {self.name!r}: low {self.low} must be below high {self.high}")
        if self.controllable and not np.all(np.isfinite(self.bounds)):
            raise ValueError(f"controllable variable {self.name!r} needs finite control_bounds")

    @property
    def bounds(self) -> tuple[float, float]:
        """Allowed intervention interval."""
        return self.control_bounds if self.control_bounds is not None else (self.low, self.high)


@dataclass(frozen=True)
class Normal:
    """Exogenous N(mean, std^2)."""

    mean: float = 0.0
    std: float = 1.0

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """n independent draws."""
        return rng.normal(self.mean, self.std, n)

    def ppf(self, q: np.ndarray) -> np.ndarray:
        """Quantile function (maps uniform points to this distribution)."""
        return norm.ppf(q, self.mean, self.std)


@dataclass(frozen=True)
class Constant:
    """An exogenous variable held at a fixed value (e.g. a nominal configuration)."""

    value: float

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """n copies of the value."""
        return np.full(n, float(self.value))

    def ppf(self, q: np.ndarray) -> np.ndarray:
        """Every quantile is the value."""
        return np.full(np.shape(q), float(self.value))


@dataclass(frozen=True)
class Frozen:
    """An exogenous variable with any scipy.stats frozen distribution, e.g. `Frozen(scipy.stats.beta(0.5, 0.5))`."""

    dist: Any

    def __post_init__(self) -> None:
        if not (hasattr(self.dist, "rvs") and hasattr(self.dist, "ppf")):
            raise ValueError(f"Frozen needs a scipy.stats frozen distribution (with rvs and ppf), got {self.dist!r}")

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """n independent draws from the generator `rng`."""
        return np.asarray(self.dist.rvs(size=n, random_state=rng), dtype=np.float64).reshape(n)

    def ppf(self, q: np.ndarray) -> np.ndarray:
        """Quantile function."""
        return np.asarray(self.dist.ppf(q), dtype=np.float64)

    def __eq__(self, other: object) -> bool:  # frozen scipy distributions compare by identity; compare by definition
        if not isinstance(other, Frozen):
            return NotImplemented
        a, b = self.dist, other.dist
        return a.dist.name == b.dist.name and a.args == b.args and a.kwds == b.kwds

    def __hash__(self) -> int:
        return hash((self.dist.dist.name, self.dist.args, tuple(sorted(self.dist.kwds.items()))))


#: The exogenous distributions an SCM accepts.
Exogenous = Normal | Constant | Frozen


@dataclass(frozen=True)
class Mechanism:
    """V = fn(*parents) + N(0, noise_std^2)."""

    parents: tuple[str, ...]
    fn: StructuralFn
    noise_std: float = 0.0


class SCM:
    """A structural causal model <U, V, F, P[U]>: exogenous variables with distributions, endogenous variables with
    mechanisms. The graph (parents -> child) is derived from the mechanisms and must be acyclic."""

    def __init__(
        self,
        variables: Sequence[Variable],
        exogenous: Mapping[str, Exogenous],
        mechanisms: Mapping[str, Mechanism],
    ):
        self.exogenous = dict(exogenous)
        self.mechanisms = dict(mechanisms)
        # The structural view checks the declarations (unique names, each variable exogenous or with parents, a DAG).
        self._view = StructuralView(variables, self.exogenous, {v: m.parents for v, m in self.mechanisms.items()})
        self.variables: dict[str, Variable] = dict(self._view.variables)
        self.graph = self._view.graph
        self.order: list[str] = self._view.order

    # ------------------------------------------------------------------ structure (from the structural view)
    @property
    def names(self) -> list[str]:
        """Variable names in declaration order (the column order of samples)."""
        return self._view.names

    @property
    def endogenous(self) -> list[str]:
        """Endogenous variables in causal order."""
        return self._view.endogenous

    @property
    def controllable(self) -> list[str]:
        """Controllable variables in declaration order."""
        return self._view.controllable

    @property
    def control_bounds(self) -> dict[str, tuple[float, float]]:
        """Allowed intervention interval per controllable variable."""
        return self._view.control_bounds

    @property
    def integer_variables(self) -> frozenset[str]:
        """Names of integer-valued variables."""
        return self._view.integer_variables

    def parents(self, name: str) -> tuple[str, ...]:
        """Parents of an endogenous variable, in mechanism argument order."""
        return self.mechanisms[name].parents

    def validate(self, intervention: Intervention) -> None:
        """Raise `InterventionError` if the intervention is not allowed in this SCM's operating region."""
        self._view.validate(intervention)

    def structural_view(self) -> StructuralView:
        """What an operator knows of this SCM: graph, variables, operating regions and P[U]; no mechanisms."""
        return self._view

    # ------------------------------------------------------------------ sampling
    def function(self, name: str, parent_values: np.ndarray) -> np.ndarray:
        """Noise-free causal function f_name at parent values [n, len(parents)]."""
        x = np.atleast_2d(np.asarray(parent_values, dtype=np.float64))
        return np.asarray(self.mechanisms[name].fn(*x.T), dtype=np.float64)

    def sample(
        self,
        n: int,
        rng: np.random.Generator,
        do: Intervention | Mapping[str, float] | None = None,
        noise: bool = True,
    ) -> dict[str, np.ndarray]:
        """n samples of every variable from P[V, U | do(...)]; without noise: the noise-free values."""
        intervention = do if isinstance(do, Intervention) else Intervention(dict(do or {}))
        self.validate(intervention)
        values: dict[str, np.ndarray] = {}
        for name in self.order:
            if name in intervention:
                values[name] = np.full(n, intervention[name])
            elif name in self.exogenous:
                values[name] = (
                    self.exogenous[name].sample(rng, n) if noise else self.exogenous[name].ppf(np.full(n, 0.5))
                )
            else:
                mech = self.mechanisms[name]
                out = np.asarray(mech.fn(*(values[p] for p in mech.parents)), dtype=np.float64)
                if noise and mech.noise_std > 0:
                    out = out + rng.normal(0.0, mech.noise_std, n)
                values[name] = np.broadcast_to(out, (n,)).astype(np.float64)
        return {name: values[name] for name in self.names}

    def sample_array(
        self, n: int, rng: np.random.Generator, do: Intervention | Mapping[str, float] | None = None
    ) -> np.ndarray:
        """Samples as an [n, len(names)] array in `names` column order."""
        values = self.sample(n, rng, do)
        return np.stack([values[k] for k in self.names], axis=1)

    def interventional_mean(
        self, do: Intervention | Mapping[str, float] | None = None, n: int = 20000, seed: int = 0
    ) -> dict[str, float]:
        """Ground-truth E[V | do(...)] for every variable (Monte-Carlo with a fixed seed)."""
        values = self.sample(n, np.random.default_rng(seed), do)
        return {k: float(v.mean()) for k, v in values.items()}


class StructuralView:
    """The structure of an SCM without its mechanisms: what a real operator knows (read-only, picklable).

    It has the causal graph, the variables with their operating regions (`variables`, `control_bounds`,
    `integer_variables`), the exogenous distributions P[U] (`exogenous`) and the parents of every endogenous variable
    in argument order, and offers the same structural API as `SCM` (`names`, `order`, `endogenous`, `controllable`,
    `parents`, `validate`), so it can stand in for an SCM wherever only the structure is read (e.g.
    `dogym.causal.identification_loss.region_points`). It has no mechanisms, no structural functions, no noise levels
    and cannot sample.
    """

    __slots__ = ("_exogenous", "_graph", "_order", "_parents", "_variables")

    def __init__(
        self,
        variables: Sequence[Variable],
        exogenous: Mapping[str, Exogenous],
        parents: Mapping[str, Sequence[str]],
    ):
        table = {v.name: v for v in variables}
        if len(table) != len(variables):
            raise ValueError("variable names must be unique")
        if set(exogenous) | set(parents) != set(table) or set(exogenous) & set(parents):
            raise ValueError(
                "every variable must be exogenous or have parents: "
                f"variables {sorted(table)} vs exogenous {sorted(exogenous)} and endogenous {sorted(parents)}"
            )
        graph = nx.DiGraph()
        graph.add_nodes_from(table)
        for child, pars in parents.items():
            for parent in pars:
                if parent not in table:
                    raise ValueError(f"{child!r} has unknown parent {parent!r}")
                graph.add_edge(parent, child)
        assert_dag(graph)
        set_ = object.__setattr__
        set_(self, "_variables", MappingProxyType(table))
        set_(self, "_exogenous", MappingProxyType(dict(exogenous)))
        set_(self, "_parents", MappingProxyType({k: tuple(v) for k, v in parents.items()}))
        set_(self, "_graph", graph)
        set_(self, "_order", tuple(causal_order(graph)))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"StructuralView is read-only (cannot set {name!r})")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"StructuralView is read-only (cannot delete {name!r})")

    def __reduce__(self):  # MappingProxyType does not pickle; rebuild from plain containers
        return (StructuralView, (list(self._variables.values()), dict(self._exogenous), dict(self._parents)))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, StructuralView):
            return NotImplemented
        return (
            dict(self._variables) == dict(other._variables)
            and dict(self._exogenous) == dict(other._exogenous)
            and dict(self._parents) == dict(other._parents)
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        edges = ", ".join(f"{p}->{c}" for p, c in self._graph.edges)
        return f"StructuralView(variables={self.names}, edges=[{edges}])"

    @property
    def graph(self) -> nx.DiGraph:
        """The causal graph (parents -> child), a fresh copy."""
        return self._graph.copy()

    @property
    def variables(self) -> Mapping[str, Variable]:
        """Variables by name (read-only mapping), in declaration order."""
        return self._variables

    @property
    def exogenous(self) -> Mapping[str, Exogenous]:
        """P[U]: the distribution of each exogenous variable (read-only mapping)."""
        return self._exogenous

    @property
    def names(self) -> list[str]:
        """Variable names in declaration order (the column order of samples)."""
        return list(self._variables)

    @property
    def order(self) -> list[str]:
        """Variable names in causal order (as `SCM.order`)."""
        return list(self._order)

    @property
    def endogenous(self) -> list[str]:
        """Endogenous variables in causal order."""
        return [v for v in self._order if v in self._parents]

    @property
    def controllable(self) -> list[str]:
        """Controllable variables in declaration order."""
        return [n for n, v in self._variables.items() if v.controllable]

    @property
    def control_bounds(self) -> dict[str, tuple[float, float]]:
        """Allowed intervention interval per controllable variable."""
        return {n: self._variables[n].bounds for n in self.controllable}

    @property
    def integer_variables(self) -> frozenset[str]:
        """Names of integer-valued variables."""
        return frozenset(n for n, v in self._variables.items() if v.integer)

    def parents(self, name: str) -> tuple[str, ...]:
        """Parents of a variable, in its structural function's argument order (() for an exogenous variable)."""
        if name in self._parents:
            return self._parents[name]
        if name in self._exogenous:
            return ()
        raise KeyError(f"unknown variable {name!r}; variables: {self.names}")

    def validate(self, intervention: Intervention) -> None:
        """Raise `InterventionError` if the intervention is not allowed in the operating region."""
        validate_intervention(intervention, self.control_bounds, self.integer_variables)

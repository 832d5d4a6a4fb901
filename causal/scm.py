"""Structural causal models: variables with operating-region domains, exogenous distributions, structural functions
with additive Gaussian noise, sampling under do(), and ground-truth interventional means."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import networkx as nx
import numpy as np
from scipy.stats import norm

from dogym.causal.graphs import assert_dag, causal_order
from dogym.causal.intervention import Intervention, validate_intervention

#: A structural function maps its parents' values (one [n] array per parent, in parent order) to [n] outputs.
StructuralFn = Callable[..., np.ndarray]


@dataclass(frozen=True)
class Variable:
    """A system variable and its operating region [low, high] (Def. 1 of seed 000).

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
        exogenous: Mapping[str, Normal | Constant],
        mechanisms: Mapping[str, Mechanism],
    ):
        self.variables: dict[str, Variable] = {v.name: v for v in variables}
        if len(self.variables) != len(variables):
            raise ValueError("variable names must be unique")
        self.exogenous = dict(exogenous)
        self.mechanisms = dict(mechanisms)
        declared = set(self.exogenous) | set(self.mechanisms)
        if declared != set(self.variables) or set(self.exogenous) & set(self.mechanisms):
            raise ValueError(
                "every variable needs exactly one exogenous distribution or mechanism; "
                f"variables {sorted(self.variables)} vs exogenous {sorted(self.exogenous)} "
                f"and mechanisms {sorted(self.mechanisms)}"
            )
        self.graph = nx.DiGraph()
        self.graph.add_nodes_from(self.variables)
        for child, mech in self.mechanisms.items():
            for parent in mech.parents:
                if parent not in self.variables:
                    raise ValueError(f"mechanism of {child!r} uses unknown parent {parent!r}")
                self.graph.add_edge(parent, child)
        assert_dag(self.graph)
        self.order: list[str] = list(causal_order(self.graph))

    # ------------------------------------------------------------------ structure
    @property
    def names(self) -> list[str]:
        """Variable names in declaration order (the column order of samples)."""
        return list(self.variables)

    @property
    def endogenous(self) -> list[str]:
        """Endogenous variables in causal order."""
        return [v for v in self.order if v in self.mechanisms]

    @property
    def controllable(self) -> list[str]:
        """Controllable variables in declaration order."""
        return [n for n, v in self.variables.items() if v.controllable]

    @property
    def control_bounds(self) -> dict[str, tuple[float, float]]:
        """Allowed intervention interval per controllable variable."""
        return {n: self.variables[n].bounds for n in self.controllable}

    @property
    def integer_variables(self) -> frozenset[str]:
        """Names of integer-valued variables."""
        return frozenset(n for n, v in self.variables.items() if v.integer)

    def parents(self, name: str) -> tuple[str, ...]:
        """Parents of an endogenous variable, in mechanism argument order."""
        return self.mechanisms[name].parents

    def validate(self, intervention: Intervention) -> None:
        """Raise `InterventionError` if the intervention is not allowed in this SCM's operating region."""
        validate_intervention(intervention, self.control_bounds, self.integer_variables)

    def with_mechanisms(self, **mechanisms: Mechanism) -> SCM:
        """A copy with some mechanisms replaced (same variables; e.g. a changed system after time t)."""
        return SCM(list(self.variables.values()), self.exogenous, {**self.mechanisms, **mechanisms})

    def with_exogenous(self, **exogenous: Normal | Constant) -> SCM:
        """A copy with some exogenous distributions replaced (e.g. a different passive operating point)."""
        return SCM(list(self.variables.values()), {**self.exogenous, **exogenous}, self.mechanisms)

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

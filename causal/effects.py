"""Causal effects from observational data: the GP-SCM and the backdoor adjustment estimator.

`GPSCM` fits one Gaussian process per mechanism (child given its parents) on observational data and computes
effects of do() by ancestral propagation: intervened variables are set, variables without a fitted mechanism (roots,
lagged values, adjustment variables) are drawn jointly from the observational rows (the P(z) of the adjustment
formula) or from given exogenous distributions, and every other variable is its mechanism's GP prediction plus
noise. `GPSCM.backdoor` builds the backdoor adjustment estimator P(y | do(x)) = sum_z P(y | x, z) P(z) (Pearl,
"Causality", Thm. 3.3.2) as a GP-SCM whose outcomes depend on the treatments and an adjustment set found from the
graph. `GPSCM.spec_effect` gives the mean and standard deviation of P(phi = 1 | do(u)) over many u: the causal prior
of COL (Hammar, Alpcan and Lupu, "Causal Online Learning of Safe Regions in Cloud Radio Access Networks", eqs. 3-4).

Uncertainty about the mechanisms enters through posterior "draws": in draw k every mechanism's output is its
posterior mean shifted by z_k posterior standard deviations (z_k on a quantile grid of N(0, 1), shuffled per
mechanism), a rank-one stand-in for a joint posterior function draw. The prior's mean and standard deviation are
the mean and standard deviation of P(phi = 1 | do(u)) over the draws; the judged steps of a window are taken as
independent given u (a window's probability is the one-step probability to the power of the judged steps) or, as an
option, as sharing the window's conditions (the one-step probability). With `analytic=True` the specification's
metrics (mechanisms, one bound each) keep their Gaussian observation noise out of the sampling, and each draw's
probability is the product of the bounds' normal probabilities given the sampled parents.

Online use (`add_rows`): rows observed under an intervention are samples of every mechanism whose child was not
intervened on (its conditional is invariant to do() on other variables), so they are added to those mechanisms' data;
each GP conditions on all such rows plus a subsample of the observational ones and, when asked, refits its
hyper-parameters by marginal likelihood on both. `fit(data, condition_on_data=False)` keeps the observational rows
for the scalings and hyper-parameters only (a GP-SCM that has not seen the system's response).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np
from scipy.special import ndtr
from scipy.stats import norm

from dogym.causal.gp import AdditiveKernel, GaussianProcess, StationaryKernel, fit_hyperparameters
from dogym.causal.graphs import backdoor_adjustment_set, causal_order, mutilate
from dogym.causal.specification import Specification

#: Rows per GP prediction batch (memory O(batch x conditioning rows)).
PREDICT_BATCH = 32768


@dataclass
class _FittedMechanism:
    """A GP on standardised inputs and output, and the scalings to undo."""

    gp: GaussianProcess
    x_mean: np.ndarray
    x_std: np.ndarray
    y_mean: float
    y_std: float
    #: Standardised observational rows in the order they are used (a seeded permutation).
    xs: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    ys: np.ndarray = field(default_factory=lambda: np.zeros(0))
    #: Standardised rows observed under interventions (`GPSCM.add_rows`).
    x_new: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    y_new: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def standardise(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Rows in the GP's units."""
        return (x - self.x_mean) / self.x_std, (y - self.y_mean) / self.y_std

    @property
    def noise_sd(self) -> float:
        """Observation noise sd in the output's units."""
        return self.y_std * float(np.sqrt(self.gp.noise_var))

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        """Posterior mean, posterior sd of f and noise sd at parent values x [n, k], in the output's units."""
        mean, var = self.gp.predict_batched((x - self.x_mean) / self.x_std, PREDICT_BATCH)
        return self.y_mean + self.y_std * mean, self.y_std * np.sqrt(var), self.noise_sd


class GPSCM:
    """A structural causal model whose mechanisms are GPs fitted on observational data.

    parents: child -> its parents (in input order); only these children get a GP. exogenous: distributions (objects
    with `sample(rng, n)`, e.g. `dogym.causal.scm.Frozen`) used for root variables instead of the observational
    rows. kernel: "matern52" or "rbf" with one length scale per input (fitted by marginal likelihood on at most
    `max_points` rows; the GP conditions on at most `max_condition` rows). groups: child -> its parents split into
    groups; that child's kernel is a sum of one kernel per group (an additive mechanism f(a) + g(b)). fit_options:
    keyword arguments of `fit_hyperparameters` (e.g. n_restarts, gradient="analytic" for RBF kernels).
    """

    def __init__(
        self,
        parents: Mapping[str, Sequence[str]],
        exogenous: Mapping[str, object] | None = None,
        kernel: str = "matern52",
        max_points: int = 200,
        max_condition: int = 500,
        seed: int = 0,
        groups: Mapping[Hashable, Sequence[Sequence[Hashable]]] | None = None,
        fit_options: Mapping[str, Any] | None = None,
        input_scaling: str = "standard",
    ):
        if input_scaling not in ("standard", "unit"):
            raise ValueError(f"input_scaling must be 'standard' or 'unit', got {input_scaling!r}")
        self.input_scaling = input_scaling
        self.parents = {child: tuple(pars) for child, pars in parents.items()}
        self.fit_options = dict(fit_options or {})
        self.groups = {child: tuple(tuple(g) for g in gs) for child, gs in (groups or {}).items()}
        for child, gs in self.groups.items():
            flat = [p for g in gs for p in g]
            if child not in self.parents or sorted(map(str, flat)) != sorted(map(str, self.parents[child])):
                raise ValueError(f"the kernel groups of {child!r} must split its parents {self.parents.get(child)}")
        if not self.parents or any(not pars for pars in self.parents.values()):
            raise ValueError("a GP-SCM needs at least one mechanism, each with at least one parent")
        self.graph = nx.DiGraph()
        for child, pars in self.parents.items():
            self.graph.add_node(child)
            self.graph.add_edges_from((p, child) for p in pars)
        self.order: list[str] = causal_order(self.graph)
        self.exogenous = dict(exogenous or {})
        self.kernel = kernel
        self.max_points, self.max_condition, self.seed = int(max_points), int(max_condition), int(seed)
        self.mechanisms: dict[str, _FittedMechanism] = {}
        self.data: dict[str, np.ndarray] = {}
        #: The backdoor adjustment set (`backdoor` only).
        self.adjustment: list[Hashable] | None = None
        self.condition_on_data = True

    @classmethod
    def backdoor(
        cls,
        graph: nx.DiGraph,
        treatments: Sequence[Hashable],
        outcomes: Sequence[Hashable],
        **options,
    ) -> GPSCM:
        """The backdoor adjustment estimator: each outcome's GP takes the treatments and a smallest adjustment set
        that satisfies the backdoor criterion in `graph` (`adjustment` holds it). ValueError if none exists."""
        adjustment = backdoor_adjustment_set(graph, treatments, outcomes)
        if adjustment is None:
            raise ValueError(f"no backdoor adjustment set for the effect of {list(treatments)} on {list(outcomes)}")
        model = cls({y: (*treatments, *adjustment) for y in outcomes}, **options)
        model.adjustment = list(adjustment)
        return model

    # ------------------------------------------------------------------ fitting
    def fit(self, data: Mapping[str, np.ndarray], condition_on_data: bool = True) -> GPSCM:
        """Fit every mechanism on the observational columns `data` (name -> [n] values); returns self. With
        `condition_on_data=False` the rows set the scalings and hyper-parameters, and the GPs condition on nothing
        (until `add_rows`)."""
        n = self._store(data)
        self.condition_on_data = bool(condition_on_data)
        rng = np.random.default_rng(self.seed)
        for child, pars in self.parents.items():
            x = np.stack([self.data[p] for p in pars], axis=1)
            y = self.data[child]
            if self.input_scaling == "unit":
                x_mean, x_std = x.min(0), _positive(x.max(0) - x.min(0))
            else:
                x_mean, x_std = x.mean(0), _positive(x.std(0))
            y_mean, y_std = float(y.mean()), float(_positive(np.array([y.std()]))[0])
            pick = rng.permutation(n)
            xs, ys = (x[pick] - x_mean) / x_std, (y[pick] - y_mean) / y_std
            gp = GaussianProcess(self._kernel_of(child), noise_var=0.1)
            fit_hyperparameters(gp, xs[: self.max_points], ys[: self.max_points],
                                **{"seed": self.seed, "noise_bounds": (1e-6, 10.0), **self.fit_options})  # fmt: skip
            mechanism = _FittedMechanism(gp, x_mean, x_std, y_mean, y_std, xs, ys, xs[:0], ys[:0])
            self.mechanisms[child] = mechanism
            self._condition(mechanism)
        return self

    def _store(self, data: Mapping[str, np.ndarray]) -> int:
        """Keep the graph's observational columns as float arrays (ValueError when one is missing, the lengths
        differ, there are fewer than 2 rows or a value is not finite); returns the number of rows."""
        missing = sorted(set(self.graph.nodes) - set(data))
        if missing:
            raise ValueError(f"observational data lacks the columns {missing}")
        self.data = {k: np.asarray(data[k], dtype=np.float64).reshape(-1) for k in self.graph.nodes}
        n = len(next(iter(self.data.values())))
        if n < 2 or any(len(v) != n for v in self.data.values()):
            raise ValueError("observational columns must have the same length, at least 2")
        if not all(np.all(np.isfinite(v)) for v in self.data.values()):
            raise ValueError("observational data must be finite")
        return n

    def _condition(self, mechanism: _FittedMechanism) -> None:
        """Condition a mechanism's GP on its interventional rows and up to `max_condition` rows in all."""
        mechanism.gp.fit(*self._rows(mechanism, self.max_condition))

    def _rows(self, mechanism: _FittedMechanism, limit: int) -> tuple[np.ndarray, np.ndarray]:
        """At most `limit` rows: the latest interventional ones first, then observational ones (none without
        `condition_on_data`)."""
        new = min(len(mechanism.y_new), limit)
        room = limit - new if self.condition_on_data else 0
        start = len(mechanism.y_new) - new
        return (np.concatenate([mechanism.x_new[start:], mechanism.xs[:room]]),
                np.concatenate([mechanism.y_new[start:], mechanism.ys[:room]]))  # fmt: skip

    def add_rows(self, rows: Mapping[str, np.ndarray], intervened: Sequence[str] = (), refit: bool = False) -> None:
        """Add rows observed under do(`intervened`) (name -> [k] values) to every mechanism whose child was not
        intervened on and whose columns are all present; re-condition them (on at most `max_condition` rows, the
        latest added ones first), and with `refit` maximise the marginal likelihood again, from the current
        hyper-parameters, on at most `max_points` rows chosen alike."""
        if not self.mechanisms:
            raise RuntimeError("fit the GP-SCM on observational data first")
        for child, mechanism in self.mechanisms.items():
            pars = self.parents[child]
            if child in intervened or any(v not in rows for v in (child, *pars)):
                continue
            x = np.stack([np.asarray(rows[p], np.float64).reshape(-1) for p in pars], axis=1)
            xs, ys = mechanism.standardise(x, np.asarray(rows[child], np.float64).reshape(-1))
            if not (np.all(np.isfinite(xs)) and np.all(np.isfinite(ys))):
                raise ValueError(f"rows for the mechanism of {child!r} must be finite")
            mechanism.x_new = np.concatenate([mechanism.x_new.reshape(-1, len(pars)), xs])
            mechanism.y_new = np.concatenate([mechanism.y_new, ys])
            x_fit, y_fit = self._rows(mechanism, self.max_points)
            if refit and len(y_fit) >= 3:
                fit_hyperparameters(mechanism.gp, x_fit, y_fit,
                                    **{"seed": self.seed, "noise_bounds": (1e-6, 10.0), **self.fit_options,
                                       "n_restarts": 0})  # fmt: skip
            self._condition(mechanism)

    def _kernel_of(self, child: Hashable) -> StationaryKernel | AdditiveKernel:
        """A unit kernel on the child's parents: one length scale per input, summed over its groups if any."""
        pars = self.parents[child]
        if child not in self.groups:
            return StationaryKernel(self.kernel, (1.0,) * len(pars), 1.0)
        parts = tuple(StationaryKernel(self.kernel, (1.0,) * len(g), 1.0) for g in self.groups[child])
        return AdditiveKernel(parts, tuple(tuple(pars.index(p) for p in g) for g in self.groups[child]))

    # ------------------------------------------------------------------ propagation
    def sample(
        self,
        do: Mapping[str, np.ndarray | float],
        outcomes: Sequence[str],
        n_rows: int,
        rng: np.random.Generator,
        context: Mapping[str, float] | None = None,
        shifts: Mapping[str, float] | None = None,
        cache: dict[str, tuple[np.ndarray, np.ndarray, float]] | None = None,
        noise: bool = True,
        noiseless: Sequence[str] = (),
    ) -> dict[str, np.ndarray]:
        """Values of `outcomes` (and their needed ancestors) under do(...): [m, n_rows] per variable, for m
        interventions (`do` values are scalars or [m] arrays, one per intervention) and n_rows draws of the roots
        and noise each (the same draws for every intervention: common random numbers). `context` fixes variables at
        known values; `shifts` moves a mechanism's output by that many posterior standard deviations. `cache` (a dict
        kept between calls with the same do, context and rng seed) reuses the GP predictions of mechanisms whose
        inputs no other mechanism's shift changes. `noise=False` leaves out the mechanisms' observation noise (the
        noise-free plug-in outcome of each draw); `noiseless` leaves it out for the named mechanisms only."""
        if not self.mechanisms:
            raise RuntimeError("fit the GP-SCM on observational data first")
        context, shifts = dict(context or {}), dict(shifts or {})
        do_values = {k: np.atleast_1d(np.asarray(v, dtype=np.float64)) for k, v in do.items()}
        m = max((len(v) for v in do_values.values()), default=1)
        graph = mutilate(self.graph, [k for k in do_values if k in self.graph])
        needed = set(outcomes).union(*(nx.ancestors(graph, y) for y in outcomes))
        unknown = sorted(set(outcomes) - set(self.graph.nodes))
        if unknown:
            raise ValueError(f"unknown outcome variable(s) {unknown}; modelled: {sorted(self.graph.nodes)}")
        rows = rng.integers(0, len(next(iter(self.data.values()))), n_rows)
        values: dict[str, np.ndarray] = {}
        for name in self.order:
            if name not in needed:
                continue
            if name in do_values:
                values[name] = np.broadcast_to(do_values[name][:, None], (m, n_rows))
            elif name in context:
                values[name] = np.full((m, n_rows), float(context[name]))
            elif name not in self.mechanisms:
                draw = self.exogenous[name].sample(rng, n_rows) if name in self.exogenous else self.data[name][rows]
                values[name] = np.broadcast_to(draw, (m, n_rows))
            else:
                pure = not (nx.ancestors(graph, name) & set(self.mechanisms))
                if cache is not None and pure and name in cache:
                    mean, sd, noise_sd = cache[name]
                else:
                    x = np.stack([np.broadcast_to(values[p], (m, n_rows)).reshape(-1) for p in self.parents[name]], 1)
                    mean, sd, noise_sd = self.mechanisms[name].predict(x)
                    if cache is not None and pure:
                        cache[name] = (mean, sd, noise_sd)
                out = mean + shifts.get(name, 0.0) * sd
                draw = noise_sd * rng.standard_normal(n_rows)  # drawn either way: the same stream for every option
                values[name] = out.reshape(m, n_rows) + (draw if noise and name not in noiseless else 0.0)
        return values

    def _one_layer(self, metrics: Sequence[str], do: Mapping[str, Any], context: Mapping[str, float] | None) -> bool:
        """Whether no metric's mechanism depends on another fitted mechanism under do() and the context."""
        fixed = set(do) | set(context or {})
        graph = mutilate(self.graph, [v for v in fixed if v in self.graph])
        return not any(nx.ancestors(graph, m) & (set(self.mechanisms) - fixed) for m in metrics)

    def spec_effect(
        self,
        points: np.ndarray,
        targets: Sequence[str],
        spec: Specification,
        context: Mapping[str, float] | None = None,
        n_rows: int = 32,
        n_draws: int = 8,
        seed: int = 0,
        steps: str = "independent",
        analytic: bool = False,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation over posterior draws of P(phi = 1 | do(targets = u)) for each row u of
        `points` [m, len(targets)] (see the module docstring). `steps`: the judged steps of a window are
        "independent" given u (a window holds with the one-step probability to the power of the judged steps) or
        "persistent" (the conditions of a window do not change: it holds with the one-step probability).
        `analytic`: the bounds' probabilities given the sampled parents in closed form (the specification's variables
        must be fitted mechanisms with one bound each; ValueError otherwise)."""
        if steps not in ("independent", "persistent"):
            raise ValueError(f"steps must be 'independent' or 'persistent', got {steps!r}")
        power = spec.n_judged if steps == "independent" else 1
        points = np.atleast_2d(np.asarray(points, dtype=np.float64))
        if points.shape[1] != len(targets):
            raise ValueError(f"points have {points.shape[1]} columns for {len(targets)} targets {list(targets)}")
        metrics = [b.variable for b in spec.bounds]
        if analytic and (len(set(metrics)) != len(metrics) or not set(metrics) <= set(self.mechanisms)):
            raise ValueError(f"analytic probabilities need one bound per fitted mechanism, got {list(metrics)}; "
                             f"mechanisms {sorted(self.mechanisms)}")  # fmt: skip
        shuffle = np.random.default_rng(seed)
        grid = norm.ppf((np.arange(n_draws) + 0.5) / n_draws)
        shifts = {name: shuffle.permutation(grid) for name in self.mechanisms}
        probs = np.empty((n_draws, len(points)))
        cache: dict[str, tuple[np.ndarray, np.ndarray, float]] = {}
        do = dict(zip(targets, points.T, strict=True))
        if analytic and self._one_layer(metrics, do, context):
            # The metrics' GPs take no other mechanism's output: predict once, then shift per draw.
            self.sample(
                do, spec.variables, n_rows, np.random.default_rng(seed), context, None, cache, noiseless=metrics
            )
            for k in range(n_draws):
                values = {v: cache[v][0] + shifts[v][k] * cache[v][1] for v in metrics}
                holds = self._bounds_hold(spec, values)
                probs[k] = np.reshape(holds, (len(points), n_rows)).mean(axis=1) ** power
            return probs.mean(0), probs.std(0)
        for k in range(n_draws):
            values = self.sample(do, spec.variables, n_rows, np.random.default_rng(seed), context,
                                 {v: s[k] for v, s in shifts.items()}, cache,
                                 noiseless=metrics if analytic else ())  # fmt: skip
            holds = self._bounds_hold(spec, values) if analytic else spec.predicate(values)
            probs[k] = holds.mean(axis=1) ** power
        return probs.mean(0), probs.std(0)

    def _bounds_hold(self, spec: Specification, values: Mapping[str, np.ndarray]) -> np.ndarray:
        """The probability that every bound holds given its metric's noise-free value, the metrics' Gaussian
        observation noise independent."""
        holds = np.ones_like(values[spec.bounds[0].variable])
        for bound in spec.bounds:
            margin = (bound.threshold - values[bound.variable]) / self.mechanisms[bound.variable].noise_sd
            holds = holds * ndtr(margin if bound.op == "<" else -margin)
        return holds


def _positive(std: np.ndarray) -> np.ndarray:
    """Standard deviations with zeros (constant columns) replaced by 1."""
    return np.where(std > 0, std, 1.0)

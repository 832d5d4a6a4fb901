"""Do-effects in a dynamic SCM learned from observational trajectories: one GP-SCM per time slice.

The causal prior of Aglietti, Dhir, Gonzalez and Damoulas, "Dynamic Causal Bayesian Optimization" (section 3.3):
every mechanism of slice t is a GP (`dogym.causal.effects.GPSCM`) fitted on the N observational trajectories D^O,
with the variable's within-slice ("emission") parents and, for the dynamic model, its parents in slice t - 1
("transition"). Under the paper's additivity assumption a mechanism with both kinds of parents is the sum
f^NY(emission parents) + f^Y(transition parents): its GP gets a sum of two kernels (`GPSCM` groups), fitted jointly,
so f^Y(y*_{t-1}) is the transition part evaluated at the realised past. The effect E[Y_t | do(X_s = x), I_{0:t-1}]
conditions on the past decisions by fixing the previous slice at its realised values (what the operator saw).
The static model (CBO: Aglietti, Gonzalez and Damoulas, "Causal Bayesian Optimization") has emission parents only and
ignores the past.

Slices without observational data (e.g. a series that stops) reuse the model of the last slice with data; a static
model without data at t has no prior there (`has_prior`).

Two ways to fit the mechanisms (the `fit` of `DynamicGPSCM`):
- "authors" (default; the DCBO authors' observational GPs): each mechanism's GP on the raw data with a zero mean
  function, an RBF kernel started at variance 1 and length scale 1 and a noise variance started at 1, all fitted by
  maximum likelihood (no hyper-parameter priors) from the start plus `AUTHORS_RESTARTS` seeded random starts. (The
  authors' kernel is isotropic; dogym's has one length scale per input, which differs only for mechanisms with
  several parents, and a mechanism with within-slice and previous-slice parents is one additive GP fitted jointly
  where the authors fit the two parts separately and sum them.)
- "standardised": inputs and output standardised (so the mean function is the sample mean), noise started at 0.1,
  two random restarts (`dogym.causal.effects.GPSCM`).

Two ways to compute the prior mean m(x) and standard deviation sigma(x) (the `method` of `DynamicGPSCM`):
- "plugin" (default, fast; the authors' code): propagate the GP posterior means through the slice's mechanisms,
  noise-free (the outcomes of the envs are noise-free plug-in values); sigma(x) is the target mechanism's GP
  predictive standard deviation at the propagated inputs, including its fitted observation noise with
  `prior_noise=True` (the authors' "moment 1", GPy's default predictive variance) or of f only. Variables without a mechanism that the target needs (roots of the
  slice) take their observational rows and the results are averaged over the rows.
- "mc": `n_draws` posterior draws of every mechanism (`GPSCM.sample` with rank-one shifts, noise-free); m and sigma
  are the mean and standard deviation of the draws' outcomes, so sigma also carries the uncertainty of the upstream
  mechanisms (about n_draws times slower).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

import networkx as nx
import numpy as np
from scipy.stats import norm

from dogym.causal.effects import GPSCM, _FittedMechanism
from dogym.causal.gp import GaussianProcess, fit_hyperparameters
from dogym.causal.graphs import mutilate

#: How the observational mechanisms are fitted (`DynamicGPSCM`'s `fit`).
FITS = ("authors", "standardised")
#: A node of a slice model: (variable, 0) in the current slice, (variable, -1) in the previous one.
SliceNode = tuple[str, int]


@dataclass(frozen=True)
class SliceParents:
    """The parents of every variable of one time slice: `within` the slice and in the `previous` slice."""

    within: Mapping[str, tuple[str, ...]]
    previous: Mapping[str, tuple[str, ...]]


def slice_parents(graph: nx.DiGraph, variables: Sequence[str], t: int) -> SliceParents:
    """Split the parents of each (variable, t) of a time-unrolled graph (nodes (name, t)) into within-slice ones
    and ones in slice t - 1. ValueError for a variable missing at t or a parent further back in time."""
    within: dict[str, tuple[str, ...]] = {}
    previous: dict[str, tuple[str, ...]] = {}
    for name in variables:
        if (name, t) not in graph:
            raise ValueError(f"the time-unrolled graph has no node {(name, t)!r}")
        preds = list(graph.predecessors((name, t)))
        far = [p for p in preds if p[1] not in (t, t - 1)]
        if far:
            raise ValueError(f"{(name, t)!r} has parents {far} further back than t - 1: not a two-slice model")
        within[name] = tuple(p[0] for p in preds if p[1] == t)
        previous[name] = tuple(p[0] for p in preds if p[1] == t - 1)
    return SliceParents(within, previous)


#: Random restarts of the authors'-form maximum-likelihood fit (their `fit_gp` default).
AUTHORS_RESTARTS = 10
#: Log-space box of the authors'-form hyper-parameters (raw data: wide enough for every DCGO env's units).
AUTHORS_BOUNDS = (1e-4, 1e5)


class _AuthorsGPSCM(GPSCM):
    """A GP-SCM whose mechanisms are fitted as in the DCBO authors' code: raw data, zero mean, RBF kernel and noise
    started at 1, maximum likelihood with `AUTHORS_RESTARTS` random restarts (module docstring)."""

    def fit(self, data: Mapping[str, np.ndarray]) -> _AuthorsGPSCM:
        """Fit every mechanism on the observational columns `data` (name -> [n] values); returns self."""
        n = self._store(data)
        pick = np.random.default_rng(self.seed).permutation(n)[: self.max_points]
        for child, pars in self.parents.items():
            x = np.stack([self.data[p] for p in pars], axis=1)[pick]
            gp = GaussianProcess(self._kernel_of(child), noise_var=1.0)
            fit_hyperparameters(gp, x, self.data[child][pick], bounds=AUTHORS_BOUNDS, noise_bounds=(1e-6, 1e5),
                                n_restarts=AUTHORS_RESTARTS, seed=self.seed, gradient="analytic")  # fmt: skip
            self.mechanisms[child] = _FittedMechanism(gp, np.zeros(len(pars)), np.ones(len(pars)), 0.0, 1.0)
        return self


class DynamicGPSCM:
    """Per-slice GP-SCMs of a dynamic SCM fitted on observational trajectories, and their do-effects on a target.

    graph: the time-unrolled DAG with (name, t) nodes for t = 0..T-1 (the structural view's); variables: the slice
    variables; temporal: include the previous-slice parents (DCBO) or not (CBO's static model). method: "plugin" or
    "mc" (module docstring). kernel, seed: passed to `GPSCM`; max_points: each mechanism is fitted on and conditions on
    at most that many observational rows (a seeded subsample). fit: "authors" or "standardised"; prior_noise: the
    plug-in sigma includes the target mechanism's noise (module docstring).
    """

    def __init__(
        self,
        graph: nx.DiGraph,
        variables: Sequence[str],
        target: str,
        temporal: bool = True,
        method: str = "plugin",
        n_draws: int = 16,
        n_rows: int = 32,
        kernel: str = "rbf",
        max_points: int = 100,
        seed: int = 0,
        fit: str = "authors",
        prior_noise: bool = True,
    ):
        if method not in ("plugin", "mc"):
            raise ValueError(f"prior method must be 'plugin' or 'mc', got {method!r}")
        if fit not in FITS:
            raise ValueError(f"observational fit must be one of {FITS}, got {fit!r}")
        if fit == "authors" and kernel != "rbf":
            raise ValueError(f"the authors' observational fit uses an RBF kernel, got kernel={kernel!r}")
        self.fit_kind, self.prior_noise = fit, bool(prior_noise)
        if target not in variables:
            raise ValueError(f"target {target!r} is not among the slice variables {list(variables)}")
        self.variables, self.target, self.temporal = tuple(variables), target, bool(temporal)
        self.method, self.n_draws, self.n_rows = method, int(n_draws), int(n_rows)
        self.kernel, self.max_points, self.seed = kernel, int(max_points), int(seed)
        self.T = 1 + max(t for _, t in graph.nodes)
        self.structure = [slice_parents(graph, self.variables, t) for t in range(self.T)]
        #: models[t]: the GP-SCM used at t (None: no prior); source[t]: the slice whose data fitted it.
        self.models: list[GPSCM | None] = []
        self.source: list[int | None] = []

    def fit(self, data: Mapping[str, np.ndarray]) -> DynamicGPSCM:
        """Fit every slice on observational trajectories `data` (name -> [N, T], NaN where a step has no data)."""
        arrays = {}
        for name in self.variables:
            if name not in data:
                raise ValueError(f"observational data lacks the variable {name!r}")
            arr = np.asarray(data[name], dtype=np.float64)
            if arr.ndim != 2 or arr.shape[1] != self.T:
                raise ValueError(f"observational data of {name!r} must be [N, {self.T}], got shape {arr.shape}")
            arrays[name] = arr
        self.models, self.source = [], []
        for t in range(self.T):
            model = self._fit_slice(t, arrays)
            if model is None and self.temporal and self.models and self.models[-1] is not None:
                self.models.append(self.models[-1])
                self.source.append(self.source[-1])
            else:
                self.models.append(model)
                self.source.append(t if model is not None else None)
        if all(m is None for m in self.models):
            raise ValueError("no time step has at least 2 complete observational trajectories to fit the GP-SCM")
        return self

    def _fit_slice(self, t: int, arrays: Mapping[str, np.ndarray]) -> GPSCM | None:
        parents, groups = {}, {}
        for name in self.variables:
            within = [(p, 0) for p in self.structure[t].within[name]]
            previous = [(p, -1) for p in self.structure[t].previous[name]] if self.temporal and t > 0 else []
            if within or previous:
                parents[(name, 0)] = (*within, *previous)
            if within and previous:
                groups[(name, 0)] = (within, previous)
        if not parents:
            return None
        nodes = set(parents) | {p for ps in parents.values() for p in ps}
        columns = {node: arrays[node[0]][:, t + node[1]] for node in nodes}
        complete = np.all(np.isfinite(np.stack(list(columns.values()), axis=1)), axis=1)
        if complete.sum() < 2:
            return None
        model = (_AuthorsGPSCM if self.fit_kind == "authors" else GPSCM)(
            parents,
            kernel=self.kernel,
            max_points=self.max_points,
            max_condition=self.max_points,
            seed=self.seed,
            groups=groups,
            fit_options={"gradient": "analytic"} if self.kernel == "rbf" else None,
        )
        return model.fit({node: col[complete] for node, col in columns.items()})

    def has_prior(self, t: int) -> bool:
        """Whether a fitted model covers time step t."""
        return self._model(t) is not None

    def _model(self, t: int) -> GPSCM | None:
        if not self.models:
            raise RuntimeError("fit the dynamic GP-SCM on observational trajectories first")
        if not 0 <= t < self.T:
            raise ValueError(f"time step {t} is outside 0..{self.T - 1}")
        return self.models[t]

    def effect(
        self,
        t: int,
        targets: Sequence[str],
        points: np.ndarray,
        past: Mapping[str, float] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Prior mean and standard deviation of E[target_t | do(targets = x), past] for each row x of `points`
        [m, len(targets)]. `past`: the realised values of slice t - 1 (needed by the dynamic model at t > 0)."""
        model = self._model(t)
        if model is None:
            raise ValueError(f"no observational model covers time step {t}")
        points = np.atleast_2d(np.asarray(points, dtype=np.float64))
        if points.shape[1] != len(targets):
            raise ValueError(f"points have {points.shape[1]} columns for the intervened variables {list(targets)}")
        unknown = sorted(set(targets) - set(self.variables))
        if unknown:
            raise ValueError(f"cannot intervene on {unknown}: slice variables are {list(self.variables)}")
        if self.target in targets:
            raise ValueError(f"cannot intervene on the target {self.target!r}")
        do = {(name, 0): points[:, i] for i, name in enumerate(targets)}
        context = self._context(model, t, past)
        outcome = (self.target, 0)
        if outcome not in model.mechanisms:  # the target has no parents in the model: its observational law
            values = model.data[outcome]
            return np.full(len(points), values.mean()), np.full(len(points), values.std())
        if self.method == "plugin":
            return _plugin_effect(model, do, context, outcome, self.n_rows, self.prior_noise)
        return self._mc_effect(model, do, context, outcome)

    def _context(self, model: GPSCM, t: int, past: Mapping[str, float] | None) -> dict[SliceNode, float]:
        lagged = [node for node in model.graph.nodes if node[1] == -1]
        if not lagged:
            return {}
        if past is None:
            raise ValueError(f"the dynamic prior at t = {t} needs the realised values of slice t - 1 (past)")
        missing = sorted(name for name, _ in lagged if name not in past)
        if missing:
            raise ValueError(f"past lacks the previous-slice values of {missing}")
        return {node: float(past[node[0]]) for node in lagged}

    def _mc_effect(
        self, model: GPSCM, do: Mapping[SliceNode, np.ndarray], context: Mapping[SliceNode, float], outcome: SliceNode
    ) -> tuple[np.ndarray, np.ndarray]:
        grid = norm.ppf((np.arange(self.n_draws) + 0.5) / self.n_draws)
        shuffle = np.random.default_rng(self.seed)
        shifts = {name: shuffle.permutation(grid) for name in model.mechanisms}
        cache: dict = {}
        draws = np.stack([
            model.sample(do, [outcome], self.n_rows, np.random.default_rng(self.seed), context,
                         {v: s[k] for v, s in shifts.items()}, cache, noise=False)[outcome].mean(axis=1)
            for k in range(self.n_draws)
        ])  # fmt: skip
        return draws.mean(0), draws.std(0)


def _plugin_effect(
    model: GPSCM,
    do: Mapping[Hashable, np.ndarray],
    context: Mapping[Hashable, float],
    outcome: Hashable,
    n_rows: int,
    include_noise: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Noise-free propagation of GP posterior means; sd of the outcome's GP at the propagated inputs, with its
    observation noise if `include_noise` (rows of the unmodelled roots it needs: averaged mean, root-mean-square
    sd)."""
    graph = mutilate(model.graph, [k for k in do if k in model.graph])
    needed = {outcome} | nx.ancestors(graph, outcome)
    m = len(next(iter(do.values())))
    roots = [n for n in needed if n not in do and n not in context and n not in model.mechanisms]
    n_data = len(next(iter(model.data.values())))
    rows = np.linspace(0, n_data - 1, min(n_rows, n_data)).round().astype(int) if roots else np.zeros(1, int)
    r = len(rows)
    values: dict[Hashable, np.ndarray] = {}
    sd = np.zeros((m, r))
    for name in model.order:
        if name not in needed:
            continue
        if name in do:
            values[name] = np.broadcast_to(np.asarray(do[name])[:, None], (m, r))
        elif name in context:
            values[name] = np.full((m, r), float(context[name]))
        elif name not in model.mechanisms:
            values[name] = np.broadcast_to(model.data[name][rows], (m, r))
        else:
            x = np.stack([values[p].reshape(-1) for p in model.parents[name]], axis=1)
            mean, std, noise = model.mechanisms[name].predict(x)
            values[name] = mean.reshape(m, r)
            if name == outcome:
                sd = np.sqrt(std * std + (noise * noise if include_noise else 0.0)).reshape(m, r)
    return values[outcome].mean(axis=1), np.sqrt((sd * sd).mean(axis=1))

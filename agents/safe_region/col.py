"""COL: Causal Online Learning of a safe region (Hammar, Alpcan and Lupu, "Causal Online Learning of Safe Regions in
Cloud Radio Access Networks", Algorithm 1).

1. Passive phase: t0 monitoring steps of observational data (`env.observational_data`).
2. Causal prior (eqs. 3-4): a GP-SCM fitted on the passive data (`dogym.causal.effects.GPSCM`: the view's mechanisms
   of the specification's metrics and their ancestors, or with `prior="backdoor"` the backdoor estimator on an
   adjustment set found from the graph), GPs with BoTorch's `SingleTaskGP` defaults (RBF kernel, its length-scale
   and noise priors, inputs scaled to [0, 1]: the paper used BoTorch with default hyper-parameters); root variables
   are drawn from the structural view's P[U] (`roots="view"`) or the passive rows, the scenario's known conditions
   are held fixed.
3. Reading of the outcome (`outcome`):
   - "metric" (default): the GP-SCM's GPs of the specification's metrics (e.g. the response time Y over (W, C, M))
     condition on the judged steps of every intervention window (`GPSCM.add_rows`: a window is a sample of every
     mechanism that was not intervened on) and refit their hyper-parameters by marginal likelihood every
     `refit_every` updates; the model is updated every `update_every` interventions. mean(u) and s(u) are the
     mean and sd over the model's posterior draws of P(phi = 1 | do(U' = u)), each draw computed from the metric
     posteriors and their Gaussian noise in closed form (`spec_effect(analytic=True)`). Without the causal prior the
     GPs keep the passive data's scalings and hyper-parameters but condition only on the interventions.
   - "indicator": one GP on the observed specification outcomes (one binary phi per intervention, noise variance
     `noise_var`), prior mean mu(u) and the causal kernel sigma(u) sigma(u') exp(-|u - u'|^2 / 2) (eq. 4) on
     controls scaled to [0, 1] per axis, mu and sigma the GP-SCM's mean and sd of P(phi = 1 | do(U' = u)); sigma is
     floored at `sigma_floor`. Without the causal prior: mean 0.5, unit sigma, and the passive steps' outcomes at
     their passive controls as data (SafeOpt's seed set). The initial region is eq. (3)'s {mu >= delta}.
4. Safe set (eq. 6) {u : mean(u) - kappa(u) >= delta}, kappa = Phi^-1(alpha) s(u) by default (the metric reading
   applies it from t0 on); `kappa="srinivas"` (indicator only) uses Appendix A's beta_t^(1/2) s(u) with the user's
   B and gamma_t (default: the information gain of the data).
5. Policy (eq. 7): argmax over the safe set of s(u) / c(u). If the safe set is empty, the point with the largest
   mean - kappa (the least unsafe guess). Stop when the chosen intervention does not fit in the remaining budget
   (Algorithm 1 as printed never terminates then).
Ablations: `causal_prior=False`, `safety=False` (argmax over all of U'), `cost_denominator=False` (argmax of s(u)).
Baseline `policy="random"` (random interventions at equal cost): eq. (7) is replaced by a candidate
drawn uniformly at random over all of U' (no safety constraint; the "policy" random stream), under the same budget and
stop rule; the region is COL's own estimator on the data those interventions produce.
Candidates: midpoints of a 101^2 grid (2-D), 501 points (1-D), 2048 Sobol points (more dimensions); the indicator
prior is evaluated there and read at the nearest candidate elsewhere. Region sizes are fractions of the control box.
A run uses one BLAS thread, so a seed's record is bit-identical whatever the machine's thread settings.

The learner uses what an operator has: the structural view (graph, boxes, P[U]), the passive data, the
specification, U', the cost function, the scenario's known conditions (fixed values and load distributions) and the
observed windows; never the env's ground truth.

The graph (`graph`): "known" (default) is the view's graph, as in the paper. "wrong" is the view's graph with one
edge reversed (`misspecified`, seeded by the run's seed), fixed for the run: the cost of a misspecified graph.
"learned" never reads the view's graph or parents: a `GraphLearner` (PC on the passive rows, then the judged rows of
every intervention window as data under do(U')) gives the CPDAG, and the model is built on its one consistent
extension `learner.dag()`. The learner's passive rows are the model's t0 ones or, with `graph_passive_steps` > t0, a
longer passive log from the same monitoring (its first t0 rows are the model's; passive operation costs nothing in
these envs): the GP-SCM is still fitted on the t0 rows only, so known and learned runs differ in the graph alone. It
relearns after every `relearn_every` interventions; when the DAG changes, what depends on it is rebuilt from all data
so far (the metric reading's GP-SCM: fitted on the passive rows, then conditioned on every window and refitted; the
indicator reading's causal prior and its GP on the same outcomes). Background
knowledge: the variables the view declares exogenous (the operator draws them, e.g. the load and the passive
allocation policy, and knows their P[U]) are roots, `Knowledge(roots=...)`; the skeleton's test is `graph_test`
("basis" by default: Edge S1's effects are U-shaped, with zero rank correlation), at level `graph_alpha`. The view's
`controllable` marks are not used as knowledge: being settable does not mean having no causes in passive operation
(an operator's policy may react to the load), so only the exogenous declaration says "no parents". A specification
metric without parents in the model's graph gets a constant mechanism (a GP on an intercept input): its P(phi) is
then the same for every u and, with an empty safe set, eq. (7)'s fallback breaks the exact ties at random.
`orientation_weight` w (learned only) values orientation: eq. (7) becomes argmax (s(u) + w o(u)) / c(u), o(u) the
share of the current CPDAG's undirected edges that do(targets of u) would orient (`expected_orientations` over
`n_undirected`, in [0, 1], as s(u) is a probability's sd in [0, 0.5]). Every candidate intervenes on all of U', so o
is the same for all of them and the term only favours cheaper candidates while edges are undirected.
`graph_history` holds (interventions, sorted edges) after each (re)learning; `learn_seconds` the CPU seconds spent
in structure learning.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import networkx as nx
import numpy as np
from scipy.spatial import cKDTree
from threadpoolctl import threadpool_limits

from dogym.agents.graph_settings import check_graph_settings
from dogym.causal.acquisition import (
    argmax_std_per_cost,
    box_points,
    information_gain,
    lcb_safe_set,
    quantile_kappa,
    srinivas_beta,
)
from dogym.causal.effects import GPSCM
from dogym.causal.gp import GaussianProcess, MultiplicativeCausalKernel
from dogym.causal.intervention import Intervention
from dogym.causal.random_streams import named_rng
from dogym.causal.structure.continuous import CI_TESTS

#: The confidence levels of the region-evolution figure (Fig. 6's shades).
FIGURE_ALPHAS = (0.8, 0.85, 0.9, 0.95)
#: The COLConfig fields the causal prior depends on (with the env, its options, the seed and, unless it is the known
#: one, the model's graph: `_prior_key`).
PRIOR_FIELDS = ("monitoring_steps", "prior", "prior_rows", "prior_draws", "prior_steps", "prior_max_points",
                "prior_max_condition", "kernel", "resolution", "hyperpriors", "input_scaling", "roots",
                "graph")  # fmt: skip
#: Causal priors computed in this process, by `_prior_key` and reading (the fitted metric GP-SCM, or the indicator
#: reading's (mu, sigma)): COL, its safety and cost ablations and the random baseline share the prior of a seed (on the
#: synthetic RAN it takes minutes). At most `PRIOR_CACHE_SIZE`.
_PRIORS: dict[tuple, Any] = {}
PRIOR_CACHE_SIZE = 16
#: Candidates per posterior prediction (the kernel between a batch and the data is batch x interventions).
PREDICT_BATCH = 1024
#: The constant input of a specification metric without parents in the model's graph (a GP on it is a constant).
INTERCEPT = "(intercept)"


@dataclass(frozen=True)
class COLConfig:
    """COL's settings (paper defaults for the edge example: t0 = 10, alpha = 0.8; delta comes from the env). The
    steps above say what each field does; `agents/hyperparams/col.yml` documents them per env."""

    monitoring_steps: int = 10
    alpha: float = 0.8
    kappa: str = "quantile"
    rkhs_bound: float = 1.0
    information_gain: float | None = None
    noise_var: float = 0.1
    lengthscale: float = 1.0
    causal_prior: bool = True
    safety: bool = True
    cost_denominator: bool = True
    prior: str = "gpscm"
    prior_rows: int = 32
    prior_draws: int = 16
    prior_steps: str = "independent"
    prior_max_points: int = 200
    prior_max_condition: int = 500
    sigma_floor: float = 0.05
    kernel: str = "rbf"
    resolution: int | None = None
    policy: str = "eq7"
    outcome: str = "metric"
    refit_every: int = 1
    update_every: int = 1
    roots: str = "view"
    hyperpriors: str | None = "botorch"
    input_scaling: str = "unit"
    graph: str = "known"
    graph_alpha: float = 0.01
    graph_test: str = "basis"
    graph_passive_steps: int = 0
    relearn_every: int = 1
    orientation_weight: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 < self.alpha < 1.0:
            raise ValueError(f"alpha must be in (0, 1), got {self.alpha!r}")
        if self.kappa not in ("quantile", "srinivas"):
            raise ValueError(f"kappa must be 'quantile' or 'srinivas', got {self.kappa!r}")
        if self.policy not in ("eq7", "random"):
            raise ValueError(f"policy must be 'eq7' or 'random', got {self.policy!r}")
        if self.outcome not in ("metric", "indicator"):
            raise ValueError(f"outcome must be 'metric' or 'indicator', got {self.outcome!r}")
        if self.outcome == "metric" and self.kappa == "srinivas":
            raise ValueError("kappa 'srinivas' bounds a GP on the outcome itself: it needs outcome 'indicator'")
        if isinstance(self.refit_every, bool) or not isinstance(self.refit_every, int) or self.refit_every < 0:
            raise ValueError(f"refit_every must be an integer >= 0 (0: never refit), got {self.refit_every!r}")
        if isinstance(self.update_every, bool) or not isinstance(self.update_every, int) or self.update_every < 1:
            raise ValueError(f"update_every must be an integer >= 1, got {self.update_every!r}")
        if self.roots not in ("data", "view"):
            raise ValueError(f"roots must be 'data' or 'view', got {self.roots!r}")
        if self.prior not in ("gpscm", "backdoor"):
            raise ValueError(f"prior must be 'gpscm' or 'backdoor', got {self.prior!r}")
        if self.monitoring_steps < 2 or self.noise_var <= 0 or self.lengthscale <= 0:
            raise ValueError("monitoring_steps must be >= 2, noise_var and lengthscale positive")
        check_graph_settings(self.graph, self.relearn_every, self.graph_alpha, self.orientation_weight)
        if self.graph_test not in CI_TESTS:
            raise ValueError(f"graph_test must be one of {', '.join(map(repr, CI_TESTS))}, got {self.graph_test!r}")
        steps = self.graph_passive_steps
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
            raise ValueError(f"graph_passive_steps must be an integer >= 0, got {self.graph_passive_steps!r}")


@dataclass
class COLRecord:
    """What one COL run did: per intervention the control, outcome, cost and the estimate after it (step 0 is the
    prior's). `mean` / `std` are the posterior at the candidates (float32), `regions` the safe sets."""

    candidates: np.ndarray
    interventions: list[list[float]] = field(default_factory=list)
    outcomes: list[int] = field(default_factory=list)
    costs: list[float] = field(default_factory=list)
    in_safe_set: list[bool] = field(default_factory=list)
    mean: list[np.ndarray] = field(default_factory=list)
    std: list[np.ndarray] = field(default_factory=list)
    regions: list[np.ndarray] = field(default_factory=list)
    stopped: str = ""

    @property
    def sizes(self) -> list[float]:
        """Estimated region size (fraction of the box) after each intervention (index 0: the prior's)."""
        return [float(r.mean()) for r in self.regions]

    @property
    def unsafe(self) -> int:
        """Interventions whose window violated the specification."""
        return int(len(self.outcomes) - sum(self.outcomes))


class _NearestCandidate:
    """A function of scaled controls that reads its value at the nearest candidate: by cell index on a midpoint grid
    of `grid` points per axis (`box_points` with d <= 2), else through a k-d tree (picklable)."""

    def __init__(self, tree: cKDTree, values: np.ndarray, grid: int | None):
        self.tree, self.values, self.grid = tree, np.asarray(values, dtype=np.float64), grid

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        flat = x.reshape(-1, x.shape[-1])
        if self.grid is None:
            index = self.tree.query(flat)[1]
        else:
            cells = np.clip(np.floor(flat * self.grid), 0, self.grid - 1).astype(np.int64)
            index = np.ravel_multi_index(tuple(cells.T), (self.grid,) * flat.shape[1])
        return self.values[index].reshape(x.shape[:-1])


class COL:
    """One COL learner on an unwrapped safe-region env (see the module docstring)."""

    def __init__(self, env: Any, config: COLConfig, seed: int = 0):
        self.env, self.config, self.seed = env, config, int(seed)
        self.targets = list(env.intervention_set)
        self.spec = env.specification
        self.delta = float(env.delta)
        bounds = env.structural_view().control_bounds
        self.low = np.array([bounds[v][0] for v in self.targets])
        self.high = np.array([bounds[v][1] for v in self.targets])
        dim = len(self.targets)
        resolution = config.resolution or {1: 501, 2: 101}.get(dim, 2048)
        self.candidates = box_points(self.low, self.high, resolution)
        self.scaled = self.scale(self.candidates)
        self.tree = cKDTree(self.scaled)
        self.grid = resolution if dim <= 2 else None
        self.costs = np.asarray(env.costs_of(self.candidates), dtype=np.float64)
        self.gp: GaussianProcess | None = None
        self.model: GPSCM | None = None
        self._pending: list[dict[str, np.ndarray]] = []
        self.x = np.zeros((0, dim))
        self.y = np.zeros(0)
        self.policy_rng = named_rng(self.seed, "policy")
        #: The structure learner (graph "learned"), the model's graph (not "known"), its history and cost.
        self.structure: Any = None
        self._graph: nx.DiGraph | None = None
        self.graph_history: list[tuple[int, list[tuple[str, str]]]] = []
        self.learn_seconds = 0.0
        self._passive: dict[str, np.ndarray] = {}
        self._windows: list[dict[str, np.ndarray]] = []
        self._stale = False

    def _table(self, values: np.ndarray) -> _NearestCandidate:
        """A function of scaled controls with the given values at the candidates."""
        return _NearestCandidate(self.tree, values, self.grid)

    def scale(self, u: np.ndarray) -> np.ndarray:
        """Controls -> [0, 1] per axis."""
        return (np.asarray(u, dtype=np.float64) - self.low) / (self.high - self.low)

    # ------------------------------------------------------------------ phase 1: the causal prior
    def initialise(self) -> COLRecord:
        """Passive phase and prior (Algorithm 1, lines 1-3); returns the record with the initial region."""
        passive = named_rng(self.seed, "passive_log")  # the passive data's seed, then the no-prior subsample
        log_seed = int(passive.integers(2**31))
        data = self.env.observational_data(self.config.monitoring_steps, log_seed)
        self._start_graph(data, log_seed)
        record = COLRecord(self.candidates)
        if self.config.outcome == "metric":
            self.model = self._cached(("metric", self.config.causal_prior), lambda: self.metric_model(data))
            self._record_estimate(record, None)
            return record
        if self.config.causal_prior:
            mu = self._prior_gp(self._cached(("indicator",), lambda: self.causal_prior(data)))
            region = mu >= self.delta  # eq. (3)
        else:
            ones = self._table(np.ones(len(self.candidates)))
            half = self._table(np.full(len(self.candidates), 0.5))
            self.gp = GaussianProcess(MultiplicativeCausalKernel(ones, self.config.lengthscale), self.config.noise_var,
                                      half)  # fmt: skip
            self.x, self.y = self.passive_outcomes(data, passive)
            self.gp.fit(self.x, self.y)
            region = None
        self._record_estimate(record, region)
        return record

    def _prior_gp(self, prior: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        """The indicator reading's GP with the causal prior (mu, sigma) at the candidates as its mean and eq. (4)'s
        kernel, conditioned on the outcomes so far; returns mu."""
        mu, sigma = prior
        sigma = np.maximum(sigma, self.config.sigma_floor)  # a saturated prior (sigma = 0) could never learn
        mean_fn, sigma_fn = self._table(mu), self._table(sigma)
        self.gp = GaussianProcess(MultiplicativeCausalKernel(sigma_fn, self.config.lengthscale),
                                  self.config.noise_var, mean_fn)  # fmt: skip
        if len(self.y):
            self.gp.fit(self.x, self.y)
        return mu

    # ------------------------------------------------------------------ the graph
    def _start_graph(self, data: Mapping[str, np.ndarray], log_seed: int) -> None:
        """The model's graph before the first intervention: the view's, one edge of it reversed, or learned from the
        passive rows (the model's t0 rows, or a longer passive log of `graph_passive_steps` rows from the same seed;
        the learner gets the view's exogenous variables as roots, never its graph)."""
        cfg = self.config
        self._passive = dict(data)
        if cfg.graph == "known":
            self.graph_history.append((0, sorted(self.env.structural_view().graph.edges)))
        elif cfg.graph == "wrong":
            from dogym.causal.structure.continuous import misspecified

            self._graph = misspecified(self.env.structural_view().graph, seed=self.seed)
            self.graph_history.append((0, sorted(self._graph.edges)))
        else:
            from dogym.causal.structure.continuous import GraphLearner, Knowledge

            view = self.env.structural_view()
            start = time.process_time()
            self.structure = GraphLearner(list(view.names), Knowledge(roots=frozenset(view.exogenous)),
                                          alpha=cfg.graph_alpha, seed=self.seed, ci_test=cfg.graph_test)  # fmt: skip
            steps = cfg.graph_passive_steps
            self.structure.add_observational(
                data if steps <= cfg.monitoring_steps else self.env.observational_data(steps, log_seed)
            )
            self.learn_seconds += time.process_time() - start
            self._relearn(0)

    def _relearn(self, interventions: int) -> None:
        """Learn the graph from all data so far; the model is rebuilt at its next update when the DAG changed."""
        start = time.process_time()
        self.structure.learn()
        dag = self.structure.dag()
        self.learn_seconds += time.process_time() - start
        self._stale = self._stale or (self._graph is not None and set(dag.edges) != set(self._graph.edges))
        self._graph = dag
        self.graph_history.append((interventions, sorted(dag.edges)))

    def _learn_structure(self, rows: dict[str, np.ndarray], interventions: int) -> None:
        """Give the learner an intervention window's judged rows (data under do(U')) and relearn when due."""
        if self.structure is None:
            return
        self._windows.append(rows)
        start = time.process_time()
        self.structure.add_interventional(self.targets, rows)
        self.learn_seconds += time.process_time() - start
        if interventions % self.config.relearn_every == 0:
            self._relearn(interventions)

    def model_graph(self) -> nx.DiGraph:
        """The graph the model is built on (a copy): the view's ("known"), one edge of it reversed ("wrong"), or the
        learner's DAG ("learned")."""
        if self.config.graph == "known":
            return self.env.structural_view().graph
        return self._graph.copy()

    def _columns(self, data: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Data columns with the intercept input of a parentless metric (any graph but the known one)."""
        if self.config.graph == "known":
            return dict(data)
        return {**data, INTERCEPT: np.zeros(len(next(iter(data.values()))))}

    def _cached(self, kind: tuple, compute: Callable[[], Any]) -> Any:
        """`compute()` once per `_prior_key` and kind in this process (a deep copy each time: runs never share
        state); computed afresh for an env made without the registry."""
        key = self._prior_key()
        if key is None:
            return compute()
        key = (*key, kind)
        if key not in _PRIORS:
            while len(_PRIORS) >= PRIOR_CACHE_SIZE:
                _PRIORS.pop(next(iter(_PRIORS)))
            _PRIORS[key] = compute()
        return copy.deepcopy(_PRIORS[key])

    def _prior_key(self) -> tuple | None:
        """What the causal prior is a function of: the env (class, registered id and options), the seed, the
        prior's settings and the model's graph (any but the known one); None (no caching) for an env made without the
        registry."""
        spec = getattr(self.env, "spec", None)
        if spec is None:
            return None
        env = (type(self.env).__name__, spec.id, repr(sorted(spec.kwargs.items())))
        graph = None if self._graph is None else tuple(sorted(self._graph.edges))
        return env, self.seed, tuple(getattr(self.config, f) for f in PRIOR_FIELDS), graph

    def _context(self) -> dict[str, float]:
        """The scenario's known fixed conditions, other than the controls."""
        return {k: v for k, v in self.env.scenario_context.items() if k not in self.targets}

    def gp_scm(self) -> GPSCM:
        """The (unfitted) GP-SCM of the causal prior: the view's mechanisms of the specification's variables and
        their ancestors below the controls and the known conditions, or with `prior="backdoor"` the backdoor
        estimator of the specification's variables."""
        view = self.env.structural_view()
        cfg = self.config
        exogenous = dict(view.exogenous) if cfg.roots == "view" else {}
        options = {"kernel": cfg.kernel, "max_points": cfg.prior_max_points, "max_condition": cfg.prior_max_condition,
                   "seed": self.seed, "exogenous": {**exogenous, **self.env.scenario_distributions},
                   "input_scaling": cfg.input_scaling,
                   "fit_options": {"priors": cfg.hyperpriors}}  # fmt: skip
        if cfg.prior == "backdoor":
            return GPSCM.backdoor(self.model_graph(), self.targets, list(self.spec.variables), **options)
        fixed = set(self.targets) | set(self._context())
        graph = self.model_graph()
        graph.remove_edges_from([(p, v) for v in fixed for p in list(graph.predecessors(v))])
        needed = set(self.spec.variables).union(*(nx.ancestors(graph, v) for v in self.spec.variables))
        if cfg.graph == "known":
            parents = {v: view.parents(v) for v in view.endogenous if v in needed - fixed}
        else:  # the graph's parents in declaration order; a parentless metric gets the intercept
            parents = {v: tuple(p for p in view.names if graph.has_edge(p, v)) for v in view.names
                       if v in needed - fixed}  # fmt: skip
            parents = {v: pars or (INTERCEPT,) for v, pars in parents.items() if pars or v in self.spec.variables}
        return GPSCM(parents, **options)

    def metric_model(self, data: Mapping[str, np.ndarray]) -> GPSCM:
        """The GP-SCM fitted on the passive data; without the causal prior it keeps the passive data's scalings and
        hyper-parameters only (it has not seen how the metrics respond)."""
        return self.gp_scm().fit(self._columns(data), condition_on_data=self.config.causal_prior)

    def causal_prior(self, data: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """mu and sigma of P(phi = 1 | do(U' = u)) at the candidates from the passive data and the graph."""
        return self.spec_probability(self.gp_scm().fit(self._columns(data)), analytic=False)

    def spec_probability(self, model: GPSCM, analytic: bool) -> tuple[np.ndarray, np.ndarray]:
        """Mean and sd over the model's posterior draws of P(phi = 1 | do(U' = u)) at the candidates."""
        cfg = self.config
        return model.spec_effect(self.candidates, self.targets, self.spec, self._context(), cfg.prior_rows,
                                 cfg.prior_draws, seed=self.seed, steps=cfg.prior_steps,
                                 analytic=analytic)  # fmt: skip

    def passive_outcomes(
        self, data: Mapping[str, np.ndarray], rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray]:
        """The passive steps as (scaled controls, per-step predicate) pairs: the no-prior ablation's seed data (at
        most `prior_max_points` of them, a seeded subsample)."""
        u = np.stack([data[v] for v in self.targets], axis=1)
        ok = self.spec.predicate({v: np.asarray(data[v]) for v in self.spec.variables})
        inside = np.flatnonzero(np.all((u >= self.low) & (u <= self.high), axis=1))
        keep = np.sort(rng.permutation(inside)[: self.config.prior_max_points])
        return self.scale(u[keep]), ok[keep].astype(np.float64)

    # ------------------------------------------------------------------ phase 2: safe active learning
    def posterior(self) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and sd of P(phi = 1 | do(U' = u)) at the candidates: over the metric model's draws, or of
        the outcome GP (in batches: the peak memory stays O(batch x data))."""
        if self.config.outcome == "metric":
            return self.spec_probability(self.model, analytic=True)
        mean, var = self.gp.predict_batched(self.scaled, PREDICT_BATCH)
        return mean, np.sqrt(var)

    def kappa(self, std: np.ndarray) -> np.ndarray:
        """kappa(u) of eq. (6) for the configured rule."""
        cfg = self.config
        if cfg.kappa == "quantile":
            return quantile_kappa(std, cfg.alpha)
        gamma = cfg.information_gain
        if gamma is None:
            gamma = information_gain(self.gp.kernel(self.x, self.x), cfg.noise_var) if len(self.y) else 0.0
        return np.sqrt(srinivas_beta(max(len(self.y), 1), cfg.alpha, cfg.rkhs_bound, gamma)) * std

    def choose(self, record: COLRecord) -> int:
        """Eq. (7) over the current safe set (over all candidates without the safety constraint); with
        `policy="random"` a uniformly random candidate."""
        if self.config.policy == "random":
            return int(self.policy_rng.integers(len(self.candidates)))
        mean, std = record.mean[-1].astype(np.float64), record.std[-1].astype(np.float64)
        region = record.regions[-1]
        cost = self.costs if self.config.cost_denominator else None
        weight = self.config.orientation_weight
        value = std + weight * self.orientation_share() if weight else std  # eq. (7)'s numerator
        if not self.config.safety:
            return argmax_std_per_cost(value, cost)
        if not region.any():
            return self._least_unsafe(mean - self.kappa(std))
        return argmax_std_per_cost(value, cost, region)

    def _least_unsafe(self, lower: np.ndarray) -> int:
        """The candidate with the largest lower bound; with a graph other than the known one, exact ties are broken
        uniformly at random ("policy" stream): a graph in which no control causes the metric makes the estimate
        flat, and the first candidate (the cheapest corner) again and again would never show the learner a
        response to do()."""
        best = int(np.argmax(lower))
        if self.config.graph == "known":
            return best
        ties = np.flatnonzero(lower == lower[best])
        return int(ties[self.policy_rng.integers(len(ties))]) if len(ties) > 1 else best

    def orientation_share(self) -> float:
        """o(u) of the orientation-valuing rule: the share of the current CPDAG's undirected edges that a do() of U'
        would orient (directly and by Meek's rules), in [0, 1] (0 without undirected edges)."""
        undirected = self.structure.pdag.n_undirected
        return float(self.structure.expected_orientations(self.targets)) / undirected if undirected else 0.0

    def run(self, budget: float) -> COLRecord:
        """Algorithm 1 with cost budget C = `budget`: returns the record (the last region is the estimate). Runs on
        one BLAS thread: tiny GPs are faster so, and the records are then bit-identical on every machine setting."""
        with threadpool_limits(1):
            return self._run(budget)

    def _run(self, budget: float) -> COLRecord:
        self.env.reset(seed=self.seed)
        record = self.initialise()
        spent = 0.0
        while True:
            index = self.choose(record)
            if spent + self.costs[index] > budget:
                record.stopped = f"the next intervention costs {self.costs[index]:.3g} > remaining {budget - spent:.3g}"
                return record
            record.in_safe_set.append(bool(record.regions[-1][index]))
            self.observe(record, index)
            spent += float(self.costs[index])

    def observe(self, record: COLRecord, index: int) -> None:
        """Apply do(U' = candidate `index`) for one window, add its outcome, update the GP and the region."""
        u = self.candidates[index]
        window, _, _, _, info = self.env.step(Intervention(dict(zip(self.targets, u.tolist(), strict=True))))
        outcome = 1 - int(info["cost"])
        record.interventions.append(u.tolist())
        record.outcomes.append(outcome)
        record.costs.append(float(info["intervention_cost"]))
        steps = np.asarray(window)[self.spec.judged]
        judged = {v: steps[:, i] for i, v in enumerate(self.env.variable_names)}
        self._learn_structure(judged, len(record.outcomes))
        if self.config.outcome == "metric":
            self._pending.append(judged)
            k, cfg = len(record.outcomes), self.config
            if k % cfg.update_every:  # the estimate (and so eq. (7)'s choice) holds until the next update
                for key in ("mean", "std", "regions"):
                    getattr(record, key).append(getattr(record, key)[-1])
                return
            rows = _stacked(self._pending)
            self._pending = []
            refit = cfg.refit_every > 0 and k // cfg.update_every % cfg.refit_every == 0
            if self._stale:  # a new graph: a new GP-SCM on the passive rows and every window so far
                self.model = self.metric_model(self._passive)
                self.model.add_rows(self._columns(_stacked(self._windows)), self.targets, refit=cfg.refit_every > 0)
            else:
                self.model.add_rows(self._columns(rows), self.targets, refit=refit)
        else:
            self.x = np.vstack([self.x, self.scaled[index]])
            self.y = np.append(self.y, float(outcome))
            if self._stale and self.config.causal_prior:  # a new graph: its causal prior, the same outcomes
                self._prior_gp(self.causal_prior(self._passive))
            else:
                self.gp.fit(self.x, self.y)
        self._stale = False
        self._record_estimate(record, None)

    def _record_estimate(self, record: COLRecord, region: np.ndarray | None) -> None:
        mean, std = self.posterior()
        if region is None:
            region = lcb_safe_set(mean, self.kappa(std), self.delta)
        record.mean.append(mean.astype(np.float32))
        record.std.append(std.astype(np.float32))
        record.regions.append(region)

    def estimate(self, record: COLRecord, step: int = -1) -> Callable[[np.ndarray], np.ndarray]:
        """The region after intervention `step` as a function of controls [m, |U'|] -> bool (nearest candidate)."""
        region = self._table(record.regions[step].astype(np.float64))
        return lambda u: region(self.scale(np.atleast_2d(u))) > 0.5


def _stacked(windows: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """The rows of several windows as one set of columns."""
    return {v: np.concatenate([w[v] for w in windows]) for v in windows[0]}

"""One loop for DCBO, CBO, ABO, BO and the random-intervention baseline on a DCGO env.

After Aglietti, Dhir, Gonzalez and Damoulas, "Dynamic Causal Bayesian Optimization" (section 3.3 and the authors'
code conventions). At every time step t = 0..T-1:

1. priors: DCBO and CBO build one causal GP per exploration set X_s in M: prior mean m_{s,t}(x) and kernel
   variance * k_RBF(x, x') + sigma_{s,t}(x) sigma_{s,t}(x') from the GP-SCM fitted on D^O (`priors`); DCBO's prior
   conditions on the realised past (the dynamic shift f_Y^Y(y*_{t-1})), CBO's is static. BO fits a zero-mean RBF GP
   on the full set with the current step's data only; ABO a zero-mean isotropic RBF GP on (x, t) with every
   interventional point of steps 0..t. All GPs: noise variance 1e-5 fixed, Gamma(2, 0.5) prior on the kernel
   variance, MAP refit after each new point, the authors' safeguards (`dogym.causal.gp.fit_map_rbf`).
2. trials, H per t. **Trial counting**: DCBO, CBO (and the random baseline) spend trial 0 observing the system
   (an explorative step with the empty intervention, cost 0; its value starts the incumbent y*_t) and make H - 1 interventions; BO and ABO make H
   interventions. Each intervention maximises causal EI / cost (`expected_improvement`; before a set has data, the
   "manual" EI with the prior mean and variance 1 + sigma^2) over the anchor points of every set and is explored on
   the reverting system. **Anchors** (`LoopOptions.anchors`): "authors" (default; the authors' experiment scripts
   pass `sample_anchor_points=True`): fresh uniform points at every trial, 100 for a 1-D set and int(sqrt(100)) = 10
   for every larger set, seeded by (replicate, t, trial); "sobol": the same counts as a fresh scrambled Sobol
   sequence; "grid": a fixed grid including the bounds (100 points per 1-D set, 10 per dimension for larger sets).
   The acquisition is the best anchor: no gradient refinement (as the authors). BO and ABO with no incumbent yet at t (their first trial) explore a random
   anchor (ABO: the incumbent is its posterior mean's minimum when it has data from earlier steps).
3. decision: the best observed (set, value) among the interventions of t, applied by a decision step (not charged
   to the budget); with no intervention at t (H = 1 for DCBO/CBO), the point of lowest prior mean over all sets.

The random baseline (no learning) observes at trial 0 like DCBO and makes H - 1 interventions on a uniformly random
set of M at a uniformly random anchor, then decides on the best observed one: equal trials and equal expected cost.

The loop drives the env through `env.step` only (the Dict action of `DCGOEnv.make_action`: explorations and decisions
alike), so wrappers and step counts see every interaction. From the base env it reads operator knowledge only: the
structural view, D^O, the exploration sets, domains and costs; never the ground truth (the family's evaluation and
`gap` score the results). The realised past that conditions DCBO's prior is the decision step's info["past"].
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np

from dogym.agents.dcgo.graph import CausalStructure, check_graph_options
from dogym.agents.dcgo.priors import CausalPrior, causal_priors
from dogym.causal.acquisition import anchor_points, expected_improvement, manual_causal_ei
from dogym.causal.gp import GaussianProcess, causal_rbf, fit_map_rbf, rbf
from dogym.causal.random_streams import STREAMS, named_rng
from dogym.envs.core import check_allocation

#: The methods of the loop; the first two observe at trial 0 (and so does the random baseline).
METHODS = ("dcbo", "cbo", "abo", "bo", "random")
OBSERVING = frozenset({"dcbo", "cbo", "random"})
#: The kinds of acquisition candidates (`LoopOptions.anchors`).
ANCHORS = ("authors", "grid", "sobol")

SetKey = tuple[str, ...]


@dataclass(frozen=True)
class LoopOptions:
    """Options of the loop (agents/hyperparams/dcbo.yml (DCBO, CBO) and bo.yml (ABO, BO) hold the defaults per env).

    anchors: "authors" (fresh seeded uniform points at every trial: n_anchors for a 1-D set, int(sqrt(n_anchors)) for
    larger ones), "sobol" (the same with a scrambled Sobol sequence) or "grid" (fixed; np.linspace per axis, bounds
    included: n_anchors points for a 1-D set, per_dim^d for d >= 2); noise_var, lengthscale and
    variance (initial values), variance_prior (Gamma shape, rate; None for maximum likelihood), safeguards: the
    interventional GPs. prior ("plugin" or "mc"), prior_draws, prior_rows, obs_kernel, obs_max_points, obs_seed,
    obs_fit ("authors" or "standardised"), prior_noise: the observational GP-SCM (`dogym.causal.dynamic_effects`). data_seed: the seed of D^O passed to `env.reset` (default:
    the replicate's seed). graph ("known", "learned" or "wrong"), relearn_every, graph_alpha (the structure learner's
    significance level), orientation_weight, noise_free (the explorations' outcomes are noise-free, as the envs'
    default; the learner then reads descendants off them): where DCBO's and CBO's causal graph comes from
    (`dogym.agents.dcgo.graph`).
    """

    anchors: str = "authors"
    n_anchors: int = 100
    per_dim: int = 10
    noise_var: float = 1e-5
    lengthscale: float = 1.0
    variance: float = 1.0
    variance_prior: tuple[float, float] | None = (2.0, 0.5)
    safeguards: bool = True
    prior: str = "plugin"
    prior_draws: int = 16
    prior_rows: int = 32
    obs_kernel: str = "rbf"
    obs_max_points: int = 100
    obs_seed: int = 0
    obs_fit: str = "authors"
    prior_noise: bool = True
    data_seed: int | None = None
    graph: str = "known"
    relearn_every: int = 1
    graph_alpha: float = 0.01
    orientation_weight: float = 0.0
    noise_free: bool = True

    @classmethod
    def from_mapping(cls, options: Mapping[str, Any]) -> LoopOptions:
        """Options from a mapping; ValueError naming unknown keys."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise ValueError(f"unknown DCGO loop option(s) {unknown}; known: {sorted(known)}")
        values = dict(options)
        if values.get("variance_prior") is not None:
            values["variance_prior"] = tuple(float(v) for v in values["variance_prior"])
        return cls(**values)


@dataclass
class Trial:
    """One trial: time step, index within t (0 = DCBO/CBO's observation), the intervened set (() = observation),
    the values, the outcome and the cost."""

    t: int
    index: int
    set: SetKey
    value: dict[str, float]
    y: float
    cost: float


@dataclass
class ReplicateResult:
    """One replicate of one method: per-t best-so-far curves [T, H], every trial, the decisions and their realised
    outcomes, and the wall and CPU (process) time; for DCBO and CBO the slice graph after each (re)learning as
    (interventions so far, sorted edges) and the CPU seconds of structure learning (`dogym.agents.dcgo.graph`)."""

    method: str
    H: int
    seed: int
    T: int
    best_so_far: np.ndarray
    trials: list[Trial] = field(default_factory=list)
    decision_sets: list[SetKey] = field(default_factory=list)
    decision_values: list[dict[str, float]] = field(default_factory=list)
    decision_y: list[float] = field(default_factory=list)
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    graph_history: list[tuple[int, list[list[str]]]] = field(default_factory=list)
    learn_seconds: float = 0.0

    def trial_costs(self) -> np.ndarray:
        """[T, H] cost of each trial (0 for an observation)."""
        out = np.zeros((self.T, self.H))
        for trial in self.trials:
            out[trial.t, trial.index] = trial.cost
        return out

    def cumulative_cost(self) -> np.ndarray:
        """[T, H] cumulative intervention cost over all trials so far (running across time steps)."""
        return np.cumsum(self.trial_costs().reshape(-1)).reshape(self.T, self.H)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (`from_dict` reads it back)."""
        out = asdict(self)
        out["best_so_far"] = self.best_so_far.tolist()
        out["decision_sets"] = [list(s) for s in self.decision_sets]
        for trial in out["trials"]:
            trial["set"] = list(trial["set"])
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ReplicateResult:
        """The inverse of `to_dict`."""
        values = dict(data)
        values["best_so_far"] = np.asarray(values["best_so_far"], dtype=np.float64)
        values["trials"] = [Trial(**{**t, "set": tuple(t["set"])}) for t in values["trials"]]
        values["decision_sets"] = [tuple(s) for s in values["decision_sets"]]
        values["graph_history"] = [(int(n), [list(e) for e in edges]) for n, edges in values.get("graph_history", [])]
        return cls(**values)


class _SetModel:
    """The interventional GP of one exploration set at one time step, with its data."""

    def __init__(self, key: SetKey, anchors: np.ndarray, prior: CausalPrior | None, options: LoopOptions) -> None:
        self.key, self.anchors, self.prior = key, anchors, prior
        kernel = rbf(options.lengthscale, options.variance)
        if prior is not None:
            kernel = causal_rbf(prior.std, options.lengthscale, options.variance)
        self.gp = GaussianProcess(kernel, options.noise_var, prior.mean if prior is not None else None)
        self.x: list[np.ndarray] = []
        self.y: list[float] = []

    def add(self, x: np.ndarray, y: float, options: LoopOptions) -> None:
        self.x.append(np.asarray(x, dtype=np.float64))
        self.y.append(float(y))
        fit_map_rbf(self.gp, np.stack(self.x), np.array(self.y), options.variance_prior,
                    safeguards=options.safeguards)  # fmt: skip

    def extend(self, x: Sequence[Sequence[float]], y: Sequence[float], options: LoopOptions) -> None:
        """Add several points and refit once (a set model rebuilt within a time step)."""
        self.x += [np.asarray(row, dtype=np.float64) for row in x]
        self.y += [float(v) for v in y]
        fit_map_rbf(self.gp, np.stack(self.x), np.array(self.y), options.variance_prior,
                    safeguards=options.safeguards)  # fmt: skip

    def acquisition(self, incumbent: float, cost: float) -> np.ndarray:
        """Causal EI / cost at the anchors (the manual EI before any data)."""
        if not self.y and self.prior is not None:
            return manual_causal_ei(self.prior.mean(self.anchors), self.prior.std(self.anchors) ** 2, incumbent, cost)
        mean, var = self.gp.predict(self.anchors)
        return expected_improvement(mean, np.sqrt(var), incumbent, cost)

    def prior_mean(self) -> np.ndarray:
        """The prior mean at the anchors (zeros without a causal prior)."""
        return self.prior.mean(self.anchors) if self.prior is not None else np.zeros(len(self.anchors))


def run_replicate(env: Any, method: str, H: int, seed: int, **options: Any) -> ReplicateResult:
    """Run one replicate of `method` ("dcbo", "cbo", "abo", "bo" or "random") for all T steps of a DCGO env with H
    trials per step (module docstring), from `env.reset(seed=data_seed or seed)` (the seed of D^O). Agent randomness
    comes from named streams of `seed`: "anchors" (fresh anchor points, `anchor_seed`) and "policy" (BO's and ABO's first points,
    the random baseline). `env` may be wrapped: every exploration and decision is an `env.step`. On return the env
    holds the run's decisions, so `env.unwrapped.ground_truth()` (evaluation only) gives the optima conditioned on
    them. Options: `LoopOptions` (unknown keys raise ValueError); DCBO's and CBO's graph, exploration sets and GP-SCM
    come from `dogym.agents.dcgo.graph.CausalStructure` (with a learned graph they are rebuilt within a time step
    whenever a relearning changes the graph)."""
    if method not in METHODS:
        raise ValueError(f"unknown DCGO method {method!r}; methods: {', '.join(METHODS)}")
    if isinstance(H, bool) or not isinstance(H, int | np.integer) or H < 1:
        raise ValueError(f"H (trials per time step) must be an integer >= 1, got {H!r}")
    opts = LoopOptions.from_mapping(options)
    check_graph_options(method, opts)
    base = env.unwrapped  # operator knowledge only (see the module docstring); interactions go through env.step
    check_allocation(32 * base.T * H, f"{method} with H = {H} trials per time step (its T x H result arrays)")
    start, cpu_start = time.perf_counter(), time.process_time()
    env.reset(seed=int(seed if opts.data_seed is None else opts.data_seed))
    rng = named_rng(int(seed), "policy")
    if opts.anchors not in ANCHORS:
        raise ValueError(f"anchors must be one of {ANCHORS}, got {opts.anchors!r}")
    structure = CausalStructure(base, method, opts, int(seed)) if method in ("dcbo", "cbo") else None
    sets: list[SetKey] = []  # updated in place when a relearning changes the exploration sets
    sets += structure.sets if structure is not None else [tuple(s) for s in (base.exploration_sets
                                                                              if method in OBSERVING else [base.full_set])]  # fmt: skip

    def step(value: dict[str, float], decide: bool) -> tuple[np.ndarray, dict[str, Any]]:
        """Explore or decide do(value) through the env's step; its observation (the slice) and info."""
        observation, _, _, _, info = env.step(base.make_action(value, decide))
        return observation, info

    fresh = opts.anchors != "grid"

    def draw(key: SetKey, t: int, trial: int) -> np.ndarray:
        kind = {"authors": "uniform", "sobol": "sobol", "grid": "grid"}[opts.anchors]
        return anchor_points(*_box(base, key), opts.n_anchors, opts.per_dim, kind,
                             anchor_seed(int(seed), t, trial, sets.index(key)))  # fmt: skip

    anchors = {s: draw(s, 0, 0) for s in sets}  # the fixed grid (fresh kinds redraw per trial)

    def set_models(t: int, trial: int) -> dict[SetKey, _SetModel]:
        """Fresh interventional GPs of the current sets at t with their priors and the data of t so far."""
        model = structure.model if structure is not None else None
        priors = causal_priors(model, t, sets, past) if model is not None else {s: None for s in sets}
        out = {}
        for s in sets:
            out[s] = _SetModel(s, draw(s, t, trial) if fresh else anchors.setdefault(s, draw(s, 0, 0)), priors[s], opts)
            seen = [trial_ for trial_ in result.trials if trial_.t == t and trial_.set == s]
            if seen:
                out[s].extend([[trial_.value[v] for v in s] for trial_ in seen], [trial_.y for trial_ in seen], opts)
        return out

    result = ReplicateResult(method, int(H), int(seed), int(base.T), np.full((base.T, H), np.nan))
    abo_x: list[np.ndarray] = []
    abo_y: list[float] = []
    abo_gp = GaussianProcess(rbf(opts.lengthscale, opts.variance), opts.noise_var)
    past: dict[str, float] | None = None  # the realised past slice (None at t = 0)
    for t in range(base.T):
        models = set_models(t, 0)
        incumbent, best, curve = np.inf, None, []
        if method in OBSERVING:
            incumbent = float(step({}, False)[1]["y"])
            result.trials.append(Trial(t, 0, (), {}, incumbent, 0.0))
            curve.append(incumbent)
        for index in range(len(curve), H):
            if fresh:
                for s in sets:
                    models[s].anchors = draw(s, t, index)
            key, x = _choose(method, models, sets, incumbent, base, rng, abo_gp if abo_y else None, t, structure)
            value = {name: float(v) for name, v in zip(key, x, strict=True)}
            observation, info = step(value, False)
            y, cost = float(info["y"]), float(info["intervention_cost"])
            result.trials.append(Trial(t, index, key, value, y, cost))
            if method == "abo":
                abo_x.append(np.append(x, t))
                abo_y.append(y)
                fit_map_rbf(abo_gp, np.stack(abo_x), np.array(abo_y), opts.variance_prior, safeguards=opts.safeguards)
            elif structure is not None and structure.observe(t, key, dict(zip(base.variables, observation.tolist(),
                                                                               strict=True))):  # fmt: skip
                sets[:] = structure.sets  # the graph changed: new sets, priors and GPs (with the data of t)
                models = set_models(t, index)
            elif method != "random":
                models[key].add(x, y, opts)
            if best is None or y < best[0]:
                best = (y, key, value)
            incumbent = min(incumbent, y)
            curve.append(min(curve[-1], y) if curve else y)
        if best is None:  # no intervention at t: the lowest prior mean over all sets
            key, x = _prior_argmin(models, sets, rng, method)
            best = (np.nan, key, {name: float(v) for name, v in zip(key, x, strict=True)})
        result.best_so_far[t] = curve
        result.decision_sets.append(best[1])
        result.decision_values.append(best[2])
        observation, info = step(best[2], True)
        result.decision_y.append(float(info["y"]))
        past = dict(zip(base.variables, info["past"].tolist(), strict=True))
    result.seconds = time.perf_counter() - start
    result.cpu_seconds = time.process_time() - cpu_start
    if structure is not None:
        result.graph_history, result.learn_seconds = structure.history, structure.seconds
    return result


def anchor_seed(seed: int, t: int, trial: int, set_index: int = 0) -> np.random.SeedSequence:
    """The seed of the fresh anchor points of one trial: the replicate's "anchors" stream
    (`dogym.causal.random_streams`) spawned by (t, trial, set index), so every (replicate, t, trial, set) draws its own
    independent points and a run repeats exactly. (The authors seed numpy's global generator with
    (replicate + 1) * (t + 1) * trial and draw every set from that one seed.)"""
    key = (STREAMS.index("anchors"), int(t), int(trial), int(set_index))
    return np.random.SeedSequence(int(seed), spawn_key=key)


def _box(env: Any, key: SetKey) -> tuple[np.ndarray, np.ndarray]:
    """The domain box of an exploration set."""
    unknown = [v for v in key if v not in env.domains]
    if unknown:
        raise ValueError(f"exploration set {key} names variables without a domain: {unknown}")
    low = np.array([env.domains[v][0] for v in key], dtype=np.float64)
    high = np.array([env.domains[v][1] for v in key], dtype=np.float64)
    return low, high


def _choose(
    method: str,
    models: Mapping[SetKey, _SetModel],
    sets: list[SetKey],
    incumbent: float,
    env: Any,
    rng: np.random.Generator,
    abo_gp: GaussianProcess | None,
    t: int,
    structure: CausalStructure | None = None,
) -> tuple[SetKey, np.ndarray]:
    """The (set, point) of the next intervention (module docstring), with the orientation bonus of each set
    (`CausalStructure.bonus`, 0 unless `orientation_weight` > 0 with a learned graph)."""
    if method == "random":
        key = sets[int(rng.integers(len(sets)))]
        return key, models[key].anchors[int(rng.integers(len(models[key].anchors)))]
    if method == "abo":
        key = sets[0]
        anchors = models[key].anchors
        if abo_gp is None:
            return key, anchors[int(rng.integers(len(anchors)))]
        mean, var = abo_gp.predict(np.column_stack([anchors, np.full(len(anchors), float(t))]))
        y_best = incumbent if np.isfinite(incumbent) else float(mean.min())
        score = expected_improvement(mean, np.sqrt(var), y_best, env.intervention_cost(key))
        return key, anchors[int(np.argmax(score))]
    if not np.isfinite(incumbent):  # BO's first trial at t
        key = sets[0]
        return key, models[key].anchors[int(rng.integers(len(models[key].anchors)))]
    best_score, choice = -np.inf, None
    for key in structure.candidates(sets) if structure is not None else sets:
        cost = env.intervention_cost(key)
        score = models[key].acquisition(incumbent, cost)
        bonus = structure.bonus(key, cost) if structure is not None else 0.0
        if bonus:
            score = score + bonus
        i = int(np.argmax(score))
        if score[i] > best_score:
            best_score, choice = score[i], (key, models[key].anchors[i])
    assert choice is not None
    return choice


def _prior_argmin(
    models: Mapping[SetKey, _SetModel], sets: list[SetKey], rng: np.random.Generator, method: str
) -> tuple[SetKey, np.ndarray]:
    if method == "random":
        key = sets[int(rng.integers(len(sets)))]
        return key, models[key].anchors[int(rng.integers(len(models[key].anchors)))]
    means = {key: models[key].prior_mean() for key in sets}
    key = min(sets, key=lambda s: float(means[s].min()))
    return key, models[key].anchors[int(np.argmin(means[key]))]

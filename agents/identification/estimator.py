"""The GP estimator phi(D_t) of Hammar & Stadler (eq. 6): one independent GP per causal function, fed from a (FIFO) buffer.

The estimator knows what the paper assumes known: the causal graph, the operating region and P[U] (all read from
an SCM's structure); it never calls the SCM's mechanisms. It also simulates measurements under candidate
interventions from its belief (used by the rollout policy). The graph may be a learned or a wrong one
(`dogym.agents.identification.graph`): an endogenous variable without parents is then modelled as a constant plus
noise (its GP sees one constant input, so its posterior mean is the shrunk average of its measurements), and
`do_estimates` gives the estimate of a causal function on any parent set (the true one, for evaluation).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np
from scipy.stats import norm

from dogym.causal.gp import FantasyBase, GaussianProcess, StationaryKernel, fit_hyperparameters
from dogym.causal.identification_loss import region_points
from dogym.causal.intervention import Intervention
from dogym.causal.scm import SCM

GP_MODES = ("paper", "range", "scaled", "fit")
INERT_NOISE = 1e12
JITTER = 1e-9


@dataclass(frozen=True)
class GPConfig:
    """How each causal function's GP is set up.

    mode "paper": kernel (13) of Hammar & Stadler: unit amplitude and unit length scale on raw inputs.
    mode "range": kernel (13)'s unit length scale on raw inputs with amplitude (half the output variable's operating
    range)^2. Why: the surrogate loss (8) is the sum of mean posterior variances, i.e. the expected loss (5) under the
    belief, so it is on loss (5)'s scale only if the prior variance is a plausible squared error of the function's
    values; with unit amplitude it is at most 1 per function, far below a loss of ~10^3 and below a cost of 1 per
    intervention, so the rollout stays passive. A range-scaled amplitude uses only what the operator knows (the
    operating region); a marginal-likelihood fit (mode "fit") cannot estimate it from passive data near one point.
    mode "scaled": amplitude as in "range", and length scale `lengthscale` x the parents' operating-region widths
    (ARD), for inputs of very different units (the microservice's loads, probabilities and CPU counts).
    mode "fit": "scaled" as the starting point, then marginal-likelihood fitting after every update (with at least
    `min_fit_points` data points).
    """

    mode: str = "paper"
    kind: str = "matern52"
    noise_var: float = 0.05
    lengthscale: float = 0.5
    min_fit_points: int = 5

    def __post_init__(self) -> None:
        if self.mode not in GP_MODES:
            raise ValueError(f"GP mode {self.mode!r} is not supported; use one of {GP_MODES}")


@dataclass(frozen=True)
class SimulatedBatch:
    """Belief-simulated measurements: per causal function its inputs [B, T, d] and noise (inert if intervened)."""

    inputs: dict[str, np.ndarray]
    noise: dict[str, np.ndarray]


class CausalGPEstimator:
    """phi(D_t): independent GP posteriors for every endogenous variable's causal function.

    buffer_size: None keeps all data; an int makes D_t a FIFO buffer of that many measurement rows.
    n_surrogate_points: size of the fixed Sobol set per function on which the surrogate loss (8) is averaged.
    model_eviction: rollouts account for FIFO evictions (exact); off by default, as in the paper (it measured worse
    on microservice scenario 2, see benchmarks/results/acl/report.md).
    """

    def __init__(
        self,
        scm: SCM,
        config: GPConfig | None = None,
        buffer_size: int | None = None,
        n_surrogate_points: int = 128,
        model_eviction: bool = False,
    ):
        if buffer_size is not None and buffer_size < 1:
            raise ValueError(f"buffer_size must be a positive integer or None, got {buffer_size!r}")
        self.structure = scm
        self.n_surrogate_points = n_surrogate_points
        self.model_eviction = model_eviction
        self.config = config or GPConfig()
        self.names = scm.names
        self._col = {n: i for i, n in enumerate(self.names)}
        self.buffer: deque[tuple[np.ndarray, frozenset[str]]] = deque(maxlen=buffer_size)
        none = np.zeros((n_surrogate_points, 1))  # a parentless function's one constant input
        self.surrogate_points = {
            v: region_points(scm, v, n_surrogate_points, seed=1) if scm.parents(v) else none for v in scm.endogenous
        }
        self.gps = {v: self._prior_gp(v) for v in scm.endogenous}
        self._fantasy = {v: gp.fantasy_precompute(self.surrogate_points[v]) for v, gp in self.gps.items()}
        self._evicted_bases: dict[tuple[str, int], tuple[GaussianProcess, FantasyBase]] = {}

    # ------------------------------------------------------------------ GP set-up and data
    def _prior_gp(self, name: str) -> GaussianProcess:
        cfg = self.config
        if cfg.mode == "paper":
            return GaussianProcess(StationaryKernel(cfg.kind, 1.0, 1.0), cfg.noise_var)
        var = self.structure.variables[name]
        half_range = (var.high - var.low) / 2 if np.isfinite(var.high - var.low) else 1.0
        if cfg.mode == "range":
            return GaussianProcess(StationaryKernel(cfg.kind, 1.0, float(half_range**2)), cfg.noise_var)
        widths = np.ptp(self.surrogate_points[name], axis=0)
        widths = np.where(widths > 0, widths, 1.0)
        kernel = StationaryKernel(cfg.kind, tuple((cfg.lengthscale * widths).tolist()), float(half_range**2))
        return GaussianProcess(kernel, cfg.noise_var)

    def data(self, name: str, start: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Training inputs [n, d] and outputs [n] of f_name: buffered rows (from row `start` on, oldest first) where
        `name` was not intervened on."""
        rows = [row for row, targets in list(self.buffer)[start:] if name not in targets]
        cols = [self._col[p] for p in self.structure.parents(name)]
        if not rows:
            return np.zeros((0, max(len(cols), 1))), np.zeros(0)
        arr = np.stack(rows)
        return (arr[:, cols] if cols else np.zeros((len(arr), 1))), arr[:, self._col[name]]

    def observe(self, samples: np.ndarray, intervention: Intervention) -> None:
        """Add M measurement rows [M, n_vars] (columns in `scm.names` order) taken under `intervention`."""
        samples = np.atleast_2d(np.asarray(samples, dtype=np.float64))
        if samples.shape[1] != len(self.names):
            raise ValueError(f"samples need {len(self.names)} columns ({self.names}), got shape {samples.shape}")
        for row in samples:
            self.buffer.append((row, intervention.targets))
        self.refit()

    def refit(self) -> None:
        """Condition every GP on the buffered data (and fit hyper-parameters in mode "fit")."""
        for name in self.gps:
            x, y = self.data(name)
            gp = self._prior_gp(name)
            if self.config.mode == "fit" and len(y) >= self.config.min_fit_points:
                fit_hyperparameters(gp, x, y, fit_noise=False, n_restarts=0)
            self.gps[name] = gp.fit(x, y)
            self._fantasy[name] = gp.fantasy_precompute(self.surrogate_points[name])
        self._evicted_bases = {}

    def _base_after_eviction(self, name: str, start: int) -> tuple[GaussianProcess, FantasyBase]:
        """The GP of f_name conditioned on buffer rows from `start` on (current hyper-parameters), cached."""
        key = (name, start)
        if key not in self._evicted_bases:
            current = self.gps[name]
            gp = GaussianProcess(current.kernel, current.noise_var, current.mean_fn).fit(*self.data(name, start))
            self._evicted_bases[key] = (gp, gp.fantasy_precompute(self.surrogate_points[name]))
        return self._evicted_bases[key]

    def with_structure(self, structure: SCM) -> CausalGPEstimator:
        """The same estimator (options and data D_t) on another causal graph, its GPs refitted."""
        other = CausalGPEstimator(structure, self.config, self.buffer.maxlen, self.n_surrogate_points,
                                  self.model_eviction)  # fmt: skip
        other.buffer.extend(self.buffer)
        other.refit()
        return other

    def _inputs(self, name: str, values: Mapping[str, np.ndarray], shape: tuple[int, ...]) -> np.ndarray:
        """The GP inputs [*shape, d] of f_name from its parents' `values` (one constant column if it has none)."""
        parents = self.structure.parents(name)
        if not parents:
            return np.zeros((*shape, 1))
        return np.stack([np.broadcast_to(values[p], shape) for p in parents], axis=-1)

    @property
    def n_samples(self) -> int:
        """|D_t|: measurement rows currently in the buffer."""
        return len(self.buffer)

    # ------------------------------------------------------------------ estimates
    def mean_function(self, name: str) -> Callable[[np.ndarray], np.ndarray]:
        """The point estimate E[f_name | D_t] (the posterior mean) as a callable on [n, d] parent values."""
        gp = self.gps[name]
        return lambda x: gp.predict_batched(np.asarray(x, float))[0]

    def estimates(self) -> dict[str, Callable[[np.ndarray], np.ndarray]]:
        """Posterior-mean estimates of every causal function (input to loss (5))."""
        return {v: self.mean_function(v) for v in self.gps}

    def do_estimates(self, parents: Mapping[str, Sequence[str]]) -> dict[str, Callable[[np.ndarray], np.ndarray]]:
        """Estimates of the causal functions f_V on given parent sets `parents[V]` (e.g. the true ones, to score a
        learned graph with loss (5)): f_V(x) is estimated by the belief's prediction of V under do(parents[V] = x),
        the posterior means propagated through the estimator's graph (exogenous variables not intervened on at their
        median). On the estimator's own parent sets this is `mean_function`."""
        return {v: partial(self._do_mean, v, tuple(pars)) for v, pars in parents.items()}

    def _do_mean(self, name: str, targets: tuple[str, ...], x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, float).reshape(-1, len(targets))
        values = {p: x[:, j] for j, p in enumerate(targets)}
        for v in self.structure.order:
            if v in values:
                continue
            if v in self.structure.exogenous:
                values[v] = np.full(len(x), float(self.structure.exogenous[v].ppf(np.array(0.5))))
            else:
                values[v] = self.gps[v].predict_batched(self._inputs(v, values, (len(x),)))[0]
            if v == name:
                break
        return values[name]

    def surrogate_loss(self) -> float:
        """Surrogate loss (8): the expected loss (5) under the belief = summed mean posterior variances."""
        return float(sum(f.var.mean() for f in self._fantasy.values()))

    # ------------------------------------------------------------------ belief simulation (rollouts)
    def simulate(self, mask: np.ndarray, value: np.ndarray, uniforms: np.ndarray) -> SimulatedBatch:
        """Simulate measurements from the belief under a batch of interventions.

        mask, value: [B, T, n_controllable] (the controllable variables in `scm.controllable` order; mask > 0.5
        intervenes). uniforms: [B, T, n_vars] (or broadcastable) random numbers in (0, 1). Exogenous
        variables come from P[U] (quantile of the uniform). Endogenous ones, in causal order, come from the belief
        updated with the simulated steps before: the measurement of f_V at step k is drawn from the GP posterior
        predictive of f_V conditioned on D_t and on f_V's simulated measurements of steps 1..k-1 (jointly, through
        `GaussianProcess.predict_joint`, with innovation z_k = Phi^-1(uniform)); a step that intervenes on V sets
        it to the intervention value and adds no data on f_V. Hyper-parameters stay fixed during a rollout.
        """
        b, t = mask.shape[:2]
        controllable = {n: i for i, n in enumerate(self.structure.controllable)}
        values: dict[str, np.ndarray] = {}
        inputs, noise = {}, {}
        for name in self.structure.order:
            q = np.broadcast_to(uniforms[..., self._col[name]], (b, t))
            hit = mask[..., controllable[name]] > 0.5 if name in controllable else np.zeros((b, t), bool)
            if name in self.structure.exogenous:
                natural = np.broadcast_to(self.structure.exogenous[name].ppf(q), (b, t))
            else:
                gp = self.gps[name]
                x = self._inputs(name, values, (b, t))
                noise[name] = np.where(hit, INERT_NOISE, gp.noise_var)
                mean, cov = gp.predict_joint(x)
                chol = np.linalg.cholesky(cov + (noise[name] + JITTER)[..., None] * np.eye(t))
                natural = mean + (chol @ norm.ppf(q)[..., None])[..., 0]
                inputs[name] = x
            values[name] = np.where(hit, value[..., controllable[name]], natural) if name in controllable else natural
        return SimulatedBatch(inputs, noise)

    def surrogate_trajectories(self, batch: SimulatedBatch, samples_per_step: int = 1) -> np.ndarray:
        """Surrogate loss after each simulated step of `samples_per_step` rows, exactly: [B, steps + 1] (entry 0 =
        current surrogate). With `model_eviction` and a full FIFO buffer, the oldest rows (buffered, then simulated)
        drop out as new ones come; otherwise simulated rows only add information (the paper's rollout)."""
        t = next(iter(batch.inputs.values())).shape[1]
        steps = t // samples_per_step
        cap, held = self.buffer.maxlen, len(self.buffer)
        if not self.model_eviction or cap is None or held + t <= cap:  # no eviction: one sequential fantasy pass
            total = 0.0
            for name, gp in self.gps.items():
                var = gp.fantasy_variances(self._fantasy[name], batch.inputs[name], batch.noise[name])
                total = total + var.mean(-1)
            return total[:, ::samples_per_step]
        out = np.zeros((next(iter(batch.inputs.values())).shape[0], steps + 1))
        for k in range(steps + 1):
            added = k * samples_per_step
            first_buffered = min(held, max(0, held + added - cap))
            first_new = max(0, added - cap)
            for name in self.gps:
                gp, base = self._base_after_eviction(name, first_buffered)
                if added == first_new:
                    out[:, k] += base.var.mean()
                    continue
                pts = batch.inputs[name][:, first_new:added]
                var = gp.fantasy_variances(base, pts, batch.noise[name][:, first_new:added])[:, -1]
                out[:, k] += var.mean(-1)
        return out

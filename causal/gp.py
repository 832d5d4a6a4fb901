"""Gaussian-process regression in numpy/scipy for the small GPs of causal learning.

Kernels (Matern-5/2, RBF, sums of kernels on groups of inputs, the causal kernel variance k_RBF(x, x') +
sigma(x) sigma(x')), an exact GP posterior with an optional prior mean function, marginal-likelihood hyper-parameter
fitting, maximum-a-posteriori fitting with a Gamma prior on the kernel variance and fixed noise (`fit_map_rbf`),
batched prediction and exact sequential ("fantasy") variance updates. Posterior variances do not depend on observed outputs, so fantasy updates need only the inputs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from scipy.linalg import cho_solve, solve_triangular
from scipy.optimize import minimize

ArrayFn = Callable[[np.ndarray], np.ndarray]

_JITTER = 1e-9


def _as_2d(x: np.ndarray, name: str = "x") -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 1-D or 2-D array of inputs, got shape {arr.shape}")
    return arr


def _as_point_sets(points: np.ndarray, name: str) -> np.ndarray:
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim < 2:
        raise ValueError(f"{name} must have shape [..., T, d], got {pts.shape}")
    return pts


def _scaled_sq_distance(x1: np.ndarray, x2: np.ndarray, lengthscale: np.ndarray) -> np.ndarray:
    """Squared Euclidean distances between the rows of x1 and x2 after dividing each input dimension by its length
    scale."""
    a = x1 / lengthscale
    b = x2 / lengthscale
    sq = (a * a).sum(-1)[..., :, None] + (b * b).sum(-1)[..., None, :] - 2.0 * a @ np.swapaxes(b, -1, -2)
    return np.maximum(sq, 0.0, out=sq)


def _scaled_distance(x1: np.ndarray, x2: np.ndarray, lengthscale: np.ndarray) -> np.ndarray:
    """Euclidean distances between the rows of x1 and x2 after dividing each input dimension by its length scale."""
    return np.sqrt(_scaled_sq_distance(x1, x2, lengthscale))


@dataclass(frozen=True)
class StationaryKernel:
    """Stationary kernel variance * rho(||(x - x') / lengthscale||) of type "matern52" or "rbf".

    `lengthscale` is a scalar or one value per input dimension (ARD). Inputs may carry leading batch dimensions:
    `k(x1[..., n, d], x2[..., m, d])` returns `[..., n, m]`.
    """

    kind: str = "matern52"
    lengthscale: float | tuple[float, ...] = 1.0
    variance: float = 1.0

    def __post_init__(self) -> None:
        if self.kind not in ("matern52", "rbf"):
            raise ValueError(f"kernel kind {self.kind!r} is not supported; use 'matern52' or 'rbf'")
        ls = np.atleast_1d(np.asarray(self.lengthscale, dtype=np.float64))
        if np.any(~np.isfinite(ls)) or np.any(ls <= 0):
            raise ValueError(f"kernel lengthscale must be positive and finite, got {self.lengthscale!r}")
        if not np.isfinite(self.variance) or self.variance <= 0:
            raise ValueError(f"kernel variance must be positive and finite, got {self.variance!r}")

    @property
    def _ls(self) -> np.ndarray:
        return np.atleast_1d(np.asarray(self.lengthscale, dtype=np.float64))

    def __call__(self, x1: np.ndarray, x2: np.ndarray) -> np.ndarray:
        if self.kind == "rbf":
            sq = _scaled_sq_distance(np.asarray(x1, float), np.asarray(x2, float), self._ls)
            sq *= -0.5
            return self.variance * np.exp(sq, out=sq)
        r = _scaled_distance(np.asarray(x1, float), np.asarray(x2, float), self._ls)
        s5r = np.sqrt(5.0) * r
        return self.variance * (1.0 + s5r + 5.0 * r * r / 3.0) * np.exp(-s5r)

    def diag(self, x: np.ndarray) -> np.ndarray:
        """k(x_i, x_i) for every row of x."""
        return np.full(np.asarray(x).shape[:-1], self.variance, dtype=np.float64)

    # -- hyper-parameter vector (log scale) used by `fit_hyperparameters`
    def log_params(self, dim: int) -> np.ndarray:
        """log(lengthscale per dimension) followed by log(variance)."""
        ls = np.broadcast_to(self._ls, (dim,)) if self._ls.size == 1 else self._ls
        return np.log(np.concatenate([ls, [self.variance]]))

    def with_log_params(self, theta: np.ndarray) -> StationaryKernel:
        """A copy with hyper-parameters from `log_params` layout."""
        theta = np.asarray(theta, dtype=np.float64)
        return replace(self, lengthscale=tuple(np.exp(theta[:-1]).tolist()), variance=float(np.exp(theta[-1])))


def matern52(lengthscale: float | tuple[float, ...] = 1.0, variance: float = 1.0) -> StationaryKernel:
    """Matern-5/2 kernel; with the defaults it is kernel (13) of Hammar & Stadler (unit amplitude and length scale)."""
    return StationaryKernel("matern52", lengthscale, variance)


def rbf(lengthscale: float | tuple[float, ...] = 1.0, variance: float = 1.0) -> StationaryKernel:
    """Squared-exponential kernel."""
    return StationaryKernel("rbf", lengthscale, variance)


@dataclass(frozen=True)
class CausalKernel:
    """The causal kernel k(x, x') = base(x, x') + sigma(x) sigma(x') of CBO/DCBO/COL (sigma: a do-calculus std)."""

    base: StationaryKernel
    sigma: ArrayFn

    def __call__(self, x1: np.ndarray, x2: np.ndarray) -> np.ndarray:
        s1 = np.asarray(self.sigma(np.asarray(x1, float)), float)
        s2 = np.asarray(self.sigma(np.asarray(x2, float)), float)
        return self.base(x1, x2) + s1[..., :, None] * s2[..., None, :]

    def diag(self, x: np.ndarray) -> np.ndarray:
        """k(x_i, x_i) for every row of x."""
        s = np.asarray(self.sigma(np.asarray(x, float)), float)
        return self.base.diag(x) + s * s

    def log_params(self, dim: int) -> np.ndarray:
        """Hyper-parameters of the stationary part (sigma is fixed)."""
        return self.base.log_params(dim)

    def with_log_params(self, theta: np.ndarray) -> CausalKernel:
        """A copy whose stationary part takes `theta`."""
        return replace(self, base=self.base.with_log_params(theta))


def causal_rbf(sigma: ArrayFn, lengthscale: float | tuple[float, ...] = 1.0, variance: float = 1.0) -> CausalKernel:
    """The causal kernel of Aglietti, Dhir, Gonzalez and Damoulas, "Dynamic Causal Bayesian Optimization" (and of
    Aglietti et al.'s "Causal Bayesian Optimization"): variance * exp(-||x - x'||^2 / (2 lengthscale^2)) +
    sigma(x) sigma(x'), with sigma(x) the standard deviation of the causal prior at x. The variance and length scale
    are the hyper-parameters (`fit_map_rbf`); sigma stays fixed."""
    return CausalKernel(rbf(lengthscale, variance), sigma)


@dataclass(frozen=True)
class AdditiveKernel:
    """A sum of stationary kernels, each on its own columns of the input: k(x, x') = sum_j k_j(x[g_j], x'[g_j]).

    `groups[j]` lists the input columns of `parts[j]`. It models an additive mechanism f(a) + g(b), e.g. the
    within-slice ("emission") plus previous-slice ("transition") parts of a dynamic SCM's mechanism (Assumption 1 of
    Aglietti, Dhir, Gonzalez and Damoulas, "Dynamic Causal Bayesian Optimization")."""

    parts: tuple[StationaryKernel, ...]
    groups: tuple[tuple[int, ...], ...]

    def __post_init__(self) -> None:
        if not self.parts or len(self.parts) != len(self.groups) or any(not g for g in self.groups):
            raise ValueError("an additive kernel needs one non-empty column group per part")

    def __call__(self, x1: np.ndarray, x2: np.ndarray) -> np.ndarray:
        x1, x2 = np.asarray(x1, float), np.asarray(x2, float)
        return sum(k(x1[..., list(g)], x2[..., list(g)]) for k, g in zip(self.parts, self.groups, strict=True))

    def diag(self, x: np.ndarray) -> np.ndarray:
        """k(x_i, x_i) for every row of x."""
        return sum(k.diag(x) for k in self.parts)

    def log_params(self, dim: int) -> np.ndarray:
        """The parts' `log_params` one after the other."""
        return np.concatenate([k.log_params(len(g)) for k, g in zip(self.parts, self.groups, strict=True)])

    def with_log_params(self, theta: np.ndarray) -> AdditiveKernel:
        """A copy whose parts take consecutive slices of `theta`."""
        theta, parts, start = np.asarray(theta, dtype=np.float64), [], 0
        for k, g in zip(self.parts, self.groups, strict=True):
            size = len(k.log_params(len(g)))
            parts.append(k.with_log_params(theta[start : start + size]))
            start += size
        return replace(self, parts=tuple(parts))


Kernel = StationaryKernel | CausalKernel | AdditiveKernel


def _zero_mean(x: np.ndarray) -> np.ndarray:
    return np.zeros(np.asarray(x).shape[:-1])


class GaussianProcess:
    """Exact GP regression y = f(x) + N(0, noise_var), f ~ GP(mean_fn, kernel).

    Without data the posterior is the prior. `fit(x, y)` conditions on data (it keeps the hyper-parameters);
    `fit_hyperparameters` (module function) maximises the marginal likelihood first.
    """

    def __init__(self, kernel: Kernel | None = None, noise_var: float = 1e-2, mean_fn: ArrayFn | None = None):
        if not np.isfinite(noise_var) or noise_var < 0:
            raise ValueError(f"noise_var must be a finite non-negative number, got {noise_var!r}")
        self.kernel: Kernel = kernel if kernel is not None else matern52()
        self.noise_var = float(noise_var)
        self.mean_fn: ArrayFn = mean_fn if mean_fn is not None else _zero_mean
        self.x = np.zeros((0, 0))
        self.y = np.zeros(0)
        self._chol = np.zeros((0, 0))
        self._alpha = np.zeros(0)

    # ------------------------------------------------------------------ conditioning
    @property
    def n(self) -> int:
        """Number of observations conditioned on."""
        return self.y.shape[0]

    def fit(self, x: np.ndarray, y: np.ndarray) -> GaussianProcess:
        """Condition on inputs x [n, d] (or [n]) and outputs y [n]; returns self."""
        x = _as_2d(x)
        y = np.asarray(y, dtype=np.float64).reshape(-1)
        if x.shape[0] != y.shape[0]:
            raise ValueError(f"x has {x.shape[0]} rows but y has {y.shape[0]} values")
        if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
            raise ValueError("GP data must be finite (got NaN or inf)")
        self.x, self.y = x, y
        if y.size == 0:
            self._chol, self._alpha = np.zeros((0, 0)), np.zeros(0)
            return self
        gram = self.kernel(x, x) + (self.noise_var + _JITTER) * np.eye(len(y))
        self._chol = np.linalg.cholesky(gram)
        self._alpha = cho_solve((self._chol, True), y - self.mean_fn(x))
        return self

    def _whiten(self, xs: np.ndarray) -> np.ndarray:
        """L^-1 k(X, xs) for the training inputs X (shape [n, m])."""
        return solve_triangular(self._chol, self.kernel(self.x, xs), lower=True)

    # ------------------------------------------------------------------ prediction
    def predict(self, xs: np.ndarray, full_cov: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean [m] and variance [m] (or covariance [m, m] with full_cov) of f at inputs xs."""
        xs = _as_2d(xs, "xs")
        mean = self.mean_fn(xs)
        if self.n == 0:
            return mean, (self.kernel(xs, xs) if full_cov else self.kernel.diag(xs))
        cross = self.kernel(self.x, xs)  # one kernel evaluation serves the mean and the variance
        mean = mean + cross.T @ self._alpha
        v = solve_triangular(self._chol, cross, lower=True)
        if full_cov:
            return mean, self.kernel(xs, xs) - v.T @ v
        return mean, np.maximum(self.kernel.diag(xs) - (v * v).sum(0), 0.0)

    def predict_batched(self, xs: np.ndarray, batch_size: int = 4096) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and variance at many inputs, `batch_size` rows at a time (bounded memory)."""
        xs = _as_2d(xs, "xs")
        parts = [self.predict(xs[i : i + batch_size]) for i in range(0, max(len(xs), 1), batch_size)]
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

    def posterior_cov(self, x1: np.ndarray, x2: np.ndarray) -> np.ndarray:
        """Posterior covariance k_{|D}(x1, x2) as a [len(x1), len(x2)] matrix."""
        x1, x2 = _as_2d(x1, "x1"), _as_2d(x2, "x2")
        prior = self.kernel(x1, x2)
        if self.n == 0:
            return prior
        return prior - self._whiten(x1).T @ self._whiten(x2)

    def log_marginal_likelihood(self) -> float:
        """log p(y | X, hyper-parameters) of the data conditioned on."""
        if self.n == 0:
            return 0.0
        resid = self.y - self.mean_fn(self.x)
        return float(
            -0.5 * resid @ self._alpha - np.log(np.diag(self._chol)).sum() - 0.5 * self.n * np.log(2.0 * np.pi)
        )

    def _joint_block(self, flat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For point sets flat [B, T, d]: L^-1 k(X, points) as [B, n, T] and the posterior covariance [B, T, T]."""
        b, t, d = flat.shape
        kpp = self.kernel(flat, flat)
        if not self.n:
            return np.zeros((b, 0, t)), kpp
        wp = solve_triangular(self._chol, self.kernel(self.x, flat.reshape(-1, d)), lower=True)
        wp = wp.reshape(self.n, b, t).transpose(1, 0, 2)
        return wp, kpp - np.swapaxes(wp, 1, 2) @ wp

    def predict_joint(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Joint posterior of f over each set of T inputs: points [..., T, d] -> mean [..., T], covariance
        [..., T, T]. Sampling y = mean + chol(cov + noise I) z equals drawing the T noisy measurements one at a time,
        each from the posterior predictive conditioned on the ones before (z_k is step k's innovation)."""
        pts = _as_point_sets(points, "points")
        lead, t, d = pts.shape[:-2], pts.shape[-2], pts.shape[-1]
        flat = pts.reshape(-1, t, d)
        mean = np.asarray(self.mean_fn(flat.reshape(-1, d)), float).reshape(-1, t)
        if self.n:
            mean = mean + (self.kernel(flat.reshape(-1, d), self.x) @ self._alpha).reshape(-1, t)
        cov = self._joint_block(flat)[1]
        return mean.reshape(*lead, t), cov.reshape(*lead, t, t)

    # ------------------------------------------------------------------ fantasies
    def fantasy_precompute(self, xs: np.ndarray) -> FantasyBase:
        """Quantities at evaluation inputs xs that fantasy updates reuse (call once per data set)."""
        xs = _as_2d(xs, "xs")
        whitened = self._whiten(xs) if self.n else np.zeros((0, len(xs)))
        var = np.maximum(self.kernel.diag(xs) - (whitened * whitened).sum(0), 0.0)
        return FantasyBase(xs=xs, whitened=whitened, var=var)

    def fantasy_variances(
        self, base: FantasyBase, points: np.ndarray, noise_var: float | np.ndarray | None = None
    ) -> np.ndarray:
        """Posterior variance at `base.xs` after adding fantasy observations one at a time, exactly.

        points: [..., T, d] fantasy inputs (leading batch dimensions allowed). noise_var: the observation noise
        variance (default: the GP's), a scalar or one value per point ([..., T]; a huge value makes a point inert).
        Returns [..., T + 1, m]: entry k is the variance after the first k points (entry 0 is the current posterior
        variance). Outputs are not needed: GP posterior variances depend on inputs only.
        """
        pts = _as_point_sets(points, "fantasy points")
        lead, t = pts.shape[:-2], pts.shape[-2]
        flat = pts.reshape(-1, t, pts.shape[-1])
        noise = np.broadcast_to(self.noise_var if noise_var is None else noise_var, pts.shape[:-1]).reshape(-1, t)
        cross = self.kernel(base.xs[None], flat)  # [B, m, T]
        wp, kpp = self._joint_block(flat)
        if self.n:
            cross = cross - base.whitened.T @ wp
        kpp = kpp + (noise + _JITTER)[:, :, None] * np.eye(t)
        chol = np.linalg.cholesky(kpp)  # [B, T, T]
        w = np.linalg.solve(chol, np.swapaxes(cross, 1, 2))  # [B, T, m]; rows = sequential rank-one terms
        drops = np.cumsum(w * w, axis=1)
        out = np.concatenate([np.broadcast_to(base.var, (len(flat), 1, base.var.size)), base.var - drops], axis=1)
        return np.maximum(out, 0.0).reshape(*lead, t + 1, base.var.size)


@dataclass(frozen=True)
class FantasyBase:
    """Evaluation inputs, their whitened cross-covariance with the data and current posterior variance."""

    xs: np.ndarray
    whitened: np.ndarray
    var: np.ndarray


#: BoTorch's `SingleTaskGP` defaults (Hvarfner, Hellsten and Nardi, "Vanilla Bayesian Optimization Performs Great in
#: High Dimensions"): LogNormal(sqrt(2) + log(d) / 2, sqrt(3)) on each length scale (at least 0.025), LogNormal(-4, 1)
#: on the noise variance (at least 1e-4), a unit kernel variance, for inputs in the unit cube and standardised outputs.
BOTORCH_PRIORS = {"lengthscale_loc": np.sqrt(2.0), "lengthscale_scale": np.sqrt(3.0), "min_lengthscale": 2.5e-2,
                  "noise_loc": -4.0, "noise_scale": 1.0, "min_noise": 1e-4}  # fmt: skip


class _LogNormalPenalty:
    """-log density of LogNormal priors on exp(theta) for chosen entries of a log-parameter vector, with its
    gradient in theta (the maximiser matches BoTorch's MAP, which evaluates the priors at the values themselves)."""

    def __init__(self, index: np.ndarray, loc: np.ndarray, scale: np.ndarray):
        self.index, self.loc, self.scale = index, loc, scale

    def __call__(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        z = theta[self.index]
        grad = np.zeros_like(theta)
        grad[self.index] = 1.0 + (z - self.loc) / self.scale**2
        return float(np.sum(z + (z - self.loc) ** 2 / (2.0 * self.scale**2))), grad


def fit_hyperparameters(
    gp: GaussianProcess,
    x: np.ndarray,
    y: np.ndarray,
    fit_noise: bool = True,
    bounds: tuple[float, float] = (1e-3, 1e3),
    noise_bounds: tuple[float, float] = (1e-6, 1e2),
    n_restarts: int = 2,
    seed: int = 0,
    gradient: str = "numeric",
    priors: str | None = None,
) -> GaussianProcess:
    """Maximise the log marginal likelihood over kernel length scales (ARD), variance and optionally noise.

    Optimises in log space with L-BFGS-B from the current values plus `n_restarts` seeded random starts, then
    conditions `gp` on (x, y) with the best hyper-parameters. Returns `gp` (modified in place). `gradient="analytic"`
    uses exact gradients (RBF kernels and sums of them only; several times faster than finite differences).
    `priors="botorch"` (a `StationaryKernel` only) maximises the posterior under BoTorch's `SingleTaskGP` defaults
    instead (`BOTORCH_PRIORS`: priors on the length scales and noise, their lower limits, the kernel variance held).
    """
    x = _as_2d(x)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    if gradient not in ("numeric", "analytic"):
        raise ValueError(f"gradient must be 'numeric' or 'analytic', got {gradient!r}")
    if priors not in (None, "botorch"):
        raise ValueError(f"priors must be None or 'botorch', got {priors!r}")
    if priors and not isinstance(gp.kernel, StationaryKernel):
        raise ValueError(f"BoTorch's priors apply to a stationary kernel, got {gp.kernel!r}")
    dim = x.shape[1]
    n_kernel = len(gp.kernel.log_params(dim))
    theta0 = gp.kernel.log_params(dim)
    if fit_noise:
        theta0 = np.concatenate([theta0, [np.log(max(gp.noise_var, noise_bounds[0]))]])
    box = [(np.log(bounds[0]), np.log(bounds[1]))] * n_kernel
    if fit_noise:
        box.append((np.log(noise_bounds[0]), np.log(noise_bounds[1])))
    penalty = None
    if priors:
        p = BOTORCH_PRIORS
        n_ls = n_kernel - 1
        box[:n_ls] = [(np.log(p["min_lengthscale"]), box[0][1])] * n_ls
        box[n_ls] = (theta0[n_ls], theta0[n_ls])  # the kernel variance is held
        index, loc = np.arange(n_ls), np.full(n_ls, p["lengthscale_loc"] + 0.5 * np.log(dim))
        scale = np.full(n_ls, p["lengthscale_scale"])
        if fit_noise:
            box[-1] = (np.log(max(p["min_noise"], noise_bounds[0])), box[-1][1])
            index, loc, scale = (
                np.append(index, n_kernel),
                np.append(loc, p["noise_loc"]),
                np.append(scale, p["noise_scale"]),
            )
        penalty = _LogNormalPenalty(index, loc, scale)

    def unpack(theta: np.ndarray) -> tuple[Kernel, float]:
        if fit_noise:
            return gp.kernel.with_log_params(theta[:-1]), float(np.exp(theta[-1]))
        return gp.kernel.with_log_params(theta), gp.noise_var

    def neg_lml(theta: np.ndarray) -> float:
        kernel, noise = unpack(theta)
        try:
            value = -GaussianProcess(kernel, noise, gp.mean_fn).fit(x, y).log_marginal_likelihood()
        except np.linalg.LinAlgError:
            return 1e25
        return value + (penalty(theta)[0] if penalty else 0.0)

    objective, jac = neg_lml, False
    if gradient == "analytic":
        groups = _rbf_groups(gp.kernel, dim)
        base = _RBFObjective(x, y - np.asarray(gp.mean_fn(x), float), groups, [len(g) for g in groups],
                             None if fit_noise else gp.noise_var, _fixed_gram(gp.kernel, x))  # fmt: skip
        objective, jac = (base if penalty is None else _Penalised(base, penalty)), True
    rng = np.random.default_rng(seed)
    low, high = np.array([b[0] for b in box]), np.array([b[1] for b in box])
    starts = [np.clip(theta0, low, high)] + [rng.uniform(low, high) for _ in range(n_restarts)]
    runs = (minimize(objective, s, jac=jac, method="L-BFGS-B", bounds=box) for s in starts)
    best = min(runs, key=lambda r: r.fun)
    gp.kernel, gp.noise_var = unpack(best.x)
    return gp.fit(x, y)


class _Penalised:
    """An objective returning (value, gradient) plus a penalty of the same form."""

    def __init__(self, objective: Callable, penalty: Callable):
        self.objective, self.penalty = objective, penalty

    def __call__(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        (v1, g1), (v2, g2) = self.objective(theta), self.penalty(theta)
        return v1 + v2, g1 + g2


def _rbf_groups(kernel: Kernel, dim: int) -> list[tuple[int, ...]]:
    """The input columns of each RBF part of a kernel (StationaryKernel, CausalKernel on one, AdditiveKernel)."""
    base = kernel.base if isinstance(kernel, CausalKernel) else kernel
    parts = list(zip(base.parts, base.groups, strict=True)) if isinstance(base, AdditiveKernel) else [(base, None)]
    if not all(isinstance(k, StationaryKernel) and k.kind == "rbf" for k, _ in parts):
        raise ValueError(f"analytic gradients need RBF kernels (or sums of them), got {kernel!r}")
    return [tuple(range(dim)) if g is None else tuple(g) for _, g in parts]


def _fixed_gram(kernel: Kernel, x: np.ndarray) -> np.ndarray:
    """The part of the Gram matrix no hyper-parameter changes: a causal kernel's sigma(x) sigma(x')."""
    if isinstance(kernel, CausalKernel):
        s = np.asarray(kernel.sigma(x), float)
        return s[:, None] * s[None, :]
    return np.zeros((len(x), len(x)))


class _RBFObjective:
    """Negative log marginal likelihood (minus an optional Gamma log prior on each part's variance) of a GP whose
    kernel is a sum of RBF parts plus a fixed matrix, and its exact gradient, in the `log_params` layout: per part
    log length scales (one per column of its group, or one shared) and log variance, then log noise if fitted."""

    def __init__(
        self,
        x: np.ndarray,
        resid: np.ndarray,
        groups: list[tuple[int, ...]],
        n_lengthscales: list[int],
        noise_var: float | None,
        fixed: np.ndarray,
        variance_prior: tuple[float, float] | None = None,
    ) -> None:
        diff2 = (x[:, None, :] - x[None, :, :]) ** 2
        self.d2 = [diff2[:, :, list(g)] if k == len(g) else diff2[:, :, list(g)].sum(-1, keepdims=True)
                   for g, k in zip(groups, n_lengthscales, strict=True)]  # fmt: skip
        self.resid, self.noise_var, self.fixed, self.prior = resid, noise_var, fixed, variance_prior
        self.n_ls = n_lengthscales
        self.eye = np.eye(len(resid))

    def __call__(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        n = len(self.resid)
        gram, grads, var_index, pos = self.fixed + _JITTER * self.eye, [], [], 0
        for d2, k in zip(self.d2, self.n_ls, strict=True):
            scaled = d2 / np.exp(2.0 * theta[pos : pos + k])
            part = np.exp(theta[pos + k]) * np.exp(-0.5 * scaled.sum(-1))
            gram = gram + part
            grads += [part * scaled[..., j] for j in range(k)] + [part]
            var_index.append(pos + k)
            pos += k + 1
        if self.noise_var is None:
            noise = np.exp(theta[pos]) * self.eye
            gram, grads = gram + noise, grads + [noise]
        else:
            gram = gram + self.noise_var * self.eye
        try:
            chol = np.linalg.cholesky(gram)
        except np.linalg.LinAlgError:
            return 1e25, np.zeros_like(theta)
        alpha = cho_solve((chol, True), self.resid)
        value = 0.5 * self.resid @ alpha + np.log(np.diag(chol)).sum() + 0.5 * n * np.log(2.0 * np.pi)
        w = np.outer(alpha, alpha) - cho_solve((chol, True), self.eye)
        grad = np.array([-0.5 * np.sum(w * dk) for dk in grads])
        if self.prior is not None:
            a, b = self.prior
            for i in var_index:
                var = np.exp(theta[i])
                value -= (a - 1.0) * theta[i] - b * var
                grad[i] -= (a - 1.0) - b * var
        return float(value), grad


#: The authors' safeguards after a hyper-parameter fit of the causal GPs ("Dynamic Causal Bayesian Optimization"'s
#: code): a variance below 1e-2 or a length scale above 20 is reset to 1.0.
MAP_SAFEGUARDS = {"min_variance": 1e-2, "max_lengthscale": 20.0, "reset": 1.0}


def fit_map_rbf(
    gp: GaussianProcess,
    x: np.ndarray,
    y: np.ndarray,
    variance_prior: tuple[float, float] | None = (2.0, 0.5),
    ard: bool = False,
    bounds: tuple[float, float] = (1e-3, 1e3),
    safeguards: bool = True,
) -> GaussianProcess:
    """Fit the RBF part of `gp`'s kernel (a `StationaryKernel` of kind "rbf", or a `CausalKernel` on one) by
    maximum a posteriori with the noise variance fixed, then condition `gp` on (x, y); returns `gp`.

    Maximises log p(y | X, lengthscale, variance) + log Gamma(variance; shape a, rate b) with `variance_prior` =
    (a, b) (None: maximum likelihood) over log length scale (one, or one per dimension with `ard`) and log variance,
    by L-BFGS-B with analytic gradients from the current values (one start, as the DCBO authors' refit after each new
    point: Aglietti, Dhir, Gonzalez and Damoulas, "Dynamic Causal Bayesian Optimization", with noise 1e-5 and
    Gamma(2, 0.5) there). The prior mean and a causal kernel's sigma(x) sigma(x') term are fixed during the fit.
    With `safeguards` (`MAP_SAFEGUARDS`): a variance below 1e-2 or a length scale above 20 is reset to 1.0.
    """
    x = _as_2d(x)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"x has {x.shape[0]} rows but y has {y.shape[0]} values")
    causal = isinstance(gp.kernel, CausalKernel)
    base = gp.kernel.base if causal else gp.kernel
    if not isinstance(base, StationaryKernel) or base.kind != "rbf":
        raise ValueError(f"fit_map_rbf fits an RBF kernel (or a causal kernel on one), got {gp.kernel!r}")
    if variance_prior is not None and not (variance_prior[0] > 0 and variance_prior[1] > 0):
        raise ValueError(f"the Gamma prior needs a positive shape and rate, got {variance_prior!r}")
    n, d = x.shape
    if n == 0:
        return gp.fit(x, y)
    ls0 = base._ls if (ard and base._ls.size == d) else np.full(d if ard else 1, float(base._ls.mean()))
    objective = _RBFObjective(x, y - np.asarray(gp.mean_fn(x), float), [tuple(range(d))], [len(ls0)],
                              gp.noise_var, _fixed_gram(gp.kernel, x), variance_prior)  # fmt: skip
    lo, hi = np.log(bounds[0]), np.log(bounds[1])
    theta0 = np.clip(np.log(np.concatenate([ls0, [base.variance]])), lo, hi)
    best = minimize(objective, theta0, jac=True, method="L-BFGS-B", bounds=[(lo, hi)] * len(theta0))
    ls, var = np.exp(best.x[:-1]), float(np.exp(best.x[-1]))
    if safeguards:
        guard = MAP_SAFEGUARDS
        var = guard["reset"] if var < guard["min_variance"] else var
        ls = np.where(ls > guard["max_lengthscale"], guard["reset"], ls)
    fitted = replace(base, lengthscale=tuple(ls.tolist()) if ard else float(ls[0]), variance=var)
    gp.kernel = replace(gp.kernel, base=fitted) if causal else fitted
    return gp.fit(x, y)


@dataclass(frozen=True)
class MultiplicativeCausalKernel:
    """COL's causal kernel k(x, x') = sigma(x) sigma(x') exp(-||x - x'||^2 / (2 lengthscale^2)) (eq. 4 of Hammar,
    Alpcan and Lupu, "Causal Online Learning of Safe Regions in Cloud Radio Access Networks"; unit length scale
    there). sigma is the standard deviation of a causal-inference prior; the length scale is the only
    hyper-parameter (`log_params` / `with_log_params`, for `fit_hyperparameters`)."""

    sigma: ArrayFn
    lengthscale: float | tuple[float, ...] = 1.0

    def __post_init__(self) -> None:
        rbf(self.lengthscale)  # validates the length scale

    def __call__(self, x1: np.ndarray, x2: np.ndarray) -> np.ndarray:
        s1 = np.asarray(self.sigma(np.asarray(x1, float)), float)
        s2 = np.asarray(self.sigma(np.asarray(x2, float)), float)
        return s1[..., :, None] * s2[..., None, :] * rbf(self.lengthscale)(x1, x2)

    def diag(self, x: np.ndarray) -> np.ndarray:
        """k(x_i, x_i) = sigma(x_i)^2 for every row of x."""
        s = np.asarray(self.sigma(np.asarray(x, float)), float)
        return s * s

    def log_params(self, dim: int) -> np.ndarray:
        """log(length scale per dimension)."""
        return rbf(self.lengthscale).log_params(dim)[:-1]

    def with_log_params(self, theta: np.ndarray) -> MultiplicativeCausalKernel:
        """A copy with the length scales exp(theta)."""
        return replace(self, lengthscale=tuple(np.exp(np.asarray(theta, dtype=np.float64)).tolist()))

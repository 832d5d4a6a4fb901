"""Gaussian-process regression in numpy/scipy for the small GPs of causal learning.

Kernels (Matern-5/2, RBF, the causal kernel k_RBF(x, x') + sigma(x) sigma(x')), an exact GP posterior with an optional
prior mean function, marginal-likelihood hyper-parameter fitting, batched prediction and exact sequential ("fantasy")
variance updates. Posterior variances do not depend on observed outputs, so fantasy updates need only the inputs.
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


def _scaled_distance(x1: np.ndarray, x2: np.ndarray, lengthscale: np.ndarray) -> np.ndarray:
    """Euclidean distances between the rows of x1 and x2 after dividing each input dimension by its length scale."""
    a = x1 / lengthscale
    b = x2 / lengthscale
    sq = (a * a).sum(-1)[..., :, None] + (b * b).sum(-1)[..., None, :] - 2.0 * a @ np.swapaxes(b, -1, -2)
    return np.sqrt(np.maximum(sq, 0.0))


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
        r = _scaled_distance(np.asarray(x1, float), np.asarray(x2, float), self._ls)
        if self.kind == "rbf":
            return self.variance * np.exp(-0.5 * r * r)
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


Kernel = StationaryKernel | CausalKernel


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
        mean = mean + self.kernel(xs, self.x) @ self._alpha
        v = self._whiten(xs)
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


def fit_hyperparameters(
    gp: GaussianProcess,
    x: np.ndarray,
    y: np.ndarray,
    fit_noise: bool = True,
    bounds: tuple[float, float] = (1e-3, 1e3),
    noise_bounds: tuple[float, float] = (1e-6, 1e2),
    n_restarts: int = 2,
    seed: int = 0,
) -> GaussianProcess:
    """Maximise the log marginal likelihood over kernel length scales (ARD), variance and optionally noise.

    Optimises in log space with L-BFGS-B from the current values plus `n_restarts` seeded random starts, then
    conditions `gp` on (x, y) with the best hyper-parameters. Returns `gp` (modified in place).
    """
    x = _as_2d(x)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    theta0 = gp.kernel.log_params(x.shape[1])
    if fit_noise:
        theta0 = np.concatenate([theta0, [np.log(max(gp.noise_var, noise_bounds[0]))]])
    lo, hi = np.log(bounds[0]), np.log(bounds[1])
    box = [(lo, hi)] * len(gp.kernel.log_params(x.shape[1]))
    if fit_noise:
        box.append((np.log(noise_bounds[0]), np.log(noise_bounds[1])))

    def unpack(theta: np.ndarray) -> tuple[Kernel, float]:
        if fit_noise:
            return gp.kernel.with_log_params(theta[:-1]), float(np.exp(theta[-1]))
        return gp.kernel.with_log_params(theta), gp.noise_var

    def neg_lml(theta: np.ndarray) -> float:
        kernel, noise = unpack(theta)
        try:
            return -GaussianProcess(kernel, noise, gp.mean_fn).fit(x, y).log_marginal_likelihood()
        except np.linalg.LinAlgError:
            return 1e25

    rng = np.random.default_rng(seed)
    starts = [np.clip(theta0, [b[0] for b in box], [b[1] for b in box])]
    starts += [rng.uniform([b[0] for b in box], [b[1] for b in box]) for _ in range(n_restarts)]
    best = min((minimize(neg_lml, s, method="L-BFGS-B", bounds=box) for s in starts), key=lambda r: r.fun)
    gp.kernel, gp.noise_var = unpack(best.x)
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

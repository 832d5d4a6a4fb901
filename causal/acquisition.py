"""Acquisition rules on GP posteriors: lower-confidence safe sets, the most informative point per unit cost, and
expected improvement per unit cost (causal EI) over anchor points.

From Hammar, Alpcan and Lupu, "Causal Online Learning of Safe Regions in Cloud Radio Access Networks": the safe-set
estimator (eq. 6) S = {u : m(u) - kappa(u) >= delta} with kappa either the alpha-quantile rule
Phi^-1(alpha) sigma(u) or Appendix A's beta_t^(1/2) sigma(u), beta_t = 2 B^2 + 300 gamma_t ln^3(t / (1 - alpha))
(after Srinivas, Krause, Kakade and Seeger, "Gaussian Process Optimization in the Bandit Setting", Thm. 6), and the
policy (eq. 7) argmax over S of sigma(u) / c(u); `box_points` gives the candidate points over a control box.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.stats import norm, qmc


def quantile_kappa(std: np.ndarray, alpha: float) -> np.ndarray:
    """kappa(u) = Phi^-1(alpha) sigma(u): m - kappa is the posterior alpha-lower quantile."""
    _check_alpha(alpha)
    return norm.ppf(alpha) * np.asarray(std, dtype=np.float64)


def srinivas_beta(t: int, alpha: float, rkhs_bound: float, information_gain: float) -> float:
    """beta_t = 2 B^2 + 300 gamma_t ln^3(t / (1 - alpha)) (Appendix A); t >= 1 observations."""
    _check_alpha(alpha)
    if t < 1:
        raise ValueError(f"beta_t needs t >= 1 observations, got {t}")
    return float(2.0 * rkhs_bound**2 + 300.0 * information_gain * np.log(t / (1.0 - alpha)) ** 3)


def information_gain(gram: np.ndarray, noise_var: float) -> float:
    """I = 1/2 ln |I + noise_var^-1 K| for the prior covariance K of the observed inputs."""
    k = np.atleast_2d(np.asarray(gram, dtype=np.float64))
    sign, logdet = np.linalg.slogdet(np.eye(len(k)) + k / noise_var)
    return 0.5 * float(logdet) if sign > 0 else float("inf")


def lcb_safe_set(mean: np.ndarray, kappa: np.ndarray, delta: float) -> np.ndarray:
    """Boolean mask of the points with m(u) - kappa(u) >= delta (eq. 6)."""
    return np.asarray(mean, dtype=np.float64) - np.asarray(kappa, dtype=np.float64) >= delta


def argmax_std_per_cost(std: np.ndarray, cost: np.ndarray | None = None, allowed: np.ndarray | None = None) -> int:
    """Index of the allowed point with the largest sigma(u) / c(u) (eq. 7; without costs: the largest sigma).
    Ties go to the first index. ValueError if no point is allowed."""
    score = np.asarray(std, dtype=np.float64).copy()
    if cost is not None:
        score = score / np.asarray(cost, dtype=np.float64)
    if allowed is not None:
        if not np.any(allowed):
            raise ValueError("no point is allowed: the set to choose from is empty")
        score = np.where(allowed, score, -np.inf)
    return int(np.argmax(score))


def _check_alpha(alpha: float) -> None:
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"confidence level alpha must be in (0, 1), got {alpha!r}")


def box_points(low: np.ndarray, high: np.ndarray, resolution: int, seed: int = 0) -> np.ndarray:
    """Evaluation points of a box: cell midpoints of a resolution^d grid for d <= 2, else `resolution` scrambled
    Sobol points (seeded)."""
    low, high = np.asarray(low, float), np.asarray(high, float)
    if len(low) <= 2:
        axes = [lo + (np.arange(resolution) + 0.5) / resolution * (hi - lo) for lo, hi in zip(low, high, strict=True)]
        return np.stack([a.reshape(-1) for a in np.meshgrid(*axes, indexing="ij")], axis=1)
    unit = qmc.Sobol(len(low), scramble=True, seed=seed).random(resolution)
    return low + unit * (high - low)


def expected_improvement(
    mean: np.ndarray, std: np.ndarray, y_best: float, cost: float | np.ndarray = 1.0
) -> np.ndarray:
    """Expected improvement below the incumbent y_best (minimisation), divided by the intervention cost: the causal
    EI of Aglietti, Dhir, Gonzalez and Damoulas, "Dynamic Causal Bayesian Optimization" (section 3.3, in the
    minimisation form max(y* - y, 0) of the authors' code).

    EI = sigma (u Phi(u) + phi(u)) with u = (y* - m) / sigma; where sigma = 0 it is the sure improvement
    max(y* - m, 0), so 0 where the posterior is certain and no better than y*."""
    mean = np.asarray(mean, dtype=np.float64)
    std = np.asarray(std, dtype=np.float64)
    cost = np.asarray(cost, dtype=np.float64)
    if np.any(std < 0) or not np.isfinite(y_best):
        raise ValueError(f"expected improvement needs std >= 0 and a finite incumbent, got y_best={y_best!r}")
    if np.any(cost <= 0):
        raise ValueError(f"intervention costs must be positive, got {cost!r}")
    gain = y_best - mean
    safe = np.where(std > 0, std, 1.0)
    u = gain / safe
    ei = np.where(std > 0, safe * (u * norm.cdf(u) + norm.pdf(u)), np.maximum(gain, 0.0))
    return np.maximum(ei, 0.0) / cost


def manual_causal_ei(
    prior_mean: np.ndarray, prior_var: np.ndarray, y_best: float, cost: float | np.ndarray = 1.0
) -> np.ndarray:
    """Causal EI / cost before any interventional data for a set (the authors' "manual" EI): the causal prior mean
    and the variance 1 + v(x) of the causal kernel with unit RBF variance (v = the causal prior's variance)."""
    return expected_improvement(prior_mean, np.sqrt(1.0 + np.asarray(prior_var, dtype=np.float64)), y_best, cost)


#: Kinds of anchor points (`anchor_points`).
ANCHOR_KINDS = ("grid", "uniform", "sobol")


def anchor_count(dim: int, n_points: int = 100, per_dim: int = 10, kind: str = "grid") -> int:
    """How many anchor points a box of `dim` dimensions gets. Grid: `n_points` for one dimension and `per_dim`^d for
    d >= 2. Random kinds ("uniform", "sobol") follow the DCBO authors' sampled-anchor rule: `n_points` for one
    dimension and int(sqrt(n_points)) for every d >= 2 (10 points for a 2-D or 3-D set when n_points = 100)."""
    if kind not in ANCHOR_KINDS:
        raise ValueError(f"anchor kind must be one of {ANCHOR_KINDS}, got {kind!r}")
    if dim < 1 or n_points < 1 or per_dim < 1:
        raise ValueError(f"dim, n_points and per_dim must be >= 1, got {dim}, {n_points} and {per_dim}")
    if dim == 1:
        return int(n_points)
    return int(per_dim) ** dim if kind == "grid" else max(1, int(np.sqrt(n_points)))


def anchor_points(
    low: np.ndarray,
    high: np.ndarray,
    n_points: int = 100,
    per_dim: int = 10,
    kind: str = "grid",
    seed: int | np.random.SeedSequence = 0,
) -> np.ndarray:
    """Candidate points at which an acquisition is maximised over a box, `anchor_count` of them. "grid": evenly
    spaced including the bounds (np.linspace per axis, all combinations); "uniform": seeded uniform draws (the DCBO
    authors' `sample_anchor_points=True`); "sobol": a seeded scrambled Sobol sequence (a low-discrepancy variant of
    "uniform" with the same count). `seed`: an int or a `numpy.random.SeedSequence`."""
    low, high = np.atleast_1d(np.asarray(low, float)), np.atleast_1d(np.asarray(high, float))
    if low.shape != high.shape or low.ndim != 1 or not np.all(low < high):
        raise ValueError(f"anchor points need low < high per dimension, got {low} and {high}")
    d = len(low)
    count = anchor_count(d, n_points, per_dim, kind)
    if kind == "uniform":
        return np.random.default_rng(seed).uniform(low, high, size=(count, d))
    if kind == "sobol":
        with warnings.catch_warnings():  # counts that are not powers of 2 lose Sobol's balance; still low-discrepancy
            warnings.simplefilter("ignore", UserWarning)
            unit = qmc.Sobol(d, scramble=True, seed=np.random.default_rng(seed)).random(count)
        return low + unit * (high - low)
    axes = [np.linspace(lo, hi, n_points if d == 1 else per_dim) for lo, hi in zip(low, high, strict=True)]
    return np.stack([a.reshape(-1) for a in np.meshgrid(*axes, indexing="ij")], axis=1)

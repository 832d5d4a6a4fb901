"""Acquisition rules on GP posteriors: lower-confidence safe sets and the most informative point per unit cost.

From Hammar, Alpcan and Lupu, "Causal Online Learning of Safe Regions in Cloud Radio Access Networks": the safe-set
estimator (eq. 6) S = {u : m(u) - kappa(u) >= delta} with kappa either the alpha-quantile rule
Phi^-1(alpha) sigma(u) or Appendix A's beta_t^(1/2) sigma(u), beta_t = 2 B^2 + 300 gamma_t ln^3(t / (1 - alpha))
(after Srinivas, Krause, Kakade and Seeger, "Gaussian Process Optimization in the Bandit Setting", Thm. 6), and the
policy (eq. 7) argmax over S of sigma(u) / c(u); `box_points` gives the candidate points over a control box.
"""

from __future__ import annotations

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

"""The project's one interval method over seeds (or replicates): a Student-t confidence interval of the mean, clipped to
the range a metric can take, and the per-metric summary built on it. It sits below the families, so an agent family's
own evaluation (e.g. DCGO's per-replicate scores) and every report use the same interval.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["INTERVAL_METHOD", "mean_interval", "seed_summary"]


#: The one interval method of every comparison over seeds in the project (named in every report).
INTERVAL_METHOD = "Student-t 95% confidence interval of the mean over seeds"


def mean_interval(
    values: Sequence[float] | np.ndarray, confidence: float = 0.95, support: tuple[float, float] = (-np.inf, np.inf)
) -> tuple[float, float]:
    """The Student-t confidence interval of the mean of `values` (seeds, replicates): mean -+ t_{n-1} s / sqrt(n), with
    s the sample standard deviation. Its coverage holds at small n for roughly normal means, unlike a percentile
    bootstrap, which under-covers at a few seeds. One value gives (mean, mean): no interval can be estimated.
    `support` is the range the metric can take (e.g. (0, inf) for counts): the interval is clipped to it, since a
    mean outside it is impossible."""
    from scipy.stats import t as student_t

    values = np.asarray(values, dtype=float).reshape(-1)
    if values.size == 0 or not np.all(np.isfinite(values)):
        raise ValueError(f"need at least one finite value, got {values!r}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    mean = float(values.mean())
    if values.size == 1:
        return mean, mean
    half = float(student_t.ppf(0.5 + confidence / 2, values.size - 1) * values.std(ddof=1) / np.sqrt(values.size))
    low, high = support
    return max(mean - half, low), min(mean + half, high)


def seed_summary(
    values: Sequence[float] | np.ndarray, support: tuple[float, float] = (-np.inf, np.inf)
) -> dict[str, Any]:
    """n, mean, std, IQM (the mean of the middle 50%) and the `INTERVAL_METHOD` interval of the mean ("mean_ci95",
    clipped to the metric's `support`) of one metric's values over seeds."""
    from scipy.stats import trim_mean

    values = np.asarray(values, dtype=float).reshape(-1)
    return {
        "n": int(values.size),
        "mean": float(values.mean()),
        "std": float(values.std()),
        "iqm": float(trim_mean(values, 0.25)),
        "mean_ci95": list(mean_interval(values, support=support)),
    }

"""The project's one interval method (`experiments.report.mean_interval`): a Student-t interval of the mean, clipped to
the metric's support."""

import numpy as np
import pytest
from scipy import stats

from dogym.experiments.report import mean_interval, seed_summary


def test_mean_interval_is_scipys_student_t_interval() -> None:
    values = np.random.default_rng(0).normal(3.0, 2.0, size=10)
    expected = stats.t.interval(0.95, len(values) - 1, loc=values.mean(), scale=stats.sem(values))
    assert mean_interval(values) == pytest.approx(expected, rel=1e-12)


def test_interval_is_clipped_to_the_support_of_the_metric() -> None:
    counts = np.array([0, 0, 0, 1, 0, 2, 0, 0, 1, 1], dtype=float)  # unsafe interventions: a mean cannot be < 0
    low, high = mean_interval(counts)
    assert low < 0  # the plain t interval leaves the support
    clipped = mean_interval(counts, support=(0.0, np.inf))
    assert clipped == (0.0, high)
    assert seed_summary(counts, (0.0, np.inf))["mean_ci95"] == [0.0, high]


def test_one_value_has_no_interval_and_bad_values_are_refused() -> None:
    assert mean_interval([2.5]) == (2.5, 2.5)
    with pytest.raises(ValueError, match="finite"):
        mean_interval([1.0, np.nan])

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


def test_summaries_clip_to_the_range_the_family_declares() -> None:
    """`summarize` clips F1 (declared in [0, 1] by the FaultAlarm family) where the plain interval passes 1, and
    leaves a metric without a declared range (the reward) unclipped."""
    from dogym.agents.registry import family
    from dogym.experiments.report import summarize

    f1 = [1.0, 1.0, 0.8, 1.0]
    runs = [{"label": "a", "env": "e", "graph_final": {"f1": v}, "eval": {"reward_mean": -v}} for v in f1]
    keys = ["graph_final/f1", "eval/reward_mean"]
    assert mean_interval(f1)[1] > 1.0
    summary = summarize(runs, keys, family("fault_alarm").supports)["a"]
    assert summary["graph_final/f1"]["mean_ci95"] == [mean_interval(f1)[0], 1.0]
    assert summary["eval/reward_mean"]["mean_ci95"] == list(mean_interval([-v for v in f1]))

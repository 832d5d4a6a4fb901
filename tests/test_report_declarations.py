"""The declared-output helpers of `experiments.report` that every paper module renders its report with: tables declared
by columns, summary and pivot tables, targets, paired differences, invocation timings and figures of panels."""

import json

import numpy as np
import pytest

from dogym.experiments.report import (
    Line,
    Panel,
    figure,
    group,
    invocation_timing,
    invocations_text,
    overlap,
    paired_difference,
    pivot_table,
    read_long,
    runs_of,
    section,
    seed_summary,
    separated_above,
    summary_table,
    table,
    target,
    targets_table,
    values_text,
)


def test_a_table_is_declared_by_its_columns_and_a_section_wraps_blocks() -> None:
    rows = [{"name": "a", "x": 1.234}, {"name": "b", "x": 5.0}]
    lines = table(rows, {"name": lambda r: r["name"], "x": lambda r: f"{r['x']:.1f}"})
    assert lines == ["| name | x |", "|---|---|", "| a | 1.2 |", "| b | 5.0 |"]
    assert section("T", "text", lines[:2], level=3) == ["### T", "", "text", "", *lines[:2], ""]
    assert group([3, 1, 4, 1, 5], lambda v: v % 2) == {1: [3, 1, 1, 5], 0: [4]}


def test_summary_and_pivot_tables_fill_what_they_find_and_dash_the_rest() -> None:
    summary = {"a": {"m": seed_summary([1.0, 2.0, 3.0])}, "b": {}}
    lines = summary_table(summary, ("a", "b", "c"), {"n": ("m", "n"), "mean": ("m", ".1f"), "sd": ("m", "ms1"),
                                                     "other": ("z", "ci")})  # fmt: skip
    assert lines[2] == "| a | 3 | 2.0 | 2.0 ± 0.8 | - |" and len(lines) == 3  # b has no metrics, c no entry
    rows = [{"m": "x", "env": "e1", "v": 1}, {"m": "x", "env": "e1", "v": 9}, {"m": "y", "env": "e2", "v": 2}]
    assert pivot_table(rows, "m", ("x", "y"), "env", ("e1", "e2"), lambda r: str(r["v"])) == [
        "| m | e1 | e2 |",
        "|---|---|---|",
        "| x | 1 | - |",
        "| y | - | 2 |",
    ]  # the first match wins


def test_targets_render_their_verdicts_and_dump_as_rows() -> None:
    rows = [target("t <= 1", "0.5", True), target("u", "2", False), target("v", "-", None)]
    assert [t.verdict for t in rows] == ["met", "**missed**", "-"]
    assert targets_table(rows)[2:] == ["| t <= 1 | 0.5 | met |", "| u | 2 | **missed** |", "| v | - | - |"]
    assert json.loads(json.dumps(rows)) == [["t <= 1", "0.5", "met"], ["u", "2", "**missed**"], ["v", "-", "-"]]


def test_interval_helpers_on_arrays() -> None:
    low, high = np.array([0.0, 0.1, 0.2, 0.1]), np.array([5.0, 5.2, 4.9, 5.1])
    assert separated_above(high, low) and not separated_above(low, high) and not overlap(high, low)
    assert overlap(low, low + 0.01) and not separated_above(high, [])
    assert values_text([]) == "-" and values_text([0.0, 0.0, 1.0], 1, (0.0, np.inf)).startswith("0.3 [0.0, ")
    diff = paired_difference({0: 2.0, 1: 3.0, 2: 4.5, 7: 1.0}, {0: 1.0, 1: 1.0, 2: 1.5})
    assert diff["n"] == 3 and diff["mean"] == pytest.approx(2.0) and diff["ci95"][0] < 2.0 < diff["ci95"][1]


def test_long_results_round_trip_to_run_records(tmp_path) -> None:
    (tmp_path / "results.csv").write_text("agent,env,seed,phase,metric,value\na,e,1,eval,r,2.0\na,e,0,eval,r,1.0\n"
                                          "a,e,0,run,t,7\n")  # fmt: skip
    values = read_long(tmp_path / "results.csv")
    assert values == {"a": {"eval/r": [1.0, 2.0], "t": [7.0]}} and read_long(tmp_path / "none.csv") == {}
    assert runs_of(values, "e") == [{"label": "a", "env": "e", "seed": 0, "eval": {"r": 1.0}, "t": 7.0},
                                    {"label": "a", "env": "e", "seed": 1, "eval": {"r": 2.0}}]  # fmt: skip


def test_read_csv_gives_the_rows_as_text(tmp_path) -> None:
    from dogym.experiments.report import read_csv

    (tmp_path / "t.csv").write_text("learner,loss\npassive,2.5\nrollout,\n")
    assert read_csv(tmp_path / "t.csv") == [{"learner": "passive", "loss": "2.5"}, {"learner": "rollout", "loss": ""}]


def test_invocation_timing_keeps_the_invocations_that_computed_the_runs(tmp_path) -> None:
    first = invocation_timing(tmp_path, 4, 4, 2, 3.0, 5.0)
    (tmp_path / "summary.json").write_text(json.dumps(first))
    again = invocation_timing(tmp_path, 4, 0, 1, 0.0, 0.0)  # all cached: the computing invocation's times
    assert again["rescored"] and again["wall_minutes"] == 3.0
    assert "re-scores them from the cache" in invocations_text({**again, "quick": False})


def test_a_figure_is_drawn_from_declared_panels(tmp_path) -> None:
    x = np.arange(4.0)
    panels = [Panel([Line(x, x**2, "sq", band=(x, x**2 + 1)), Line(x, x, "err", "errorbar", err=0.1 * x)], "a",
                    "x", "y", yscale="log", hlines=[(2.0, {"color": "k"})], options={"ylim": (0.5, None)}),
              Panel([Line(x, x + 1, "bars", "bar", err=np.ones(4), width=0.4)], "b", xticks=(x, list("abcd")))]  # fmt: skip
    path = figure(panels, tmp_path / "f.png", columns=1)
    assert path.exists() and path.stat().st_size > 1000

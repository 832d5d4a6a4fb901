"""The DCBO reproduction's grid and its ordering check (the runs themselves are benchmarks: `reproduce dcbo`)."""

from __future__ import annotations

import json

import pytest

from dogym.experiments.papers import Reproduction, dcbo
from dogym.experiments.report import invocation_timing


def _grid(tmp_path, paper=dcbo.PAPER, quick=False, seeds=range(10)) -> list:
    return paper.grid(Reproduction(tmp_path, tuple(seeds), quick))


def test_grid_runs_every_scm_method_and_seed_at_both_table_horizons(tmp_path) -> None:
    runs = _grid(tmp_path)
    assert {c.timesteps for c in runs} == {dcbo.H_TABLE1, dcbo.H_TABLE3}
    assert len(runs) == 2 * len(dcbo.SCMS) * (len(dcbo.METHODS) + len(dcbo.BASELINES)) * 10
    assert runs[0].timesteps == dcbo.H_TABLE3  # the cheaper table first
    assert runs[0].log_folder == str(tmp_path / "runs" / "H30") and runs[0].label == runs[0].agent
    quick = _grid(tmp_path, quick=True)
    assert {c.env for c in quick} == {dcbo.SCMS[s] for s in dcbo.QUICK_SCMS} and {c.seed for c in quick} == {0, 1, 2}
    assert {c.timesteps for c in quick} == {dcbo.H_QUICK}
    with pytest.raises(ValueError, match="drop --timesteps"):
        dcbo.PAPER.grid(Reproduction(tmp_path, (0,), timesteps=5))


def test_ordering_check_compares_only_pairs_the_paper_separates() -> None:
    def row(m: str, ours: float, low: float, high: float, authors: float) -> dict:
        return {"H": 50, "scm": "STAT", "method": m, "gap": ours, "gap_ci_low": low, "gap_ci_high": high,
                "gap_authors": authors, "paper_gap": dcbo.PAPER_NUMBERS[(50, "gap", m)]["STAT"]}  # fmt: skip

    rows = [row("dcbo", 0.80, 0.75, 0.85, 0.9), row("cbo", 0.85, 0.82, 0.88, 0.7), row("abo", 0.5, 0.3, 0.83, 0.5),
            row("bo", 0.4, 0.35, 0.45, 0.4)]  # fmt: skip
    cell = {r["method"]: r for r in rows}
    pairs = {(o["paper_better"], o["paper_worse"]): o for o in dcbo._orderings(cell)}
    # paper STAT: DCBO .88 > CBO .70 > ABO .56 ~ BO .54 (|.56 - .54| < 0.05: not compared)
    assert ("abo", "bo") not in pairs and ("bo", "abo") not in pairs
    assert pairs[("dcbo", "cbo")]["holds"] is False and pairs[("dcbo", "cbo")]["reversed_separated"] is False
    assert pairs[("dcbo", "cbo")]["holds_authors"] is True  # the authors' form can disagree with the headline
    assert pairs[("cbo", "abo")]["holds"] is True and pairs[("cbo", "abo")]["separated"] is False  # CIs overlap
    assert pairs[("dcbo", "bo")]["separated"] is True
    random = {"H": 50, "scm": "STAT", "method": "dcgo-random", "gap": 0.9, "gap_ci_low": 0.86, "gap_ci_high": 0.95}
    assert dcbo._baseline_check(cell) == []  # no baseline in the cell
    (check,) = dcbo._baseline_check({**cell, "dcgo-random": random})
    assert check["separated"] is False and check["random_separated"] is True  # 0.86 > DCBO's 0.85


def test_paper_tables_cover_every_scm_and_method() -> None:
    tables = {(h, metric) for h, metric, _ in dcbo.PAPER_NUMBERS}
    expected = {(h, m) for h in (50, 30) for m in ("gap", "optimal_set_pct")}
    assert tables == expected | {(50, "gap_spread"), (30, "gap_se")}
    for h, metric in tables:
        assert all(set(dcbo.PAPER_NUMBERS[(h, metric, m)]) == set(dcbo.SCMS) for m in dcbo.METHODS)
    assert dcbo.PAPER_NUMBERS[(50, "gap", "dcbo")]["STAT"] == 0.88  # Table 1, first cell
    assert dcbo.PAPER_NUMBERS[(30, "optimal_set_pct", "bo")]["ODE"] == 0.0  # Table 4, last cell


def test_a_variant_overrides_every_method_s_hyper_parameters(tmp_path) -> None:
    variant = dcbo.DCBO(("STAT",), (50,), (("anchors", "grid"),))
    runs = _grid(tmp_path, variant, seeds=range(2))
    assert len(runs) == (len(dcbo.METHODS) + len(dcbo.BASELINES)) * 2 and {c.timesteps for c in runs} == {50}
    assert all(c.hyperparams == {"anchors": "grid"} for c in runs)
    assert _grid(tmp_path, seeds=range(2))[0].hyperparams == {}  # the defaults: agents/hyperparams
    with pytest.raises(ValueError, match="unknown SCM"):
        _grid(tmp_path, dcbo.DCBO(("TOY",)), seeds=range(2))


def test_timings_follow_the_invocations_that_computed_the_runs(tmp_path) -> None:
    first = invocation_timing(tmp_path, 10, 10, 2, 30.0, 20.0)  # every cell computed
    assert first["invocations"] == [{"workers": 2, "wall_minutes": 30.0, "cpu_minutes": 20.0, "cells_run": 10}]
    (tmp_path / "summary.json").write_text(json.dumps(first))
    partial = invocation_timing(tmp_path, 10, 4, 2, 5.0, 3.0)  # 4 cells recomputed, 6 from the cache
    assert [i["cells_run"] for i in partial["invocations"]] == [10, 4] and partial["wall_minutes"] == 5.0
    (tmp_path / "summary.json").write_text(json.dumps(partial))
    rescored = invocation_timing(tmp_path, 10, 0, 1, 0.1, 0.1)  # nothing computed: the last computing invocation
    assert rescored["rescored"] and rescored["wall_minutes"] == 5.0 and len(rescored["invocations"]) == 2
    (tmp_path / "summary.json").write_text(json.dumps({"wall_minutes": 36.0, "cpu_minutes": 22.0, "workers": 2}))
    legacy = invocation_timing(tmp_path, 10, 3, 2, 1.0, 1.0)  # a summary without counts computed every cell
    assert [i["cells_run"] for i in legacy["invocations"]] == [10, 3]

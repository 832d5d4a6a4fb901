"""The DCBO reproduction's grid and its ordering check (the runs themselves are benchmarks: `reproduce dcbo`)."""

from __future__ import annotations

from dogym.experiments.papers import dcbo


def test_grid_runs_every_scm_method_and_seed_at_both_table_horizons() -> None:
    cells = dcbo._cells(range(10), quick=False)
    assert {c.trials for c in cells} == {dcbo.H_TABLE1, dcbo.H_TABLE3}
    assert len(cells) == 2 * len(dcbo.SCMS) * (len(dcbo.METHODS) + len(dcbo.BASELINES)) * 10
    assert cells[0].trials == dcbo.H_TABLE3  # the cheaper table first
    quick = dcbo._cells(range(10), quick=True)
    assert {c.scm for c in quick} == set(dcbo.QUICK_SCMS) and {c.seed for c in quick} == {0, 1, 2}


def test_ordering_check_compares_only_pairs_the_paper_separates() -> None:
    rows = [
        {"H": 50, "scm": "STAT", "method": m, "gap": ours, "paper_gap": dcbo.PAPER_TABLE1[m]["STAT"][0]}
        for m, ours in (("dcbo", 0.80), ("cbo", 0.85), ("abo", 0.5), ("bo", 0.4))
    ]
    pairs = {(o["paper_better"], o["paper_worse"]): o["holds"] for o in dcbo._orderings(rows)}
    # paper STAT: DCBO .88 > CBO .70 > ABO .56 ~ BO .54 (|.56 - .54| < 0.05: not compared)
    assert ("abo", "bo") not in pairs and ("bo", "abo") not in pairs
    assert pairs[("dcbo", "cbo")] is False and pairs[("cbo", "abo")] is True and pairs[("dcbo", "bo")] is True


def test_paper_tables_cover_every_scm_and_method() -> None:
    for table in (dcbo.PAPER_TABLE1, dcbo.PAPER_TABLE2, dcbo.PAPER_TABLE3, dcbo.PAPER_TABLE4):
        assert set(table) == set(dcbo.METHODS) and all(set(row) == set(dcbo.SCMS) for row in table.values())

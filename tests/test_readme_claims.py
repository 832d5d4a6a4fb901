"""The README's result blocks say what the committed result files say: each block is regenerated from its files by the
reproduction's own code and must match the README word for word (a hand edit, or a result file changed without
rewriting the README, fails here)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dogym.experiments.papers import acl, faultalarm, unknown_graph
from dogym.experiments.readme import README, read_block, table_under

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"


def _faultalarm_block() -> str:
    return faultalarm.readme_text(RESULTS / "faultalarm")


def _identification_block() -> str:
    return acl.readme_block(RESULTS / "acl")


def _unknown_graph_block() -> str:
    return unknown_graph.readme_block(RESULTS / "unknown-graph")


def _thp_block() -> str:
    return table_under(RESULTS / "structure_learning.md", "### Targets: THP at its defaults")


@pytest.mark.parametrize(
    ("name", "block"),
    [
        ("faultalarm", _faultalarm_block),
        ("identification", _identification_block),
        ("thp", _thp_block),
        ("unknown-graph", _unknown_graph_block),
    ],
)
def test_readme_block_matches_the_result_files(name, block):
    assert read_block(name) == block().strip("\n"), f"README block {name!r} differs from its result files"


def test_readme_types_no_faultalarm_or_identification_numbers_outside_the_blocks():
    """The rows of the results table that used to carry typed numbers now point at the blocks."""
    text = README.read_text(encoding="utf-8")
    for name in ("faultalarm", "identification"):
        text = text.replace(read_block(name), "")
    rows = [
        line for line in text.splitlines() if line.startswith(("| Cai et al. Table 1", "| Hammar & Stadler Table 1"))
    ]
    assert rows and all("block below" in row for row in rows)
    for stale in ("Five of the six causal agents", "F1 0.956", "at all 8 comparable points"):
        assert stale not in text


def test_a_changed_result_changes_the_block(tmp_path):
    """The check can fail: one changed seed in a copy of the results gives a different block."""
    import shutil

    copy = tmp_path / "faultalarm"
    shutil.copytree(RESULTS / "faultalarm", copy, ignore=shutil.ignore_patterns("*.png"))
    rows = (copy / "results.csv").read_text(encoding="utf-8").splitlines()
    i = next(i for i, row in enumerate(rows) if row.startswith("causal-d3qn,") and ",eval,reward_mean," in row)
    agent, env, seed, phase, metric, value = rows[i].split(",")
    rows[i] = ",".join([agent, env, seed, phase, metric, str(float(value) - 50.0)])
    (copy / "results.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert faultalarm.readme_text(copy) != _faultalarm_block()


def test_table_under_reads_the_table_after_its_heading_and_refuses_a_missing_one(tmp_path):
    report = tmp_path / "r.md"
    report.write_text("# R\n\n### T\n\ntext\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n| other |\n", encoding="utf-8")
    assert table_under(report, "### T") == "| a | b |\n|---|---|\n| 1 | 2 |"
    with pytest.raises(ValueError, match="no heading"):
        table_under(report, "### U")

"""The FaultAlarm reproduction's report is a pure function of its result files: the committed report.md is rewritten
byte for byte from the committed results.csv, graph_initial.csv and meta.json (also in the folder of the grid run with
the previous defaults), and the paper's Table 1 is read from its data file."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dogym.experiments.papers import faultalarm

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results" / "faultalarm"


@pytest.mark.parametrize("folder", [RESULTS, RESULTS / "old-defaults"], ids=["main grid", "old defaults"])
def test_the_committed_report_is_rewritten_from_the_committed_files(tmp_path, folder):
    copy = tmp_path / "faultalarm"
    shutil.copytree(folder, copy, ignore=shutil.ignore_patterns("*.png", "old-defaults", "report.md", "summary.json"))
    faultalarm.write_report(copy)  # not the default folder: the README is left alone
    assert (copy / "report.md").read_text(encoding="utf-8") == (folder / "report.md").read_text(encoding="utf-8")
    assert (copy / "summary.json").read_text(encoding="utf-8") == (folder / "summary.json").read_text(encoding="utf-8")


def test_the_papers_table1_is_read_from_its_data_file():
    table = faultalarm.PAPER_TABLE1
    assert list(table)[:2] == ["THP (initial graph)", "causal-ppo"] and len(table) == 8
    assert table["causal-ppo"]["paper f1"] == {"mean": 0.8413, "std": 0.0203}
    assert table["Random initial graph"]["paper recall"] == {"mean": 0.1303, "std": 0.0088}


def test_a_folder_without_results_is_refused(tmp_path):
    (tmp_path / "results.csv").write_text("agent,env,seed,phase,metric,value\n", encoding="utf-8")
    with pytest.raises(ValueError, match="no results.csv with rows"):
        faultalarm.load_results(tmp_path)

"""Papers as plugins: a reproduction registered from outside the package (here, from this test) is a choice of
`train.py reproduce`, shown by its --help, and runs through the one grid runner into its own report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dogym.experiments import papers
from dogym.experiments.cli import build_parser, main
from dogym.experiments.papers import LazyPaper, Paper, Reproduction, Timing, register_paper
from dogym.experiments.runner import RunConfig

SMALL = "dogym/FaultAlarmSmall-v0"


class TinyPaper(Paper):
    """Random actions among the active alarms on the small FaultAlarm, two seeds; the report gives their mean reward."""

    name = "tiny"
    description = "A tiny paper: random-active on FaultAlarmSmall, 60 steps"
    seeds = (0, 1)

    def grid(self, job: Reproduction) -> list[RunConfig]:
        return [RunConfig("random-active", SMALL, seed, 60, eval_episodes=1, log_folder=str(job.out / "runs"))
                for seed in job.seeds]  # fmt: skip

    def report(self, job: Reproduction, runs: list[dict[str, Any]], timing: Timing) -> Path:
        rewards = [run["eval"]["reward_mean"] for run in runs]
        path = job.out / "report.md"
        path.write_text(f"# Tiny\n\nseeds {list(job.seeds)}, {timing.cells_run} of {timing.cells} cells run, "
                        f"rewards {rewards}\n", encoding="utf-8")  # fmt: skip
        return path


@pytest.fixture
def tiny(monkeypatch):
    monkeypatch.setattr(papers, "PAPERS", dict(papers.PAPERS))  # registrations end with the test
    register_paper(TinyPaper())


def test_a_registered_paper_is_a_choice_with_its_description(tiny, capsys):
    choices = next(a for a in build_parser()._subparsers._group_actions[0].choices["reproduce"]._actions
                   if a.dest == "table").choices  # fmt: skip
    assert "tiny" in choices and {"faultalarm", "acl", "col", "dcbo"} <= set(choices)
    with pytest.raises(SystemExit):
        main(["reproduce", "--help"])
    assert "tiny: A tiny paper" in " ".join(capsys.readouterr().out.split())


def test_a_registered_paper_runs_through_the_grid_runner(tiny, tmp_path, capsys):
    assert main(["reproduce", "tiny", "--out", str(tmp_path), "--workers", "1"]) == 0
    report = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "seeds [0, 1], 2 of 2 cells run, rewards [" in report and report in capsys.readouterr().out
    assert all((c.run_dir / "metrics.json").exists() for c in TinyPaper().grid(Reproduction(tmp_path, (0, 1))))
    assert main(["reproduce", "tiny", "--out", str(tmp_path), "--seeds", "1"]) == 0  # cached: nothing runs
    assert "seeds [1], 0 of 1 cells run" in (tmp_path / "report.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("attributes", "message"),
    [({"name": ""}, "has no name"), ({"description": None}, "has no description"), ({"seeds": ()}, "has no seeds"),
     ({"seeds": [0, 1]}, "has no seeds")],
)  # fmt: skip
def test_registration_names_the_missing_piece(tiny, attributes, message):
    paper = TinyPaper()
    for key, value in attributes.items():
        setattr(paper, key, value)
    with pytest.raises(ValueError, match=message):
        register_paper(paper)
    with pytest.raises(ValueError, match="needs a dogym.experiments.papers.Paper"):
        register_paper(object())  # type: ignore[arg-type]


def test_the_built_in_papers_load_only_when_they_run():
    assert all(isinstance(papers.PAPERS[name], LazyPaper) for name in ("faultalarm", "acl", "col", "dcbo"))
    with pytest.raises(ValueError, match="unknown reproduction 'nope'; available: faultalarm, acl, col, dcbo"):
        papers.paper("nope")


def test_a_paper_without_its_report_cannot_be_made():
    class NoReport(Paper):
        name, description, seeds = "no-report", "a paper that forgot its report", (0,)

        def grid(self, job: Reproduction) -> list[RunConfig]:
            return []

    with pytest.raises(TypeError, match="report"):
        NoReport()  # type: ignore[abstract]


PLUGIN = '''
"""A paper reproduction outside the dogym package: one module, no edit anywhere else."""
from dogym.experiments.papers import Paper, register_paper
from dogym.experiments.runner import RunConfig


class OutsidePaper(Paper):
    name = "outside"
    description = "A paper from a plugin module outside the package"
    seeds = (3,)

    def grid(self, job):
        return [RunConfig("random-active", "dogym/FaultAlarmSmall-v0", s, 60, eval_episodes=1,
                          log_folder=str(job.out / "runs")) for s in job.seeds]

    def report(self, job, runs, timing):
        path = job.out / "report.md"
        path.write_text(f"outside paper: seeds {list(job.seeds)}, reward {runs[0]['eval']['reward_mean']}\\n")
        return path


register_paper(OutsidePaper())
'''


def test_a_paper_plugin_module_outside_the_package_runs_with_plugin(tmp_path, monkeypatch, capsys):
    """`train.py --plugin MODULE reproduce NAME`: the module (in a folder outside the package) registers its paper,
    which is then a choice of `reproduce` and runs."""
    from dogym.agents import registry

    (tmp_path / "plugin").mkdir()
    (tmp_path / "plugin" / "outside_paper_plugin.py").write_text(PLUGIN, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path / "plugin"))
    monkeypatch.setattr(papers, "PAPERS", dict(papers.PAPERS))
    monkeypatch.setattr(registry, "_PLUGINS", dict(registry._PLUGINS))  # the plugin is forgotten after the test
    out = tmp_path / "out"
    assert main(["--plugin", "outside_paper_plugin", "reproduce", "outside", "--out", str(out), "--workers", "1"]) == 0
    assert (out / "report.md").read_text(encoding="utf-8").startswith("outside paper: seeds [3], reward ")

"""The unknown-graph reproduction: its grid, and its report and verdicts on a small real run (DCGO STAT, known graph
and the random baseline, 2 seeds at H = 10; the full runs are the benchmark `reproduce unknown-graph`)."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from dogym.experiments.papers import Reproduction, Timing, paper, reproduce
from dogym.experiments.papers import unknown_graph as ug


def test_the_grid_runs_every_env_mode_and_seed_and_known_cells_carry_no_override(tmp_path: Path) -> None:
    job = Reproduction(tmp_path, tuple(range(10)))
    grid = ug.UnknownGraph().cells(job)
    assert [s.key for s in ug.SETTINGS] == list(dict.fromkeys(c.setting for c in grid))  # cheapest envs first
    for s in ug.SETTINGS:
        mine = [c for c in grid if c.setting == s.key]
        expected = {s.baseline} | {f"{a}-{m}" for a in s.agents for m in ug.MODES if ug.graph_ready(a, s.env)}
        expected |= {f"{s.agents[0]}-{v}" for v in s.variants if ug.graph_ready(s.agents[0], s.env)}
        assert {c.label for c in mine} == expected | {f"{a}-known" for a in s.agents}
        assert all(sorted(c.seed for c in mine if c.label == label) == list(range(10)) for label in expected)
    assert all(c.overrides == {} for c in grid if c.label.endswith("-known") or c.label.endswith("random"))
    assert all(c.overrides["graph"] == "wrong" for c in grid if c.label.endswith("-wrong"))
    assert all(c.overrides["orientation_weight"] > 0 for c in grid if c.label.endswith("-learned-ow"))
    part = ug.UnknownGraph(settings=("edge", "toy"))
    full = part.grid(Reproduction(tmp_path, (0,)))
    assert {c.timesteps for c in full if c.env == "dogym/EdgeSafeRegion-v0"} == {20}  # COL's C = 20
    assert {c.timesteps for c in full if c.env == "dogym/ToySCM-v0"} == {30}  # the rollout learner's 30 steps
    quick = part.grid(Reproduction(tmp_path, tuple(range(10)), quick=True))
    assert {c.seed for c in quick} == {0, 1} and {c.timesteps for c in quick if c.env == "dogym/ToySCM-v0"} == {8}
    assert all("popsize" not in c.hyperparams for c in quick if c.agent == "acl-random")  # it has no optimiser
    with pytest.raises(ValueError, match="drop --timesteps"):
        part.grid(Reproduction(tmp_path, (0,), timesteps=5))
    with pytest.raises(ValueError, match="unknown graph mode"):
        ug.UnknownGraph(modes=("guessed",)).cells(job)
    with pytest.raises(ValueError, match="unknown env key"):
        ug.UnknownGraph(settings=("nope",)).cells(job)
    assert paper("unknown-graph").seeds == tuple(range(10))


@pytest.fixture(scope="module")
def stat_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real quick run of DCGO STAT: DCBO and CBO with the known graph and the random baseline, seeds 0 and 1."""
    out = tmp_path_factory.mktemp("unknown_graph")
    reproduce(ug.UnknownGraph(settings=("stat",), modes=("known",)), Reproduction(out, (0, 1), quick=True))
    return out


def _rows(out: Path) -> list[dict[str, str]]:
    with (out / "results.csv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_the_report_is_written_from_the_result_files(stat_run: Path) -> None:
    report = (stat_run / "report.md").read_text(encoding="utf-8")
    assert "## DCGO STAT" in report and "![DCGO STAT](fig_stat.png)" in report and (stat_run / "fig_stat.png").exists()
    assert "No results for: DCGO IND, EdgeSafeRegion S1, ToySCM, Microservice S1." in report
    assert ug.INTERVAL_METHOD in report
    labels = {r["label"] for r in _rows(stat_run)}
    assert labels == {"dcgo-random", "dcbo-known", "cbo-known"}
    assert ug.readme_block(stat_run) == ug.readme_block(stat_run)  # a pure function of the files
    assert "| DCGO STAT | dcbo | truth/gap |" in ug.readme_block(stat_run)


def _with(out: Path, tmp: Path, label: str, shift: float) -> Path:
    """A copy of the run's result files where `label` holds dcbo-known's values with the gap shifted by `shift`."""
    copy = tmp / f"{label}{shift:+g}"
    shutil.copytree(out, copy, ignore=shutil.ignore_patterns("runs", "*.png"))
    rows = _rows(out)
    extra = [{**r, "label": label, "value": str(float(r["value"]) + (shift if r["metric"] == "truth/gap" else 0))}
             for r in rows if r["label"] == "dcbo-known"]  # fmt: skip
    with (copy / "results.csv").open("a", encoding="utf-8", newline="") as handle:
        csv.DictWriter(handle, fieldnames=list(rows[0])).writerows(extra)
    return copy


def test_the_verdicts_follow_the_numbers(stat_run: Path, tmp_path: Path) -> None:
    """Learned = known passes the 10% check, a lower gap on every seed fails it; a wrong graph lower on every seed is
    measurably worse (paired), one equal to the known graph is not."""
    supports = ug._supports()
    same = ug.analyse(ug.read_values(_with(stat_run, tmp_path, "dcbo-learned", 0.0)), supports)["envs"]["stat"]
    assert same["learned_close"] is True and same["wrong_worse"] is None
    lower = ug.analyse(ug.read_values(_with(stat_run, tmp_path, "dcbo-learned", -0.5)), supports)["envs"]["stat"]
    assert lower["learned_close"] is False
    diff = lower["comparisons"]["dcbo: learned - known: truth/gap"]
    assert diff["mean"] == pytest.approx(-0.5) and diff["n"] == 2
    wrong = ug.analyse(ug.read_values(_with(stat_run, tmp_path, "dcbo-wrong", -0.3)), supports)["envs"]["stat"]
    assert wrong["wrong_worse"] is True
    level = ug.analyse(ug.read_values(_with(stat_run, tmp_path, "dcbo-wrong", 0.0)), supports)["envs"]["stat"]
    assert level["wrong_worse"] is False
    targets = {t: v for t, _, v in ug.targets({"stat": wrong})}
    assert next(v for t, v in targets.items() if t.startswith("The wrong graph")) == "**missed**"  # 1 env of 3 needed


def test_graph_curves_hold_each_seed_s_last_graph() -> None:
    histories = {0: [(0, 3.0, 0.0), (2, 1.0, 0.5), (5, 0.0, 1.0)], 1: [(0, 3.0, 0.0), (3, 2.0, 0.4)]}
    xs, mean, low, high = ug.curve_band(histories, 1)
    assert xs.tolist() == [0, 2, 3, 5]
    assert mean.tolist() == [3.0, 2.0, 1.5, 1.0]  # at 5 seed 1 keeps its final SHD 2
    assert low[0] == high[0] == 3.0 and low[2] < 1.5 < high[2]


def test_a_timed_report_adds_its_invocation_and_a_cached_one_does_not(stat_run: Path) -> None:
    from dogym.experiments.grid import run_grid

    job, part = Reproduction(stat_run, (0, 1), quick=True), ug.UnknownGraph(settings=("stat",), modes=("known",))
    runs = run_grid(part.grid(job), 1, progress=False)  # every cell cached
    before = json.loads((stat_run / "summary.json").read_text(encoding="utf-8"))["invocations"]
    part.report(job, runs, Timing(1.0, 0.5, len(runs), 0, 1))
    cached = json.loads((stat_run / "summary.json").read_text(encoding="utf-8"))
    assert cached["invocations"] == before and cached["rescored"] is True
    part.report(job, runs, Timing(1.0, 0.5, len(runs), 2, 1))
    after = json.loads((stat_run / "summary.json").read_text(encoding="utf-8"))
    assert after["invocations"] == [*before, after["invocations"][-1]] and after["cells_run"] == 2
    assert "The runs were computed over several invocations" in (stat_run / "report.md").read_text(encoding="utf-8")


def test_a_report_of_the_finished_cells_says_it_is_partial(stat_run: Path, tmp_path: Path) -> None:
    copy = tmp_path / "partial"
    shutil.copytree(stat_run, copy)
    job = Reproduction(copy, (0, 1), quick=True)
    ug.UnknownGraph(settings=("stat", "ind"), modes=("known",)).report_finished(job)  # IND never ran
    report = (copy / "report.md").read_text(encoding="utf-8")
    assert "**Partial report**: 6 of the grid's 12 cells had finished." in report and "## DCGO STAT" in report
    with pytest.raises(ValueError, match="no finished cell"):
        ug.UnknownGraph(settings=("ind",), modes=("known",)).report_finished(job)


def test_a_changed_committed_result_changes_the_readme_block(tmp_path: Path) -> None:
    """The README check can fail: one changed headline value in a copy of the committed results changes the block."""
    committed = Path(ug.__file__).resolve().parents[2] / "benchmarks" / "results" / ug.NAME
    rows = _rows(committed)
    i = next(i for i, r in enumerate(rows) if r["label"] == "dcbo-known" and r["metric"] == "truth/gap")
    rows[i]["value"] = str(float(rows[i]["value"]) - 0.5)
    (tmp_path / "results.csv").write_text(ug.csv_text(rows), encoding="utf-8")
    assert ug.readme_block(tmp_path) != ug.readme_block(committed)


def test_the_frozen_graph_is_learned_once_before_the_first_intervention_and_never_relearned() -> None:
    """`learned-frozen` (relearn_every above any budget) in each family: the data still reach the learner, the graph
    stays its first estimate; the same data relearned on schedule change it (so the check can fail)."""
    import gymnasium as gym
    import numpy as np

    import dogym.envs  # noqa: F401
    from dogym.agents.dcgo.loop import run_replicate
    from dogym.agents.identification.graph import GraphSource, view_edges
    from dogym.agents.safe_region.col import COL, COLConfig
    from dogym.causal.intervention import Intervention
    from dogym.envs.identification.toy_scm import toy_scm

    grid = ug.UnknownGraph().cells(Reproduction(Path("unused"), (0,)))
    frozen = [c for c in grid if c.label.endswith("-learned-frozen")]
    assert {c.setting for c in frozen} == set(ug.SETTING) and len(frozen) == 7  # DCGO: dcbo and cbo
    assert all(c.overrides == {"graph": "learned", "relearn_every": ug.FROZEN_RELEARN} for c in frozen)
    every = ug.FROZEN_RELEARN
    # The rollout learner: no data before its first intervention, so its starting graph stays.
    scm, rng = toy_scm(), np.random.default_rng(0)
    sources = {n: GraphSource("learned", scm.structural_view(), 0, relearn_every=n) for n in (every, 2)}
    start = view_edges(sources[every].view)
    for k in range(12):
        do = Intervention.passive() if k % 2 else Intervention({"X": float(rng.uniform(-2, 2))})
        rows = scm.sample_array(3, rng, do)
        for source in sources.values():
            source.observe(rows, do)
    assert sources[every].history == [(0, start)] and view_edges(sources[every].view) == start
    assert sources[every].learner.n_interventional > 0 and view_edges(sources[2].view) != start
    # COL: learned from the passive log, then only fed the interventions' rows.
    options = {"graph": "learned", "graph_passive_steps": 200, "resolution": 41, "prior_rows": 16, "prior_draws": 4}
    col = COL(gym.make("dogym/EdgeSafeRegion-v0").unwrapped, COLConfig(**options, relearn_every=every), 1)
    col.run(6.0)
    assert [n for n, _ in col.graph_history] == [0] and col.structure.n_interventional >= 2
    # DCBO / CBO: the slice graph of D^O, no causal prior, so both make the same choices.
    env = gym.make("dogym/DCGO-IND-v0")
    dcbo, cbo = (run_replicate(env, method, 4, 100, graph="learned", relearn_every=every) for method in ("dcbo", "cbo"))
    assert [n for n, _ in dcbo.graph_history] == [0] and len([t for t in dcbo.trials if t.set]) > 4
    assert [(t.set, t.value) for t in dcbo.trials] == [(t.set, t.value) for t in cbo.trials]
    relearned = run_replicate(env, "dcbo", 4, 100, graph="learned", relearn_every=2)
    assert [(t.set, t.value) for t in relearned.trials] != [(t.set, t.value) for t in dcbo.trials]

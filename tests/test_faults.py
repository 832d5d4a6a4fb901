"""Faults lose nothing: a grid killed with SIGKILL mid-way and re-run recomputes no finished cell and
ends with the result files of an uninterrupted run; damaged checkpoints and cache files are detected, reported in one
line and recomputed, never used. (The same kill on the Ray backend is in test_ray_backend.py, beside its cluster.)"""

from __future__ import annotations

import shutil

import pytest
from gridutils import GRID_ARGS, kill_mid_grid, metrics_files, result_files, stamps

from dogym.agents.io import (
    CorruptFileError,
    atomic_write_json_checked,
    read_json_checked,
    verify_manifest,
    write_manifest,
)
from dogym.experiments.cli import main
from dogym.experiments.grid import run_grid
from dogym.experiments.runner import RunConfig, recover_run, train


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The tiny grid run once, uninterrupted, in this process."""
    out = tmp_path_factory.mktemp("reference")
    assert main([*GRID_ARGS, "--workers", "1", "--out", str(out)]) == 0
    return out


def test_sigkill_mid_grid_loses_nothing_local(reference, tmp_path):
    out = tmp_path / "killed"
    finished = kill_mid_grid(out, ["--workers", "2"], fork=True)
    before = stamps(finished + [p.with_name("metrics.json.sha256") for p in finished])
    assert main([*GRID_ARGS, "--workers", "1", "--out", str(out)]) == 0
    assert stamps(list(before)) == before  # finished cells were not recomputed
    assert result_files(out) == result_files(reference)


def _cell(out, agent, seed) -> RunConfig:
    return RunConfig(agent, "dogym/FaultAlarmSmall-v0", seed, timesteps=200, checkpoint_interval=50, eval_episodes=1,
                     hyperparams={"learning_starts": 20}, log_folder=str(out / "runs"))  # fmt: skip


def _flip_byte(path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset % len(data)] ^= 0x01
    path.write_bytes(bytes(data))


def test_checksums_catch_a_changed_digit_and_a_missing_file(tmp_path):
    path = tmp_path / "m.json"
    atomic_write_json_checked(path, {"eval": {"reward_mean": 1.25}})
    assert read_json_checked(path) == {"eval": {"reward_mean": 1.25}}
    path.write_text(path.read_text().replace("1.25", "1.35"))  # still valid JSON
    with pytest.raises(CorruptFileError, match="m.json does not match its checksum"):
        read_json_checked(path)
    (tmp_path / "ck").mkdir()
    (tmp_path / "ck" / "a.bin").write_bytes(b"abc")
    write_manifest(tmp_path / "ck")
    verify_manifest(tmp_path / "ck")
    (tmp_path / "ck" / "a.bin").unlink()
    with pytest.raises(CorruptFileError, match="a.bin is missing"):
        verify_manifest(tmp_path / "ck")


def test_damaged_files_are_reported_in_one_line_and_recomputed(reference, tmp_path, capsys):
    out = tmp_path / "damaged"
    shutil.copytree(reference / "runs", out / "runs")
    cells = [out / "runs/dqn" / f"dogym_FaultAlarmSmall-v0_seed{s}" for s in (0, 1, 2)]
    (cells[0] / "metrics.json").write_bytes((cells[0] / "metrics.json").read_bytes()[:100])  # a finished cell
    for seed in (1, 2):  # unfinished cells with a checkpoint
        shutil.rmtree(cells[seed])
        assert train(_cell(out, "dqn", seed), stop_after_checkpoints=2) is None
    (cells[1] / "checkpoints/latest/state.pkl.z").write_bytes(b"\x78\x01")  # truncated
    _flip_byte(cells[2] / "checkpoints/latest/model.zip", 1000)
    capsys.readouterr()
    run_grid([_cell(out, "dqn", seed) for seed in (0, 1, 2)], workers=1, progress=False)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 3, lines
    for line, name in zip(
        lines, ("seed0/metrics.json", "seed1/checkpoints/latest/state.pkl.z", "model.zip"), strict=True
    ):
        assert name in line and "recomputing" in line, line
    assert main([*GRID_ARGS, "--workers", "1", "--out", str(out)]) == 0  # writes the comparison; nothing to rerun
    assert capsys.readouterr().err == ""
    assert result_files(out) == result_files(reference)


@pytest.mark.parametrize("damage, named", [("no-manifest", "manifest.json"), ("garbage-run-json", "run.json")])
def test_a_damaged_checkpoint_or_run_file_empties_the_run_folder(tmp_path, damage, named):
    config = _cell(tmp_path, "dqn", 0)
    assert train(config, stop_after_checkpoints=1) is None
    if damage == "no-manifest":
        (config.run_dir / "checkpoints/latest/manifest.json").unlink()
    else:
        (config.run_dir / "run.json").write_text('{"agent": "dq')
    reports = []
    problem = recover_run(config, reports.append)
    assert problem is not None and named in problem and len(reports) == 1 and "recomputing dqn" in reports[0]
    assert [p.name for p in config.run_dir.iterdir()] == ["run.json"]  # only the (re-written) claim is left
    assert recover_run(config, reports.append) is None and len(reports) == 1


def test_a_half_swapped_checkpoint_is_put_back_and_resumed(reference, tmp_path):
    out = tmp_path / "swap"
    config = _cell(out, "dqn", 0)
    assert train(config, stop_after_checkpoints=2) is None
    latest = config.run_dir / "checkpoints/latest"
    latest.rename(latest.with_name(".latest.old-12345"))  # killed between write_checkpoint's two renames
    (latest.with_name(".latest.tmp-12345") / "partial").mkdir(parents=True)
    metrics = train(config, resume=True)
    assert not list(latest.parent.glob(".latest.*"))
    expected = read_json_checked(reference / "runs/dqn/dogym_FaultAlarmSmall-v0_seed0/metrics.json")
    assert metrics["eval"] == expected["eval"] and metrics["train"] == expected["train"]
    assert len(metrics_files(out)) == 1

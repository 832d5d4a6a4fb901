"""Run folders are what they say: `evaluate --run DIR` reads DIR itself, wherever it was moved or copied;
a run folder is locked while it trains (a second process waits and names the holder; the OS frees the lock when the
holder dies); a monitor torn after a checkpoint is found on resume and the run recomputed to the uninterrupted
result; result files are readable by others (the umask); every hyper-parameter of every agent has a declared range;
the grid helpers compare step counts (timing columns matched by exact name).

How the tests were checked to fail on the earlier code (5b7a283): the copied-folder evaluation was run
there from the decoy's directory and printed the decoy's numbers (reward 1.90 +- 0.41 instead of the original's
2.14 +- 0.19, 10 episodes); `FolderLock`, `run_lock`, `hyperparameter_rules`, `check_value`, `process_umask` and
`is_timing` do not exist there (ImportError), and by its code the old grid trained a folder another process held,
wrote atomic files with mkstemp's 0600, kept a torn monitor's rows on resume (the issue's "could not convert string
to float"), let a checkpoint manifest of the wrong shape raise a TypeError, and `TIMING` matched "timesteps".
"""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import signal
import stat
import threading
import time
from pathlib import Path

import pytest
from gridutils import _strip, is_timing

from dogym.agents.io import FolderLock, atomic_write_text, process_umask
from dogym.agents.registry import AGENTS, family, hyperparameter_rules, load_hyperparams_file, resolve_hyperparams
from dogym.agents.spec import check_value
from dogym.experiments.cli import main
from dogym.experiments.grid import run_grid
from dogym.experiments.runner import RunConfig, run_lock, train

SMALL = "dogym/FaultAlarmSmall-v0"
THP_RUN = Path("runs/mask-random-thp/dogym_FaultAlarmSmall-v0_seed0")


def _evaluation(run: Path, output: Path) -> list[dict]:
    assert main(["evaluate", "--run", str(run), "--episodes", "10", "--quiet", "--output", str(output)]) == 0
    return json.loads(output.read_text())


def _train_thp(cwd: Path, monkeypatch, *extra: str) -> None:
    cwd.mkdir(parents=True, exist_ok=True)
    monkeypatch.chdir(cwd)  # the default, relative log folder "runs"
    argv = ["train", "--agent", "mask-random-thp", "--env", SMALL, "--timesteps", "60", "--eval-episodes", "1",
            "--log-folder", "runs", "--quiet", *extra]  # fmt: skip
    assert main(argv) == 0


def test_evaluate_run_reads_the_folder_it_is_given_even_moved_and_from_another_directory(tmp_path, monkeypatch, capsys):
    """A run trained with a relative log folder, copied elsewhere, evaluated from a directory that holds a different
    run (another learned graph) at the same relative path: the copy's own graph is used (same numbers as the
    original), never the decoy's. Before cf9b860 the copy was evaluated with the decoy's graph.json."""
    _train_thp(tmp_path / "a", monkeypatch)
    _train_thp(tmp_path / "decoy", monkeypatch, "--hyperparams", "n_log_events:40", "thp_penalty:0")
    capsys.readouterr()
    original = _evaluation(tmp_path / "a" / THP_RUN, tmp_path / "original.json")
    decoy = _evaluation(tmp_path / "decoy" / THP_RUN, tmp_path / "decoy.json")
    assert (tmp_path / "a" / THP_RUN / "graph.json").read_text() != (
        tmp_path / "decoy" / THP_RUN / "graph.json"
    ).read_text()
    copy = tmp_path / "elsewhere" / "my_run"
    shutil.copytree(tmp_path / "a" / THP_RUN, copy)
    shutil.rmtree(tmp_path / "a")  # moved, not only copied
    monkeypatch.chdir(tmp_path / "decoy")
    moved = _evaluation(copy, tmp_path / "moved.json")
    assert moved == original
    assert decoy != original  # the decoy would have shown (the test can tell the two runs apart)


def _hold(path: Path, ready, release) -> None:
    lock = FolderLock(path)
    lock.acquire()
    ready.set()
    release.wait(60)


def test_a_run_folder_is_locked_while_it_trains_and_a_second_grid_waits_naming_the_holder(tmp_path, capsys):
    """While another process holds a run's lock, a grid on the same folder neither recovers nor trains it: it says
    who holds it and waits; once the holder is gone (here: killed with SIGKILL, so the OS frees the lock) the grid
    trains the run to the end, once."""
    config = RunConfig("random-active", SMALL, 0, timesteps=60, eval_episodes=1, log_folder=str(tmp_path / "runs"))
    ctx = multiprocessing.get_context("fork")
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold, args=(run_lock(config).path, ready, release))
    holder.start()
    assert ready.wait(30)
    assert not run_lock(config).acquire(wait=False)
    done = threading.Event()
    thread = threading.Thread(target=lambda: (run_grid([config], progress=False), done.set()))
    thread.start()
    time.sleep(1.0)
    assert not done.is_set() and not (config.run_dir / "metrics.json").exists()
    os.kill(holder.pid, signal.SIGKILL)
    holder.join()
    thread.join(60)
    assert done.is_set() and (config.run_dir / "metrics.json").exists()
    err = capsys.readouterr().err
    assert f"waiting for {config.run_dir}: locked by pid {holder.pid} on" in err, err
    lock = run_lock(config)
    assert lock.acquire(wait=False)  # and the grid released it
    lock.release()


def test_a_monitor_torn_after_a_checkpoint_is_reported_and_the_run_recomputed(tmp_path, capsys):
    """A DQN run stopped after its second checkpoint, its episode monitor then cut inside the rows that checkpoint
    continues: the resumed grid names the file on one line, recomputes the run from scratch, and its metrics equal
    an uninterrupted run's (timing aside). Before cf9b860 the resumed run trained to the end and failed with
    "could not convert string to float", naming no file, on every re-run."""
    options = {"timesteps": 300, "checkpoint_interval": 100, "eval_episodes": 1, "hyperparams": {"learning_starts": 20}}
    config = RunConfig("dqn", SMALL, 0, log_folder=str(tmp_path / "runs"), **options)
    reference = RunConfig("dqn", SMALL, 0, log_folder=str(tmp_path / "reference"), **options)
    assert train(config, stop_after_checkpoints=2) is None
    monitor = config.run_dir / "0.monitor.csv"
    recorded = json.loads((config.run_dir / "checkpoints" / "latest" / "run_files.json").read_text())
    assert recorded["0.monitor.csv"][0] > 60
    monitor.write_bytes(monitor.read_bytes()[:45] + b"\n")
    capsys.readouterr()
    [metrics] = run_grid([config], progress=False)
    err = capsys.readouterr().err
    reports = [line for line in err.splitlines() if line.startswith("dogym:")]
    assert len(reports) == 1 and str(monitor) in reports[0] and "recomputing" in reports[0], err
    [expected] = run_grid([reference], progress=False)
    assert _strip(metrics) == _strip(expected)


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_atomically_written_files_get_the_process_umask(tmp_path, umask):
    """0644 under the default umask (0600 before cf9b860), 0640 under 027."""
    previous = os.umask(umask)
    try:
        assert process_umask() == umask
        path = atomic_write_text(tmp_path / "result.json", "{}\n")
    finally:
        os.umask(previous)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask


def test_every_hyper_parameter_of_every_agent_has_a_declared_range_that_its_defaults_fit():
    """Every key an agent accepts (its YAML file's and its family's `hyperparameter_keys`) is declared, and every
    default of every supported env fits its declaration."""
    for name, spec in AGENTS.items():
        rules = hyperparameter_rules(spec)
        assert rules is not None, name
        table = load_hyperparams_file(spec.hyperparams_file) if spec.hyperparams_file.exists() else {}
        keys = {key for entry in table.values() for key in entry}
        declared = getattr(family(spec.family), "hyperparameter_keys", None)
        keys |= set(declared(spec)) if declared else set()
        assert keys <= set(rules), f"{name}: no declaration for {sorted(keys - set(rules))}"
        for env_id in spec.envs:
            for key, value in resolve_hyperparams(spec, env_id).items():
                check_value(key, value, rules[key])


@pytest.mark.parametrize(
    "declaration, good, bad",
    [
        ("float [0, 1]", [0, 0.5, 1], [float("nan"), -0.1, 1.1, True, "0.5", None, float("inf")]),
        ("int [1, 10]", [1, 10], [0, 11, 1.0, True, float("nan")]),
        ("float (0, 1)", [0.5], [0, 1, 1.0]),
        ("null | 'auto' | float [0, inf)", [None, "auto", 3.0, 7], ["manual", -1, float("inf")]),
        ("list of int [1, 5]", [[1, 5]], [[], [0], [1, 2.5], 3]),
        (("list of int [1, 9]", {"pi": "list of int [1, 9]"}), [[2], {"pi": [3]}], [{"pi": [0]}, 4]),
    ],
)
def test_declarations_accept_what_they_say_and_nothing_else(declaration, good, bad):
    for value in good:
        check_value("key", value, declaration)
    for value in bad:
        with pytest.raises(ValueError, match=r"^hyper-parameter key(\.pi)? = .* is not allowed; allowed: "):
            check_value("key", value, declaration)


def test_timing_columns_are_matched_by_exact_name():
    """Step counts are results: before cf9b860 the pattern also matched `timesteps`, so the equality checks of the
    fault and backend tests never compared them."""
    assert not is_timing("timesteps") and not is_timing("eval/steps_mean")
    assert is_timing("train_seconds") and is_timing("steps_per_second") and is_timing("time/fps")
    row = {"timesteps": 200, "train_seconds": 1.5, "eval": {"steps_mean": 8.0, "steps_per_second": 9.0}}
    assert _strip(row) == {"timesteps": 200, "eval": {"steps_mean": 8.0}}


def test_a_run_that_cannot_be_built_leaves_no_folder_behind_so_a_retry_with_other_settings_runs(
    tmp_path, capsys, monkeypatch
):
    """An env too large for the memory limit fails at build, before any step; its run folder is removed, so the
    retry with a size that fits is not refused as "a run with other settings" (it was before cf9b860's guard)."""
    base = ["train", "--agent", "random-active", "--env", "dogym/FaultAlarm-v0", "--timesteps", "50",
            "--eval-episodes", "1", "--log-folder", str(tmp_path / "runs"), "--quiet"]  # fmt: skip
    monkeypatch.setenv("DOGYM_MEMORY_LIMIT", str(1 << 30))
    assert main([*base, "--env-kwargs", "n_devices:20000"]) == 2
    monkeypatch.delenv("DOGYM_MEMORY_LIMIT")
    assert "n_devices = 20000" in capsys.readouterr().err
    assert not any((tmp_path / "runs").rglob("run.json"))
    assert main([*base, "--env-kwargs", "n_devices:20"]) == 0


def test_a_checkpoint_manifest_of_the_wrong_shape_is_recomputed_not_fatal(tmp_path, capsys):
    """A checkpoint whose manifest.json has the wrong shape is reported on one line and its run recomputed; before
    cf9b860 it aborted the whole grid with a traceback ("cannot unpack non-iterable int object")."""
    config = RunConfig("dqn", SMALL, 0, timesteps=200, checkpoint_interval=100, eval_episodes=1,
                       hyperparams={"learning_starts": 20}, log_folder=str(tmp_path / "runs"))  # fmt: skip
    assert train(config, stop_after_checkpoints=1) is None
    manifest = config.run_dir / "checkpoints" / "latest" / "manifest.json"
    manifest.write_text('{"state.pkl.z": 5}\n')
    capsys.readouterr()
    [metrics] = run_grid([config], progress=False)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(manifest) in err and "recomputing" in err, err
    assert metrics["timesteps"] == 200

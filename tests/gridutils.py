"""A tiny grid for the backend and fault tests, and its result files with the timing columns removed."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import multiprocessing
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from signal import SIGKILL
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
#: Three DQN cells that learn (from step 20 on) and checkpoint every 50 steps.
GRID_ARGS = [
    "compare", "--agents", "dqn", "--envs", "dogym/FaultAlarmSmall-v0", "--seeds", "0,1,2",
    "--timesteps", "200", "--checkpoint-interval", "50", "--eval-episodes", "1",
    "--hyperparams", "learning_starts:20", "--quiet",
]  # fmt: skip
N_CELLS = 3
#: Keys and columns that measure time, not results (they differ between any two runs), by exact name (the last
#: "/"-separated part of a key or metric); a pattern would also drop result columns such as `timesteps`.
TIMING = frozenset({"train_seconds", "steps_per_second", "seconds", "cpu_seconds", "decision_seconds",
                    "median_decision_seconds", "fps", "time_elapsed"})  # fmt: skip


def is_timing(name: str) -> bool:
    """Whether the key or metric `name` measures time (exact names in TIMING)."""
    return name.rsplit("/", 1)[-1] in TIMING


def metrics_files(out: Path) -> list[Path]:
    """Every run's metrics.json under a compare output folder."""
    return sorted((out / "runs").glob("*/*/metrics.json"))


def _strip(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if not is_timing(k) and k != "log_folder"}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def _csv_rows(path: Path) -> list[dict[str, str]]:
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    keep = [r for r in rows if not is_timing(r.get("metric", ""))]
    return [{k: v for k, v in r.items() if not is_timing(k)} for r in keep]


def result_files(out: Path) -> dict[str, Any]:
    """A compare folder's results (results.csv, curves.csv, summary.json, every run's metrics.json), parsed, without
    timing columns and without the output folder's own path."""
    files: dict[str, Any] = {name: _csv_rows(out / name) for name in ("results.csv", "curves.csv")}
    files["summary.json"] = _strip(json.loads((out / "summary.json").read_text(encoding="utf-8")))
    for path in metrics_files(out):
        files[str(path.relative_to(out))] = _strip(json.loads(path.read_text(encoding="utf-8")))
    assert len(files) == 3 + N_CELLS, sorted(files)
    return files


def stamps(paths: list[Path]) -> dict[Path, tuple[int, int]]:
    """(inode, mtime in ns) of each file: a rewritten file gets a new inode (atomic replace)."""
    return {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in paths}


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "gone"


def children(pid: int) -> list[int]:
    """The live child processes of `pid` (from /proc)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            out.append(int(stat.parent.name))
    return out


def descendants(pid: int) -> list[int]:
    """Every live descendant of `pid` (children, their children, ...)."""
    out, todo = [], [pid]
    while todo:
        kids = children(todo.pop())
        out += kids
        todo += kids
    return out


def _compare_in_child(argv: list[str]) -> None:
    """A forked child: its own process group (so its pool workers die with it), quiet, then train.py compare."""
    os.setsid()
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    from dogym.experiments.cli import main

    os._exit(main(argv))


def kill_mid_grid(
    out: Path,
    extra_args: list[str],
    fork: bool,
    after_kill: Callable[[], None] | None = None,
    group: bool = False,
    deadline_s: float = 120,
) -> list[Path]:
    """Start `train.py compare` on the tiny grid in `out` (a forked copy of this process, which skips the imports,
    or a new `python train.py` process in its own session), SIGKILL that process (with `group`, every process of
    its session: its process group and the Ray workers that start groups of their own, as a batch scheduler does) once at least one cell has finished and another
    has a checkpoint but no metrics, check that every process it started (pool workers; a Ray instance it started:
    GCS, raylet, workers) dies with it, and return the cells finished after the kill (and `after_kill`)."""
    argv = [*GRID_ARGS, "--out", str(out), *extra_args]
    if fork:
        proc: Any = multiprocessing.get_context("fork").Process(target=_compare_in_child, args=(argv,))
        proc.start()
        poll = lambda: proc.exitcode  # noqa: E731
    else:
        proc = subprocess.Popen([sys.executable, "train.py", *argv], cwd=ROOT, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
        poll = proc.poll
    deadline = time.monotonic() + deadline_s
    try:
        while True:
            finished = metrics_files(out)
            mid = [
                p for p in (out / "runs").glob("*/*/checkpoints/latest") if not (p.parents[1] / "metrics.json").exists()
            ]
            if finished and mid:
                break
            assert poll() is None, f"the grid ended (exit {poll()}) before the kill"
            assert time.monotonic() < deadline, f"no finished cell after {deadline_s} s"
            time.sleep(0.01)
    finally:
        workers = descendants(proc.pid) if group else children(proc.pid)
        if group:  # the process group, and the Ray workers that put themselves in groups of their own (its session)
            os.killpg(proc.pid, SIGKILL)
            for pid in workers:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, SIGKILL)
        else:
            os.kill(
                proc.pid, SIGKILL
            )  # the grid's process only, as `kill -9 PID` does: its pool workers must follow it
        if fork:
            proc.join()
        else:
            proc.wait()
    assert poll() == -SIGKILL
    assert workers or not fork, "the local grid had no pool workers at the kill"
    deadline = time.monotonic() + (60 if group else 10)
    while alive := [pid for pid in workers if Path(f"/proc/{pid}").exists() and _state(pid) != "Z"]:
        if time.monotonic() > deadline:
            for pid in alive:  # do not leave them running, then fail
                os.kill(pid, SIGKILL)
            raise AssertionError(f"processes {alive} of the grid outlived its kill")
        time.sleep(0.05)
    if after_kill is not None:
        after_kill()
    finished = metrics_files(out)
    assert 1 <= len(finished) < N_CELLS
    return finished

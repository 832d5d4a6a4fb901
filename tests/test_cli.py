"""train.py: list, evaluate, and clear one-line errors for bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from dogym.experiments.cli import main

ROOT = Path(__file__).resolve().parents[1]
SMALL = "dogym/FaultAlarmSmall-v0"


def test_list_names_envs_and_agents(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "dogym/FaultAlarm-v0" in out and "oracle" in out and "random-active" in out


def test_evaluate_prints_table_and_writes_outputs(tmp_path, capsys):
    out_json, out_png = tmp_path / "r.json", tmp_path / "r.png"
    argv = ["evaluate", "--env", "dogym/FaultAlarmSmall-v0", "--agent", "random-active,oracle", "--episodes", "5"]
    assert main([*argv, "--quiet", "--output", str(out_json), "--plot", str(out_png)]) == 0
    table = capsys.readouterr().out
    assert "oracle" in table and "cleared" in table
    rows = json.loads(out_json.read_text())
    assert [r["policy"] for r in rows] == ["random-active", "oracle"] and rows[1]["episodes"] == 5
    assert out_png.read_bytes()[:4] == b"\x89PNG"


def test_evaluate_is_reproducible(tmp_path):
    paths = [tmp_path / "a.json", tmp_path / "b.json"]
    for path in paths:
        main(["evaluate", "--env", "dogym/FaultAlarmSmall-v0", "--agent", "random-active", "--episodes", "3",
              "--seed", "4", "--quiet", "--output", str(path)])  # fmt: skip
    assert paths[0].read_text() == paths[1].read_text()


def test_env_kwargs_reach_the_env(tmp_path):
    path = tmp_path / "p.json"
    argv = ["evaluate", "--env", "dogym/FaultAlarmSmall-v0", "--agent", "oracle", "--episodes", "2", "--quiet"]
    assert main([*argv, "--env-kwargs", "dynamics:poisson", "min_initial_alarms:3", "--output", str(path)]) == 0
    assert json.loads(path.read_text())[0]["episodes"] == 2


@pytest.mark.parametrize(
    "argv, message",
    [
        (["evaluate", "--agent", "nope"], "unknown agent"),
        (["evaluate", "--agent", "oracle", "--env", "dogym/Nope-v0"], "unknown env"),
        (["evaluate", "--agent", "oracle", "--episodes", "0"], "--episodes must be >= 1"),
        (["evaluate", "--agent", "oracle"], "--agent needs --env"),
        (["evaluate", "--agent", "oracle", "--env", SMALL, "--env-kwargs", "novalue"], "key:value"),
        (["evaluate", "--agent", "oracle", "--env", SMALL, "--env-kwargs", "bogus:1"], "unknown option"),
    ],
)
def test_bad_input_gives_one_line_error(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_train_py_entry_point_exit_codes():
    ok = subprocess.run([sys.executable, "train.py", "--help"], cwd=ROOT, capture_output=True, text=True)
    assert ok.returncode == 0 and "evaluate" in ok.stdout
    bad = subprocess.run([sys.executable, "train.py", "evaluate", "--agent", "nope"], cwd=ROOT, capture_output=True,
                         text=True)  # fmt: skip
    assert bad.returncode == 2 and "unknown agent" in bad.stderr and "Traceback" not in bad.stderr
    debug = subprocess.run([sys.executable, "train.py", "--debug", "evaluate", "--agent", "nope"], cwd=ROOT,
                           capture_output=True, text=True)  # fmt: skip
    assert debug.returncode != 0 and "Traceback" in debug.stderr


@pytest.mark.parametrize("command", ["list", "train", "evaluate", "compare", "reproduce"])
def test_every_subcommand_prints_help(command, capsys):
    with pytest.raises(SystemExit) as done:
        main([command, "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage:") and "% optimal set" * (command == "reproduce") in out

"""The bad-input matrix of train.py and its configs (SPEC section 8): each bad input gives a one-line error naming the
value (and, where there is a list, what is allowed), exit status 2, no traceback unless --debug, and leaves every
finished run untouched."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dogym.experiments.cli import main

ROOT = Path(__file__).resolve().parents[1]
SMALL = "dogym/FaultAlarmSmall-v0"
#: A finished one-cell comparison that every bad command below points at (as its --out or --log-folder).
CELL = ["--agents", "random-active", "--envs", SMALL, "--seeds", "0", "--timesteps", "100", "--eval-episodes", "1"]

#: (case, argv with {out}/{tmp} placeholders, files to write first {name: text}, words the message must hold)
CASES = [
    ("unknown agent", ["train", "--agent", "nope", "--log-folder", "{out}/runs"], {}, ["'nope'", "available:", "dqn"]),
    ("unknown agent in a grid", ["compare", "--agents", "random-active,nope", "--out", "{out}"], {},
     ["'nope'", "available:"]),
    ("unknown env", ["compare", *CELL[:2], "--envs", "dogym/Nope-v0", "--out", "{out}"], {},
     ["'dogym/Nope-v0'", "available:", SMALL]),
    ("env the agent does not support", ["train", "--agent", "col", "--env", SMALL, "--log-folder", "{out}/runs"], {},
     [SMALL, "supports"]),
    ("malformed YAML", ["compare", *CELL, "--conf", "{tmp}/bad.yaml", "--out", "{out}"],
     {"bad.yaml": "timesteps: [1, 2\nseed: 3\n"}, ["bad.yaml", "not valid YAML", "line 2"]),
    ("YAML that is not a mapping", ["compare", *CELL, "--conf", "{tmp}/list.yaml", "--out", "{out}"],
     {"list.yaml": "- 1\n- 2\n"}, ["list.yaml", "mapping", "list"]),
    ("unknown config key", ["compare", *CELL, "--conf", "{tmp}/unknown.yaml", "--out", "{out}"],
     {"unknown.yaml": "timestep: 100\n"}, ["'timestep'", "allowed:", "timesteps"]),
    ("wrong type in a config", ["compare", *CELL, "--conf", "{tmp}/types.yaml", "--out", "{out}"],
     {"types.yaml": "n_envs: two\n"}, ["n_envs", "integer >= 1", "'two'"]),
    ("wrong type of a flag", ["compare", *CELL, "--timesteps", "ten", "--out", "{out}"], {},
     ["--timesteps", "'ten'", "int"]),
    ("wrong type of a seed", ["compare", *CELL, "--seeds", "0,one", "--out", "{out}"], {}, ["--seeds", "'one'"]),
    ("wrong type of an env option", ["compare", *CELL, "--env-kwargs", "step_max:lots", "--out", "{tmp}"], {},
     ["step_max", "'lots'", "integer >= 1"]),
    ("wrong type of a hyper-parameter", ["train", "--agent", "dqn", "--env", SMALL, "--timesteps", "100",
     "--hyperparams", "learning_rate:fast", "--log-folder", "{tmp}/runs"], {}, ["learning_rate", "fast", "float"]),
    ("zero budget", ["compare", *CELL, "--timesteps", "0", "--out", "{out}"], {}, ["timesteps", "0", ">= 1"]),
    ("negative budget", ["compare", *CELL, "--timesteps", "-100", "--out", "{out}"], {}, ["timesteps", "-100", ">= 1"]),
    ("negative evaluation episodes", ["compare", *CELL, "--eval-episodes", "-1", "--out", "{out}"], {},
     ["eval_episodes", "-1", ">= 0"]),
    ("zero checkpoint interval", ["compare", *CELL, "--checkpoint-interval", "0", "--out", "{out}"], {},
     ["checkpoint_interval", ">= 1"]),
    ("zero workers", ["compare", *CELL, "--workers", "0", "--out", "{out}"], {}, ["--workers", "0", ">= 1"]),
    ("zero Ray CPUs", ["compare", *CELL, "--backend", "ray", "--ray-cpus", "0", "--out", "{out}"], {},
     ["ray_cpus", "0", "> 0"]),
    ("a Ray address without the ray backend", ["compare", *CELL, "--ray-address", "auto", "--out", "{out}"], {},
     ["'auto'", "ray backend"]),
    ("unknown backend", ["compare", *CELL, "--backend", "spark", "--out", "{out}"], {}, ["'spark'", "'local', 'ray'"]),
    ("zero evaluation episodes", ["evaluate", "--run", "{out}/runs/random-active/dogym_FaultAlarmSmall-v0_seed0",
     "--episodes", "0"], {}, ["--episodes", "0", ">= 1"]),
    ("unknown hyper-parameter key", ["train", "--agent", "dqn", "--env", SMALL, "--hyperparams", "learning_rat:0.1",
     "--log-folder", "{tmp}/runs"], {}, ["learning_rat", "allowed:", "learning_rate"]),
    ("unknown hyper-parameter key in a grid", ["compare", *CELL, "--hyperparams", "rate:0.5", "--out", "{out}"], {},
     ["'rate'", "random-active", "no hyper-parameters"]),
    ("hyper-parameters for an agent without any", ["train", "--agent", "random-active", "--env", SMALL,
     "--hyperparams", "gamma:0.9", "--log-folder", "{tmp}/runs"], {}, ["gamma", "random-active"]),
    ("other settings in a finished folder", ["compare", *CELL[:-4], "--timesteps", "200", "--eval-episodes", "1",
     "--out", "{out}"], {}, ["other settings", "timesteps"]),
    ("unwritable output folder", ["compare", *CELL, "--out", "{tmp}/a_file/out"], {"a_file": "not a folder"},
     ["a_file", "Not a directory"]),
    ("unwritable log folder", ["train", "--agent", "random-active", "--env", SMALL, "--log-folder", "{tmp}/a_file"],
     {"a_file": "not a folder"}, ["a_file"]),
    ("missing run folder", ["evaluate", "--run", "{tmp}/no_such_run"], {}, ["no_such_run", "not a run folder"]),
    ("corrupted metrics.json", ["evaluate", "--run", "{tmp}/copy/runs/random-active/dogym_FaultAlarmSmall-v0_seed0"],
     {"copy": None}, ["metrics.json", "checksum"]),
    ("unknown reproduction", ["reproduce", "table9"], {}, ["'table9'", "'faultalarm'"]),
    ("unknown subcommand", ["fly"], {}, ["'fly'", "'train'"]),
]  # fmt: skip


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished comparison, and the (inode, mtime) of every file in it."""
    out = tmp_path_factory.mktemp("finished")
    assert main(["compare", *CELL, "--out", str(out), "--quiet"]) == 0
    return out, _stamps(out)


def _stamps(folder: Path) -> dict[Path, tuple[int, int]]:
    return {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in folder.rglob("*") if p.is_file()}


def _prepare(files: dict[str, str | None], tmp: Path, out: Path) -> None:
    import shutil

    for name, text in files.items():
        if text is None:  # a copy of the finished comparison with a damaged metrics.json
            shutil.copytree(out, tmp / name)
            metrics = next((tmp / name).rglob("metrics.json"))
            metrics.write_bytes(metrics.read_bytes()[:-40])
        else:
            (tmp / name).write_text(text)


def _exit_status(argv: list[str]) -> int:
    """train.py's exit status for `argv` (argparse errors exit through SystemExit)."""
    try:
        return main(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)


@pytest.mark.parametrize("case, argv, files, words", CASES, ids=[c[0] for c in CASES])
def test_bad_input_gives_a_one_line_error_and_touches_nothing(finished, tmp_path, capsys, case, argv, files, words):
    out, stamps = finished
    _prepare(files, tmp_path, out)
    argv = [a.format(out=out, tmp=tmp_path) for a in argv]
    quiet = ["--quiet"] if argv[0] in ("train", "compare", "evaluate") else []
    assert _exit_status([*argv, *quiet]) == 2, case
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("train.py") and "error:" in err, err
    assert "Traceback" not in err
    for word in words:
        assert word in err, f"{case}: {word!r} not in {err!r}"
    assert _stamps(out) == stamps, f"{case} touched the finished comparison"


def test_the_matrix_exits_2_with_one_line_and_a_traceback_only_with_debug(tmp_path):
    bad = [sys.executable, "train.py", "compare", "--agents", "random-active", "--timesteps", "0", "--out",
           str(tmp_path)]  # fmt: skip
    plain = subprocess.run(bad, cwd=ROOT, capture_output=True, text=True)
    assert plain.returncode == 2 and plain.stderr.count("\n") == 1 and "timesteps" in plain.stderr
    debug = subprocess.run([*bad[:2], "--debug", *bad[2:]], cwd=ROOT, capture_output=True, text=True)
    assert debug.returncode != 0 and "Traceback" in debug.stderr

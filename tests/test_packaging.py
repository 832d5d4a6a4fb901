"""Packaging rules: dogym.* namespace only, every subpackage listed, dependency direction, lint."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {"envs": "dogym.envs", "agents": "dogym.agents", "causal": "dogym.causal", "experiments": "dogym.experiments"}


def test_bare_names_are_not_installed(tmp_path):
    code = "import importlib.util as u; print([u.find_spec(n) is None for n in ('envs', 'agents', 'causal')])"
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[True, True, True]"


def test_every_subpackage_is_listed_in_pyproject():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    for folder, dotted in FOLDERS.items():
        assert config["package-dir"][dotted] == folder
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder)
            name = ".".join([dotted, *rel.parts])
            assert name in config["packages"], f"{name} is missing from [tool.setuptools] packages"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_causal_imports_neither_envs_nor_agents():
    for path in (ROOT / "causal").rglob("*.py"):
        bad = {m for m in imported_modules(path) if m.startswith(("dogym.envs", "dogym.agents"))}
        assert not bad, f"{path.name} imports {bad}: causal/ must not depend on envs/ or agents/"


def test_envs_do_not_import_agents():
    for path in (ROOT / "envs").rglob("*.py"):
        assert not {m for m in imported_modules(path) if m.startswith("dogym.agents")}, path.name


def test_ruff_is_clean_including_banned_bare_imports():
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    out = subprocess.run([ruff, "check", "--no-cache", "."], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


#: What agents may import from dogym.envs: the env contract and wrappers' types, never a concrete env or simulator.
AGENT_ALLOWED_ENV_MODULES = {"dogym.envs", "dogym.envs.core", "dogym.envs.intervention"}


def test_agents_import_envs_only_for_types_and_wrappers():
    for path in (ROOT / "agents").rglob("*.py"):
        bad = {m for m in imported_modules(path) if m.startswith("dogym.envs") and m not in AGENT_ALLOWED_ENV_MODULES}
        assert not bad, (
            f"{path.relative_to(ROOT)} imports {bad}: agents use envs through gymnasium.make and the contract"
        )


def test_agents_never_read_privileged_env_attributes():
    privileged = ("true_graph", "true_scm", "scm_at", "unwrapped.model", "unwrapped.dynamics", "unwrapped.type_rank")
    for path in (ROOT / "agents").rglob("*.py"):
        text = path.read_text()
        assert not [p for p in privileged if p in text], f"{path.relative_to(ROOT)} reads ground truth"


@pytest.mark.parametrize(
    "module",
    ["dogym.agents.fault_alarm.specs", "dogym.agents.identification.specs", "dogym.agents.registry",
     "dogym.experiments.papers.faultalarm", "dogym.experiments.papers.acl", "dogym.experiments.cli"],
)  # fmt: skip
def test_entry_modules_import_first_in_a_fresh_interpreter(module, tmp_path):
    out = subprocess.run([sys.executable, "-c", f"import {module}"], cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]

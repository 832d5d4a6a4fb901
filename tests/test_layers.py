"""The package's layers: the envs, the causal toolkit and the agents never import the experiment runner above them
(`dogym.experiments`), not even inside a function."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LOWER_LAYERS = ("agents", "causal", "envs")


def imported_modules(path: Path) -> set[str]:
    """Every module a source file imports, at any depth of its syntax tree."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("layer", LOWER_LAYERS)
def test_lower_layers_never_import_experiments(layer: str) -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(m for m in imported_modules(path) if m.startswith("dogym.experiments"))
        for path in sorted((ROOT / layer).rglob("*.py"))
    }
    assert {path: modules for path, modules in offenders.items() if modules} == {}


def test_imported_modules_sees_imports_inside_functions(tmp_path: Path) -> None:
    source = tmp_path / "module.py"
    source.write_text("def f():\n    from dogym.experiments.report import seed_summary\n", encoding="utf-8")
    assert imported_modules(source) == {"dogym.experiments.report"}

"""Comments, docstrings and reports point at nothing a user does not have: no section of the design card ("SPEC 7",
"SPEC section 7"), no issue number ("issue 21", "#21", "the issue's"), no section of the session notes ("notes D.8").
Users have the code, the README and the papers (cited by authors and title)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("agents", "experiments", "causal", "benchmarks")
PATTERN = re.compile(
    r"\bSPEC\b(?!S)|\bspec section\b|\b[Ii]ssues? ?#?\d+|(?<![\w&])#\d{1,4}\b(?![0-9a-fA-F])|\bthe issue'?s?\b|"
    r"\bnotes [A-Z]\.\d"
)


def text_files(folder: Path) -> list[Path]:
    """The folder's source, YAML and Markdown files, without run folders (caches of finished runs)."""
    files = [p for ext in ("py", "md", "yml", "yaml") for p in folder.rglob(f"*.{ext}")]
    return sorted(p for p in files if "runs" not in p.relative_to(ROOT).parts)


def offending_lines(path: Path, root: Path = ROOT) -> list[str]:
    """`path:line: text` for every line naming a spec section, an issue or a notes section."""
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return [f"{path.relative_to(root)}:{i}: {line.strip()}" for i, line in enumerate(lines, 1) if PATTERN.search(line)]


@pytest.mark.parametrize("folder", FOLDERS)
def test_no_spec_section_or_issue_number(folder):
    found = [hit for path in text_files(ROOT / folder) for hit in offending_lines(path)]
    assert not found, "references users cannot follow:\n" + "\n".join(found[:20])


@pytest.mark.parametrize(
    "line",
    [
        "see SPEC section 7",
        "SPEC 7 target met",
        "fixed in issue 21",
        "as #21 asks",
        "the issue's target",
        "(notes D.8)",
    ],
)
def test_the_pattern_finds_each_kind_of_reference(tmp_path, line):
    """The check can fail: each kind of reference is found."""
    path = tmp_path / "report.md"
    path.write_text(f"ok line\n{line}\n", encoding="utf-8")
    assert offending_lines(path, tmp_path) == [f"report.md:2: {line}"]


@pytest.mark.parametrize("line", ["ENV_SPECS and SPECS", "colour #1f77b4", "AgentSpec(...)", "issues a warning"])
def test_the_pattern_lets_ordinary_text_pass(line):
    assert not PATTERN.search(line)

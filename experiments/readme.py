"""README blocks that code writes from result files: a block is the lines between `<!-- name:begin -->` and
`<!-- name:end -->`, replaced whole (atomically) by the reproduction that owns it, and checked by the tests."""

from __future__ import annotations

from pathlib import Path

from dogym.agents.io import atomic_write_text

#: The project's README (the repository root, two levels above this package's folder).
README = Path(__file__).resolve().parents[1] / "README.md"


def _markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}:begin (written by code from result files: do not edit) -->", f"<!-- {name}:end -->"


def read_block(name: str, readme: Path = README) -> str | None:
    """The block's text (without its markers), or None when the README has no such block."""
    begin, end = _markers(name)
    text = readme.read_text(encoding="utf-8") if readme.exists() else ""
    if begin not in text or end not in text:
        return None
    return text.split(begin, 1)[1].split(end, 1)[0].strip("\n")


def replace_block(name: str, body: str, readme: Path = README) -> bool:
    """Replace the block's text with `body`; False (nothing written) when the README has no such block."""
    begin, end = _markers(name)
    if read_block(name, readme) is None:
        return False
    text = readme.read_text(encoding="utf-8")
    head, rest = text.split(begin, 1)
    tail = rest.split(end, 1)[1]
    atomic_write_text(readme, f"{head}{begin}\n{body.strip(chr(10))}\n{end}{tail}")
    return True


def table_under(report: Path, heading: str) -> str:
    """The first Markdown table after `heading` in a report that code wrote (its lines from the first `|` line to the
    last consecutive one); ValueError when the report has no such heading or no table under it."""
    lines = report.read_text(encoding="utf-8").splitlines()
    if heading not in lines:
        raise ValueError(f"{report} has no heading {heading!r}")
    after = lines[lines.index(heading) + 1 :]
    start = next((i for i, line in enumerate(after) if line.startswith("|")), None)
    if start is None:
        raise ValueError(f"{report} has no table under {heading!r}")
    table = []
    for line in after[start:]:
        if not line.startswith("|"):
            break
        table.append(line)
    return "\n".join(table)

"""Sphinx configuration of the dogym documentation (MyST Markdown pages; the generated part comes from
`docs/generate.py`, run at every build)."""

from __future__ import annotations

import io
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import generate  # noqa: E402  (docs/generate.py)

project = "dogym"
author = "the dogym authors"
copyright = "the dogym authors (MIT licence)"
extensions = ["myst_parser", "sphinx.ext.autodoc"]
source_suffix = {".md": "markdown"}
myst_heading_anchors = 3
exclude_patterns = ["_build", "generated/readme"]  # the README blocks are included by getting_started.md
html_theme = "furo"
html_title = "dogym"
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_default_options = {"undoc-members": False}
suppress_warnings: list[str] = []


def _generate(app) -> None:
    generate.generate(HERE / "generated")


# ---------------------------------------------------------------------------------------------------- docstrings
# dogym's docstrings are prose with `backticked` names (Markdown style), not reStructuredText. Autodoc parses them as
# reStructuredText, so each one is converted: backticks become inline literals, RST's special characters are escaped
# and indentation is flattened; a docstring that still does not parse cleanly is shown as preformatted text.
_SPECIAL = re.compile(r"([*_|\\])")


_BEFORE_OK = " '\"([{<-/:"  # what may precede an inline literal in reStructuredText
_AFTER_OK = " '\")]}>-/:.,;!?"  # what may follow one


def _convert(line: str) -> str:
    parts = re.split(r"(`[^`]+`)", line.strip())
    out = []
    for i, part in enumerate(parts):
        if part.startswith("`") and part.endswith("`") and len(part) > 2:
            before = "" if not out or not out[-1] or out[-1][-1] in _BEFORE_OK else "\\ "
            after = parts[i + 1][:1] if i + 1 < len(parts) else ""
            out.append(f"{before}``{part[1:-1]}``" + ("" if not after or after in _AFTER_OK else "\\ "))
        else:
            out.append(_SPECIAL.sub(r"\\\1", part))
    return "".join(out)


def _parses_cleanly(text: str, env) -> bool:
    from docutils.frontend import get_default_settings
    from docutils.parsers.rst import Parser
    from docutils.utils import new_document

    settings = get_default_settings(Parser)
    settings.report_level = 2
    settings.halt_level = 5
    settings.warning_stream = io.StringIO()
    settings.env = env
    document = new_document("<docstring>", settings)
    Parser().parse(text, document)
    return not settings.warning_stream.getvalue()


def _docstring(app, what, name, obj, options, lines: list[str]) -> None:
    if not lines:
        return
    converted = []
    for line in lines:
        text = _convert(line)
        if text.startswith("- ") and converted and converted[-1] and not converted[-1].startswith("- "):
            converted.append("")  # a list starts after a blank line
        elif converted and converted[-1].startswith("- ") and text and not text.startswith("- "):
            text = "  " + text  # continuation of a list item
        converted.append(text)
    if _parses_cleanly("\n".join(converted), app.env):
        lines[:] = converted
    else:
        lines[:] = ["::", ""] + ["    " + line for line in lines] + [""]


def setup(app):
    app.connect("builder-inited", _generate)
    app.connect("autodoc-process-docstring", _docstring)
    return {"parallel_read_safe": True}

"""The documentation generator: every registered env gets a section with a picture, its spaces, info keys, options
with their meanings and its episode limit; the README's commands are found; the link checker finds broken links.
(The full Sphinx build runs in CI: `.ci/run`.)"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

import dogym.envs
from dogym.envs.core import INFO_KEYS

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"dogym_docs_{name}", DOCS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def env_docs(tmp_path_factory):
    generate = _load("generate")
    out = tmp_path_factory.mktemp("docs")
    families = generate.env_pages(out)
    pages = {family: (out / "envs" / f"{family}.md").read_text(encoding="utf-8") for family in families}
    return generate, out, families, pages


def _section(pages: dict[str, str], env_id: str) -> str:
    for text in pages.values():
        match = re.search(rf"^## `{re.escape(env_id)}`\n(.*?)(?=^## |\Z)", text, flags=re.S | re.M)
        if match:
            return match.group(1)
    raise AssertionError(f"no section for {env_id}")


@pytest.mark.parametrize("env_id", sorted(dogym.envs.ENV_SPECS))
def test_every_registered_env_has_a_generated_section_with_a_picture(env_docs, env_id):
    generate, out, _, pages = env_docs
    section = _section(pages, env_id)
    picture = f"img/{generate.slug(env_id)}.png"
    assert f"]({picture})" in section
    image = imread(out / "envs" / picture)
    assert image.ndim == 3 and image.shape[0] > 10 and len(np.unique(image.reshape(-1, image.shape[2]), axis=0)) > 1
    for heading in (
        "action space",
        "observation space",
        "**Info keys**",
        "**Options**",
        "**Termination and truncation.**",
    ):
        assert heading in section, heading
    for key in INFO_KEYS:
        assert f"| `{key}` |" in section, key
    assert "(no description)" not in section  # every option of default_config() says what it means
    cls = generate.env_class(env_id)
    for option in cls.default_config():
        assert f"| `{option}` |" in section, option


def test_every_family_page_is_in_the_index(env_docs):
    _, out, families, _ = env_docs
    index = (out / "envs" / "index.md").read_text(encoding="utf-8")
    assert sorted(families) == sorted(set(re.findall(r"^(\w+)$", index.split("{toctree}")[1], flags=re.M)))
    assert sum(len(ids) for ids in families.values()) == len(dogym.envs.ENV_SPECS)


def test_readme_commands_are_found():
    blocks = _load("generate").readme_blocks()
    assert "pip install" in blocks["install_and_run"] and "train.py compare" in blocks["install_and_run"]
    assert "python -m pytest" in blocks["tests"]
    assert "gym.make" in blocks["python_example"]


def test_link_checker_reports_missing_pages_and_anchors(tmp_path):
    check = _load("check_links")
    (tmp_path / "sub").mkdir()
    (tmp_path / "index.html").write_text(
        '<a href="sub/page.html#here">ok</a> <a href="sub/page.html#gone">bad anchor</a> '
        '<a href="missing.html">bad page</a> <img src="sub/pic.png"> <a href="https://example.org/x">external</a>'
    )
    (tmp_path / "sub" / "page.html").write_text('<h1 id="here">x</h1><a href="../index.html">back</a>')
    (tmp_path / "sub" / "pic.png").write_bytes(b"png")
    broken, pages, links = check.broken_links(tmp_path)
    assert pages == 2 and links == 5
    assert sorted(broken) == [
        "index.html: missing.html (no such file)",
        "index.html: sub/page.html#gone (no anchor #gone)",
    ]
    assert check.main([str(tmp_path)]) == 1

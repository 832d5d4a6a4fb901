"""Write the generated part of the documentation from the code: one page per env family with one section per
registered id (spaces, info keys, options with their defaults and meanings, termination and truncation, registered
ids, a rendered frame), one page per agent family, one page per paper reproduction, the API reference pages and the
README's commands. Nothing in these pages is typed twice: each fact is read from the registry, the envs, the
hyper-parameter YAML files, the committed reports or the README.

`python docs/generate.py [OUT]` writes into OUT (default docs/generated); `docs/conf.py` runs it at every build.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import io
import pkgutil
import re
import shutil
import sys
import tokenize
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = Path(__file__).resolve().parent / "generated"
#: env sub-package -> page title.
ENV_FAMILIES = {
    "fault_alarm": "FaultAlarm",
    "identification": "Identification",
    "safe_region": "Safe regions",
    "dcgo": "Dynamic causal global optimisation (DCGO)",
}
#: Steps of a documented random episode at most (the measured termination / truncation line).
EPISODE_CAP = 1000
#: Modules of the API reference, by page: (title, modules or packages to walk).
API_PAGES = {
    "causal": ("The causal toolkit: dogym.causal", ["dogym.causal"]),
    "env_contract": ("The env contract", ["dogym.envs.core", "dogym.envs.intervention", "dogym.envs.rendering"]),
    "family_protocol": ("The family protocol and the agent registry", ["dogym.agents.registry", "dogym.agents.spec"]),
}
_MARKDOWN_SPECIAL = re.compile(r"([\\*_\[\]<>|#~{}$])")


# ---------------------------------------------------------------------------------------------------------- text
def escape(text: str) -> str:
    """Markdown-escape `text` outside `inline code` spans (docstrings are prose with backticked names)."""
    parts = re.split(r"(`[^`\n]+`)", text)
    return "".join(p if p.startswith("`") and p.endswith("`") else _MARKDOWN_SPECIAL.sub(r"\\\1", p) for p in parts)


def prose(doc: str | None) -> str:
    """A docstring as Markdown: cleaned indentation, special characters escaped, lines kept; a section line
    "## Title" (the Gymnasium docstring sections of the env classes) becomes a bold paragraph."""
    if not doc:
        return ""
    lines = inspect.cleandoc(doc).splitlines()
    return "\n".join(f"\n**{escape(line[3:].strip())}**\n" if line.startswith("## ") else escape(line.strip())
                     for line in lines) + "\n"  # fmt: skip


def cell(text: Any) -> str:
    """A table cell: one line, `|` escaped."""
    return str(text).replace("\n", " ").replace("|", "\\|")


def table(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> str:
    """A Markdown table."""
    header = list(header)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def index_page(path: Path, title: str, intro: str, entries: Iterable[str], maxdepth: int = 1) -> None:
    """Write a section's index page: its title, intro (Markdown) and a toctree of `entries`."""
    toc = "\n".join(entries)
    path.write_text(f"# {title}\n\n{intro}\n```{{toctree}}\n:maxdepth: {maxdepth}\n\n{toc}\n```\n", encoding="utf-8")


def module_docstring(module: str) -> str:
    """A module's docstring read from its source, without importing it."""
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None or not spec.origin.endswith(".py"):
        return ""
    return ast.get_docstring(ast.parse(Path(spec.origin).read_text(encoding="utf-8"))) or ""


def slug(env_id: str) -> str:
    """A file-name form of an env id."""
    return env_id.replace("/", "_")


# ---------------------------------------------------------------------------------------------------------- envs
def describe_space(space: gym.Space) -> str:
    """One line: the space's type, shape, dtype and bounds (bounds as a range when they differ per entry)."""
    if isinstance(space, spaces.Dict):
        return "Dict(" + ", ".join(f"{k}: {describe_space(v)}" for k, v in space.spaces.items()) + ")"
    if isinstance(space, spaces.Discrete):
        return f"Discrete({space.n})"
    if isinstance(space, spaces.MultiBinary):
        return f"MultiBinary({space.n})"
    if isinstance(space, spaces.Box):

        def bound(values: np.ndarray) -> str:
            low, high = float(np.min(values)), float(np.max(values))
            return f"{low:g}" if low == high else f"{low:g}..{high:g}"

        return f"Box(shape {space.shape}, {space.dtype}, low {bound(space.low)}, high {bound(space.high)})"
    return str(space)


def describe_value(value: Any) -> str:
    """A short, deterministic description of an info value or a default option."""
    if isinstance(value, np.ndarray):
        return f"{value.dtype} array {value.shape}"
    if isinstance(value, (bool, np.bool_)):
        return "bool"
    if isinstance(value, (int, np.integer)):
        return "int"
    if isinstance(value, (float, np.floating)):
        return "float"
    if isinstance(value, (list, tuple)):
        kinds = sorted({type(v).__name__ for v in value})
        return f"{type(value).__name__} of {len(value)} {'/'.join(kinds) or 'items'}"
    return type(value).__name__


def show_default(value: Any) -> str:
    """An option's default as code (objects without a literal form by type and size)."""
    if value is None or isinstance(value, (bool, int, str)):
        return f"`{value!r}`"
    if isinstance(value, float):
        return f"`{value:.6g}`"
    if isinstance(value, tuple) and all(isinstance(v, (int, float)) for v in value):
        return "`(" + ", ".join(f"{v:g}" for v in value) + ")`"
    if hasattr(value, "number_of_nodes"):
        return f"a {type(value).__name__} ({value.number_of_nodes()} nodes, {value.number_of_edges()} edges)"
    return type(value).__name__


def option_comments(function: Callable[..., Any]) -> dict[str, str]:
    """The trailing comment of each `"key": value,  # meaning` entry in a function's source."""
    tokens = list(tokenize.generate_tokens(io.StringIO(inspect.getsource(function)).readline))
    meanings: dict[str, str] = {}
    key = None
    for i, token in enumerate(tokens):
        if token.type == tokenize.STRING and i + 1 < len(tokens) and tokens[i + 1].string == ":":
            key = ast.literal_eval(token.string)
        elif token.type == tokenize.COMMENT and key is not None and key not in meanings and "fmt:" not in token.string:
            meanings[key] = token.string.lstrip("#").strip()
    return meanings


def option_meanings(cls: type) -> dict[str, str]:
    """Each option's meaning: the comment on its entry in the nearest `default_config` of the MRO (each class's
    chained `default_config` adds its own options)."""
    meanings: dict[str, str] = {}
    for klass in cls.__mro__:
        if "default_config" in vars(klass):
            for key, text in option_comments(klass.default_config).items():
                meanings.setdefault(key, text)
    return meanings


def env_class(env_id: str) -> type:
    """The class registered under `env_id`."""
    module, name = dogym_envs().ENV_SPECS[env_id][0].split(":")
    return getattr(importlib.import_module(module), name)


def dogym_envs():
    """`dogym.envs` (imported on use, so that `python docs/generate.py --help` stays instant)."""
    return importlib.import_module("dogym.envs")


def illustrative_actions(env: gym.Env, info: Mapping[str, Any]) -> list[Any]:
    """The actions a documented frame shows, drawn from a seeded action space: the first allowed action (discrete
    envs); intervention envs intervene on their control set U' (safe regions) or their first controllable variable;
    DCGO envs take one decision, then explore once."""
    space = env.action_space
    space.seed(0)
    if isinstance(space, spaces.Discrete):
        allowed = np.flatnonzero(info.get("action_mask", np.ones(space.n, bool)))
        return [int(allowed[0]) if len(allowed) else 0]
    action = space.sample()
    base = env.unwrapped
    names = list(getattr(base, "controllable", getattr(base, "manipulative", [])))
    targets = set(getattr(base, "intervention_set", names[:1]))
    action["mask"] = np.array([name in targets for name in names], dtype=np.int8)
    if "decide" not in action:
        return [action]
    return [{**action, "decide": 1}, {**action, "decide": 0}]


def limit_option(cls: type) -> str:
    """The option holding the episode limit (its meaning starts with "episode limit")."""
    found = [k for k, text in option_meanings(cls).items() if text.lower().startswith("episode limit")]
    if len(found) != 1:
        raise ValueError(f"{cls.__name__}: expected one option whose meaning starts with 'episode limit', got {found}")
    return found[0]


def env_section(env_id: str, image_dir: Path | None) -> str:
    """One registered id: its frame, spaces, info keys, options, termination and truncation."""
    entry_point, _, kwargs = dogym_envs().ENV_SPECS[env_id]
    cls = env_class(env_id)
    env = gym.make(env_id, render_mode="rgb_array")
    base = env.unwrapped
    _, reset_info = env.reset(seed=0)
    step_info: dict[str, Any] = {}
    actions = illustrative_actions(env, reset_info)
    for action in actions:
        step_info = env.step(action)[4]
    lines = [f"({slug(env_id)})=", f"## `{env_id}`\n"]
    if image_dir is not None:
        from matplotlib.image import imsave

        imsave(image_dir / f"{slug(env_id)}.png", env.render())
    lines.append(f"![A frame of {env_id}](img/{slug(env_id)}.png)\n")
    lines.append(f'*`render_mode="rgb_array"` after `reset(seed=0)` and {len(actions)} illustrative step(s).* ')
    lines.append(prose(type(base).render.__doc__))
    same = [i for i, spec in dogym_envs().ENV_SPECS.items() if spec[0] == entry_point]
    lines.append(
        table(
            ["", ""],
            [
                ["class", f"`{cls.__module__}.{cls.__qualname__}`"],
                ["registered kwargs", f"`{kwargs!r}`" if kwargs else "none"],
                ["ids of this class", ", ".join(f"`{i}`" for i in same)],
                ["action space", f"`{describe_space(env.action_space)}`"],
                ["observation space", f"`{describe_space(env.observation_space)}`"],
                ["render modes", ", ".join(f"`{m}`" for m in base.metadata["render_modes"])],
            ],
        )
    )
    keys = list(dict.fromkeys([*reset_info, *step_info]))
    lines.append("**Info keys** (from a real `reset` and `step`):\n")
    lines.append(
        table(
            ["key", "at reset", "at step", "value"],
            [
                [
                    f"`{k}`",
                    "yes" if k in reset_info else "-",
                    "yes" if k in step_info else "-",
                    describe_value(step_info.get(k, reset_info.get(k))),
                ]
                for k in keys
            ],
        )
    )
    meanings = option_meanings(cls)
    config = cls.default_config()
    lines.append("**Options** (`default_config()`, overridden by keyword arguments of `gym.make`):\n")
    lines.append(
        table(
            ["option", "default", "meaning"],
            [
                [
                    f"`{k}`",
                    show_default(kwargs.get(k, v)) + (" (registered)" if k in kwargs else ""),
                    escape(meanings.get(k, "(no description)")),
                ]
                for k, v in config.items()
            ],
        )
    )
    key = limit_option(cls)
    limit = base.config[key]
    env.reset(seed=0)
    env.action_space.seed(0)
    steps, terminated, truncated = 0, False, False
    while not (terminated or truncated) and steps < EPISODE_CAP:
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        steps += 1
    ended = "terminated" if terminated else ("truncated" if truncated else f"still running after {steps} steps")
    lines.append(
        f"**Termination and truncation.** The env truncates itself at its episode limit, option `{key}` = {limit} "
        f"(no TimeLimit wrapper). A seeded episode of uniformly random actions (`reset(seed=0)`, "
        f"`action_space.seed(0)`) ended after {steps} steps: {ended}. When an episode terminates is said in the "
        "description below.\n"
    )
    lines.append("**Description** (the class and module docstrings):\n")
    module_doc = sys.modules[cls.__module__].__doc__
    lines.append(prose(module_doc))
    if cls.__doc__ and cls.__doc__ != module_doc:
        lines.append(prose(cls.__doc__))
    env.close()
    return "\n".join(lines) + "\n"


def env_pages(out: Path, images: bool = True) -> dict[str, list[str]]:
    """Write envs/index.md and one page per family (with the frames in envs/img/); returns family -> ids."""
    folder = out / "envs"
    image_dir = folder / "img"
    image_dir.mkdir(parents=True, exist_ok=True)
    by_family: dict[str, list[str]] = {}
    for env_id, (entry_point, _, _) in dogym_envs().ENV_SPECS.items():
        family = entry_point.split(":")[0].split(".")[2]
        by_family.setdefault(family, []).append(env_id)
    unknown = sorted(set(by_family) - set(ENV_FAMILIES))
    if unknown:
        raise ValueError(f"env families without a page title in ENV_FAMILIES: {unknown}")
    for family, ids in by_family.items():
        classes = [env_class(i) for i in ids]
        shared = []  # docstrings of the family's base modules (spaces, reward, info keys shared by its envs)
        for klass in dict.fromkeys(k for c in classes for k in c.__mro__[1:]):
            module = klass.__module__
            if module.startswith("dogym.envs.") and module not in {c.__module__ for c in classes}:
                if module != "dogym.envs.core" and module not in shared:
                    shared.append(module)
        text = [f"# {ENV_FAMILIES[family]}\n", f"Registered ids: {', '.join(f'[`{i}`](#{slug(i)})' for i in ids)}.\n"]
        for module in shared:
            text.append(f"## Shared by these envs: `{module}`\n")
            text.append(prose(importlib.import_module(module).__doc__))
        text += [env_section(i, image_dir if images else None) for i in ids]
        (folder / f"{family}.md").write_text("\n".join(text), encoding="utf-8")
    rows = [
        [f"{{ref}}`{i} <{slug(i)}>`", ENV_FAMILIES[f], f"`{env_class(i).__name__}`"]
        for f, ids in by_family.items()
        for i in ids
    ]
    intro = (
        "Every id below is registered by `import dogym.envs`; each follows the env contract of `dogym.envs.core` "
        "(see the [API reference](../api/env_contract.md)).\n\n" + table(["id", "family", "class"], rows)
    )
    index_page(folder / "index.md", "Environments", intro, by_family, maxdepth=2)
    return by_family


# ---------------------------------------------------------------------------------------------------------- agents
def agent_pages(out: Path) -> list[str]:
    """Write agents/index.md and one page per agent family; returns the family names."""
    from dogym.agents.registry import AGENTS, FAMILIES

    folder = out / "agents"
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for family, entry in FAMILIES.items():
        module = entry.split(":")[0] if isinstance(entry, str) else type(entry).__module__
        agents = [spec for spec in AGENTS.values() if spec.family == family]
        if not agents:
            continue
        names.append(family)
        text = [f"# Agent family `{family}`\n", prose(module_docstring(module))]
        package_doc = module_docstring(module.rsplit(".", 1)[0])
        if package_doc:
            text.append(prose(package_doc))
        text.append(
            table(
                ["agent", "what it does", "envs"],
                [
                    [f"[`{a.name}`](#{a.name})", escape(a.description), ", ".join(f"`{e}`" for e in a.envs)]
                    for a in agents
                ],
            )
        )
        shown: dict[Path, str] = {}  # YAML file -> the agent whose section shows it
        for spec in agents:
            text.append(f"({spec.name})=\n## `{spec.name}`\n")
            text.append(escape(spec.description) + "\n")
            if spec.options:
                text.append(f"Fixed options: `{dict(spec.options)!r}`.\n")
            text.append(f"Run it: `python train.py train --agent {spec.name} --env {spec.default_env}`.\n")
            path = spec.hyperparams_file
            if spec.variant:
                text.append(f"Its variant of the file's `default` entry: `{dict(spec.variant)!r}`.\n")
            if path in shown:
                text.append(f"Hyper-parameters: the same file as [`{shown[path]}`](#{shown[path]}).\n")
            elif path.exists():
                shown[path] = spec.name
                rel = path.resolve().relative_to(ROOT)
                text.append(f"Hyper-parameters (`{rel}`, keyed by env id; `default` applies to every env):\n")
                text.append("```yaml\n" + path.read_text(encoding="utf-8").rstrip() + "\n```\n")
        (folder / f"{family}.md").write_text("\n".join(text), encoding="utf-8")
    rows = [[f"[`{s.name}`]({s.family}.md#{s.name})", f"`{s.family}`", escape(s.description)] for s in AGENTS.values()]
    intro = (
        "Every agent is registered in `dogym.agents.registry` (`python train.py list`) and belongs to one family, "
        "which builds, evaluates and plots it.\n\n" + table(["agent", "family", "what it does"], rows)
    )
    index_page(folder / "index.md", "Agents", intro, names)
    return names


# ---------------------------------------------------------------------------------------------------------- papers
def reproduction_pages(out: Path) -> list[str]:
    """Write reproductions/index.md and one page per paper: the committed report and figures of
    benchmarks/results/<name>/ (included, not copied: the page always shows the committed files)."""
    from dogym.experiments.papers import PAPERS

    folder = out / "reproductions"
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for name, paper in PAPERS.items():
        module, description = getattr(paper, "target", type(paper).__module__).partition(":")[0], paper.description
        results = ROOT / "benchmarks" / "results" / name
        report = results / "report.md"
        names.append(name)
        text = [
            f"# {escape(description)}\n",
            prose(module_docstring(module)),
            f"Run it: `python train.py reproduce {name}` (`--quick` checks the pipeline); results in "
            f"`benchmarks/results/{name}/`.\n",
        ]
        if report.exists():
            rel = Path("..", "..", "..", report.relative_to(ROOT)).as_posix()
            text.append(f"```{{include}} {rel}\n:relative-images:\n:heading-offset: 1\n```\n")
            shown = set(re.findall(r"!\[[^\]]*\]\(([^)]+)\)", report.read_text(encoding="utf-8")))
        else:
            text.append("No committed report yet.\n")
            shown = set()
        figures = [p for p in sorted(results.glob("*.png")) if p.name not in shown]
        if figures:
            text.append("## Figures\n")
            for figure in figures:
                rel = Path("..", "..", "..", figure.relative_to(ROOT)).as_posix()
                text.append(f"`{figure.name}`\n\n![{figure.stem}]({rel})\n")
        (folder / f"{name}.md").write_text("\n".join(text), encoding="utf-8")
    intro = (
        "`python train.py reproduce NAME` runs a paper's grid and writes its report; the pages below show the "
        "committed reports and figures.\n\n"
        + table(["name", "paper"], [[f"[`{n}`]({n}.md)", escape(PAPERS[n].description)] for n in names])
    )
    index_page(folder / "index.md", "Paper reproductions", intro, names)
    return names


# ---------------------------------------------------------------------------------------------------------- api
def walk(package: str) -> list[str]:
    """The package's modules (sub-packages walked), or the module itself."""
    module = importlib.import_module(package)
    if not hasattr(module, "__path__"):
        return [package]
    found = [m.name for m in pkgutil.walk_packages(module.__path__, package + ".") if not m.ispkg]
    return sorted(found)


def api_pages(out: Path) -> list[str]:
    """Write api/index.md and one autodoc page per entry of `API_PAGES`."""
    folder = out / "api"
    folder.mkdir(parents=True, exist_ok=True)
    for page, (title, roots) in API_PAGES.items():
        text = [f"# {title}\n"]
        for module in [m for root in roots for m in walk(root)]:
            text.append(f"## `{module}`\n\n```{{eval-rst}}\n.. automodule:: {module}\n   :members:\n```\n")
        (folder / f"{page}.md").write_text("\n".join(text), encoding="utf-8")
    index_page(folder / "index.md", "API reference", "From the docstrings.\n", API_PAGES, maxdepth=2)
    return list(API_PAGES)


# ---------------------------------------------------------------------------------------------------------- README
def readme_blocks(readme: Path = ROOT / "README.md") -> dict[str, str]:
    """The README's two set-up commands (its first two bash blocks) and its first Python example."""
    blocks = re.findall(r"```(\w+)\n(.*?)```", readme.read_text(encoding="utf-8"), flags=re.S)
    bash = [body for lang, body in blocks if lang == "bash"]
    python = [body for lang, body in blocks if lang == "python"]
    if len(bash) < 2 or not python:
        raise ValueError(f"{readme} must hold the two set-up commands (bash blocks) and a Python example")
    return {"install_and_run": bash[0], "tests": bash[1], "python_example": python[0]}


def readme_pages(out: Path) -> None:
    """Write readme/<block>.md, one fenced block each, for the getting-started page to include."""
    folder = out / "readme"
    folder.mkdir(parents=True, exist_ok=True)
    for name, body in readme_blocks().items():
        lang = "python" if name == "python_example" else "bash"
        (folder / f"{name}.md").write_text(f"```{lang}\n{body}```\n", encoding="utf-8")


def generate(out: Path = DEFAULT_OUT, images: bool = True) -> dict[str, Any]:
    """Write every generated page into `out` (replacing what was there)."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    readme_pages(out)
    return {
        "envs": env_pages(out, images),
        "agents": agent_pages(out),
        "reproductions": reproduction_pages(out),
        "api": api_pages(out),
    }


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", type=Path, default=DEFAULT_OUT, help="output folder")
    args = parser.parse_args()
    print(generate(args.out))

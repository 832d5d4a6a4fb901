"""Paper reproductions as plugins: a `Paper` names its grid of runs and writes its report; `register_paper` makes it a
choice of `train.py reproduce`, which runs the grid through the one grid runner and hands the runs to the report.

A paper from outside the repository plugs in exactly as the built-in ones do: its module subclasses `Paper` and calls
`register_paper(MyPaper())` when imported (load it with `train.py --plugin MODULE` or a `dogym.plugins` entry point).
The built-in reproductions register lazily (`LazyPaper`): their modules are imported only when they run.
"""

from __future__ import annotations

import importlib
import resource
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dogym.experiments.runner import RunConfig

__all__ = ["PAPERS", "LazyPaper", "Paper", "Reproduction", "Timing", "paper", "register_paper", "reproduce"]


@dataclass(frozen=True)
class Reproduction:
    """One invocation of `train.py reproduce`: the output folder, the seeds, and the options a paper may use
    (`timesteps` and `eval_episodes` are None when not given; a paper with a fixed budget rejects `timesteps`)."""

    out: Path
    seeds: tuple[int, ...]
    quick: bool = False
    workers: int = 1
    timesteps: int | None = None
    eval_episodes: int | None = None
    command: str = ""


@dataclass(frozen=True)
class Timing:
    """What running the grid took in this invocation: wall and CPU minutes (this process and its finished workers),
    the grid's cells and how many of them this invocation computed (the others were cached)."""

    wall_minutes: float
    cpu_minutes: float
    cells: int
    cells_run: int
    workers: int


class Paper(ABC):
    """A paper reproduction: `name` (the `reproduce` choice), a one-line `description` (authors, title, what is
    reproduced), default `seeds`, its `grid` of runs and its `report`."""

    name: str
    description: str
    seeds: tuple[int, ...]

    @abstractmethod
    def grid(self, job: Reproduction) -> list[RunConfig]:
        """Every run of the reproduction (cheapest first, so an interrupted reproduction has the most cells done)."""

    @abstractmethod
    def report(self, job: Reproduction, runs: list[dict[str, Any]], timing: Timing) -> Path:
        """Write the outputs from the runs' metrics (in `grid` order); return the Markdown report's path."""


class LazyPaper(Paper):
    """A paper registered by name and description, its `Paper` object loaded from "module:attribute" on first use."""

    def __init__(self, name: str, description: str, target: str):
        self.name, self.description, self.target = name, description, target
        self._paper: Paper | None = None

    def load(self) -> Paper:
        """The registered paper object (its module imported once)."""
        if self._paper is None:
            module, _, attribute = self.target.partition(":")
            paper = getattr(importlib.import_module(module), attribute)
            if paper.name != self.name:
                raise ValueError(f"{self.target} is paper {paper.name!r}, registered as {self.name!r}")
            self._paper = paper
        return self._paper

    @property
    def seeds(self) -> tuple[int, ...]:  # type: ignore[override]
        return self.load().seeds

    def grid(self, job: Reproduction) -> list[RunConfig]:
        return self.load().grid(job)

    def report(self, job: Reproduction, runs: list[dict[str, Any]], timing: Timing) -> Path:
        return self.load().report(job, runs, timing)


#: reproduction name -> paper, in registration order.
PAPERS: dict[str, Paper] = {}


def register_paper(paper: Paper) -> None:
    """Make `paper` a choice of `train.py reproduce`; a ValueError names the first missing or malformed piece."""
    if not isinstance(paper, Paper):
        raise ValueError(f"register_paper needs a dogym.experiments.papers.Paper, got {type(paper).__name__}")
    for key in ("name", "description"):
        value = getattr(paper, key, None)
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"paper {type(paper).__name__} has no {key} (a non-empty string)")
    if not isinstance(paper, LazyPaper):
        seeds = getattr(paper, "seeds", None)
        if not isinstance(seeds, tuple) or not seeds or not all(isinstance(s, int) for s in seeds):
            raise ValueError(f"paper {paper.name!r} has no seeds (a non-empty tuple of ints), got {seeds!r}")
    PAPERS[paper.name] = paper


def paper(name: str) -> Paper:
    """The paper registered under `name`."""
    if name not in PAPERS:
        raise ValueError(f"unknown reproduction {name!r}; available: {', '.join(PAPERS)}")
    return PAPERS[name]


def cpu_seconds() -> float:
    """CPU time (user + system) of this process and its finished child processes (the grid's workers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def reproduce(paper: Paper, job: Reproduction) -> Path:
    """Run the paper's grid (finished cells are cached under the output folder and skipped), then write its report;
    returns the report's path."""
    from dogym.experiments.grid import run_grid
    from dogym.experiments.runner import is_finished

    if not job.seeds:
        raise ValueError(f"reproduce {paper.name} needs at least one seed")
    configs = paper.grid(job)
    cached = sum(is_finished(c) for c in configs)
    start, cpu_start = time.perf_counter(), cpu_seconds()
    runs = run_grid(configs, job.workers, progress=False)
    timing = Timing((time.perf_counter() - start) / 60, (cpu_seconds() - cpu_start) / 60, len(configs),
                    len(configs) - cached, job.workers)  # fmt: skip
    return paper.report(job, runs, timing)


_BUILT_IN: Sequence[tuple[str, str]] = (
    ("faultalarm", 'Cai et al., "Learning by Doing": Table 1 (learned graphs) and Fig. 3 (causal vs vanilla RL) on '
                   "FaultAlarm"),
    ("acl", 'Hammar & Stadler, "Online Identification of IT Systems": Table 1 and Figs. 7, 17, 19'),
    ("col", 'Hammar, Alpcan and Lupu, "Causal Online Learning of Safe Regions": Table II and Figs. 6, 8, 14'),
    ("dcbo", 'Aglietti et al., "Dynamic Causal Bayesian Optimization": Tables 1-4 (gap, % optimal set) and '
             "convergence"),
    ("unknown-graph", "Unknown graph: Hammar & Stadler's rollout learner, COL and DCBO / CBO with the causal graph known, "
                      "learned online or wrong (one edge reversed)"),
)  # fmt: skip
for _name, _description in _BUILT_IN:
    register_paper(LazyPaper(_name, _description, f"dogym.experiments.papers.{_name.replace('-', '_')}:PAPER"))

# Installed plugins (`dogym.plugins` entry points) load with the registry; they may register papers too, so the
# `reproduce` choices include them. Imported last: a plugin imports this module's `Paper` and `register_paper`.
import dogym.agents.registry  # noqa: E402, F401

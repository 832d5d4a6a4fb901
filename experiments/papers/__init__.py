"""Paper reproductions, one module per paper: its grid, the paper's printed numbers, and its report.

Each module provides `DEFAULT_SEEDS`, `DESCRIPTION` and `reproduce(out_dir, seeds, *, quick, workers, timesteps,
eval_episodes, command) -> Path` (the Markdown report). `train.py reproduce <name>` finds them through `PAPERS`.
"""

from __future__ import annotations

import importlib
from types import ModuleType

#: reproduction name -> (module, one-line description); modules are imported only when run.
PAPERS: dict[str, tuple[str, str]] = {
    "faultalarm": (
        "dogym.experiments.papers.faultalarm",
        'Cai et al., "Learning by Doing": Table 1 (learned graphs) and Fig. 3 (causal vs vanilla RL) on FaultAlarm',
    ),
    "acl": (
        "dogym.experiments.papers.acl",
        'Hammar & Stadler, "Online Identification of IT Systems": Table 1 and Figs. 7, 17, 19',
    ),
    "col": (
        "dogym.experiments.papers.col",
        'Hammar, Alpcan and Lupu, "Causal Online Learning of Safe Regions": Table II and Figs. 6, 8, 14',
    ),
    "dcbo": (
        "dogym.experiments.papers.dcbo",
        'Aglietti et al., "Dynamic Causal Bayesian Optimization": Tables 1-4 (gap, % optimal set) and convergence',
    ),
}


def paper(name: str) -> ModuleType:
    """The reproduction module registered under `name`."""
    if name not in PAPERS:
        raise ValueError(f"unknown reproduction {name!r}; available: {', '.join(PAPERS)}")
    return importlib.import_module(PAPERS[name][0])

"""Event-log generators for the structure-learning benchmark: FaultAlarm-v0 and topological Hawkes processes unlike
it (Cai et al., "THP: Topological Hawkes Processes for Learning Causal Structure on Event Sequences").

Each generator setting draws, from one seed, a whole model (a random type DAG of 10-20 types, a random topology of
30-60 devices, per-edge hops and intensities, base rates) and then a stationary log of it (`simulate_events`):

- `random-dag`: exponential kernel (decay 1), hop operators D^-1 A D^-1 over hops 0-1, half the edges on the same
  device; excitation 0.5-1.5 children per cause event and hop weight; quiet base rates.
- `box-kernel`: as `random-dag` but a box kernel of random length (10^U(-1, 1) time units, one per model), which the
  exponential-kernel THP does not contain.
- `binary-3hop`: unnormalised exactly-k-hop neighbour sets over hops 0-2 (edges act at any of them).
- `noisy`: ten times the base rates of `random-dag` and weaker excitation (0.3-0.8).

FaultAlarm logs are passive-operation logs of the env (`sample_alarm_log`), with its Table-3 DAG.

External generator (benchmark-only extra `gcastle`): gCastle's `THPSimulation` (Huawei Noah's Ark Lab's causal
structure learning toolbox), written independently of this project. `GCASTLE_SETTINGS` draw a random type DAG
(`DAG.erdos_renyi`), a random device topology (`Topology.erdos_renyi`) and a log over a time horizon with gCastle's
defaults: base rates U(5e-5, 1e-4) and excitations U(0.005, 0.007) per hop, one value per edge at every hop 0..max_hop
of the exactly-k-hop neighbour sets, and each event excites over a window of Exp(mean 10) length, i.e. an exponential
kernel of decay 0.1 in expectation; timestamps are integers.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import networkx as nx
import numpy as np

from dogym.causal.structure.event_table import EventTable
from dogym.causal.structure.hawkes import (
    TopologicalHawkesModel,
    hop_operators,
    random_type_dag,
    simulate_events,
)
from dogym.envs.fault_alarm.logs import sample_alarm_log

SETTINGS = ("random-dag", "box-kernel", "binary-3hop", "noisy")


@dataclass(frozen=True)
class GCastleSetting:
    """One gCastle `THPSimulation` setting: type DAG size, topology size, max hop (gCastle's count: hops 0..max_hop)
    and the simulated horizon."""

    n_types: int
    n_type_edges: int
    n_devices: int
    n_links: int
    max_hop: int
    horizon: int


# Reported on seeds 0-4 by benchmarks/thp_gcastle.py; no THP default was chosen on any of them.
GCASTLE_SETTINGS = {
    "gcastle-1hop": GCastleSetting(10, 15, 30, 40, 1, 200_000),
    "gcastle-2hop": GCastleSetting(15, 20, 40, 50, 2, 100_000),
    "gcastle-dense-1hop": GCastleSetting(12, 20, 20, 40, 1, 150_000),
}
# For choosing THP's defaults (seeds 100+): other sizes than the reported settings.
GCASTLE_TUNING_SETTINGS = {
    "gcastle-tune-2hop": GCastleSetting(12, 18, 35, 45, 2, 80_000),
    "gcastle-tune-1hop": GCastleSetting(16, 24, 25, 40, 1, 100_000),
}
GCASTLE_DECAY = 0.1  # 1 / the mean excitation window (gCastle's `beta` = 10)


@dataclass(frozen=True)
class BenchmarkLog:
    """An event log with what a learner may use (events, hop operators) and the ground truth (graph, decay)."""

    events: EventTable
    hops: np.ndarray
    true_graph: nx.DiGraph
    true_decay: float


def generator_model(setting: str, seed: int) -> TopologicalHawkesModel:
    """The model of generator `setting` (one of `SETTINGS`) drawn from `seed`."""
    if setting not in SETTINGS:
        raise ValueError(f"setting must be one of {SETTINGS}, got {setting!r}")
    rng = np.random.default_rng([seed, 20260])
    n_types, n_devices = int(rng.integers(10, 21)), int(rng.integers(30, 61))
    graph = random_type_dag(n_types, round(1.5 * n_types), rng)
    options: dict = {
        "alpha_range": (0.5, 1.5),
        "mu_range": (0.002, 0.005),
        "same_device_fraction": 0.5,
        "decay": 1.0,
    }
    if setting == "box-kernel":
        decay = float(10 ** rng.uniform(-1.0, 1.0))  # box length 1 / decay
        options.update(kernel="box", decay=decay, alpha_range=(0.5 * decay, 1.5 * decay))
    elif setting == "binary-3hop":
        options.update(normalization="binary", max_hop=3, alpha_range=(0.2, 0.6), same_device_fraction=1 / 3)
    elif setting == "noisy":
        options.update(mu_range=(0.02, 0.05), alpha_range=(0.3, 0.8))
    return TopologicalHawkesModel.generate(graph, n_devices, int(rng.integers(2**31)), **options)


def generator_log(setting: str, n_events: int, seed: int) -> BenchmarkLog:
    """The first `n_events` events of the model of `setting` drawn from `seed`."""
    model = generator_model(setting, seed)
    events = simulate_events(model, n_events, seed)
    return BenchmarkLog(events, model.hops, model.type_graph(), model.decay)


def fault_alarm_log(n_events: int, seed: int, model_seed: int = 0) -> BenchmarkLog:
    """A passive FaultAlarm-v0 log (`model_seed` 0 is the env's default model)."""
    log = sample_alarm_log(n_events, seed, model_seed=model_seed)
    return BenchmarkLog(log.events, log.hops, log.true_graph, log.decay)


def gcastle_log(setting: str, seed: int, horizon: int | None = None) -> BenchmarkLog:
    """A log of gCastle's `THPSimulation` in `setting` (a key of `GCASTLE_SETTINGS` or `GCASTLE_TUNING_SETTINGS`) drawn from `seed` (DAG, topology
    and events; gCastle draws from numpy's global generator, which this seeds). `horizon` overrides the setting's."""
    os.environ.setdefault("TQDM_DISABLE", "1")  # gCastle's simulator prints a progress bar per generation
    from castle.datasets import DAG, THPSimulation, Topology

    settings = GCASTLE_SETTINGS | GCASTLE_TUNING_SETTINGS
    if setting not in settings:
        raise ValueError(f"setting must be one of {tuple(settings)}, got {setting!r}")
    cfg = settings[setting]
    draw = 10_000 * (1 + list(settings).index(setting)) + seed
    np.random.seed(draw)
    causal = np.asarray(DAG.erdos_renyi(n_nodes=cfg.n_types, n_edges=cfg.n_type_edges, seed=draw))
    topology = np.asarray(Topology.erdos_renyi(n_nodes=cfg.n_devices, n_edges=cfg.n_links, seed=draw))
    np.random.seed(draw)
    frame = THPSimulation(causal, topology).simulate(T=horizon or cfg.horizon, max_hop=cfg.max_hop)
    names = tuple(f"E{i}" for i in range(cfg.n_types))
    times = frame["timestamp"].to_numpy(float)
    events = EventTable(frame["event"].to_numpy(), times, frame["node"].to_numpy(), names, cfg.n_devices)
    truth = nx.DiGraph()
    truth.add_nodes_from(names)
    truth.add_edges_from((names[i], names[j]) for i, j in zip(*np.nonzero(causal), strict=True))
    hops = hop_operators(topology, cfg.max_hop + 1, normalization="binary")
    return BenchmarkLog(events, hops, truth, GCASTLE_DECAY)

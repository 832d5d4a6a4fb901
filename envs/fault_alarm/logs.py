"""Passive-operation alarm logs from FaultAlarm: the observational data that THP-style learners start from.

`passive_events` (behind `FaultAlarmEnv.observational_data`; `sample_alarm_log` wraps it for benchmarks) resets a
FaultAlarm env and then lets its branching dynamics run with no action (nothing is
ever cleared), recording every alarm born: the initial cascade of `reset`, injected root-cause and noise alarms
and all their offspring. Transient alarms that expire are still recorded at their birth.

Caps: under passive operation the cascade is supercritical and the env's caps (1000 alarms in total, 10 copies per
(device, type)) would censor the log. The sampler lifts both caps for logging (each set to the requested number of
events), so the log is an uncensored draw of the env's topological Hawkes process. If a run dies out before
`n_events` alarms (no active alarm and nothing injected for `max_idle_steps`), it simply keeps stepping: injections
restart it, so the log is one continuous sequence on one clock.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import gymnasium as gym
import networkx as nx
import numpy as np

from dogym.causal.random_streams import named_rng
from dogym.causal.structure.event_table import EventTable
from dogym.envs.fault_alarm.dynamics import BranchingDynamics


class _RecordingDynamics(BranchingDynamics):
    """Branching dynamics that also keeps every admitted alarm's (pair, birth)."""

    def reset(self) -> None:
        super().reset()
        self.log_pair: list[np.ndarray] = []
        self.log_birth: list[np.ndarray] = []

    def _append(self, pairs: np.ndarray, times: np.ndarray, parents: np.ndarray, rng: np.random.Generator) -> int:
        n_before = len(self.pair)
        added = super()._append(pairs, times, parents, rng)
        self.log_pair.append(self.pair[n_before:].copy())
        self.log_birth.append(self.birth[n_before:].copy())
        return added


@dataclass(frozen=True)
class AlarmLog:
    """A passive alarm log: the events, the device topology (undirected) and the env's true type DAG."""

    events: EventTable
    topology: nx.Graph
    true_graph: nx.DiGraph
    adjacency: np.ndarray  # (N, N) bool
    hops: np.ndarray  # (max_hop, N, N) hop operators of the generating model
    decay: float  # kernel decay of the generating model


def passive_events(env: Any, n_events: int, seed: int, max_steps: int = 100_000) -> EventTable:
    """The first `n_events` alarms that the FaultAlarm env `env` (unwrapped, branching dynamics) emits under passive
    operation after `env.reset(seed=seed)`, as an `EventTable` (no ground truth in it).

    `env` is reset and its state is left as after that reset (the log runs on a copy of its dynamics). `seed` seeds
    the reset and the propagation. Raises ValueError when fewer than `n_events` alarms appear within `max_steps`.
    """
    if n_events < 1:
        raise ValueError(f"n_events must be >= 1, got {n_events}")
    if not isinstance(env.dynamics, BranchingDynamics):
        raise ValueError(f"alarm logs need dynamics='branching', got {type(env.dynamics).__name__}")
    env.reset(seed=seed)
    config = replace(
        env.dynamics.config,
        max_alarms=max(n_events, env.dynamics.config.max_alarms),
        max_copies=max(n_events, env.dynamics.config.max_copies),
    )
    dyn = _RecordingDynamics(env.model, config, env.root_candidates, env.transient_pairs)
    dyn.reset()
    start = env.dynamics
    dyn.time = start.time
    dyn.pair, dyn.birth, dyn.expiry, dyn.parent = (
        start.pair.copy(),
        start.birth.copy(),
        start.expiry.copy(),
        start.parent.copy(),
    )
    dyn.log_pair.append(start.pair.copy())
    dyn.log_birth.append(start.birth.copy())
    rng = named_rng(seed, "passive_log")
    steps = 0
    while sum(len(p) for p in dyn.log_pair) < n_events:
        if steps >= max_steps:
            raise ValueError(f"only {sum(len(p) for p in dyn.log_pair)} alarms in max_steps={max_steps} steps")
        dyn.advance(rng)
        steps += 1
    pairs = np.concatenate(dyn.log_pair)
    births = np.concatenate(dyn.log_birth)
    order = np.argsort(births, kind="stable")[:n_events]
    device, typ = np.divmod(pairs[order], env.n_types)
    return EventTable(typ, births[order], device, tuple(env.type_names), env.n_devices)


def sample_alarm_log(
    n_events: int,
    seed: int,
    env_id: str = "dogym/FaultAlarm-v0",
    max_steps: int = 100_000,
    **env_options: Any,
) -> AlarmLog:
    """The first `n_events` alarms FaultAlarm emits under passive operation, with its topology and true graph.

    A thin wrapper over `FaultAlarmEnv.observational_data` for benchmarks (the `true_graph` field is ground truth,
    for evaluation only). `env_options` are passed to `gymnasium.make` (e.g. `model_seed`, `n_devices`); the log is
    always drawn from the branching form of the env's THP (also for `dynamics="poisson"`). Raises ValueError when
    fewer than `n_events` alarms appear within `max_steps`.
    """
    env = gym.make(env_id, **env_options)
    base = env.unwrapped
    events = base.observational_data(n_events, seed, max_steps=max_steps)
    model = base.model
    env.close()
    return AlarmLog(events, base.topology, base.true_graph, model.adjacency.copy(), model.hops.copy(), model.decay)

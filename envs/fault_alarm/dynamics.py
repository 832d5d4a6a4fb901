"""Alarm dynamics behind FaultAlarm: which alarms are active, how they spread, and what an action clears.

Two interchangeable dynamics share one interface (`AlarmDynamics`):

- `BranchingDynamics` (default): the topological Hawkes process in its branching (cluster) form. Every alarm is
  an event with a birth time and a parent (None for injected root causes, noise alarms and orphans), so clearing
  an alarm can clear exactly its descendants.
- `PoissonDynamics`: the paper's discrete-time count model (Cai et al., eqs. 27-28): per step the new alarms of each
  pair are Poisson with intensity sum_k alpha A_k kappa X_t; an action zeroes one pair. There are no parent
  links, so an action clears only the pair it targets.

Pairs are indexed p = device * n_types + type (see `dogym.causal.structure.hawkes`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from dogym.causal.structure.hawkes import TopologicalHawkesModel, draw_offspring, kernel_mass


@dataclass(frozen=True)
class DynamicsConfig:
    """Parameters shared by both dynamics (see `FaultAlarmEnv.default_config` for their meaning)."""

    time_range: float
    p_root: float
    p_noise: float
    max_copies: int
    max_alarms: int
    transient_mean_duration: float


@dataclass(frozen=True)
class Clearing:
    """What one action removed: how many alarms, and which pairs lost at least one alarm."""

    n_cleared: int
    pairs: np.ndarray


class AlarmDynamics(ABC):
    """Common interface and injection logic; subclasses hold the alarm state."""

    def __init__(
        self,
        model: TopologicalHawkesModel,
        config: DynamicsConfig,
        root_candidates: np.ndarray,
        transient_pairs: np.ndarray,
    ) -> None:
        self.model = model
        self.config = config
        self.root_candidates = root_candidates
        self.transient = np.zeros(model.n_pairs, dtype=bool)
        self.transient[transient_pairs] = True
        self.time = 0.0
        mu = model.mu / model.mu.sum()
        self._noise_pair_p = np.tile(mu, model.n_devices) / model.n_devices

    # Interface -------------------------------------------------------------------------------------------
    @abstractmethod
    def reset(self) -> None:
        """Remove every alarm and set the clock to zero."""

    @abstractmethod
    def add(self, pairs: np.ndarray, times: np.ndarray, rng: np.random.Generator) -> None:
        """Inject parentless alarms at the given pairs and times."""

    @abstractmethod
    def clear(self, pair: int) -> Clearing:
        """Remove the alarms of `pair` (and, where tracked, their descendants)."""

    @abstractmethod
    def propagate(self, start: float, end: float, rng: np.random.Generator) -> None:
        """Let the active alarms excite new ones over [start, end] and expire transient alarms."""

    @abstractmethod
    def counts(self) -> np.ndarray:
        """Active alarm count per pair, int64 (P,)."""

    @abstractmethod
    def latest_time(self) -> np.ndarray:
        """Birth time of the newest active alarm per pair (-inf where none), float64 (P,)."""

    @abstractmethod
    def root_pairs(self) -> np.ndarray:
        """Sorted pairs holding an active alarm with no active cause: the actions that clear whole cascades."""

    @property
    def n_alarms(self) -> int:
        """Number of active alarms."""
        return int(self.counts().sum())

    # Shared ----------------------------------------------------------------------------------------------
    def advance(self, rng: np.random.Generator) -> None:
        """One environment step of time: inject root-cause and noise alarms, then propagate."""
        start, end = self.time, self.time + self.config.time_range
        pairs, times = [], []
        if rng.random() < self.config.p_root:
            pairs.append(rng.choice(self.root_candidates))
            times.append(rng.uniform(start, end))
        if rng.random() < self.config.p_noise:
            pairs.append(rng.choice(self.model.n_pairs, p=self._noise_pair_p))
            times.append(rng.uniform(start, end))
        if pairs:
            self.add(np.array(pairs, dtype=np.int64), np.array(times), rng)
        self.propagate(start, end, rng)
        self.time = end

    def _expiry(self, pairs: np.ndarray, times: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Expiry time per new alarm: birth + Exp(mean duration) on transient pairs, +inf elsewhere."""
        expiry = np.full(len(pairs), np.inf)
        trans = self.transient[pairs]
        if trans.any():
            expiry[trans] = times[trans] + rng.exponential(self.config.transient_mean_duration, int(trans.sum()))
        return expiry

    def _admit(self, existing: np.ndarray, pairs: np.ndarray) -> np.ndarray:
        """Boolean mask of new alarms that fit under the per-pair cap and the total cap (first come first kept)."""
        if len(pairs) == 0:
            return np.zeros(0, dtype=bool)
        order = np.argsort(pairs, kind="stable")
        sorted_pairs = pairs[order]
        first = np.searchsorted(sorted_pairs, sorted_pairs, side="left")
        rank = np.empty(len(pairs), dtype=np.int64)
        rank[order] = np.arange(len(pairs)) - first
        keep = existing[pairs] + rank < self.config.max_copies
        room = self.config.max_alarms + 1 - int(existing.sum())
        if keep.sum() > room:
            keep[np.flatnonzero(keep)[max(room, 0) :]] = False
        return keep

    #: The attributes that make up the alarm state (besides the clock); `state()` copies them.
    STATE: tuple[str, ...] = ()

    def state(self) -> dict[str, Any]:
        """The alarm state (clock and the subclass's `STATE` arrays), copied."""
        return {"time": self.time, **{name: getattr(self, name).copy() for name in self.STATE}}

    def restore(self, state: Mapping[str, Any]) -> None:
        """Continue from `state()`."""
        self.time = state["time"]
        for name in self.STATE:
            setattr(self, name, state[name].copy())


class BranchingDynamics(AlarmDynamics):
    """THP in branching form: alarms are events with parents; cascades unfold generation by generation."""

    STATE = ("pair", "birth", "expiry", "parent")

    def reset(self) -> None:
        self.time = 0.0
        self.pair = np.zeros(0, dtype=np.int64)
        self.birth = np.zeros(0)
        self.expiry = np.zeros(0)
        self.parent = np.zeros(0, dtype=np.int64)  # index of the parent alarm, -1 for none; parent < child

    def counts(self) -> np.ndarray:
        return np.bincount(self.pair, minlength=self.model.n_pairs)

    def latest_time(self) -> np.ndarray:
        latest = np.full(self.model.n_pairs, -np.inf)
        np.maximum.at(latest, self.pair, self.birth)
        return latest

    def root_pairs(self) -> np.ndarray:
        return np.unique(self.pair[self.parent < 0])

    def add(self, pairs: np.ndarray, times: np.ndarray, rng: np.random.Generator) -> None:
        self._append(pairs, times, np.full(len(pairs), -1, dtype=np.int64), rng)

    def _append(self, pairs: np.ndarray, times: np.ndarray, parents: np.ndarray, rng: np.random.Generator) -> int:
        keep = self._admit(self.counts(), pairs)
        pairs, times, parents = pairs[keep], times[keep], parents[keep]
        self.pair = np.concatenate([self.pair, pairs])
        self.birth = np.concatenate([self.birth, times])
        self.expiry = np.concatenate([self.expiry, self._expiry(pairs, times, rng)])
        self.parent = np.concatenate([self.parent, parents])
        return len(pairs)

    def descendants_of(self, seed: np.ndarray) -> np.ndarray:
        """Boolean mask over alarms: `seed` alarms and every alarm descending from one of them."""
        marked = seed.copy()
        if not marked.any():
            return marked
        # Push the mark down one generation per pass until nothing changes (depth of the deepest cascade).
        sentinel = np.append(marked, False)
        while True:
            grown = sentinel[self.parent] | marked
            if np.array_equal(grown, marked):
                return marked
            marked = grown
            sentinel[:-1] = marked

    def clear(self, pair: int) -> Clearing:
        gone = self.descendants_of(self.pair == pair)
        n_gone = int(gone.sum())
        cleared_pairs = np.unique(self.pair[gone])
        if n_gone:
            self._remove(gone)
        return Clearing(n_gone, cleared_pairs)

    def _remove(self, gone: np.ndarray) -> None:
        keep = ~gone
        new_index = np.cumsum(keep) - 1
        parent = self.parent[keep]
        has_parent = parent >= 0
        survives = np.zeros(len(parent), dtype=bool)
        survives[has_parent] = keep[parent[has_parent]]
        parent = np.where(survives, new_index[np.maximum(parent, 0)], -1)  # children of removed alarms: orphans
        self.pair, self.birth, self.expiry, self.parent = (
            self.pair[keep],
            self.birth[keep],
            self.expiry[keep],
            parent,
        )

    def propagate(self, start: float, end: float, rng: np.random.Generator) -> None:
        """Cascade within [start, end]: active alarms excite children, children excite grandchildren, and so on."""
        gen = np.arange(len(self.pair))
        window_start = np.maximum(self.birth, start)
        while len(gen) and len(self.pair) <= self.config.max_alarms:
            window_end = np.minimum(self.expiry[gen], end)
            kids = draw_offspring(rng, self.model, self.pair[gen], self.birth[gen], window_start, window_end)
            if len(kids.pair) == 0:
                break
            n_before = len(self.pair)
            added = self._append(kids.pair, kids.time, gen[kids.parent], rng)
            gen = np.arange(n_before, n_before + added)
            window_start = self.birth[gen]
        expired = self.expiry <= end
        if expired.any():
            self._remove(expired)


class PoissonDynamics(AlarmDynamics):
    """Discrete-time count model (eqs. 27-28 of Cai et al.): X_{t+1} = X_t + Poisson(lambda(X_t)), capped.

    lambda_v(n, t+1) = sum_{v', n', k} alpha_{v',v,k} A_k[n', n] kappa X_{n',v',t} with kappa the kernel mass of
    one step; active alarms persist until cleared (transient pairs lose each alarm with probability
    time_range / mean duration per step). Injected alarms are as in the branching dynamics.
    """

    STATE = ("count", "latest", "rootless")

    def reset(self) -> None:
        self.time = 0.0
        self.count = np.zeros(self.model.n_pairs, dtype=np.int64)
        self.latest = np.full(self.model.n_pairs, -np.inf)
        self.rootless = np.zeros(self.model.n_pairs, dtype=bool)  # pairs holding an injected (parentless) alarm
        self._rates = self.model.pair_excitation()

    def counts(self) -> np.ndarray:
        return self.count.copy()

    def latest_time(self) -> np.ndarray:
        return np.where(self.count > 0, self.latest, -np.inf)

    def root_pairs(self) -> np.ndarray:
        return np.flatnonzero(self.rootless & (self.count > 0))

    def add(self, pairs: np.ndarray, times: np.ndarray, rng: np.random.Generator) -> None:
        keep = self._admit(self.count, pairs)
        np.add.at(self.count, pairs[keep], 1)
        np.maximum.at(self.latest, pairs[keep], times[keep])
        self.rootless[pairs[keep]] = True

    def clear(self, pair: int) -> Clearing:
        n = int(self.count[pair])
        self.count[pair] = 0
        self.rootless[pair] = False
        return Clearing(n, np.array([pair] if n else [], dtype=np.int64))

    def propagate(self, start: float, end: float, rng: np.random.Generator) -> None:
        width = end - start
        kappa = float(kernel_mass(self.model.decay, np.zeros(1), np.zeros(1), np.array([width]))[0])
        lam = kappa * (self.count @ self._rates)
        new = rng.poisson(lam)
        new = np.minimum(new, self.config.max_copies - self.count)
        room = self.config.max_alarms + 1 - int(self.count.sum())
        if new.sum() > room:  # keep a random subset of the new alarms within the total cap
            pool = np.repeat(np.arange(len(new)), new)
            new = np.bincount(rng.choice(pool, size=max(room, 0), replace=False), minlength=len(new))
        self.latest[new > 0] = rng.uniform(start, end, size=int((new > 0).sum()))
        self.count += new
        trans = self.transient & (self.count > 0)
        if trans.any():
            p_loss = min(1.0, width / self.config.transient_mean_duration)
            self.count[trans] -= rng.binomial(self.count[trans], p_loss)

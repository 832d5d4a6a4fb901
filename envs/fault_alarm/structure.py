"""The operator's view of a FaultAlarm network: what a real operator knows without the causal ground truth.

An operator knows the alarm types, the devices and their topology, how a step maps onto time, the hop operators of
the THP (derived from the topology) and the episode limit. It does not know the alarm-type DAG, the per-edge hops
and intensities or the base rates (those are `FaultAlarmEnv.ground_truth()`, for evaluation only).

The kernel decay of the generating process is not part of the view: THP learners choose it from the data (or the user
sets it).
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np

from dogym.causal.structure.hawkes import hop_operators


@dataclass(frozen=True, eq=False)
class AlarmStructure:
    """Structural (operator) view of a FaultAlarm env; holds no causal ground truth.

    type_names: the alarm types, in the env's type-index order (action a = device * n_types + type).
    n_devices: number of devices N.
    adjacency: (N, N) read-only bool array, the undirected device topology.
    time_range: simulated time units covered by one step.
    max_hop: number of hop operators (Table 2's "max hop 2" = hops 0 and 1).
    hop_normalization: "rw" (D^-1 A D^-1) or "sym" (D^-1/2 A D^-1/2).
    step_max: the episode limit (steps).
    """

    type_names: tuple[str, ...]
    n_devices: int
    adjacency: np.ndarray
    time_range: float
    max_hop: int
    hop_normalization: str
    step_max: int

    def __post_init__(self) -> None:
        adjacency = np.array(self.adjacency, dtype=bool)
        if adjacency.shape != (self.n_devices, self.n_devices):
            raise ValueError(f"adjacency must have shape ({self.n_devices}, {self.n_devices}), got {adjacency.shape}")
        adjacency.setflags(write=False)
        object.__setattr__(self, "adjacency", adjacency)
        object.__setattr__(self, "type_names", tuple(self.type_names))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, AlarmStructure):
            return NotImplemented
        fields = ("type_names", "n_devices", "time_range", "max_hop", "hop_normalization", "step_max")
        same = all(getattr(self, f) == getattr(other, f) for f in fields)
        return same and np.array_equal(self.adjacency, other.adjacency)

    __hash__ = None  # type: ignore[assignment]  (holds an array)

    @property
    def n_types(self) -> int:
        """Number of alarm types V."""
        return len(self.type_names)

    @property
    def n_pairs(self) -> int:
        """Number of (device, type) pairs N * V (the size of the action space)."""
        return self.n_devices * self.n_types

    @property
    def hops(self) -> np.ndarray:
        """The (max_hop, N, N) hop operators A_0 = I, A_1, ... computed from the topology."""
        return hop_operators(self.adjacency, self.max_hop, self.hop_normalization)

    @property
    def topology(self) -> nx.Graph:
        """The device topology as an undirected networkx graph over device indices."""
        return nx.from_numpy_array(self.adjacency.astype(int))

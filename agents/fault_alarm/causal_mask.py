"""The causal mask M_s(G) of Cai et al. (section 4.1) and a wrapper that hands it to mask-aware RL algorithms.

M_s(G) keeps the actions whose alarm type is among the top-K types of the causal order of G~, the learned
graph G restricted to the currently active types (G~ = G minus the inactive types). It falls back to every active
action when that leaves nothing. With probability eta (the epsilon-causal ratio) a step uses the plain
active-alarm mask instead, so the agent keeps intervening outside the causal mask and the structure learner keeps
receiving evidence about every type.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import networkx as nx
import numpy as np

from dogym.causal.graphs import causal_order
from dogym.causal.random_streams import named_rng
from dogym.envs.core import extend_info


class CausalMasker:
    """Turns a graph over type names and the active (device, type) pairs into the causal action mask."""

    def __init__(self, type_names: tuple[str, ...] | list[str], graph: nx.DiGraph, top_k: int = 3) -> None:
        if top_k < 1:
            raise ValueError(f"top_k must be >= 1, got {top_k}")
        self.type_names = tuple(type_names)
        self.top_k = top_k
        self.set_graph(graph)

    def set_graph(self, graph: nx.DiGraph) -> None:
        """Use `graph` (a DAG over some or all type names) from now on."""
        unknown = set(graph.nodes) - set(self.type_names)
        if unknown:
            raise ValueError(f"graph has nodes that are not alarm types: {sorted(unknown)}")
        full = nx.DiGraph()
        full.add_nodes_from(self.type_names)
        full.add_edges_from(graph.edges)
        index = {name: i for i, name in enumerate(self.type_names)}
        self.order = np.array([index[n] for n in causal_order(full)], dtype=np.int64)
        self.parents = [np.array([index[p] for p in full.predecessors(n)], dtype=np.int64) for n in self.type_names]
        self.graph = full

    def type_mask(self, active_types: np.ndarray) -> np.ndarray:
        """Bool per type: the top-K active types by (depth in G~, position in G's causal order)."""
        n = len(self.type_names)
        depth = np.full(n, -1, dtype=np.int64)
        for v in self.order:  # topological order, so every parent's depth is final before its children
            if active_types[v]:
                par = self.parents[v]
                par_depth = depth[par[active_types[par]]] if len(par) else depth[:0]
                depth[v] = par_depth.max() + 1 if len(par_depth) else 0
        active = self.order[active_types[self.order]]
        ranked = active[np.argsort(depth[active], kind="stable")]
        keep = np.zeros(n, dtype=bool)
        keep[ranked[: self.top_k]] = True
        return keep

    def action_mask(self, active_pairs: np.ndarray) -> np.ndarray:
        """Bool per action (device * n_types + type): active pairs whose type passes `type_mask`."""
        n_types = len(self.type_names)
        grid = np.asarray(active_pairs, dtype=bool).reshape(-1, n_types)
        mask = (grid & self.type_mask(grid.any(axis=0))[None, :]).ravel()
        return mask if mask.any() else np.asarray(active_pairs, dtype=bool).copy()


class CausalMaskWrapper(gym.Wrapper):
    """Exposes `action_masks()` = M_s(G) (or, with probability eta, the active-alarm mask) for MaskablePPO and
    the masked DQNs, and writes the same mask into `info["action_mask"]` (the env's own mask stays available as
    `info["active_mask"]`). The graph can be replaced at any time with `set_graph` (online structure learning).

    The eta coin is tossed once per state (at reset and after each step) from a generator seeded by `reset(seed)`,
    so repeated `action_masks()` calls agree and runs are reproducible.
    """

    def __init__(self, env: gym.Env, graph: nx.DiGraph, top_k: int = 3, eta: float = 0.3) -> None:
        super().__init__(env)
        if not 0.0 <= eta <= 1.0:
            raise ValueError(f"eta (epsilon-causal ratio) must be in [0, 1], got {eta}")
        self.masker = CausalMasker(env.unwrapped.type_names, graph, top_k)
        self.eta = eta
        self._rng = np.random.default_rng()
        self._mask = np.ones(env.action_space.n, dtype=bool)
        self._active = np.zeros(env.action_space.n, dtype=bool)
        self._explore = False

    def set_graph(self, graph: nx.DiGraph) -> None:
        """Switch to a new causal graph; the current state's mask is recomputed."""
        self.masker.set_graph(graph)
        self._mask = self._compute(self._active)

    @property
    def graph(self) -> nx.DiGraph:
        """The graph the mask currently uses."""
        return self.masker.graph

    def action_masks(self) -> np.ndarray:
        """The mask for the current state."""
        return self._mask.copy()

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        if seed is not None:
            self._rng = named_rng(seed, "causal_mask")
        obs, info = self.env.reset(seed=seed, options=options)
        return obs, self._update(info)

    def step(self, action: Any):
        obs, reward, terminated, truncated, info = self.env.step(action)
        return obs, reward, terminated, truncated, self._update(info)

    def state(self) -> dict[str, Any]:
        """The eta coin's generator and the current state's masks (the graph comes from the structure learner)."""
        return {"rng": self._rng.bit_generator.state, "mask": self._mask.copy(), "active": self._active.copy(),
                "explore": self._explore}  # fmt: skip

    def restore(self, state: dict[str, Any]) -> None:
        """Continue from `state()`."""
        self._rng.bit_generator.state = state["rng"]
        self._mask, self._active, self._explore = state["mask"].copy(), state["active"].copy(), state["explore"]

    def _compute(self, active: np.ndarray) -> np.ndarray:
        if not active.any():
            return np.ones_like(active)
        return active.copy() if self._explore else self.masker.action_mask(active)

    def _update(self, info: dict[str, Any]) -> dict[str, Any]:
        self._active = np.asarray(info["action_mask"], dtype=bool)
        self._explore = bool(self._rng.random() < self.eta)
        self._mask = self._compute(self._active)
        return extend_info(info, active_mask=self._active, action_mask=self._mask.copy())

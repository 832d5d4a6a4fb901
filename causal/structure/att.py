"""ATT orientation (Cai et al. eq. 5, Theorem 4.2): which alarm types are ancestors of which, from interventions.

Each intervention record says which type i was treated (its alarms on one device cleared), the per-type counts
S_j on the acted device and its topology neighbours before and after the step, and, optionally, control counts
of the same step on untreated devices. The ATT of clearing i on j is

    C^Att_{i->j} = 1/n sum_{k treated with i} [S_j^(k)(I_i = 1) - S^_j^(k)(I_i = 0)],

over the treated samples in which j was present before the action (only then can clearing i remove j). The
untreated outcome S^_j(I_i = 0) = before_j * (1 + g_j), where g_j is the per-step relative growth of type j pooled
over the control counts of all records (0 when no record has controls: alarms persist without action).

By Theorem 4.2, i is an ancestor of j iff the ATT is non-zero; clearing removes descendants, so the sign is
negative. `ATTEstimator.decide` marks i -> j as supported (significantly negative with a relative effect beyond
`min_effect`) or rejected (enough samples, no such effect), and `orient` applies those decisions to a graph:
supported pairs are oriented (a contradicting reverse edge is removed) and added, rejected edges removed, always
keeping a DAG (an addition that would close a cycle is skipped; stronger evidence is applied first).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import networkx as nx
import numpy as np


@dataclass(frozen=True)
class ATTEstimate:
    """Per ordered type pair (i, j): ATT effect C[i, j], samples n[i, j], t statistic t[i, j], relative effect
    rel[i, j] = C / mean before_j, and the decisions supported[i, j] / rejected[i, j]."""

    effect: np.ndarray
    n: np.ndarray
    t: np.ndarray
    rel: np.ndarray
    supported: np.ndarray
    rejected: np.ndarray


class ATTEstimator:
    """Accumulates intervention records over `n_types` types and estimates ATT effects for all type pairs.

    `min_samples`: treated samples needed before any decision on (i, j); `z`: one-sided significance threshold
    on the t statistic; `min_effect`: the relative drop that counts as an effect.
    """

    def __init__(self, n_types: int, min_samples: int = 5, z: float = 2.0, min_effect: float = 0.05) -> None:
        if n_types < 2:
            raise ValueError(f"n_types must be >= 2, got {n_types}")
        if min_samples < 2 or z <= 0 or not 0 < min_effect < 1:
            raise ValueError(f"need min_samples >= 2, z > 0, 0 < min_effect < 1; got {min_samples}, {z}, {min_effect}")
        self.n_types, self.min_samples, self.z, self.min_effect = n_types, min_samples, z, min_effect
        # Sufficient statistics per (acted type i, outcome type j) over records with j present before:
        # count, sum after, sum before, sum after^2, sum before^2, sum after * before. Memory stays O(V^2).
        self._stats = np.zeros((6, n_types, n_types))
        self._n_records = 0
        self._control = np.zeros((2, n_types))  # pooled control counts: before, after

    def __len__(self) -> int:
        return self._n_records

    def add(
        self,
        acted_type: int,
        before: np.ndarray,
        after: np.ndarray,
        control_before: np.ndarray | None = None,
        control_after: np.ndarray | None = None,
    ) -> None:
        """Record one effective intervention on `acted_type`: per-type counts (V,) on the treated neighbourhood
        before and after, and optionally the same on untreated devices (for the counterfactual growth)."""
        if not 0 <= int(acted_type) < self.n_types:
            raise ValueError(f"acted_type must be in [0, {self.n_types}), got {acted_type}")
        before, after = self._counts(before, "before"), self._counts(after, "after")
        present = before > 0
        a, b = np.where(present, after, 0.0), np.where(present, before, 0.0)
        self._stats[:, int(acted_type)] += np.stack([present, a, b, a * a, b * b, a * b])
        self._n_records += 1
        if control_before is not None and control_after is not None:
            self._control[0] += self._counts(control_before, "control_before")
            self._control[1] += self._counts(control_after, "control_after")

    def _counts(self, value: np.ndarray, name: str) -> np.ndarray:
        arr = np.asarray(value, dtype=float)
        if arr.shape != (self.n_types,) or not np.isfinite(arr).all() or (arr < 0).any():
            raise ValueError(f"{name} must be {self.n_types} finite non-negative counts, got {arr!r}")
        return arr

    def growth(self) -> np.ndarray:
        """Pooled per-step relative growth g_j of each type on untreated devices (0 where unobserved)."""
        before, after = self._control
        return np.divide(after - before, before, out=np.zeros(self.n_types), where=before > 0)

    def estimate(self) -> ATTEstimate:
        """ATT effects, t statistics and decisions for all ordered pairs from the records so far."""
        cnt, s_a, s_b, s_aa, s_bb, s_ab = self._stats
        f = 1.0 + self.growth()[None, :]  # counterfactual factor per outcome type j
        safe = np.maximum(cnt, 1.0)
        effect = (s_a - f * s_b) / safe
        second = (s_aa - 2.0 * f * s_ab + f * f * s_bb) / safe
        var = np.maximum(second - effect**2, 0.0) * safe / np.maximum(cnt - 1.0, 1.0)
        se = np.sqrt(var / safe)
        t = np.where(se > 1e-12, effect / np.where(se > 1e-12, se, 1.0), np.where(effect < 0, -np.inf, 0.0))
        base = s_b / safe
        rel = np.divide(effect, base, out=np.zeros_like(effect), where=base > 0)
        n = cnt.astype(np.int64)
        np.fill_diagonal(n, 0)
        enough = n >= self.min_samples
        supported = enough & (t < -self.z) & (rel < -self.min_effect)
        rejected = enough & ~supported & (rel > -self.min_effect / 2)
        return ATTEstimate(effect, n, t, rel, supported, rejected)


#: How `orient` settles a pair supported in both directions: by the larger relative drop ("relative") or by the more
#: significant t statistic ("significance").
ORIENTATION_RULES = ("relative", "significance")


def orient(graph: nx.DiGraph, estimate: ATTEstimate, type_names: Sequence[str], rule: str = "relative") -> nx.DiGraph:
    """Apply ATT decisions to `graph` (a DAG over `type_names`); returns a new DAG.

    Rejected pairs lose their edge; supported pairs gain it, strongest relative effect first. When both directions
    of a pair are supported, `rule` picks the winner: "relative" (the default), the larger relative drop (clearing a
    cause removes a large share of its effects, while the small but, with many samples, significant drops measured
    in the reverse direction come from the counterfactual's bias); "significance", the more negative t statistic.
    The default was chosen on tuning models only (`benchmarks/faultalarm_tuning.py`).
    """
    if rule not in ORIENTATION_RULES:
        raise ValueError(f"orientation rule must be one of {ORIENTATION_RULES}, got {rule!r}")
    score = estimate.rel if rule == "relative" else estimate.t
    names = list(type_names)
    out = nx.DiGraph()
    out.add_nodes_from(names)
    out.add_edges_from(graph.edges)
    for i, j in zip(*np.nonzero(estimate.rejected), strict=True):
        if out.has_edge(names[i], names[j]):
            out.remove_edge(names[i], names[j])
    pairs = list(zip(*np.nonzero(estimate.supported), strict=True))
    pairs.sort(key=lambda p: (estimate.rel[p], p))  # largest relative drop first
    for i, j in pairs:
        a, b = names[i], names[j]
        if estimate.supported[j, i] and score[j, i] <= score[i, j]:
            continue  # the reverse relation is at least as strong
        if out.has_edge(b, a):
            out.remove_edge(b, a)
        if not out.has_edge(a, b) and not nx.has_path(out, b, a):
            out.add_edge(a, b)
    return out

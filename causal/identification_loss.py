"""Loss (5) of Hammar & Stadler: per causal function, the mean squared error between the true and the estimated function over
a fixed quasi-random set covering its parents' operating region, summed over the endogenous variables."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
from scipy.stats import qmc

from dogym.causal.scm import SCM

#: An estimated causal function: parent values [n, d] -> predictions [n].
Estimate = Callable[[np.ndarray], np.ndarray]


def region_points(scm: SCM, name: str, n: int = 256, seed: int = 0) -> np.ndarray:
    """A fixed scrambled-Sobol set of n points [n, len(parents)] over the operating region of `name`'s parents.

    Bounded parents are covered uniformly (integer parents uniformly over their integers); a parent with an unbounded
    range must be exogenous and is covered through its distribution's quantile function (the measure P[dx] of (5)).
    """
    parents = scm.parents(name)
    unit = qmc.Sobol(d=len(parents), scramble=True, seed=seed).random(n)
    cols = []
    for j, parent in enumerate(parents):
        var = scm.variables[parent]
        q = unit[:, j]
        if np.isfinite(var.low) and np.isfinite(var.high):
            if var.integer:
                cols.append(np.minimum(np.floor(var.low + q * (var.high - var.low + 1)), var.high))
            else:
                cols.append(var.low + q * (var.high - var.low))
        elif parent in scm.exogenous:
            cols.append(scm.exogenous[parent].ppf(q))
        else:
            raise ValueError(f"parent {parent!r} of {name!r} has an unbounded operating region and no distribution")
    return np.stack(cols, axis=1)


class IdentificationLoss:
    """Evaluator of loss (5) for one SCM on fixed evaluation sets (built once, reused for every evaluation)."""

    def __init__(self, scm: SCM, n_points: int = 256, seed: int = 0):
        self.scm = scm
        self.points: dict[str, np.ndarray] = {v: region_points(scm, v, n_points, seed) for v in scm.endogenous}
        self.truth: dict[str, np.ndarray] = {v: scm.function(v, x) for v, x in self.points.items()}

    def per_function(self, estimates: Mapping[str, Estimate]) -> dict[str, float]:
        """Mean squared error of each estimated function against the truth on its evaluation set."""
        missing = set(self.points) - set(estimates)
        if missing:
            raise KeyError(f"no estimate for causal function(s) {sorted(missing)}")
        return {
            v: float(np.mean((np.asarray(estimates[v](x), float).reshape(-1) - self.truth[v]) ** 2))
            for v, x in self.points.items()
        }

    def __call__(self, estimates: Mapping[str, Estimate]) -> float:
        """Loss (5): the per-function errors summed over the endogenous variables."""
        return float(sum(self.per_function(estimates).values()))

"""Causal GP priors of the DCGO agents: the observational model of each method and, per time step and exploration
set, the prior mean m(x) and standard deviation sigma(x) of the interventional GP.

DCBO (Aglietti, Dhir, Gonzalez and Damoulas, "Dynamic Causal Bayesian Optimization", section 3.3) uses the dynamic
GP-SCM (`dogym.causal.dynamic_effects.DynamicGPSCM`, temporal=True): its effects condition on the realised values of
the previous slice, which carries the dynamic shift f_Y^Y(y*_{t-1}) and the past decisions. CBO (Aglietti, Gonzalez
and Damoulas, "Causal Bayesian Optimization") uses the static model (emission parents only, no conditioning on the
past); at a step without observational data CBO falls back to the standard prior (zero mean, sigma = 0).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from dogym.causal.dynamic_effects import DynamicGPSCM

Effect = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


class CausalPrior:
    """m(x) and sigma(x) of one (time step, exploration set), memoised per input row: the interventional GP evaluates
    them again and again at the same anchor and data points."""

    def __init__(self, effect: Effect) -> None:
        self._effect = effect
        self._memo: dict[bytes, tuple[float, float]] = {}

    def _lookup(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = np.asarray(x, dtype=np.float64)
        flat = x.reshape(-1, x.shape[-1])
        keys = [row.tobytes() for row in flat]
        todo = [i for i, k in enumerate(keys) if k not in self._memo]
        if todo:
            fresh = {keys[i]: i for i in todo}  # duplicates computed once
            rows = list(fresh.values())
            mean, std = self._effect(flat[rows])
            for k, m, s in zip(fresh, mean, std, strict=True):
                self._memo[k] = (float(m), float(s))
        out = np.array([self._memo[k] for k in keys]).reshape(*x.shape[:-1], 2)
        return out[..., 0], out[..., 1]

    def mean(self, x: np.ndarray) -> np.ndarray:
        """Prior mean m(x) at the rows of x [..., d]."""
        return self._lookup(x)[0]

    def std(self, x: np.ndarray) -> np.ndarray:
        """Prior standard deviation sigma(x) at the rows of x [..., d]."""
        return self._lookup(x)[1]


def observational_model(
    graph: Any, variables: Sequence[str], target: str, data: Mapping[str, np.ndarray], temporal: bool, options: Any
) -> DynamicGPSCM:
    """The method's GP-SCM fitted on the observational trajectories `data` (DCBO: temporal; CBO: static)."""
    model = DynamicGPSCM(graph, variables, target, temporal=temporal, method=options.prior,
                         n_draws=options.prior_draws, n_rows=options.prior_rows, kernel=options.obs_kernel,
                         max_points=options.obs_max_points, seed=options.obs_seed, fit=options.obs_fit,
                         prior_noise=options.prior_noise)  # fmt: skip
    return model.fit(data)


def causal_priors(
    model: DynamicGPSCM, t: int, sets: Sequence[tuple[str, ...]], past: Mapping[str, float] | None
) -> dict[tuple[str, ...], CausalPrior | None]:
    """The prior of each exploration set at time step t given the realised previous slice `past` (None: no prior
    there, i.e. the standard zero-mean prior; also where the target is no node of the slice's model, which a learned
    or wrong graph may leave)."""
    if not model.has_prior(t) or (model.target, 0) not in model.models[t].graph:
        return {s: None for s in sets}
    conditioned = past if model.temporal else None

    def effect_of(s: tuple[str, ...]) -> Effect:
        return lambda x: model.effect(t, s, x, conditioned)

    return {s: CausalPrior(effect_of(s)) for s in sets}

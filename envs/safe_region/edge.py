"""EdgeSafeRegion-v0 and EdgeSafeRegionNonStationary-v0: the edge-server example of Hammar, Alpcan and Lupu, "Causal
Online Learning of Safe Regions in Cloud Radio Access Networks", section VII (Fig. 5, Table II).

Variables: CPU allocation C and memory allocation M in [0, 1] (controllable; U' = {C, M}), load W in [0, 1]
(exogenous), response time Y (ms). Graph: C -> Y <- M, W -> Y; the adjustment set for do(C, M) is empty.
Passive operation: C, M ~ Beta(0.5, 0.5) i.i.d. per step. Scenario 1 (and scenario 2 up to t = 10):
W ~ Beta(2, 5), Y = 34.3 W + 250 (C - 0.5)^2 + 250 (M - 0.5)^2 + 200 (C - 0.5)(M - 0.5), no other noise.
Scenario 2 for t > 10: W = min(1, 0.1 + 0.1 (t - 10)) and the interaction coefficient is 350 sin(t / 2).
Specification: phi = always (Y < 50) over the judged steps of the window (H = 1). Default reading "monitor": the
H steps after the intervention step, so the true scenario-1 region at delta = 0.8 is {u : F_W((50 - q(u)) / 34.3)
>= 0.8}, area 0.4869; the literal reading (`reading="literal"`: all H + 1 steps, W i.i.d.) needs p(u)^2 >= delta,
area 0.4485. Both are exact (closed form; areas on a 1000^2 midpoint grid, boundary error < 0.003).
Cost: c(u) = sum over the targets of (1 + u_v - 0.5)^2, i.e. (1 + C - 0.5)^2 + (1 + M - 0.5)^2 for U' (in
[0.5, 4.5]); the passive do() costs 0. The clock starts at `monitoring_steps` (t0 = 10): the passive monitoring
phase t = 0, ..., t0 - 1 is `observational_data`, and intervention k's window is t0 + (k - 1)(H + 1), ...
Options: scenario (1 or 2), spec_horizon (H, 1), reading, delta (0.8), monitoring_steps (10), horizon (episode limit
in interventions, 30). Spaces, reward, info keys and errors: `dogym.envs.safe_region.base`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

from dogym.causal.intervention import Intervention
from dogym.causal.scm import SCM, Constant, Frozen, Mechanism, StructuralView, Variable
from dogym.causal.specification import Bound, Specification
from dogym.envs.core import config_choice
from dogym.envs.safe_region.base import SafeRegionEnv

LOAD_WEIGHT = 34.3
LIMIT_MS = 50.0
CHANGE_TIME = 10
LOAD = stats.beta(2, 5)
ALLOCATION = stats.beta(0.5, 0.5)


class ResponseTime:
    """f_Y(W, C, M) = 34.3 W + 250 (C - .5)^2 + 250 (M - .5)^2 + interaction (C - .5)(M - .5) (picklable)."""

    def __init__(self, interaction: float):
        self.interaction = float(interaction)

    def quadratic(self, c: np.ndarray, m: np.ndarray) -> np.ndarray:
        """The allocation part q(C, M)."""
        dc, dm = np.asarray(c) - 0.5, np.asarray(m) - 0.5
        return 250.0 * dc * dc + 250.0 * dm * dm + self.interaction * dc * dm

    def __call__(self, w: np.ndarray, c: np.ndarray, m: np.ndarray) -> np.ndarray:
        return LOAD_WEIGHT * np.asarray(w) + self.quadratic(c, m)


def edge_scm(time: int, scenario: int) -> SCM:
    """The true SCM of system time `time`."""
    changed = scenario == 2 and time > CHANGE_TIME
    load = Constant(min(1.0, 0.1 + 0.1 * (time - CHANGE_TIME))) if changed else Frozen(LOAD)
    interaction = 350.0 * np.sin(time / 2.0) if changed else 200.0
    return SCM(
        [
            Variable("W", 0.0, 1.0, controllable=False),
            Variable("C", 0.0, 1.0),
            Variable("M", 0.0, 1.0),
            Variable("Y", 0.0, np.inf, controllable=False),
        ],  # fmt: skip
        {"W": load, "C": Frozen(ALLOCATION), "M": Frozen(ALLOCATION)},
        {"Y": Mechanism(("W", "C", "M"), ResponseTime(interaction))},
    )


class EdgeSafeRegionEnv(SafeRegionEnv):
    """The edge-server safe-region env of Hammar, Alpcan and Lupu (see the module docstring).

    ## Description
    Each step holds an allocation do(C, M) over a window of H + 1 system steps and reports whether the response time
    stayed below 50 ms there; the learner estimates the safe region {u : P(phi = 1 | do(U' = u)) >= delta}.
    Options as keyword arguments.

    ## Action Space
    Dict(mask: MultiBinary(2), value: Box(2,) float64 in [0, 1]^2) over (C, M); an all-zero mask is passive operation.

    ## Observation Space
    Box(H + 1, 4) float64: the window's values of (W, C, M, Y) (zeros at reset).

    ## Rewards
    -c(u) = -sum over the targets of (1 + u_v - 0.5)^2; 0 for passive operation. info["cost"] is 1.0 when the window
    violates the specification (the safety-gymnasium convention).

    ## Termination
    Never.

    ## Truncation
    At `horizon` interventions (30); stepping further keeps working.

    ## Registered Configurations
    - `dogym/EdgeSafeRegion-v0`: `scenario=1` (stationary).
    - `dogym/EdgeSafeRegionNonStationary-v0`: `scenario=2` (the load and the interaction change after t = 10).
    """

    intervention_set = ("C", "M")

    @classmethod
    def default_config(cls) -> dict[str, Any]:
        """Every option with its default."""
        config = super().default_config()
        config.update(
            {
                "scenario": 1,  # 1: stationary (S1); 2: the load and the interaction change after t = 10 (S2)
            }
        )
        return config

    def _check_config(self, cfg: dict[str, Any]) -> None:
        super()._check_config(cfg)
        cfg["scenario"] = int(config_choice(cfg, "scenario", (1, 2), type(self).__name__))

    def __init__(self, render_mode: str | None = None, **options: Any):
        cfg = self._configure(options, render_mode)
        self.scenario = cfg["scenario"]
        self._scms: dict[int, SCM] = {}
        spec = Specification((Bound("Y", "<", LIMIT_MS),), cfg["spec_horizon"], cfg["reading"])
        self._finish_init(cfg, spec, {"C": 1.0, "M": 1.0})

    # ------------------------------------------------------------------ the system
    def scm_at(self, t: int) -> SCM:
        """Ground truth: for evaluation only. The true SCM at the first step of intervention t's window."""
        return self._scm_of_time(self.window_start(t))

    def _scm_of_time(self, time: int) -> SCM:
        key = time if self.scenario == 2 and time > CHANGE_TIME else 0
        if key not in self._scms:
            self._scms[key] = edge_scm(time, self.scenario)
        return self._scms[key]

    def structural_view(self) -> StructuralView:
        """Graph, variables and boxes, and the passive P[U] (scenario 1's)."""
        return self._scm_of_time(0).structural_view()

    def _costs_by_name(self, names: list[str], values: np.ndarray) -> np.ndarray:
        """c(u) = sum over targets of (1 + u_v - 0.5)^2."""
        return np.sum((0.5 + values) ** 2, axis=1)

    def _window(self, intervention: Intervention, start: int) -> np.ndarray:
        steps = range(self.specification.window)
        return np.concatenate(
            [self._scm_of_time(start + s).sample_array(1, self.np_random, intervention) for s in steps]
        )

    def observational_data(self, n: int, seed: int) -> dict[str, np.ndarray]:
        """Passive monitoring at system times 0, ..., n - 1 (seeded by `seed`)."""
        rng = np.random.default_rng(seed)
        rows = [self._scm_of_time(time).sample(1, rng) for time in range(int(n))]
        return {v: np.concatenate([r[v] for r in rows]) for v in self.variable_names}

    # ------------------------------------------------------------------ ground truth: for evaluation only
    def _truth_key(self, start: int) -> int:
        return start if self.scenario == 2 and start + self.specification.window - 1 > CHANGE_TIME else 0

    def _probability(self, points: np.ndarray, start: int) -> np.ndarray:
        """Exact P(phi = 1 | do(C, M)): the product over the judged steps of P(34.3 W + q(u) < 50)."""
        points = np.atleast_2d(np.asarray(points, float))
        p = np.ones(len(points))
        for step in range(self.specification.window)[self.specification.judged]:
            scm = self._scm_of_time(start + step)
            q = scm.mechanisms["Y"].fn.quadratic(points[:, 0], points[:, 1])
            load = scm.exogenous["W"]
            if isinstance(load, Constant):
                p = p * (LOAD_WEIGHT * load.value + q < LIMIT_MS)
            else:
                p = p * LOAD.cdf((LIMIT_MS - q) / LOAD_WEIGHT)
        return p

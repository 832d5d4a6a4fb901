"""ToySCM-v0: the illustrative SCM of Hammar & Stadler section VI (Fig. 6), with the STAT functions of Aglietti et al..

U ~ N(0, 0.1) (0.1 read as the variance), X = U, Z = exp(-X), Y = cos(Z) - exp(-Z/20), each endogenous variable with
additive measurement noise N(0, 0.05) (variance). Operating region X, Y in [-5, 5], Z in [-5, 20]; U is unbounded,
so interventions on U are limited to [-1, 1] (about +-3 standard deviations). All variables are controllable.
Costs (option `costs`): "paper" (default), as Hammar & Stadler section VI give them: the passive intervention do(0) is
free and every other intervention costs 1, whatever its targets; "unit": 1 per step, passive included (this package's
earlier reading, under which the cost term never changes a decision). M = 1 sample per step by default.
Options (`ToySCMEnv.default_config()`): samples_per_step (M, default 1), noise_std (measurement noise standard
deviation, default sqrt(0.05)), costs ("paper" or "unit"), horizon (episode limit in steps, default 30). See `InterventionEnv` for spaces, reward,
truncation, errors and the info keys (action_mask, cost, intervention_cost, t, variables; step only: intervention).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dogym.causal.intervention import Intervention
from dogym.causal.scm import SCM, Mechanism, Normal, Variable
from dogym.envs.core import config_choice, config_int, config_number
from dogym.envs.intervention import InterventionEnv

#: option `costs` -> cost of the passive intervention (every other intervention costs 1, whatever its targets).
PASSIVE_COSTS = {"paper": 0.0, "unit": 1.0}
U_STD = float(np.sqrt(0.1))
NOISE_STD = float(np.sqrt(0.05))


def _f_x(u: np.ndarray) -> np.ndarray:
    return u


def _f_z(x: np.ndarray) -> np.ndarray:
    return np.exp(-x)


def _f_y(z: np.ndarray) -> np.ndarray:
    return np.cos(z) - np.exp(-z / 20.0)


def toy_scm(noise_std: float = NOISE_STD) -> SCM:
    """The illustrative SCM U -> X -> Z -> Y."""
    return SCM(
        [
            Variable("U", control_bounds=(-1.0, 1.0)),
            Variable("X", -5.0, 5.0),
            Variable("Z", -5.0, 20.0),
            Variable("Y", -5.0, 5.0),
        ],
        exogenous={"U": Normal(0.0, U_STD)},
        mechanisms={
            "X": Mechanism(("U",), _f_x, noise_std),
            "Z": Mechanism(("X",), _f_z, noise_std),
            "Y": Mechanism(("Z",), _f_y, noise_std),
        },
    )


class ToySCMEnv(InterventionEnv):
    """Intervention env on the illustrative SCM U -> X -> Z -> Y of Hammar & Stadler (see the module docstring).

    ## Description
    Each step the agent picks do(X' = x') on any subset of {U, X, Z, Y} and observes M samples of the system under it
    (active causal learning of the SCM). Options as keyword arguments, e.g. `ToySCMEnv(samples_per_step=3,
    horizon=50)`; unknown or bad ones raise `EnvConfigError`.

    ## Action Space
    Dict(mask: MultiBinary(4), value: Box(4,) float64) over (U, X, Z, Y): U in [-1, 1], X and Y in [-5, 5], Z in
    [-5, 20]; an all-zero mask is the passive do(0) (`InterventionEnv`).

    ## Observation Space
    Box(M, 4) float64: M = `samples_per_step` samples of (U, X, Z, Y) under the step's intervention (zeros at reset).

    ## Rewards
    -c(do(...)): 0 for the passive do(0) and 1 for any other intervention (costs "paper"); 1 per step with "unit".

    ## Termination
    Never.

    ## Truncation
    At `horizon` steps (30); stepping further keeps working.

    ## Registered Configurations
    - `dogym/ToySCM-v0`: the defaults.
    """

    @classmethod
    def default_config(cls) -> dict[str, Any]:
        """Every option with its default."""
        config = super().default_config()
        config.update(
            {
                "samples_per_step": 1,  # M: samples of the system per step (the observation's rows)
                "noise_std": NOISE_STD,  # standard deviation of each endogenous variable's measurement noise
                "costs": "paper",  # "paper": do(0) free, every other intervention 1; "unit": 1 per step, do(0) included
            }
        )
        return config

    def _check_config(self, cfg: dict[str, Any]) -> None:
        super()._check_config(cfg)
        cfg["samples_per_step"] = config_int(cfg, "samples_per_step", type(self).__name__)
        cfg["noise_std"] = config_number(cfg, "noise_std", type(self).__name__, 0.0)
        config_choice(cfg, "costs", tuple(PASSIVE_COSTS), type(self).__name__)

    def __init__(self, render_mode: str | None = None, **options: Any):
        cfg = self._configure(options, render_mode)
        self._scm = toy_scm(cfg["noise_std"])
        super().__init__(cfg, cfg["samples_per_step"], passive_cost=PASSIVE_COSTS[cfg["costs"]])

    def scm_at(self, t: int) -> SCM:
        """Ground truth: for evaluation only. Stationary: the same SCM at every step."""
        return self._scm

    def intervention_cost(self, intervention: Intervention) -> float:
        """c(do(...)): the passive cost (0 with costs "paper", 1 with "unit") for do(0), else 1."""
        return self.passive_cost if intervention.is_passive else 1.0

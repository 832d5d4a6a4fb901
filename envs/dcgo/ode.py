"""DCGO-ODE: the planktonic predator-prey chemostat of Blasius, Rudolf, Weithoff, Gaedke and Fussmann, "Long-term
cyclic persistence in an experimental predator-prey system" (Nature 2020), as the discrete-time SCM of Aglietti, Dhir,
Gonzalez and Damoulas, "Dynamic Causal Bayesian Optimization" (NeurIPS 2021), Appendix F (eqs. 21-33).

Slice variables (one step = one day): nutrient inflow N_in, nutrient N, prey (algae) P, predator juveniles J and
adults A, eggs E, dead animals D (target, minimised). Graph (eqs. 27-33): N_in_t -> N_t <- N_{t-1}, P_{t-1};
N_t -> P_t <- P_{t-1}; P_t -> J_t <- J_{t-1}, A_{t-1}; P_t -> A_t <- A_{t-1}; P_t, A_t -> E_t <- E_{t-1};
J_t, A_t -> D_t <- D_{t-1}. With F_P(N) = r_P N / (K_P + N), F_B(P) = r_B P^kappa / (K_B^kappa + P^kappa), the
delay factor q = exp(-delta theta) and the previous slice (at t = 0: the initial state N 41.3, P 2.716, J 1.230,
A 6.152, E 0.171, D 0), `dynamics="authors_discrete"` (default) is the DCBO authors' one-step-per-day update (the
right-hand side of the ODE evaluated once, no Euler step; P without its predation and dilution terms, tau = 0):
- N_in_t = 80 (1 + e_in);  N_t = delta N_in_t - F_P(N_{t-1}) (1 + e_N) P_{t-1} - delta N_{t-1} 1_{t>0}
  (the authors drop the last term at t = 0);
- P_t = F_P(N_t) (1 + e_P) P_{t-1};  J_t = F_B(P_t) (1 + e_J) A_{t-1} q - (m + delta) J_{t-1};
- A_t = beta F_B(P_t) (1 + e_A) A_{t-1} q - (m + delta) A_{t-1};
- E_t = F_B(P_t) (1 + e_E) A_t (1 - q) - delta E_{t-1} (the authors' t = 0 form, used at every t);
- D_t = m (1 + e_D) (J_t + A_t) - delta D_{t-1}.
`dynamics="integrated"` integrates each variable's ODE (21)-(26) over the day from its previous value with its
parents held at their slice values (so the DAG is the same): dN/ds = delta N_in - F_P(N) P_{t-1} - delta N with
scipy's solve_ivp (vectorised over all evaluated points), and the linear ones in closed form:
dP/ds = (F_P(N_t) - delta) P, dJ/ds = R_J - (m + delta) J, dA/ds = beta R_J - (m + delta) A with
R_J = F_B(P_t) A_{t-1} q, dE/ds = F_B(P_t) A_t (1 - q) - delta E, dD/ds = m (J_t + A_t) - delta D.
F_P and F_B clip their argument at 0 (concentrations; the update rules can undershoot below 0, where F_P would
have a pole at N = -K_P). Parameters (Blasius et al.; the DCBO code): beta 5, delta 0.55, theta 1, kappa 1.25, tau 0, epsilon 0.25 (the
paper's Table 6 prints 0.55, the dilution rate: a typo; epsilon only enters the predation term P drops), r_P 3.3,
K_P 4.3, r_B 2.25, K_B 15, m 0.15, N_in 80.
Noise: the rates carry multiplicative noise (1 + e), e ~ N(0, 0.1^2), and the inflow e_in ~ N(0, 0.25^2) (so D^O
varies N_in; the authors' data hold it at 80). D^O: N = 4 SYNTHETIC trajectories of the passive system (the real
chemostat series C1-C4 of Blasius et al. are not available offline). Manipulative: N_in in [40, 160], J in [0, 20],
A in [0, 100]; exploration sets: the 7 non-empty subsets of {N_in, J, A} (as in the paper; BO and ABO use all
three). T = 3. Options (besides `DCGOEnv.default_config()`): dynamics ("authors_discrete" or "integrated").
Spaces, reward, info keys, errors and ground truth: `dogym.envs.dcgo.base`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np
from scipy.integrate import solve_ivp

from dogym.causal.dynamic import DynamicSCM, TimeMechanism
from dogym.causal.scm import Normal
from dogym.envs.core import config_choice
from dogym.envs.dcgo.base import DCGOEnv, DCGOSystem

BETA, DELTA, THETA, KAPPA = 5.0, 0.55, 1.0, 1.25
R_P, K_P, R_B, K_B, MORTALITY, INFLOW = 3.3, 4.3, 2.25, 15.0, 0.15, 80.0
INITIAL = {"N": 41.3, "P": 2.71605, "J": 1.2304, "A": 6.1518, "E": 0.171, "D": 0.0}
DELAY = math.exp(-DELTA * THETA)
LOSS = MORTALITY + DELTA
DOMAINS = {"N_in": (40.0, 160.0), "J": (0.0, 20.0), "A": (0.0, 100.0)}
RATE_NOISE = Normal(0.0, 0.1)
INFLOW_NOISE = Normal(0.0, 0.25)
VARIABLES = ("N_in", "N", "P", "J", "A", "E", "D")


def prey_growth(n: Any) -> Any:
    """F_P(N) = r_P N / (K_P + N), with N clipped at 0 (a concentration; the update rules can undershoot)."""
    n = np.maximum(n, 0.0)
    return R_P * n / (K_P + n)


def predation(p: Any) -> Any:
    """F_B(P) = r_B P^kappa / (K_B^kappa + P^kappa) (P clipped at 0 for the power)."""
    pk = np.maximum(p, 0.0) ** KAPPA
    return R_B * pk / (K_B**KAPPA + pk)


def _relax(start: Any, source: Any, rate: float) -> Any:
    """Exact one-day solution of dV/ds = source - rate V from V(0) = start."""
    decay = math.exp(-rate)
    return start * decay + source * (1.0 - decay) / rate


def _nutrient_ode(inflow: Any, start: Any, prey: Any, noise: Any) -> np.ndarray:
    """One day of dN/ds = delta N_in - F_P(N) (1 + e) P - delta N with solve_ivp, vectorised over the distinct
    input combinations (a grid over N_in and other variables repeats each N_in many times)."""
    inputs = np.broadcast_arrays(*(np.asarray(v, float) for v in (inflow, start, prey, noise)))
    shape = inputs[0].shape
    columns = np.stack([v.ravel() for v in inputs], axis=1)
    varying = [i for i in range(4) if columns.shape[0] > 1 and not np.all(columns[:, i] == columns[0, i])]
    if len(varying) <= 1:  # the usual case (a grid over N_in given the past): a fast 1-D unique
        key = columns[:, varying[0]] if varying else columns[:1, 0]
        _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
        rows = columns[first]
        inverse = inverse if varying else np.zeros(len(columns), dtype=int)
    else:
        rows, inverse = np.unique(columns, axis=0, return_inverse=True)
    inflow, start, prey, rate = rows[:, 0], rows[:, 1], rows[:, 2], 1.0 + rows[:, 3]

    def rhs(_s: float, n: np.ndarray) -> np.ndarray:
        n = n.reshape(len(rows), -1)
        return DELTA * inflow[:, None] - prey_growth(n) * (rate * prey)[:, None] - DELTA * n

    solution = solve_ivp(rhs, (0.0, 1.0), start, method="RK45", rtol=1e-8, atol=1e-10, vectorized=True)
    return solution.y[:, -1][inverse.ravel()].reshape(shape)


@dataclass(frozen=True)
class Chemostat:
    """The structural functions of one variable (picklable): `name` picks the equation, `first` the t = 0 form (the
    previous slice is the initial state), `integrated` the integrated dynamics."""

    name: str
    first: bool
    integrated: bool

    def __call__(self, *args: Any) -> Any:
        within = len(WITHIN[self.name])
        now, lagged, noise = args[:within], args[within:-1], args[-1]
        names = LAGGED[self.name]
        prev = {k: INITIAL[k] for k in names} if self.first else dict(zip(names, lagged, strict=True))
        return getattr(self, f"_{self.name.lower()}")(now, prev, 1.0 + noise, noise)

    def _n_in(self, now, prev, rate, noise):
        return INFLOW * rate

    def _n(self, now, prev, rate, noise):
        (inflow,) = now
        if self.integrated:
            return _nutrient_ode(inflow, prev["N"], prev["P"], noise)
        dilution = 0.0 if self.first else DELTA * prev["N"]
        return DELTA * inflow - prey_growth(prev["N"]) * rate * prev["P"] - dilution

    def _p(self, now, prev, rate, noise):
        (n,) = now
        if self.integrated:
            return prev["P"] * np.exp(prey_growth(n) * rate - DELTA)
        return prey_growth(n) * rate * prev["P"]

    def _j(self, now, prev, rate, noise):
        (p,) = now
        hatching = predation(p) * rate * prev["A"] * DELAY
        return _relax(prev["J"], hatching, LOSS) if self.integrated else hatching - LOSS * prev["J"]

    def _a(self, now, prev, rate, noise):
        (p,) = now
        maturing = BETA * predation(p) * rate * prev["A"] * DELAY
        return _relax(prev["A"], maturing, LOSS) if self.integrated else maturing - LOSS * prev["A"]

    def _e(self, now, prev, rate, noise):
        p, a = now
        laying = predation(p) * rate * a * (1.0 - DELAY)
        return _relax(prev["E"], laying, DELTA) if self.integrated else laying - DELTA * prev["E"]

    def _d(self, now, prev, rate, noise):
        j, a = now
        dying = MORTALITY * rate * (j + a)
        return _relax(prev["D"], dying, DELTA) if self.integrated else dying - DELTA * prev["D"]


#: Same-slice parents and previous-slice parents of each variable (eqs. 27-33).
WITHIN = {"N_in": (), "N": ("N_in",), "P": ("N",), "J": ("P",), "A": ("P",), "E": ("P", "A"), "D": ("J", "A")}
LAGGED = {"N_in": (), "N": ("N", "P"), "P": ("P",), "J": ("J", "A"), "A": ("A",), "E": ("E",), "D": ("D",)}


def chemostat_scm(integrated: bool = False) -> DynamicSCM:
    """The chemostat SCM: t = 0 from the initial state, then the one-day update (see module docstring)."""
    tables = []
    for first in (True, False):
        table = {}
        for name in VARIABLES:
            parents = tuple((p, 0) for p in WITHIN[name]) + (() if first else tuple((p, 1) for p in LAGGED[name]))
            table[name] = TimeMechanism(parents, Chemostat(name, first, integrated))
        tables.append(table)
    noise = {v: RATE_NOISE for v in VARIABLES} | {"N_in": INFLOW_NOISE}
    return DynamicSCM(list(VARIABLES), tables, noise)


class ODEEnv(DCGOEnv):
    """The planktonic predator-prey chemostat of Blasius et al. as a DCGO SCM (see the module docstring).

    ## Description
    Nutrient inflow and the predator stages drive the dead animals D (the minimised target); `dynamics` chooses the
    authors' one-update-per-day rule or the integrated ODEs.

    ## Action Space
    The `DCGOEnv` Dict over (N_in, J, A): mask MultiBinary(3), value Box(3,) in the domains, decide Discrete(2).

    ## Observation Space
    Box(7,) float64: (N_in, N, P, J, A, E, D) at t.

    ## Rewards
    -D_t on each decision step (D is minimised), 0 on explorations.

    ## Termination
    At the T-th decision, T = 3.

    ## Truncation
    At `horizon` (30) steps since reset, as every `DCGOEnv`.

    ## Registered Configurations
    - `dogym/DCGO-ODE-v0`: the defaults.
    """

    @classmethod
    def default_config(cls) -> dict[str, Any]:
        """Every option with its default."""
        config = super().default_config()
        config.update(
            {
                "dynamics": "authors_discrete",  # "authors_discrete": one update a day; "integrated": the ODEs over a day
            }
        )
        return config

    def _check_config(self, cfg: dict[str, Any]) -> None:
        super()._check_config(cfg)
        config_choice(cfg, "dynamics", ("authors_discrete", "integrated"), type(self).__name__)

    def _system(self, cfg: dict[str, Any]) -> DCGOSystem:
        manipulative = ("N_in", "J", "A")
        sets = tuple(s for size in (1, 2, 3) for s in combinations(manipulative, size))
        scm = chemostat_scm(cfg["dynamics"] == "integrated")
        return DCGOSystem(scm, 3, "D", manipulative, dict(DOMAINS), sets, 4)

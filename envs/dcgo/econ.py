"""DCGO-ECON: a SYNTHETIC closed economy standing in for the OECD-fitted SCM of Aglietti, Dhir, Gonzalez and
Damoulas, "Dynamic Causal Bayesian Optimization" (NeurIPS 2021), section 4.2 and Appendix E.7.

The paper fits GPs to OECD data (2000-2019) that is not available offline; this env is NOT that data. It keeps the
paper's variables and roles, with documented textbook functions, and adds the temporal edges U_{t-1} -> U_t and
G_{t-1} -> G_t (the paper's printed SCM has none, yet DCBO's dynamic term needs one). Years 2010-2012 are t = 0..2.

Variables (all in percent except U): T_t tax-revenue growth and I_t CPI inflation (manipulative, the policy levers),
G_t real GDP growth, U_t = log of the unemployment rate (target, minimised).
- T_t = mu_T(t) + e_T, e_T ~ N(0, 2^2), mu_T = (4.0, 6.0, 3.0): a function of time only, as in the paper.
- I_t = mu_I(t) + e_I, e_I ~ N(0, 1), mu_I = (1.8, 2.9, 2.1) (roughly the OECD averages of 2010-2012).
- G_t = g* + rho (G_{t-1} - g*) 1_{t>0} + b_0 1_{t=0} - a (T_t - tau*) - c (T_t - tau*)^2 - k (I_t - pi*)^2 + e_G,
  e_G ~ N(0, 1): potential growth g* = 2.0, persistence rho = 0.5, a 2010 recovery bounce b_0 = 1.0; fiscal drag
  a = 0.3 per point of tax-revenue growth above its neutral tau* = 4.0, with c = 0.02 (abrupt swings either way
  disrupt activity); inflation away from the pi* = 2 % target costs k = 0.15 (I - pi*)^2 points of growth.
- U_t = U_{t-1} 1_{t>0} + u_0 1_{t=0} - okun (G_t - g*) - phillips (I_t - pi*) + e_U, e_U ~ N(0, 0.05^2): Okun's law
  (each point of growth above potential lowers unemployment by about 0.4 points, i.e. okun = 0.05 in logs at an
  8 % rate) and a short-run Phillips curve (phillips = 0.03 per point of inflation above target); u_0 = log(8.3).
Exploration sets: the minimal intervention sets {T}, {I}, {T, I}; BO and ABO intervene on {T, I}. Domains:
T in [-5, 10], I in [-2, 6] (the paper's reported optimum puts inflation on both ends, -2 and 6). T = 3, N = 10
synthetic trajectories (the paper's "10 countries"). Options: `DCGOEnv.default_config()`. Spaces, reward, info keys,
errors and ground truth: `dogym.envs.dcgo.base`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from dogym.causal.dynamic import DynamicSCM, TimeMechanism
from dogym.causal.scm import Normal
from dogym.envs.dcgo.base import DCGOEnv, DCGOSystem

TAX_MEAN = (4.0, 6.0, 3.0)
INFLATION_MEAN = (1.8, 2.9, 2.1)
POTENTIAL_GROWTH = 2.0
GROWTH_PERSISTENCE = 0.5
RECOVERY_BOUNCE = 1.0
NEUTRAL_TAX_GROWTH = 4.0
FISCAL_DRAG = 0.3
FISCAL_CURVATURE = 0.02
INFLATION_TARGET = 2.0
INFLATION_COST = 0.15
OKUN = 0.05
PHILLIPS = 0.03
LOG_UNEMPLOYMENT_2010 = math.log(8.3)
DOMAINS = {"T": (-5.0, 10.0), "I": (-2.0, 6.0)}
NOISE = {"T": Normal(0.0, 2.0), "I": Normal(0.0, 1.0), "G": Normal(0.0, 1.0), "U": Normal(0.0, 0.05)}


@dataclass(frozen=True)
class Offset:
    """V_t = mean + e (a function of time only, one per time step)."""

    mean: float

    def __call__(self, noise: Any) -> Any:
        return self.mean + noise


def growth_policy(tax: Any, inflation: Any) -> Any:
    """The policy part of G_t: -a (T - tau*) - c (T - tau*)^2 - k (I - pi*)^2."""
    gap = tax - NEUTRAL_TAX_GROWTH
    return -FISCAL_DRAG * gap - FISCAL_CURVATURE * gap**2 - INFLATION_COST * (inflation - INFLATION_TARGET) ** 2


def growth_first(tax: Any, inflation: Any, noise: Any) -> Any:
    """G_0 = g* + b_0 + policy + e."""
    return POTENTIAL_GROWTH + RECOVERY_BOUNCE + growth_policy(tax, inflation) + noise


def growth(tax: Any, inflation: Any, previous: Any, noise: Any) -> Any:
    """G_t = g* + rho (G_{t-1} - g*) + policy + e."""
    return POTENTIAL_GROWTH + GROWTH_PERSISTENCE * (previous - POTENTIAL_GROWTH) + growth_policy(tax, inflation) + noise


def labour_market(growth_rate: Any, inflation: Any) -> Any:
    """Okun's law and the Phillips curve: -okun (G - g*) - phillips (I - pi*)."""
    return -OKUN * (growth_rate - POTENTIAL_GROWTH) - PHILLIPS * (inflation - INFLATION_TARGET)


def unemployment_first(growth_rate: Any, inflation: Any, noise: Any) -> Any:
    """U_0 = u_0 + labour market + e."""
    return LOG_UNEMPLOYMENT_2010 + labour_market(growth_rate, inflation) + noise


def unemployment(growth_rate: Any, inflation: Any, previous: Any, noise: Any) -> Any:
    """U_t = U_{t-1} + labour market + e."""
    return previous + labour_market(growth_rate, inflation) + noise


def econ_scm() -> DynamicSCM:
    """The synthetic economy's SCM (one table per year: the means of T and I change)."""
    tables = []
    for t, (tax, inflation) in enumerate(zip(TAX_MEAN, INFLATION_MEAN, strict=True)):
        first = t == 0
        tables.append(
            {
                "T": TimeMechanism((), Offset(tax)),
                "I": TimeMechanism((), Offset(inflation)),
                "G": TimeMechanism(
                    (("T", 0), ("I", 0)) + ((("G", 1),) if not first else ()), growth_first if first else growth
                ),
                "U": TimeMechanism(
                    (("G", 0), ("I", 0)) + ((("U", 1),) if not first else ()),
                    unemployment_first if first else unemployment,
                ),
            }  # fmt: skip
        )
    return DynamicSCM(["T", "I", "G", "U"], tables, NOISE)


class ECONEnv(DCGOEnv):
    """A synthetic closed economy standing in for the OECD-fitted SCM of Aglietti et al. (see the module docstring).

    ## Description
    Tax-revenue growth T and inflation I drive GDP growth G and log unemployment U (the minimised target).

    ## Action Space
    The `DCGOEnv` Dict over (T, I): mask MultiBinary(2), value Box(2,) in the domains, decide Discrete(2).

    ## Observation Space
    Box(4,) float64: (T, I, G, U) at t.

    ## Rewards
    -U_t on each decision step (U is minimised), 0 on explorations.

    ## Termination
    At the T-th decision, T = 3.

    ## Truncation
    At `horizon` (30) steps since reset, as every `DCGOEnv`.

    ## Registered Configurations
    - `dogym/DCGO-ECON-v0`: the defaults.
    """

    def _system(self, cfg: dict[str, Any]) -> DCGOSystem:
        sets = (("T",), ("I",), ("T", "I"))
        return DCGOSystem(econ_scm(), 3, "U", ("T", "I"), dict(DOMAINS), sets, 10)

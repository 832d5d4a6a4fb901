"""The synthetic DCGO envs of Aglietti, Dhir, Gonzalez and Damoulas, "Dynamic Causal Bayesian Optimization"
(NeurIPS 2021), Appendix E: STAT, NOISY, MISS, MULTIV, IND and NONSTAT (equations as in the authors' public code
where the printed text is garbled). 1_{t>0} marks terms that exist for
t > 0 only; every noise term is N(0, 1) unless stated. Spaces, reward, info keys, errors and ground truth:
`dogym.envs.dcgo.base`.

- STAT (E.1; X_t -> Z_t -> Y_t and X, Z, Y each -> itself at t + 1):
  X_t = X_{t-1} 1_{t>0} + e_X;  Z_t = exp(-X_t) + Z_{t-1} 1_{t>0} + e_Z;
  Y_t = cos(Z_t) - exp(-Z_t / 20) + Y_{t-1} 1_{t>0} + e_Y.  T = 3, N = 10, exploration sets {X}, {Z}.
- NOISY (E.2): STAT with e_X, e_Z ~ N(2, 4) (variance 4; the paper's N(2, 4)). Option observational_noise="authors":
  D^O's e_X, e_Z are the authors' (N(0, 1) + 2) * 4 = N(8, 4^2) (only D^O; outcomes keep the paper's noise).
- MISS (E.3): STAT with T = 6 and D^O for t < 3 only (NaN afterwards).
- MULTIV (E.4; W_t -> Z_t -> Y_t <- X_t): W_t = e_W;  X_t = -X_{t-1} 1_{t>0} + e_X;
  Z_t = sin(W_t) - Z_{t-1} 1_{t>0} + e_Z;
  Y_t = -2 exp(-(X_t - 1)^2 - (Z_t - 1)^2) - exp(-(X_t + 1)^2 - Z_t^2) + c_t - Y_{t-1} 1_{t>0} + e_Y with
  c_0 = cos(Z_0) and c_t = cos(Z_t Y_{t-1}) (both squared terms inside the exponentials, as in the code).
  T = 3, N = 500; exploration sets: the authors' script's five {X}, {W}, {Z}, {X, W}, {X, Z} (its minimal
  intervention sets; exploration_sets="paper" gives App. E.4's {X}, {Z}, {X, Z}).
- IND (E.5; X_t -> Y_t <- Z_t): X_t = -X_{t-1} 1_{t>0} + e_X;  Z_t = -Z_{t-1} 1_{t>0} + e_Z;
  Y_t = -2 exp(-(X_t - 1)^2 - (Z_t - 1)^2) - exp(-(X_t + 1)^2 - Z_t^2) + Y_{t-1} 1_{t>0} + e_Y (the code's form,
  without the cos term the text repeats from MULTIV). Exploration sets {X}, {Z}, {X, Z}.
- NONSTAT (E.6; the SCM and the DAG change): t = 0: X = e_X, Z = X + e_Z, Y = sqrt(|36 - (Z - 1)^2|) + 1 + e_Y;
  t = 1: X_t = X_{t-1} + e_X, Z_t = -X_t / X_{t-1} + Z_{t-1} + e_Z, Y_t = Z_t cos(pi Z_t) - Y_{t-1} + e_Y;
  t >= 2: X_t = X_{t-1} + e_X, Z_t = X_t + Z_{t-1} + e_Z, Y_t = Z_t - Y_{t-1} - Z_{t-1} + e_Y (the paper's form;
  last_step="code" uses |Z_t| in place of Z_t as the authors' code). Division guard: X_t / X_{t-1} is computed as
  X_t X_{t-1} / (X_{t-1}^2 + 1e-12), equal to the ratio wherever |X_{t-1}| >= 1e-3 (relative error < 1e-6) and 0 at
  X_{t-1} = 0 exactly (the noise-free past when X_0 was not intervened on), so outcomes stay finite.
  Exploration sets {X}, {Z}, {X, Z}.

Domains: "paper" (App. E): X in [-5, 5], Z in [-5, 20], W in [-3, 3]; "code": the authors' scripts, X in [-4, 1],
Z in [-3, 3] (STAT, NOISY, MISS, NONSTAT: the demo notebook) and [-3, 3] for X, Z, W (IND, MULTIV).
Options (besides `DCGOEnv.default_config()`): domains ("paper"); NOISY observational_noise ("paper"); MULTIV
exploration_sets ("code"); NONSTAT last_step ("paper"). n_observational None means the paper's N.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dogym.causal.dynamic import DynamicSCM, TimeMechanism
from dogym.causal.scm import Normal
from dogym.envs.core import config_choice
from dogym.envs.dcgo.base import DCGOEnv, DCGOSystem

PAPER_DOMAINS = {"X": (-5.0, 5.0), "Z": (-5.0, 20.0), "W": (-3.0, 3.0)}
DEMO_DOMAINS = {"X": (-4.0, 1.0), "Z": (-3.0, 3.0)}
SCRIPT_DOMAINS = {"X": (-3.0, 3.0), "Z": (-3.0, 3.0), "W": (-3.0, 3.0)}
#: Regulariser of NONSTAT's X_t / X_{t-1} (see module docstring).
RATIO_EPS2 = 1e-12


# ---------------------------------------------------------------------- structural functions (picklable)
def additive(*terms: Any) -> Any:
    """The sum of the terms: a root (noise only) or a variable that carries its past value plus noise."""
    return sum(terms)


def carried_negated(previous: Any, noise: Any) -> Any:
    """-V_{t-1} + e (MULTIV and IND's X and Z for t > 0)."""
    return -previous + noise


def stat_z(x: Any, *rest: Any) -> Any:
    """exp(-X_t) (+ Z_{t-1}) + e."""
    return np.exp(-x) + sum(rest)


def stat_y(z: Any, *rest: Any) -> Any:
    """cos(Z_t) - exp(-Z_t / 20) (+ Y_{t-1}) + e."""
    return np.cos(z) - np.exp(-z / 20.0) + sum(rest)


def two_bumps(x: Any, z: Any) -> Any:
    """-2 exp(-(x - 1)^2 - (z - 1)^2) - exp(-(x + 1)^2 - z^2): MULTIV's and IND's target surface."""
    return -2.0 * np.exp(-((x - 1.0) ** 2) - (z - 1.0) ** 2) - np.exp(-((x + 1.0) ** 2) - z**2)


def multiv_z(w: Any, *rest: Any) -> Any:
    """sin(W_t) (- Z_{t-1}) + e."""
    return np.sin(w) + (rest[0] if len(rest) == 1 else -rest[0] + rest[1])


def multiv_y0(x: Any, z: Any, noise: Any) -> Any:
    """Y_0 = two_bumps(X_0, Z_0) + cos(Z_0) + e."""
    return two_bumps(x, z) + np.cos(z) + noise


def multiv_y(x: Any, z: Any, y_prev: Any, noise: Any) -> Any:
    """Y_t = two_bumps(X_t, Z_t) + cos(Z_t Y_{t-1}) - Y_{t-1} + e."""
    return two_bumps(x, z) + np.cos(z * y_prev) - y_prev + noise


def ind_y(x: Any, z: Any, *rest: Any) -> Any:
    """Y_t = two_bumps(X_t, Z_t) (+ Y_{t-1}) + e."""
    return two_bumps(x, z) + sum(rest)


def nonstat_y0(z: Any, noise: Any) -> Any:
    """f: Y_0 = sqrt(|36 - (Z_0 - 1)^2|) + 1 + e."""
    return np.sqrt(np.abs(36.0 - (z - 1.0) ** 2)) + 1.0 + noise


def guarded_ratio(numerator: Any, denominator: Any) -> Any:
    """numerator / denominator, regularised: n d / (d^2 + 1e-12) (0 where d = 0; see module docstring)."""
    return numerator * denominator / (denominator * denominator + RATIO_EPS2)


def nonstat_z1(x: Any, x_prev: Any, z_prev: Any, noise: Any) -> Any:
    """g: Z_1 = -X_1 / X_0 + Z_0 + e (guarded division)."""
    return -guarded_ratio(x, x_prev) + z_prev + noise


def nonstat_y1(z: Any, y_prev: Any, noise: Any) -> Any:
    """g: Y_1 = Z_1 cos(pi Z_1) - Y_0 + e."""
    return z * np.cos(np.pi * z) - y_prev + noise


def nonstat_y2(z: Any, y_prev: Any, z_prev: Any, noise: Any) -> Any:
    """h (paper): Y_t = Z_t - Y_{t-1} - Z_{t-1} + e."""
    return z - y_prev - z_prev + noise


def nonstat_y2_code(z: Any, y_prev: Any, z_prev: Any, noise: Any) -> Any:
    """h (authors' code): Y_t = |Z_t| - Y_{t-1} - Z_{t-1} + e."""
    return np.abs(z) - y_prev - z_prev + noise


# ---------------------------------------------------------------------- the SCMs
def _m(parents: tuple[tuple[str, int], ...], fn: Any) -> TimeMechanism:
    return TimeMechanism(parents, fn)


def _carried(name: str) -> TimeMechanism:
    """V_t = V_{t-1} + e."""
    return _m(((name, 1),), additive)


ROOT = _m((), additive)


def stat_scm(noise: dict[str, Normal] | None = None) -> DynamicSCM:
    """STAT's SCM (also NOISY's and MISS's, with their noise)."""
    first = {"X": ROOT, "Z": _m((("X", 0),), stat_z), "Y": _m((("Z", 0),), stat_y)}
    later = {
        "X": _carried("X"),
        "Z": _m((("X", 0), ("Z", 1)), stat_z),
        "Y": _m((("Z", 0), ("Y", 1)), stat_y),
    }
    return DynamicSCM(["X", "Z", "Y"], [first, later], noise)


def multiv_scm() -> DynamicSCM:
    """MULTIV's SCM."""
    first = {"W": ROOT, "X": ROOT, "Z": _m((("W", 0),), multiv_z), "Y": _m((("X", 0), ("Z", 0)), multiv_y0)}
    later = {
        "W": ROOT,
        "X": _m((("X", 1),), carried_negated),
        "Z": _m((("W", 0), ("Z", 1)), multiv_z),
        "Y": _m((("X", 0), ("Z", 0), ("Y", 1)), multiv_y),
    }
    return DynamicSCM(["W", "X", "Z", "Y"], [first, later])


def ind_scm() -> DynamicSCM:
    """IND's SCM."""
    first = {"X": ROOT, "Z": ROOT, "Y": _m((("X", 0), ("Z", 0)), ind_y)}
    later = {
        "X": _m((("X", 1),), carried_negated),
        "Z": _m((("Z", 1),), carried_negated),
        "Y": _m((("X", 0), ("Z", 0), ("Y", 1)), ind_y),
    }
    return DynamicSCM(["X", "Z", "Y"], [first, later])


def nonstat_scm(last_step: str = "paper") -> DynamicSCM:
    """NONSTAT's SCM: f at t = 0, g at t = 1, h from t = 2 on."""
    f = {"X": ROOT, "Z": _m((("X", 0),), additive), "Y": _m((("Z", 0),), nonstat_y0)}
    g = {
        "X": _carried("X"),
        "Z": _m((("X", 0), ("X", 1), ("Z", 1)), nonstat_z1),
        "Y": _m((("Z", 0), ("Y", 1)), nonstat_y1),
    }
    h = {
        "X": _carried("X"),
        "Z": _m((("X", 0), ("Z", 1)), additive),
        "Y": _m((("Z", 0), ("Y", 1), ("Z", 1)), nonstat_y2 if last_step == "paper" else nonstat_y2_code),
    }
    return DynamicSCM(["X", "Z", "Y"], [f, g, h])


# ---------------------------------------------------------------------- the envs
class _SyntheticEnv(DCGOEnv):
    """Shared options of the synthetic envs: the domains ("paper" or "code")."""

    code_domains: dict[str, tuple[float, float]] = DEMO_DOMAINS

    @classmethod
    def default_config(cls) -> dict[str, Any]:
        """Every option with its default."""
        config = super().default_config()
        config.update(
            {
                "domains": "paper",  # "paper": App. E's domains; "code": the authors' scripts' domains
            }
        )
        return config

    def _check_config(self, cfg: dict[str, Any]) -> None:
        super()._check_config(cfg)
        config_choice(cfg, "domains", ("paper", "code"), type(self).__name__)

    def _domains(self, cfg: dict[str, Any], names: tuple[str, ...]) -> dict[str, tuple[float, float]]:
        table = PAPER_DOMAINS if cfg["domains"] == "paper" else self.code_domains
        return {v: table[v] for v in names}


class STATEnv(_SyntheticEnv):
    """STAT: the stationary chain X_t -> Z_t -> Y_t of Aglietti et al., Appendix E.1 (see the module docstring).

    ## Description
    Dynamic causal global optimisation of Y_t with every variable carried to the next time step.

    ## Action Space
    The `DCGOEnv` Dict over (X, Z): mask MultiBinary(2), value Box(2,) in the domains, decide Discrete(2).

    ## Observation Space
    Box(3,) float64: (X, Z, Y) at t.

    ## Rewards
    -Y_t on each decision step (Y is minimised), 0 on explorations.

    ## Termination
    At the T-th decision, T = 3.

    ## Truncation
    At `horizon` (30) steps since reset, as every `DCGOEnv`.

    ## Registered Configurations
    - `dogym/DCGO-STAT-v0`: the defaults.
    """

    def _system(self, cfg: dict[str, Any]) -> DCGOSystem:
        return DCGOSystem(stat_scm(), 3, "Y", ("X", "Z"), self._domains(cfg, ("X", "Z")), (("X",), ("Z",)), 10)


class NOISYEnv(_SyntheticEnv):
    """NOISY: STAT with shifted, wider noise on X and Z, Appendix E.2 (see the module docstring).

    ## Description
    STAT's SCM with e_X, e_Z ~ N(2, 4); `observational_noise` chooses D^O's noise.

    ## Action Space
    The `DCGOEnv` Dict over (X, Z): mask MultiBinary(2), value Box(2,) in the domains, decide Discrete(2).

    ## Observation Space
    Box(3,) float64: (X, Z, Y) at t.

    ## Rewards
    -Y_t on each decision step (Y is minimised), 0 on explorations.

    ## Termination
    At the T-th decision, T = 3.

    ## Truncation
    At `horizon` (30) steps since reset, as every `DCGOEnv`.

    ## Registered Configurations
    - `dogym/DCGO-NOISY-v0`: the defaults.
    """

    @classmethod
    def default_config(cls) -> dict[str, Any]:
        """Every option with its default."""
        config = super().default_config()
        config.update(
            {
                "observational_noise": "paper",  # D^O's e_X, e_Z: "paper" N(2, 4); "authors" N(8, 4^2) (D^O only)
            }
        )
        return config

    def _check_config(self, cfg: dict[str, Any]) -> None:
        super()._check_config(cfg)
        config_choice(cfg, "observational_noise", ("paper", "authors"), type(self).__name__)

    def _system(self, cfg: dict[str, Any]) -> DCGOSystem:
        shifted = Normal(2.0, 2.0)
        scm = stat_scm({"X": shifted, "Z": shifted})
        authors = Normal(8.0, 4.0)
        observational = {"X": authors, "Z": authors} if cfg["observational_noise"] == "authors" else {}
        domains = self._domains(cfg, ("X", "Z"))
        return DCGOSystem(scm, 3, "Y", ("X", "Z"), domains, (("X",), ("Z",)), 10, observational)


class MISSEnv(_SyntheticEnv):
    """MISS: STAT over T = 6 with D^O for t < 3 only, Appendix E.3 (see the module docstring).

    ## Description
    STAT's SCM over six time steps; the observational data miss the last three (NaN).

    ## Action Space
    The `DCGOEnv` Dict over (X, Z): mask MultiBinary(2), value Box(2,) in the domains, decide Discrete(2).

    ## Observation Space
    Box(3,) float64: (X, Z, Y) at t.

    ## Rewards
    -Y_t on each decision step (Y is minimised), 0 on explorations.

    ## Termination
    At the T-th decision, T = 6.

    ## Truncation
    At `horizon` (30) steps since reset, as every `DCGOEnv`.

    ## Registered Configurations
    - `dogym/DCGO-MISS-v0`: the defaults.
    """

    def _system(self, cfg: dict[str, Any]) -> DCGOSystem:
        domains = self._domains(cfg, ("X", "Z"))
        return DCGOSystem(stat_scm(), 6, "Y", ("X", "Z"), domains, (("X",), ("Z",)), 10, observed_steps=3)


class MULTIVEnv(_SyntheticEnv):
    """MULTIV: W_t -> Z_t -> Y_t <- X_t, Appendix E.4 (see the module docstring).

    ## Description
    Two causes of Y_t with a two-bump surface; `exploration_sets` chooses the authors' five sets or the paper's three.

    ## Action Space
    The `DCGOEnv` Dict over (W, X, Z): mask MultiBinary(3), value Box(3,) in the domains, decide Discrete(2).

    ## Observation Space
    Box(4,) float64: (W, X, Z, Y) at t.

    ## Rewards
    -Y_t on each decision step (Y is minimised), 0 on explorations.

    ## Termination
    At the T-th decision, T = 3.

    ## Truncation
    At `horizon` (30) steps since reset, as every `DCGOEnv`.

    ## Registered Configurations
    - `dogym/DCGO-MULTIV-v0`: the defaults.
    """

    code_domains = SCRIPT_DOMAINS

    @classmethod
    def default_config(cls) -> dict[str, Any]:
        """Every option with its default."""
        config = super().default_config()
        config.update(
            {
                "exploration_sets": "code",  # "code": the authors' script's 5 sets; "paper": App. E.4's {X}, {Z}, {X, Z}
            }
        )
        return config

    def _check_config(self, cfg: dict[str, Any]) -> None:
        super()._check_config(cfg)
        config_choice(cfg, "exploration_sets", ("code", "paper"), type(self).__name__)

    def _system(self, cfg: dict[str, Any]) -> DCGOSystem:
        if cfg["exploration_sets"] == "code":
            sets = (("X",), ("W",), ("Z",), ("X", "W"), ("X", "Z"))
        else:
            sets = (("X",), ("Z",), ("X", "Z"))
        domains = self._domains(cfg, ("W", "X", "Z"))
        return DCGOSystem(multiv_scm(), 3, "Y", ("W", "X", "Z"), domains, sets, 500)


class INDEnv(_SyntheticEnv):
    """IND: independent causes X_t -> Y_t <- Z_t, Appendix E.5 (see the module docstring).

    ## Description
    X and Z alternate sign over time; Y_t is the two-bump surface plus its past.

    ## Action Space
    The `DCGOEnv` Dict over (X, Z): mask MultiBinary(2), value Box(2,) in the domains, decide Discrete(2).

    ## Observation Space
    Box(3,) float64: (X, Z, Y) at t.

    ## Rewards
    -Y_t on each decision step (Y is minimised), 0 on explorations.

    ## Termination
    At the T-th decision, T = 3.

    ## Truncation
    At `horizon` (30) steps since reset, as every `DCGOEnv`.

    ## Registered Configurations
    - `dogym/DCGO-IND-v0`: the defaults.
    """

    code_domains = SCRIPT_DOMAINS

    def _system(self, cfg: dict[str, Any]) -> DCGOSystem:
        sets = (("X",), ("Z",), ("X", "Z"))
        return DCGOSystem(ind_scm(), 3, "Y", ("X", "Z"), self._domains(cfg, ("X", "Z")), sets, 10)


class NONSTATEnv(_SyntheticEnv):
    """NONSTAT: an SCM and DAG that change over time, Appendix E.6 (see the module docstring).

    ## Description
    Different mechanisms at t = 0, t = 1 and t >= 2; `last_step` chooses the paper's or the code's Y_t for t >= 2.

    ## Action Space
    The `DCGOEnv` Dict over (X, Z): mask MultiBinary(2), value Box(2,) in the domains, decide Discrete(2).

    ## Observation Space
    Box(3,) float64: (X, Z, Y) at t.

    ## Rewards
    -Y_t on each decision step (Y is minimised), 0 on explorations.

    ## Termination
    At the T-th decision, T = 3.

    ## Truncation
    At `horizon` (30) steps since reset, as every `DCGOEnv`.

    ## Registered Configurations
    - `dogym/DCGO-NONSTAT-v0`: the defaults.
    """

    @classmethod
    def default_config(cls) -> dict[str, Any]:
        """Every option with its default."""
        config = super().default_config()
        config.update(
            {
                "last_step": "paper",  # Y_t for t >= 2: "paper" with Z_t; "code" with |Z_t| (the authors' code)
            }
        )
        return config

    def _check_config(self, cfg: dict[str, Any]) -> None:
        super()._check_config(cfg)
        config_choice(cfg, "last_step", ("paper", "code"), type(self).__name__)

    def _system(self, cfg: dict[str, Any]) -> DCGOSystem:
        sets = (("X",), ("Z",), ("X", "Z"))
        domains = self._domains(cfg, ("X", "Z"))
        return DCGOSystem(nonstat_scm(cfg["last_step"]), 3, "Y", ("X", "Z"), domains, sets, 10)

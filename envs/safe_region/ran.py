"""RANCpu-v0 and RANSteering-v0: a synthetic cloud RAN reconstructing the 5G testbed of Hammar, Alpcan and Lupu,
"Causal Online Learning of Safe Regions in Cloud Radio Access Networks", section VIII (Figs. 2, 3, 10-14). The
paper's causal graph (Fig. 3) is missing from our copy; this is dogym's reconstruction from the variables the text
names and its one do-calculus example (section VI-A), with documented calibration (not fitted to testbed data).
Sources below: [VIII-A] etc. are the paper's sections; [csle] are facts from the authors' public testbed scripts
(Kim-Hammar/csle, examples/data_collection/monitoring/: which metrics they measured and how; no code is taken from
them); [A] marks a dogym assumption, chosen so that the scenarios show the paper's qualitative findings.

System: 4 DUs (i = 1..4) and 2 CUs (j = 1, 2; DUs 1-2 on CU 1, DUs 3-4 on CU 2) [Fig. 2]; cells 1-2 and 3-4 overlap
[VIII-B]. Time steps are 15-s metric windows [VIII-A]. Variables per step (names as in `variable_names`):
- controls: DU CPU C{i} and CU CPU CU{j} in [0.3, 3] cores [VIII-B], DU memory M{i} in [1, 20] GB (cost 1 each
  [VIII-C]), and the load-imbalance threshold R in [0, 5] Mbit/s (cost 0.1) [VIII-B, VIII-C]. [csle] sets them with
  `docker update --cpus/--memory` and sweeps 0.5-3.0 cores in steps of 0.1 at 20 GB;
- exogenous: offered load L{i} (Mbit/s on uplink and on downlink), TX/RX gain G{i} in [10, 50] dB [VIII-C] ([csle]
  sweeps 10, 30 and 50 dB), and the previous allocations C{i}_prev, CU{j}_prev;
- endogenous (the metrics are [csle]'s: T is the iperf3 UDP throughput, P the container's power_consumption_watts,
  J the iperf3 uplink jitter_ms, each averaged over the window):
  radio factor r(G) = 1 / (1 + e^-(G - 2)/4) [A: the emulated ZeroMQ link saturates in the gain; 0.88 of the peak
  rate at the paper's 10 dB, 0.99 at 20 dB; the 5 MHz SISO cell [VIII-A] then carries 9.5 r(G) Mbit/s uplink at 1
  core, 8.37 Mbit/s at 10 dB, between the Shannon limits [csle] evaluates for 5 MHz at SNRs of 2.2 dB (7.06 Mbit/s)
  and 10.5 dB (18.2 Mbit/s)];
  served load S{i} = min(L, 11 C r(G) min(1, M / 2)) [A: 11 Mbit/s per core];
  throughput T{i} = S{i} + N(0, 0.3^2) [A];
  power P{i} = 18 + 24 (0.75 C + 0.25 C_prev) + 0.8 S + N(0, 1) W [A: rises with the allocation as in Fig. 11; the
  spec's 95 W binds near 2.9 cores];
  CU served load SCU{j} = min(S_a + S_b, 9 CU), TCU{j} = SCU + N(0, 0.3^2), PCU{j} = 15 + 26 (0.75 CU + 0.25 CU_prev)
  + 0.3 SCU + N(0, 1) [A];
  handovers H{i}: the cell hands one UE (0.75 Mbit/s) to its neighbour when its uplink load exceeds the neighbour's
  by more than R [VIII-B]; the rule is checked 5 times per window [A], so H{i} (0-5) counts the handovers cell i
  starts; carried uplink load Lc{i} = L - 0.75 H{i} + 0.75 H{nb};
  uplink jitter J{i} = 0.8 + 1.2 rho / (1 - rho) + 0.6 (H{i} + H{nb}) + N(0, 0.15^2) ms with rho =
  min(Lc / (9.5 r(G) min(1, C / 0.5)), 0.95) [A: queueing jitter that grows with the utilisation, plus 0.6 ms per
  handover in the window (the interruption of an inter-frequency handover); J < 3.75 ms [VIII-B] then fails at
  rho > 0.71, 8 or more UEs on a cell at 10 dB, or with 5 handovers (ping-pong)].
- Confounding (section VI-A): under passive operation the allocation persists, C{i}_prev -> C{i} (it is kept with
  probability 0.9 per step, else redrawn) [A], and C{i}_prev also drives P{i} (the window straddles a
  re-allocation: a quarter of it runs on the previous cores) [A], so {C{i}_prev} is the adjustment set for do(C{i})
  on P{i} (`dogym.causal.graphs.backdoor_adjustment_set` finds it). Likewise for the CUs.
Passive monitoring (`observational_data`, the causal prior's data; the paper's 168 h are 40 320 windows) [VIII-C]:
loads U(0, 10) per DU, CPUs (DU and CU) in U(0.6, 1.0), gains U(10, 50) dB, R in U(0, 5), memory 20 GB; the
allocations and R persist as above [A].
Operating point (held for every control an intervention does not set): 1 core per DU and CU, 20 GB, R = 2.5; gains
10 dB [VIII-A]. [VIII-A] allocates 2.5 cores; dogym holds 1 core [A], inside the passive data's 0.6-1.0 so that the
passive data identify the steering effect at the operating point; the steering outcomes are the same at 1 and at 2.5
cores (the CPU does not bind above 0.5 cores). An intervention is held over its window; before it the allocation is
the operating point.

- RANCpu-v0 (testbed scenario 1): 10 Mbit/s per DU on uplink and downlink; U' = the 6 CPU controls; phi = always
  (T{i} > 5 and P{i} < 95 and TCU{j} > 5 and PCU{j} < 95 for every DU and CU), H = 20 [VIII-B]. With the others at
  1 core, a DU is safe (P(phi) >= 0.8) on [0.59, 2.78] cores (throughput 9.69 C > 5 and power 18 + 24 C + 8 < 95 at
  every judged step), a CU on [0.63, 2.76]; the true region is 0.27 of the box, and the passive data's 0.6-1.0
  cores (1e-5 of the box) leave most of it unseen. The true probability is exact: given u the judged steps
  and units are independent Gaussians (closed form).
- RANSteering-v0 (testbed scenario 2): 5 UEs per DU at the start [VIII-B]; each step each DU gains a UE with
  probability 0.15 and loses one with probability 0.15 [VIII-B]; each UE offers 0.75 Mbit/s [VIII-B]; counts stay in
  1-10 per cell [A]. [A] In a pair of overlapping cells 0.125 of the 0.15 is one UE moving across the overlap (it
  leaves one cell and joins the neighbour in the same step, re-attaching between its bursts: no handover) and the
  rest (0.0286) a UE entering or leaving the area: the paper does not say whether neighbouring DUs' arrivals are
  independent, and with independent ones steering can barely keep P(phi) above 0.95 (the pair's total, which no
  threshold balances, would then vary as much as its imbalance; `benchmarks/ran_calibration.py` shows that profile).
  Each intervention's window starts from 5 UEs per DU after SETTLE_STEPS = 10 unobserved steps under the threshold
  [A], so the load reflects R. U' = {R}; phi = always (J{i} < 3.75 for every DU), H = 5 [VIII-B]. The loads are whole
  UEs, so P(phi) is constant between multiples of 0.75: R < 0.75 (one UE's load) makes cells ping-pong UEs within
  a window (P(phi) ~ 0.12), larger R lets loads drift apart (congestion on the more loaded cell), and the true region
  at delta = 0.8 is R in [0.75, 3.75) (size 0.6; P(phi) 0.997, 0.989, 0.959 and 0.878 on its four 0.75-wide steps,
  0.74 and 0.61 above it). The true probability is exact: a forward pass over the pair's UE counts (the two pairs are
  independent). The operator knows the scenario's load model (`scenario_distributions`), which the causal prior uses
  in place of the passive data's loads.
Options: spec_horizon (20 / 5), reading, delta (0.8), monitoring_steps (the clock's start, 10), horizon (episode
limit in interventions, 30). Spaces, reward, info keys and errors: `dogym.envs.safe_region.base`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

from dogym.causal.intervention import Intervention
from dogym.causal.scm import Constant, Frozen, StructuralView, Variable
from dogym.causal.specification import Bound, Specification
from dogym.envs.core import config_choice
from dogym.envs.safe_region.base import SafeRegionEnv

DUS, CUS = (1, 2, 3, 4), (1, 2)
CU_OF = {1: 1, 2: 1, 3: 2, 4: 2}
NEIGHBOUR = {1: 2, 2: 1, 3: 4, 4: 3}
CPU_BOX, MEMORY_BOX, THRESHOLD_BOX = (0.3, 3.0), (1.0, 20.0), (0.0, 5.0)  # [VIII-B]; memory box [A]
OPERATING_POINT = {**{f"C{i}": 1.0 for i in DUS}, **{f"CU{j}": 1.0 for j in CUS}, **{f"M{i}": 20.0 for i in DUS},
                   "R": 2.5}  # fmt: skip  # memory [VIII-A]; 1 core and R = 2.5 [A] (see the module docstring)
#: TX/RX gain of every RU in both scenarios (dB) [VIII-A: "transmission and reception gains set to 10 dB"].
GAIN_DB = 10.0
#: Radio factor r(G) = 1 / (1 + exp(-(G - mid) / scale)) [A]: 0.88 at 10 dB, 0.99 at 20 dB.
RADIO_MID_DB, RADIO_SCALE_DB = 2.0, 4.0
#: Every variable kind (a kind has one variable per DU, per CU, or is R).
KINDS = ("L", "G", "C", "C_prev", "M", "S", "T", "P", "H", "Lc", "J", "CU", "CU_prev", "SCU", "TCU", "PCU", "R")
#: Peak rates (Mbit/s per core at r = 1): DU processing, CU processing, cell uplink [A].
DU_RATE, CU_RATE, UPLINK_RATE = 11.0, 9.0, 9.5
#: UE process [VIII-B]: 0.75 Mbit/s per UE, 5 UEs per DU at the start, a UE joins (leaves) a DU with probability 0.15
#: per step; counts stay in 1-10 [A].
UE_RATE, UE_START, UE_RANGE, UE_P = 0.75, 5, (1, 10), 0.15
#: [A] Of the 0.15, the probability that the joining (leaving) UE moves across the overlap from (to) the neighbour.
UE_MOVE = 0.125
#: Probability that a UE enters (leaves) a cell's area from (to) outside, so that a cell gains (loses) at least one
#: UE with probability exactly UE_P: 1 - (1 - UE_FRESH)(1 - UE_MOVE) = UE_P.
UE_FRESH = 1.0 - (1.0 - UE_P) / (1.0 - UE_MOVE)
#: A pair's step pattern: 6 independent events (bit k): a UE enters cell a, leaves cell a, enters b, leaves b, moves
#: a -> b, moves b -> a; their probabilities.
EVENT_P = np.array([UE_FRESH, UE_FRESH, UE_FRESH, UE_FRESH, UE_MOVE, UE_MOVE])
PATTERNS = 1 << len(EVENT_P)
#: Measurement noise (standard deviations) of throughput (Mbit/s), power (W) and jitter (ms) [A].
T_NOISE, P_NOISE, J_NOISE = 0.3, 1.0, 0.15
#: Jitter per handover in the window (ms) [A] and steering checks per window [A].
HANDOVER_JITTER = 0.6
STEERING_CHECKS = 5
#: Unobserved steps of the UE process under the intervention's threshold before its window [A].
SETTLE_STEPS = 10
#: Cost per intervened control: 1 for resources (CPU, memory), 0.1 for the threshold R [VIII-C].
COSTS = {**{f"C{i}": 1.0 for i in DUS}, **{f"CU{j}": 1.0 for j in CUS}, **{f"M{i}": 1.0 for i in DUS}, "R": 0.1}


def radio(gain_db: np.ndarray) -> np.ndarray:
    """Fraction of the cell's peak rate at a TX/RX gain (dB)."""
    return 1.0 / (1.0 + np.exp(-(np.asarray(gain_db) - RADIO_MID_DB) / RADIO_SCALE_DB))


def served(load, gain, cpu, memory):
    """S: the load a DU serves (Mbit/s per direction)."""
    return np.minimum(load, DU_RATE * cpu * radio(gain) * np.minimum(1.0, memory / 2.0))


def du_power(cpu, cpu_prev, load_served):
    """Mean DU power (W)."""
    return 18.0 + 24.0 * (0.75 * cpu + 0.25 * cpu_prev) + 0.8 * load_served


def cu_served(served_a, served_b, cpu):
    """SCU: the load a CU serves for its two DUs."""
    return np.minimum(served_a + served_b, CU_RATE * cpu)


def cu_power(cpu, cpu_prev, load_served):
    """Mean CU power (W)."""
    return 15.0 + 26.0 * (0.75 * cpu + 0.25 * cpu_prev) + 0.3 * load_served


def jitter(carried, gain, cpu, handovers):
    """Mean uplink jitter (ms) at a carried uplink load with `handovers` (0-10) involving the cell."""
    rho = np.minimum(carried / (UPLINK_RATE * radio(gain) * np.minimum(1.0, cpu / 0.5)), 0.95)
    return 0.8 + 1.2 * rho / (1.0 - rho) + HANDOVER_JITTER * handovers


def neighbours(values: np.ndarray) -> np.ndarray:
    """Each DU's neighbour's value (DU order 2, 1, 4, 3) for values [..., 4]."""
    return values.reshape(*values.shape[:-1], 2, 2)[..., ::-1].reshape(values.shape)


def steer(load: np.ndarray, threshold: np.ndarray) -> np.ndarray:
    """Handovers each cell initiates within a window [..., 4]: STEERING_CHECKS times per window, the more loaded cell
    of a pair hands one UE (0.75 Mbit/s) to its neighbour when their load difference exceeds R (pairs 1-2, 3-4)."""
    r = np.asarray(threshold, dtype=np.float64)[..., None]
    a, b = load[..., 0::2].astype(np.float64), load[..., 1::2].astype(np.float64)
    given_a, given_b = np.zeros(a.shape), np.zeros(b.shape)
    for _ in range(STEERING_CHECKS):
        a_to_b, b_to_a = a - b > r, b - a > r
        move = UE_RATE * (a_to_b.astype(np.float64) - b_to_a)
        a, b = a - move, b + move
        given_a, given_b = given_a + a_to_b, given_b + b_to_a
    return np.stack([given_a, given_b], axis=-1).reshape(*given_a.shape[:-1], -1)


def _bits() -> np.ndarray:
    """The event bits of every step pattern [PATTERNS, 6] (bit k as `EVENT_P`)."""
    return (np.arange(PATTERNS)[:, None] >> np.arange(len(EVENT_P))) & 1


def pattern_probabilities(events: np.ndarray) -> np.ndarray:
    """Each step pattern's probability [PATTERNS] when its 6 events (as `EVENT_P`) happen independently with the
    probabilities `events`."""
    return np.prod(np.where(_bits() == 1, np.asarray(events, np.float64), 1.0 - np.asarray(events, np.float64)), 1)


def _pair_counts() -> np.ndarray:
    """UE counts of a cell pair after the step's events, before steering: [100 states, PATTERNS, 2 cells]. State
    (a - 1) * 10 + (b - 1) holds a and b UEs."""
    low, high = UE_RANGE
    a, b = np.divmod(np.arange(100), 10)
    bits = _bits()
    change_a = bits[:, 0] - bits[:, 1] - bits[:, 4] + bits[:, 5]
    change_b = bits[:, 2] - bits[:, 3] + bits[:, 4] - bits[:, 5]
    counts_a = np.clip(a[:, None] + 1 + change_a, low, high)
    counts_b = np.clip(b[:, None] + 1 + change_b, low, high)
    return np.stack([counts_a, counts_b], axis=-1)


PRE_STEER, PATTERN_P = _pair_counts(), pattern_probabilities(EVENT_P)
START_STATE = (UE_START - 1) * 10 + UE_START - 1


def steering_key(threshold: float) -> int:
    """How many of the load differences k UE_RATE (k = -20..20) exceed the threshold R. `steer` only ever compares
    such differences with R (loads are whole UEs of UE_RATE = 0.75 Mbit/s, exact in floating point), so thresholds with
    the same key give identical `pair_tables`."""
    return int(np.count_nonzero(UE_RATE * np.arange(-20, 21) > threshold))


def pair_tables(threshold: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For thresholds R [...]: the next pair state and each cell's initiated handovers [..., 100, PATTERNS(, 2)]
    after the window's steering (`steer`); counts stay within the cells' range."""
    low, high = UE_RANGE
    shape = (*np.shape(threshold), 100, PATTERNS)
    r = np.broadcast_to(np.asarray(threshold, dtype=np.float64)[..., None, None], shape)
    given = steer(UE_RATE * PRE_STEER, r)
    after = np.clip(PRE_STEER - given + given[..., ::-1], low, high).astype(np.int64)
    return (after[..., 0] - 1) * 10 + (after[..., 1] - 1), given


def pair_probability(
    threshold: float, cpu: np.ndarray, limits: np.ndarray, window: int, judged: slice, patterns: np.ndarray = PATTERN_P
) -> float:
    """Exact P(J < limits on both cells of a pair at every judged step) for one threshold: a forward pass over the
    pair's UE counts from START_STATE through SETTLE_STEPS unjudged steps and the window's `window` steps (`judged`
    indexes them). cpu and limits [2]: the cells' CPU allocations and jitter limits (ms); gains GAIN_DB; `patterns`:
    the step patterns' probabilities (`pattern_probabilities`)."""
    nxt, given = pair_tables(np.array(threshold))
    after = PRE_STEER - given + given[..., ::-1]
    mean = jitter(UE_RATE * after, GAIN_DB, np.asarray(cpu, np.float64), given.sum(-1, keepdims=True))
    ok = stats.norm.cdf((np.asarray(limits, np.float64) - mean) / J_NOISE).prod(-1)  # [100, PATTERNS]
    steps = np.arange(window)[judged]
    alpha = np.zeros(100)
    alpha[START_STATE] = 1.0
    for s in range(SETTLE_STEPS + window):
        weight = alpha[:, None] * patterns
        if s - SETTLE_STEPS in steps:
            weight = weight * ok
        alpha = np.bincount(nxt.ravel(), weight.ravel(), minlength=100)
    return float(alpha.sum())


def _arrivals(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Step patterns of cell pairs [*shape] (bits as `EVENT_P`, each event with its probability)."""
    bits = rng.random((*shape, len(EVENT_P))) < EVENT_P
    return (bits * (1 << np.arange(len(EVENT_P)))).sum(-1)


def ran_view() -> StructuralView:
    """The reconstructed slice graph with passive P[U] (see the module docstring)."""
    uniform = stats.uniform
    variables = [Variable("R", 0.0, 5.0)]
    exogenous: dict[str, Any] = {"R": Frozen(uniform(0.0, 5.0))}
    parents: dict[str, tuple[str, ...]] = {}
    for i in DUS:
        nb, u = NEIGHBOUR[i], f"{i}"
        variables += [Variable(f"L{u}", 0.0, 10.0, controllable=False), Variable(f"G{u}", 10.0, 50.0, controllable=False),
                      Variable(f"C{u}_prev", *CPU_BOX, controllable=False), Variable(f"C{u}", *CPU_BOX),
                      Variable(f"M{u}", *MEMORY_BOX)]  # fmt: skip
        exogenous.update({f"L{u}": Frozen(uniform(0.0, 10.0)), f"G{u}": Frozen(uniform(10.0, 40.0)),
                          f"C{u}_prev": Frozen(uniform(0.6, 0.4)), f"M{u}": Constant(20.0)})  # fmt: skip
        parents.update({f"C{u}": (f"C{u}_prev",), f"S{u}": (f"L{u}", f"G{u}", f"C{u}", f"M{u}"), f"T{u}": (f"S{u}",),
                        f"P{u}": (f"C{u}", f"C{u}_prev", f"S{u}"), f"H{u}": (f"L{u}", f"L{nb}", "R"),
                        f"Lc{u}": (f"L{u}", f"H{u}", f"H{nb}"), f"J{u}": (f"Lc{u}", f"G{u}", f"C{u}", f"H{u}", f"H{nb}")})  # fmt: skip
        variables += [Variable(f"{k}{u}", 0.0, np.inf, controllable=False) for k in ("S", "T", "P", "H", "Lc", "J")]
    for j in CUS:
        a, b = (i for i in DUS if CU_OF[i] == j)
        variables += [Variable(f"CU{j}_prev", *CPU_BOX, controllable=False), Variable(f"CU{j}", *CPU_BOX)]
        variables += [Variable(f"{k}CU{j}", 0.0, np.inf, controllable=False) for k in ("S", "T", "P")]
        exogenous[f"CU{j}_prev"] = Frozen(uniform(0.6, 0.4))
        parents.update({f"CU{j}": (f"CU{j}_prev",), f"SCU{j}": (f"S{a}", f"S{b}", f"CU{j}"), f"TCU{j}": (f"SCU{j}",),
                        f"PCU{j}": (f"CU{j}", f"CU{j}_prev", f"SCU{j}")})  # fmt: skip
    return StructuralView(variables, exogenous, parents)


def _columns(values: dict[str, np.ndarray], prefix: str, units: tuple[int, ...]) -> np.ndarray:
    return np.stack([values[f"{prefix}{k}"] for k in units], axis=-1)


def outcomes(load, gain, cpu, cpu_prev, memory, cu, cu_prev, threshold, rng, handovers=None) -> dict[str, np.ndarray]:
    """Every endogenous kind (S, T, P, H, Lc, J [..., 4]; SCU, TCU, PCU [..., 2]) for inputs with a trailing DU axis
    [..., 4] (CU inputs [..., 2], R [...]): the mechanisms of the module docstring, with noise from `rng`.
    `handovers` overrides the steering decision."""
    s = served(load, gain, cpu, memory)
    h = steer(load, threshold) if handovers is None else handovers
    h_nb = neighbours(h)
    carried = load - UE_RATE * h + UE_RATE * h_nb
    scu = cu_served(s[..., 0::2], s[..., 1::2], cu)
    noise = rng.standard_normal((5, *load.shape))
    return {
        "S": s, "T": s + T_NOISE * noise[0], "P": du_power(cpu, cpu_prev, s) + P_NOISE * noise[1], "H": h,
        "Lc": carried, "J": jitter(carried, gain, cpu, h + h_nb) + J_NOISE * noise[2],
        "SCU": scu, "TCU": scu + T_NOISE * noise[3][..., :2], "PCU": cu_power(cu, cu_prev, scu) + P_NOISE * noise[4][..., :2],
    }  # fmt: skip


def unit_names(kind: str) -> list[str]:
    """The variable names of a kind ("C" -> C1..C4, "CU_prev" -> CU1_prev, CU2_prev, "R" -> R)."""
    if kind == "R":
        return ["R"]
    base, _, suffix = kind.partition("_")
    units = CUS if base.endswith("CU") else DUS
    return [f"{base}{u}{'_' + suffix if suffix else ''}" for u in units]


def named(kinds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per-variable arrays from arrays by kind with a trailing unit axis (R has none)."""
    values = {}
    for kind, array in kinds.items():
        if kind == "R":
            values["R"] = array
        else:
            values |= {name: array[..., k] for k, name in enumerate(unit_names(kind))}
    return values


def persistent(rng: np.random.Generator, n: int, width: int, low: float, high: float, keep: float = 0.9) -> np.ndarray:
    """[n + 1, width] values that persist with probability `keep` per step, else are redrawn from U(low, high)."""
    fresh = rng.uniform(low, high, (n + 1, width))
    change = rng.random((n + 1, width)) > keep
    change[0] = True
    last = np.maximum.accumulate(np.where(change, np.arange(n + 1)[:, None], 0), axis=0)
    return np.take_along_axis(fresh, last, axis=0)


class RANEnv(SafeRegionEnv):
    """The synthetic cloud RAN of Hammar, Alpcan and Lupu's testbed (see the module docstring).

    ## Description
    Each step holds an intervention on the RAN's controls over a window of H + 1 metric windows and reports whether
    the specification held there; `scenario` "cpu" (throughput and power of DUs and CUs under CPU allocations) or
    "steering" (uplink jitter under the load-imbalance threshold R) picks the testbed scenario.

    ## Action Space
    Dict(mask: MultiBinary(11), value: Box(11,) float64) over the controllable variables (CPU of 4 DUs and 2 CUs in
    [0.3, 3] cores, DU memory in [1, 20] GB, R in [0, 5] Mbit/s); U' is the 6 CPU controls ("cpu") or {R}
    ("steering"), and controls not set hold the operating point.

    ## Observation Space
    Box(H + 1, n_vars) float64: the window's values of every variable of the reconstructed graph (zeros at reset).

    ## Rewards
    -c(u): 1 per intervened resource control, 0.1 for R; 0 for passive operation. info["cost"] is 1.0 when the window
    violates the specification.

    ## Termination
    Never.

    ## Truncation
    At `horizon` interventions (30); stepping further keeps working.

    ## Registered Configurations
    - `dogym/RANCpu-v0`: `scenario='cpu'` (H = 20).
    - `dogym/RANSteering-v0`: `scenario='steering'` (H = 5).
    """

    SCENARIOS = {"cpu": (("C1", "C2", "C3", "C4", "CU1", "CU2"), 20), "steering": (("R",), 5)}

    @classmethod
    def default_config(cls) -> dict[str, Any]:
        """Every option with its default (spec_horizon is the scenario's H unless given)."""
        config = super().default_config()
        config.update(
            {
                "scenario": "cpu",  # "cpu": U' = the 6 CPU controls (RANCpu); "steering": U' = {R} (RANSteering)
                "spec_horizon": None,  # H: the window is H + 1 steps; None: the scenario's (cpu 20, steering 5)
            }
        )
        return config

    def _check_config(self, cfg: dict[str, Any]) -> None:
        cfg["scenario"] = config_choice(cfg, "scenario", tuple(self.SCENARIOS), type(self).__name__)
        if cfg["spec_horizon"] is None:
            cfg["spec_horizon"] = self.SCENARIOS[cfg["scenario"]][1]
        super()._check_config(cfg)

    def __init__(self, render_mode: str | None = None, **options: Any):
        cfg = self._configure(options, render_mode)
        self.scenario, self.intervention_set = cfg["scenario"], self.SCENARIOS[cfg["scenario"]][0]
        self._view = ran_view()
        self._cache: dict[bytes, np.ndarray] = {}
        self._tables: dict[int, tuple[np.ndarray, list[int]]] = {}  # by `steering_key` (at most 42)
        self._pairs: dict[tuple[int, bytes], float] = {}  # by steering_key, the cells' cpu and jitter limits
        names = self._view.names
        stacked = [name for kind in KINDS for name in unit_names(kind)]  # the column order of `_window`'s stack
        self._columns = np.array([stacked.index(v) for v in names])
        if self.scenario == "cpu":
            bounds = [Bound(f"T{i}", ">", 5.0) for i in DUS] + [Bound(f"P{i}", "<", 95.0) for i in DUS]
            bounds += [Bound(f"TCU{j}", ">", 5.0) for j in CUS] + [Bound(f"PCU{j}", "<", 95.0) for j in CUS]
        else:
            bounds = [Bound(f"J{i}", "<", 3.75) for i in DUS]
        self._finish_init(cfg, Specification(tuple(bounds), cfg["spec_horizon"], cfg["reading"]), COSTS)

    # ------------------------------------------------------------------ operator knowledge
    def scm_at(self, t: int) -> StructuralView:
        """The structure shared by every step (the simulator is the ground truth; there is no closed SCM)."""
        return self._view

    def structural_view(self) -> StructuralView:
        """The reconstructed graph, variables and boxes, and the passive P[U]."""
        return self._view

    @property
    def scenario_context(self) -> dict[str, float]:
        """The scenario's known conditions: gains, operating-point allocations, and (CPU scenario) the loads."""
        context = {f"G{i}": GAIN_DB for i in DUS} | {k: v for k, v in OPERATING_POINT.items()
                                                     if k not in self.intervention_set}  # fmt: skip
        if self.scenario == "cpu":
            context |= {f"L{i}": 10.0 for i in DUS}
        return context

    @property
    def scenario_distributions(self) -> dict[str, Any]:
        """Steering scenario: the offered load per DU, 0.75 Mbit/s per UE with 5 UEs +- the spread of a cell's UE
        walk over the settling steps without steering (normal approximation N(3.75, 1.24^2)); the CPU scenario's loads
        are fixed."""
        if self.scenario != "steering":
            return {}
        step_var = 2 * UE_FRESH * (1 - UE_FRESH) + 2 * UE_MOVE * (1 - UE_MOVE)
        spread = UE_RATE * np.sqrt(step_var * SETTLE_STEPS)
        return {f"L{i}": Frozen(stats.norm(UE_RATE * UE_START, spread)) for i in DUS}

    def observational_data(self, n: int, seed: int) -> dict[str, np.ndarray]:
        """n passive monitoring windows (seeded): see the module docstring."""
        rng = np.random.default_rng(seed)
        n = int(n)
        cpu, cu, thr = (
            persistent(rng, n, 4, 0.6, 1.0),
            persistent(rng, n, 2, 0.6, 1.0),
            persistent(rng, n, 1, *THRESHOLD_BOX),
        )
        load, gain = rng.uniform(0.0, 10.0, (n, 4)), rng.uniform(10.0, 50.0, (n, 4))
        memory = np.full((n, 4), OPERATING_POINT["M1"])
        kinds = outcomes(load, gain, cpu[1:], cpu[:-1], memory, cu[1:], cu[:-1], thr[1:, 0], rng)
        kinds |= {"L": load, "G": gain, "C": cpu[1:], "C_prev": cpu[:-1], "M": memory, "CU": cu[1:],
                  "CU_prev": cu[:-1], "R": thr[1:, 0]}  # fmt: skip
        values = named(kinds)
        return {v: values[v] for v in self.variable_names}

    @property
    def operating_point(self) -> np.ndarray:
        """U' at the operating point (`OPERATING_POINT`): what `render_curves` holds before any intervention."""
        return np.array([OPERATING_POINT[v] for v in self.intervention_set])

    # ------------------------------------------------------------------ the simulator
    def _controls(self, values: np.ndarray) -> tuple[np.ndarray, ...]:
        """(DU CPU [..., 4], CU CPU [..., 2], memory [..., 4], R [...]) from control values [..., 11] in
        `OPERATING_POINT` order."""
        return values[..., 0:4], values[..., 4:6], values[..., 6:10], values[..., 10]

    def _window(self, intervention: Intervention, start: int) -> np.ndarray:
        held = np.array([intervention[k] if k in intervention else v for k, v in OPERATING_POINT.items()])
        held = np.broadcast_to(held, (self.specification.window, len(held)))
        kinds = self._simulate(*self._controls(held), self.np_random)
        window = self.specification.window
        return np.concatenate([kinds[kind].reshape(window, -1) for kind in KINDS], axis=1)[:, self._columns]

    def _simulate(self, cpu, cu, memory, thr, rng) -> dict[str, np.ndarray]:
        """One window: inputs [H + 1, units] (R [H + 1]); returns every kind."""
        steps = len(cpu)
        cpu_prev = np.concatenate([np.ones_like(cpu[:1]), cpu[:-1]])
        cu_prev = np.concatenate([np.ones_like(cu[:1]), cu[:-1]])
        gain = np.full(cpu.shape, GAIN_DB)
        if self.scenario == "cpu":
            load, handovers = np.full(cpu.shape, 10.0), np.zeros(cpu.shape)
        else:
            load, handovers = self._ue_loads(thr, rng, steps)
        kinds = outcomes(load, gain, cpu, cpu_prev, memory, cu, cu_prev, thr, rng, handovers)
        return kinds | {"L": load, "G": gain, "C": cpu, "C_prev": cpu_prev, "M": memory, "CU": cu, "CU_prev": cu_prev,
                        "R": thr}  # fmt: skip

    def _ue_loads(self, thr: np.ndarray, rng: np.random.Generator, steps: int) -> tuple[np.ndarray, np.ndarray]:
        """Offered uplink loads and handovers [steps, 4] of one window of the UE process: from 5 UEs per DU through
        SETTLE_STEPS unobserved steps, under the window's threshold thr[0] (thr [steps])."""
        arrivals = _arrivals(rng, (SETTLE_STEPS + steps, 2)).tolist()
        key = steering_key(float(thr[0]))
        if key not in self._tables:
            nxt, donor = pair_tables(np.array(thr[0]))
            self._tables[key] = (donor.reshape(100 * PATTERNS, 2), nxt.reshape(-1).tolist())
        donor, table = self._tables[key]
        keys, state = [], [START_STATE, START_STATE]
        for a, b in arrivals:  # step the cached table in plain Python (the env's hot path)
            pair = (state[0] * PATTERNS + a, state[1] * PATTERNS + b)
            keys.append(pair)
            state = [table[pair[0]], table[pair[1]]]
        window = np.array(keys[SETTLE_STEPS:])
        loads = UE_RATE * PRE_STEER.reshape(100 * PATTERNS, 2)[window]  # [steps, 2 pairs, 2 cells]
        return loads.reshape(steps, 4), donor[window].reshape(steps, 4)

    # ------------------------------------------------------------------ ground truth: for evaluation only
    def _probability(self, points: np.ndarray, start: int) -> np.ndarray:
        """P(phi = 1 | do(U' = u)): closed form (CPU scenario) or a forward pass over the UE counts (steering)."""
        points = np.atleast_2d(np.asarray(points, dtype=np.float64))
        key = points.tobytes()
        if key not in self._cache:
            self._cache[key] = (
                self._cpu_probability(points) if self.scenario == "cpu" else self._steering_probability(points)
            )
        return self._cache[key]

    def _held(self, points: np.ndarray) -> np.ndarray:
        """Controls [m, H + 1, 11] (`OPERATING_POINT` order): U' from `points`, the rest at the operating point."""
        held = np.tile(np.array(list(OPERATING_POINT.values())), (len(points), self.specification.window, 1))
        for k, name in enumerate(self.intervention_set):
            held[:, :, list(OPERATING_POINT).index(name)] = points[:, k : k + 1]
        return held

    def _cpu_probability(self, points: np.ndarray) -> np.ndarray:
        cpu, cu, memory, _ = self._controls(self._held(points))
        cpu_prev = np.concatenate([np.ones_like(cpu[:, :1]), cpu[:, :-1]], axis=1)
        cu_prev = np.concatenate([np.ones_like(cu[:, :1]), cu[:, :-1]], axis=1)
        s = served(10.0, GAIN_DB, cpu, memory)
        scu = cu_served(s[..., 0::2], s[..., 1::2], cu)
        norm = stats.norm
        log_p = (norm.logcdf((s - 5.0) / T_NOISE) + norm.logcdf((95.0 - du_power(cpu, cpu_prev, s)) / P_NOISE)).sum(-1)
        log_p += (norm.logcdf((scu - 5.0) / T_NOISE) + norm.logcdf((95.0 - cu_power(cu, cu_prev, scu)) / P_NOISE)).sum(
            -1
        )
        return np.exp(log_p[:, self.specification.judged].sum(axis=1))

    def _steering_probability(self, points: np.ndarray) -> np.ndarray:
        """Exact: the product of the two pairs' `pair_probability` (their UE processes are independent); thresholds
        with the same `steering_key` share it."""
        cpu = self._controls(self._held(points[:1]))[0][0, 0]
        spec = self.specification
        limits = np.array([min(b.threshold for b in spec.bounds if b.variable == f"J{i}") for i in DUS])
        out = np.ones(len(points))
        for pair in ((0, 1), (2, 3)):
            cells, limit = cpu[list(pair)], limits[list(pair)]
            for k, r in enumerate(points[:, 0]):
                key = (steering_key(float(r)), cells.tobytes() + limit.tobytes())
                if key not in self._pairs:
                    self._pairs[key] = pair_probability(float(r), cells, limit, spec.window, spec.judged)
                out[k] *= self._pairs[key]
        return out

"""RANCpu-v0 and RANSteering-v0: a synthetic cloud RAN reconstructing the 5G testbed of Hammar, Alpcan and Lupu,
"Causal Online Learning of Safe Regions in Cloud Radio Access Networks", section VIII (Figs. 2, 3, 10-14). The
paper's causal graph (Fig. 3) is missing from our copy; this is dogym's reconstruction from the variables the text
names and its one do-calculus example (section VI-A), with documented calibration (not fitted to testbed data).

System: 4 DUs (i = 1..4) and 2 CUs (j = 1, 2; DUs 1-2 on CU 1, DUs 3-4 on CU 2); cells 1-2 and 3-4 overlap.
Time steps are 15-s metric windows. Variables per step (names as in `variable_names`):
- controls: DU CPU C{i} and CU CPU CU{j} in [0.3, 3] cores, DU memory M{i} in [1, 20] GB (cost 1 each), and the
  load-imbalance threshold R in [0, 5] Mbit/s (cost 0.1);
- exogenous: offered load L{i} (Mbit/s on uplink and on downlink), signal gain G{i} in [10, 50] dB, and the previous
  allocations C{i}_prev, CU{j}_prev;
- endogenous: served load S{i} = min(L, 11 C r(G) min(1, M / 2)) with the radio factor r(G) = 1 / (1 + e^-(G-18)/3);
  throughput T{i} = S{i} + N(0, 0.3^2); power P{i} = 18 + 24 (0.75 C + 0.25 C_prev) + 0.8 S + N(0, 1); CU served load
  SCU{j} = min(S_a + S_b, 9 CU), TCU{j} = SCU + N(0, 0.3^2), PCU{j} = 15 + 26 (0.75 CU + 0.25 CU_prev) + 0.3 SCU
  + N(0, 1); handover H{i} = 1 when cell i's uplink load exceeds its neighbour's by more than R (it hands one UE,
  0.75 Mbit/s, over; the rule is checked 5 times per window, so H{i} counts the handovers cell i starts); carried
  uplink load Lc{i} = L - 0.75 H{i} + 0.75 H{nb}; uplink jitter J{i} = 0.8 + 1.2 rho / (1 - rho) + 0.8 (H{i} + H{nb})
  + N(0, 0.15^2) ms with rho = min(Lc / (9.5 r(G) min(1, C / 0.5)), 0.95).
- Confounding (section VI-A): under passive operation the allocation persists, C{i}_prev -> C{i} (it is kept with
  probability 0.9 per step, else redrawn), and C{i}_prev also drives P{i} (the window straddles a re-allocation:
  a quarter of it runs on the previous cores), so {C{i}_prev} is the adjustment set for do(C{i}) on P{i}
  (`dogym.causal.graphs.backdoor_adjustment_set` finds it). Likewise for the CUs.
Passive monitoring (`observational_data`, the causal prior's data; the paper's 168 h are 40 320 windows): loads
U(0, 10) per DU, CPUs persistent in U(0.6, 1.0), gains U(10, 50) dB, R persistent in U(0, 5), memory 20 GB.
Operating point (held for every control an intervention does not set): 1 core per DU and CU, 20 GB, R = 2.5; gains
30 dB in both scenarios. An intervention is held over its window; before it the allocation is the operating point.

- RANCpu-v0 (testbed scenario 1): 10 Mbit/s per DU on uplink and downlink; U' = the 6 CPU controls;
  phi = always (T{i} > 5 and P{i} < 95 and TCU{j} > 5 and PCU{j} < 95 for every DU and CU), H = 20. The true
  probability is exact: given u the judged steps and units are independent Gaussians (closed form).
- RANSteering-v0 (testbed scenario 2): 5 UEs per DU at the start of each intervention; each step one UE attaches
  with probability 0.15 and one departs with probability 0.15 (1 to 10 UEs per cell), 0.75 Mbit/s each; the
  threshold R steers as above. The intervention settles for 20 steps before its window (so the load reflects the
  threshold). U' = {R}; phi = always (J{i} < 3.75 for every DU), H = 5. The true probability is Monte Carlo over
  4000 windows (common random numbers; standard error <= 0.008). With this calibration R < 0.75 (one UE's load)
  makes cells ping-pong UEs within a window (P(phi) ~ 0.01), and large R lets loads drift apart (congestion;
  P(phi) ~ 0.7 at R = 5): the true region at delta = 0.8 is R in [0.75, 3.0] (size 0.45; P(phi) 0.8-0.89 inside).
  The operator knows the scenario's load model (`scenario_distributions`), which the causal prior uses in place of
  the passive data's loads.
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
from dogym.envs.safe_region.base import SafeRegionEnv

DUS, CUS = (1, 2, 3, 4), (1, 2)
CU_OF = {1: 1, 2: 1, 3: 2, 4: 2}
NEIGHBOUR = {1: 2, 2: 1, 3: 4, 4: 3}
CPU_BOX, MEMORY_BOX, THRESHOLD_BOX = (0.3, 3.0), (1.0, 20.0), (0.0, 5.0)
OPERATING_POINT = {**{f"C{i}": 1.0 for i in DUS}, **{f"CU{j}": 1.0 for j in CUS}, **{f"M{i}": 20.0 for i in DUS},
                   "R": 2.5}  # fmt: skip
GAIN_DB = 30.0
#: Every variable kind (a kind has one variable per DU, per CU, or is R).
KINDS = ("L", "G", "C", "C_prev", "M", "S", "T", "P", "H", "Lc", "J", "CU", "CU_prev", "SCU", "TCU", "PCU", "R")
DU_RATE, CU_RATE, UPLINK_RATE = 11.0, 9.0, 9.5
UE_RATE, UE_START, UE_RANGE, UE_P = 0.75, 5, (1, 10), 0.15
T_NOISE, P_NOISE, J_NOISE = 0.3, 1.0, 0.15
HANDOVER_JITTER = 0.8
STEERING_CHECKS = 5
SETTLE_STEPS = 20
TRUTH_WINDOWS = 4000
#: Cost per intervened control: 1 for resources (CPU, memory), 0.1 for the threshold R.
COSTS = {**{f"C{i}": 1.0 for i in DUS}, **{f"CU{j}": 1.0 for j in CUS}, **{f"M{i}": 1.0 for i in DUS}, "R": 0.1}


def radio(gain_db: np.ndarray) -> np.ndarray:
    """Fraction of the cell's peak rate at a signal gain (dB)."""
    return 1.0 / (1.0 + np.exp(-(np.asarray(gain_db) - 18.0) / 3.0))


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
    """Mean uplink jitter (ms) at a carried uplink load with `handovers` (0, 1 or 2) involving the cell."""
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


def _pair_counts() -> tuple[np.ndarray, np.ndarray]:
    """UE counts of a cell pair after arrivals, before steering: [100 states, 16 patterns, 2 cells]. State
    (a - 1) * 10 + (b - 1) holds a and b UEs; pattern bits are (a arrives, a departs, b arrives, b departs)."""
    low, high = UE_RANGE
    a, b = np.divmod(np.arange(100), 10)
    bits = (np.arange(16)[:, None] >> np.arange(4)) & 1
    counts_a = np.clip(a[:, None] + 1 + bits[:, 0] - bits[:, 1], low, high)
    counts_b = np.clip(b[:, None] + 1 + bits[:, 2] - bits[:, 3], low, high)
    return np.stack([counts_a, counts_b], axis=-1), bits


PRE_STEER, _BITS = _pair_counts()


def steering_key(threshold: float) -> int:
    """How many of the load differences k UE_RATE (k = -20..20) exceed the threshold R. `steer` only ever compares
    such differences with R (loads are whole UEs of UE_RATE = 0.75 Mbit/s, exact in floating point), so thresholds with
    the same key give identical `pair_tables`."""
    return int(np.count_nonzero(UE_RATE * np.arange(-20, 21) > threshold))


def pair_tables(threshold: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For thresholds R [...]: the next pair state and each cell's initiated handovers [..., 100, 16(, 2)] after the
    window's steering (`steer`); counts stay within the cells' range."""
    low, high = UE_RANGE
    r = np.broadcast_to(np.asarray(threshold, dtype=np.float64)[..., None, None], (*np.shape(threshold), 100, 16))
    given = steer(UE_RATE * PRE_STEER, r)
    after = np.clip(PRE_STEER - given + given[..., ::-1], low, high).astype(np.int64)
    return (after[..., 0] - 1) * 10 + (after[..., 1] - 1), given


def _arrivals(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Arrival patterns (4 bits: a arrives, a departs, b arrives, b departs; each with probability UE_P)."""
    bits = rng.random((*shape, 4)) < UE_P
    return (bits * (1 << np.arange(4))).sum(-1)


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
    """The cloud-RAN safe-region env (see module docstring); `scenario` "cpu" or "steering" picks the testbed
    scenario (registered as RANCpu-v0 and RANSteering-v0)."""

    SCENARIOS = {"cpu": (("C1", "C2", "C3", "C4", "CU1", "CU2"), 20), "steering": (("R",), 5)}

    @classmethod
    def default_config(cls) -> dict[str, Any]:
        """Every option with its default (spec_horizon is the scenario's H unless given)."""
        return {"scenario": "cpu", **SafeRegionEnv.default_config(), "spec_horizon": None}

    def __init__(self, render_mode: str | None = None, **options: Any):
        from dogym.envs.core import EnvConfigError, config_choice

        scenario = options.get("scenario", "cpu")
        if scenario not in self.SCENARIOS:
            raise EnvConfigError(f"{type(self).__name__} option scenario must be one of {list(self.SCENARIOS)}, "
                                 f"got {scenario!r}")  # fmt: skip
        targets, horizon = self.SCENARIOS[scenario]
        if options.get("spec_horizon") is None:
            options = {**options, "spec_horizon": horizon}
        cfg = self._setup(options, render_mode)
        cfg["scenario"] = config_choice(cfg, "scenario", tuple(self.SCENARIOS), type(self).__name__)
        self.scenario, self.intervention_set = scenario, targets
        self.truth_error = 0.0 if scenario == "cpu" else 0.5 / np.sqrt(TRUTH_WINDOWS)
        self._view = ran_view()
        self._cache: dict[bytes, np.ndarray] = {}
        self._tables: dict[int, tuple[np.ndarray, np.ndarray, list[int]]] = {}  # by `steering_key` (at most 42)
        names = self._view.names
        stacked = [name for kind in KINDS for name in unit_names(kind)]  # the column order of `_window`'s stack
        self._columns = np.array([stacked.index(v) for v in names])
        if scenario == "cpu":
            bounds = [Bound(f"T{i}", ">", 5.0) for i in DUS] + [Bound(f"P{i}", "<", 95.0) for i in DUS]
            bounds += [Bound(f"TCU{j}", ">", 5.0) for j in CUS] + [Bound(f"PCU{j}", "<", 95.0) for j in CUS]
        else:
            bounds = [Bound(f"J{i}", "<", 3.75) for i in DUS]
        self.config = cfg
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
        """Steering scenario: the offered load per DU, 0.75 Mbit/s per UE with 5 UEs +- the spread of the UE walk
        over the settling steps (normal approximation N(3.75, 1.7^2)); the CPU scenario's loads are fixed."""
        if self.scenario != "steering":
            return {}
        spread = UE_RATE * np.sqrt(2 * UE_P * (1 - UE_P) * SETTLE_STEPS)
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
        """One window per leading index: inputs [..., H + 1, units] (R [..., H + 1]); returns every kind."""
        steps = cpu.shape[-2]
        cpu_prev = np.concatenate([np.ones_like(cpu[..., :1, :]), cpu[..., :-1, :]], axis=-2)
        cu_prev = np.concatenate([np.ones_like(cu[..., :1, :]), cu[..., :-1, :]], axis=-2)
        gain = np.full(cpu.shape, GAIN_DB)
        if self.scenario == "cpu":
            load, handovers = np.full(cpu.shape, 10.0), np.zeros(cpu.shape)
        else:
            load, handovers = self._ue_loads(thr, rng, steps)
        kinds = outcomes(load, gain, cpu, cpu_prev, memory, cu, cu_prev, thr, rng, handovers)
        return kinds | {"L": load, "G": gain, "C": cpu, "C_prev": cpu_prev, "M": memory, "CU": cu, "CU_prev": cu_prev,
                        "R": thr}  # fmt: skip

    def _ue_loads(self, thr: np.ndarray, rng: np.random.Generator, steps: int) -> tuple[np.ndarray, np.ndarray]:
        """Offered uplink loads and handovers [..., steps, 4] of the UE process from 5 UEs per DU after SETTLE_STEPS
        unobserved steps. thr [..., steps] holds one threshold per window (its first value); with two leading axes
        [windows, m] the threshold may vary along the last one only, which shares the UE arrivals (common random
        numbers across thresholds)."""
        lead = thr.shape[:-1]
        if len(lead) > 2:
            raise ValueError(f"thresholds must have at most two leading axes, got shape {thr.shape}")
        column = thr[0, :, 0] if len(lead) == 2 else thr[..., 0]
        total = SETTLE_STEPS + steps
        shared = (lead[0], 1) if len(lead) == 2 else lead
        arrivals = _arrivals(rng, (total, *shared, 2))
        start = (UE_START - 1) * 10 + UE_START - 1
        if not lead:  # one window: step the cached table in plain Python (the env's hot path)
            key = steering_key(float(column))
            if key not in self._tables:
                nxt, donor = pair_tables(column)
                self._tables[key] = (nxt.reshape(1600), donor.reshape(1600, 2), nxt.reshape(-1).tolist())
            _, donor, table = self._tables[key]
            keys, state = [], [start, start]
            for a, b in arrivals.tolist():
                pair = (state[0] * 16 + a, state[1] * 16 + b)
                keys.append(pair)
                state = [table[pair[0]], table[pair[1]]]
            keys = np.array(keys[SETTLE_STEPS:])
            which: tuple[np.ndarray, ...] = ()
        else:
            nxt, donor = pair_tables(column)  # [m, 100 states, 16 patterns(, 2 cells)] per threshold
            nxt, donor = nxt.reshape(len(column), 1600), donor.reshape(len(column), 1600, 2)
            which = (np.arange(len(column))[:, None],)
            keys = np.empty((total, *lead, 2), dtype=np.int64)
            state = np.full((*lead, 2), start)
            for s in range(total):
                keys[s] = state * 16 + arrivals[s]
                state = nxt[(*which, keys[s])]
            keys = keys[SETTLE_STEPS:]
        loads = UE_RATE * PRE_STEER.reshape(1600, 2)[keys]  # [steps, *lead, 2 pairs, 2 cells]
        handovers = donor[(*which, keys)]
        return (
            np.moveaxis(loads, 0, -3).reshape(*lead, steps, 4),
            np.moveaxis(handovers, 0, -3).reshape(*lead, steps, 4),
        )

    # ------------------------------------------------------------------ ground truth: for evaluation only
    def _probability(self, points: np.ndarray, start: int) -> np.ndarray:
        """P(phi = 1 | do(U' = u)): closed form (CPU scenario) or Monte Carlo over 4000 windows (steering)."""
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

    def _steering_probability(self, points: np.ndarray, chunk: int = 16) -> np.ndarray:
        out = np.empty(len(points))
        for first in range(0, len(points), chunk):
            rng = np.random.default_rng(0)  # the same UE arrivals for every point
            cpu, cu, memory, thr = self._controls(self._held(points[first : first + chunk]))
            tile = (TRUTH_WINDOWS, len(thr))
            kinds = self._simulate(*(np.broadcast_to(a, (*tile[:1], *a.shape)) for a in (cpu, cu, memory, thr)), rng)
            windows = named({"J": kinds["J"]})
            out[first : first + chunk] = self.specification.holds(windows).mean(axis=0)
        return out

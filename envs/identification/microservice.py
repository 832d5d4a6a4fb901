"""Microservice-v0: a synthetic stand-in for the KTH service-mesh testbed of Hammar & Stadler section VII (Figs. 9, 10, 13).

Variables (operating region): blocking B_i, routing P_i in [0, 1]; CPU counts C_1, C_3 in {1, ..., 5}; offered loads
L_i in [0, 50] req/s (all controllable); carried loads Lt_i in [0, 50]; response times R_i in [0, 10] s.

Queueing model (documented calibration, not fitted to private data):
- Carried load Lt_i = L_i (1 - B_i) + N(0, 0.1^2) (blocked requests never enter the mesh).
- S1 requests go front -> node 1 (M1) -> node 2 (M3) with probability P1, else front -> node 3 (M1) -> node 4 (M3);
  S2 requests are served by M2 on node 1 with probability P2, else on node 3. M1 and M2 share nodes 1 and 3.
- Every node is an M/M/1 processor-sharing server whose speed is its CPU count C (nodes 2 and 4: fixed C = 2). A
  request with CPU work w on a node with utilisation rho = sum(lambda_k w_k) / C spends (w / C) / (1 - rho) there.
  Work per request: M1 0.09 s, M2 0.10 s (CPU-intensive), M3 0.03 s.
- R_i = cap(d0 + expected time over the route choice) + N(0, 0.05^2), d0 = 0.08 s (gateway and network), with the soft
  cap cap(r) = 10 (1 - exp(-r / 10)) (a saturated node, rho >= 1, gives R = 10 s: the time-out).
- Calibration to the public traces' magnitudes: under light load S2 responds in 0.18 s at 1 CPU and 0.10 s at 5 CPUs
  (S1: 0.18 s and 0.11 s); at the scenario-1 operating point nodes 1 and 3 are 93% utilised (R1 ~ 1.3 s, R2 ~ 1.4 s).
  Scenario 2's background S1 load (10 req/s on each of nodes 1 and 3) takes 90% of a 1-CPU node, so at the nominal
  configuration R2 goes from 0.18 s to 1.9 s at t = 11 (and saturates for larger S2 loads); with 2 CPUs it hardly
  changes. (An earlier calibration used 0.04 s for M1: S1 then answered in 0.135 s under light load, and the change
  at t = 11 moved f_R2 by less (mean squared 7 s^2) than the error of any GP on 10 samples of it (~17 s^2), so the FIFO
  learner's recovery could not show; see benchmarks/results/acl/NOTES.md.)

Scenarios (nominal configuration P = 0.5, C = 1, B = 0): 1 = stationary, both services, L1 = 4, L2 = 15 (Fig. 10).
2 = only S2's variables (Fig. 13) with L2 = 1; S1 is part of the environment: off until t = 10, then from t = 11 it
carries 20 req/s in the background (routed with P1 = 0.5), which changes f_R2.
Costs (Table 3): load 3000, routing 1000, blocking 2000, CPU 3000 per target, passive 1.
Options (`MicroserviceEnv.default_config()`): scenario (1 or 2), samples_per_step (M, default 1), change_step (the
first step of scenario 2's changed system, default 11), horizon (episode limit in steps, default 30). See
`InterventionEnv` for spaces, reward, truncation, errors and the info keys (action_mask, cost, intervention_cost, t,
variables; step only: intervention).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from dogym.causal.scm import SCM, Constant, Mechanism, Variable
from dogym.envs.core import EnvConfigError, config_choice, config_int
from dogym.envs.intervention import InterventionEnv

D0 = 0.08
WORK_M1, WORK_M2, WORK_M3 = 0.09, 0.10, 0.03
DB_CPUS = 2.0
R_MAX = 10.0
LOAD_NOISE, RESPONSE_NOISE = 0.1, 0.05
CHANGE_STEP = 11
COSTS = {"L": 3000.0, "P": 1000.0, "B": 2000.0, "C": 3000.0}


def _node_times(work_rate: np.ndarray, cpus: np.ndarray, works: tuple[float, ...]) -> list[np.ndarray]:
    """Processor-sharing sojourn time of each job class (CPU work w) on a node with the given total work rate."""
    rho = work_rate / cpus
    slack = np.maximum(1.0 - rho, 1e-12)
    return [np.where(rho < 1.0, (w / cpus) / slack, np.inf) for w in works]


def _cap(r: np.ndarray) -> np.ndarray:
    return R_MAX * (1.0 - np.exp(-r / R_MAX))


def _mesh_times(lt1, lt2, p1, p2, c1, c3):
    lt1, lt2 = np.maximum(lt1, 0.0), np.maximum(lt2, 0.0)
    n1_m1, n1_m2 = _node_times(p1 * lt1 * WORK_M1 + p2 * lt2 * WORK_M2, c1, (WORK_M1, WORK_M2))
    n3_m1, n3_m2 = _node_times((1 - p1) * lt1 * WORK_M1 + (1 - p2) * lt2 * WORK_M2, c3, (WORK_M1, WORK_M2))
    (n2,) = _node_times(p1 * lt1 * WORK_M3, DB_CPUS, (WORK_M3,))
    (n4,) = _node_times((1 - p1) * lt1 * WORK_M3, DB_CPUS, (WORK_M3,))
    s1 = _route_mix(p1, n1_m1 + n2) + _route_mix(1 - p1, n3_m1 + n4)
    s2 = _route_mix(p2, n1_m2) + _route_mix(1 - p2, n3_m2)
    return s1, s2


def _route_mix(prob: np.ndarray, time: np.ndarray) -> np.ndarray:
    """prob * time, with a route taken with probability 0 contributing 0 even when saturated (time = inf)."""
    with np.errstate(invalid="ignore"):
        return np.where(np.asarray(prob) > 0, prob * time, 0.0)


def response_s1(lt1, lt2, p1, p2, c1, c3):
    """f_R1: mean response time (s) of the information service S1."""
    return _cap(D0 + _mesh_times(lt1, lt2, p1, p2, c1, c3)[0])


def response_s2(lt1, lt2, p1, p2, c1, c3):
    """f_R2: mean response time (s) of the compute service S2."""
    return _cap(D0 + _mesh_times(lt1, lt2, p1, p2, c1, c3)[1])


def carried_load(b, load):
    """f_Lt: the non-blocked part of the offered load."""
    return load * (1.0 - b)


class _R2WithBackground:
    """f_R2 of scenario 2 (parents Lt2, P2, C1, C3) with S1 as background load (picklable, unlike a lambda)."""

    def __init__(self, background: float):
        self.background = background

    def __call__(self, lt2, p2, c1, c3):
        return response_s2(np.full_like(np.asarray(lt2, float), self.background), lt2, 0.5, p2, c1, c3)


def _variables(names: list[str]) -> list[Variable]:
    spec = {
        "B": (0.0, 1.0, True, False),
        "P": (0.0, 1.0, True, False),
        "C": (1.0, 5.0, True, True),
        "L": (0.0, 50.0, True, False),
        "Lt": (0.0, 50.0, False, False),
        "R": (0.0, R_MAX, False, False),
    }
    return [Variable(n, *spec[n.rstrip("0123456789")]) for n in names]


def scenario1_scm(l1: float = 4.0, l2: float = 15.0) -> SCM:
    """The stationary two-service SCM of Fig. 10 at the nominal configuration."""
    names = ["B1", "B2", "P1", "P2", "C1", "C3", "L1", "L2", "Lt1", "Lt2", "R1", "R2"]
    nominal = {"B1": 0.0, "B2": 0.0, "P1": 0.5, "P2": 0.5, "C1": 1.0, "C3": 1.0, "L1": l1, "L2": l2}
    mesh = ("Lt1", "Lt2", "P1", "P2", "C1", "C3")
    return SCM(
        _variables(names),
        {k: Constant(v) for k, v in nominal.items()},
        {
            "Lt1": Mechanism(("B1", "L1"), carried_load, LOAD_NOISE),
            "Lt2": Mechanism(("B2", "L2"), carried_load, LOAD_NOISE),
            "R1": Mechanism(mesh, response_s1, RESPONSE_NOISE),
            "R2": Mechanism(mesh, response_s2, RESPONSE_NOISE),
        },
    )


def scenario2_scm(background_load: float, l2: float = 1.0) -> SCM:
    """The S2-only SCM of Fig. 13 with S1 carrying `background_load` req/s as part of the environment."""
    names = ["B2", "P2", "C1", "C3", "L2", "Lt2", "R2"]
    nominal = {"B2": 0.0, "P2": 0.5, "C1": 1.0, "C3": 1.0, "L2": l2}
    return SCM(
        _variables(names),
        {k: Constant(v) for k, v in nominal.items()},
        {
            "Lt2": Mechanism(("B2", "L2"), carried_load, LOAD_NOISE),
            "R2": Mechanism(("Lt2", "P2", "C1", "C3"), _R2WithBackground(background_load), RESPONSE_NOISE),
        },
    )


#: Groups of the causal functions in Hammar & Stadler's loss (5): function name prefix -> group.
FUNCTION_GROUPS = {"Lt": "carried loads", "R": "response times"}


def group_losses(function_losses: Sequence[Mapping[str, float]]) -> dict[str, list[float]]:
    """Per function group (`FUNCTION_GROUPS`, in first-seen order), one run's part of loss (5) after every step, from
    its per-step terms (function name -> term); functions outside the groups (e.g. the ToySCM's) are left out."""
    out: dict[str, list[float]] = {}
    for per_function in function_losses:
        parts: dict[str, float] = {}
        for name, value in per_function.items():
            group = FUNCTION_GROUPS.get(name.rstrip("0123456789"))
            if group is not None:
                parts[group] = parts.get(group, 0) + value
        for group, part in parts.items():
            out.setdefault(group, []).append(part)
    return out


class MicroserviceEnv(InterventionEnv):
    """Intervention env on the synthetic service mesh of Hammar & Stadler's testbed (see the module docstring).

    ## Description
    Each step the agent picks do(X' = x') on blocking, routing, CPU and offered-load variables and observes M samples
    of the mesh under it (active causal learning). Scenario 1 is stationary; scenario 2 models S2 only, with S1's
    background load switched on from step `change_step`, which changes f_R2.

    ## Action Space
    Dict(mask: MultiBinary(n), value: Box(n,) float64) over the controllable variables (scenario 1: B1, B2, P1, P2,
    C1, C3, L1, L2, n = 8; scenario 2: B2, P2, C1, C3, L2, n = 5); CPU counts are rounded to integers.

    ## Observation Space
    Box(M, n_vars) float64: M = `samples_per_step` samples of every variable (12 in scenario 1, 7 in scenario 2).

    ## Rewards
    -c(do(...)): the sum of the targets' costs (load 3000, routing 1000, blocking 2000, CPU 3000), 1 for do(0).

    ## Termination
    Never.

    ## Truncation
    At `horizon` steps (30); stepping further keeps working.

    ## Registered Configurations
    - `dogym/Microservice-v0`: `scenario=1`.
    - `dogym/MicroserviceNonStationary-v0`: `scenario=2`.

    ## Options
    As keyword arguments (`MicroserviceEnv(scenario=2, horizon=50)`); for backward compatibility the first
    three may also be positional, in the order scenario, samples_per_step, change_step (`MicroserviceEnv(2)`,
    `MicroserviceEnv(2, change_step=1)`). Unknown or bad options raise `EnvConfigError`.
    """

    POSITIONAL_OPTIONS = ("scenario", "samples_per_step", "change_step")

    @classmethod
    def default_config(cls) -> dict[str, Any]:
        """Every option with its default."""
        config = super().default_config()
        config.update(
            {
                "scenario": 1,  # 1: stationary, both services (Fig. 10); 2: S2 only, S1 as background load (Fig. 13)
                "samples_per_step": 1,  # M: samples of the system per step (the observation's rows)
                "change_step": CHANGE_STEP,  # scenario 2: the first step with S1's background load
            }
        )
        return config

    def _check_config(self, cfg: dict[str, Any]) -> None:
        super()._check_config(cfg)
        name = type(self).__name__
        cfg["scenario"] = int(config_choice(cfg, "scenario", (1, 2), name))
        cfg["samples_per_step"] = config_int(cfg, "samples_per_step", name)
        cfg["change_step"] = config_int(cfg, "change_step", name)

    def __init__(self, *args: Any, render_mode: str | None = None, **options: Any):
        name = type(self).__name__
        if len(args) > len(self.POSITIONAL_OPTIONS):
            raise EnvConfigError(
                f"{name} takes at most {len(self.POSITIONAL_OPTIONS)} positional options "
                f"{list(self.POSITIONAL_OPTIONS)}, got {len(args)}"
            )
        for key, value in zip(self.POSITIONAL_OPTIONS, args, strict=False):
            if key in options:
                raise EnvConfigError(f"{name} got option {key} both positionally and as a keyword")
            options[key] = value
        cfg = self._configure(options, render_mode)
        self.scenario = cfg["scenario"]
        self.change_step = cfg["change_step"]
        if self.scenario == 1:
            self._phases = (scenario1_scm(), scenario1_scm())
        else:
            self._phases = (scenario2_scm(0.0), scenario2_scm(20.0))
        costs = {v: COSTS[v.rstrip("0123456789")] for v in self._phases[0].controllable}
        super().__init__(cfg, cfg["samples_per_step"], target_costs=costs, passive_cost=1.0)

    def scm_at(self, t: int) -> SCM:
        """Ground truth: for evaluation only. Scenario 1: always the same SCM; scenario 2: background S1 load from
        step `change_step` on."""
        return self._phases[int(t >= self.change_step)]

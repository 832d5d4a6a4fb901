"""dogym.envs: Gymnasium environments; importing this module registers every env under the ``dogym/`` namespace.

Every env follows the env contract of `dogym.envs.core` (error classes, info keys, `ground_truth()`,
`structural_view()`, `default_config()`). Episode limits: every id is registered with ``max_episode_steps=None``, so
``gymnasium.make`` adds no TimeLimit wrapper; each env truncates itself at the limit of its own config
(``env.unwrapped.config["step_max"]`` for FaultAlarm, ``env.unwrapped.config["horizon"]`` for the intervention and DCGO
envs),
so the limit can be changed with a keyword override (``gym.make(id, step_max=50)``) and never disagrees with the env.
"""

from __future__ import annotations

import gymnasium as gym

#: env id -> (entry point, max_episode_steps, default kwargs). Registration is idempotent.
#: max_episode_steps is None for every env: no TimeLimit wrapper. The env truncates itself at its config's limit
#: (FaultAlarm: step_max = 100 by default; intervention envs: horizon = 30 by default), so the two cannot disagree.
ENV_SPECS: dict[str, tuple[str, int | None, dict]] = {
    "dogym/FaultAlarm-v0": ("dogym.envs.fault_alarm.env:FaultAlarmEnv", None, {}),
    "dogym/FaultAlarmPoisson-v0": ("dogym.envs.fault_alarm.env:FaultAlarmEnv", None, {"dynamics": "poisson"}),
    "dogym/FaultAlarmSmall-v0": ("dogym.envs.fault_alarm.env:FaultAlarmSmallEnv", None, {}),
    "dogym/ToySCM-v0": ("dogym.envs.identification.toy_scm:ToySCMEnv", None, {}),
    "dogym/Microservice-v0": ("dogym.envs.identification.microservice:MicroserviceEnv", None, {"scenario": 1}),
    "dogym/MicroserviceNonStationary-v0": (
        "dogym.envs.identification.microservice:MicroserviceEnv",
        None,
        {"scenario": 2},
    ),
    "dogym/EdgeSafeRegion-v0": ("dogym.envs.safe_region.edge:EdgeSafeRegionEnv", None, {"scenario": 1}),
    "dogym/EdgeSafeRegionNonStationary-v0": ("dogym.envs.safe_region.edge:EdgeSafeRegionEnv", None, {"scenario": 2}),
    "dogym/RANCpu-v0": ("dogym.envs.safe_region.ran:RANEnv", None, {"scenario": "cpu"}),
    "dogym/RANSteering-v0": ("dogym.envs.safe_region.ran:RANEnv", None, {"scenario": "steering"}),
    "dogym/DCGO-STAT-v0": ("dogym.envs.dcgo.synthetic:STATEnv", None, {}),
    "dogym/DCGO-NOISY-v0": ("dogym.envs.dcgo.synthetic:NOISYEnv", None, {}),
    "dogym/DCGO-MISS-v0": ("dogym.envs.dcgo.synthetic:MISSEnv", None, {}),
    "dogym/DCGO-MULTIV-v0": ("dogym.envs.dcgo.synthetic:MULTIVEnv", None, {}),
    "dogym/DCGO-IND-v0": ("dogym.envs.dcgo.synthetic:INDEnv", None, {}),
    "dogym/DCGO-NONSTAT-v0": ("dogym.envs.dcgo.synthetic:NONSTATEnv", None, {}),
    "dogym/DCGO-ECON-v0": ("dogym.envs.dcgo.econ:ECONEnv", None, {}),
    "dogym/DCGO-ODE-v0": ("dogym.envs.dcgo.ode:ODEEnv", None, {}),
}


def register_envs() -> None:
    """Register every dogym env with Gymnasium (safe to call repeatedly)."""
    for env_id, (entry_point, max_steps, kwargs) in ENV_SPECS.items():
        if env_id not in gym.registry:
            gym.register(id=env_id, entry_point=entry_point, max_episode_steps=max_steps, kwargs=dict(kwargs))


register_envs()

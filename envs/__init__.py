"""dogym.envs: Gymnasium environments; importing this module registers every env under the ``dogym/`` namespace."""

from __future__ import annotations

import gymnasium as gym

#: env id -> (entry point, max_episode_steps or None, default kwargs). Registration is idempotent.
ENV_SPECS: dict[str, tuple[str, int | None, dict]] = {
    "dogym/FaultAlarm-v0": ("dogym.envs.fault_alarm.env:FaultAlarmEnv", 100, {}),
    "dogym/FaultAlarmPoisson-v0": ("dogym.envs.fault_alarm.env:FaultAlarmEnv", 100, {"dynamics": "poisson"}),
    "dogym/FaultAlarmSmall-v0": ("dogym.envs.fault_alarm.env:FaultAlarmSmallEnv", 100, {}),
    "dogym/ToySCM-v0": ("dogym.envs.identification.toy_scm:ToySCMEnv", 30, {}),
    "dogym/Microservice-v0": ("dogym.envs.identification.microservice:MicroserviceEnv", 30, {"scenario": 1}),
    "dogym/MicroserviceNonStationary-v0": (
        "dogym.envs.identification.microservice:MicroserviceEnv",
        30,
        {"scenario": 2},
    ),
}


def register_envs() -> None:
    """Register every dogym env with Gymnasium (safe to call repeatedly)."""
    for env_id, (entry_point, max_steps, kwargs) in ENV_SPECS.items():
        if env_id not in gym.registry:
            gym.register(id=env_id, entry_point=entry_point, max_episode_steps=max_steps, kwargs=dict(kwargs))


register_envs()

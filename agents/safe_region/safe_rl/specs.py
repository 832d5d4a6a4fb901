"""PPO-Lagrangian and CPO (the safe-RL baselines of Hammar, Alpcan and Lupu, "Causal Online Learning of Safe Regions
in Cloud Radio Access Networks", Table II) as registry entries on the four safe-region envs. Their hyper-parameters
are in `agents/hyperparams/ppo-lagrangian.yml` and `agents/hyperparams/cpo.yml`."""

from __future__ import annotations

from dogym.agents.spec import AgentSpec

FAMILY = "safe_rl"
#: The safe-region envs (the first is the default).
ENVS = ("dogym/EdgeSafeRegion-v0", "dogym/EdgeSafeRegionNonStationary-v0", "dogym/RANCpu-v0", "dogym/RANSteering-v0")

SPECS: tuple[AgentSpec, ...] = (
    AgentSpec("ppo-lagrangian", FAMILY, "PPO-Lagrangian (Ray, Achiam and Amodei), OmniSafe defaults, lambda_0 0.55",
              ENVS, {"algorithm": "ppo-lagrangian"}),
    AgentSpec("cpo", FAMILY, "CPO (Achiam et al.), OmniSafe defaults", ENVS, {"algorithm": "cpo"}),
)  # fmt: skip

"""The identification learners (Hammar & Stadler, "Online Identification of IT Systems through Active Causal
Learning") as registry entries: a GP estimator per causal function with a passive, random or rollout intervention
policy. Their options (GP set-up, FIFO buffer, rollout parameters) are in `agents/hyperparams/acl.yml` (passive and
random) and `agents/hyperparams/acl-rollout.yml`."""

from __future__ import annotations

from dogym.agents.spec import HYPERPARAMS_DIR, AgentSpec

FAMILY = "identification"
#: The intervention envs every learner supports (the first is the default).
ENVS = ("dogym/ToySCM-v0", "dogym/Microservice-v0", "dogym/MicroserviceNonStationary-v0")
_YAML = HYPERPARAMS_DIR / "acl.yml"

SPECS: tuple[AgentSpec, ...] = (
    AgentSpec("acl-passive", FAMILY, "passive learning: observe under do(0) only", ENVS, {"policy": "passive"}, _YAML),
    AgentSpec(
        "acl-random", FAMILY, "random interventions over the operating region", ENVS, {"policy": "random"}, _YAML
    ),
    AgentSpec(
        "acl-rollout",
        FAMILY,
        "rollout intervention policy (l = 1, m = 5, L = 10, DE 10 x 30)",
        ENVS,
        {"policy": "rollout"},
    ),  # fmt: skip
)

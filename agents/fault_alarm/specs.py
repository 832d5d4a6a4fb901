"""The FaultAlarm learning agents (Cai et al., "Learning by Doing: An Online Causal Reinforcement Learning Framework
with Causal-Aware Policy", Table 4) as registry entries: which algorithm, whether it masks actions, whether it learns
a causal graph online. Their hyper-parameters are in `agents/hyperparams/`: agents that differ only in the algorithm's
variant (DQN / D3QN, masked / unmasked) share a file, and the `-random` causal agents and mask-random-online differ
from the file they share by their `variant`.

Causal agents act under the causal mask M_s(G) of the graph their online structure learner refines (the plain
active-alarm mask with probability eta); vanilla agents mask only inactive alarms; the `-unmasked` baselines are plain
Stable-Baselines3 PPO / DQN over every action.
"""

from __future__ import annotations

from typing import Any

from dogym.agents.spec import HYPERPARAMS_DIR, AgentSpec, PolicySpec

FAMILY = "fault_alarm"
#: The envs every agent of this family supports (the first is the default).
ENVS = ("dogym/FaultAlarm-v0", "dogym/FaultAlarmSmall-v0", "dogym/FaultAlarmPoisson-v0")


def _spec(
    name: str,
    algorithm: str,
    masked: bool,
    causal: bool,
    description: str,
    hyperparams: str,
    variant: dict[str, Any] | None = None,
) -> AgentSpec:
    return AgentSpec(name, FAMILY, description, ENVS, {"algorithm": algorithm, "masked": masked, "causal": causal},
                     HYPERPARAMS_DIR / hyperparams, variant or {})  # fmt: skip


def _causal_specs() -> list[AgentSpec]:
    specs = []
    for suffix, start, variant in (
        ("", "a THP graph from 2000 passive alarms", {}),
        ("-random", "a random DAG", {"init": "random"}),
    ):
        specs += [
            _spec(f"causal-ppo{suffix}", "MaskablePPO", True, True,
                  f"Causal PPO: MaskablePPO under the causal mask, graph learned online from {start}", "causal-ppo.yml",
                  variant),
            _spec(f"causal-dqn{suffix}", "MaskedDQN", True, True,
                  f"Causal DQN: masked DQN under the causal mask, graph learned online from {start}", "causal-dqn.yml",
                  variant),
            _spec(f"causal-d3qn{suffix}", "MaskedD3QN", True, True,
                  f"Causal D3QN: masked dueling double DQN under the causal mask, graph learned online from {start}",
                  "causal-dqn.yml", variant),
        ]  # fmt: skip
    return specs


def _baseline(
    name: str, policy: str, graph: str | None, description: str, variant: dict[str, Any] | None = None
) -> AgentSpec:
    """A no-learning baseline; those with a graph share mask-random.yml (the others take no hyper-parameters)."""
    privileged = policy == "oracle" or graph == "true"  # reads the env's ground truth by design
    options = {"algorithm": "reference", "masked": True, "causal": graph is not None, "policy": policy, "graph": graph,
               "privileged": privileged}  # fmt: skip
    hyperparams = HYPERPARAMS_DIR / "mask-random.yml" if graph is not None else None
    return AgentSpec(name, FAMILY, description, ENVS, options, hyperparams, variant or {})


#: The no-learning baselines (`dogym.agents.fault_alarm.baselines`).
BASELINE_SPECS: tuple[AgentSpec, ...] = (
    _baseline("mask-random-thp", "random-active", "thp",
              "no learning: random actions inside the causal mask of the THP graph (never updated)"),
    _baseline("mask-random-online", "random-active", "online",
              "no RL: random actions inside the causal mask, graph learned online from its own interventions",
              {"eta": 0.2}),
    _baseline("mask-random-true", "random-active", "true",
              "no learning: random actions inside the causal mask of the true graph (privileged)"),
    _baseline("random-active", "random-active", None, "no learning: random actions among active alarms"),
    _baseline("oracle", "oracle", None, "clears the active alarm earliest in the true causal order (privileged)"),
)  # fmt: skip

SPECS: tuple[AgentSpec, ...] = (
    *_causal_specs(),
    _spec("ppo", "MaskablePPO", True, False, "PPO masking inactive alarms (MaskablePPO)", "ppo.yml"),
    _spec("dqn", "MaskedDQN", True, False, "DQN masking inactive alarms", "dqn.yml"),
    _spec("d3qn", "MaskedD3QN", True, False, "dueling double DQN masking inactive alarms", "dqn.yml"),
    _spec("ppo-unmasked", "PPO", False, False, "plain SB3 PPO over every action", "ppo.yml"),
    _spec("dqn-unmasked", "DQN", False, False, "plain SB3 DQN over every action", "dqn.yml"),
    *BASELINE_SPECS,
)
#: Each causal agent's vanilla counterpart (same algorithm and network, active-alarm mask only).
VANILLA_OF: dict[str, str] = {
    s.name: s.name.removeprefix("causal-").removesuffix("-random")
    for s in SPECS
    if s.options["causal"] and s.options["algorithm"] != "reference"
}

#: The reference policies that fit this family's envs (beside `random`, which fits every env).
POLICY_SPECS: tuple[PolicySpec, ...] = (
    PolicySpec("random-active", "random actions among the active alarms", "dogym.agents.reference:random_active_policy",
               ENVS),
    PolicySpec("oracle", "clears the active alarm earliest in the true causal order (privileged)",
               "dogym.agents.reference:oracle_policy", ENVS),
)  # fmt: skip

"""The built-in families as a plugin: importing this module registers them, their agents and the reference
policies (`random` on every env; those a family declares for its envs), exactly as an external
plugin registers its own (it is also the package's "builtin" entry point in the `dogym.plugins` group). The families
are registered as "module:attribute" entries, imported on first use, so listing the agents stays cheap."""

from __future__ import annotations

from dogym.agents.dcgo.specs import SPECS as DCGO
from dogym.agents.fault_alarm.specs import POLICY_SPECS as FAULT_ALARM_POLICIES
from dogym.agents.fault_alarm.specs import SPECS as FAULT_ALARM
from dogym.agents.identification.specs import SPECS as IDENTIFICATION
from dogym.agents.registry import register_agent, register_family, register_policy
from dogym.agents.safe_region.safe_rl.specs import SPECS as SAFE_RL
from dogym.agents.safe_region.specs import SPECS as SAFE_REGION
from dogym.agents.spec import PolicySpec

FAMILIES = {
    "fault_alarm": "dogym.agents.fault_alarm.family:FAMILY",
    "identification": "dogym.agents.identification.family:FAMILY",
    "safe_region": "dogym.agents.safe_region.family:FAMILY",
    "safe_rl": "dogym.agents.safe_region.safe_rl.family:FAMILY",
    "dcgo": "dogym.agents.dcgo.family:FAMILY",
}

for _name, _entry in FAMILIES.items():
    register_family(_name, _entry)
for _spec in (*FAULT_ALARM, *IDENTIFICATION, *SAFE_REGION, *SAFE_RL, *DCGO):
    register_agent(_spec)
register_policy(PolicySpec("random", "uniformly random actions of the env's action space",
                           "dogym.agents.reference:random_policy"))  # fmt: skip
for _policy in FAULT_ALARM_POLICIES:
    register_policy(_policy)

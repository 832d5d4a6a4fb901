"""COL and its ablations (Hammar, Alpcan and Lupu, "Causal Online Learning of Safe Regions in Cloud Radio Access
Networks", Algorithm 1 and Fig. 8) as registry entries. They share `agents/hyperparams/col.yml`; the ablation flags are
fixed options of each agent; `col-random` is the random-interventions-at-equal-cost baseline."""

from __future__ import annotations

from dogym.agents.spec import HYPERPARAMS_DIR, AgentSpec

FAMILY = "safe_region"
#: The safe-region envs every COL variant supports (the first is the default).
ENVS = ("dogym/EdgeSafeRegion-v0", "dogym/EdgeSafeRegionNonStationary-v0", "dogym/RANCpu-v0", "dogym/RANSteering-v0")
_YAML = HYPERPARAMS_DIR / "col.yml"

SPECS: tuple[AgentSpec, ...] = (
    AgentSpec("col", FAMILY, "COL: causal prior, LCB safe set, argmax sigma / cost (Algorithm 1)", ENVS, {}, _YAML),
    AgentSpec("col-no-prior", FAMILY, "COL ablation: no causal prior (mean 0.5, unit sigma)", ENVS,
              {"causal_prior": False}, _YAML),
    AgentSpec("col-no-safety", FAMILY, "COL ablation: no safety constraint (argmax over all of U')", ENVS,
              {"safety": False}, _YAML),
    AgentSpec("col-no-cost", FAMILY, "COL ablation: no cost denominator in the policy (argmax sigma)", ENVS,
              {"cost_denominator": False}, _YAML),
    AgentSpec("col-random", FAMILY, "Baseline: random interventions over U' at equal cost (no safety constraint), "
              "COL's region estimator on their outcomes", ENVS, {"policy": "random"}, _YAML),
)  # fmt: skip

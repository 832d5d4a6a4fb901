"""DCBO, CBO, ABO, BO (Aglietti, Dhir, Gonzalez and Damoulas, "Dynamic Causal Bayesian Optimization") and the
random-intervention baseline as registry entries of the "dcgo" family; each runs `loop.run_replicate` with its
`method` option and its YAML defaults (agents/hyperparams/: dcbo.yml for DCBO and CBO, bo.yml for ABO and BO,
dcgo-random.yml)."""

from __future__ import annotations

from dogym.agents.spec import HYPERPARAMS_DIR, AgentSpec

FAMILY = "dcgo"
#: The DCGO envs every method supports (the first is the default).
ENVS = tuple(f"dogym/DCGO-{name}-v0" for name in ("STAT", "NOISY", "MISS", "MULTIV", "IND", "NONSTAT", "ECON", "ODE"))

SPECS: tuple[AgentSpec, ...] = (
    AgentSpec("dcbo", FAMILY, "DCBO: dynamic causal GP prior, causal EI / cost over the exploration sets", ENVS,
              {"method": "dcbo"}),
    AgentSpec("cbo", FAMILY, "CBO: static causal GP prior per time step, causal EI / cost over the exploration sets",
              ENVS, {"method": "cbo"}, HYPERPARAMS_DIR / "dcbo.yml"),
    AgentSpec("abo", FAMILY, "ABO: GP on (x, t) over all manipulative variables, EI, every step's data", ENVS,
              {"method": "abo"}, HYPERPARAMS_DIR / "bo.yml"),
    AgentSpec("bo", FAMILY, "BO: GP on all manipulative variables, EI, the current step's data only", ENVS,
              {"method": "bo"}),
    AgentSpec("dcgo-random", FAMILY, "no-learning baseline: random set and value per trial, best observed decided",
              ENVS, {"method": "random"}),
)  # fmt: skip

"""The agent registry and the family protocol.

Every agent is an `AgentSpec` (name, family, description, the envs it supports, fixed options) registered in
`AGENTS`. A *family* (FaultAlarm RL agents, identification learners, ...) implements `Family` once for all its
agents: it builds an agent for a run, evaluates it, names its metrics with their directions, and draws its plots.
`train`, `evaluate`, `compare` and `reproduce` only ever talk to these two interfaces, so a new family plugs in with
`register_family` and `register_agent`, without editing the runner.

Families are loaded lazily from "module:attribute" entry points, so listing the agents imports no deep-learning
library. Default hyper-parameters are data: `agents/hyperparams/<agent>.yml`, keyed by env id with a `default`
entry (the rl-baselines3-zoo style), resolved by `resolve_hyperparams`.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from dogym.agents.spec import HYPERPARAMETER_RULES, HYPERPARAMS_DIR, AgentSpec, check_value

__all__ = ["AGENTS", "FAMILIES", "HYPERPARAMS_DIR", "Agent", "AgentSpec", "Family", "RunContext", "agent_spec", "family",
           "register_agent", "register_family", "resolve_hyperparams"]  # fmt: skip


@dataclass(frozen=True)
class RunContext:
    """What a family needs to build an agent for one run: the agent, env, seed, resolved hyper-parameters, number of
    parallel envs, the run folder, the checkpoint interval (in the family's budget unit) and whether to show
    progress."""

    spec: AgentSpec
    env_id: str
    env_kwargs: Mapping[str, Any]
    seed: int
    hyperparams: Mapping[str, Any]
    run_dir: Path
    n_envs: int = 1
    checkpoint_interval: int = 5_000
    progress: bool = False


@runtime_checkable
class Agent(Protocol):
    """One agent in one run. `learn` continues up to `budget` units (env steps, interventions, ...) and calls
    `checkpoint()` at safe points once `checkpoint_interval` units have passed since the last; it returns False when
    `checkpoint()` asked it to stop early. `state()` / `restore()` carry everything else that determines the rest of
    the run (explicit state, not a pickled env stack); `save` / `load` write and read the final artefacts."""

    def learn(self, budget: int, checkpoint: Callable[[], bool] | None = None) -> bool: ...

    def act(self, observation: Any, info: Mapping[str, Any]) -> Any: ...

    def save(self, folder: Path) -> None: ...

    def state(self, folder: Path) -> dict[str, Any]: ...

    def restore(self, state: Mapping[str, Any], folder: Path) -> None: ...

    def summary(self) -> dict[str, Any]: ...


@runtime_checkable
class Family(Protocol):
    """An agent family: how to build, load and evaluate its agents, which metrics it reports, and its plots.

    A family may also define `hyperparameter_keys(spec) -> frozenset[str]`, the top-level hyper-parameter keys its
    agents accept, so that unknown keys are rejected before any run starts (`check_hyperparams`), and
    `info_view(context) -> frozenset[str]`, the env info keys its agent may read (what an operator sees, plus the keys
    its own wrappers and learning library add); tests run every agent on envs whose info raises on any other key.

    `metrics` maps "phase/metric" keys of a run's metrics.json to True when larger is better (the order is the
    reporting order); `headline` are the keys `compare` prints. `curves` turns a finished run folder into long rows
    with a "kind" column; `plot` draws every figure for the rows of its kinds and returns the written paths.
    """

    name: str
    budget_unit: str
    default_budget: int
    metrics: Mapping[str, bool]
    headline: tuple[str, ...]

    def build(self, context: RunContext) -> Agent: ...

    def load(self, context: RunContext) -> Agent: ...

    def evaluate(self, agent: Agent, context: RunContext, episodes: int, seed: int) -> dict[str, Any]: ...

    def curves(self, context: RunContext) -> list[dict[str, Any]]: ...

    def plot(self, rows: list[dict[str, Any]], out_dir: Path, title: str) -> list[Path]: ...


def keyword_names(function: Callable[..., Any], exclude: tuple[str, ...] = ()) -> frozenset[str]:
    """The public names `function` takes by keyword, minus `exclude`: the hyper-parameter keys a family accepts for
    that constructor. For a class, its constructor's; a constructor that also takes **kwargs passes them on to its
    base classes, whose constructors' names are then included too."""
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    names: set[str] = set()
    for owner in function.__mro__ if isinstance(function, type) else (function,):
        constructor = owner.__dict__.get("__init__") if isinstance(function, type) else owner
        if constructor is None or constructor is object.__init__:
            continue
        parameters = inspect.signature(constructor).parameters.values()
        names |= {p.name for p in parameters if p.kind in kinds and not p.name.startswith("_") and p.name != "self"}
        if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
            break
    return frozenset(names - set(exclude))


def hyperparameter_rules(spec: AgentSpec) -> Mapping[str, Any] | None:
    """The declarations of the agent's hyper-parameter values (`dogym.agents.spec.HYPERPARAMETER_RULES`, or a plugin
    family's own `hyperparameter_rules` mapping); None when its family declares none."""
    declared = getattr(family(spec.family), "hyperparameter_rules", None)
    return declared if declared is not None else HYPERPARAMETER_RULES.get(spec.family)


def check_hyperparams(spec: AgentSpec, overrides: Mapping[str, Any], env_id: str | None = None) -> None:
    """Check an agent's hyper-parameters before any run starts; a one-line ValueError otherwise.

    Keys: the unknown keys of `overrides` are named with the allowed ones (the keys of the agent's YAML file and those
    its family accepts, by the family's optional `hyperparameter_keys(spec)`; a family without it is not checked
    here). Values: with `env_id`, every resolved value (YAML defaults, then overrides) must fit its declaration
    (`hyperparameter_rules`: type, range, finite), and the message names the key, the value and what is allowed."""
    table = load_hyperparams_file(spec.hyperparams_file) if spec.hyperparams_file.exists() else {}
    allowed = {key for entry in table.values() for key in entry}
    declared = getattr(family(spec.family), "hyperparameter_keys", None)
    if declared is not None:
        allowed |= declared(spec)
        unknown = sorted(set(overrides) - allowed)
        if unknown and not allowed:
            raise ValueError(f"agent {spec.name!r} takes no hyper-parameters, got {unknown}")
        if unknown:
            raise ValueError(
                f"unknown hyper-parameter(s) {unknown} for agent {spec.name!r}; allowed: {', '.join(sorted(allowed))}"
            )
    rules = hyperparameter_rules(spec)
    if rules is None:
        return
    values = resolve_hyperparams(spec, env_id, overrides) if env_id is not None else dict(overrides)
    for key, value in values.items():
        if key in rules:  # tests/test_hyperparameter_values.py checks that every key has its declaration
            check_value(key, value, rules[key])


#: family name -> Family object, or "module:attribute" entry point loaded on first use.
FAMILIES: dict[str, Family | str] = {
    "fault_alarm": "dogym.agents.fault_alarm.family:FAMILY",
    "identification": "dogym.agents.identification.family:FAMILY",
    "safe_region": "dogym.agents.safe_region.family:FAMILY",
    "safe_rl": "dogym.agents.safe_region.safe_rl.family:FAMILY",
    "dcgo": "dogym.agents.dcgo.family:FAMILY",
}
#: agent name -> specification, for every registered agent.
AGENTS: dict[str, AgentSpec] = {}


def register_family(name: str, family: Family | str) -> None:
    """Register a family object (or a "module:attribute" entry point) under `name`."""
    FAMILIES[name] = family


def register_agent(spec: AgentSpec) -> None:
    """Register an agent; its family must be registered and its supported envs non-empty."""
    if spec.family not in FAMILIES:
        raise ValueError(f"agent {spec.name!r}: unknown family {spec.family!r}; registered: {sorted(FAMILIES)}")
    if not spec.envs:
        raise ValueError(f"agent {spec.name!r} must support at least one env")
    AGENTS[spec.name] = spec


def family(name: str) -> Family:
    """The family registered under `name` (importing its module on first use)."""
    entry = FAMILIES[name]
    if isinstance(entry, str):
        module, _, attribute = entry.partition(":")
        entry = FAMILIES[name] = getattr(importlib.import_module(module), attribute)
    return entry


def agent_spec(name: str) -> AgentSpec:
    """The spec of a registered agent; a ValueError names the registered ones otherwise."""
    if name not in AGENTS:
        raise ValueError(f"unknown agent {name!r}; available: {', '.join(sorted(AGENTS))}")
    return AGENTS[name]


def _merge(base: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """`base` updated by `update`, nested mappings merged key by key."""
    out = dict(base)
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def load_hyperparams_file(path: Path) -> dict[str, dict[str, Any]]:
    """A hyper-parameter YAML file: a mapping of env id (or `default`) to a mapping of values."""
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise ValueError(f"{path} is not valid YAML: {err}") from err
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise ValueError(f"{path} must map env ids (and 'default') to mappings of hyper-parameters")
    return data


def resolve_hyperparams(spec: AgentSpec, env_id: str, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The agent's hyper-parameters on `env_id`: the file's `default` entry, then its `env_id` entry, then
    `overrides` (nested mappings such as policy_kwargs are merged key by key)."""
    table = load_hyperparams_file(spec.hyperparams_file) if spec.hyperparams_file.exists() else {}
    resolved = _merge(table.get("default", {}), table.get(env_id, {}))
    return _merge(resolved, overrides or {})


def _register_builtin_agents() -> None:
    from dogym.agents.dcgo.specs import SPECS as DCGO
    from dogym.agents.fault_alarm.specs import SPECS as RL
    from dogym.agents.identification.specs import SPECS as IDENTIFICATION
    from dogym.agents.safe_region.safe_rl.specs import SPECS as SAFE_RL
    from dogym.agents.safe_region.specs import SPECS as SAFE_REGION

    for spec in (*RL, *IDENTIFICATION, *SAFE_REGION, *SAFE_RL, *DCGO):
        register_agent(spec)


_register_builtin_agents()

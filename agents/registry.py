"""The registry: families, agents and plugins, and the agents' hyper-parameters.

Every agent is an `AgentSpec` (name, family, description, the envs it supports, fixed options) registered in
`AGENTS`; every family implements `dogym.agents.protocol.Family` once for all its agents. `train`, `evaluate`,
`compare` and `reproduce` only ever talk to these interfaces, so a new family plugs in with `register_family` and
`register_agent`, without editing the runner; registration checks the family's protocol (`check_family`: one error
naming the missing piece).

Plugins: a plugin is a module that registers families, agents (and envs, papers) when imported. The built-in families
register through the same path (`BUILTIN_PLUGIN`). Plugins are found through the `dogym.plugins` entry points of
installed packages (`[project.entry-points."dogym.plugins"]`, name = module) or given as `train.py --plugin MODULE`
(`load_plugin`); `loaded_plugins()` lists them so that grid workers (local processes, fork or spawn, and Ray tasks)
load the same ones before they run a cell.

Families may be registered as "module:attribute" entries, imported (and checked) on first use, so listing the agents
imports no deep-learning library. Default hyper-parameters are data: `agents/hyperparams/<file>.yml`, keyed by env id
with a `default` entry (the rl-baselines3-zoo style), resolved by `resolve_hyperparams`.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from dogym.agents.protocol import Agent, Family, RunContext, check_family
from dogym.agents.spec import HYPERPARAMETER_RULES, HYPERPARAMS_DIR, AgentSpec, PolicySpec, check_value

__all__ = ["AGENTS", "BUILTIN_PLUGIN", "FAMILIES", "HYPERPARAMS_DIR", "POLICIES", "Agent", "AgentSpec", "Family",
           "PolicySpec", "RunContext", "agent_spec", "family", "higher_is_better", "load_plugin", "load_plugins",
           "loaded_plugins", "make_policy", "policies_for", "register_agent", "register_family", "register_policy",
           "resolve_hyperparams"]  # fmt: skip


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
    its family accepts, `hyperparameter_keys(spec)`). Values: with `env_id`, every resolved value (YAML defaults, then
    overrides) must fit its declaration (`hyperparameter_rules`: type, range, finite), and the message names the key,
    the value and what is allowed."""
    table = load_hyperparams_file(spec.hyperparams_file) if spec.hyperparams_file.exists() else {}
    allowed = {key for entry in (*table.values(), spec.variant) for key in entry}
    allowed |= family(spec.family).hyperparameter_keys(spec)
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


#: family name -> Family object, or "module:attribute" entry loaded (and checked) on first use.
FAMILIES: dict[str, Family | str] = {}
#: agent name -> specification, for every registered agent.
AGENTS: dict[str, AgentSpec] = {}


def register_family(name: str, family: Family | str) -> None:
    """Register a family object (checked now: `check_family`) or a "module:attribute" entry (checked on first use)
    under `name`."""
    if not isinstance(family, str):
        check_family(name, family)
    elif ":" not in family:
        raise ValueError(f"family {name!r}: a lazy entry is 'module:attribute', got {family!r}")
    FAMILIES[name] = family


def register_agent(spec: AgentSpec) -> None:
    """Register an agent; its family must be registered and its supported envs non-empty."""
    if spec.family not in FAMILIES:
        raise ValueError(f"agent {spec.name!r}: unknown family {spec.family!r}; registered: {sorted(FAMILIES)}")
    if not spec.envs:
        raise ValueError(f"agent {spec.name!r} must support at least one env")
    AGENTS[spec.name] = spec


def family(name: str) -> Family:
    """The family registered under `name` (importing and checking its module on first use)."""
    if name not in FAMILIES:
        raise ValueError(f"unknown family {name!r}; registered: {', '.join(sorted(FAMILIES))}")
    entry = FAMILIES[name]
    if isinstance(entry, str):
        module, _, attribute = entry.partition(":")
        loaded = getattr(importlib.import_module(module), attribute)
        check_family(name, loaded)
        entry = FAMILIES[name] = loaded
    return entry


#: reference policy name -> specification, for every registered reference policy.
POLICIES: dict[str, PolicySpec] = {}


def register_policy(spec: PolicySpec) -> None:
    """Register a reference policy (a family declares those that fit its envs; `random` fits every env)."""
    if not isinstance(spec.factory, str) and not callable(spec.factory):
        raise ValueError(f"reference policy {spec.name!r}: factory must be 'module:attribute' or a callable")
    POLICIES[spec.name] = spec


def policies_for(env_id: str) -> list[str]:
    """The reference policies that fit `env_id`, sorted."""
    return sorted(name for name, spec in POLICIES.items() if spec.fits(env_id))


def make_policy(name: str, env: Any, env_id: str, seed: int | None) -> Any:
    """The reference policy `name` for `env` (made from `env_id`); a ValueError in one line for an unknown name or a
    policy that does not fit the env, naming those that do."""
    if name not in POLICIES:
        raise ValueError(f"unknown reference policy {name!r}; registered: {', '.join(sorted(POLICIES))}")
    spec = POLICIES[name]
    if not spec.fits(env_id):
        raise ValueError(f"reference policy {name!r} does not fit {env_id} (it fits {', '.join(spec.envs)}); "
                         f"policies for {env_id}: {', '.join(policies_for(env_id)) or 'none'}")  # fmt: skip
    factory = spec.factory
    if isinstance(factory, str):
        module, _, attribute = factory.partition(":")
        factory = getattr(importlib.import_module(module), attribute)
    return factory(env, seed)


def higher_is_better(family_name: str, key: str) -> bool:
    """Whether a larger value of the "phase/metric" `key` is better, as the family declares it (`Family.metrics`);
    a ValueError naming the declared metrics for a key the family does not declare."""
    metrics = family(family_name).metrics
    if key not in metrics:
        raise ValueError(f"family {family_name!r} declares no metric {key!r}; it declares {', '.join(metrics)}")
    return bool(metrics[key])


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
    """The agent's hyper-parameters on `env_id`: the file's `default` entry updated by the agent's `variant`, then the
    file's `env_id` entry, then `overrides` (nested mappings such as policy_kwargs are merged key by key)."""
    table = load_hyperparams_file(spec.hyperparams_file) if spec.hyperparams_file.exists() else {}
    resolved = _merge(_merge(table.get("default", {}), spec.variant), table.get(env_id, {}))
    return _merge(resolved, overrides or {})


# --------------------------------------------------------------------------------------------------------- plugins
#: The plugin module of the built-in families (also the package's "builtin" entry point).
BUILTIN_PLUGIN = "dogym.agents.builtin"
#: The entry-point group of plugins: `[project.entry-points."dogym.plugins"]`, each entry naming a module.
ENTRY_POINT_GROUP = "dogym.plugins"
#: module name -> the sys.path entry it was imported from (None when on the default path), in loading order.
_PLUGINS: dict[str, str | None] = {}


def _import_root(module: Any, name: str) -> str | None:
    """The sys.path entry `module` (named `name`) was imported from, or None for one without a file."""
    path = getattr(module, "__file__", None)
    if path is None:
        return None
    root = Path(path).resolve().parent
    if Path(path).name == "__init__.py":
        root = root.parent
    for _ in range(name.count(".")):
        root = root.parent
    return str(root)


def load_plugin(name: str, root: str | None = None) -> None:
    """Import the plugin module `name` (it registers its families, agents, envs and papers when imported), once.

    `root` is a folder to search when the module is not importable from sys.path (a worker process or Ray task
    loading what the driver loaded: `loaded_plugins`). A ValueError in one line when it cannot be imported."""
    if name in _PLUGINS:
        return
    if root is not None and root not in sys.path and importlib.util.find_spec(name.partition(".")[0]) is None:
        sys.path.append(root)
    try:
        module = importlib.import_module(name)
    except ImportError as err:
        raise ValueError(f"plugin {name!r} cannot be imported: {err} (is it on PYTHONPATH or installed?)") from err
    _PLUGINS[name] = _import_root(module, name)


def plugin_entry_points() -> list[tuple[str, str]]:
    """(entry name, module) of every `dogym.plugins` entry point of the packages on sys.path, read from their
    `entry_points.txt` (the format `importlib.metadata` reads; importing that module alone would cost `train.py list`
    about a third of a second on a loaded machine)."""
    found: list[tuple[str, str]] = []
    for folder in sys.path:
        try:
            names = sorted(n for n in os.listdir(folder or ".") if n.endswith((".dist-info", ".egg-info")))
        except OSError:
            continue
        for name in names:
            try:
                text = Path(folder or ".", name, "entry_points.txt").read_text(encoding="utf-8")
            except OSError:
                continue
            section = ""
            for line in text.splitlines():
                line = line.strip()
                if line.startswith("[") and line.endswith("]"):
                    section = line[1:-1].strip()
                elif section == ENTRY_POINT_GROUP and "=" in line and not line.startswith(("#", ";")):
                    entry, _, value = line.partition("=")
                    found.append((entry.strip(), value.partition(":")[0].strip()))
    return found


def load_plugins() -> None:
    """Load the built-in plugin and every installed package's `dogym.plugins` entry point."""
    load_plugin(BUILTIN_PLUGIN)
    for entry, module in plugin_entry_points():
        try:
            load_plugin(module)
        except ValueError as err:
            raise ValueError(f"the {ENTRY_POINT_GROUP} entry point {entry!r} failed: {err}") from err


def loaded_plugins() -> tuple[tuple[str, str | None], ...]:
    """The loaded plugin modules with the folder each was imported from, in loading order (for `load_plugin` in a
    worker)."""
    return tuple(_PLUGINS.items())


load_plugins()

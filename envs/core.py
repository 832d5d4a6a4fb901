"""The env contract shared by every dogym env.

- Errors: `EnvInputError` (a `ValueError`) is the one base class for every invalid action or configuration, with
  the subclasses `InvalidActionError` (an action outside the action space), `EnvConfigError` (an unknown option or a
  bad option value) and, for intervention envs, `dogym.envs.intervention.InvalidInterventionError`. Messages are
  one line and name the offending value and what is allowed.
- Info keys (`INFO_KEYS`), present at reset and at every step with a fixed shape and the same meaning in every env:
  `action_mask` (bool array: which actions / intervention targets are currently allowed), `cost` (float: 1.0 when a
  safety specification is violated, else 0.0; the safety-gymnasium convention), `intervention_cost` (float: what the
  step's action cost, 0.0 at reset) and `t` (int: steps taken since reset).
- Ground truth: every env has `ground_truth()` (for evaluation only) and `structural_view()` (what an operator knows).
- Configuration: `default_config()` lists every option with its default; `configure` applies validated overrides.
  The episode limit is part of the config (`step_max` / `horizon`) and enforced by the env itself.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

#: Info keys every dogym env returns at reset and at every step (see the module docstring for their meaning).
INFO_KEYS: tuple[str, ...] = ("action_mask", "cost", "intervention_cost", "t")


class EnvInputError(ValueError):
    """Base class of every invalid action or configuration given to a dogym env."""


class InvalidActionError(EnvInputError):
    """An action outside the env's action space (wrong type, shape, range, or NaN)."""


class EnvConfigError(EnvInputError):
    """An unknown configuration option, or an option value outside what the env allows."""


def discrete_action(action: Any, n: int, env_name: str) -> int:
    """Return `action` as a Python int in [0, n), or raise `InvalidActionError` saying what was wrong.

    Accepted: Python and numpy integers, and integer numpy arrays holding exactly one element (as vectorised
    RL code passes them). Booleans, floats (even integral ones), NaN and anything else are rejected.
    """
    value = action
    if isinstance(value, np.ndarray):
        if value.size != 1:
            raise InvalidActionError(
                f"{env_name} action must be a single integer in [0, {n}), got an array of shape {value.shape}"
            )
        value = value.reshape(()).item() if value.dtype.kind in "iu" else value.reshape(())[()]
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise InvalidActionError(
            f"{env_name} action must be an integer in [0, {n}), got {action!r} of type {type(action).__name__}"
        )
    value = int(value)
    if not 0 <= value < n:
        raise InvalidActionError(f"{env_name} action must be in [0, {n}), got {value}")
    return value


def configure(defaults: Mapping[str, Any], overrides: Mapping[str, Any], env_name: str) -> dict[str, Any]:
    """`defaults` updated with `overrides`; unknown keys raise `EnvConfigError` listing the allowed ones.

    Checking the values is up to each env (with `config_choice`, `config_int`, `config_number`)."""
    unknown = sorted(set(overrides) - set(defaults))
    if unknown:
        raise EnvConfigError(f"{env_name} got unknown option(s) {unknown}; allowed: {sorted(defaults)}")
    return {**defaults, **overrides}


def config_choice(config: Mapping[str, Any], key: str, allowed: Iterable[Any], env_name: str) -> Any:
    """`config[key]`, which must be one of `allowed`; else `EnvConfigError`."""
    allowed = tuple(allowed)
    value = config[key]
    is_bool = isinstance(value, (bool, np.bool_))
    try:  # equal to an allowed value, and a bool only where a bool is allowed (True == 1 in Python)
        ok = any(bool(a == value) and isinstance(a, (bool, np.bool_)) == is_bool for a in allowed)
    except (TypeError, ValueError):  # e.g. an array
        ok = False
    if not ok:
        raise EnvConfigError(f"{env_name} option {key} must be one of {list(allowed)}, got {value!r}")
    return value


def config_int(config: Mapping[str, Any], key: str, env_name: str, low: int = 1) -> int:
    """`config[key]` as an int >= `low` (integral floats accepted; booleans, NaN and strings rejected)."""
    value = config[key]
    ok = isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))
    ok = ok and math.isfinite(value) and int(value) == value and value >= low
    if not ok:
        raise EnvConfigError(f"{env_name} option {key} must be an integer >= {low}, got {value!r}")
    return int(value)


def config_number(
    config: Mapping[str, Any],
    key: str,
    env_name: str,
    low: float = -math.inf,
    high: float = math.inf,
    low_open: bool = False,
) -> float:
    """`config[key]` as a finite float in [low, high] (or (low, high] with `low_open`); else `EnvConfigError`."""
    value = config[key]
    ok = isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)) and math.isfinite(value)
    ok = ok and (value > low if low_open else value >= low) and value <= high
    if not ok:
        interval = f"{'(' if low_open else '['}{low:g}, {high:g}]"
        raise EnvConfigError(f"{env_name} option {key} must be a finite number in {interval}, got {value!r}")
    return float(value)


def render_mode_option(render_mode: Any, allowed: Iterable[str], env_name: str) -> str | None:
    """`render_mode` if it is None or one of `allowed`; else `EnvConfigError`."""
    allowed = list(allowed)
    if render_mode is not None and render_mode not in allowed:
        raise EnvConfigError(f"{env_name} render_mode must be one of {allowed} or None, got {render_mode!r}")
    return render_mode

"""Action and configuration validation shared by dogym envs: bad input gets a clear error naming value and range."""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np


class InvalidActionError(ValueError):
    """An action outside the env's action space (wrong type, shape, range, or NaN)."""


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


def merge_config(defaults: Mapping[str, Any], overrides: Mapping[str, Any], env_name: str) -> dict[str, Any]:
    """`defaults` updated with `overrides`; unknown keys raise a `TypeError` listing the allowed ones."""
    unknown = sorted(set(overrides) - set(defaults))
    if unknown:
        raise TypeError(f"{env_name} got unknown option(s) {unknown}; allowed: {sorted(defaults)}")
    return {**defaults, **overrides}

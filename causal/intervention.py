"""Typed atomic interventions do(X' = x') and their validation against an operating region."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType


class InterventionError(ValueError):
    """Raised for an intervention on an unknown or uncontrollable variable, or outside the operating region."""


@dataclass(frozen=True)
class Intervention:
    """do(X' = x'): a mapping from target variable names to values. The empty intervention is the passive do(0)."""

    values: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        clean = {}
        for name, value in dict(self.values).items():
            if not isinstance(name, str):
                raise InterventionError(f"intervention target names must be strings, got {name!r}")
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise InterventionError(f"intervention value for {name!r} must be a number, got {value!r}") from None
            if math.isnan(number):
                raise InterventionError(f"intervention value for {name!r} is NaN")
            clean[name] = number
        object.__setattr__(self, "values", MappingProxyType(clean))

    @classmethod
    def passive(cls) -> Intervention:
        """The passive intervention do(0): observe without changing anything."""
        return cls({})

    @property
    def targets(self) -> frozenset[str]:
        """The intervened variable names X'."""
        return frozenset(self.values)

    @property
    def is_passive(self) -> bool:
        """True for do(0)."""
        return not self.values

    def __contains__(self, name: object) -> bool:
        return name in self.values

    def __getitem__(self, name: str) -> float:
        return self.values[name]

    def __reduce__(self):  # MappingProxyType does not pickle; rebuild from a plain dict
        return (Intervention, (dict(self.values),))

    def __repr__(self) -> str:
        if self.is_passive:
            return "do()"
        return "do(" + ", ".join(f"{k}={v:g}" for k, v in sorted(self.values.items())) + ")"


def validate_intervention(
    intervention: Intervention,
    bounds: Mapping[str, tuple[float, float]],
    integer: frozenset[str] | set[str] = frozenset(),
) -> None:
    """Raise `InterventionError` unless every target is in `bounds` (the controllable variables) and its value lies
    in the allowed closed interval (integral for names in `integer`)."""
    for name, value in intervention.values.items():
        if name not in bounds:
            allowed = ", ".join(sorted(bounds)) or "none"
            raise InterventionError(f"cannot intervene on {name!r}: not a controllable variable (allowed: {allowed})")
        low, high = bounds[name]
        if not (low <= value <= high):
            raise InterventionError(
                f"intervention value {name}={value!r} is outside the operating region [{low:g}, {high:g}]"
            )
        if name in integer and value != round(value):
            raise InterventionError(
                f"intervention value {name}={value!r} must be an integer in {{{int(low)}, ..., {int(high)}}}"
            )

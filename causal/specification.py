"""Safety specifications over a time window and their probability under do() by Monte Carlo.

A `Specification` is the signal-temporal-logic formula phi = always_{tau in window} (b_1 and ... and b_k) of Hammar,
Alpcan and Lupu, "Causal Online Learning of Safe Regions in Cloud Radio Access Networks" (Def. 1, eq. 8), with
threshold bounds b_i = (variable < or > threshold). A window holds the H + 1 steps t, ..., t + H of an intervention
held from t on; which of them phi judges is the spec's `reading`:

- "monitor" (default): the H monitored steps after the intervention step (t + 1, ..., t + H; the intervention step
  settles);
- "literal": all H + 1 steps, as Def. 1 is printed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from dogym.causal.intervention import Intervention

READINGS = ("monitor", "literal")


@dataclass(frozen=True)
class Bound:
    """The predicate `variable op threshold` with op "<" or ">" (strict)."""

    variable: str
    op: str
    threshold: float

    def __post_init__(self) -> None:
        if self.op not in ("<", ">"):
            raise ValueError(f"bound operator must be '<' or '>', got {self.op!r}")

    def holds(self, values: Mapping[str, np.ndarray]) -> np.ndarray:
        """Whether the predicate holds, element-wise."""
        x = np.asarray(values[self.variable])
        return x < self.threshold if self.op == "<" else x > self.threshold

    def __str__(self) -> str:
        return f"{self.variable} {self.op} {self.threshold:g}"


@dataclass(frozen=True)
class Specification:
    """phi = always over the judged steps of a window of H + 1 steps of the conjunction of `bounds`."""

    bounds: tuple[Bound, ...]
    horizon: int = 1
    reading: str = "monitor"

    def __post_init__(self) -> None:
        if not self.bounds:
            raise ValueError("a specification needs at least one bound")
        if isinstance(self.horizon, bool) or int(self.horizon) != self.horizon or self.horizon < 1:
            raise ValueError(f"specification horizon H must be an integer >= 1, got {self.horizon!r}")
        if self.reading not in READINGS:
            raise ValueError(f"specification reading must be one of {list(READINGS)}, got {self.reading!r}")

    @property
    def variables(self) -> tuple[str, ...]:
        """The variables phi reads, in bound order without repeats."""
        return tuple(dict.fromkeys(b.variable for b in self.bounds))

    @property
    def window(self) -> int:
        """Steps per intervention window: H + 1."""
        return self.horizon + 1

    @property
    def judged(self) -> slice:
        """The window steps phi judges."""
        return slice(1 if self.reading == "monitor" else 0, self.window)

    @property
    def n_judged(self) -> int:
        """Number of judged steps: H (monitor) or H + 1 (literal)."""
        return self.window - self.judged.start

    def predicate(self, values: Mapping[str, np.ndarray]) -> np.ndarray:
        """The conjunction of the bounds at each single step, element-wise."""
        out = self.bounds[0].holds(values)
        for bound in self.bounds[1:]:
            out = out & bound.holds(values)
        return out

    def holds(self, window: Mapping[str, np.ndarray]) -> np.ndarray:
        """phi on windows: values [..., H + 1] per variable (last axis = the window's steps) -> bool [...]."""
        ok = self.predicate({v: np.asarray(window[v]) for v in self.variables})
        if ok.shape[-1] != self.window:
            raise ValueError(f"windows must have H + 1 = {self.window} steps on the last axis, got {ok.shape[-1]}")
        return ok[..., self.judged].all(axis=-1)

    def __str__(self) -> str:
        steps = f"[t+1, t+{self.horizon}]" if self.reading == "monitor" else f"[t, t+{self.horizon}]"
        return f"always_{steps} (" + " and ".join(map(str, self.bounds)) + ")"


def spec_probability(
    scm, do: Intervention | Mapping[str, float], spec: Specification, n: int, rng: np.random.Generator
) -> float:
    """P(phi = 1 | do(...)) by Monte Carlo over n windows of an SCM whose steps are i.i.d. given the intervention
    (held over the window); the standard error is at most 0.5 / sqrt(n)."""
    values = scm.sample(n * spec.window, rng, do)
    windows = {v: values[v].reshape(n, spec.window) for v in spec.variables}
    return float(spec.holds(windows).mean())

"""The env contract shared by every dogym env, and `DogymEnv`, the base class every dogym env derives from.

- Errors: `EnvInputError` (a `ValueError`) is the one base class for every invalid action or configuration, with
  the subclasses `InvalidActionError` (an action outside the action space), `EnvConfigError` (an unknown option or a
  bad option value) and, for intervention envs, `dogym.envs.intervention.InvalidInterventionError`. Messages are
  one line and name the offending value and what is allowed.
- Info keys (`INFO_KEYS`), present at reset and at every step with a fixed shape and the same meaning in every env:
  `action_mask` (bool array: which actions / intervention targets are currently allowed), `cost` (float: 1.0 when a
  safety specification is violated, else 0.0; the safety-gymnasium convention), `intervention_cost` (float: what the
  step's action cost, 0.0 at reset) and `t` (int: steps taken since reset).
- Ground truth: every env has `ground_truth()` (for evaluation only) and `structural_view()` (what an operator knows).
- Configuration: the classmethod `default_config()` lists every option with its default, chained HighwayEnv style
  (each class updates its parent's dict with its own options); `DogymEnv._configure` applies the keyword overrides,
  rejects unknown keys and lets each class check its own values (`_check_config`, chained the same way). The
  episode limit is part of the config (`step_max` / `horizon`) and enforced by the env itself.
- Checkpoints: `get_state()` returns the episode's whole state (a deep-copyable dict, the random generator included)
  and `set_state(state)` restores it, so that the steps after `set_state(get_state())` repeat exactly.
- Reset options: no dogym env takes any; `check_reset_options` refuses anything but None or an empty mapping.
- Memory: `check_allocation` refuses a size or budget whose arrays would not fit in memory (`MemoryLimitError`),
  before they are allocated, naming the size, the estimate and the limit.
"""

from __future__ import annotations

import copy
import math
import numbers
from abc import ABCMeta, abstractmethod
from collections.abc import Iterable, Mapping
from typing import Any

import gymnasium as gym
import numpy as np

#: Info keys every dogym env returns at reset and at every step (see the module docstring for their meaning).
INFO_KEYS: tuple[str, ...] = ("action_mask", "cost", "intervention_cost", "t")


def extend_info(info: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A copy of a step's `info` with `extra` keys added, of the same dict type as `info` (a wrapper that adds keys
    keeps the env's info object, e.g. the tests' sealed info dicts that police which keys an agent reads)."""
    out = copy.copy(info)
    out.update(extra)
    return out


class EnvInputError(ValueError):
    """Base class of every invalid action or configuration given to a dogym env."""


class InvalidActionError(EnvInputError):
    """An action outside the env's action space (wrong type, shape, range, or NaN)."""


class EnvConfigError(EnvInputError):
    """An unknown configuration option, or an option value outside what the env allows."""


class MemoryLimitError(EnvInputError):
    """A size or budget whose arrays would not fit in the memory available (see `check_allocation`)."""


def memory_limit() -> tuple[int, str]:
    """(bytes, where the number comes from): the DOGYM_MEMORY_LIMIT environment variable (bytes) if set, else the
    memory the OS reports available (MemAvailable), lowered to the cgroup's memory.max and the address-space
    rlimit when they are smaller."""
    import os
    import resource
    from pathlib import Path

    if os.environ.get("DOGYM_MEMORY_LIMIT", "").isdigit():
        return int(os.environ["DOGYM_MEMORY_LIMIT"]), "DOGYM_MEMORY_LIMIT"
    limits = []
    try:
        for line in Path("/proc/meminfo").read_text(encoding="ascii").splitlines():
            if line.startswith("MemAvailable:"):
                limits.append((int(line.split()[1]) * 1024, "memory available on this machine"))
    except (OSError, ValueError):
        pass
    try:
        text = Path("/sys/fs/cgroup/memory.max").read_text(encoding="ascii").strip()
        if text.isdigit():
            limits.append((int(text), "the cgroup's memory.max"))
    except OSError:
        pass
    soft = resource.getrlimit(resource.RLIMIT_AS)[0]
    if soft != resource.RLIM_INFINITY:
        limits.append((int(soft), "the address-space limit (ulimit -v)"))
    return min(limits) if limits else (1 << 62, "no known limit")


def format_bytes(n: float) -> str:
    """`n` bytes in a short human form (e.g. 22.4 GiB)."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.3g} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.3g} TiB"  # pragma: no cover


def check_allocation(n_bytes: float, what: str) -> None:
    """Refuse (`MemoryLimitError`, one line) an allocation of about `n_bytes` for `what` (e.g. "n_devices = 10^6:
    the device adjacency") that exceeds `memory_limit()`; call it before allocating what a size or budget implies."""
    limit, source = memory_limit()
    if n_bytes > limit:
        raise MemoryLimitError(
            f"{what} needs about {format_bytes(n_bytes)}, more than the limit of {format_bytes(limit)} ({source})"
        )


def check_reset_options(options: Any, env_name: str, allowed: Iterable[str] = ()) -> dict[str, Any]:
    """`options` of `reset()` as a dict: None or a mapping whose keys are all in `allowed` (no dogym env takes any
    yet); anything else raises `EnvInputError` naming it (Gymnasium passes options through unchecked)."""
    allowed = sorted(allowed)
    if options is None:
        return {}
    if not isinstance(options, Mapping):
        raise EnvInputError(f"{env_name}.reset options must be a mapping or None, got {_short(options)}")
    unknown = sorted(map(repr, set(options) - set(allowed)))
    if unknown:
        takes = f"it takes {allowed}" if allowed else "it takes none"
        raise EnvInputError(f"{env_name}.reset got unknown option(s) {', '.join(unknown)}; {takes}")
    return dict(options)


def _short(value: Any, limit: int = 80) -> str:
    """A one-line repr of `value`, cut to `limit` characters."""
    text = " ".join(repr(value).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def discrete_action(action: Any, n: int, env_name: str) -> int:
    """Return `action` as a Python int in [0, n), or raise `InvalidActionError` saying what was wrong.

    Accepted: Python and numpy integers, and integer numpy arrays of shape () or (1,) (as vectorised RL code passes
    them); other shapes, even of one element such as (1, 1), are refused. Booleans, floats (even integral ones), NaN and anything else are rejected.
    """
    value = action
    if isinstance(value, np.ndarray):
        if value.shape not in ((), (1,)):
            raise InvalidActionError(
                f"{env_name} action must be a single integer in [0, {n}) (an array of shape () or (1,)), "
                f"got an array of shape {value.shape}"
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


class DogymEnv(gym.Env, metaclass=ABCMeta):
    """The base class of every dogym env (the env contract of this module's docstring).

    Subclasses chain `default_config()` and `_check_config(cfg)` (each calls its parent's first), build their config
    with `_configure(options, render_mode)` in `__init__`, call `super().reset(seed=seed, options=options)` at the
    start of `reset` (it refuses reset options and seeds `np_random`), and implement the four methods below.
    """

    metadata: dict[str, Any] = {"render_modes": ["rgb_array"], "render_fps": 4}

    @classmethod
    def default_config(cls) -> dict[str, Any]:
        """Every option with its default: here none; each subclass adds its own to its parent's dict."""
        return {}

    def _check_config(self, cfg: dict[str, Any]) -> None:
        """Check (and normalise in place) the values of this class's options; `EnvConfigError` otherwise. Subclasses
        that add options call `super()._check_config(cfg)` and check theirs."""

    def _configure(self, options: Mapping[str, Any], render_mode: str | None = None) -> dict[str, Any]:
        """`default_config()` updated with the keyword `options` (unknown keys raise `EnvConfigError`), checked by
        `_check_config`; also checks and sets `render_mode`."""
        name = type(self).__name__
        self.render_mode = render_mode_option(render_mode, self.metadata["render_modes"], name)
        cfg = configure(self.default_config(), options, name)
        self._check_config(cfg)
        return cfg

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        """Refuse reset options (`check_reset_options`) and seed `np_random`; subclasses start their episode after
        calling it."""
        check_reset_options(options, type(self).__name__)
        super().reset(seed=seed)

    @abstractmethod
    def ground_truth(self) -> dict[str, Any]:
        """Ground truth, for evaluation only (never for agents): at least {"graph": the true causal graph}."""

    @abstractmethod
    def structural_view(self) -> Any:
        """What an operator knows of the system (variables, domains, graph where the method assumes it known); no
        mechanisms and no ground truth."""

    @abstractmethod
    def get_state(self) -> dict[str, Any]:
        """The episode's whole state (the random generator included), for checkpoints."""

    @abstractmethod
    def set_state(self, state: Mapping[str, Any]) -> None:
        """Continue the episode saved by `get_state()` (the env must have the same configuration)."""

    def _rng_state(self) -> dict[str, Any]:
        """The state of the env's random generator (`np_random`), for `get_state`."""
        return copy.deepcopy(self.np_random.bit_generator.state)

    def _set_rng_state(self, state: Mapping[str, Any]) -> None:
        """Restore `np_random` from `_rng_state()`."""
        self.np_random.bit_generator.state = copy.deepcopy(dict(state))

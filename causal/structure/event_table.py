"""Event tables: the input of event-sequence structure learners (THP, Hawkes baselines).

An event table is a sequence of events, each with an event (alarm) type, a timestamp and the device it occurred on.
`EventTable` holds them as integer codes into `type_names` and `n_devices`, sorted by time, and validates them.
CSV is always supported; Parquet when pandas finds a Parquet engine (pyarrow or fastparquet).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

COLUMNS = ("event", "timestamp", "device")


class EventTableError(ValueError):
    """An event table is malformed (missing columns, bad times, unknown types or devices)."""


@dataclass(frozen=True)
class EventTable:
    """Validated events sorted by time: `types[i]` indexes `type_names`, `devices[i]` is in [0, n_devices)."""

    types: np.ndarray  # (M,) int64
    times: np.ndarray  # (M,) float64, non-decreasing
    devices: np.ndarray  # (M,) int64
    type_names: tuple[str, ...]
    n_devices: int

    def __post_init__(self) -> None:
        types = np.asarray(self.types)
        times = np.asarray(self.times, dtype=float)
        devices = np.asarray(self.devices)
        if not (types.shape == times.shape == devices.shape) or types.ndim != 1:
            raise EventTableError(
                f"types, times and devices must be 1-D of equal length, got shapes {types.shape}, {times.shape}, "
                f"{devices.shape}"
            )
        if len(set(self.type_names)) != len(self.type_names) or not self.type_names:
            raise EventTableError(f"type_names must be non-empty and unique, got {self.type_names!r}")
        if self.n_devices < 1:
            raise EventTableError(f"n_devices must be >= 1, got {self.n_devices}")
        _check_integer_codes(types, len(self.type_names), "event type code", "type_names")
        _check_integer_codes(devices, self.n_devices, "device", "n_devices")
        bad = ~np.isfinite(times) | (times < 0)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise EventTableError(f"timestamps must be finite and >= 0; row {i} has timestamp {times[i]!r}")
        order = np.argsort(times, kind="stable")
        object.__setattr__(self, "types", types.astype(np.int64)[order])
        object.__setattr__(self, "times", times[order])
        object.__setattr__(self, "devices", devices.astype(np.int64)[order])
        object.__setattr__(self, "type_names", tuple(self.type_names))

    def __len__(self) -> int:
        return len(self.times)

    @property
    def n_types(self) -> int:
        """Number of event types."""
        return len(self.type_names)

    @property
    def horizon(self) -> float:
        """Observation end: the last timestamp (0 for an empty table)."""
        return float(self.times[-1]) if len(self.times) else 0.0

    def head(self, n: int) -> EventTable:
        """The first `n` events in time order."""
        return EventTable(self.types[:n], self.times[:n], self.devices[:n], self.type_names, self.n_devices)

    def to_frame(self) -> pd.DataFrame:
        """DataFrame with columns event (type name), timestamp, device."""
        names = np.asarray(self.type_names, dtype=object)
        return pd.DataFrame({"event": names[self.types], "timestamp": self.times, "device": self.devices})

    @classmethod
    def from_frame(
        cls, frame: pd.DataFrame, type_names: Sequence[str] | None = None, n_devices: int | None = None
    ) -> EventTable:
        """Validate a DataFrame with columns event, timestamp, device.

        `type_names` fixes the allowed types (default: the sorted distinct events); `n_devices` the allowed device
        range (default: max device + 1). Unknown types or devices raise `EventTableError`.
        """
        missing = [c for c in COLUMNS if c not in frame.columns]
        if missing:
            raise EventTableError(f"event table is missing column(s) {missing}; required columns are {list(COLUMNS)}")
        events = frame["event"].astype(str).to_numpy()
        names = tuple(sorted(set(events))) if type_names is None else tuple(type_names)
        index = {name: i for i, name in enumerate(names)}
        unknown = sorted(set(events) - set(index))
        if unknown:
            raise EventTableError(f"unknown event type(s) {unknown[:5]}; allowed types are {list(names)}")
        try:
            times = pd.to_numeric(frame["timestamp"], errors="raise").to_numpy(dtype=float)
        except (ValueError, TypeError) as err:
            raise EventTableError(f"timestamp column must be numeric: {err}") from None
        dev = frame["device"].to_numpy()
        if len(dev) and not np.issubdtype(dev.dtype, np.integer):
            num = pd.to_numeric(frame["device"], errors="coerce").to_numpy(dtype=float)
            if np.isnan(num).any() or (num != np.round(num)).any():
                i = int(np.flatnonzero(np.isnan(num) | (num != np.round(num)))[0])
                raise EventTableError(f"device must be an integer index; row {i} has device {dev[i]!r}")
            dev = num.astype(np.int64)
        n_dev = int(dev.max()) + 1 if n_devices is None and len(dev) else (n_devices or 1)
        codes = np.array([index[e] for e in events], dtype=np.int64)
        return cls(codes, times, dev.astype(np.int64), names, n_dev)

    def save(self, path: str | os.PathLike) -> Path:
        """Write to `.csv` or `.parquet` atomically (temp file + rename); returns the path."""
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix not in (".csv", ".parquet"):
            raise EventTableError(f"event table files must end in .csv or .parquet, got {path.name!r}")
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
        os.close(fd)
        try:
            frame = self.to_frame()
            if suffix == ".csv":
                frame.to_csv(tmp, index=False, float_format="%.17g")
            else:
                frame.to_parquet(tmp, index=False)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return path

    @classmethod
    def load(
        cls, path: str | os.PathLike, type_names: Sequence[str] | None = None, n_devices: int | None = None
    ) -> EventTable:
        """Read and validate a `.csv` or `.parquet` event table (see `from_frame` for the arguments)."""
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix == ".csv":
            frame = pd.read_csv(path)
        elif suffix == ".parquet":
            frame = pd.read_parquet(path)
        else:
            raise EventTableError(f"event table files must end in .csv or .parquet, got {path.name!r}")
        return cls.from_frame(frame, type_names, n_devices)


def _check_integer_codes(values: np.ndarray, bound: int, what: str, allowed: str) -> None:
    if len(values) == 0:
        return
    if not np.issubdtype(values.dtype, np.integer):
        raise EventTableError(f"{what}s must be integers, got dtype {values.dtype}")
    bad = (values < 0) | (values >= bound)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise EventTableError(f"{what} {int(values[i])} at row {i} is outside [0, {bound}) allowed by {allowed}")

"""A picklable episode monitor: SB3-compatible `monitor.csv` rows plus FaultAlarm's alarm statistics.

Unlike SB3's `Monitor` it holds no open file (each finished episode is appended and the file closed), so a whole
env stack can be pickled into a checkpoint; `truncate_log()` drops rows written after that checkpoint on resume.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

COLUMNS = ("r", "l", "t", "alarms", "cleared", "exploded")


class EpisodeMonitor(gym.Wrapper):
    """Writes one row per episode to `path`: reward r, length l, wall time t since the start, mean active alarms
    per step, whether the episode ended with no alarm (cleared) or by explosion; adds SB3's `info["episode"]`."""

    def __init__(self, env: gym.Env, path: str | Path, env_id: str = "") -> None:
        super().__init__(env)
        self.path = Path(path)
        self.t_start = time.time()
        if not self.path.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            header = json.dumps({"t_start": self.t_start, "env_id": env_id})
            self.path.write_text(f"#{header}\n{','.join(COLUMNS)}\n", encoding="utf-8")
        self.rows_written = 0
        self._rewards: list[float] = []
        self._alarms: list[int] = []

    def reset(self, **kwargs: Any):
        self._rewards, self._alarms = [], []
        return self.env.reset(**kwargs)

    def step(self, action: Any):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._rewards.append(float(reward))
        self._alarms.append(int(info.get("n_alarms", 0)))
        if terminated or truncated:
            row = {
                "r": round(float(np.sum(self._rewards)), 6),
                "l": len(self._rewards),
                "t": round(time.time() - self.t_start, 6),
                "alarms": round(float(np.mean(self._alarms)), 4),
                "cleared": int(terminated and info.get("n_alarms", 1) == 0),
                "exploded": int(bool(info.get("exploded", False))),
            }
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(",".join(str(row[c]) for c in COLUMNS) + "\n")
            self.rows_written += 1
            info = {**info, "episode": {"r": row["r"], "l": row["l"], "t": row["t"]}}
        return obs, reward, terminated, truncated, info

    def truncate_log(self) -> None:
        """Keep the header and the first `rows_written` rows (the ones this monitor's state has seen)."""
        lines = self.path.read_text(encoding="utf-8").splitlines(keepends=True)
        self.path.write_text("".join(lines[: 2 + self.rows_written]), encoding="utf-8")


def read_monitor(path: str | Path) -> list[dict[str, float]]:
    """The rows of a monitor file as dicts of floats."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    header = lines[1].split(",")
    return [dict(zip(header, map(float, line.split(",")), strict=True)) for line in lines[2:] if line]

"""An episode monitor: SB3-compatible `monitor.csv` rows plus the env's own episode metrics.

Unlike SB3's `Monitor` it holds no open file (each finished episode is appended and the file closed), and its state is
explicit (`state()` / `restore()`), so a checkpoint can continue it; `restore` drops rows written after that
checkpoint.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from dogym.agents.evaluation import episode_metrics_of
from dogym.envs.core import extend_info

COLUMNS = ("r", "l", "t")


class EpisodeMonitor(gym.Wrapper):
    """Writes one row per episode to `path`: reward r, length l, wall time t since the start, then the env's
    `episode_metrics` (booleans as 0/1); adds SB3's `info["episode"]`."""

    def __init__(self, env: gym.Env, path: str | Path, env_id: str = "") -> None:
        super().__init__(env)
        self.path = Path(path)
        self.t_start = time.time()
        self._summarise = episode_metrics_of(env)
        self.rows_written = 0
        self._rewards: list[float] = []
        self._infos: list[Mapping[str, Any]] = []
        self._env_id = env_id

    def reset(self, **kwargs: Any):
        self._rewards, self._infos = [], []
        return self.env.reset(**kwargs)

    def step(self, action: Any):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._rewards.append(float(reward))
        self._infos.append(info)
        if terminated or truncated:
            row: dict[str, Any] = {
                "r": round(float(np.sum(self._rewards)), 6),
                "l": len(self._rewards),
                "t": round(time.time() - self.t_start, 6),
            }
            if self._summarise is not None:
                for key, value in self._summarise(self._infos, terminated).items():
                    row[key] = int(value) if isinstance(value, bool | np.bool_) else round(float(value), 4)
            self._append(row)
            info = extend_info(info, episode={"r": row["r"], "l": row["l"], "t": row["t"]})
        return obs, reward, terminated, truncated, info

    def _append(self, row: dict[str, Any]) -> None:
        if not self.path.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            header = json.dumps({"t_start": self.t_start, "env_id": self._env_id})
            self.path.write_text(f"#{header}\n{','.join(row)}\n", encoding="utf-8")
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(",".join(str(v) for v in row.values()) + "\n")
        self.rows_written += 1

    def state(self) -> dict[str, Any]:
        """What continues this monitor: rows written, the running episode's rewards (its infos are not needed
        beyond their episode metrics, so they are kept too) and the start time."""
        return {"rows_written": self.rows_written, "rewards": list(self._rewards), "infos": list(self._infos),
                "t_start": self.t_start}  # fmt: skip

    def restore(self, state: Mapping[str, Any]) -> None:
        """Continue from `state`; the file keeps its header and the first `rows_written` rows."""
        self.rows_written, self.t_start = state["rows_written"], state["t_start"]
        self._rewards, self._infos = list(state["rewards"]), list(state["infos"])
        if self.path.exists():
            lines = self.path.read_text(encoding="utf-8").splitlines(keepends=True)
            self.path.write_text("".join(lines[: 2 + self.rows_written]), encoding="utf-8")


def read_monitor(path: str | Path) -> list[dict[str, float]]:
    """The rows of a monitor file as dicts of floats (no rows when no episode has finished)."""
    path = Path(path)
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    header = lines[1].split(",")
    return [dict(zip(header, map(float, line.split(",")), strict=True)) for line in lines[2:] if line]


def episode_summary(rows: list[dict[str, float]]) -> dict[str, float]:
    """Means over all training episodes and over the last 20% of them, for every monitor column but the wall time."""
    if not rows:
        return {"episodes": 0}
    out: dict[str, float] = {"episodes": len(rows)}
    tail = rows[-max(1, len(rows) // 5) :]
    names = {"r": "reward", "l": "steps"}
    for key in (k for k in rows[0] if k != "t"):
        name = names.get(key, key)
        out[f"{name}_mean"] = float(np.mean([r[key] for r in rows]))
        out[f"{name}_last20"] = float(np.mean([r[key] for r in tail]))
    return out

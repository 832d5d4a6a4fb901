"""The family protocol: the base classes every family (built-in or plugin) implements, and the checks that name a
missing piece in one line.

A *family* is one kind of problem with its agents (FaultAlarm RL agents, identification learners, ...). The runner,
grid, report and CLI talk only to these interfaces:

- `Family`: how to build and load a run's agent, evaluate it, which metrics it reports (with their directions:
  `higher_is_better`), which hyper-parameter keys its agents accept, its curves and its plots;
- `EpisodicFamily`: a family whose agents act in episodes; it plays the evaluation episodes itself and returns them
  under `EVAL_PHASE`, the payload `train.py evaluate --run` prints, so a plugin never builds that dict by hand;
- `Agent`: one agent in one run (learn, save, checkpoint state, summary with the budget used, `"timesteps"`);
- `OneShotAgent`: an agent whose short, seeded run restarts from scratch when interrupted (no checkpoint state) and
  whose finished run is read from its files, not loaded back (`load` says so);
- `EpisodicAgent`: an agent with a policy (`name`, `reset(seed)`, `act(observation, info)`).

`check_family` runs when a family is registered (or first loaded from a "module:attribute" entry); `check_agent` and
`check_summary` run on every built agent and its summary. Each raises one `ProtocolError` (a ValueError) naming the
family and the missing or malformed piece, e.g. "family 'bandit' has no method 'curves'".
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dogym.agents.spec import AgentSpec

__all__ = ["EVAL_PHASE", "Agent", "EpisodicAgent", "EpisodicFamily", "Family", "OneShotAgent", "ProtocolError",
           "RunContext", "check_agent", "check_family", "check_summary"]  # fmt: skip

#: The metrics phase under which an `EpisodicFamily` reports its evaluation episodes (`train.py evaluate --run`).
EVAL_PHASE = "eval"


class ProtocolError(ValueError):
    """A family or agent that lacks a piece of the protocol (the message names the family and the piece)."""


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


class Agent(ABC):
    """One agent in one run. `learn` continues up to `budget` units (env steps, interventions, ...) and calls
    `checkpoint()` at safe points once `checkpoint_interval` units have passed since the last; it returns False when
    `checkpoint()` asked it to stop early. `state()` / `restore()` carry everything else that determines the rest of
    the run (explicit state, not a pickled env stack); `save` writes the final artefacts; `summary()` is the run's
    training record and must hold `"timesteps"`, the budget used in the family's unit."""

    @abstractmethod
    def learn(self, budget: int, checkpoint: Callable[[], bool] | None = None) -> bool:
        """Learn up to `budget` units; False when `checkpoint()` asked to stop early."""

    @abstractmethod
    def save(self, folder: Path) -> None:
        """Write the finished run's artefacts into `folder`."""

    @abstractmethod
    def state(self, folder: Path) -> dict[str, Any]:
        """Write the checkpoint's files into `folder`; return the rest of the state (picklable)."""

    @abstractmethod
    def restore(self, state: Mapping[str, Any], folder: Path) -> None:
        """Continue from a checkpoint written by `state`."""

    @abstractmethod
    def summary(self) -> dict[str, Any]:
        """The training record (JSON-safe), with "timesteps": the budget used, in the family's unit."""


class OneShotAgent(Agent):
    """An agent whose run is short and seeded: an interrupted run restarts from scratch (no checkpoint state) and
    repeats exactly. A finished run is evaluated from its files (`files` names them), never loaded back."""

    #: The files a finished run is read from (named by `load`'s error).
    files: str = "metrics.json"

    def state(self, folder: Path) -> dict[str, Any]:
        """Nothing: an interrupted run restarts."""
        return {}

    def restore(self, state: Mapping[str, Any], folder: Path) -> None:
        """Nothing to restore (see `state`)."""

    @classmethod
    def load(cls, context: RunContext) -> OneShotAgent:
        """A ValueError saying why a finished run's agent cannot be loaded back."""
        raise ValueError(f"{context.spec.name} runs are not saved as agents: they are read from their files "
                         f"({cls.files}) in {context.run_dir}")  # fmt: skip


class EpisodicAgent(Agent):
    """An agent with a policy: `act` chooses an action for an observation and the env's info, `reset` re-seeds the
    policy's own randomness (a deterministic policy needs nothing); `name` labels it in evaluation tables."""

    name: str = "agent"

    def reset(self, seed: int | None = None) -> None:
        """Re-seed the policy's randomness (nothing for a deterministic policy)."""

    @abstractmethod
    def act(self, observation: Any, info: Mapping[str, Any]) -> Any:
        """The action for `observation` given the env's `info`."""


#: Metric ranges for `Family.supports`: a share or probability, and a count, size, cost or time.
UNIT_INTERVAL = (0.0, 1.0)
NONNEGATIVE = (0.0, float("inf"))


class Family(ABC):
    """An agent family: how to build, load and evaluate its agents, which metrics it reports, and its plots.

    Class attributes: `name`; `budget_unit` (what a run's budget counts) and `default_budget`; `metrics`, the
    "phase/metric" keys of a run's metrics.json mapped to True when larger is better (the reporting order; reports
    ask `dogym.agents.registry.higher_is_better`); `headline`, the keys `compare` prints (a subset of `metrics`);
    `supports`, optional, the range of the metrics that cannot take every real value (F1 in [0, 1], counts from 0):
    reports clip their intervals to it.

    `curves` turns a finished run folder into long rows with a "kind" column (read its files with the checksummed
    readers of `dogym.agents.io`); `plot` draws every figure for the rows of its kinds and returns the written paths.
    `hyperparameter_keys(spec)` are the top-level hyper-parameter keys an agent accepts (others are refused before any
    run starts). `info_view(context)`, optional, names the env info keys the agent may read."""

    name: str
    budget_unit: str
    default_budget: int
    metrics: Mapping[str, bool]
    headline: tuple[str, ...]
    supports: Mapping[str, tuple[float, float]] = {}

    @abstractmethod
    def build(self, context: RunContext) -> Agent:
        """A fresh agent for the run."""

    @abstractmethod
    def load(self, context: RunContext) -> Agent:
        """A finished run's agent, from its folder (a ValueError saying why when it cannot)."""

    @abstractmethod
    def evaluate(self, agent: Any, context: RunContext, episodes: int, seed: int) -> dict[str, Any]:
        """The run's final metrics, as {phase: {metric: value}} (plus any JSON-safe records)."""

    @abstractmethod
    def hyperparameter_keys(self, spec: AgentSpec) -> frozenset[str]:
        """The top-level hyper-parameter keys the agent accepts."""

    @abstractmethod
    def curves(self, context: RunContext) -> list[dict[str, Any]]:
        """A finished run's curves: long rows with a "kind" column."""

    @abstractmethod
    def plot(self, rows: list[dict[str, Any]], out_dir: Path, title: str) -> list[Path]:
        """Every figure for the rows of this family's kinds, written under `out_dir`; the written paths."""

    def run_files(self, agent: Any, context: RunContext, metrics: Mapping[str, Any]) -> list[Path]:
        """The files a finished run keeps beside metrics.json (its own figures, evaluation-only data), written into
        `context.run_dir` from the agent and its evaluated `metrics`; the written paths (none by default). The runner
        calls it once, after `evaluate` and before it seals the folder."""
        return []


class EpisodicFamily(Family):
    """A family whose agents act in episodes. `evaluate` plays `episodes` episodes of `policy(agent)` (default: the
    agent, an `EpisodicAgent`) on `evaluation_env(agent, context)` (default: the run's env) with reset seeds seed,
    seed + 1, ... and returns their summary under `EVAL_PHASE` (reward and steps, mean and std, and the env's own
    `episode_metrics`), plus `extra_metrics`."""

    def evaluation_env(self, agent: Any, context: RunContext) -> Any:
        """The env the evaluation episodes run on."""
        import gymnasium as gym

        return gym.make(context.env_id, **context.env_kwargs)

    def policy(self, agent: Any) -> Any:
        """What acts in the evaluation episodes (`name`, `reset(seed)`, `act(observation, info)`)."""
        return agent

    def episodes(self, agent: Any, context: RunContext, episodes: int, seed: int) -> dict[str, Any]:
        """The summary of `episodes` evaluation episodes (see `dogym.agents.evaluation.EvaluationResult`)."""
        from dogym.agents.evaluation import evaluate

        policy = self.policy(agent)
        for piece in ("name", "reset", "act"):
            if not hasattr(policy, piece):
                raise ProtocolError(f"family {self.name!r}: its evaluation policy ({type(policy).__name__}) has no "
                                    f"{'attribute' if piece == 'name' else 'method'} {piece!r} (see EpisodicAgent)")  # fmt: skip
        env = self.evaluation_env(agent, context)
        try:
            return evaluate(env, policy, episodes, seed, env_id=context.env_id, progress=context.progress).summary()
        finally:
            env.close()

    def extra_metrics(self, agent: Any, context: RunContext) -> dict[str, Any]:
        """Metrics beyond the episodes (none by default)."""
        return {}

    def evaluate(self, agent: Any, context: RunContext, episodes: int, seed: int) -> dict[str, Any]:
        """The evaluation episodes under `EVAL_PHASE` (none when `episodes` < 1), then `extra_metrics`."""
        played = {EVAL_PHASE: self.episodes(agent, context, episodes, seed)} if episodes >= 1 else {}
        return {**played, **self.extra_metrics(agent, context)}


# ---------------------------------------------------------------------------------------------------------- checks
#: What every family has: attribute -> its type (checked at registration).
FAMILY_ATTRIBUTES: dict[str, type | tuple[type, ...]] = {"budget_unit": str, "default_budget": int,
                                                        "metrics": Mapping, "headline": (tuple, list)}  # fmt: skip
#: The methods every family has.
FAMILY_METHODS = ("build", "load", "evaluate", "hyperparameter_keys", "curves", "plot")
#: The methods every agent has.
AGENT_METHODS = ("learn", "save", "state", "restore", "summary")


def check_family(name: str, family: Any) -> None:
    """A `ProtocolError` naming the first missing or malformed piece of a family registered as `name`."""
    what = f"family {name!r}"
    for attribute, kind in FAMILY_ATTRIBUTES.items():
        if not hasattr(family, attribute):
            raise ProtocolError(f"{what} has no attribute {attribute!r}")
        value = getattr(family, attribute)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise ProtocolError(f"{what}: {attribute} must be a {_kind_name(kind)}, got {value!r}")
    for method in FAMILY_METHODS:
        if not callable(getattr(family, method, None)):
            raise ProtocolError(f"{what} has no method {method!r}")
    if getattr(family, "name", name) != name:
        raise ProtocolError(f"{what} is registered under another name than its own ({family.name!r})")
    if family.default_budget < 1:
        raise ProtocolError(f"{what}: default_budget must be >= 1, got {family.default_budget}")
    for key, larger_is_better in family.metrics.items():
        if not isinstance(key, str) or not isinstance(larger_is_better, bool):
            raise ProtocolError(f"{what}: metrics must map 'phase/metric' keys to True (larger is better) or False, "
                                f"got {key!r}: {larger_is_better!r}")  # fmt: skip
    unknown = [key for key in family.headline if key not in family.metrics]
    if unknown:
        raise ProtocolError(f"{what}: headline metric(s) {unknown} are not in its metrics")


def check_agent(family: str, agent: Any) -> None:
    """A `ProtocolError` naming the first method a family's built agent lacks."""
    for method in AGENT_METHODS:
        if not callable(getattr(agent, method, None)):
            raise ProtocolError(f"family {family!r}: its agent {type(agent).__name__} has no method {method!r}")


def check_summary(family: str, summary: Any) -> None:
    """A `ProtocolError` unless an agent's `summary()` is a mapping with an integer or float "timesteps"."""
    if not isinstance(summary, Mapping):
        raise ProtocolError(f"family {family!r}: its agent's summary() must return a mapping, got {summary!r:.80}")
    steps = summary.get("timesteps")
    if isinstance(steps, bool) or not isinstance(steps, int | float):
        raise ProtocolError(f"family {family!r}: its agent's summary() has no number 'timesteps' (the budget used, "
                            f"in the family's unit), got {steps!r}")  # fmt: skip


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(k.__name__ for k in kinds)

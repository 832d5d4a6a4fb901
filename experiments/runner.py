"""One run of any registered agent: build it through its family, learn (with checkpoints and resume), save, evaluate.

A run lives in `<log_folder>/<label>/<env>_seed<seed>/` (the label is the agent's name unless given):

- `run.json`: the run's settings (a folder is never reused for other settings);
- `config.yaml`: the settings and the resolved hyper-parameters (the agent's YAML file, then overrides);
- whatever the family writes (monitor and progress CSVs, TensorBoard events, the final model, curves);
- `checkpoints/latest/`: the latest checkpoint only, written atomically (a new one replaces the old): the family's
  files (e.g. SB3's model.zip and the replay buffer's filled part) and `state.pkl.z`, the explicit rest of the state
  with a version number (pickled, zlib-compressed), and `manifest.json` (every file's size and SHA-256). Once the run
  is finished (its metrics.json written) the replay buffer is dropped unless `keep_replay_buffer`;
- `manifest.json` (the size and SHA-256 of every file of the folder but the checkpoint and the metrics: monitor and
  progress CSVs, model, graph, config), then `metrics.json` (with its checksum in `metrics.json.sha256`, required):
  the run is finished when metrics.json exists; it is intact when metrics.json matches its checksum and every other
  file its manifest. A checkpoint records the first bytes of
  the episode monitors it continues (`run_files.json`), so a monitor torn after it is found on resume.

While a run trains (or is recovered) its folder is locked (`run_lock`: an OS file lock beside the folder, released
by the OS if the process dies), so two grids on the same folder never train one run twice: the second waits, and
says which process holds the lock.

Resuming (`train(..., resume=True)`, and every grid) first calls `recover_run`: a damaged `run.json`, `metrics.json`
or checkpoint is reported in one line on stderr and the run is recomputed from scratch (never used); a run
interrupted before its first checkpoint restarts from a clean folder.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import sys
import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from dogym.agents.io import (
    MANIFEST,
    CorruptFileError,
    FolderLock,
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_json_checked,
    atomic_write_text,
    file_prefixes,
    read_json_checked,
    verify_manifest,
    verify_prefixes,
    write_manifest,
)
from dogym.agents.protocol import Agent, RunContext, check_agent, check_summary
from dogym.agents.registry import AgentSpec, agent_spec, check_hyperparams, family, resolve_hyperparams

#: Version of the checkpoint layout; a checkpoint of another version is refused with a clear error.
CHECKPOINT_VERSION = 1
#: Files of a finished run's checkpoint that are dropped unless the replay buffer is to be kept.
REPLAY_BUFFER_FILES = ("replay_buffer.npz",)
#: Layout of run folders written by this version (recorded in run.json): from 2 on a finished run has a manifest.
RUN_LAYOUT = 2
#: What a run folder's manifest leaves out: the checkpoint (it has its own manifest) and metrics.json, written after
#: the manifest with its own checksum (so a finished run, one with metrics.json, always has its manifest).
MANIFEST_EXCLUDE = ("checkpoints", "metrics.json", "metrics.json.sha256")
#: Files a checkpoint continues by appending (their recorded first bytes must be intact on resume).
APPENDED_FILES = "*.monitor.csv"


@dataclass
class RunConfig:
    """What to run: agent, env (default: the agent's first supported env), seed, budget (default: the family's, in
    its unit: env steps, interventions, ...), overrides; and where to write it (`label` names the run's folder and
    its rows in comparisons; default the agent's name)."""

    agent: str
    env: str | None = None
    seed: int = 0
    timesteps: int | None = None
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    hyperparams: dict[str, Any] = field(default_factory=dict)
    n_envs: int = 1
    eval_episodes: int = 20
    checkpoint_interval: int = 5_000
    log_folder: str = "runs"
    label: str | None = None
    keep_replay_buffer: bool = False

    def __post_init__(self) -> None:
        import gymnasium as gym

        import dogym.envs  # noqa: F401  (registers the envs)

        spec = agent_spec(self.agent)
        self.env = self.env or spec.default_env
        self.label = self.label or self.agent
        if self.env not in gym.registry:
            known = sorted(e for e in gym.registry if e.startswith("dogym/"))
            raise ValueError(f"unknown env {self.env!r}; available: {', '.join(known)}")
        if self.env not in spec.envs:
            raise ValueError(
                f"agent {self.agent!r} does not support env {self.env!r}; it supports {', '.join(spec.envs)}"
            )
        if self.timesteps is None:
            self.timesteps = family(spec.family).default_budget
        for name in ("timesteps", "n_envs", "eval_episodes", "checkpoint_interval", "seed"):
            value = getattr(self, name)
            low = 0 if name in ("eval_episodes", "seed") else 1
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
        for name in ("env_kwargs", "hyperparams"):
            value = getattr(self, name)
            if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
                raise ValueError(f"{name} must be a mapping of key: value with string keys, got {value!r}")
        if "render_mode" in self.env_kwargs:
            raise ValueError(
                f"env_kwargs may not set render_mode (got {self.env_kwargs['render_mode']!r}): runs do not render; "
                "the family's plots and `train.py evaluate` show a run"
            )
        if isinstance(self.log_folder, os.PathLike):
            self.log_folder = os.fspath(self.log_folder)
        if not isinstance(self.log_folder, str) or not self.log_folder or "\0" in self.log_folder:
            raise ValueError(f"log_folder must be a folder path (a string), got {self.log_folder!r}")
        if not isinstance(self.label, str) or self.label in (".", "..") or not _is_name(self.label):
            raise ValueError(
                f"label must be a folder name (letters, digits and . _ - + =, no path separators, not . or ..), "
                f"got {self.label!r}: it names a folder inside the output folder"
            )
        if not isinstance(self.keep_replay_buffer, bool):
            raise ValueError(f"keep_replay_buffer must be true or false, got {self.keep_replay_buffer!r}")
        check_hyperparams(spec, self.hyperparams, self.env)

    @property
    def spec(self) -> AgentSpec:
        """The agent's registry entry."""
        return agent_spec(self.agent)

    @property
    def run_dir(self) -> Path:
        """The run's folder."""
        return Path(self.log_folder) / str(self.label) / f"{str(self.env).replace('/', '_')}_seed{self.seed}"

    def resolved_hyperparams(self) -> dict[str, Any]:
        """The agent's hyper-parameters on this env: its YAML file's default and env entries, then the overrides."""
        return resolve_hyperparams(self.spec, str(self.env), self.hyperparams)

    def context(self, progress: bool = False) -> RunContext:
        """What the agent's family needs to build, load or evaluate this run."""
        return RunContext(self.spec, str(self.env), dict(self.env_kwargs), self.seed, self.resolved_hyperparams(),
                          self.run_dir, self.n_envs, self.checkpoint_interval, progress)  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (YAML/JSON-safe)."""
        return asdict(self)


def _is_name(label: str) -> bool:
    """Whether `label` is one plain folder name (it cannot leave the log folder)."""
    import re

    return re.fullmatch(r"[A-Za-z0-9._+=@-]{1,200}", label) is not None


def run_lock(config: RunConfig) -> FolderLock:
    """The OS lock of a run folder (a hidden file beside it, so clearing the folder never removes it)."""
    return FolderLock(config.run_dir.parent / f".{config.run_dir.name}.lock")


def _layout_of(folder: Path) -> int:
    """The layout version recorded in a run folder's run.json (1 when it predates the field)."""
    try:
        stored = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return RUN_LAYOUT
    return int(stored.get("layout", 1)) if isinstance(stored, dict) and isinstance(stored.get("layout", 1), int) else 1


def check_finished_files(folder: Path) -> None:
    """A `CorruptFileError` naming the first damaged file of a finished run folder: metrics.json against its checksum,
    and every other file against the folder's manifest (both required from layout 2 on; older runs may have
    neither)."""
    current = _layout_of(folder) >= 2
    read_json_checked(folder / "metrics.json", require_checksum=current)
    if (folder / MANIFEST).exists() or current:
        verify_manifest(folder, what="run folder")


def claim_run_folder(config: RunConfig) -> None:
    """Record the run's configuration in its folder (`run.json`), or check that the folder holds this same run.

    Raises ValueError when the folder belongs to a run with other settings (e.g. another budget), so a finished or
    half-finished run is never mistaken for, or continued as, a different one.
    """
    marker = config.run_dir / "run.json"
    ignored = ("log_folder", "keep_replay_buffer", "layout")
    mine = {k: v for k, v in json.loads(json.dumps(config.to_dict())).items() if k not in ignored}
    if marker.exists():
        try:
            stored = json.loads(marker.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise CorruptFileError(f"{marker} is not valid JSON ({err})") from None
        if not isinstance(stored, dict):
            raise CorruptFileError(f"{marker} is not a mapping of run settings")
        stored = {k: v for k, v in stored.items() if k not in ignored}
        if stored != mine:
            differ = sorted(k for k in set(stored) | set(mine) if stored.get(k) != mine.get(k))
            raise ValueError(
                f"{config.run_dir} holds a run with other settings ({', '.join(differ)}); "
                "choose another --log-folder / --out"
            )
    else:
        atomic_write_json(marker, {**config.to_dict(), "layout": RUN_LAYOUT})


def is_finished(config: RunConfig) -> bool:
    """Whether the run's metrics.json exists (written last) and is intact; raises if the folder holds a different
    run. A damaged metrics.json (or any file of the run's manifest) does not count (`recover_run` reports it and recomputes the run)."""
    path = config.run_dir / "metrics.json"
    if not path.exists():
        return False
    claim_run_folder(config)
    try:
        check_finished_files(config.run_dir)
    except CorruptFileError:
        return False
    return True


def load_metrics(config: RunConfig) -> dict[str, Any]:
    """A finished run's metrics (checked against their checksum: a `CorruptFileError` if damaged)."""
    return read_json_checked(config.run_dir / "metrics.json")


def report_problem(message: str) -> None:
    """Report a recovered problem as one line on stderr."""
    print(f"dogym: {' '.join(message.split())}", file=sys.stderr, flush=True)


def _clear_run_folder(folder: Path, keep: tuple[str, ...] = ("run.json",)) -> None:
    for path in folder.iterdir():
        if path.name in keep:
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()


def recover_run(config: RunConfig, report: Callable[[str], None] = report_problem) -> str | None:
    """Make a run folder safe to resume, and say what was wrong (None when nothing was).

    - a half-swapped checkpoint (interrupted between the renames of `write_checkpoint`) is put back;
    - a damaged `run.json`, `metrics.json` or checkpoint is reported (`report`, one line) and the run restarts from
      scratch: its folder is emptied (a damaged file is never used);
    - a run interrupted before its first checkpoint (files but no checkpoint, no metrics) restarts from a clean folder
      (its partial monitor and progress files would otherwise be appended to).
    A folder holding a run with other settings is left alone (ValueError, as in `claim_run_folder`).
    """
    folder = config.run_dir
    if not folder.is_dir():
        return None
    latest = folder / "checkpoints" / "latest"
    if latest.parent.is_dir():
        olds = sorted(latest.parent.glob(".latest.old-*"))
        if not latest.exists() and olds:
            olds[-1].rename(latest)
        for stale in latest.parent.glob(".latest.*"):
            shutil.rmtree(stale, ignore_errors=True)
    problem = None
    try:
        claim_run_folder(config)
        if (folder / "metrics.json").exists():
            check_finished_files(config.run_dir)
            return None
        if latest.exists():
            read_checkpoint(latest, folder)
            return None
    except CorruptFileError as err:
        problem = str(err)
    if problem is not None:
        report(f"{problem}; recomputing {config.label} on {config.env} seed {config.seed} from scratch")
        _clear_run_folder(folder, keep=())
        claim_run_folder(config)
        return problem
    _clear_run_folder(folder, keep=("run.json", "config.yaml"))
    return None


def write_checkpoint(agent: Agent, folder: Path) -> None:
    """Write the agent's checkpoint into `folder` atomically: built in a temporary sibling folder, then swapped in,
    so an interruption leaves the previous checkpoint intact. Only the latest checkpoint is kept."""
    tmp = folder.with_name(f".{folder.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    state = agent.state(tmp)
    atomic_write_json(tmp / "run_files.json", file_prefixes(folder.parents[1], APPENDED_FILES))
    payload = pickle.dumps({"version": CHECKPOINT_VERSION, "state": state})
    atomic_write_bytes(tmp / "state.pkl.z", zlib.compress(payload, 1))  # count arrays are sparse: ~20x smaller
    write_manifest(tmp)
    old = folder.with_name(f".{folder.name}.old-{os.getpid()}")
    if folder.exists():
        folder.rename(old)
    tmp.rename(folder)
    shutil.rmtree(old, ignore_errors=True)


def read_checkpoint(folder: Path, run_dir: Path | None = None) -> dict[str, Any]:
    """The state written by `write_checkpoint`: a `CorruptFileError` when a file is missing, truncated or damaged
    (checked against the checkpoint's manifest; with `run_dir`, also the first bytes of the run's monitors the
    checkpoint continues), a ValueError for another checkpoint version."""
    verify_manifest(folder)
    if run_dir is not None and (folder / "run_files.json").exists():
        recorded = json.loads((folder / "run_files.json").read_text(encoding="utf-8"))
        verify_prefixes(run_dir, recorded, str(folder / "run_files.json"))
    try:
        saved = pickle.loads(zlib.decompress((folder / "state.pkl.z").read_bytes()))
    except Exception as err:  # noqa: BLE001  (any unpickling failure means a damaged file)
        raise CorruptFileError(f"{folder / 'state.pkl.z'} cannot be read ({err.__class__.__name__}: {err})") from None
    if not isinstance(saved, dict):
        raise CorruptFileError(f"{folder / 'state.pkl.z'} does not hold a checkpoint")
    if saved.get("version") != CHECKPOINT_VERSION:
        raise ValueError(
            f"{folder} is a version {saved.get('version')} checkpoint; this dogym reads version {CHECKPOINT_VERSION}"
        )
    return saved["state"]


def train(
    config: RunConfig, resume: bool = False, progress: bool = False, stop_after_checkpoints: int | None = None
) -> dict[str, Any] | None:
    """Run (or, with `resume`, continue) one run to its budget, save and evaluate it, and return its metrics.

    Without `resume`, an existing run folder is an error (so nothing is overwritten by accident).
    `stop_after_checkpoints` interrupts the run after that many checkpoints and returns None (to test resuming).
    The run folder is locked throughout (`run_lock`): a second process training the same run waits for the first
    (saying which process holds it), then finds the run finished.
    """
    lock = run_lock(config)
    lock.acquire(on_wait=lambda holder: report_problem(f"waiting for {config.run_dir}: locked by {holder}"))
    try:
        return _train_locked(config, resume, progress, stop_after_checkpoints)
    finally:
        lock.release()


def _train_locked(
    config: RunConfig, resume: bool, progress: bool, stop_after_checkpoints: int | None
) -> dict[str, Any] | None:
    folder = config.run_dir
    if not resume and folder.exists() and any(folder.iterdir()):
        raise FileExistsError(f"run folder {folder} exists; pass resume=True (--resume) to continue it")
    if resume:
        recover_run(config)
        if is_finished(config):
            return load_metrics(config)
    claim_run_folder(config)
    fam = family(config.spec.family)
    context = config.context(progress)
    atomic_write_text(folder / "config.yaml", _yaml({"run": config.to_dict(), "hyperparams": context.hyperparams}))
    latest = folder / "checkpoints" / "latest"
    try:
        agent = fam.build(context)
    except (TypeError, AssertionError, ValueError) as err:  # e.g. a size that does not fit, a type caught deep down
        if not (latest / "state.pkl.z").exists():  # nothing ran: leave no claimed folder behind to block a retry
            shutil.rmtree(folder, ignore_errors=True)
        if isinstance(err, ValueError):
            raise
        raise ValueError(f"{config.agent} cannot be built with hyper-parameters {config.hyperparams}: {err}") from err
    check_agent(config.spec.family, agent)
    if resume and (latest / "state.pkl.z").exists():
        agent.restore(read_checkpoint(latest), latest)
    saved = 0

    def checkpoint() -> bool:
        nonlocal saved
        write_checkpoint(agent, latest)
        saved += 1
        return stop_after_checkpoints is None or saved < stop_after_checkpoints

    if not agent.learn(int(config.timesteps or 0), checkpoint):
        return None
    agent.save(folder)
    summary = agent.summary()
    check_summary(config.spec.family, summary)
    metrics = {"agent": config.agent, "label": config.label, "env": config.env, "seed": config.seed,
               "config": config.to_dict(), "hyperparams": context.hyperparams, **summary}  # fmt: skip
    metrics.update(fam.evaluate(agent, context, config.eval_episodes, evaluation_seed(config.seed)))
    fam.run_files(agent, context, metrics)
    finish_run(folder, metrics)
    # Only now that the run is finished: a kill between dropping the buffer and writing metrics.json would leave an
    # unfinished run whose checkpoint lacks its replay buffer (a kill here leaves a finished run with a spare file).
    if not config.keep_replay_buffer and any((latest / name).exists() for name in REPLAY_BUFFER_FILES):
        for name in REPLAY_BUFFER_FILES:
            (latest / name).unlink(missing_ok=True)
        write_manifest(latest)
    return metrics


def finish_run(folder: Path, metrics: dict[str, Any]) -> None:
    """Mark a run folder finished: its manifest (every file but the checkpoint and the metrics), then metrics.json
    with its checksum (the run is finished once it exists)."""
    write_manifest(folder, exclude=MANIFEST_EXCLUDE)
    atomic_write_json_checked(folder / "metrics.json", metrics)


def evaluation_seed(seed: int) -> int:
    """The first episode seed of a run's final evaluation: disjoint from training episodes' seeds."""
    return 10_000 * (seed + 1)


def run_config_of(run_dir: str | os.PathLike[str]) -> RunConfig:
    """The configuration of a run folder (from its config.yaml); a ValueError in one line when the folder is not a
    run folder or its config.yaml is not one this version wrote."""
    import yaml

    path = Path(run_dir) / "config.yaml"
    if not path.is_file():
        raise ValueError(f"{run_dir} is not a run folder (no config.yaml)")
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        raise CorruptFileError(f"{path} is not valid YAML ({err.__class__.__name__}): damaged") from None
    run = loaded.get("run") if isinstance(loaded, dict) else None
    if not isinstance(run, dict):
        raise CorruptFileError(f"{path} does not hold a run's settings (a mapping with a 'run' mapping): damaged")
    try:
        return RunConfig(**run)
    except TypeError as err:
        raise CorruptFileError(f"{path} holds unknown run settings ({err}): damaged") from None


def evaluate_run(run_dir: str | os.PathLike[str], episodes: int, seed: int, progress: bool = False) -> dict[str, Any]:
    """Evaluate a finished run folder's final agent for `episodes` episodes from `seed` (the family's metrics).

    Everything is read from `run_dir` itself (resolved to an absolute path), whatever its config.yaml says the run
    was written to: a moved or copied run folder evaluates the same from any working directory. The folder's files
    are checked against their checksums and manifest first (a damaged run is refused, never used)."""
    folder = Path(run_dir).resolve()
    config = run_config_of(folder)
    if not (folder / "metrics.json").exists():
        raise ValueError(f"{run_dir} is not a finished run (no metrics.json)")
    check_finished_files(folder)
    fam = family(config.spec.family)
    context = replace(config.context(progress), run_dir=folder)
    result = fam.evaluate(fam.load(context), context, episodes, seed)
    try:
        verify_manifest(folder, what="run folder")
    except CorruptFileError:  # the evaluation wrote into the folder verified above: seal it again
        write_manifest(folder, exclude=MANIFEST_EXCLUDE)
    return result


def _yaml(data: Any) -> str:
    import yaml

    return yaml.safe_dump(json.loads(json.dumps(data, default=str)), sort_keys=False)

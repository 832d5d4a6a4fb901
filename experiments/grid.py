"""Grids of runs (agents x envs x seeds, any family): the one grid runner and its one cache.

A run's folder is its cache entry: a finished run (its `metrics.json` exists, written last and atomically, and matches
its checksum) is never recomputed, an interrupted one resumes from its latest checkpoint, a damaged one is reported in
one line and recomputed (`dogym.experiments.runner.recover_run`).

Backends:

- `local` (default): a local process pool of `workers` processes (in this process when `workers` is 1);
- `ray`: every cell is a Ray task with `ray_cpus` CPUs (Ray core, the optional extra `pip install -e ".[ray]"`).
  `ray_address` joins an existing cluster (e.g. "auto", or "head-node:6379" after `ray start --head` there); with
  none, a local Ray instance with `workers x ray_cpus` CPUs is started for the grid and stopped after it. Tasks
  write their run folders themselves, so on a cluster of several machines the output folder must be on storage
  every node mounts at the same path (tasks run in the driver's working directory).

Every worker (a forked or spawned pool process, a Ray task) first loads the plugins the driver loaded
(`dogym.agents.registry.loaded_plugins`), so a grid of a plugin family runs anywhere. Either way each cell's results
are written atomically by the cell as it finishes, so a re-run on either backend skips the finished cells. `grid_backend` sets the backend for every `run_grid` call in its block (so
`train.py reproduce --backend ray` reaches each reproduction's grids).
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any

from tqdm.auto import tqdm

from dogym.agents.registry import loaded_plugins
from dogym.experiments.runner import (
    RunConfig,
    is_finished,
    load_metrics,
    recover_run,
    run_lock,
    train,
)

#: The plugins a worker loads: (module, the folder it was imported from), as `loaded_plugins` gives them.
Plugins = tuple[tuple[str, str | None], ...]
#: The backends `run_grid` knows.
BACKENDS = ("local", "ray")
#: Seconds to wait for a Ray cluster given by address before giving up with one line.
RAY_CONNECT_TIMEOUT = 20.0
#: The most CPUs one cell may reserve (a typo such as `--ray-cpus inf` would otherwise never be scheduled).
MAX_RAY_CPUS = 4096


@dataclass(frozen=True)
class Backend:
    """Where a grid's cells run: `name` in BACKENDS; for ray, the cluster address (None: a local instance) and the
    CPUs each cell (Ray task) reserves."""

    name: str = "local"
    ray_address: str | None = None
    ray_cpus: float = 1.0

    def __post_init__(self) -> None:
        if self.name not in BACKENDS:
            raise ValueError(f"unknown backend {self.name!r}; allowed: {', '.join(BACKENDS)}")
        cpus = self.ray_cpus
        if isinstance(cpus, bool) or not isinstance(cpus, int | float) or not 0 < cpus <= MAX_RAY_CPUS:
            raise ValueError(f"ray_cpus must be a number in (0, {MAX_RAY_CPUS}], got {cpus!r}")
        if self.ray_address is not None and self.name != "ray":
            raise ValueError(f"a Ray address ({self.ray_address!r}) needs the ray backend")


_current = Backend()


def unique_cells(configs: Sequence[RunConfig], report: Callable[[str], None] | None = None) -> list[RunConfig]:
    """`configs` without repeats: a cell listed twice (e.g. `--seeds 0,0`) is run and counted once, with a note
    (`report`, one line); two different configs that would share one run folder are a ValueError."""
    seen: dict[Any, RunConfig] = {}
    repeats = []
    for config in configs:
        other = seen.setdefault(config.run_dir, config)
        if other is config:
            continue
        if other != config:
            raise ValueError(
                f"two cells of the grid share the run folder {config.run_dir} with other settings; give them "
                "different labels"
            )
        repeats.append(config)
    if repeats and report is not None:
        names = sorted({f"{c.label} on {c.env} seed {c.seed}" for c in repeats})
        report(f"cell(s) listed more than once, run and counted once: {'; '.join(names)}")
    return list(seen.values())


def current_backend() -> Backend:
    """The backend `run_grid` uses when none is given."""
    return _current


@contextlib.contextmanager
def grid_backend(name: str = "local", ray_address: str | None = None, ray_cpus: float = 1.0) -> Iterator[Backend]:
    """Within the block, `run_grid` calls without a backend use this one."""
    global _current
    previous, _current = _current, Backend(name, ray_address, ray_cpus)
    if _current.name == "ray":
        ray_module()  # a clear error now if Ray is missing
    try:
        yield _current
    finally:
        _current = previous


def check_ray_address(address: str) -> None:
    """A ValueError in one line, within `RAY_CONNECT_TIMEOUT` seconds, when `address` ("HOST:PORT"; "auto" and
    "ray://" addresses are left to Ray) cannot be reached: Ray itself retries a dead address for minutes."""
    if address == "auto" or "://" in address:
        return
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise ValueError(f"a Ray address is HOST:PORT (or auto), got {address!r}")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=min(5.0, RAY_CONNECT_TIMEOUT)).close()
    except OSError as err:
        raise ValueError(f"cannot reach the Ray cluster at {address!r}: {err}") from None


def ray_module() -> Any:
    """The `ray` module, or a ValueError saying how to install it."""
    try:
        import ray
    except ImportError:
        raise ValueError('the ray backend needs Ray core: pip install -e ".[ray]"') from None
    return ray


@contextlib.contextmanager
def local_ray_priority() -> Iterator[None]:
    """Within the block, a Ray instance started here runs its tasks at normal priority (niceness 0, unless the user set
    RAY_worker_niceness): Ray's default, 15, lets any other process on a shared machine starve the grid's cells."""
    previous = os.environ.get("RAY_worker_niceness")
    os.environ.setdefault("RAY_worker_niceness", "0")
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("RAY_worker_niceness", None)


def _init_worker(parent: int, plugins: Plugins) -> None:
    """Pool-worker initializer: load the driver's plugins (a spawned worker starts without them); on Linux the worker
    is killed when the grid's process dies (e.g. by SIGKILL), so no orphan goes on writing a run folder that a re-run
    of the grid is computing again."""
    import ctypes
    import signal

    _load(plugins)
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: nothing to do
        return
    if os.getppid() != parent:  # the parent died before the call
        os._exit(1)


def _load(plugins: Plugins) -> None:
    """Register the envs and load `plugins` (module, folder) in this process (a no-op for those already loaded)."""
    import dogym.envs  # noqa: F401  (registers the envs in a fresh worker process, e.g. a Ray worker)
    from dogym.agents.registry import load_plugin

    for module, root in plugins:
        load_plugin(module, root)


def _train_one(config: RunConfig, threads: int = 1) -> dict[str, Any] | None:
    from dogym.experiments.threads import limit_threads

    limit_threads(threads)
    return train(config, resume=True)


def _ray_cell(config: RunConfig, cwd: str, threads: int, plugins: Plugins) -> str:
    """One cell as a Ray task, run in the driver's working directory (the output folder is shared storage)."""
    if not os.path.isdir(cwd):
        raise ValueError(
            f"the driver's working directory {cwd} does not exist on node {socket.gethostname()}: "
            "the output folder must be on storage every node mounts at the same path"
        )
    os.chdir(cwd)
    _load(plugins)
    _train_one(config, threads)
    return socket.gethostname()


def run_grid(
    configs: Sequence[RunConfig],
    workers: int = 1,
    progress: bool = True,
    backend: Backend | None = None,
    on_finish: Callable[[RunConfig], None] | None = None,
) -> list[dict[str, Any]]:
    """Run every unfinished config and return all runs' metrics, in `configs` order.

    `backend` (default: `current_backend()`) says where: `workers` local processes, or Ray tasks (see the module
    docstring). Damaged run folders are reported and recomputed first (`recover_run`). `on_finish(config)` is called
    in this process as each run finishes (e.g. to rewrite a report while the other workers go on)."""
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be an integer >= 1, got {workers!r}")
    backend = backend or current_backend()
    cells = unique_cells(configs)
    for config in cells:
        lock = run_lock(config)
        if lock.acquire(wait=False):  # a cell another process is training is its to recover (train() waits for it)
            try:
                recover_run(config)
            finally:
                lock.release()
    todo = [c for c in cells if not is_finished(c)]
    if todo:
        bar = tqdm(total=len(todo), desc="runs", disable=not progress)

        def finished(config: RunConfig) -> None:
            bar.set_postfix_str(f"{config.label} seed {config.seed}")
            bar.update()
            if on_finish is not None:
                on_finish(config)

        if backend.name == "ray":
            _run_ray(todo, workers, backend, finished)
        elif workers <= 1:
            for config in todo:
                _train_one(config)
                finished(config)
        else:
            with ProcessPoolExecutor(
                max_workers=workers, initializer=_init_worker, initargs=(os.getpid(), loaded_plugins())
            ) as pool:
                futures = {pool.submit(_train_one, c): c for c in todo}
                for future in as_completed(futures):
                    future.result()
                    finished(futures[future])
        bar.close()
    return [load_metrics(c) for c in configs]


def _run_ray(todo: Sequence[RunConfig], workers: int, backend: Backend, finished: Callable[[RunConfig], None]) -> None:
    """Submit every cell as a Ray task, calling `finished` as each ends; re-raise the first failure's own exception
    (one line, not Ray's traceback)."""
    import logging

    ray = ray_module()
    started = False
    if not ray.is_initialized():
        options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "logging_level": logging.WARNING}
        if backend.ray_address is None:
            options["num_cpus"] = max(1, round(workers * backend.ray_cpus))
        else:
            check_ray_address(backend.ray_address)
        try:
            with local_ray_priority():
                ray.init(address=backend.ray_address, **options)
        except (ConnectionError, TimeoutError, RuntimeError) as err:
            message = " ".join(str(err).split())[:300]
            raise ValueError(f"cannot join the Ray cluster at {backend.ray_address!r}: {message}") from None
        started = True
    threads = max(1, int(backend.ray_cpus))
    task = ray.remote(num_cpus=backend.ray_cpus, max_retries=2, retry_exceptions=False)(_ray_cell)
    cwd = os.getcwd()
    plugins = loaded_plugins()
    pending = {task.remote(c, cwd, threads, plugins): c for c in todo}
    try:
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            config = pending.pop(done[0])
            try:
                node = ray.get(done[0])
            except ray.exceptions.RayTaskError as err:
                cause = getattr(err, "cause", None)
                raise (cause if isinstance(cause, Exception) else RuntimeError(str(err).splitlines()[0])) from None
            if not is_finished(config):
                raise ValueError(
                    f"{config.label} seed {config.seed} finished on node {node} but {config.run_dir} has no "
                    "metrics.json here: the output folder must be on storage every node shares"
                )
            finished(config)
    finally:
        for ref in pending:
            ray.cancel(ref, force=True)
        if started:
            ray.shutdown()

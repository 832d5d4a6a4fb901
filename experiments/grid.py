"""Grids of runs (agents x envs x seeds, any family): the one grid runner and its one cache.

A run's folder is its cache entry: a finished run (its `metrics.json` exists, written last and atomically) is never
recomputed, an interrupted one resumes from its latest checkpoint. Runs go to a local process pool.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any

from tqdm.auto import tqdm

from dogym.experiments.runner import RunConfig, is_finished, load_metrics, train


def _train_one(config: RunConfig) -> dict[str, Any]:
    from dogym.experiments.threads import limit_threads

    limit_threads(1)
    return train(config, resume=True)


def run_grid(configs: Sequence[RunConfig], workers: int = 1, progress: bool = True) -> list[dict[str, Any]]:
    """Run every unfinished config (in `workers` processes) and return all runs' metrics, in `configs` order."""
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    todo = [c for c in configs if not is_finished(c)]
    if todo:
        bar = tqdm(total=len(todo), desc="runs", disable=not progress)
        if workers <= 1:
            for config in todo:
                bar.set_postfix_str(f"{config.label} seed {config.seed}")
                _train_one(config)
                bar.update()
        else:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                futures = {pool.submit(_train_one, c): c for c in todo}
                for future in as_completed(futures):
                    future.result()
                    bar.set_postfix_str(f"{futures[future].label} seed {futures[future].seed}")
                    bar.update()
        bar.close()
    return [load_metrics(c) for c in configs]

"""BLAS / OpenMP / torch thread limits, set once per process.

Tiny GPs and small networks run several times slower when BLAS threads oversubscribe the cores. Environment variables
only take effect before numpy is first imported, so `train.py` sets them at start-up (`set_thread_env`), and worker
processes that inherit an already imported numpy use threadpoolctl and torch (`limit_threads`).
"""

from __future__ import annotations

import os

VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def set_thread_env(n: int = 1) -> None:
    """Set the thread-count variables (unless the user set them) before numpy is imported."""
    for name in VARIABLES:
        os.environ.setdefault(name, str(n))


def limit_threads(n: int = 1) -> None:
    """Limit BLAS and torch threads in this process, whether or not numpy is already imported."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(n)
    import torch

    torch.set_num_threads(n)


def pin_to_one_core() -> None:
    """Run this process on one CPU core (where the OS allows it), so speed benchmarks measure single-core speed."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

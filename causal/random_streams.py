"""Named random streams: one independent generator per purpose, all derived from a run's seed.

`named_rng(seed, "policy")` is `numpy.random.default_rng(SeedSequence(seed).spawn(...)[i])` for the purpose's fixed
index i in `STREAMS` (a spawned child is `SeedSequence(seed, spawn_key=(i,))`). Streams of different purposes are
statistically independent, and adding a purpose at the end of `STREAMS` never changes the draws of the others.

Env definitions are not run randomness: a FaultAlarm model (topology, hops, intensities, transient pairs) is fixed by
its `model_seed` and stays as registered, so an env id always means the same system.
"""

from __future__ import annotations

import numpy as np

#: Every purpose that draws random numbers from a run's seed, in a fixed order (append only).
STREAMS: tuple[str, ...] = (
    "policy",  # an agent's or baseline's own action choices (e.g. the identification policies, random-among-active)
    "causal_mask",  # the epsilon-causal coin of the causal action mask
    "passive_log",  # the propagation of a passive (observational) alarm log
    "initial_graph",  # a random initial causal graph
    "anchors",  # seeded uniform anchor points of an acquisition (the DCGO agents)
    "structure_bootstrap",  # bootstrap resamples of a continuous structure learner (edge confidence)
    "wrong_graph",  # the edge a misspecified graph reverses
)


def named_rng(seed: int, stream: str) -> np.random.Generator:
    """The generator of purpose `stream` (one of `STREAMS`) for `seed`."""
    if stream not in STREAMS:
        raise ValueError(f"unknown random stream {stream!r}; streams: {', '.join(STREAMS)}")
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(STREAMS.index(stream),)))

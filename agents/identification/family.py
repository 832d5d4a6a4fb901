"""Identification runs (seed 000) through `train.py train / compare`: a GP active causal learner on an intervention
env for `timesteps` interventions, with loss (5) after every step.

A run folder holds `config.yaml`, `losses.csv` (per step: loss (5), surrogate loss, decision seconds, cost,
intervention) and `metrics.json` (written last: the run is finished when it exists). Runs are short (tens of
interventions), so an interrupted run restarts from scratch; being seeded, it repeats exactly.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import yaml

from dogym.agents.identification.estimator import GPConfig
from dogym.agents.identification.learner import make_learner, run_identification
from dogym.experiments.io import atomic_write_json, atomic_write_text, csv_text

#: agent name -> identification policy of `dogym.agents.identification.learner`.
ACL_AGENTS = {
    "acl-passive": ("passive", "passive learning: observe under do(0) only"),
    "acl-random": ("random", "random interventions over the operating region"),
    "acl-rollout": ("rollout", "rollout intervention policy (l = 1, m = 5, L = 10, DE 10 x 30)"),
}

#: options only the rollout policy takes (ignored for the passive and random learners, as documented in --help).
ROLLOUT_OPTIONS = ("lookahead", "horizon", "n_rollouts", "gamma", "cost_weight", "popsize", "maxiter")


def train_identification(
    agent: str, env_id: str, seed: int, steps: int, options: dict[str, Any], run_dir: Path
) -> dict[str, Any]:
    """Run one identification experiment and write its folder; returns its metrics."""
    from dogym.experiments.papers.acl import learner_options

    os.environ.setdefault("OMP_NUM_THREADS", "1")
    policy = ACL_AGENTS[agent][0]
    env = gym.make(env_id)
    if not hasattr(env.unwrapped, "scm_at"):
        raise ValueError(f"agent {agent!r} needs an intervention env (ToySCM, Microservice), got {env_id}")
    opts = {**learner_options(env_id, policy), **options}
    if policy != "rollout":  # a compare grid's rollout options do not apply to the passive / random baselines
        opts = {k: v for k, v in opts.items() if k not in ROLLOUT_OPTIONS}
    atomic_write_text(
        run_dir / "config.yaml",
        yaml.safe_dump({"agent": agent, "env": env_id, "seed": seed, "timesteps": steps, "learner_options": opts}),
    )
    gp = GPConfig(**opts.pop("gp", {}))
    try:
        learner = make_learner(policy, env, gp, opts.pop("buffer_size", None), **opts)
    except TypeError as err:
        raise ValueError(f"bad learner option for {agent}: {err}") from err
    start = time.perf_counter()
    run = run_identification(env, learner, steps, seed)
    seconds = time.perf_counter() - start
    rows = [
        {
            "step": t,
            "loss": loss,
            "surrogate": run.surrogate[t],
            "decision_seconds": run.decision_seconds[t - 1] if t else "",
            "cost": run.costs[t - 1] if t else "",
            "intervention": run.interventions[t - 1] if t else "",
        }
        for t, loss in enumerate(run.losses)
    ]
    atomic_write_text(run_dir / "losses.csv", csv_text(rows))
    metrics = {
        "agent": agent,
        "env": env_id,
        "seed": seed,
        "timesteps": steps,
        "train_seconds": seconds,
        "identification": {
            "final_loss": run.losses[-1],
            "initial_loss": run.losses[0],
            "median_decision_seconds": float(np.median(run.decision_seconds)),
            "total_cost": float(np.sum(run.costs)),
        },
        "losses": run.losses,
        "run": {k: v for k, v in asdict(run).items() if k in ("function_losses", "interventions")},
    }
    atomic_write_json(run_dir / "metrics.json", metrics)
    return metrics

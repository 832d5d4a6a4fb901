"""The identification family (Hammar & Stadler, "Online Identification of IT Systems through Active Causal
Learning"): a GP active causal learner on an intervention env for `budget` interventions, with loss (5) against the
env's ground truth (evaluation only) after every step.

A run folder gets `losses.csv` (per step: loss (5), surrogate loss, decision seconds, cost, intervention) and
`graph_history.csv` (the estimator's graph against the true one after each relearning: interventions, shd, f1; the
truth is read for evaluation only). Runs are short (tens of interventions), so an interrupted run restarts from
scratch; being seeded, it repeats exactly (the graph learner's state included: it is rebuilt from the same data).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

import gymnasium as gym
import networkx as nx
import numpy as np

from dogym.agents.identification.estimator import GPConfig
from dogym.agents.identification.learner import GRAPH_KEYS, IdentificationRun, make_learner, run_identification
from dogym.agents.identification.plots import plot_losses
from dogym.agents.identification.policies import RandomPolicy, RolloutPolicy
from dogym.agents.io import read_json_checked
from dogym.agents.protocol import NONNEGATIVE, UNIT_INTERVAL, Family, OneShotAgent, RunContext
from dogym.agents.registry import keyword_names
from dogym.agents.spec import AgentSpec


class IdentificationAgent(OneShotAgent):
    """One run's learner: the estimator and intervention policy named by the agent spec's `policy` option, with the
    run's resolved options (gp, buffer_size, model_eviction and, for the rollout policy, its parameters)."""

    files = "metrics.json, losses.csv"

    def __init__(self, context: RunContext) -> None:
        self.context = context
        self.env = gym.make(context.env_id, **context.env_kwargs)
        options = dict(context.hyperparams)
        gp = GPConfig(**options.pop("gp", {}))
        try:
            self.learner = make_learner(context.spec.options["policy"], self.env, gp, options.pop("buffer_size", None),
                                        seed=context.seed, **options)  # fmt: skip
        except TypeError as err:
            raise ValueError(f"bad option for {context.spec.name}: {err}") from err
        self._record: IdentificationRun | None = None
        self.seconds = 0.0

    def learn(self, budget: int, checkpoint: Callable[[], bool] | None = None) -> bool:
        """`budget` interventions from the start (runs are short: no checkpoints)."""
        start = time.perf_counter()
        self._record = run_identification(self.env, self.learner, budget, self.context.seed)
        self.seconds = time.perf_counter() - start
        return True

    @property
    def record(self) -> IdentificationRun:
        """The finished run's record (RuntimeError before `learn`)."""
        if self._record is None:
            raise RuntimeError("the learner has not run yet: call learn() first")
        return self._record

    def save(self, folder: Path) -> None:
        """losses.csv: one row per step."""
        from dogym.agents.io import atomic_write_text, csv_text

        run = self.record
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
        atomic_write_text(folder / "losses.csv", csv_text(rows))

    def summary(self) -> dict[str, Any]:
        """Loss (5) before and after, decision times, cost, and the per-step record."""
        run = self.record
        return {
            "timesteps": len(run.costs),
            "train_seconds": self.seconds,
            "identification": {
                "final_loss": run.losses[-1],
                "initial_loss": run.losses[0],
                "median_decision_seconds": float(np.median(run.decision_seconds)),
                "total_cost": float(np.sum(run.costs)),
            },
            "losses": run.losses,
            "run": asdict(run),
        }


class IdentificationFamily(Family):
    """The family protocol for the identification learners (see `dogym.agents.protocol.Family`)."""

    name = "identification"
    budget_unit = "interventions"
    default_budget = 30
    metrics = {
        "identification/final_loss": False,
        "identification/median_decision_seconds": False,
        "identification/total_cost": False,
        "graph/shd": False,
        "graph/f1": True,
        "graph/learn_seconds": False,
    }
    headline = tuple(metrics)[:3]
    supports = {**dict.fromkeys(metrics, NONNEGATIVE), "graph/f1": UNIT_INTERVAL}

    def info_view(self, context: RunContext) -> frozenset[str]:
        """The info keys the learners read: none (they learn from the intervention samples and their own costs)."""
        return frozenset()

    def hyperparameter_keys(self, spec: AgentSpec) -> frozenset[str]:
        """The estimator's options (gp, buffer_size, model_eviction) and those of the spec's policy."""
        policy = {"passive": frozenset(), "random": keyword_names(RandomPolicy, exclude=("name",)),
                  "rollout": keyword_names(RolloutPolicy, exclude=("name", "cost", "samples_per_step", "orientation"))
                  | GRAPH_KEYS}  # fmt: skip
        return frozenset({"gp", "buffer_size", "model_eviction"}) | policy[spec.options["policy"]]

    def build(self, context: RunContext) -> IdentificationAgent:
        """A fresh learner for the run."""
        return IdentificationAgent(context)

    def load(self, context: RunContext) -> IdentificationAgent:
        """Learners are not saved: a finished run is read from its loss curves."""
        return IdentificationAgent.load(context)

    def evaluate(self, agent: IdentificationAgent, context: RunContext, episodes: int, seed: int) -> dict[str, Any]:
        """The estimator's final graph against the true one (SHD, F1; the truth read for evaluation only) and the CPU
        seconds spent learning it; the loss curve is already in the run's record."""
        return {"graph": agent.learner.graph.metrics(_graph_of_truth(agent))}

    def run_files(self, agent: IdentificationAgent, context: RunContext, metrics: Mapping[str, Any]) -> list[Path]:
        """graph_history.csv: SHD and F1 of the estimator's graph after each relearning and at the end."""
        from dogym.agents.io import atomic_write_text, csv_text

        path = context.run_dir / "graph_history.csv"
        rows = agent.learner.graph.history_rows(_graph_of_truth(agent), len(agent.record.costs))
        atomic_write_text(path, csv_text(rows))
        return [path]

    def curves(self, context: RunContext) -> list[dict[str, Any]]:
        """Loss (5) after each intervention."""
        losses = read_json_checked(context.run_dir / "metrics.json")["losses"]
        base = {"agent": context.spec.name, "env": context.env_id, "seed": context.seed, "kind": "loss"}
        return [{**base, "timesteps": t, "loss": v} for t, v in enumerate(losses)]

    def plot(self, rows: list[dict[str, Any]], out_dir: Path, title: str) -> list[Path]:
        """Loss (5) per intervention, one panel per env, as loss_curves.png."""
        mine = [r for r in rows if r["kind"] == "loss"]
        return [plot_losses(mine, out_dir / "loss_curves.png")] if mine else []


def _graph_of_truth(agent: IdentificationAgent) -> nx.DiGraph:
    """The env's true causal graph at the run's last step (evaluation only)."""
    return agent.env.get_wrapper_attr("ground_truth")(max(len(agent.record.costs), 1))["graph"]


FAMILY = IdentificationFamily()

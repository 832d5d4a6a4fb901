"""The DCGO family (Aglietti, Dhir, Gonzalez and Damoulas, "Dynamic Causal Bayesian Optimization"): DCBO, CBO, ABO,
BO and the random-intervention baseline on a DCGO env. A run is one replicate (`loop.run_replicate`) with the run's
budget as H, the trials per time step (DCBO, CBO and the random baseline observe at trial 0 and make H - 1
interventions; ABO and BO make H).

A run folder gets `replicate.json` (curves, trials, decisions). Evaluation reads the env's ground truth (evaluation
only: the optimum per t given the run's own decisions) and reports the gap (eq. 4, per-replicate form), the % of time
steps whose decision set is optimal (tolerant: within 1e-3 x the target's range of y*_t, ties count; and strict), the regret of the best value found and of the decision, and writes
`convergence.png` (Fig. 6 row 3 style). DCBO and CBO also report their causal graph (`graph`: known, learned or
wrong; `dogym.agents.dcgo.graph`): graph/shd and graph/f1 of the final slice graph against the true slice graph
(evaluation only), graph/learn_seconds (CPU seconds of structure learning; 0 for a known or wrong graph; the run's
total is train_seconds), and `graph_history.csv` (interventions, shd, f1 after each (re)learning). The authors' form of the gap needs several methods and replicates:
`gap.gap_table`. Runs take about a second, so an interrupted run restarts from scratch; being seeded, it repeats
exactly, a learned graph included (the learner is rebuilt from the run's own data at every relearning, and
replicate.json keeps the graph after each one), so `state()` stays empty.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import gymnasium as gym
import networkx as nx
import numpy as np

from dogym.agents.dcgo.gap import gap_scores, set_hits
from dogym.agents.dcgo.loop import LoopOptions, ReplicateResult, run_replicate
from dogym.agents.dcgo.plots import plot_convergence
from dogym.agents.io import atomic_write_text, csv_text, read_json_checked
from dogym.agents.protocol import NONNEGATIVE, UNIT_INTERVAL, Family, OneShotAgent, RunContext
from dogym.agents.registry import keyword_names
from dogym.agents.spec import AgentSpec


class DCGOAgent(OneShotAgent):
    """One run of one DCGO method (the spec's `method` option) with the run's hyper-parameters."""

    files = "replicate.json"

    def __init__(self, context: RunContext) -> None:
        self.context = context
        self.method = str(context.spec.options["method"])
        self.options = dict(context.hyperparams)
        self.env = gym.make(context.env_id, **context.env_kwargs)
        self._result: ReplicateResult | None = None
        self.seconds = 0.0

    def learn(self, budget: int, checkpoint: Callable[[], bool] | None = None) -> bool:
        """One replicate with H = `budget` trials per time step (runs are short: no checkpoints)."""
        start = time.perf_counter()
        self._result = run_replicate(self.env, self.method, int(budget), self.context.seed, **self.options)
        self.seconds = time.perf_counter() - start
        return True

    @property
    def result(self) -> ReplicateResult:
        """The replicate's record (RuntimeError before `learn`)."""
        if self._result is None:
            raise RuntimeError(f"{self.method} has not run yet: call learn() first")
        return self._result

    @classmethod
    def load(cls, context: RunContext) -> DCGOAgent:
        """A finished run's agent, from its replicate.json."""
        path = context.run_dir / "replicate.json"
        if not path.exists():
            raise ValueError(f"{context.run_dir} has no replicate.json: the run has not finished")
        agent = cls(context)
        agent._result = ReplicateResult.from_dict(read_json_checked(path))
        return agent

    def act(self, observation: Any, info: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """The run's decision at time step info["time_step"] (default 0) as a Dict action with decide = 1."""
        result = self.result
        t = int(info.get("time_step", 0))
        if not 0 <= t < result.T:
            raise ValueError(f"time step {t} is outside the run's 0..{result.T - 1}")
        return self.env.unwrapped.make_action(result.decision_values[t], decide=True)

    def save(self, folder: Path) -> None:
        """replicate.json."""
        from dogym.agents.io import atomic_write_json

        atomic_write_json(folder / "replicate.json", self.result.to_dict())

    def summary(self) -> dict[str, Any]:
        """Budget used, cost, interventions and the replicate's record."""
        result = self.result
        interventions = sum(1 for trial in result.trials if trial.set)
        return {
            "timesteps": result.H,  # the family's budget unit: trials per time step
            "train_seconds": self.seconds,
            "dcgo": {
                "cumulative_cost": float(result.cumulative_cost()[-1, -1]),
                "interventions": interventions,
                "final_best_mean": float(result.best_so_far[:, -1].mean()),
            },  # fmt: skip
            "result": result.to_dict(),
        }


def score_run(result: ReplicateResult, truth: Mapping[str, Any]) -> dict[str, Any]:
    """A run's scores against the env's ground truth (`ground_truth()` after the run: the optimum per t given the
    run's own decisions): the per-replicate gap, % of time steps whose decision set is optimal (tolerant: any set
    within the tie tolerance of y*_t; strict: the arg-min set), the mean final regret of the best value found and of
    the decision."""
    y_star = np.asarray(truth["y_star"], dtype=np.float64)
    strict = [[tuple(entry["set"])] for entry in truth["optimum"]]
    tied = [[tuple(s) for s in entry["tied_sets"]] for entry in truth["optimum"]]
    curves = result.best_so_far[None]
    return {
        "gap": float(gap_scores(curves, y_star[None], curves[..., 0], mode="replicate").mean()),
        "optimal_set": 100.0 * float(set_hits([result.decision_sets], [tied]).mean()),
        "optimal_set_strict": 100.0 * float(set_hits([result.decision_sets], [strict]).mean()),
        "regret": float(np.mean(result.best_so_far[:, -1] - y_star)),
        "decision_regret": float(np.mean(np.asarray(result.decision_y) - y_star)),
    }


def graph_scores(result: ReplicateResult, truth: nx.DiGraph, variables: list[str]) -> list[dict[str, Any]]:
    """The run's slice graph after each (re)learning scored against the true slice graph (the within-slice edges of
    the last time slice of the env's true time-unrolled graph; evaluation only): rows {interventions, shd, f1}
    (none for a method without a graph)."""
    from dogym.causal.graphs import edge_history_scores
    from dogym.causal.structure.time_unrolled import slice_graph

    return edge_history_scores(result.graph_history, variables, slice_graph(truth, variables))


class DCGOFamily(Family):
    """The family protocol for the DCGO agents (see `dogym.agents.protocol.Family`)."""

    name = "dcgo"
    budget_unit = "trials per time step (H)"
    default_budget = 30
    metrics = {
        "truth/gap": True,
        "truth/optimal_set": True,
        "truth/optimal_set_strict": True,
        "truth/regret": False,
        "truth/decision_regret": False,
        "dcgo/cumulative_cost": False,
        "dcgo/interventions": True,
        "graph/shd": False,
        "graph/f1": True,
        "graph/learn_seconds": False,
    }
    headline = ("truth/gap", "truth/optimal_set", "truth/regret", "dcgo/cumulative_cost")
    supports = {"truth/optimal_set": (0.0, 100.0), "truth/optimal_set_strict": (0.0, 100.0), "graph/f1": UNIT_INTERVAL,
                **dict.fromkeys(("dcgo/cumulative_cost", "dcgo/interventions", "graph/shd", "graph/learn_seconds"),
                                NONNEGATIVE)}  # fmt: skip

    def info_view(self, context: RunContext) -> frozenset[str]:
        """The info keys the agents read: the outcome of each step and its cost, the realised past a decision leaves
        (the loop's view of the env), and the time step of a decision."""
        return frozenset({"y", "intervention_cost", "past", "time_step"})

    def hyperparameter_keys(self, spec: AgentSpec) -> frozenset[str]:
        """The loop's options (`LoopOptions`)."""
        return keyword_names(LoopOptions)

    def build(self, context: RunContext) -> DCGOAgent:
        """A fresh agent for the run."""
        return DCGOAgent(context)

    def load(self, context: RunContext) -> DCGOAgent:
        """A finished run's agent, from its replicate.json."""
        return DCGOAgent.load(context)

    def evaluate(self, agent: DCGOAgent, context: RunContext, episodes: int, seed: int) -> dict[str, Any]:
        """Scores against the env's ground truth (evaluation only)."""
        result = agent.result
        env = agent.env.unwrapped
        if env.t != result.T:  # a loaded run: replay its decisions to condition the truth on them
            agent.env.reset(seed=result.seed if agent.options.get("data_seed") is None else agent.options["data_seed"])
            for value in result.decision_values:
                agent.env.step(env.make_action(value, decide=True))
        truth = env.ground_truth()
        history = graph_scores(result, truth["graph"], list(env.variables))
        final = {"graph": {**history[-1], "learn_seconds": result.learn_seconds}} if history else {}
        final.get("graph", {}).pop("interventions", None)
        return {
            "truth": score_run(result, truth),
            **final,
            "graph_history": history,
            "y_star": np.asarray(truth["y_star"], dtype=float).tolist(),
            "optimal_sets": [list(entry["set"]) for entry in truth["optimum"]],
            "tied_sets": [[list(s) for s in entry["tied_sets"]] for entry in truth["optimum"]],
            "tolerance": [float(entry["tolerance"]) for entry in truth["optimum"]],
        }

    def run_files(self, agent: DCGOAgent, context: RunContext, metrics: Mapping[str, Any]) -> list[Path]:
        """convergence.png: the run's best-so-far value against trials, one panel per t, with y*_t; for DCBO and CBO
        graph_history.csv: the slice graph's SHD and F1 against the true slice graph after each (re)learning, with
        the interventions made so far (columns interventions, shd, f1)."""
        title = f"{context.spec.name} on {context.env_id}"
        paths = [plot_convergence({context.spec.name: agent.result.best_so_far[None]}, np.asarray(metrics["y_star"]),
                                  context.run_dir / "convergence.png", title)]  # fmt: skip
        if metrics.get("graph_history"):
            path = context.run_dir / "graph_history.csv"
            atomic_write_text(path, csv_text(metrics["graph_history"]))
            paths.append(path)
        return paths

    def curves(self, context: RunContext) -> list[dict[str, Any]]:
        """Best-so-far value per (t, trial), with y*_t."""
        metrics = read_json_checked(context.run_dir / "metrics.json")
        base = {"agent": context.spec.name, "env": context.env_id, "seed": context.seed, "kind": "dcgo"}
        curve = np.asarray(metrics["result"]["best_so_far"], dtype=float)
        return [{**base, "t": t, "trial": h, "best_so_far": float(curve[t, h]), "y_star": metrics["y_star"][t]}
                for t in range(curve.shape[0]) for h in range(curve.shape[1])]  # fmt: skip

    def plot(self, rows: list[dict[str, Any]], out_dir: Path, title: str) -> list[Path]:
        """convergence[_<env>].png per env: mean best-so-far per agent against trials, one panel per t."""
        mine = [r for r in rows if r["kind"] == "dcgo"]
        envs = list(dict.fromkeys(r["env"] for r in mine))
        paths = []
        for env in envs:
            here = [r for r in mine if r["env"] == env]
            n_t = 1 + max(r["t"] for r in here)
            n_h = 1 + max(r["trial"] for r in here)
            curves, y_star = {}, np.zeros(n_t)
            for agent in dict.fromkeys(r["agent"] for r in here):
                seeds = sorted({r["seed"] for r in here if r["agent"] == agent})
                c = np.full((len(seeds), n_t, n_h), np.nan)
                for r in here:
                    if r["agent"] == agent:
                        c[seeds.index(r["seed"]), r["t"], r["trial"]] = r["best_so_far"]
                curves[agent] = c
            for t in range(n_t):
                y_star[t] = np.mean([r["y_star"] for r in here if r["t"] == t])
            name = "convergence.png" if len(envs) == 1 else f"convergence_{env.replace('/', '_')}.png"
            label = title if env in title else f"{title} {env}".strip()
            paths.append(plot_convergence(curves, y_star, out_dir / name, f"{label} (y*_t: mean over runs)"))
        return paths


FAMILY = DCGOFamily()

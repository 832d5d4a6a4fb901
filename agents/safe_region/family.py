"""The safe-region family (Hammar, Alpcan and Lupu, "Causal Online Learning of Safe Regions in Cloud Radio Access
Networks"): COL and its ablations on a safe-region env for a cost budget C (the run's budget, in cost units).

A run folder gets `region.npz` (candidates; per estimate step the posterior mean, sd and safe set; the interventions
and outcomes), `interventions.csv` and `graph.json` (the model's graph after each (re)learning and, with a learned
graph, the structure learner's final state). Evaluation compares the estimates with the env's true regions and the
graph with the true graph (evaluation only: `ground_truth()`), writes `truth.npz`, `graph_history.csv` (SHD and F1
of the model's graph over interventions) and, for 2-D control spaces, `region_evolution.png` (Fig. 6). Runs are
short, so an interrupted run restarts from scratch; being seeded, it repeats exactly (with a learned graph too: the
learner is part of the seeded run).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from dogym.agents.io import read_json_checked
from dogym.agents.protocol import NONNEGATIVE, UNIT_INTERVAL, Family, OneShotAgent, RunContext
from dogym.agents.registry import keyword_names
from dogym.agents.safe_region.col import COL, FIGURE_ALPHAS, COLConfig, COLRecord
from dogym.agents.safe_region.plots import plot_region_evolution, plot_size_against_unsafe
from dogym.agents.spec import AgentSpec
from dogym.causal.graphs import edge_history_scores

#: Consecutive interventions with a region change below `CONVERGED_CHANGE` that count as converged.
CONVERGED_RUN, CONVERGED_CHANGE = 3, 0.01
#: The coverage of the true region (recall), and the share of the estimate inside it (precision), that count as
#: "reaching" it in `unsafe_to_cover`.
COVERAGE = 0.9


def cumulative_unsafe(outcomes: Sequence[int]) -> np.ndarray:
    """[k + 1]: the unsafe interventions (outcome 0) among the first k, for k = 0 .. len(outcomes)."""
    return np.concatenate([[0], np.cumsum(1 - np.asarray(outcomes, dtype=int))])


def unsafe_to_cover(
    recall: list[float], outcomes: list[int], precision: list[float] | None = None, coverage: float = COVERAGE
) -> int | None:
    """Unsafe interventions spent until the estimate first covers `coverage` of the true region with at least that
    share of itself inside it (estimate k follows k interventions; estimate 0 is the prior's; without `precision`
    coverage alone counts), or None when it never does (a censored count: at least all of them)."""
    unsafe = cumulative_unsafe(outcomes)
    precision = [1.0] * len(recall) if precision is None else precision
    reached = next((k for k, (r, p) in enumerate(zip(recall, precision, strict=True))
                    if r >= coverage and p >= coverage), None)  # fmt: skip
    return None if reached is None else int(unsafe[reached])


def coverage(recall: list[float], outcomes: list[int], precision: list[float]) -> dict[str, float]:
    """A run's "truth/covered" (1 when its estimate reached the true region: `unsafe_to_cover`) and
    "truth/unsafe_to_cover" (the unsafe interventions until then; all of them, a censored count, when it never did)."""
    hit = unsafe_to_cover(recall, outcomes, precision)
    return {
        "covered": float(hit is not None),
        "unsafe_to_cover": float(len(outcomes) - sum(outcomes) if hit is None else hit),
    }


def unsafe_to_converge(sizes: list[float], outcomes: list[int]) -> int:
    """Unsafe interventions until the region size changed by less than 0.01 over 3 consecutive interventions (all
    of them when that never happens)."""
    calm = 0
    for k in range(1, len(sizes)):
        calm = calm + 1 if abs(sizes[k] - sizes[k - 1]) < CONVERGED_CHANGE else 0
        if calm >= CONVERGED_RUN:
            return int(k - sum(outcomes[:k]))
    return int(len(outcomes) - sum(outcomes))


def region_scores(estimate: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    """Precision and recall of an estimated region against the true one on the same points, whether it lies inside
    (no estimated point outside the truth) and the fraction of the estimate outside."""
    both = float(np.sum(estimate & truth))
    size = float(np.sum(estimate))
    return {
        "precision": both / size if size else 1.0,
        "recall": both / float(np.sum(truth)) if np.any(truth) else 1.0,
        "inside": float(not np.any(estimate & ~truth)),
        "outside_fraction": (size - both) / size if size else 0.0,
    }


class COLAgent(OneShotAgent):
    """One run's COL learner, with the run's resolved options and the agent's ablation flags."""

    files = "metrics.json, region.npz, interventions.csv, graph.json"

    def __init__(self, context: RunContext) -> None:
        self.context = context
        self.env = gym.make(context.env_id, **context.env_kwargs)
        try:
            self.config = COLConfig(**{**dict(context.hyperparams), **dict(context.spec.options)})
        except TypeError as err:
            raise ValueError(f"bad option for {context.spec.name}: {err}") from err
        self.learner = COL(self.env.unwrapped, self.config, context.seed)
        self._record: COLRecord | None = None
        self.seconds = 0.0

    def learn(self, budget: int, checkpoint: Callable[[], bool] | None = None) -> bool:
        """Algorithm 1 with cost budget C = `budget` (runs are short: no checkpoints)."""
        start = time.perf_counter()
        self._record = self.learner.run(float(budget))
        self.seconds = time.perf_counter() - start
        return True

    def save(self, folder: Path) -> None:
        """region.npz and interventions.csv."""
        from dogym.agents.io import atomic_write_bytes, atomic_write_json, atomic_write_text, csv_text

        run = self.record
        atomic_write_bytes(folder / "region.npz", _npz(candidates=run.candidates, mean=np.array(run.mean),
                                                       std=np.array(run.std), regions=np.array(run.regions),
                                                       interventions=self.interventions(),
                                                       outcomes=np.array(run.outcomes, dtype=np.int8)))  # fmt: skip
        rows = [{"k": k + 1, **dict(zip(self.learner.targets, u, strict=True)), "safe": ok, "cost": c,
                 "in_safe_set": s, "region_size": run.sizes[k + 1]}
                for k, (u, ok, c, s) in enumerate(zip(run.interventions, run.outcomes, run.costs, run.in_safe_set,
                                                      strict=True))]  # fmt: skip
        atomic_write_text(folder / "interventions.csv", csv_text(rows))
        atomic_write_json(folder / "graph.json", self.graph_state())

    def graph_state(self) -> dict[str, Any]:
        """The model's graph after each (re)learning ({"interventions": k, "edges": [[parent, child], ...]}), and the
        structure learner's final state with a learned graph (None otherwise)."""
        col = self.learner
        return {"graph": col.config.graph,
                "history": [{"interventions": k, "edges": [list(e) for e in edges]} for k, edges in col.graph_history],
                "learner": None if col.structure is None else _plain(col.structure.state())}  # fmt: skip

    def summary(self) -> dict[str, Any]:
        """Interventions, unsafe ones, cost, region size, and the per-step curves."""
        run = self.record
        return {
            "timesteps": round(float(np.sum(run.costs)), 4),  # in the family's budget unit: cost spent
            "train_seconds": self.seconds,
            "col": {
                "unsafe_interventions": run.unsafe,
                "unsafe_to_converge": unsafe_to_converge(run.sizes, run.outcomes),
                "interventions": len(run.outcomes),
                "cost_spent": float(np.sum(run.costs)),
                "region_size": run.sizes[-1],
                "outside_safe_set": int(len(run.in_safe_set) - sum(run.in_safe_set)),
            },
            "sizes": run.sizes,
            "outcomes": run.outcomes,
            "stopped": run.stopped,
        }

    def interventions(self) -> np.ndarray:
        """The run's interventions on U' (one row each, in the order of `learner.targets`)."""
        return np.array(self.record.interventions, dtype=np.float64).reshape(-1, len(self.learner.targets))

    @property
    def record(self) -> COLRecord:
        """The finished run's record (RuntimeError before `learn`)."""
        if self._record is not None:
            return self._record
        raise RuntimeError("COL has not run yet: call learn() first")


def _true_regions(agent: COLAgent) -> list[np.ndarray]:
    """The env's true region (ground truth, evaluation only) on the run's candidates for each estimate k, at the
    time of the intervention it would choose next (k + 1)."""
    run, env = agent.record, agent.env.unwrapped
    return [env.ground_truth(t=k + 1)["region"].contains(run.candidates) for k in range(len(run.regions))]


class SafeRegionFamily(Family):
    """The family protocol for COL and its ablations (see `dogym.agents.protocol.Family`)."""

    name = "safe_region"
    budget_unit = "cost"
    default_budget = 20
    metrics = {
        "col/unsafe_interventions": False,
        "col/unsafe_to_converge": False,
        "col/region_size": True,
        "truth/true_region_size": True,
        "truth/precision": True,
        "truth/recall": True,
        "truth/inside": True,
        "truth/covered": True,
        "truth/unsafe_to_cover": False,
        "col/interventions": True,
        "col/cost_spent": False,
        "graph/shd": False,
        "graph/f1": True,
        "graph/learn_seconds": False,
    }
    headline = ("col/unsafe_interventions", "col/region_size", "truth/true_region_size", "truth/precision",
                "truth/recall", "truth/inside")  # fmt: skip
    supports = {
        **dict.fromkeys(("truth/precision", "truth/recall", "truth/inside", "truth/covered", "graph/f1"), UNIT_INTERVAL),
        **dict.fromkeys(("col/unsafe_interventions", "col/unsafe_to_converge", "col/region_size", "truth/true_region_size",
                         "truth/unsafe_to_cover", "col/interventions", "col/cost_spent", "graph/shd",
                         "graph/learn_seconds"), NONNEGATIVE),
    }  # fmt: skip

    def info_view(self, context: RunContext) -> frozenset[str]:
        """The info keys COL reads: whether the window violated the specification and what the intervention cost."""
        return frozenset({"cost", "intervention_cost"})

    def hyperparameter_keys(self, spec: AgentSpec) -> frozenset[str]:
        """COL's options (`COLConfig`), except those the agent's spec fixes (its ablation)."""
        return keyword_names(COLConfig, exclude=tuple(spec.options))

    def build(self, context: RunContext) -> COLAgent:
        """A fresh learner for the run."""
        return COLAgent(context)

    def load(self, context: RunContext) -> COLAgent:
        """Learners are not saved: a finished run is read from its region records."""
        return COLAgent.load(context)

    def evaluate(self, agent: COLAgent, context: RunContext, episodes: int, seed: int) -> dict[str, Any]:
        """The estimates against the env's true regions (ground truth, evaluation only): each estimate step k is
        scored against the region of the intervention it would choose next (k + 1); the model's final graph against
        the true graph (SHD, F1) with the CPU seconds spent learning it (0 unless learned)."""
        run = agent.record
        env = agent.env.unwrapped
        truth = _true_regions(agent)
        scores = region_scores(run.regions[-1], truth[-1])
        curve = [region_scores(r, t) for r, t in zip(run.regions, truth, strict=True)]
        recall, precision = [c["recall"] for c in curve], [c["precision"] for c in curve]
        final = edge_history_scores(agent.learner.graph_history[-1:], env.variable_names, env.ground_truth()["graph"])[
            0
        ]
        return {
            "truth": {
                "true_region_size": env.ground_truth(t=len(run.regions))["region"].size(),
                **scores,
                **coverage(recall, run.outcomes, precision),
            },  # fmt: skip
            "graph": {"shd": float(final["shd"]), "f1": final["f1"], "learn_seconds": agent.learner.learn_seconds},
            "precision_curve": precision,
            "recall_curve": recall,
        }

    def run_files(self, agent: COLAgent, context: RunContext, metrics: Mapping[str, Any]) -> list[Path]:
        """truth.npz (the true region on the candidates before each intervention, evaluation only),
        graph_history.csv (interventions, shd, f1: the model's graph after each (re)learning against the true graph)
        and, on a 2-D control space, region_evolution.png (Fig. 6 style)."""
        from dogym.agents.io import atomic_write_bytes, atomic_write_text, csv_text

        run, truth = agent.record, _true_regions(agent)
        paths = [context.run_dir / "truth.npz", context.run_dir / "graph_history.csv"]
        atomic_write_bytes(paths[0], _npz(truth=np.array(truth)))
        graph_truth, nodes = agent.env.unwrapped.ground_truth()["graph"], agent.env.unwrapped.variable_names
        history = [{**row, "shd": float(row["shd"])}  # COL's files and metrics hold SHD as a float
                   for row in edge_history_scores(agent.learner.graph_history, nodes, graph_truth)]  # fmt: skip
        atomic_write_text(paths[1], csv_text(history))
        if run.candidates.shape[1] == 2:
            paths.append(context.run_dir / "region_evolution.png")
            plot_region_evolution(run.candidates, truth, run.mean, run.std, agent.interventions(),
                                  np.array(run.outcomes), agent.env.unwrapped.delta, FIGURE_ALPHAS,
                                  agent.learner.targets, paths[-1])  # fmt: skip
        return paths

    def curves(self, context: RunContext) -> list[dict[str, Any]]:
        """Region size and cumulative unsafe interventions after each intervention."""
        metrics = read_json_checked(context.run_dir / "metrics.json")
        base = {"agent": context.spec.name, "env": context.env_id, "seed": context.seed, "kind": "region"}
        unsafe = cumulative_unsafe(metrics["outcomes"])
        return [{**base, "timesteps": k, "region_size": size, "unsafe": int(unsafe[k])}
                for k, size in enumerate(metrics["sizes"])]  # fmt: skip

    def plot(self, rows: list[dict[str, Any]], out_dir: Path, title: str) -> list[Path]:
        """Region size against unsafe interventions (Fig. 14 style) as region_size_vs_unsafe.png."""
        mine = [r for r in rows if r["kind"] == "region"]
        return [plot_size_against_unsafe(mine, out_dir / "region_size_vs_unsafe.png")] if mine else []


def _plain(value: Any) -> Any:
    """A state of numpy arrays, tuples, sets and mappings as JSON values (lists, numbers, strings)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, np.ndarray | np.generic):
        return value.tolist()
    if isinstance(value, list | tuple | set | frozenset):
        items = [_plain(v) for v in value]
        return sorted(items, key=repr) if isinstance(value, set | frozenset) else items
    return value


def _npz(**arrays: np.ndarray) -> bytes:
    """Arrays as the bytes of a compressed .npz file."""
    import io

    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


FAMILY = SafeRegionFamily()

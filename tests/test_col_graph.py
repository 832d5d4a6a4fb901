"""COL's graph (`graph: known | learned | wrong`): the known graph is the view's, a wrong graph reverses exactly one
edge of it, a learned graph comes from a `GraphLearner` on COL's own data (relearned on schedule, saved with the
run, repeated exactly by a seeded rerun), the orientation-valuing rule, and clear errors for bad settings."""

from __future__ import annotations

import csv
import json

import gymnasium as gym
import networkx as nx
import numpy as np
import pytest
from test_safe_region import EDGE, FAST, one_blas_thread  # noqa: F401 (the autouse fixture applies here too)

import dogym.envs  # noqa: F401
from dogym.agents.safe_region.col import COL, INTERCEPT, COLConfig
from dogym.causal.structure.continuous import GraphLearner, Knowledge
from dogym.experiments.runner import RunConfig, train


def run_col(seed: int = 1, budget: float = 8.0, **options) -> tuple[COL, object]:
    col = COL(gym.make(EDGE).unwrapped, COLConfig(**{**FAST, **options}), seed)
    return col, col.run(budget)


@pytest.mark.parametrize(
    "options, message",
    [
        ({"graph": "guessed"}, "graph must be one of 'known', 'learned', 'wrong'"),
        ({"graph": "learned", "relearn_every": 0}, "relearn_every must be an integer >= 1"),
        ({"graph": "learned", "graph_alpha": 1.5}, "graph_alpha must be in"),
        ({"graph": "learned", "graph_passive_steps": -5}, "graph_passive_steps must be an integer >= 0"),
        ({"graph": "learned", "orientation_weight": -1.0}, "orientation_weight must be finite and >= 0"),
        ({"orientation_weight": 0.5}, "needs graph 'learned'"),
    ],
)
def test_bad_graph_settings_are_clear_errors(options, message):
    with pytest.raises(ValueError, match=message):
        COLConfig(**options)


def test_a_bad_graph_value_is_refused_when_the_run_is_built(tmp_path):
    with pytest.raises(ValueError, match=r"graph = 'unknown' is not allowed; allowed: 'known' \| 'learned' \| 'wrong'"):
        train(RunConfig("col", EDGE, seed=1, hyperparams={**FAST, "graph": "unknown"}, log_folder=str(tmp_path)))


def test_a_wrong_graph_reverses_exactly_one_edge_fixed_for_the_run():
    view = gym.make(EDGE).unwrapped.structural_view().graph
    graphs = {}
    for seed in range(6):
        col, _ = run_col(seed, budget=3.0, graph="wrong")
        (k, edges), *rest = col.graph_history
        assert k == 0 and not rest and col.learn_seconds == 0.0  # fixed: never relearned
        assert len(set(edges) - set(view.edges)) == 1 and len(edges) == view.number_of_edges()
        (a, b) = (set(edges) - set(view.edges)).pop()
        assert view.has_edge(b, a) and nx.is_directed_acyclic_graph(nx.DiGraph(edges))
        # Edge S1 is a collider at Y: the reversed edge makes Y a parent of that variable, which leaves Y's mechanism
        assert a == "Y" and b not in col.model.parents["Y"] and len(col.model.parents["Y"]) == 2
        graphs[seed] = edges
    assert len({tuple(e) for e in graphs.values()}) > 1  # the seed picks the edge
    assert run_col(3, budget=3.0, graph="wrong")[0].graph_history[0][1] == graphs[3]


def test_the_known_graph_is_the_views_and_scores_zero_shd(tmp_path):
    config = RunConfig("col", EDGE, seed=1, timesteps=4, hyperparams=dict(FAST), log_folder=str(tmp_path))
    metrics = train(config)
    assert metrics["graph"] == {"shd": 0.0, "f1": 1.0, "learn_seconds": 0.0}
    saved = json.loads((config.run_dir / "graph.json").read_text())
    assert saved["graph"] == "known" and saved["learner"] is None
    assert saved["history"] == [{"interventions": 0, "edges": [["C", "Y"], ["M", "Y"], ["W", "Y"]]}]
    rows = list(csv.DictReader((config.run_dir / "graph_history.csv").open()))
    assert rows == [{"interventions": "0", "shd": "0.0", "f1": "1.0"}]


def test_a_learned_graph_recovers_edge_s1_from_a_passive_log():
    """From a 1000-step passive log (free monitoring; the model still fits its t0 = 10 rows) and the exogenous
    variables as roots the learner finds W -> Y <- C, M -> Y exactly, before any intervention. Each run's model is
    built on its own learned graph (the t0 = 10 rows alone give another one: no shared cached prior)."""
    for steps in (0, 1000):
        env = gym.make(EDGE).unwrapped
        col = COL(env, COLConfig(**FAST, graph="learned", graph_passive_steps=steps), 1)
        env.reset(seed=1)
        col.initialise()
        learned = tuple(v for v in env.variable_names if ((v, "Y") in col.graph_history[0][1]))
        assert col.model.parents == {"Y": learned or (INTERCEPT,)}
    assert col.graph_history == [(0, sorted(env.structural_view().graph.edges))]
    assert col.structure.n_observational == 1000 and len(col._passive["Y"]) == 10
    assert col.model.parents == {"Y": ("W", "C", "M")}


def test_a_learned_graph_is_relearned_on_schedule_saved_and_repeated_exactly(tmp_path):
    config = RunConfig("col", EDGE, seed=2, timesteps=10, log_folder=str(tmp_path),
                       hyperparams={**FAST, "graph": "learned", "relearn_every": 2, "graph_passive_steps": 200})  # fmt: skip
    metrics = train(config)
    n = metrics["col"]["interventions"]
    assert n >= 3 and set(metrics["graph"]) == {"shd", "f1", "learn_seconds"} and metrics["graph"]["learn_seconds"] > 0
    saved = json.loads((config.run_dir / "graph.json").read_text())
    assert [h["interventions"] for h in saved["history"]] == list(range(0, n + 1, 2))
    rows = list(csv.DictReader((config.run_dir / "graph_history.csv").open()))
    assert [int(r["interventions"]) for r in rows] == list(range(0, n + 1, 2))
    # The saved learner holds the passive rows and one row per intervention window, and relearns the same graph.
    learner = GraphLearner.from_state(saved["learner"])
    assert learner.n_observational == 200 and learner.n_interventional == n
    assert learner.knowledge.roots == frozenset({"W", "C", "M"})
    assert sorted(learner.learn().dag().edges) == [tuple(e) for e in saved["history"][-1]["edges"]]
    # A rerun (what an interrupted run does) repeats every number.
    again = train(RunConfig(**{**config.to_dict(), "log_folder": str(tmp_path / "again")}))
    assert again["graph"]["learn_seconds"] > 0
    for key in ("col", "sizes", "outcomes", "truth"):
        assert again[key] == metrics[key]
    assert (again["graph"]["shd"], again["graph"]["f1"]) == (metrics["graph"]["shd"], metrics["graph"]["f1"])
    rerun = tmp_path / "again" / config.run_dir.relative_to(tmp_path)
    assert (rerun / "graph.json").read_text() == (config.run_dir / "graph.json").read_text()


def test_a_metric_without_learned_parents_gets_a_constant_mechanism_and_random_ties():
    """An empty learned graph: Y's GP takes the intercept only, the estimate is flat, and the empty-set fallback
    spreads the interventions instead of repeating the first candidate."""
    col = COL(gym.make(EDGE).unwrapped, COLConfig(**FAST, graph="learned"), 1)
    col.env.reset(seed=1)
    col.initialise()
    col._graph = nx.DiGraph()
    col._graph.add_nodes_from(col.env.variable_names)
    model = col.metric_model(col._passive)
    assert model.parents == {"Y": (INTERCEPT,)}
    col.model = model
    mean, std = col.posterior()
    assert np.ptp(mean) == 0 and np.ptp(std) == 0
    picks = {col._least_unsafe(mean - col.kappa(std)) for _ in range(5)}
    assert len(picks) > 1
    known = COL(col.env, COLConfig(**FAST), 1)
    assert {known._least_unsafe(mean - known.kappa(std)) for _ in range(5)} == {0}


def test_the_orientation_rule_adds_the_share_of_edges_a_do_would_orient():
    rng = np.random.default_rng(0)
    a = rng.normal(size=400)
    b = a + 0.5 * rng.normal(size=400)
    c = b + 0.5 * rng.normal(size=400)
    learner = GraphLearner(["C", "M", "A"], Knowledge(), alpha=0.01)  # a chain C - M - A: two undirected edges
    learner.add_observational({"C": a, "M": b, "A": c})
    learner.learn()
    assert learner.pdag.n_undirected == 2
    col, record = run_col(1, budget=3.0)  # a record with a non-empty safe set; then the learner above
    assert record.regions[-1].any()
    col.structure = learner
    share = learner.expected_orientations(["C", "M"]) / 2
    assert 0 < share <= 1 and col.orientation_share() == pytest.approx(share)
    col.config = COLConfig(**FAST, graph="learned")
    plain = col.choose(record)
    col.config = COLConfig(**FAST, graph="learned", orientation_weight=10.0)
    weighted = col.choose(record)
    std = record.std[-1].astype(np.float64) + 10.0 * share
    assert weighted == int(np.argmax(np.where(record.regions[-1], std / col.costs, -np.inf)))
    assert col.costs[weighted] < col.costs[plain]  # the constant bonus per cost favours cheaper candidates

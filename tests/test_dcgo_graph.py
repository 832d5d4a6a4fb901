"""DCBO and CBO with a known, learned or wrong causal graph (`dogym.agents.dcgo.graph`) and the time-unrolled structure
learner behind the learned one (`dogym.causal.structure.time_unrolled`): the learner recovers STAT's slice graph,
a wrong graph is one reversed slice edge with its own exploration sets, runs are reproducible, the family reports the
graph metrics and its history file, and bad options raise clear errors."""

from __future__ import annotations

import csv
import json

import gymnasium as gym
import networkx as nx
import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import dogym.envs  # noqa: F401
from dogym.agents.dcgo.graph import exploration_sets
from dogym.agents.dcgo.loop import ReplicateResult, run_replicate
from dogym.causal.graphs import edge_metrics
from dogym.causal.structure.time_unrolled import (
    TimeUnrolledLearner,
    assumed_transitions,
    pooled_slices,
    slice_graph,
    transition_edges,
    unrolled_graph,
)

STAT, IND = "dogym/DCGO-STAT-v0", "dogym/DCGO-IND-v0"
TIMING = {"seconds": 0, "cpu_seconds": 0, "learn_seconds": 0}


@pytest.fixture(autouse=True)
def one_blas_thread():
    with threadpool_limits(1):
        yield


def _true_slice(env_id: str) -> nx.DiGraph:
    env = gym.make(env_id).unwrapped
    return slice_graph(env.ground_truth()["graph"], env.variables)


def test_slices_transitions_and_unrolling_of_the_true_graphs():
    env = gym.make(STAT).unwrapped
    truth = env.ground_truth()["graph"]
    within = slice_graph(truth, env.variables)
    assert sorted(within.edges) == [("X", "Z"), ("Z", "Y")]
    assert sorted(transition_edges(truth)) == sorted(assumed_transitions(env.variables))  # STAT: V_{t-1} -> V_t
    assert sorted(unrolled_graph(within, env.variables, env.T).edges) == sorted(truth.edges)
    assert exploration_sets(within, env.manipulative, env.target) == [tuple(s) for s in env.exploration_sets]
    ind = gym.make(IND).unwrapped
    assert exploration_sets(_true_slice(IND), ind.manipulative, ind.target) == [tuple(s) for s in ind.exploration_sets]
    empty = nx.DiGraph()
    empty.add_nodes_from(env.variables)
    assert exploration_sets(empty, env.manipulative, env.target) == [("X",), ("Z",)]  # no ancestor: singletons


@pytest.mark.parametrize(("domains", "noise_free", "found"), [
    ("code", False, [("X", "Z"), ("Z", "Y")]),
    ("paper", False, [("X", "Z")]),
    ("paper", True, [("X", "Z"), ("Z", "Y")]),
])  # fmt: skip
def test_the_learner_recovers_stats_slice_graph_from_its_observations_and_interventions(domains, noise_free, found):
    """STAT's D^O (N = 10 trajectories of 3 steps; alone it gives at most the skeleton: the chain's orientation is
    not identifiable from observations) plus 10 noise-free slices under do(X = x) and 10 under do(Z = z) at t = 0 (one regime each): the
    slice graph is X -> Z -> Y on the authors' domains (X in [-4, 1], Z in [-3, 3]). On the paper's (Z in [-5, 20])
    Y = cos(Z) - exp(-Z / 20) oscillates and Z -> Y is missed, unless the learner reads descendants off the
    noise-free responses; unrolled with the assumed transitions the graph is then the true unrolled graph."""
    env = gym.make(STAT, domains=domains).unwrapped
    for seed in (100, 104):
        env.reset(seed=seed)
        learner = TimeUnrolledLearner(env.variables, env.T, seed=0, noise_free=noise_free)
        learner.add_observational(env.observational_data())
        for name in ("X", "Z"):
            for value in np.linspace(*env.domains[name], 10):
                slice_ = env.step(env.make_action({name: float(value)}))[0]
                learner.add_interventional(0, (name,), dict(zip(env.variables, slice_.tolist(), strict=True)))
        learner.learn()
        assert sorted(learner.slice_dag().edges) == found
        assert learner.responses() == {("X", "Z"), ("X", "Y"), ("Z", "Y")}
    if found == [("X", "Z"), ("Z", "Y")]:
        assert sorted(learner.unrolled().edges) == sorted(env.ground_truth()["graph"].edges)


def test_noise_free_responses_give_the_sparsest_graph_with_the_descendants_seen():
    """After do(X) alone (3 values) Z and Y respond: X is probed, Z is not, and the graph has X -> Z and X -> Y;
    once do(Z) shows Y responding, the shortcut X -> Y goes (transitive reduction): X -> Z -> Y."""
    env = gym.make(STAT).unwrapped
    env.reset(seed=100)
    learner = TimeUnrolledLearner(env.variables, env.T, seed=0, noise_free=True)
    learner.add_observational(env.observational_data())
    for name in ("X", "Z"):
        for value in (-1.0, 0.0, 1.0):
            slice_ = env.step(env.make_action({name: value}))[0]
            learner.add_interventional(0, (name,), dict(zip(env.variables, slice_.tolist(), strict=True)))
        learner.learn()
        assert learner.probed() == ({"X"} if name == "X" else {"X", "Z"})
        expected = [("X", "Y"), ("X", "Z")] if name == "X" else [("X", "Z"), ("Z", "Y")]
        assert sorted(learner.slice_dag().edges) == expected


def test_the_learner_pools_complete_slices_and_restores_from_its_state():
    env = gym.make("dogym/DCGO-MISS-v0").unwrapped  # D^O has data for t < 3 only
    env.reset(seed=100)
    data = env.observational_data()
    rows = pooled_slices(data, env.variables)
    assert len(rows["Y"]) == 3 * data["Y"].shape[0] and np.all(np.isfinite(rows["Y"]))
    learner = TimeUnrolledLearner(env.variables, env.T, seed=0)
    learner.add_observational(data)
    learner.add_interventional(1, ("X",), {"X": 1.0, "Z": 0.5, "Y": 0.2})
    learner.learn()
    restored = TimeUnrolledLearner.from_state(json.loads(json.dumps(learner.state())))
    restored.learn()
    assert sorted(restored.slice_dag().edges) == sorted(learner.slice_dag().edges) and restored.n_interventional == 1
    with pytest.raises(ValueError, match="lacks the values of \\['Y'\\]"):
        learner.add_interventional(1, ("X",), {"X": 1.0, "Z": 0.5})


@pytest.mark.parametrize("method", ["dcbo", "cbo"])
def test_a_wrong_graph_is_one_reversed_slice_edge_with_its_own_exploration_sets(method):
    env = gym.make(STAT)
    result = run_replicate(env, method, 3, 0, graph="wrong")
    (interventions, edges), *rest = result.graph_history
    wrong = nx.DiGraph([tuple(e) for e in edges])
    truth = _true_slice(STAT)
    scores = edge_metrics(wrong, truth)
    assert not rest and interventions == 0 and scores.shd == 1 and scores.true_positives == 1
    assert any(wrong.has_edge(b, a) for a, b in truth.edges)  # the one error is a reversal
    sets = exploration_sets(wrong, ["X", "Z"], "Y")
    assert {tr.set for tr in result.trials if tr.set} <= set(sets) and result.learn_seconds == 0.0
    assert run_replicate(env, method, 3, 0, graph="wrong").to_dict() | TIMING == result.to_dict() | TIMING


def test_a_learned_run_relearns_is_reproducible_and_reads_back():
    env = gym.make(IND)
    result = run_replicate(env, "dcbo", 4, 100, graph="learned", relearn_every=2)
    counts = [n for n, _ in result.graph_history]
    assert counts == [0, 2, 4, 6, 8]  # D^O, then every 2 of the 3 x 3 interventions
    first = [(tr.t, tr.set) for tr in result.trials if tr.set][:5]  # X, then Z probed alone at two values within a t
    assert first == [(0, ("X",)), (0, ("X",)), (0, ("Z",)), (1, ("Z",)), (1, ("Z",))]
    assert result.learn_seconds > 0.0
    again = run_replicate(env, "dcbo", 4, 100, graph="learned", relearn_every=2)
    assert json.dumps(again.to_dict() | TIMING) == json.dumps(result.to_dict() | TIMING)
    assert ReplicateResult.from_dict(json.loads(json.dumps(result.to_dict()))).to_dict() == result.to_dict()


def test_the_family_reports_graph_metrics_and_writes_the_graph_history(tmp_path):
    from dogym.experiments.runner import RunConfig, train

    known = train(RunConfig("cbo", STAT, seed=0, timesteps=2, log_folder=str(tmp_path), eval_episodes=0))
    assert known["graph"] == {"shd": 0, "f1": 1.0, "learn_seconds": 0.0}
    learned = train(RunConfig("cbo", STAT, seed=1, timesteps=3, log_folder=str(tmp_path), eval_episodes=0,
                              hyperparams={"graph": "learned", "relearn_every": 1}))  # fmt: skip
    assert learned["graph"]["shd"] >= 0 and 0.0 <= learned["graph"]["f1"] <= 1.0
    assert learned["graph"]["learn_seconds"] > 0.0
    with open(tmp_path / "cbo" / "dogym_DCGO-STAT-v0_seed1" / "graph_history.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["interventions"]) for r in rows] == list(range(7))  # D^O, then each of 3 x 2 interventions
    assert list(rows[0]) == ["interventions", "shd", "f1"]
    assert int(rows[-1]["shd"]) == learned["graph"]["shd"]


def test_bad_graph_options_raise_clear_errors():
    env = gym.make(STAT)
    with pytest.raises(ValueError, match="graph must be one of 'known', 'learned', 'wrong', got 'guessed'"):
        run_replicate(env, "dcbo", 2, 0, graph="guessed")
    with pytest.raises(ValueError, match="graph: learned applies to dcbo and cbo only"):
        run_replicate(env, "bo", 2, 0, graph="learned")
    with pytest.raises(ValueError, match="relearn_every must be an integer >= 1"):
        run_replicate(env, "dcbo", 2, 0, graph="learned", relearn_every=0)
    with pytest.raises(ValueError, match="orientation_weight .* needs graph 'learned', not 'known'"):
        run_replicate(env, "dcbo", 2, 0, orientation_weight=1.0)
    with pytest.raises(ValueError, match="graph_alpha must be in \\(0, 1\\)"):
        run_replicate(env, "cbo", 2, 0, graph="learned", graph_alpha=1.5)

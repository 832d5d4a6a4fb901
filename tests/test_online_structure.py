"""ATT orientation, BIC pruning and the online structure learner on synthetic interventional data."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from dogym.causal import edge_metrics, is_dag
from dogym.causal.structure.att import ATTEstimator, orient
from dogym.causal.structure.bic import CountFeatures, CountTransitions, bic_prune
from dogym.causal.structure.hawkes import hop_operators
from dogym.causal.structure.online import OnlineStructureLearner, random_dag

NAMES = ("A", "B", "C", "D", "E", "F")
TRUTH = nx.DiGraph([("A", "B"), ("B", "C"), ("A", "D"), ("D", "E"), ("C", "F"), ("E", "F")])
N_DEV = 8


def _ring() -> np.ndarray:
    adj = np.zeros((N_DEV, N_DEV), dtype=bool)
    for n in range(N_DEV):
        adj[n, (n + 1) % N_DEV] = adj[(n + 1) % N_DEV, n] = True
    return adj


def _feed(learner: OnlineStructureLearner, truth: nx.DiGraph, n: int, seed: int) -> None:
    """Synthetic interventions: clearing type i removes ~60% of each descendant type's alarms nearby; count
    transitions follow the Poisson THP count model of `truth` (alpha 0.3, hop 0 or 1 by edge)."""
    rng = np.random.default_rng(seed)
    idx = {name: i for i, name in enumerate(NAMES)}
    v = len(NAMES)
    hops = hop_operators(_ring(), 2)
    alpha = np.zeros((2, v, v))
    for e, (c, d) in enumerate(sorted(truth.edges)):
        alpha[e % 2, idx[c], idx[d]] = 0.3
    for _ in range(n):
        i = int(rng.integers(v))
        before = rng.poisson(3.0, v) + 1.0
        desc = np.zeros(v, dtype=bool)
        desc[[idx[d] for d in nx.descendants(truth, NAMES[i])]] = True
        desc[i] = True
        after = before - np.where(desc, rng.binomial(before.astype(int), 0.6), 0) + rng.poisson(0.3, v)
        learner.add_intervention(i, before, after)
        state = rng.poisson(1.0, (N_DEV, v)).astype(float)
        rate = 0.05 + sum(hops[k].T @ state @ alpha[k] for k in range(2))
        learner.counts.add(state.ravel(), rng.poisson(rate).ravel().astype(float))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_att_and_bic_recover_known_dag_from_random_start(seed: int) -> None:
    start = random_dag(NAMES, 0.5, seed)
    learner = OnlineStructureLearner(NAMES, _ring(), start)
    _feed(learner, TRUTH, 600, seed)
    learner.update()
    metrics = learner.metrics(TRUTH)
    assert metrics.f1 >= 0.95, (sorted(learner.graph.edges), metrics)
    order = learner.causal_order
    assert all(order.index(a) < order.index(b) for a, b in TRUTH.edges)


def test_orientation_alone_finds_ancestors_and_pruning_removes_shortcuts() -> None:
    learner = OnlineStructureLearner(NAMES, _ring(), nx.DiGraph([("F", "A")]))
    _feed(learner, TRUTH, 600, 5)
    oriented = orient(learner.graph, learner.att.estimate(), NAMES)
    closure = nx.transitive_closure_dag(TRUTH)
    assert set(oriented.edges) == set(closure.edges)  # ATT identifies ancestors (Theorem 4.2), not parents
    pruned = bic_prune(oriented, learner.counts, learner.hops, NAMES)
    assert set(pruned.edges) == set(TRUTH.edges)


def test_dag_invariant_under_contradictory_evidence() -> None:
    # Evidence from a cyclic "truth" (A->B->C->A) can never make the learned graph cyclic.
    est = ATTEstimator(len(NAMES), min_samples=3)
    rng = np.random.default_rng(0)
    cyc = {0: [1], 1: [2], 2: [0], 3: [4], 4: [5], 5: [3]}
    for _ in range(300):
        i = int(rng.integers(len(NAMES)))
        before = rng.poisson(4.0, len(NAMES)) + 1.0
        after = before.copy()
        after[cyc[i]] *= 0.2
        est.add(i, before, after)
    for seed in range(10):
        graph = orient(random_dag(NAMES, 0.6, seed), est.estimate(), NAMES)
        assert is_dag(graph)
        assert graph.number_of_edges() >= 4  # evidence was applied where it could be


def test_no_evidence_no_change_and_determinism() -> None:
    start = random_dag(NAMES, 0.5, 3)
    learner = OnlineStructureLearner(NAMES, _ring(), start)
    assert set(learner.update().edges) == set(start.edges)
    runs = []
    for _ in range(2):
        other = OnlineStructureLearner(NAMES, _ring(), start)
        _feed(other, TRUTH, 200, 9)
        runs.append(sorted(other.update().edges))
    assert runs[0] == runs[1]


def test_learner_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="not in type_names"):
        OnlineStructureLearner(NAMES, _ring(), nx.DiGraph([("A", "Z")]))
    learner = OnlineStructureLearner(NAMES, _ring(), nx.DiGraph())
    with pytest.raises(ValueError, match="acted_type"):
        learner.add_intervention(9, np.ones(6), np.ones(6))
    with pytest.raises(ValueError, match="non-negative"):
        learner.add_intervention(0, -np.ones(6), np.ones(6))
    with pytest.raises(ValueError, match="density"):
        random_dag(NAMES, 1.5, 0)


def test_learner_on_fault_alarm_steps() -> None:
    import gymnasium as gym

    import dogym.envs  # noqa: F401
    from dogym.agents.fault_alarm.online_causal import add_alarm_step

    env = gym.make("dogym/FaultAlarmSmall-v0")
    base = env.unwrapped
    start = random_dag(base.type_names, 0.4, 0)
    learner = OnlineStructureLearner(base.type_names, base.model.adjacency, start)
    rng = np.random.default_rng(0)
    obs, info = env.reset(seed=0)
    for _ in range(1500):
        nobs, _, term, trunc, info = env.step(int(rng.choice(np.flatnonzero(info["action_mask"]))))
        add_alarm_step(learner, obs, nobs, info)
        obs = nobs
        if term or trunc:
            obs, info = env.reset()
    assert len(learner.att) > 100 and len(learner.counts) == 1500
    learner.update()
    assert is_dag(learner.graph)
    truth = base.true_graph
    learned, initial = edge_metrics(learner.graph, truth), edge_metrics(start, truth)
    # Precision alone passes a one-edge graph, and F1 against the true edges alone passes their transitive closure:
    # require precision and recall (9 of the 19 true edges with none wrong at the time of writing), F1 well above
    # the random start's, and a better match with the true edges than with their closure (ancestors are not parents).
    assert learned.precision >= 0.9 and learned.recall >= 0.4
    assert learned.f1 >= 0.6 and learned.f1 >= 3 * initial.f1
    assert learned.f1 > edge_metrics(learner.graph, nx.transitive_closure_dag(truth)).f1


def test_memory_stays_bounded() -> None:
    learner = OnlineStructureLearner(NAMES, _ring(), nx.DiGraph(), max_transitions=50)
    _feed(learner, TRUTH, 120, 0)
    assert len(learner.counts) == 50 and learner.counts.n_added == 120
    x, _ = learner.counts.arrays()
    assert x.shape == (50, N_DEV * len(NAMES))
    assert len(learner.att) == 120 and learner.att._stats.shape == (6, 6, 6)


@pytest.mark.parametrize("max_rows", [None, 7, 300])
def test_count_store_keeps_the_newest_rows_in_order(max_rows: int | None) -> None:
    rng = np.random.default_rng(0)
    store, added = CountTransitions(2, 3, max_rows), []
    for _ in range(100):
        rows = rng.integers(0, 5, (int(rng.integers(1, 12)), 6)).astype(float)
        store.add(rows, rows + 1)
        added.append(rows)
    expected = np.concatenate(added)[-max_rows:] if max_rows else np.concatenate(added)
    x, y = store.arrays()
    assert len(store) == len(expected) and store.n_added == sum(map(len, added))
    np.testing.assert_array_equal(x, expected)
    np.testing.assert_array_equal(y, expected + 1)


@pytest.mark.parametrize("max_rows", [None, 150])
def test_incremental_count_features_equal_a_fresh_computation_and_the_formula(max_rows: int | None) -> None:
    rng = np.random.default_rng(1)
    n_dev, n_typ = 4, 3
    hops = hop_operators(rng.random((n_dev, n_dev)) < 0.5, 2, "rw")
    store, incremental = CountTransitions(n_dev, n_typ, max_rows), CountFeatures(hops)
    for _ in range(12):
        rows = int(rng.integers(1, 40))
        store.add(
            rng.integers(0, 4, (rows, n_dev * n_typ)),
            rng.integers(0, 2, (rows, n_dev * n_typ)) * (rng.random((rows, 1)) < 0.4),
        )
        live = incremental.scorers(store)
    fresh = CountFeatures(hops).scorers(store)  # a restored learner starts with an empty cache
    x, y = store.arrays()
    state, births = x.reshape(len(x), n_dev, n_typ), y.reshape(len(y), n_dev, n_typ)
    t_idx, n_idx = np.nonzero(births.any(axis=2))
    h = np.einsum("knm,tnc->tmkc", hops, state)[t_idx, n_idx].reshape(len(t_idx), -1)
    for v, (a, b) in enumerate(zip(live, fresh, strict=True)):
        np.testing.assert_array_equal(a.x, b.x)  # bit for bit, whenever the features were computed
        np.testing.assert_array_equal(a.weights, b.weights)
        np.testing.assert_array_equal(a.g, b.g)
        rows = births[t_idx, n_idx, v] > 0
        np.testing.assert_allclose(a.x[:, 1:], h[rows], rtol=1e-12, atol=1e-12)
        np.testing.assert_array_equal(a.weights, births[t_idx, n_idx, v][rows])


def test_two_way_support_is_settled_by_the_larger_relative_drop_not_by_significance() -> None:
    from dogym.causal.structure.att import ATTEstimate

    names = ("X", "Y")
    supported = np.array([[False, True], [True, False]])
    # X -> Y removes 60% of Y (t = -5); the reverse drop is 8% but, with many samples, more significant (t = -40).
    rel = np.array([[0.0, -0.6], [-0.08, 0.0]])
    t = np.array([[0.0, -5.0], [-40.0, 0.0]])
    est = ATTEstimate(rel, np.full((2, 2), 100), t, rel, supported, np.zeros((2, 2), dtype=bool))
    for start in (nx.DiGraph(), nx.DiGraph([("Y", "X")]), nx.DiGraph([("X", "Y")])):
        start.add_nodes_from(names)
        assert set(orient(start, est, names).edges) == {("X", "Y")}

"""causal.graphs helpers and metrics, the Table 3 DAG, and the topological Hawkes primitives."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from scipy import integrate

from dogym.causal import (
    NotADAGError,
    adjacency_matrix,
    causal_order,
    edge_metrics,
    graph_from_adjacency,
    mutilate,
    parents,
)
from dogym.causal.structure.hawkes import (
    TopologicalHawkesModel,
    branching_ratio,
    draw_offspring,
    hop_operators,
    kernel_mass,
    random_topology,
    random_type_dag,
    sample_delays,
    simulate_events,
)
from dogym.envs.fault_alarm.alarm_graph import ALARM_TYPES, alarm_causal_order, alarm_graph


def generate(n_devices: int, seed: int, **overrides) -> TopologicalHawkesModel:
    """A THP model over the alarm DAG with FaultAlarm's Table-2 parameters (from the env's default config)."""
    from dogym.envs.fault_alarm.env import FaultAlarmEnv

    cfg = FaultAlarmEnv.default_config()
    table2 = {"alpha_range": cfg["alpha_range"], "mu_range": cfg["mu_range"], "decay": cfg["kernel_decay"],
              "same_device_fraction": cfg["same_device_fraction"]}  # fmt: skip
    return TopologicalHawkesModel.generate(alarm_graph(), n_devices, seed, **{**table2, **overrides})


def test_table3_graph():
    graph = alarm_graph()
    assert list(graph.nodes) == list(ALARM_TYPES) and len(ALARM_TYPES) == 18
    assert graph.number_of_edges() == 94
    assert nx.is_directed_acyclic_graph(graph)
    assert [n for n in graph if graph.in_degree(n) == 0] == ["HARD_BAD"]
    assert ("HARD_BAD", "TU_AIS") in graph.edges and ("POWER_ALM", "MW_LOF") in graph.edges
    assert ("LTI", "HARD_BAD") not in graph.edges


def test_causal_order_respects_every_edge_and_is_stable():
    graph = alarm_graph()
    order = alarm_causal_order()
    position = {n: i for i, n in enumerate(order)}
    assert all(position[a] < position[b] for a, b in graph.edges)
    assert order[0] == "HARD_BAD" and order == alarm_causal_order()


def test_cycle_is_rejected_with_the_cycle_named():
    graph = nx.DiGraph([("a", "b"), ("b", "c"), ("c", "a")])
    with pytest.raises(NotADAGError, match="cycle"):
        causal_order(graph)


def test_parents_and_mutilation():
    graph = alarm_graph()
    assert parents(graph, "POWER_ALM") == ["HARD_BAD"]
    cut = mutilate(graph, ["BD_STATUS"])
    assert cut.in_degree("BD_STATUS") == 0 and cut.out_degree("BD_STATUS") == graph.out_degree("BD_STATUS")
    with pytest.raises(KeyError, match="not a node"):
        mutilate(graph, ["NOPE"])


def test_edge_metrics_on_a_worked_example():
    truth = nx.DiGraph([("a", "b"), ("b", "c"), ("a", "c")])
    est = nx.DiGraph([("a", "b"), ("c", "b"), ("c", "d")])  # 1 correct, 1 reversed, 1 extra, 1 missing
    m = edge_metrics(est, truth)
    assert (m.true_positives, m.n_estimated, m.n_true) == (1, 3, 3)
    assert m.precision == pytest.approx(1 / 3) and m.recall == pytest.approx(1 / 3) and m.f1 == pytest.approx(1 / 3)
    assert m.shd == 3
    perfect = edge_metrics(truth, truth)
    assert perfect.f1 == 1.0 and perfect.shd == 0
    assert edge_metrics(nx.DiGraph(), truth).f1 == 0.0


def test_adjacency_round_trip():
    graph = alarm_graph()
    rebuilt = graph_from_adjacency(adjacency_matrix(graph), graph.nodes)
    assert set(rebuilt.edges) == set(graph.edges)
    with pytest.raises(ValueError, match="shape"):
        graph_from_adjacency(np.zeros((2, 3)), ["a", "b"])


def test_random_topology_links_every_device_once():
    adj = random_topology(50, np.random.default_rng(0))
    assert np.array_equal(adj, adj.T) and not adj.diagonal().any()
    assert adj.sum() // 2 == 50 and adj.sum(axis=1).min() >= 1


@pytest.mark.parametrize("normalization", ["rw", "sym"])
def test_hop_operators(normalization):
    adj = random_topology(12, np.random.default_rng(1))
    ops = hop_operators(adj, 3, normalization)
    deg = adj.sum(axis=1)
    power = 1.0 if normalization == "rw" else 0.5
    expected = adj / (deg[:, None] ** power * deg[None, :] ** power)
    assert np.allclose(ops[0], np.eye(12)) and np.allclose(ops[1], expected)
    assert np.allclose(ops[2], expected @ expected)
    with pytest.raises(ValueError, match="normalization"):
        hop_operators(adj, 2, "other")


def test_binary_hop_operators_are_exact_distance_sets():
    adj = random_topology(15, np.random.default_rng(2))
    ops = hop_operators(adj, 4, "binary")
    dist = dict(nx.all_pairs_shortest_path_length(nx.from_numpy_array(adj.astype(int))))
    for k in range(4):
        expected = np.array([[float(dist[i].get(j, -1) == k) for j in range(15)] for i in range(15)])
        assert np.array_equal(ops[k], expected), k
    path = np.zeros((4, 4), dtype=bool)
    path[[0, 1, 2], [1, 2, 3]] = path[[1, 2, 3], [0, 1, 2]] = True  # 0 - 1 - 2 - 3
    ops = hop_operators(path, 3, "binary")
    assert ops[1][0].tolist() == [0, 1, 0, 0] and ops[2][0].tolist() == [0, 0, 1, 0] and ops[2][1, 3] == 1.0
    assert ops[1].sum() == 6  # unnormalised: one per linked ordered pair
    with pytest.raises(ValueError, match="binary"):
        hop_operators(path, 2, "Binary")
    with pytest.raises(ValueError, match="square"):
        hop_operators(path[:3], 2, "binary")


def test_random_type_dag_has_the_requested_edges():
    graph = random_type_dag(12, 20, np.random.default_rng(5))
    assert nx.is_directed_acyclic_graph(graph) and graph.number_of_edges() == 20 and len(graph) == 12
    again = random_type_dag(12, 20, np.random.default_rng(5))
    assert sorted(graph.edges) == sorted(again.edges)
    with pytest.raises(ValueError, match="edges"):
        random_type_dag(4, 7, np.random.default_rng(0))


def test_box_kernel_mass_and_delays():
    birth, start, end = np.array([2.0, 2.0, 2.0]), np.array([1.0, 4.0, 7.0]), np.array([3.0, 9.0, 9.0])
    # support [2, 7): overlaps of [1, 3], [4, 9], [7, 9]
    assert kernel_mass(0.2, birth, start, end, kernel="box").tolist() == pytest.approx([1.0, 3.0, 0.0])
    rng = np.random.default_rng(0)
    times = sample_delays(rng, 0.2, np.zeros(100_000), np.full(100_000, 1.0), np.full(100_000, 9.0), kernel="box")
    assert times.min() >= 1.0 and times.max() <= 5.0 and times.mean() == pytest.approx(3.0, abs=0.02)
    with pytest.raises(ValueError, match="kernel"):
        generate(8, seed=0, kernel="gauss")


def test_simulated_events_match_the_stationary_rate():
    graph = nx.DiGraph([("a", "b"), ("b", "c")])
    model = TopologicalHawkesModel.generate(
        graph, 12, 3, alpha_range=(0.5, 0.6), mu_range=(0.05, 0.05), same_device_fraction=1.0, decay=1.0,
        kernel="box",
    )  # fmt: skip
    events = simulate_events(model, 3000, seed=1)
    assert len(events) == 3000 and events.n_devices == 12
    assert np.array_equal(events.times, simulate_events(model, 3000, seed=1).times)
    # every a event excites b on the same device at rate alpha over a box of mass 1: b / a ~ alpha_ab
    counts = np.bincount(events.types, minlength=3).astype(float)
    alpha = model.alpha_tensor()[0]
    assert counts[1] / counts[0] == pytest.approx(1.0 + alpha[0, 1], rel=0.1)
    assert branching_ratio(model) < 1e-6  # a DAG over types never feeds back
    loop = TopologicalHawkesModel(
        ("a",), np.ones((3, 3), dtype=bool) & ~np.eye(3, dtype=bool), np.array([0]), np.array([0]), np.array([0]),
        np.array([2.0]), np.array([0.1]), 1.0,
    )  # fmt: skip
    with pytest.raises(ValueError, match="subcritical"):
        simulate_events(loop, 10, seed=0)


def test_model_generation_is_seeded():
    a = generate(50, seed=3)
    b = generate(50, seed=3)
    c = generate(50, seed=4)
    assert np.array_equal(a.adjacency, b.adjacency) and np.array_equal(a.edge_alpha, b.edge_alpha)
    assert not np.array_equal(a.edge_alpha, c.edge_alpha)


def test_offspring_table_matches_dense_definition():
    model = generate(8, seed=0)
    dense = model.pair_excitation()
    alpha = model.alpha_tensor()
    n_t = model.n_types
    for src in [0, 17, 5 * n_t + 3]:
        for dst in range(model.n_pairs):
            (n, v), (m, w) = divmod(src, n_t), divmod(dst, n_t)
            assert dense[src, dst] == pytest.approx(sum(alpha[k, v, w] * model.hops[k][n, m] for k in range(2)))


@pytest.mark.parametrize("decay", [0.0, 0.01, 0.5])
def test_kernel_mass_is_the_kernel_integral(decay):
    birth, start, end = np.array([2.0]), np.array([5.0]), np.array([9.0])
    expected, _ = integrate.quad(lambda t: np.exp(-decay * (t - 2.0)), 5.0, 9.0)
    assert kernel_mass(decay, birth, start, end)[0] == pytest.approx(expected)
    assert kernel_mass(decay, birth, end, start)[0] == 0.0


def test_sampled_delays_follow_the_truncated_kernel():
    rng = np.random.default_rng(0)
    n, decay = 200_000, 0.2
    times = sample_delays(rng, decay, np.zeros(n), np.full(n, 1.0), np.full(n, 6.0))
    assert times.min() >= 1.0 and times.max() <= 6.0
    grid = np.linspace(1, 6, 2001)
    density = np.exp(-decay * grid)
    assert times.mean() == pytest.approx(np.trapezoid(grid * density, grid) / np.trapezoid(density, grid), rel=2e-3)


def test_offspring_counts_match_their_expectation():
    model = generate(10, seed=0, decay=0.01)
    rng = np.random.default_rng(1)
    parents_ = np.full(20_000, model.n_types * 2 + 16)  # HARD_BAD on device 2: many children
    birth = np.zeros(len(parents_))
    kids = draw_offspring(rng, model, parents_, birth, birth, np.full(len(parents_), 100.0))
    expected = (
        model.pair_excitation()[parents_[0]].sum() * kernel_mass(0.01, birth[:1], birth[:1], np.array([100.0]))[0]
    )
    assert len(kids.pair) / len(parents_) == pytest.approx(expected, rel=0.05)
    assert set(np.unique(kids.pair)) <= set(np.flatnonzero(model.pair_excitation()[parents_[0]]))

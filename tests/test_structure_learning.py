"""Structure learning: event tables, passive alarm logs, THP."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from dogym.causal import edge_metrics, is_dag
from dogym.causal.structure.event_table import EventTable, EventTableError
from dogym.causal.structure.thp import THP
from dogym.envs.fault_alarm.logs import sample_alarm_log

SMALL = {"model_seed": 1}


def _frame() -> pd.DataFrame:
    return pd.DataFrame({"event": ["a", "b", "a"], "timestamp": [0.0, 1.5, 0.5], "device": [0, 1, 1]})


def test_event_table_sorts_and_round_trips(tmp_path) -> None:
    table = EventTable.from_frame(_frame())
    assert table.type_names == ("a", "b") and table.n_devices == 2
    assert np.all(np.diff(table.times) >= 0) and table.types.tolist() == [0, 0, 1]
    back = EventTable.load(table.save(tmp_path / "log.csv"))
    assert back.types.tolist() == table.types.tolist() and np.array_equal(back.times, table.times)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.drop(columns="device"), "missing column"),
        (lambda f: f.assign(timestamp=[0.0, -1.0, 2.0]), "timestamp"),
        (lambda f: f.assign(timestamp=[0.0, np.nan, 2.0]), "timestamp"),
        (lambda f: f.assign(event=["a", "zzz", "a"]), "unknown event type"),
        (lambda f: f.assign(device=[0, 7, 1]), "outside"),
        (lambda f: f.assign(device=[0, 1.5, 1]), "device"),
    ],
)
def test_bad_event_tables_raise_clear_errors(change, message) -> None:
    with pytest.raises(EventTableError, match=message):
        EventTable.from_frame(change(_frame()), type_names=("a", "b"), n_devices=3)


def test_bad_file_suffix(tmp_path) -> None:
    with pytest.raises(EventTableError, match=r"\.csv or \.parquet"):
        EventTable.from_frame(_frame()).save(tmp_path / "log.txt")


def test_alarm_log_is_deterministic_and_uncapped() -> None:
    a, b = sample_alarm_log(1500, seed=3), sample_alarm_log(1500, seed=3)
    assert len(a.events) == 1500 and np.array_equal(a.events.times, b.events.times)
    assert np.array_equal(a.events.devices, b.events.devices)
    assert a.true_graph.number_of_edges() == 94 and a.hops.shape == (2, 50, 50)
    # more than the env's 10-copies cap on some (device, type) pair: the cap is lifted for logging
    counts = np.bincount(a.events.devices * a.events.n_types + a.events.types)
    assert counts.max() > 10
    assert not np.array_equal(sample_alarm_log(1500, seed=4).events.times, a.events.times)


def test_thp_recovers_small_known_graph() -> None:
    truth = nx.DiGraph([("A", "B"), ("B", "C"), ("A", "D")])
    log = sample_alarm_log(
        3000, seed=0, type_graph=truth, n_devices=10, alpha_range=(1e-3, 1.3e-3), n_root_devices=3, n_root_types=1
    )
    result = THP(decay=log.decay, penalty=1.0).fit(log.events, log.hops)  # full BIC
    assert is_dag(result.graph) and set(result.causal_order) == set(truth.nodes)
    metrics = edge_metrics(result.graph, truth)
    assert metrics.f1 == 1.0, (sorted(result.graph.edges), metrics)
    assert result.alpha.shape == (2, 4, 4) and np.all(result.mu > 0)


def test_thp_on_fault_alarm_is_deterministic_and_beats_chance() -> None:
    log = sample_alarm_log(2000, seed=0)
    first = THP(decay=log.decay, penalty=0.1).fit(log.events, log.hops)
    second = THP(decay=log.decay, penalty=0.1).fit(log.events, log.hops)
    assert sorted(first.graph.edges) == sorted(second.graph.edges)
    metrics = edge_metrics(first.graph, log.true_graph)
    assert metrics.precision > 0.7 and metrics.f1 > 0.5, metrics


def test_thp_rejects_bad_input() -> None:
    log = sample_alarm_log(200, seed=0)
    with pytest.raises(ValueError, match="hops must have shape"):
        THP(decay=1e-3).fit(log.events, log.hops[:, :5, :5])
    with pytest.raises(ValueError, match="decay"):
        THP(decay=-1.0)


def test_thp_full_bic_is_sparser_than_default() -> None:
    log = sample_alarm_log(2000, seed=1)
    bic = THP(decay=log.decay, penalty=1.0).fit(log.events, log.hops)
    default = THP(decay=log.decay).fit(log.events, log.hops)
    assert 0 < bic.graph.number_of_edges() < default.graph.number_of_edges()
    assert bic.score <= bic.log_likelihood


def test_tick_baseline_finds_strong_edges_and_rejects_bad_input() -> None:
    from dogym.causal.structure.hawkes_baseline import hawkes_granger_graph

    truth = nx.DiGraph([("A", "B"), ("B", "C"), ("A", "D")])
    log = sample_alarm_log(
        3000, seed=0, type_graph=truth, n_devices=10, alpha_range=(1e-3, 1.3e-3), n_root_devices=3, n_root_types=1
    )
    result = hawkes_granger_graph(log.events, decay=log.decay)
    assert set(result.graph.nodes) == set(truth.nodes) and result.adjacency.shape == (4, 4)
    assert edge_metrics(result.graph, truth).recall >= 2 / 3, sorted(result.graph.edges)
    with pytest.raises(ValueError, match="method must be one of"):
        hawkes_granger_graph(log.events, decay=1e-3, method="nope")
    with pytest.raises(ValueError, match="decay"):
        hawkes_granger_graph(log.events, decay=0.0)

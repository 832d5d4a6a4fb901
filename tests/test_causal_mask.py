"""The causal mask M_s(G): top-K active types in the causal order of G restricted to active types."""

from __future__ import annotations

import gymnasium as gym
import networkx as nx
import numpy as np
import pytest

import dogym.envs  # noqa: F401
from dogym.agents.fault_alarm.causal_mask import CausalMasker, CausalMaskWrapper
from dogym.envs.fault_alarm.alarm_graph import alarm_graph

TYPES = ("a", "b", "c", "d")
CHAIN = nx.DiGraph([("a", "b"), ("b", "c")])  # d is isolated


def pairs(active_by_device: list[list[str]]) -> np.ndarray:
    mask = np.zeros((len(active_by_device), len(TYPES)), dtype=bool)
    for device, names in enumerate(active_by_device):
        mask[device, [TYPES.index(n) for n in names]] = True
    return mask.ravel()


def test_type_mask_uses_the_graph_restricted_to_active_types():
    masker = CausalMasker(TYPES, CHAIN, top_k=1)
    assert masker.type_mask(np.array([True, True, True, False])).tolist() == [True, False, False, False]
    # With a inactive, b is a root of G~ and comes first.
    assert masker.type_mask(np.array([False, True, True, False])).tolist() == [False, True, False, False]
    # c's only active ancestor path goes through b; with b inactive, c is a root of G~ too (depth 0, order a<b<c<d).
    two = CausalMasker(TYPES, CHAIN, top_k=2)
    assert two.type_mask(np.array([False, False, True, True])).tolist() == [False, False, True, True]


def test_action_mask_keeps_only_active_pairs_of_kept_types():
    masker = CausalMasker(TYPES, CHAIN, top_k=1)
    active = pairs([["b", "c"], ["c"], ["b"]])
    mask = masker.action_mask(active).reshape(3, 4)
    assert mask.tolist() == [[False, True, False, False], [False, False, False, False], [False, True, False, False]]
    assert not (masker.action_mask(active) & ~active).any()


def test_unknown_nodes_and_bad_k_are_rejected():
    with pytest.raises(ValueError, match="not alarm types"):
        CausalMasker(TYPES, nx.DiGraph([("a", "zz")]))
    with pytest.raises(ValueError, match="top_k"):
        CausalMasker(TYPES, CHAIN, top_k=0)


@pytest.mark.parametrize("eta", [0.0, 0.3, 1.0])
def test_wrapper_masks_never_allow_inactive_actions(eta):
    env = CausalMaskWrapper(gym.make("dogym/FaultAlarm-v0"), alarm_graph(), top_k=2, eta=eta)
    _, info = env.reset(seed=0)
    rng = np.random.default_rng(0)
    explored = 0
    for _ in range(60):
        mask = env.action_masks()
        assert mask.any() and not (mask & ~info["active_mask"]).any()
        assert np.array_equal(mask, info["action_mask"]) and np.array_equal(mask, env.action_masks())
        explored += np.array_equal(mask, info["active_mask"])
        _, _, terminated, truncated, info = env.step(int(rng.choice(np.flatnonzero(mask))))
        if terminated or truncated:
            _, info = env.reset()
    if eta == 1.0:
        assert explored == 60


def test_true_graph_mask_with_k1_clears_like_the_oracle():
    from dogym.agents import RandomActivePolicy, evaluate

    env = CausalMaskWrapper(gym.make("dogym/FaultAlarm-v0"), alarm_graph(), top_k=1, eta=0.0)
    masked = evaluate(env, RandomActivePolicy(900, 0), 30, seed=0).summary()
    plain = evaluate(gym.make("dogym/FaultAlarm-v0"), RandomActivePolicy(900, 0), 30, seed=0).summary()
    assert masked["cleared_rate"] >= 0.95 and masked["reward_mean"] > plain["reward_mean"] + 10


def test_set_graph_changes_the_mask_immediately():
    env = CausalMaskWrapper(gym.make("dogym/FaultAlarm-v0"), alarm_graph(), top_k=1, eta=0.0)
    env.reset(seed=1)
    before = env.action_masks()
    reversed_graph = alarm_graph().reverse()
    env.set_graph(reversed_graph)
    assert not np.array_equal(before, env.action_masks())
    assert set(env.graph.edges) == set(reversed_graph.edges)

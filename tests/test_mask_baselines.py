"""The three no-learning mask baselines of the FaultAlarm family (`dogym.agents.fault_alarm.baselines`): random actions inside
the causal mask of the THP graph (never updated), of a graph learned online from the baseline's own interventions,
and of the true graph. Each test checks what makes the baseline that baseline, so a swapped graph source, a mask
that is not applied, or an online learner that never updates fails here."""

from __future__ import annotations

import gymnasium as gym
import networkx as nx
import numpy as np
import pytest

import dogym.envs  # noqa: F401
from dogym.agents.fault_alarm.causal_mask import CausalMasker
from dogym.agents.fault_alarm.online_causal import initial_structure_learner
from dogym.agents.registry import AGENTS, RunContext, family, resolve_hyperparams

SMALL = "dogym/FaultAlarmSmall-v0"
FAST = {"n_log_events": 300, "structure_update_interval": 100}


def _build(agent: str, tmp_path, **overrides):
    spec = AGENTS[agent]
    hyperparams = {**resolve_hyperparams(spec, SMALL), **overrides}
    hyperparams.update({k: v for k, v in FAST.items() if k in hyperparams})
    context = RunContext(spec, SMALL, {}, 0, hyperparams, tmp_path / agent)
    return family(spec.family).build(context), hyperparams


def _edges(graph: nx.DiGraph) -> set[tuple[str, str]]:
    return set(graph.edges)


def _acts_inside(agent, graph: nx.DiGraph, top_k: int, steps: int = 60) -> tuple[int, int]:
    """Evaluation steps: every action must lie in M_s(graph) (eta = 0); returns (steps where the causal mask was
    strictly smaller than the active mask, steps taken)."""
    env = agent.evaluation_env(gym.make(SMALL))
    masker = CausalMasker(env.unwrapped.type_names, graph, top_k)
    obs, info = env.reset(seed=3)
    narrower = 0
    for step in range(steps):
        active = np.asarray(info["active_mask"], dtype=bool)
        expected = masker.action_mask(active) if active.any() else np.ones_like(active)
        assert np.array_equal(info["action_mask"], expected)
        action = agent.act(obs, info)
        assert expected[action], f"step {step}: action {action} outside the causal mask"
        narrower += int(expected.sum() < active.sum())
        obs, _, terminated, truncated, info = env.step(action)
        if terminated or truncated:
            obs, info = env.reset()
    return narrower, steps


def test_mask_random_thp_keeps_the_thp_graph_of_its_passive_log_and_acts_inside_its_mask(tmp_path):
    agent, hp = _build("mask-random-thp", tmp_path)
    env = gym.make(SMALL)
    thp = initial_structure_learner(env, "thp", 0, hp["n_log_events"], thp_decay=hp["thp_decay"],
                                    thp_penalty=hp["thp_penalty"]).graph  # fmt: skip
    assert _edges(agent.graph) == _edges(thp) and thp.number_of_edges() > 0
    agent.learn(300)
    assert _edges(agent.graph) == _edges(thp)  # never updated
    narrower, steps = _acts_inside(agent, thp, hp["top_k"])
    assert narrower > 0  # the mask really restricts: random-active would fail the check above


def test_mask_random_online_updates_its_graph_from_its_own_interventions(tmp_path):
    agent, hp = _build("mask-random-online", tmp_path, init="random")
    start = agent.graph.copy()
    agent.learn(400)
    history = agent.online.history
    assert [h["timesteps"] for h in history] == [0, 100, 200, 300, 400]
    assert _edges(agent.graph) != _edges(start)
    summary = agent.summary()
    assert summary["graph_final"]["f1"] > summary["graph_initial"]["f1"]  # the learner improves on the random start
    narrower, _ = _acts_inside(agent, agent.graph, hp["top_k"])
    assert narrower > 0


def test_mask_random_true_acts_inside_the_true_mask_and_beats_random_active(tmp_path):
    agent, hp = _build("mask-random-true", tmp_path)
    truth = gym.make(SMALL).unwrapped.ground_truth()["graph"]
    assert _edges(agent.graph) == _edges(truth)
    narrower, _ = _acts_inside(agent, truth, hp["top_k"])
    assert narrower > 0
    fam = family("fault_alarm")
    baseline, _ = _build("random-active", tmp_path)
    scores = {}
    for name, built in (("true", agent), ("active", baseline)):
        context = RunContext(AGENTS[f"mask-random-{name}" if name == "true" else "random-active"], SMALL, {}, 0, {},
                             tmp_path / name)  # fmt: skip
        scores[name] = fam.evaluate(built, context, 10, 0)["eval"]["reward_mean"]
    assert scores["true"] > scores["active"]


@pytest.mark.parametrize("agent", ["mask-random-thp", "mask-random-online", "mask-random-true"])
def test_mask_baselines_are_reproducible(agent, tmp_path):
    runs = []
    for i in range(2):
        built, _ = _build(agent, tmp_path / str(i))
        built.learn(150)
        runs.append((sorted(_edges(built.graph)), built.summary()["train"]))
    assert runs[0] == runs[1]

"""The identification learner's causal graph (hyper-parameter `graph`): known, wrong (one edge reversed) and learned
from the agent's own data; the estimator on another graph; scoring, history and checkpoints of the graph."""

import networkx as nx
import numpy as np
import pytest

from dogym.agents.identification.estimator import CausalGPEstimator, GPConfig
from dogym.agents.identification.graph import GraphSource, model_view, view_edges
from dogym.agents.identification.learner import make_learner
from dogym.agents.registry import AGENTS, family
from dogym.causal.identification_loss import IdentificationLoss
from dogym.causal.intervention import Intervention
from dogym.envs.identification.microservice import MicroserviceEnv, scenario1_scm
from dogym.envs.identification.toy_scm import ToySCMEnv, toy_scm

SMALL_DE = dict(horizon=2, n_rollouts=3, popsize=5, maxiter=4)
RANGE = GPConfig(mode="range")


@pytest.mark.parametrize("scm", [toy_scm(), scenario1_scm()], ids=["toy", "microservice"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_wrong_graph_differs_from_the_known_one_in_exactly_one_reversed_edge(scm, seed):
    view = scm.structural_view()
    known, wrong = set(view.graph.edges), set(view_edges(GraphSource("wrong", view, seed).view))
    assert len(known - wrong) == 1 and len(wrong - known) == 1
    ((a, b),), ((c, d),) = known - wrong, wrong - known
    assert (c, d) == (b, a)
    assert nx.is_directed_acyclic_graph(nx.DiGraph(sorted(wrong)))
    assert set(view_edges(GraphSource("known", view, seed).view)) == known


def test_bad_graph_options_raise_clear_errors():
    env = ToySCMEnv()
    with pytest.raises(ValueError, match="graph must be one of 'known', 'learned', 'wrong', got 'guessed'"):
        make_learner("rollout", env, graph="guessed")
    with pytest.raises(ValueError, match="relearn_every must be an integer >= 1, got 0"):
        make_learner("rollout", env, graph="learned", relearn_every=0)
    with pytest.raises(ValueError, match=r"graph_alpha must be in \(0, 1\)"):
        make_learner("rollout", env, graph="learned", graph_alpha=1.5)
    with pytest.raises(ValueError, match="orientation_weight .*needs graph 'learned', not 'known'"):
        make_learner("rollout", env, orientation_weight=0.5)
    with pytest.raises(ValueError, match="orientation_weight must be finite and >= 0"):
        make_learner("rollout", env, graph="learned", orientation_weight=-1.0)
    keys = family("identification").hyperparameter_keys(AGENTS["acl-rollout"])
    assert {"graph", "relearn_every", "graph_alpha", "orientation_weight"} <= keys and "orientation" not in keys


def test_a_parentless_endogenous_variable_is_a_constant_and_do_estimates_score_any_parent_set():
    scm = toy_scm()
    view = scm.structural_view()
    rng = np.random.default_rng(0)
    est = CausalGPEstimator(view, RANGE, n_surrogate_points=16)
    for k in range(12):
        do = Intervention({"X": float(rng.uniform(-5, 5))}) if k % 2 else Intervention.passive()
        est.observe(scm.sample_array(1, rng, do), do)
    # on its own (true) parent sets, do_estimates is the posterior mean: the same loss (5)
    loss = IdentificationLoss(scm, 64)
    own = est.do_estimates({v: scm.parents(v) for v in scm.endogenous})
    assert loss(own) == pytest.approx(loss(est.estimates()), rel=1e-12)
    # X -> Z dropped: Z is a constant plus noise, its estimate the same for every X
    cut = est.with_structure(model_view(view, [("U", "X"), ("Z", "Y")]))
    assert cut.n_samples == est.n_samples and cut.structure.parents("Z") == ()
    z = cut.do_estimates({"Z": ("X",)})["Z"](np.linspace(-5, 5, 7)[:, None])
    assert np.ptp(z) < 1e-9 and np.isfinite(z).all()
    scored = loss.per_function(cut.do_estimates({v: scm.parents(v) for v in scm.endogenous}))
    assert scored["Z"] > 10 * loss.per_function(own)["Z"]
    # Y's estimate under do(X = x) when the model has X -> Z -> Y: propagated through Z's posterior mean
    via = est.do_estimates({"Y": ("X",)})["Y"](np.array([[0.0]]))
    z0 = est.mean_function("Z")(np.array([[0.0]]))
    assert via == pytest.approx(est.mean_function("Y")(z0[:, None]))


def test_the_graph_state_restores_the_learner_and_a_restored_source_continues_identically():
    scm = scenario1_scm()
    view = scm.structural_view()
    rng = np.random.default_rng(1)
    steps = []
    for k in range(16):
        do = Intervention.passive() if k % 3 == 0 else Intervention({"L1": float(rng.uniform(0, 50)), "B2": 0.5})
        steps.append((scm.sample_array(1, rng, do), do))
    first = GraphSource("learned", view, 3, relearn_every=2)
    for rows, do in steps[:9]:
        first.observe(rows, do)
    restored = GraphSource("learned", view, 3, relearn_every=2)
    restored.restore(first.state())
    for rows, do in steps[9:]:
        assert first.observe(rows, do) == restored.observe(rows, do)
    assert restored.history == first.history and view_edges(restored.view) == view_edges(first.view)
    assert restored.learner.state()["names"] == first.learner.state()["names"]


def test_microservice_starts_with_every_exogenous_variable_a_parent_until_it_has_varied():
    env = MicroserviceEnv(scenario=1)
    source = make_learner("passive", env, graph="learned").graph
    view = env.structural_view()
    exogenous, endogenous = sorted(view.exogenous), sorted(set(view.names) - set(view.exogenous))
    assert view_edges(source.view) == sorted((u, v) for u in exogenous for v in endogenous)
    scm = env.ground_truth()["scm"]
    rng = np.random.default_rng(0)
    for _ in range(8):  # passive rows: the exogenous variables stay constant, so stay untested
        source.observe(scm.sample_array(1, rng), Intervention.passive())
    assert {("L1", v) for v in endogenous} <= set(view_edges(source.view))


def test_a_run_writes_its_graph_history_and_a_rerun_repeats_it_exactly(tmp_path):
    """Runs of the identification family restart from scratch when interrupted; the graph learner, fed the same
    seeded data, repeats every number (losses, graph history, metrics)."""
    from dogym.experiments.runner import RunConfig, train

    def run(folder):
        hyper = {"graph": "learned", **SMALL_DE, "maxiter": 2}
        config = RunConfig("acl-rollout", "dogym/ToySCM-v0", 3, 5, {}, hyper, eval_episodes=0, log_folder=str(folder))
        return config.run_dir, train(config)

    (first, a), (second, b) = run(tmp_path / "a"), run(tmp_path / "b")
    assert a["graph"] == {**b["graph"], "learn_seconds": a["graph"]["learn_seconds"]}
    assert a["losses"] == b["losses"] and set(a["graph"]) == {"shd", "f1", "learn_seconds"}
    history = (first / "graph_history.csv").read_text()
    assert history == (second / "graph_history.csv").read_text()
    assert history.splitlines()[0] == "interventions,shd,f1" and history.splitlines()[-1].startswith("5,")
    assert a["graph"]["learn_seconds"] > 0


def test_the_orientation_rule_pays_for_interventions_that_orient_edges():
    """With a large orientation weight, the rollout picks an intervention on the variable whose do() orients edges
    (an orientation oracle stands in for the learned CPDAG); with weight 0 the same decision ignores it."""
    from dogym.agents.identification.policies import MaskCost, RolloutPolicy

    scm = toy_scm()
    est = CausalGPEstimator(scm.structural_view(), RANGE, n_surrogate_points=16)
    rng = np.random.default_rng(0)
    for _ in range(6):
        est.observe(scm.sample_array(1, rng), Intervention.passive())
    cost = MaskCost(scm.controllable, lambda iv: 0.0 if iv.is_passive else 1.0)
    asked = []

    def orients_at_y(targets):
        asked.append(tuple(targets))
        return 1.0 if "Y" in targets else 0.0

    def decide(weight):
        policy = RolloutPolicy(cost, orientation_weight=weight, orientation=orients_at_y, **SMALL_DE)
        return policy.decide(est, np.random.default_rng(1))

    assert "Y" in decide(100.0).targets and asked
    asked.clear()
    plain = decide(0.0)
    assert not asked and plain == RolloutPolicy(cost, **SMALL_DE).decide(est, np.random.default_rng(1))


def test_an_untested_variable_may_cause_everything_after_it_until_it_has_been_intervened_on():
    scm = toy_scm()
    source = GraphSource("learned", scm.structural_view(), 0)
    # before any data: the complete DAG of the order exogenous first, ties by name (not the env's declaration order)
    assert view_edges(source.view) == [("U", "X"), ("U", "Y"), ("U", "Z"), ("X", "Y"), ("X", "Z"), ("Y", "Z")]
    assert source.untested() == ["U", "X", "Z", "Y"]
    rng = np.random.default_rng(0)
    for do in [Intervention({"X": x}) for x in (-4.0, 0.0, 4.0)] + [Intervention.passive()] * 2:
        source.observe(scm.sample_array(1, rng, do), do)
    assert source.untested() == ["Z", "Y"]  # U varied in every row, X was set to three values
    edges = set(view_edges(source.view))
    assert {e for e in edges if e[0] in "UX"} <= set(source.learner.dag().edges)  # X's edges: the learner's only
    assert ("Y", "Z") in edges or ("Z", "Y") in edges  # the untested pair keeps an edge


def test_the_learned_graph_of_toy_scm_is_nearly_right_after_a_few_interventions():
    """8 passive rows, then 5 do(X) and 5 do(Z) over ranges where the effects are monotone: the estimator's graph is
    within one edge of U -> X -> Z -> Y on at least 4 of 5 seeds, and every variable is tested by then."""
    scm = toy_scm()
    steps = [Intervention.passive()] * 8
    steps += [Intervention({"X": x}) for x in np.linspace(-2, 2, 5)] + [
        Intervention({"Z": z}) for z in np.linspace(0.3, 2.8, 5)
    ]
    shd = []
    for seed in range(5):
        rng = np.random.default_rng(seed)
        source = GraphSource("learned", scm.structural_view(), seed, alpha=0.05)
        for do in steps:
            source.observe(scm.sample_array(1, rng, do), do)
        assert source.untested() == ["Y"]  # Y was never set: the learner alone says what it causes (nothing after it)
        shd.append(source.metrics(scm.graph)["shd"])
    assert sum(s <= 1 for s in shd) >= 4, shd

"""The continuous structure learner: PC + Meek + knowledge + interventional orientation (dogym.causal.structure)."""

from __future__ import annotations

import json

import networkx as nx
import numpy as np
import pytest

from dogym.causal.graphs import edge_metrics, is_dag
from dogym.causal.structure.continuous import PDAG, GraphLearner, Knowledge, learn_cpdag, misspecified
from dogym.causal.structure.pdag import Orienter, extend


def four_node(n: int, rng: np.random.Generator, do_b: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """A -> B -> C, B -> D with nonlinear monotone mechanisms; do_b: B's values under do(B)."""
    a = rng.normal(size=n)
    b = np.tanh(a) + 0.4 * rng.normal(size=n) if do_b is None else do_b
    c = np.exp(0.5 * b) + 0.3 * rng.normal(size=n)
    d = b**3 / 3 + b + 0.5 * rng.normal(size=n)
    return {"A": a, "B": b, "C": c, "D": d}


FOUR_TRUTH = nx.DiGraph([("A", "B"), ("B", "C"), ("B", "D")])


def chain(n: int, rng: np.random.Generator, do: dict[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """X -> Y -> Z, linear Gaussian."""
    do = do or {}
    x = do.get("X", rng.normal(size=n))
    y = do.get("Y", x + rng.normal(size=n))
    z = do.get("Z", -y + rng.normal(size=n))
    return {"X": x, "Y": y, "Z": z}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_four_node_scm_recovered_with_shd_0_from_300_passive_rows_and_100_rows_under_do_b(seed):
    """Sample size stated: 300 observational rows (all edges undirected: no collider) plus 100 rows under do(B = b),
    b uniform on [-2, 2], give the true DAG exactly (SHD 0); the observational rows alone leave 3 undirected edges."""
    rng = np.random.default_rng(seed)
    learner = GraphLearner(["A", "B", "C", "D"], seed=seed)
    learner.add_observational(four_node(300, rng))
    assert learner.learn().n_undirected == 3
    learner.add_interventional(["B"], four_node(100, rng, do_b=rng.uniform(-2, 2, 100)))
    pdag = learner.learn()
    assert pdag.n_undirected == 0
    assert edge_metrics(learner.dag(), FOUR_TRUTH).shd == 0


def test_a_do_orients_an_all_undirected_chain():
    rng = np.random.default_rng(3)
    learner = GraphLearner(["X", "Y", "Z"])
    learner.add_observational(chain(400, rng))
    before = learner.learn()
    assert before.directed == frozenset() and before.undirected == {frozenset("XY"), frozenset("YZ")}
    learner.add_interventional(["X"], chain(60, rng, {"X": rng.uniform(-2, 2, 60)}))
    after = learner.learn()
    assert after.directed == {("X", "Y"), ("Y", "Z")}  # X -> Y from the do(), Y -> Z by Meek's rule R1
    # a constant do() value is read by the shift test: Y under do(X = 3) is far from its observational distribution
    shifted = GraphLearner(["X", "Y", "Z"])
    shifted.add_observational(chain(400, rng))
    shifted.add_interventional(["X"], chain(30, rng, {"X": np.full(30, 3.0)}))
    assert shifted.learn().directed == {("X", "Y"), ("Y", "Z")}


def test_a_do_on_the_effect_orients_the_edge_into_it():
    rng = np.random.default_rng(4)
    learner = GraphLearner(["X", "Y", "Z"])
    learner.add_observational(chain(400, rng))
    learner.add_interventional(["Z"], chain(60, rng, {"Z": rng.uniform(-2, 2, 60)}))
    pdag = learner.learn()
    assert ("Y", "Z") in pdag.directed and frozenset("XY") in pdag.undirected  # Y does not respond to do(Z)


def test_background_knowledge_is_respected():
    rng = np.random.default_rng(5)
    data = chain(400, rng)
    # roots: Z has no parents, so the edge Y - Z must point away from Z (against the data's truth)
    assert ("Z", "Y") in learn_cpdag(data, Knowledge(roots={"Z"})).directed
    # forbidden: X -> Y is impossible, so the edge is Y -> X; Meek then has nothing to orient for Y - Z
    pdag = learn_cpdag(data, Knowledge(forbidden={("X", "Y")}))
    assert ("Y", "X") in pdag.directed and ("X", "Y") not in pdag.directed
    # forbidden both ways: no edge at all
    assert not {frozenset("XY")} & pdag_pairs(learn_cpdag(data, Knowledge(forbidden={("X", "Y"), ("Y", "X")})))
    # tiers: Z in the first tier, so nothing points into Z; required: an edge the data do not support stays
    tiered = learn_cpdag(data, Knowledge(tiers=(("Z",), ("X", "Y"))))
    assert all(b != "Z" for _, b in tiered.directed) and ("Z", "Y") in tiered.directed
    required = learn_cpdag(data, Knowledge(required={("X", "Z")}))
    assert ("X", "Z") in required.directed
    for pdag in (tiered, required):
        assert is_dag(pdag.dag())


def pdag_pairs(pdag: PDAG) -> set[frozenset[str]]:
    return {frozenset(e) for e in pdag.directed} | set(pdag.undirected)


def _matrices(n: int, directed=(), undirected=()) -> tuple[np.ndarray, np.ndarray]:
    d = np.zeros((n, n), dtype=bool)
    u = np.zeros((n, n), dtype=bool)
    for a, b in directed:
        d[a, b] = True
    for a, b in undirected:
        u[a, b] = u[b, a] = True
    return d, u


@pytest.mark.parametrize(
    ("n", "directed", "undirected", "expected"),
    [
        (3, [(0, 1)], [(1, 2)], {(0, 1), (1, 2)}),  # R1: 0 -> 1 - 2, 0 and 2 non-adjacent
        (3, [(0, 1), (1, 2)], [(0, 2)], {(0, 1), (1, 2), (0, 2)}),  # R2: 0 -> 1 -> 2 and 0 - 2
        # R3: 0 - 1, 0 - 2, 0 - 3, 1 -> 3 <- 2, 1 and 2 non-adjacent => 0 -> 3
        (4, [(1, 3), (2, 3)], [(0, 1), (0, 2), (0, 3)], {(1, 3), (2, 3), (0, 3)}),
        # R4: 0 - 1 (d), 1 -> 2 (d -> c), 2 -> 3 (c -> b), 0 adjacent to 2, 0 - 3, 1 and 3 non-adjacent => 0 -> 3
        (4, [(1, 2), (2, 3)], [(0, 1), (0, 2), (0, 3)], {(1, 2), (2, 3), (0, 3)}),
    ],
)
def test_meek_rules(n, directed, undirected, expected):
    d, u = _matrices(n, directed, undirected)
    state = Orienter.from_pdag(d, u)
    state.meek()
    assert {(int(a), int(b)) for a, b in zip(*np.nonzero(state.directed), strict=True)} >= expected
    assert not (state.directed & state.directed.T).any()


def test_meek_rules_leave_a_plain_chain_and_a_forbidden_edge_alone():
    d, u = _matrices(3, [], [(0, 1), (1, 2)])
    state = Orienter.from_pdag(d, u)
    state.meek()
    assert not state.directed.any()
    d, u = _matrices(3, [(0, 1)], [(1, 2)])
    forbidden = np.zeros((3, 3), dtype=bool)
    forbidden[1, 2] = True
    state = Orienter.from_pdag(d, u, forbidden)
    state.meek()
    assert not state.directed[1, 2] and state.undirected[1, 2]


def test_dor_tarsi_extension_keeps_skeleton_and_colliders():
    # 0 -> 2 <- 1 (collider), 2 - 3, 3 - 4: the extension must direct 2 -> 3 -> 4 (no new collider at 2 or 3)
    d, u = _matrices(5, [(0, 2), (1, 2)], [(2, 3), (3, 4)])
    out = extend(d, u)
    assert out[2, 3] and out[3, 4] and out[0, 2] and out[1, 2] and out.sum() == 4
    pdag = PDAG.from_matrices(list("abcde"), d, u)
    assert set(pdag.dag().edges) == {("a", "c"), ("b", "c"), ("c", "d"), ("d", "e")}


def test_expected_orientations_on_a_chain_averages_over_the_class():
    rng = np.random.default_rng(6)
    learner = GraphLearner(["X", "Y", "Z"])
    learner.add_observational(chain(400, rng))
    assert learner.learn().n_undirected == 2
    # class: X->Y->Z, X<-Y<-Z, X<-Y->Z; do(X) orients 2, 1, 1 edges; do(Y) orients both edges in every member
    assert learner.expected_orientations(["X"]) == pytest.approx(4 / 3)
    assert learner.expected_orientations(["Y"]) == pytest.approx(2.0)
    assert learner.expected_orientations(["X", "Y", "Z"]) == 0.0


def test_misspecified_reverses_exactly_one_edge_and_stays_acyclic():
    graph = nx.DiGraph([("U", "X"), ("X", "Z"), ("Z", "Y"), ("U", "Z")])
    seen = set()
    for seed in range(12):
        wrong = misspecified(graph, seed)
        assert is_dag(wrong) and list(wrong.nodes) == list(graph.nodes)
        assert len(set(wrong.edges) - set(graph.edges)) == 1 and wrong.number_of_edges() == graph.number_of_edges()
        (reversed_edge,) = set(wrong.edges) - set(graph.edges)
        assert reversed_edge[::-1] in graph.edges
        seen.add(reversed_edge)
        assert set(misspecified(graph, seed).edges) == set(wrong.edges)  # deterministic in the seed
    assert ("Z", "U") not in seen  # U -> Z has another path U -> X -> Z: reversing it would close a cycle
    assert len(seen) == 3
    with pytest.raises(ValueError, match="at least one edge"):
        misspecified(nx.DiGraph([("a", "a")][:0]), 0)
    with pytest.raises(ValueError, match="DAG"):
        misspecified(nx.DiGraph([("a", "b"), ("b", "a")]), 0)


def test_state_round_trip_and_edge_confidence():
    rng = np.random.default_rng(7)
    learner = GraphLearner(["X", "Y", "Z"], Knowledge(roots={"X"}), alpha=0.05, seed=3)
    learner.add_observational(chain(200, rng))
    learner.add_interventional(["Y"], chain(20, rng, {"Y": rng.uniform(-1, 1, 20)}), regime=1)
    pdag = learner.learn()
    restored = GraphLearner.from_state(learner.state())
    assert restored.pdag == pdag and restored.learn() == pdag
    as_json = json.loads(json.dumps(learner.state(), default=lambda a: a.tolist()))  # plain lists survive JSON
    assert GraphLearner.from_state(as_json).learn() == pdag
    confidence = learner.edge_confidence(4)
    assert confidence == restored.edge_confidence(4)
    assert len(confidence) == 6 and all(0.0 <= v <= 1.0 for v in confidence.values())
    assert confidence[("X", "Y")] == 1.0 and confidence[("Y", "X")] == 0.0  # X is a root


def test_basis_test_finds_a_u_shaped_effect_the_rank_test_cannot_see():
    """Y = 250 (C - 0.5)^2 + noise with C ~ Beta(0.5, 0.5) (symmetric: zero rank correlation), as in the safe-region
    env: the basis test finds C - Y at n = 100, the nonparanormal Fisher-z test (the default) does not."""
    rng = np.random.default_rng(8)
    c = rng.beta(0.5, 0.5, 100)
    data = {"C": c, "Y": 250 * (c - 0.5) ** 2 + rng.normal(0, 3, 100)}
    assert learn_cpdag(data, ci_test="basis").n_undirected == 1
    assert learn_cpdag(data).n_undirected == 0


def test_interventions_add_an_adjacency_invisible_in_passive_data():
    """B is constant in passive operation (a nominal configuration): only rows under do(B) show B -> Y."""
    rng = np.random.default_rng(9)
    learner = GraphLearner(["B", "Y"], Knowledge(roots={"B"}))
    learner.add_observational({"B": np.zeros(30), "Y": rng.normal(size=30)})
    assert learner.learn().directed == frozenset()
    for _ in range(15):  # one row per call, as the agents give them
        b = rng.uniform(0, 1)
        learner.add_interventional(["B"], {"B": np.array([b]), "Y": np.array([3 * b + rng.normal()])})
    assert learner.learn().directed == {("B", "Y")}


def test_few_rows_give_the_empty_graph():
    learner = GraphLearner(["a", "b"], Knowledge(required={("a", "b")}))
    assert learner.learn().directed == {("a", "b")}
    assert GraphLearner(["a", "b"]).learn() == PDAG(("a", "b"), frozenset(), frozenset())


def test_agreement_with_causal_learn_pc():
    pytest.importorskip("causallearn")
    from dogym.causal.structure.pc import causallearn_pdag

    for seed in range(6):
        rng = np.random.default_rng(seed)
        p = 7
        weights = np.triu(rng.uniform(0.5, 1.5, (p, p)) * rng.choice([-1, 1], (p, p)), 1) * (rng.random((p, p)) < 0.35)
        x = np.zeros((400, p))
        for j in range(p):
            x[:, j] = x @ weights[:, j] + rng.normal(size=400)
        names = [f"v{j}" for j in range(p)]
        ours = learn_cpdag({v: x[:, j] for j, v in enumerate(names)}, alpha=0.01, ci_test="fisherz")
        assert ours == causallearn_pdag(x, names, 0.01), f"seed {seed}"


def test_clear_value_errors():
    good = {"X": np.zeros(10), "Y": np.ones(10)}
    with pytest.raises(ValueError, match="alpha"):
        GraphLearner(["X", "Y"], alpha=1.5)
    with pytest.raises(ValueError, match="unknown nodes"):
        GraphLearner(["X", "Y"], Knowledge(roots={"Q"}))
    with pytest.raises(ValueError, match="both required and forbidden"):
        Knowledge(required={("X", "Y")}, forbidden={("X", "Y")})
    with pytest.raises(ValueError, match="into nodes declared roots"):
        Knowledge(roots={"Y"}, required={("X", "Y")})
    with pytest.raises(ValueError, match="later tier"):
        Knowledge(tiers=(("X",), ("Y",)), required={("Y", "X")})
    with pytest.raises(ValueError, match="tier 0 and tier 1"):
        Knowledge(tiers=(("X",), ("X",)))
    with pytest.raises(ValueError, match="cycle"):
        Knowledge(required={("X", "Y"), ("Y", "Z"), ("Z", "X")})
    with pytest.raises(ValueError, match="unique"):
        GraphLearner(["X", "X"])
    with pytest.raises(ValueError, match="ci_test"):
        GraphLearner(["X", "Y"], ci_test="kci")
    learner = GraphLearner(["X", "Y"])
    with pytest.raises(ValueError, match="lacks the columns"):
        learner.add_observational({"X": np.zeros(10)})
    with pytest.raises(ValueError, match="unknown columns"):
        learner.add_observational({**good, "Q": np.zeros(10)})
    with pytest.raises(ValueError, match="different lengths"):
        learner.add_observational({"X": np.zeros(10), "Y": np.zeros(9)})
    with pytest.raises(ValueError, match="non-finite"):
        learner.add_observational({"X": np.full(10, np.nan), "Y": np.zeros(10)})
    with pytest.raises(ValueError, match="1-D"):
        learner.add_observational({"X": np.zeros((10, 1)), "Y": np.zeros(10)})
    with pytest.raises(ValueError, match="non-empty subset"):
        learner.add_interventional(["Q"], good)
    with pytest.raises(ValueError, match="string"):
        learner.add_interventional("X", good)
    with pytest.raises(ValueError, match="hashable"):
        learner.add_interventional(["X"], good, regime=[1])
    with pytest.raises(ValueError, match="no graph learned"):
        learner.dag()
    with pytest.raises(ValueError, match="unknown targets"):
        learner.learn() and learner.expected_orientations(["Q"])
    with pytest.raises(ValueError, match="n_boot"):
        learner.edge_confidence(0)


def test_a_response_without_a_path_is_completed_from_the_most_dependent_possible_descendant():
    """do(X) moves Y, but the PDAG has X -> M and no path to Y: the missing edge comes from M (more dependent on Y
    than X) when a dependence score is given, from X otherwise; a non-responding variable gets nothing."""
    from dogym.causal.structure.interventional import ancestral_additions

    rng = np.random.default_rng(10)
    x = rng.uniform(-2, 2, 40)
    m = x + 0.1 * rng.normal(size=40)
    y = m + 0.1 * rng.normal(size=40)
    w = rng.normal(size=40)  # does not respond
    groups = {(frozenset({0}), None): np.stack([x, m, y, w], axis=1)}
    observational = rng.normal(size=(20, 4))
    directed, undirected = _matrices(4, [(0, 1)], [])
    assert ancestral_additions(directed, undirected, groups, observational, 0.01) == [(0, 2)]
    dependence = {(0, 2): 0.01, (1, 2): 1e-9}
    added = ancestral_additions(
        directed, undirected, groups, observational, 0.01, dependence=lambda a, b: dependence[a, b]
    )
    assert added == [(1, 2)]
    directed[1, 2] = True  # with the path X -> M -> Y in place nothing is added
    assert ancestral_additions(directed, undirected, groups, observational, 0.01) == []


def test_a_monotone_response_in_six_rows_of_mixed_target_sets_is_found():
    """Six rows whose do() sets all contain X ({X}, {X, W}, {X, V}) leave the regression one degree of freedom;
    Kendall's tau still finds Y = exp(-x) (exact p = 2/720), and shuffled responses are not found."""
    from dogym.causal.structure.interventional import response_pvalue

    rng = np.random.default_rng(11)
    x = np.array([-4.0, -2.5, -0.5, 0.8, 2.2, 3.9])
    rows = np.stack([x, np.exp(-x), rng.normal(size=6), rng.normal(size=6)], axis=1)  # X, Y, W, V
    groups = {
        (frozenset({0}), None): rows[:2],
        (frozenset({0, 2}), None): rows[2:4],
        (frozenset({0, 3}), None): rows[4:],
    }
    observational = rng.normal(size=(10, 4))
    assert response_pvalue(0, 1, groups, observational, level=0.01) <= 0.01
    shuffled = {key: block.copy() for key, block in groups.items()}
    order = [1, 4, 0, 5, 2, 3]
    flat = np.concatenate(list(shuffled.values()))
    flat[:, 1] = flat[order, 1]
    shuffled = {key: flat[2 * i : 2 * i + 2] for i, key in enumerate(shuffled)}
    assert response_pvalue(0, 1, shuffled, observational, level=0.01) > 0.05

"""The causal-effect pieces: scipy exogenous distributions, specifications, backdoor adjustment sets, the GP-SCM and
backdoor estimator against true interventional probabilities, COL's kernel and the acquisition rules."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
from scipy import stats
from threadpoolctl import threadpool_limits

from dogym.causal.acquisition import (
    argmax_std_per_cost,
    information_gain,
    lcb_safe_set,
    quantile_kappa,
    srinivas_beta,
)
from dogym.causal.effects import GPSCM
from dogym.causal.gp import GaussianProcess, MultiplicativeCausalKernel
from dogym.causal.graphs import backdoor_adjustment_set, satisfies_backdoor
from dogym.causal.scm import SCM, Frozen, Mechanism, Normal, Variable
from dogym.causal.specification import Bound, Specification, spec_probability


@pytest.fixture(autouse=True)
def one_blas_thread():
    """Tiny GPs run several times slower with BLAS threads oversubscribing the cores."""
    with threadpool_limits(1):
        yield


def confounded_scm() -> SCM:
    """Z -> X -> Y <- Z: the naive conditional P(Y | X) is biased for P(Y | do(X))."""
    return SCM(
        [Variable("Z", controllable=False), Variable("X", -3.0, 3.0), Variable("Y", controllable=False)],
        {"Z": Normal(0.0, 1.0)},
        {"X": Mechanism(("Z",), lambda z: z, 0.5), "Y": Mechanism(("X", "Z"), lambda x, z: x + 2.0 * z, 0.5)},
    )


def test_frozen_scipy_distributions_sample_and_compare():
    rng = np.random.default_rng(0)
    beta = Frozen(stats.beta(2, 5))
    assert abs(beta.sample(rng, 20000).mean() - 2 / 7) < 0.01
    assert beta == Frozen(stats.beta(2, 5)) and beta != Frozen(stats.beta(0.5, 0.5))
    np.testing.assert_allclose(beta.ppf(np.array([0.8])), stats.beta(2, 5).ppf(0.8))
    with pytest.raises(ValueError, match="frozen distribution"):
        Frozen(3.0)
    scm = SCM([Variable("U", 0, 1), Variable("Y", controllable=False)], {"U": Frozen(stats.beta(0.5, 0.5))},
              {"Y": Mechanism(("U",), lambda u: 2 * u)})  # fmt: skip
    assert abs(scm.sample(20000, rng)["Y"].mean() - 1.0) < 0.02


def test_specification_windows_and_readings():
    spec = Specification((Bound("Y", "<", 50.0),), horizon=1)
    window = {"Y": np.array([[60.0, 40.0], [40.0, 60.0]])}
    np.testing.assert_array_equal(spec.holds(window), [True, False])  # the first step settles
    literal = Specification(spec.bounds, horizon=1, reading="literal")
    np.testing.assert_array_equal(literal.holds(window), [False, False])
    assert spec.n_judged == 1 and literal.n_judged == 2
    for bad in ({"horizon": 0}, {"reading": "both"}):
        with pytest.raises(ValueError):
            Specification(spec.bounds, **bad)
    with pytest.raises(ValueError, match="operator"):
        Bound("Y", "<=", 1.0)


def test_backdoor_sets_from_the_graph():
    lagged = nx.DiGraph([("C_prev", "C"), ("C_prev", "P"), ("C", "P")])
    assert backdoor_adjustment_set(lagged, ["C"], ["P"]) == ["C_prev"]
    assert not satisfies_backdoor(lagged, ["C"], ["P"], [])
    edge = nx.DiGraph([("W", "Y"), ("C", "Y"), ("M", "Y")])
    assert backdoor_adjustment_set(edge, ["C", "M"], ["Y"]) == []
    mediated = nx.DiGraph([("Z", "X"), ("X", "M"), ("M", "Y"), ("Z", "Y")])
    assert backdoor_adjustment_set(mediated, ["X"], ["Y"]) == ["Z"]
    assert not satisfies_backdoor(mediated, ["X"], ["Y"], ["M"])  # a descendant of the treatment


def test_backdoor_estimator_matches_the_true_interventional_probability():
    scm = confounded_scm()
    data = scm.sample(3000, np.random.default_rng(1))
    spec = Specification((Bound("Y", "<", 1.0),), horizon=1)
    xs = np.array([[-1.0], [0.0], [1.0]])
    truth = stats.norm.cdf((1.0 - xs[:, 0]) / np.sqrt(4.0 + 0.25))
    mc = [spec_probability(scm, {"X": x}, spec, 20000, np.random.default_rng(2)) for x in xs[:, 0]]
    np.testing.assert_allclose(mc, truth, atol=0.02)  # the Monte-Carlo spec probability agrees with the closed form
    model = GPSCM.backdoor(scm.graph, ["X"], ["Y"], max_points=100, max_condition=300).fit(data)
    assert model.adjustment == ["Z"]
    mean, std = model.spec_effect(xs, ["X"], spec, n_rows=400, n_draws=4)
    np.testing.assert_allclose(mean, truth, atol=0.05)
    assert np.all(std < 0.05)
    naive = GPSCM({"Y": ("X",)}, max_points=100, max_condition=300).fit(data)  # ignores the confounder: visibly wrong
    naive_mean, _ = naive.spec_effect(xs, ["X"], spec, n_rows=400, n_draws=4)
    assert np.max(np.abs(naive_mean - truth)) > 0.15


def test_gpscm_uncertainty_is_larger_away_from_the_data():
    rng = np.random.default_rng(3)
    x = rng.uniform(0.0, 0.3, 40)
    data = {"X": x, "Y": 10 * x + rng.normal(0, 0.1, 40)}
    model = GPSCM({"Y": ("X",)}, kernel="rbf").fit(data)
    spec = Specification((Bound("Y", "<", 2.0),), horizon=1)
    mean, std = model.spec_effect(np.array([[0.1], [0.25], [3.0]]), ["X"], spec, n_rows=64)
    assert mean[0] > 0.9 and std[0] < std[2]
    with pytest.raises(ValueError, match="lacks the columns"):
        GPSCM({"Y": ("X", "Z")}).fit(data)


def test_multiplicative_causal_kernel_scales_by_sigma():
    sigma = lambda x: 0.1 + x[..., 0]  # noqa: E731
    kernel = MultiplicativeCausalKernel(sigma)
    x = np.array([[0.0], [1.0]])
    expected = np.outer([0.1, 1.1], [0.1, 1.1]) * np.exp(-0.5 * np.array([[0, 1], [1, 0]]))
    np.testing.assert_allclose(kernel(x, x), expected)
    np.testing.assert_allclose(kernel.diag(x), [0.01, 1.21])
    gp = GaussianProcess(kernel, 0.1, mean_fn=lambda x: np.full(len(x), 0.5)).fit(x[:1], [1.0])
    _, var = gp.predict(np.array([[0.0], [3.0]]))
    assert var[0] < 0.01 and abs(var[1] - 3.1**2) < 0.01  # a confident prior moves little; far points keep sigma^2


def test_lcb_safe_set_shrinks_as_alpha_grows():
    mean = np.linspace(0.5, 1.0, 101)
    std = np.full(101, 0.1)
    sizes = [lcb_safe_set(mean, quantile_kappa(std, a), 0.8).sum() for a in (0.5, 0.8, 0.9, 0.95, 0.99)]
    assert all(a > b for a, b in zip(sizes, sizes[1:], strict=False))
    assert sizes[0] == np.sum(mean >= 0.8)
    assert srinivas_beta(10, 0.8, 1.0, 1.0) > 1e4  # Appendix A's constant: huge for any realistic B and gamma_t
    assert information_gain(np.eye(2), 1.0) == pytest.approx(np.log(2.0))
    with pytest.raises(ValueError, match="alpha"):
        quantile_kappa(std, 1.0)


def test_argmax_std_per_cost_respects_the_allowed_set():
    std, cost = np.array([0.5, 0.4, 0.9]), np.array([1.0, 0.5, 3.0])
    assert argmax_std_per_cost(std, cost) == 1
    assert argmax_std_per_cost(std) == 2
    assert argmax_std_per_cost(std, cost, np.array([True, False, True])) == 0
    with pytest.raises(ValueError, match="empty"):
        argmax_std_per_cost(std, cost, np.zeros(3, bool))


def test_added_rows_move_the_mechanism_and_the_analytic_probability():
    """Rows observed under do(X) are samples of Y's mechanism (not of X's): the GP conditions on them (the latest
    first, at most max_condition rows), and the closed-form spec probability follows the new data."""
    rng = np.random.default_rng(4)
    x = rng.uniform(0.0, 0.3, 30)
    data = {"X": x, "Y": 10 * x + rng.normal(0, 0.1, 30)}
    model = GPSCM({"Y": ("X",)}, kernel="rbf", max_points=30, max_condition=20,
                  fit_options={"priors": "botorch"}, input_scaling="unit").fit(data)  # fmt: skip
    spec = Specification((Bound("Y", "<", 2.0),), horizon=1)
    far = np.array([[0.9]])
    before, _ = model.spec_effect(far, ["X"], spec, n_rows=8, analytic=True)
    model.add_rows({"X": np.full(15, 0.9), "Y": np.full(15, 0.5)}, intervened=("X",), refit=True)
    after, _ = model.spec_effect(far, ["X"], spec, n_rows=8, analytic=True)
    gp = model.mechanisms["Y"].gp
    assert gp.n == 20 and np.sum(gp.x[:, 0] > 2.0) == 15  # all 15 new rows (scaled 0.9 > 2.0 on [0, 0.3]), 5 old
    assert before[0] < 0.9 and after[0] > 0.99  # far from the passive data it was unsure; the interventions say Y = 0.5
    model.add_rows({"Y": np.array([1.0])}, intervened=("X",))  # a row without the mechanism's inputs is skipped
    assert len(model.mechanisms["Y"].y_new) == 15
    with pytest.raises(ValueError, match="one bound per fitted mechanism"):
        model.spec_effect(far, ["X"], Specification((Bound("X", "<", 2.0),)), analytic=True)


def test_without_conditioning_on_the_passive_data_the_gp_starts_empty():
    rng = np.random.default_rng(5)
    data = {"X": rng.uniform(0, 1, 20), "Y": rng.normal(0, 1, 20)}
    model = GPSCM({"Y": ("X",)}, kernel="rbf").fit(data, condition_on_data=False)
    assert model.mechanisms["Y"].gp.n == 0
    model.add_rows({"X": np.array([0.5]), "Y": np.array([0.0])})
    assert model.mechanisms["Y"].gp.n == 1

"""SCM sampling, interventions, validation and loss (5)."""

import numpy as np
import pytest

from dogym.causal.identification_loss import IdentificationLoss, region_points
from dogym.causal.intervention import Intervention, InterventionError
from dogym.causal.scm import StructuralView
from dogym.envs.identification.microservice import scenario1_scm
from dogym.envs.identification.toy_scm import toy_scm


def test_sample_under_do_cuts_incoming_edges():
    scm = toy_scm()
    s = scm.sample(500, np.random.default_rng(0), do={"X": 2.0})
    assert np.all(s["X"] == 2.0)
    assert abs(s["Z"].mean() - np.exp(-2.0)) < 0.05
    assert np.std(s["U"]) > 0.2  # U is upstream of the intervention and keeps its distribution
    means = scm.interventional_mean({"Z": 3.0})
    assert abs(means["Y"] - (np.cos(3.0) - np.exp(-3.0 / 20))) < 0.01


def test_sampling_is_deterministic_given_rng():
    scm = scenario1_scm()
    a = scm.sample_array(5, np.random.default_rng(3), Intervention({"C1": 3, "L2": 10.0}))
    b = scm.sample_array(5, np.random.default_rng(3), Intervention({"C1": 3, "L2": 10.0}))
    np.testing.assert_array_equal(a, b)
    assert a.shape == (5, len(scm.names))


@pytest.mark.parametrize(
    "do, message",
    [
        ({"X": 7.5}, r"X=7\.5 is outside the operating region \[-5, 5\]"),
        ({"W": 1.0}, r"cannot intervene on 'W': not a controllable variable \(allowed: U, X, Y, Z\)"),
        ({"U": -3.0}, r"U=-3\.0 is outside the operating region \[-1, 1\]"),
    ],
)
def test_invalid_interventions_raise_clear_errors(do, message):
    with pytest.raises(InterventionError, match=message):
        toy_scm().sample(1, np.random.default_rng(0), do=do)


def test_integer_and_uncontrollable_variables_are_checked():
    scm = scenario1_scm()
    with pytest.raises(InterventionError, match=r"C1=2\.5 must be an integer in \{1, \.\.\., 5\}"):
        scm.validate(Intervention({"C1": 2.5}))
    with pytest.raises(InterventionError, match="'R1': not a controllable variable"):
        scm.validate(Intervention({"R1": 1.0}))
    with pytest.raises(InterventionError, match="NaN"):
        Intervention({"L1": float("nan")})


def test_loss_is_zero_for_true_functions_and_positive_otherwise():
    for scm in (toy_scm(), scenario1_scm()):
        loss = IdentificationLoss(scm, n_points=128)
        truth = {v: (lambda x, v=v, s=scm: s.function(v, x)) for v in scm.endogenous}
        assert loss(truth) == 0.0
        shifted = {v: (lambda x, v=v, s=scm: s.function(v, x) + 1.0) for v in scm.endogenous}
        assert loss(shifted) == pytest.approx(len(scm.endogenous))


def test_region_points_cover_operating_region():
    scm = scenario1_scm()
    pts = region_points(scm, "R1", 512)
    assert pts.shape == (512, 6)
    cpus = pts[:, 4]
    assert set(np.unique(cpus)) == {1.0, 2.0, 3.0, 4.0, 5.0}
    assert pts[:, 0].min() < 2 and pts[:, 0].max() > 48  # carried load spans [0, 50]
    u = region_points(toy_scm(), "X", 512)[:, 0]  # unbounded exogenous parent: its N(0, 0.1) distribution
    assert abs(u.std() - np.sqrt(0.1)) < 0.02


def test_structural_view_has_the_structure_and_no_mechanisms():
    for scm in (toy_scm(), scenario1_scm()):
        view = scm.structural_view()
        assert isinstance(view, StructuralView)
        assert (view.names, view.order, view.endogenous) == (scm.names, scm.order, scm.endogenous)
        assert (view.controllable, view.control_bounds) == (scm.controllable, scm.control_bounds)
        assert view.integer_variables == scm.integer_variables
        assert dict(view.variables) == scm.variables and dict(view.exogenous) == scm.exogenous
        assert all(view.parents(v) == scm.parents(v) for v in scm.endogenous)
        assert all(view.parents(u) == () for u in scm.exogenous)
        assert sorted(view.graph.edges) == sorted(scm.graph.edges)
        for name in ("mechanisms", "function", "sample", "sample_array", "interventional_mean", "noise_std"):
            assert not hasattr(view, name)
        for v in scm.endogenous:  # the loss-(5) evaluation sets only need the structure
            np.testing.assert_array_equal(region_points(view, v, 64), region_points(scm, v, 64))
    with pytest.raises(KeyError, match="unknown variable 'W'"):
        toy_scm().structural_view().parents("W")


def test_structural_view_validates_like_the_scm():
    view = scenario1_scm().structural_view()
    view.validate(Intervention({"C1": 3.0, "L2": 10.0}))
    with pytest.raises(InterventionError, match=r"C1=2\.5 must be an integer in \{1, \.\.\., 5\}"):
        view.validate(Intervention({"C1": 2.5}))
    with pytest.raises(InterventionError, match="'R1': not a controllable variable"):
        view.validate(Intervention({"R1": 1.0}))
    with pytest.raises(InterventionError, match=r"L1=60\.0 is outside the operating region \[0, 50\]"):
        view.validate(Intervention({"L1": 60.0}))


def test_structural_view_is_read_only_and_picklable():
    import pickle

    view = toy_scm().structural_view()
    with pytest.raises(AttributeError, match="read-only"):
        view.order = ["Y"]
    with pytest.raises(TypeError):
        view.variables["X"] = None
    with pytest.raises(TypeError):
        view.exogenous["U"] = None
    graph = view.graph
    graph.add_edge("Y", "U")
    assert not view.graph.has_edge("Y", "U")  # `graph` is a copy
    clone = pickle.loads(pickle.dumps(view))
    assert clone == view and clone.order == view.order and clone.parents("Z") == ("X",)
    assert clone != scenario1_scm().structural_view()

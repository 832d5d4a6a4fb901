"""Unknown-graph runs are sealed: an agent with `graph: learned` reads the variables, domains, costs, controllable
variables and exogenous distributions of the structural view, never its graph.

`unknown_graph_env_id(env_id)` registers (once) a copy of an env whose `structural_view()` returns a `sealed_view`:
the same view, but reading a graph-bearing attribute from code outside the env itself raises `GraphTouched`:
- `StructuralView`: graph, parents, order, endogenous (listed in causal order);
- `DynamicStructuralView`: unrolled, graph, slice_parents, exploration_sets (derived from the graph).
Everything else stays readable (names, variables, domains / control bounds, controllable, integer variables, the
exogenous distributions P[U], the target, the horizon, the manipulative variables). The env's ground truth and
mechanisms are sealed as in tests/test_learner_views.py (`truth=False` seals only the view and the info dicts).
Each family adds a test here that builds and trains its agent with `graph: learned` on such an env.
"""

from __future__ import annotations

import pickle
import sys
from typing import Any

import gymnasium as gym
import pytest
from test_learner_views import GroundTruthTouched, registered_copy, sealed

import dogym.envs  # noqa: F401
from dogym.causal.dynamic import DynamicStructuralView
from dogym.causal.scm import StructuralView


class GraphTouched(AssertionError):
    """Code outside the env read the graph of a structural view in an unknown-graph run."""


#: The graph-bearing attributes of each structural-view class.
GRAPH_ATTRIBUTES: dict[type, frozenset[str]] = {
    StructuralView: frozenset({"graph", "parents", "order", "endogenous"}),
    DynamicStructuralView: frozenset({"unrolled", "graph", "slice_parents", "exploration_sets"}),
}


def _reader_is_env() -> bool:
    """Whether the nearest frame outside this module and Gymnasium belongs to an env (its own reads are fine)."""
    frame = sys._getframe(2)
    while frame is not None:
        name = frame.f_globals.get("__name__", "")
        if name != __name__ and not name.startswith("gymnasium"):
            return name.startswith("dogym.envs")
        frame = frame.f_back
    return False


def _raiser(cls_name: str, attribute: str) -> property:
    def get(self):
        if _reader_is_env():
            return object.__getattribute__(self, "_sealed_original").__getattribute__(attribute)
        raise GraphTouched(f"unknown-graph run read {cls_name}.{attribute}: the graph is not the agent's to read")

    return property(get)


def _sealed_class(base: type) -> type:
    attributes = GRAPH_ATTRIBUTES[base]
    namespace: dict[str, Any] = {name: _raiser(base.__name__, name) for name in attributes}
    namespace["__reduce__"] = lambda self: (sealed_view, (object.__getattribute__(self, "_sealed_original"),))
    namespace["__module__"] = __name__
    return type(f"Sealed{base.__name__}", (base,), namespace)


_SEALED_CLASSES = {base: _sealed_class(base) for base in GRAPH_ATTRIBUTES}


def sealed_view(view: StructuralView | DynamicStructuralView):
    """`view` with its graph-bearing attributes raising `GraphTouched` (see module docstring); an instance of a
    subclass of the view's class, so isinstance checks, equality of the readable parts and pickling still work."""
    if type(view) in _SEALED_CLASSES.values():
        return view
    cls = _SEALED_CLASSES.get(type(view))
    if cls is None:
        raise TypeError(f"no sealed form of {type(view).__name__}; known: {[c.__name__ for c in GRAPH_ATTRIBUTES]}")
    out = object.__new__(cls)
    for slot in getattr(type(view), "__slots__", ()):
        object.__setattr__(out, slot, object.__getattribute__(view, slot))
    if hasattr(view, "__dict__"):
        out.__dict__.update(view.__dict__)
    out.__dict__["_sealed_original"] = view
    return out


def sealed_graph_env(cls: type, truth: bool = True) -> type:
    """A subclass of env class `cls` sealed as in tests/test_learner_views.py (ground truth unless `truth` is
    False, info dicts) whose `structural_view()` is a `sealed_view`."""
    base = sealed(cls, truth)

    class UnknownGraph(base):
        def structural_view(self, *args, **kwargs):
            return sealed_view(super().structural_view(*args, **kwargs))

    UnknownGraph.__name__ = f"UnknownGraph{cls.__name__}"
    return UnknownGraph


def unknown_graph_env_id(env_id: str, truth: bool = True) -> str:
    """Register (once) the unknown-graph copy of a registered env (`sealed_graph_env`) and return its id."""
    namespace = "dogym-unknown-graph" if truth else "dogym-unknown-graph-info"
    return registered_copy(env_id, namespace, lambda cls: sealed_graph_env(cls, truth))


@pytest.mark.parametrize("env_id", ["dogym/ToySCM-v0", "dogym/EdgeSafeRegion-v0", "dogym/DCGO-STAT-v0"])
def test_the_sealed_view_hides_the_graph_and_keeps_the_rest(env_id):
    env = gym.make(unknown_graph_env_id(env_id))
    env.reset(seed=0)
    env.step(env.action_space.sample())  # the env's own reads of its view still work
    view = env.unwrapped.structural_view()
    plain = gym.make(env_id).unwrapped.structural_view()
    assert isinstance(view, type(plain))
    hidden = ("graph", "parents", "order") if isinstance(plain, StructuralView) else ("unrolled", "slice_parents")
    for attribute in (*hidden, "graph", "exploration_sets" if hidden[0] == "unrolled" else "endogenous"):
        with pytest.raises(GraphTouched, match=attribute):
            getattr(view, attribute)
    if isinstance(plain, StructuralView):
        assert view.names == plain.names and dict(view.exogenous) == dict(plain.exogenous)
        assert view.controllable == plain.controllable and view.control_bounds == plain.control_bounds
        assert dict(view.variables) == dict(plain.variables)
    else:
        assert view.variables == plain.variables and view.manipulative == plain.manipulative
        assert dict(view.domains) == dict(plain.domains) and view.target == plain.target
        assert view.horizon == plain.horizon and dict(view.noise) == dict(plain.noise)
    copy = pickle.loads(pickle.dumps(view))
    with pytest.raises(GraphTouched):
        copy.graph  # noqa: B018


def test_the_unknown_graph_env_still_seals_the_ground_truth():
    env = gym.make(unknown_graph_env_id("dogym/ToySCM-v0"))
    env.reset(seed=0)
    from dogym.agents.identification import learner

    with pytest.raises(GroundTruthTouched):
        learner._TrueLoss(env, 8)(1, None)


def test_col_learns_its_graph_on_a_sealed_view(tmp_path):
    """COL with graph: learned builds, runs and relearns after every intervention on Edge S1 whose view hides its
    graph (ground truth and info keys outside its view sealed too); with the known graph the same env raises, so
    the seal can fail."""
    from test_learner_views import info_view

    from dogym.agents.registry import AGENTS, RunContext, family, resolve_hyperparams

    spec, fam = AGENTS["col"], family("safe_region")
    edge = "dogym/EdgeSafeRegion-v0"
    env_id = unknown_graph_env_id(edge)
    fast = {**resolve_hyperparams(spec, edge), "resolution": 41, "prior_rows": 16, "prior_draws": 4}
    context = RunContext(spec, env_id, {}, 0, {**fast, "graph": "learned"}, tmp_path / "learned")
    with info_view(fam.info_view(context)):
        agent = fam.build(context)
        assert agent.learn(6)
    n = agent.summary()["col"]["interventions"]
    assert n > 0 and [k for k, _ in agent.learner.graph_history] == list(range(n + 1))
    known = fam.build(RunContext(spec, env_id, {}, 0, fast, tmp_path / "known"))
    with pytest.raises(GraphTouched, match="graph"):
        known.learn(6)


@pytest.mark.parametrize("agent_name", ["dcbo", "cbo"])
def test_dcbo_and_cbo_learn_their_graph_on_a_sealed_view(agent_name, tmp_path):
    """DCBO and CBO with graph: learned build, run and relearn after every intervention on STAT whose view hides its
    unrolled graph, slice parents and exploration sets (and whose env's own exploration_sets raise when read; ground
    truth and info keys outside the family's view sealed too); with the known graph the same env raises, so the seal
    can fail."""
    from test_learner_views import info_view
    from threadpoolctl import threadpool_limits

    from dogym.agents.registry import AGENTS, RunContext, family, resolve_hyperparams

    class SealedSets(list):
        def __iter__(self):
            raise GraphTouched("exploration_sets of the env read")

    spec, fam = AGENTS[agent_name], family("dcgo")
    env_id = unknown_graph_env_id("dogym/DCGO-STAT-v0")
    hyperparams = resolve_hyperparams(spec, "dogym/DCGO-STAT-v0")
    context = RunContext(
        spec, env_id, {}, 0, {**hyperparams, "graph": "learned", "relearn_every": 1}, tmp_path / "learned"
    )
    with info_view(fam.info_view(context)), threadpool_limits(1):  # tiny GPs: BLAS threads only slow them down
        agent = fam.build(context)
        agent.env.unwrapped.exploration_sets = SealedSets(agent.env.unwrapped.exploration_sets)
        assert agent.learn(3)
    n = agent.summary()["dcgo"]["interventions"]
    assert n == 6 and [k for k, _ in agent.result.graph_history] == list(range(n + 1))
    known = fam.build(RunContext(spec, env_id, {}, 0, hyperparams, tmp_path / "known"))
    with pytest.raises(GraphTouched):
        known.learn(3)


def test_acl_rollout_learns_its_graph_on_a_sealed_view(tmp_path):
    """acl-rollout with graph: learned builds, runs, feeds every step to its structure learner and relearns on
    ToySCM whose view hides its graph (info keys sealed; the loss curve scores itself against the truth as it goes,
    so the ground truth stays readable); with the known graph the same env raises, so the seal can fail."""
    from test_learner_views import info_view

    from dogym.agents.registry import AGENTS, RunContext, family, resolve_hyperparams

    spec, fam = AGENTS["acl-rollout"], family("identification")
    env_id = unknown_graph_env_id("dogym/ToySCM-v0", truth=False)
    fast = {**resolve_hyperparams(spec, "dogym/ToySCM-v0"), "horizon": 2, "n_rollouts": 2, "popsize": 5, "maxiter": 2}
    context = RunContext(spec, env_id, {}, 0, {**fast, "graph": "learned"}, tmp_path / "learned")
    with info_view(fam.info_view(context)):
        agent = fam.build(context)
        assert agent.learn(10)
    graph = agent.learner.graph
    assert graph.learner.n_observational + graph.learner.n_interventional == 10
    assert graph.learner.pdag is not None and graph.history[-1][0] == 10
    assert set(fam.evaluate(agent, context, 0, 0)["graph"]) == {"shd", "f1", "learn_seconds"}
    with pytest.raises(GraphTouched, match="parents"):  # the known graph is read as the learner is built
        fam.build(RunContext(spec, env_id, {}, 0, fast, tmp_path / "known"))

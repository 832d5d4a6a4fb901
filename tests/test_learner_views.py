"""No peeking: every registered agent is built from what an operator has (observations, the structural view, passive
data), never from an env's ground truth or mechanisms."""

from __future__ import annotations

import sys

import gymnasium as gym
import pytest

import dogym.envs  # noqa: F401
from dogym.agents.registry import AGENTS, RunContext, family, resolve_hyperparams

#: Attributes that hold the ground truth or the mechanisms of an env (evaluation only).
FORBIDDEN = frozenset({"ground_truth", "true_graph", "true_scm", "scm_at", "model", "dynamics", "type_rank", "config",
                       "_phases", "_scm", "transient_pairs", "root_candidates",
                       "true_region", "_truths", "_scms", "_scm_of_time", "_probability",
                       "true_objective", "_sys", "_optimum", "_optimal_path", "_agent_path"})  # fmt: skip


class GroundTruthTouched(AssertionError):
    """An agent read an env's ground truth or mechanisms."""


def _caller_module() -> str:
    """The module of the code that asked for the attribute: the nearest frame outside Gymnasium (whose wrappers
    forward attribute reads) and outside this test module. The env's own code reading its mechanisms is allowed."""
    frame = sys._getframe(2)
    while frame is not None:
        name = frame.f_globals.get("__name__", "")
        if not name.startswith("gymnasium") and name != __name__:
            return name
        frame = frame.f_back
    return ""


def sealed(cls: type) -> type:
    """A subclass of env class `cls` whose ground truth and mechanisms raise when agent code touches them."""

    class Sealed(cls):
        def __getattribute__(self, name: str):
            if name in FORBIDDEN and _caller_module().startswith("dogym.agents"):
                raise GroundTruthTouched(f"agent code read {cls.__name__}.{name}")
            return super().__getattribute__(name)

    Sealed.__name__ = f"Sealed{cls.__name__}"
    return Sealed


def sealed_env_id(env_id: str) -> str:
    """Register (once) a sealed copy of a registered env and return its id."""
    sealed_id = env_id.replace("dogym/", "dogym-sealed/")
    if sealed_id not in gym.registry:
        spec = gym.spec(env_id)
        module, _, name = spec.entry_point.partition(":")
        cls = getattr(__import__(module, fromlist=[name]), name)
        gym.register(id=sealed_id, entry_point=sealed(cls), kwargs=dict(spec.kwargs))
    return sealed_id


def test_sealing_catches_agent_code_and_lets_the_env_work():
    env = gym.make(sealed_env_id("dogym/ToySCM-v0"))
    env.reset(seed=0)
    env.step(env.action_space.sample())  # the env's own use of its mechanisms is fine
    assert env.unwrapped.ground_truth()["scm"] is not None  # tests and evaluation may read it
    from dogym.agents.identification import learner

    with pytest.raises(GroundTruthTouched):
        learner._TrueLoss(env, 8)(1, None)  # an agents module reading the truth fails loudly


@pytest.mark.parametrize("agent", sorted(AGENTS))
def test_every_agent_is_built_without_ground_truth(agent, tmp_path):
    spec = AGENTS[agent]
    env_id = spec.envs[-1] if "Small" not in " ".join(spec.envs) else next(e for e in spec.envs if "Small" in e)
    hyperparams = resolve_hyperparams(spec, env_id)
    if "n_log_events" in hyperparams:
        hyperparams["n_log_events"] = 300  # a short passive log keeps the test fast
    context = RunContext(spec, sealed_env_id(env_id), {}, 0, hyperparams, tmp_path)
    if spec.options.get("privileged"):  # references such as the oracle read the truth, and must say so
        with pytest.raises(GroundTruthTouched):
            family(spec.family).build(context)
        return
    built = family(spec.family).build(context)
    assert built is not None

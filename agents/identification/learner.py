"""Online causal identification (Hammar & Stadler): a GP estimator plus an intervention policy, run against an intervention
env, with loss (5) against the env's ground truth tracked after every step.

Public entry points: `make_learner(policy, env, ...)` and `run_identification(env, learner, n_steps, seed)`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import gymnasium as gym
import numpy as np

from dogym.agents.graph_settings import check_graph_settings
from dogym.agents.identification.estimator import CausalGPEstimator, GPConfig
from dogym.agents.identification.graph import GraphSource
from dogym.agents.identification.policies import MaskCost, PassivePolicy, RandomPolicy, RolloutPolicy
from dogym.causal.identification_loss import IdentificationLoss
from dogym.causal.intervention import Intervention
from dogym.causal.random_streams import named_rng

POLICIES = ("passive", "random", "rollout")
#: The hyper-parameters that choose the estimator's causal graph (`make_learner`).
GRAPH_KEYS = frozenset({"graph", "relearn_every", "graph_alpha"})


@dataclass
class ActiveCausalLearner:
    """An estimator phi(D_t), an intervention policy pi(b_t) and the source of the estimator's causal graph (known,
    learned or wrong: `GraphSource`)."""

    estimator: CausalGPEstimator
    policy: PassivePolicy | RandomPolicy | RolloutPolicy
    graph: GraphSource

    def act(self, rng: np.random.Generator) -> Intervention:
        """The next intervention."""
        return self.policy.decide(self.estimator, rng)

    def observe(self, samples: np.ndarray, intervention: Intervention) -> None:
        """Add the measurements taken under `intervention` (and rebuild the estimator on the graph when a relearned
        graph differs, keeping D_t)."""
        self.estimator.observe(samples, intervention)
        if self.graph.observe(samples, intervention):
            self.estimator = self.estimator.with_structure(self.graph.view)


def make_learner(
    policy: str,
    env: gym.Env,
    gp: GPConfig | None = None,
    buffer_size: int | None = None,
    model_eviction: bool = False,
    graph: str = "known",
    relearn_every: int = 1,
    graph_alpha: float = 0.01,
    seed: int = 0,
    **policy_kwargs,
) -> ActiveCausalLearner:
    """A learner for `env` (its structure, P[U] and costs, never its mechanisms) with policy "passive", "random"
    (kwarg: rate) or "rollout" (kwargs: lookahead, horizon, n_rollouts, gamma, cost_weight, popsize, maxiter,
    orientation_weight; the myopic policy is lookahead 1, horizon 0). `buffer_size` makes D_t a FIFO buffer;
    `model_eviction` lets rollouts simulate its evictions (see `CausalGPEstimator`). `graph` ("known", "learned" or
    "wrong"), `relearn_every`, `graph_alpha` (the structure learner's test level) and the run's `seed` choose the
    estimator's causal graph (see `dogym.agents.identification.graph`)."""
    if policy not in POLICIES:
        raise ValueError(f"unknown identification policy {policy!r}; choose one of {POLICIES}")
    check_graph_settings(graph, relearn_every, graph_alpha, policy_kwargs.get("orientation_weight", 0.0))
    known = env.get_wrapper_attr  # what an operator knows: the structural view, the cost table, M
    source = GraphSource(graph, known("structural_view")(), seed, relearn_every, graph_alpha)
    estimator = CausalGPEstimator(source.view, gp, buffer_size, model_eviction=model_eviction)
    if policy == "passive":
        if policy_kwargs:
            raise ValueError(f"policy 'passive' takes no options, got {sorted(policy_kwargs)}")
        chosen = PassivePolicy()
    elif policy == "random":
        unknown = sorted(set(policy_kwargs) - {"rate"})
        if unknown:
            raise ValueError(f"policy 'random' takes only the option 'rate', got {unknown}")
        chosen = RandomPolicy(**policy_kwargs)
    else:
        cost = MaskCost(known("controllable"), known("intervention_cost"))
        chosen = RolloutPolicy(cost, samples_per_step=known("samples_per_step"), orientation=source.orientations,
                               **policy_kwargs)  # fmt: skip
    return ActiveCausalLearner(estimator, chosen, source)


@dataclass
class IdentificationRun:
    """Per-step record of one identification run; index 0 is before any measurement."""

    losses: list[float] = field(default_factory=list)
    function_losses: list[dict[str, float]] = field(default_factory=list)
    surrogate: list[float] = field(default_factory=list)
    decision_seconds: list[float] = field(default_factory=list)
    costs: list[float] = field(default_factory=list)
    interventions: list[str] = field(default_factory=list)


class _TrueLoss:
    """Loss (5) against the env's true SCM at a step, with one evaluator per distinct SCM."""

    def __init__(self, env: gym.Env, n_points: int):
        self.ground_truth, self.n_points, self._cache = env.get_wrapper_attr("ground_truth"), n_points, {}

    def __call__(self, t: int, learner: ActiveCausalLearner) -> dict[str, float]:
        scm = self.ground_truth(t)["scm"]
        if id(scm) not in self._cache:
            self._cache[id(scm)] = IdentificationLoss(scm, self.n_points)
        if learner.graph.mode == "known":
            return self._cache[id(scm)].per_function(learner.estimator.estimates())
        # another graph: each true causal function is scored on its true parents (the truth, evaluation only)
        truth = learner.estimator.do_estimates({v: scm.parents(v) for v in scm.endogenous})
        return self._cache[id(scm)].per_function(truth)


def _record(run: IdentificationRun, per_function: dict[str, float], learner: ActiveCausalLearner) -> None:
    run.function_losses.append(per_function)
    run.losses.append(float(sum(per_function.values())))
    run.surrogate.append(learner.estimator.surrogate_loss())


def run_identification(
    env: gym.Env, learner: ActiveCausalLearner, n_steps: int, seed: int, loss_points: int = 512
) -> IdentificationRun:
    """Run `n_steps` interventions; losses[t] (and the per-function terms function_losses[t]) compare the estimate
    after t steps with the true functions F_t of step t (F_1 for t = 0)."""
    env.reset(seed=seed)
    rng = named_rng(seed, "policy")
    true_loss = _TrueLoss(env, loss_points)
    run = IdentificationRun()
    _record(run, true_loss(1, learner), learner)
    for t in range(1, n_steps + 1):
        start = time.perf_counter()
        intervention = learner.act(rng)
        run.decision_seconds.append(time.perf_counter() - start)
        samples, reward, *_ = env.step(intervention)
        learner.observe(samples, intervention)
        _record(run, true_loss(t, learner), learner)
        run.costs.append(-float(reward))
        run.interventions.append(repr(intervention))
    return run

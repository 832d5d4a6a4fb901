"""CPO (Achiam, Held, Tamar and Abbeel, "Constrained Policy Optimization"): a trust-region policy step that also
keeps a linearised cost constraint.

Each update (one rollout of `n_steps` steps per env), with theta the actor's parameters and H the Fisher matrix of
the mean KL between the rollout policy and the new one (damping `cg_damping`):
1. g = grad of the reward surrogate E[ratio A_R] (A_R standardised), b = grad of the cost surrogate
   T E[ratio A_C] (A_C the raw cost GAE, T the mean episode length, so b . dtheta approximates the change of the
   episode cost), c = J_C - d (J_C = the mean cost of the episodes finished in the rollout, d = `cost_limit`);
2. x = H^-1 g and y = H^-1 b by conjugate gradients (`cg_iters`); q = g.x, r = g.y, s = b.y;
3. the step of the paper's Theorem 2 / Appendix 10.2 for max g.dtheta s.t. dtheta' H dtheta / 2 <= delta and
   c + b.dtheta <= 0, delta = `target_kl`: the plain trust-region step when the constraint cannot bind in the trust
   region, the dual solution (lambda*, nu*) when it can, and the recovery step -sqrt(2 delta / s) y when no point of
   the trust region is feasible;
4. a backtracking line search (factor 0.8, up to 15 tries) keeps the first step whose mean KL is <= delta, whose
   cost surrogate does not exceed max(0, -c) (recovery: does not increase), and whose reward surrogate does not drop
   (except in recovery); no step when none passes;
5. the reward and cost critics regress their returns (`n_epochs` epochs of minibatches of `batch_size`, Adam at
   `critic_lr`).
Defaults are OmniSafe's CPO defaults (Ji et al., "OmniSafe: An Infrastructure for Accelerating Safe Reinforcement
Learning Research"): 20 000 steps per update, 10 critic epochs of minibatches of 128, target KL 0.01, cg_iters 15,
cg_damping 0.1, critic lr 1e-3, gamma = cost_gamma = 0.99, lambda = cost lambda = 0.95, gradient-norm clip 40,
critic weight decay 1e-3, cost limit 25, 64-64 tanh MLPs. CPO has no Lagrange multiplier to initialise.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch as th
from stable_baselines3.common.on_policy_algorithm import OnPolicyAlgorithm
from stable_baselines3.common.type_aliases import GymEnv
from torch.nn.utils import parameters_to_vector, vector_to_parameters

from dogym.agents.safe_region.safe_rl.common import (
    SafeOnPolicyMixin,
    check_integers,
    check_number,
)

LINE_SEARCH_STEPS, LINE_SEARCH_DECAY = 15, 0.8


def conjugate_gradient(matvec: Callable[[th.Tensor], th.Tensor], b: th.Tensor, iters: int, tol: float = 1e-10):
    """An approximate solution x of A x = b for a symmetric positive-definite A given as `matvec`."""
    x = th.zeros_like(b)
    r, p = b.clone(), b.clone()
    rr = th.dot(r, r)
    for _ in range(iters):
        if rr < tol:
            break
        ap = matvec(p)
        alpha = rr / th.dot(p, ap)
        x += alpha * p
        r -= alpha * ap
        rr_new = th.dot(r, r)
        p = r + (rr_new / rr) * p
        rr = rr_new
    return x


def cpo_step(
    x: np.ndarray, y: np.ndarray, q: float, r: float, s: float, c: float, delta: float
) -> tuple[np.ndarray, int]:
    """The CPO step direction (Achiam et al., Theorem 2 and Appendix 10.2) from x = H^-1 g, y = H^-1 b, q = g.x,
    r = g.y, s = b.y, c = J_C - d and the trust-region size delta; returns (step, case) with case 3: the constraint
    cannot bind (trust-region step), 2 / 1: feasible / infeasible start with the constraint possibly binding (dual
    solution), 0: no feasible point in the trust region (recovery step along -y)."""
    q = max(q, 1e-12)
    if s <= 1e-8 or (c < 0 and c * c / s - 2 * delta > 0):
        return np.sqrt(2 * delta / q) * x, 3
    b_gap = 2 * delta - c * c / s
    if c > 0 and b_gap < 0:
        return -np.sqrt(2 * delta / s) * y, 0
    # The paper's Theorem 2 is stated for min g'.x: its r is -r here.
    r = -r
    a_gap = q - r * r / s
    ratio = r / c if c != 0 else np.inf
    # Lambda_a = {lambda >= 0 : lambda c - r > 0} (the constraint binds: nu > 0), Lambda_b its complement.
    if c > 0:
        range_a, range_b = (max(ratio, 0.0), np.inf), (0.0, max(ratio, 0.0))
    elif c < 0:
        range_a, range_b = (0.0, max(ratio, 0.0)), (max(ratio, 0.0), np.inf)
    else:
        range_a, range_b = ((0.0, np.inf), (0.0, 0.0)) if r < 0 else ((0.0, 0.0), (0.0, np.inf))
    lam_a = float(np.clip(np.sqrt(max(a_gap, 1e-12) / max(b_gap, 1e-12)), *range_a))
    lam_b = float(np.clip(np.sqrt(q / (2 * delta)), *range_b))

    def f_a(lam: float) -> float:
        return (r * r / s - q) / (2 * lam) + lam * (c * c / s - 2 * delta) / 2 - r * c / s

    def f_b(lam: float) -> float:
        return -(q / lam + 2 * lam * delta) / 2

    candidates = []
    if lam_a > 0 and range_a[1] > range_a[0]:
        candidates.append((f_a(lam_a), lam_a))
    if lam_b > 0 and range_b[1] > range_b[0]:
        candidates.append((f_b(lam_b), lam_b))
    lam = max(candidates)[1] if candidates else np.sqrt(q / (2 * delta))
    nu = max(0.0, (lam * c - r) / s)
    return (x - nu * y) / lam, (2 if c < 0 else 1)


class CPO(SafeOnPolicyMixin, OnPolicyAlgorithm):
    """CPO on a Box-action env whose steps report `info["cost"]` (see the module docstring).

    `unsafe_steps` counts the sum of `info["cost"]` over every training step; `history` has one row per update
    (timesteps, unsafe so far, J_C of the rollout, the step's case and KL). Extra keyword arguments go to SB3's
    OnPolicyAlgorithm (e.g. use_sde=False)."""

    FIXED_KEYWORDS = ("learning_rate", "ent_coef", "vf_coef", "sde_sample_freq")

    def __init__(
        self, env: GymEnv, n_steps: int = 20_000, batch_size: int = 128, n_epochs: int = 10, gamma: float = 0.99,
        gae_lambda: float = 0.95, target_kl: float = 0.01, cg_iters: int = 15, cg_damping: float = 0.1,
        critic_lr: float = 1e-3, max_grad_norm: float = 40.0, **kwargs: Any,
    ) -> None:  # fmt: skip
        """The CPO settings above; the cost settings (cost_limit, cost_gamma, cost_gae_lambda, critic_norm_coef) and
        policy_kwargs go to `SafeOnPolicyMixin`, the rest to SB3's OnPolicyAlgorithm."""
        check_integers({"n_steps": (n_steps, 2), "batch_size": (batch_size, 2), "n_epochs": (n_epochs, 1),
                        "cg_iters": (cg_iters, 1)})  # fmt: skip
        check_number("target_kl", target_kl, 1e-12)
        check_number("cg_damping", cg_damping, 0.0)
        check_number("max_grad_norm", max_grad_norm, 1e-12)
        self.batch_size, self.n_epochs, self.target_kl = batch_size, n_epochs, float(target_kl)
        self.cg_iters, self.cg_damping = cg_iters, float(cg_damping)
        sb3_args = {"learning_rate": critic_lr, "n_steps": n_steps, "gamma": gamma, "gae_lambda": gae_lambda,
                    "ent_coef": 0.0, "vf_coef": 1.0, "max_grad_norm": max_grad_norm, "sde_sample_freq": -1,
                    "use_sde": kwargs.pop("use_sde", False)}  # fmt: skip
        super().__init__(env, critic_lr, sb3_args, **kwargs)

    def _setup_model(self) -> None:
        super()._setup_model()
        self.critic_optimizer = th.optim.Adam(self._critic_parameters(), lr=self.cost_lr, foreach=True)

    def _actor_parameters(self) -> list[th.nn.Parameter]:
        p = self.policy
        return [*p.mlp_extractor.policy_net.parameters(), *p.action_net.parameters(), p.log_std]

    def _critic_parameters(self) -> list[th.nn.Parameter]:
        p = self.policy
        return [*p.mlp_extractor.value_net.parameters(), *p.value_net.parameters()]

    def _get_torch_save_params(self) -> tuple[list[str], list[str]]:
        state_dicts, tensors = super()._get_torch_save_params()
        return [*state_dicts, "critic_optimizer"], tensors

    def _excluded_save_params(self) -> list[str]:
        return [*super()._excluded_save_params(), "critic_optimizer"]

    def train(self) -> None:
        """One CPO update (see the module docstring)."""
        self.policy.set_training_mode(True)
        episode_cost = self._prepare_costs()
        buffer = self.rollout_buffer
        lengths = self.episode_lengths[-100:]
        horizon = float(np.mean(lengths)) if lengths else float(self.n_steps)
        batch = next(buffer.get(None))  # the whole rollout as one (shuffled) batch
        adv_r = (batch.advantages - batch.advantages.mean()) / batch.advantages.std().clamp(min=1e-8)
        adv_c = batch.cost_advantages
        obs, actions, old_log_prob = batch.observations, batch.actions, batch.old_log_prob
        params = self._actor_parameters()
        with th.no_grad():
            old_dist = self.policy.get_distribution(obs).distribution

        def surrogates() -> tuple[th.Tensor, th.Tensor]:
            log_prob = self.policy.get_distribution(obs).log_prob(actions)
            ratio = th.exp(log_prob - old_log_prob)
            return (ratio * adv_r).mean(), horizon * (ratio * adv_c).mean()

        def mean_kl() -> th.Tensor:
            dist = self.policy.get_distribution(obs).distribution
            return th.distributions.kl_divergence(old_dist, dist).sum(-1).mean()

        def fisher(v: th.Tensor) -> th.Tensor:
            grads = th.autograd.grad(mean_kl(), params, create_graph=True)
            flat = th.cat([g.reshape(-1) for g in grads])
            hv = th.autograd.grad(th.dot(flat, v), params)
            return th.cat([h.reshape(-1) for h in hv]) + self.cg_damping * v

        reward_sur, cost_sur = surrogates()
        g = th.cat([t.reshape(-1) for t in th.autograd.grad(reward_sur, params, retain_graph=True)])
        b = th.cat([t.reshape(-1) for t in th.autograd.grad(cost_sur, params)])
        x = conjugate_gradient(fisher, g, self.cg_iters)
        y = conjugate_gradient(fisher, b, self.cg_iters)
        q, r, s = float(th.dot(g, x)), float(th.dot(g, y)), float(th.dot(b, y))
        c = episode_cost - self.cost_limit
        step, case = cpo_step(x.numpy(), y.numpy(), q, r, s, c, self.target_kl)
        kl, accepted = self._line_search(params, th.as_tensor(step, dtype=th.float32), case, c, surrogates, mean_kl,
                                         float(reward_sur.detach()), float(cost_sur.detach()))  # fmt: skip
        self._train_critics()
        self._n_updates += 1
        self.history[-1].update({"case": float(case), "kl": kl, "accepted": float(accepted)})
        for key, value in (("case", case), ("kl", kl), ("step_accepted", accepted), ("q", q), ("r", r), ("s", s)):
            self.logger.record(f"cpo/{key}", float(value))

    def _line_search(
        self, params, step, case, c, surrogates, mean_kl, reward_before, cost_before
    ) -> tuple[float, bool]:
        """Backtrack along `step` (see the module docstring, step 4); returns (KL of the kept step, accepted)."""
        start = parameters_to_vector(params).detach().clone()
        for j in range(LINE_SEARCH_STEPS):
            vector_to_parameters(start + (LINE_SEARCH_DECAY**j) * step, params)
            with th.no_grad():
                reward_sur, cost_sur = surrogates()
                kl = float(mean_kl())
            cost_change = float(cost_sur) - cost_before
            ok = np.isfinite(kl) and kl <= self.target_kl
            ok = ok and (cost_change <= 0 if case == 0 else cost_change <= max(0.0, -c))
            ok = ok and (case == 0 or float(reward_sur) >= reward_before)
            if ok:
                return kl, True
        vector_to_parameters(start, params)
        return 0.0, False

    def _train_critics(self) -> None:
        """Reward and cost critics on their returns (`n_epochs` epochs of minibatches)."""
        self._update_learning_rate(self.critic_optimizer)
        loss = th.zeros(())
        critic = th.nn.ModuleList([self.policy.mlp_extractor.value_net, self.policy.value_net])
        for _ in range(self.n_epochs):
            for batch in self.rollout_buffer.get(self.batch_size):
                values = self.policy.predict_values(batch.observations).flatten()
                loss = self._critic_loss(values, batch.returns, critic)
                self.critic_optimizer.zero_grad()
                loss.backward()
                th.nn.utils.clip_grad_norm_(self._critic_parameters(), self.max_grad_norm, foreach=True)
                self.critic_optimizer.step()
        self.logger.record("train/value_loss", float(loss.item()))
        self._train_cost_critic(self.n_epochs, self.batch_size)

"""PPO-Lagrangian (Ray, Achiam and Amodei, "Benchmarking Safe Exploration in Deep Reinforcement Learning"): PPO on
the Lagrangian of the constrained problem max_pi J_R(pi) s.t. J_C(pi) <= d, with the multiplier learned by gradient
ascent on lambda (J_C - d).

Each update (one rollout of `n_steps` steps per env):
1. J_C = the mean cost of the episodes finished in the rollout; lambda <- max(0, lambda - lambda_lr * Adam step of
   -lambda (J_C - d)) (the multiplier grows while the constraint is violated);
2. reward and cost advantages (GAE) are standardised over the rollout and combined,
   A = (A_R - lambda A_C) / (1 + lambda);
3. SB3's PPO update (clipped surrogate on A, value loss, KL early stop at `target_kl`);
4. the cost critic regresses the cost returns for as many epochs as the PPO update ran.
Defaults are OmniSafe's PPOLag defaults (Ji et al., "OmniSafe: An Infrastructure for Accelerating Safe Reinforcement
Learning Research"), except the initial multiplier 0.55 (Hammar, Alpcan and Lupu, "Causal Online Learning of Safe
Regions in Cloud Radio Access Networks", Appendix B): 20 000 steps per update, 40 epochs of minibatches of 64,
clip 0.2, target KL 0.02, lr 3e-4 (linearly decayed), gamma = cost_gamma = 0.99, lambda = cost lambda = 0.95,
gradient-norm clip 40, critic weight decay 1e-3, cost limit 25, lambda_lr 0.035, 64-64 tanh MLPs.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch as th
from stable_baselines3 import PPO
from stable_baselines3.common.type_aliases import GymEnv

from dogym.agents.safe_region.safe_rl.common import SafeOnPolicyMixin, check_integers, check_number, standardize


def linear_schedule(initial: float, decay: bool) -> Any:
    """A learning rate decaying linearly to 0 over the run (SB3's progress_remaining), or constant."""
    check_number("learning_rate", initial, 1e-12)
    return (lambda progress: initial * progress) if decay else initial


class Lagrange:
    """A Lagrange multiplier lambda >= 0 learned by Adam on the loss -lambda (J_C - cost_limit), projected to >= 0."""

    def __init__(self, init: float, lr: float, cost_limit: float) -> None:
        check_number("lagrangian_multiplier_init", init, 0.0)
        check_number("lambda_lr", lr, 1e-12)
        self.cost_limit = float(cost_limit)
        self.parameter = th.nn.Parameter(th.tensor(float(init)))
        self.optimizer = th.optim.Adam([self.parameter], lr=float(lr))

    @property
    def value(self) -> float:
        """The current multiplier."""
        return float(self.parameter.detach().clamp(min=0.0))

    def update(self, episode_cost: float) -> float:
        """One ascent step on lambda (J_C - cost_limit); returns the new multiplier."""
        self.optimizer.zero_grad()
        loss = -self.parameter * (float(episode_cost) - self.cost_limit)
        loss.backward()
        self.optimizer.step()
        with th.no_grad():
            self.parameter.clamp_(min=0.0)
        return self.value


class PPOLagrangian(SafeOnPolicyMixin, PPO):
    """PPO-Lagrangian on a Box-action env whose steps report `info["cost"]` (see the module docstring).

    `unsafe_steps` counts the sum of `info["cost"]` over every training step; `lagrange.value` is the multiplier;
    `history` has one row per update (timesteps, unsafe so far, J_C of the rollout). Extra keyword arguments go to
    SB3's PPO (e.g. ent_coef, vf_coef); advantages are standardised before the update, so PPO's per-minibatch
    normalisation is off.
    """

    FIXED_KEYWORDS = ("normalize_advantage",)

    def __init__(
        self, env: GymEnv, learning_rate: float = 3e-4, n_steps: int = 20_000, batch_size: int = 64, n_epochs: int = 40,
        gamma: float = 0.99, gae_lambda: float = 0.95, clip_range: float = 0.2, target_kl: float | None = 0.02,
        max_grad_norm: float = 40.0, lagrangian_multiplier_init: float = 0.55, lambda_lr: float = 0.035,
        linear_lr_decay: bool = True, **kwargs: Any,
    ) -> None:  # fmt: skip
        """The PPO and multiplier settings above; the cost settings (cost_limit, cost_gamma, cost_gae_lambda,
        critic_norm_coef) and policy_kwargs go to `SafeOnPolicyMixin`, the rest to SB3's PPO."""
        check_integers({"n_steps": (n_steps, 1), "batch_size": (batch_size, 2), "n_epochs": (n_epochs, 1)})
        check_number("clip_range", clip_range, 1e-12)
        if target_kl is not None:
            check_number("target_kl", target_kl, 1e-12)
        check_number("max_grad_norm", max_grad_norm, 1e-12)
        schedule = linear_schedule(learning_rate, linear_lr_decay)
        sb3_args = {"learning_rate": schedule, "n_steps": n_steps, "batch_size": batch_size, "n_epochs": n_epochs,
                    "gamma": gamma, "gae_lambda": gae_lambda, "clip_range": clip_range, "target_kl": target_kl,
                    "max_grad_norm": max_grad_norm, "normalize_advantage": False}  # fmt: skip
        super().__init__(env, learning_rate, sb3_args, **kwargs)
        self.lagrange = Lagrange(lagrangian_multiplier_init, lambda_lr, self.cost_limit)

    def train(self) -> None:
        """Multiplier step, combined advantages, SB3's PPO update, then the cost critic (see the module docstring)."""
        episode_cost = self._prepare_costs()
        lam = self.lagrange.update(episode_cost)
        buffer = self.rollout_buffer
        combined = (standardize(buffer.advantages) - lam * standardize(buffer.cost_advantages)) / (1.0 + lam)
        buffer.advantages[:] = combined.astype(np.float32)
        before = self._n_updates
        super().train()
        self._train_cost_critic(max(1, self._n_updates - before), self.batch_size)
        self.history[-1]["lagrange_multiplier"] = lam
        self.logger.record("safe/lagrange_multiplier", lam)

"""What PPO-Lagrangian and CPO share: a rollout buffer that also holds costs, a policy with a cost value head, and a
mixin that takes the cost settings, records `info["cost"]` during Stable-Baselines3's rollouts, counts unsafe steps
and fits the cost critic.

Constrained MDP (Altman, "Constrained Markov Decision Processes"): maximise the expected return subject to the
expected episode cost J_C = E[sum_t c_t] <= `cost_limit`, with c_t = `info["cost"]` of the step (1.0 when the step
violated the specification in the safe-region envs, the safety-gymnasium convention).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

import numpy as np
import torch as th
from gymnasium import spaces
from stable_baselines3.common.buffers import RolloutBuffer
from stable_baselines3.common.policies import ActorCriticPolicy
from stable_baselines3.common.type_aliases import GymEnv

#: The info key of the per-step cost.
COST_KEY = "cost"
#: OmniSafe's actor and critic networks: two hidden layers of 64 tanh units; PyTorch's default (kaiming-uniform)
#: initialisation, as OmniSafe's kaiming_uniform; a learned state-independent log-std. Adam runs its multi-tensor
#: ("foreach") implementation: the same update, fewer kernel launches (small networks spend most time in overhead).
DEFAULT_POLICY_KWARGS: dict[str, Any] = {"net_arch": {"pi": [64, 64], "vf": [64, 64]}, "activation_fn": th.nn.Tanh,
                                         "ortho_init": False, "log_std_init": -0.5,
                                         "optimizer_kwargs": {"foreach": True}}  # fmt: skip


class CostRolloutSamples(NamedTuple):
    """A minibatch: SB3's `RolloutBufferSamples` fields, then the cost fields (SB3's training loops read the first six
    by name)."""

    observations: th.Tensor
    actions: th.Tensor
    old_values: th.Tensor
    old_log_prob: th.Tensor
    advantages: th.Tensor
    returns: th.Tensor
    cost_values: th.Tensor
    cost_advantages: th.Tensor
    cost_returns: th.Tensor


def gae(
    rewards: np.ndarray,
    values: np.ndarray,
    episode_starts: np.ndarray,
    last_values: np.ndarray,
    last_dones: np.ndarray,
    gamma: float,
    lam: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Generalised advantage estimates and lambda-returns (Schulman et al., "High-Dimensional Continuous Control Using
    Generalized Advantage Estimation") of arrays [n_steps, n_envs]; `episode_starts[t]` marks that step t began an
    episode, `last_dones` that the step after the buffer does."""
    n_steps = len(rewards)
    advantages = np.zeros_like(rewards, dtype=np.float64)
    running = np.zeros(rewards.shape[1], dtype=np.float64)
    for t in reversed(range(n_steps)):
        if t == n_steps - 1:
            alive, next_values = 1.0 - last_dones.astype(np.float64), last_values
        else:
            alive, next_values = 1.0 - episode_starts[t + 1].astype(np.float64), values[t + 1]
        delta = rewards[t] + gamma * next_values * alive - values[t]
        running = delta + gamma * lam * alive * running
        advantages[t] = running
    return advantages, advantages + values


def standardize(x: np.ndarray) -> np.ndarray:
    """(x - mean) / std over every entry (std floored at 1e-8)."""
    return (x - x.mean()) / max(float(x.std()), 1e-8)


class CostRolloutBuffer(RolloutBuffer):
    """SB3's rollout buffer plus per-step costs, cost values, cost advantages and cost returns (GAE with
    `cost_gamma`, `cost_gae_lambda`)."""

    def __init__(self, *args: Any, cost_gamma: float = 0.99, cost_gae_lambda: float = 0.95, **kwargs: Any) -> None:
        self.cost_gamma, self.cost_gae_lambda = float(cost_gamma), float(cost_gae_lambda)
        super().__init__(*args, **kwargs)

    def reset(self) -> None:
        """Empty every array, the cost arrays included."""
        shape = (self.buffer_size, self.n_envs)
        self.costs = np.zeros(shape, dtype=np.float32)
        self.cost_values = np.zeros(shape, dtype=np.float32)
        self.cost_advantages = np.zeros(shape, dtype=np.float32)
        self.cost_returns = np.zeros(shape, dtype=np.float32)
        super().reset()

    def compute_cost_advantages(self, cost_values: np.ndarray, last_cost_values: np.ndarray, last_dones: np.ndarray):
        """Store the cost critic's values [n_steps, n_envs] and the cost GAE and returns of the filled buffer."""
        self.cost_values[:] = cost_values
        adv, ret = gae(self.costs, self.cost_values, self.episode_starts, last_cost_values, last_dones,
                       self.cost_gamma, self.cost_gae_lambda)  # fmt: skip
        self.cost_advantages[:], self.cost_returns[:] = adv, ret

    def get(self, batch_size: int | None = None) -> Iterator[CostRolloutSamples]:  # type: ignore[override]
        """Shuffled minibatches of `CostRolloutSamples` (the whole buffer when `batch_size` is None)."""
        if not self.generator_ready:
            for name in ("costs", "cost_values", "cost_advantages", "cost_returns"):
                self.__dict__[name] = self.swap_and_flatten(self.__dict__[name])
        yield from super().get(batch_size)

    def _get_samples(self, batch_inds: np.ndarray, env: Any = None) -> CostRolloutSamples:  # type: ignore[override]
        base = super()._get_samples(batch_inds, env)
        extra = (self.cost_values[batch_inds].flatten(), self.cost_advantages[batch_inds].flatten(),
                 self.cost_returns[batch_inds].flatten())  # fmt: skip
        return CostRolloutSamples(*base, *map(self.to_torch, extra))


class CostActorCriticPolicy(ActorCriticPolicy):
    """SB3's actor-critic MLP policy with a separate cost critic V_C (same hidden sizes as the value net); the cost
    critic is not in the policy's optimiser (`cost_optimizer` of the algorithm trains it)."""

    def _build(self, lr_schedule: Any) -> None:
        super()._build(lr_schedule)
        arch = self.net_arch["vf"] if isinstance(self.net_arch, dict) else list(self.net_arch)
        layers: list[th.nn.Module] = []
        width = self.features_dim
        for size in arch:
            layers += [th.nn.Linear(width, size), self.activation_fn()]
            width = size
        self.cost_value_net = th.nn.Sequential(*layers, th.nn.Linear(width, 1))

    def predict_cost_values(self, obs: th.Tensor) -> th.Tensor:
        """V_C(obs), shape [batch, 1]."""
        return self.cost_value_net(self.extract_features(obs))


class SafeOnPolicyMixin:
    """Cost settings and cost handling for a Stable-Baselines3 on-policy algorithm (put it first in the bases).

    Its constructor is the one both algorithms end in: it takes the cost settings every constrained algorithm shares
    (`cost_limit` d, the cost critic's discount `cost_gamma` and GAE `cost_gae_lambda`, its weight decay
    `critic_norm_coef`) and `policy_kwargs` (over `DEFAULT_POLICY_KWARGS`), refuses the SB3 keywords the algorithm
    fixes itself, and builds the SB3 base with `CostActorCriticPolicy` and the cost rollout buffer.

    During rollouts `_update_info_buffer` (SB3 calls it once per vectorised step, after `env.step` and before the
    step is added to the buffer) reads `info["cost"]` of every env into the buffer slot the step will fill, adds
    cost_gamma * V_C(terminal observation) on truncation (as SB3 does for rewards), and accumulates:
    `unsafe_steps` (the sum of `info["cost"]` over every training step: with 0/1 costs, the number of unsafe
    interventions), and the finished episodes' costs. `history` has one row per rollout.
    When `experience` is an int array [episode steps, cells, 2] (the caller sets it; None: off), every training step
    also counts its outcome there: experience[info["t"] - 1, info["cell"], 1 if the step was unsafe else 0] += 1, and
    `experience_history` keeps a copy after each rollout (the experience region of `dogym.agents.safe_region.safe_rl.family`).
    When `experience_log` is an int array [n, 3] (None: off), the first n training steps are also logged one by one,
    in the order they happened: (episode step - 1, cell, 1 if unsafe else 0); `experience_logged` counts them.
    """

    rollout_buffer: CostRolloutBuffer
    policy: CostActorCriticPolicy
    #: Keywords of the SB3 base class that the algorithm sets itself: not hyper-parameters (`refuse_fixed`).
    FIXED_KEYWORDS: tuple[str, ...] = ()

    def __init__(
        self, env: GymEnv, cost_lr: float, sb3_args: dict[str, Any], /, *, cost_limit: float = 25.0,
        cost_gamma: float = 0.99, cost_gae_lambda: float = 0.95, critic_norm_coef: float = 0.001,
        policy_kwargs: dict[str, Any] | None = None, **kwargs: Any,
    ) -> None:  # fmt: skip
        """`cost_lr`: the cost critic's learning rate; `sb3_args`: the SB3 arguments the algorithm sets from its own
        (with the `FIXED_KEYWORDS`, which `kwargs` may not set); `kwargs`: the user's extra SB3 arguments (seed,
        verbose, ...). The model is set up last, once every attribute is in place."""
        refused = sorted(set(kwargs) & set(self.FIXED_KEYWORDS))
        if refused:
            raise ValueError(f"{type(self).__name__} sets {refused} itself; they are not options (fixed: "
                             f"{self.FIXED_KEYWORDS})")  # fmt: skip
        safe = self._init_safe(cost_limit, cost_gamma, cost_gae_lambda, cost_lr, critic_norm_coef)
        setup, options = sb3_options(kwargs)
        super().__init__(CostActorCriticPolicy, env, policy_kwargs={**DEFAULT_POLICY_KWARGS, **(policy_kwargs or {})},
                         **sb3_args, **options, **safe)  # type: ignore[call-arg]  # fmt: skip
        if setup:
            self._setup_model()

    def _init_safe(self, cost_limit: float, cost_gamma: float, cost_gae_lambda: float, cost_lr: float,
                   critic_norm_coef: float) -> dict[str, Any]:  # fmt: skip
        """Validate and keep the cost settings; return the SB3 constructor arguments they imply."""
        checks = {"cost_limit": (cost_limit, 0.0, None), "cost_gamma": (cost_gamma, 0.0, 1.0),
                  "cost_gae_lambda": (cost_gae_lambda, 0.0, 1.0), "cost_lr": (cost_lr, 1e-12, None),
                  "critic_norm_coef": (critic_norm_coef, 0.0, None)}  # fmt: skip
        for name, (value, low, high) in checks.items():
            check_number(name, value, low, high)
        self.cost_limit, self.cost_lr, self.critic_norm_coef = (
            float(cost_limit),
            float(cost_lr),
            float(critic_norm_coef),
        )
        self.unsafe_steps = 0.0
        self.episode_costs: list[float] = []
        self.episode_lengths: list[int] = []
        self.history: list[dict[str, float]] = []
        self._running_cost: np.ndarray | None = None
        self._running_length: np.ndarray | None = None
        self._rollout_costs: list[float] = []
        self.experience: np.ndarray | None = None
        self.experience_history: list[np.ndarray] = []
        self.experience_log: np.ndarray | None = None
        self.experience_logged = 0
        return {
            "rollout_buffer_class": CostRolloutBuffer,
            "rollout_buffer_kwargs": {"cost_gamma": float(cost_gamma), "cost_gae_lambda": float(cost_gae_lambda)},
        }

    def _setup_model(self) -> None:
        """SB3's model setup, then a Box action space check and the cost critic's optimiser (Adam, `cost_lr`)."""
        super()._setup_model()  # type: ignore[misc]
        box_check(self.action_space, type(self).__name__)
        self.cost_optimizer = th.optim.Adam(self.policy.cost_value_net.parameters(), lr=self.cost_lr, foreach=True)

    def _update_info_buffer(self, infos: list[dict[str, Any]], dones: np.ndarray | None = None) -> None:
        super()._update_info_buffer(infos, dones)  # type: ignore[misc]
        if dones is None:
            return
        n = len(infos)
        if self._running_cost is None:
            self._running_cost, self._running_length = np.zeros(n), np.zeros(n, dtype=int)
        try:
            costs = np.array([float(info[COST_KEY]) for info in infos])
        except KeyError as err:
            raise KeyError(f"{type(self).__name__} needs info['{COST_KEY}'] from every env step") from err
        self.unsafe_steps += float(costs.sum())
        self._running_cost += costs
        self._running_length += 1
        if self.experience is not None:
            last = len(self.experience)
            log = self.experience_log
            for info, cost in zip(infos, costs, strict=True):
                entry = (min(int(info["t"]), last) - 1, int(info["cell"]), int(cost > 0))
                self.experience[entry] += 1
                if log is not None and self.experience_logged < len(log):
                    log[self.experience_logged] = entry
                    self.experience_logged += 1
        stored = costs.copy()
        for i, done in enumerate(dones):
            if not done:
                continue
            self.episode_costs.append(float(self._running_cost[i]))
            self.episode_lengths.append(int(self._running_length[i]))
            self._rollout_costs.append(float(self._running_cost[i]))
            self._running_cost[i], self._running_length[i] = 0.0, 0
            terminal = infos[i].get("terminal_observation")
            if terminal is not None and infos[i].get("TimeLimit.truncated", False):
                with th.no_grad():
                    obs = self.policy.obs_to_tensor(terminal)[0]
                    stored[i] += self.rollout_buffer.cost_gamma * float(self.policy.predict_cost_values(obs)[0, 0])
        self.rollout_buffer.costs[self.rollout_buffer.pos] = stored

    def _prepare_costs(self) -> float:
        """Cost values and cost GAE of the filled buffer; returns J_C, the mean cost of the episodes that finished
        during the rollout (the last known value, or 0, when none did). Appends a `history` row."""
        buffer = self.rollout_buffer
        with th.no_grad():
            obs = th.as_tensor(buffer.observations.reshape(-1, *buffer.obs_shape), device=self.device)
            values = self.policy.predict_cost_values(obs).cpu().numpy().reshape(buffer.buffer_size, buffer.n_envs)
            last = self.policy.predict_cost_values(self.policy.obs_to_tensor(self._last_obs)[0]).cpu().numpy()
        buffer.compute_cost_advantages(values, last.reshape(-1), np.asarray(self._last_episode_starts))
        if self._rollout_costs:
            self._episode_cost = float(np.mean(self._rollout_costs))
        episode_cost = getattr(self, "_episode_cost", 0.0)
        before = self.history[-1]["unsafe"] if self.history else 0.0
        self.history.append({"timesteps": float(self.num_timesteps), "unsafe": self.unsafe_steps,
                             "episode_cost": episode_cost, "episodes": float(len(self.episode_costs)),
                             "step_cost": (self.unsafe_steps - before) / buffer.costs.size})  # fmt: skip
        self._rollout_costs = []
        if self.experience is not None:
            self.experience_history.append(self.experience.copy())
        self.logger.record("safe/episode_cost", episode_cost)
        self.logger.record("safe/unsafe_steps", self.unsafe_steps)
        return episode_cost

    def _critic_loss(self, prediction: th.Tensor, target: th.Tensor, net: th.nn.Module) -> th.Tensor:
        """Mean squared error plus critic_norm_coef times the squared weights of `net`."""
        penalty = sum((p**2).sum() for name, p in net.named_parameters() if name.endswith("weight"))
        return th.nn.functional.mse_loss(prediction, target) + self.critic_norm_coef * penalty

    def _train_cost_critic(self, epochs: int, batch_size: int) -> float:
        """Regress V_C on the cost returns: `epochs` passes of shuffled minibatches; returns the last loss."""
        loss = th.zeros(())
        for _ in range(epochs):
            for batch in self.rollout_buffer.get(batch_size):
                prediction = self.policy.predict_cost_values(batch.observations).flatten()
                loss = self._critic_loss(prediction, batch.cost_returns, self.policy.cost_value_net)
                self.cost_optimizer.zero_grad()
                loss.backward()
                th.nn.utils.clip_grad_norm_(self.policy.cost_value_net.parameters(), self.max_grad_norm, foreach=True)
                self.cost_optimizer.step()
        self.logger.record("safe/cost_value_loss", float(loss.item()))
        return float(loss.item())

    def _get_torch_save_params(self) -> tuple[list[str], list[str]]:
        state_dicts, tensors = super()._get_torch_save_params()  # type: ignore[misc]
        return [*state_dicts, "cost_optimizer"], tensors

    def _excluded_save_params(self) -> list[str]:
        # The experience counts go to their own file (the family's experience.npz), not into every model.zip.
        return [
            *super()._excluded_save_params(),
            "cost_optimizer",
            "experience",
            "experience_history",
            "experience_log",
        ]  # type: ignore[misc]


def check_number(name: str, value: Any, low: float | None = None, high: float | None = None) -> None:
    """Raise ValueError unless `value` is a finite real number in [low, high] (None: unbounded)."""
    ok = isinstance(value, int | float) and not isinstance(value, bool) and np.isfinite(value)
    if not ok or (low is not None and value < low) or (high is not None and value > high):
        bounds = f"[{'-inf' if low is None else low}, {'inf' if high is None else high}]"
        raise ValueError(f"{name} must be a finite number in {bounds}, got {value!r}")


def check_integers(minimums: dict[str, tuple[Any, int]]) -> None:
    """Raise ValueError unless every value of {name: (value, minimum)} is an integer >= its minimum."""
    for name, (value, low) in minimums.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")


def sb3_options(kwargs: dict[str, Any]) -> tuple[bool, dict[str, Any]]:
    """(whether to set the model up at once, the keyword arguments for SB3's constructor): `kwargs` (seed, verbose,
    ...) with the CPU as the default device and the model setup deferred to the subclass. The policy class SB3's
    `load` passes is dropped: the algorithms always use `CostActorCriticPolicy`."""
    kwargs.pop("policy", None)
    setup = bool(kwargs.pop("_init_setup_model", True))
    return setup, {"device": "cpu", **kwargs, "_init_setup_model": False}


def box_check(space: spaces.Space, name: str) -> None:
    """Raise ValueError unless `space` is a Box (the algorithms use Gaussian policies)."""
    if not isinstance(space, spaces.Box):
        raise ValueError(f"{name} needs a Box action space (Gaussian policy), got {space}")

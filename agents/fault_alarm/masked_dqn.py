"""Masked DQN and masked D3QN (dueling + double DQN) as Stable-Baselines3 algorithms with sb3-contrib action masks.

Masks flow the sb3-contrib way and from nowhere else:

- acting: ``sb3_contrib.common.maskable.utils.get_action_masks(env)`` on the training VecEnv (each env's, or its
  wrapper's, ``action_masks()``) for the state being acted in, and the ``action_masks`` argument of ``predict`` at
  inference (``MaskableEvalCallback`` and sb3-contrib's ``evaluate_policy`` pass it);
- learning: ``info["action_mask"]`` of each transition is the mask of the state the step returned; the replay buffer
  stores it beside the transition and the TD target maximises over those next-state actions only.

A mask row with no valid action is treated as all-valid (in acting and in targets), so a terminal state with no
active alarm can never produce NaN targets or an error; terminal transitions do not bootstrap anyway.

Choices (Table 4 of Cai et al. where it gives one): lr 3e-4, buffer 100 000, batch 64, gamma 0.99, 2 x 128 ReLU MLP,
one gradient step every 5 env steps, 512 warm-up steps of uniformly random *valid* actions, then epsilon-greedy with a
constant epsilon of 0.1, drawn per env (pass exploration_initial_eps=1.0 for SB3's linear decay instead); both the
greedy and the exploratory action are restricted to the mask. The target network is hard-copied every 500 env steps
(the paper gives no interval). As in SB3, ``train_freq`` counts VecEnv steps, so with n_envs envs one gradient step
follows every 5 * n_envs transitions. The dueling network shares the 2 x 128 trunk and puts two linear heads on it,
Q = V + A - mean(A) with the mean over ALL actions; the mask is applied AFTER that combination, as the spec says, so
masking never changes the Q-value of a valid action.
"""

from __future__ import annotations

from typing import Any, ClassVar, NamedTuple, TypeVar

import numpy as np
import torch as th
from gymnasium import spaces
from sb3_contrib.common.maskable.utils import get_action_masks
from stable_baselines3 import DQN
from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.common.noise import ActionNoise
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor, FlattenExtractor, create_mlp
from stable_baselines3.common.type_aliases import GymEnv, MaybeCallback, PyTorchObs, Schedule
from stable_baselines3.common.vec_env import VecNormalize
from stable_baselines3.dqn.policies import DQNPolicy, QNetwork
from torch import nn
from torch.nn import functional as F

#: info key holding the mask of the state a step returned (written by the env or a mask wrapper).
MASK_INFO_KEY = "action_mask"
#: defaults from Table 4 of Cai et al. (policy network: 2 hidden layers of 128 units).
DEFAULT_NET_ARCH = (128, 128)
FLOAT16_MAX = float(np.finfo(np.float16).max)

SelfMaskedDQN = TypeVar("SelfMaskedDQN", bound="MaskedDQN")
#: SB3's `predict` arguments: an observation (or a dict of them) and a recurrent state (None for these policies).
Observation = np.ndarray | dict[str, np.ndarray]
RecurrentState = tuple[np.ndarray, ...] | None


# Mask helpers -----------------------------------------------------------------------------------------------------


def apply_action_mask(q_values: th.Tensor, action_masks: th.Tensor | np.ndarray | None) -> th.Tensor:
    """Q-values with the invalid actions at -inf (rows with no valid action, and a None mask, stay unmasked)."""
    if action_masks is None:
        return q_values
    masks = th.as_tensor(action_masks, device=q_values.device).to(th.bool).reshape(q_values.shape)
    masks = masks | ~masks.any(dim=1, keepdim=True)
    return q_values.masked_fill(~masks, -th.inf)


def sample_valid_actions(action_masks: np.ndarray) -> np.ndarray:
    """One uniformly random valid action per mask row (any action for a row with none), from NumPy's global RNG.

    The global RNG is the one SB3's ``set_random_seed`` seeds, so runs with a fixed ``seed`` repeat.
    """
    masks = np.atleast_2d(np.asarray(action_masks, dtype=bool))
    masks = masks | ~masks.any(axis=1, keepdims=True)
    keys = np.random.random_sample(masks.shape)
    keys[~masks] = -1.0
    return keys.argmax(axis=1)


def masked_td_targets(
    rewards: th.Tensor,
    dones: th.Tensor,
    next_q_target: th.Tensor,
    next_action_masks: th.Tensor,
    gamma: float | th.Tensor,
    next_q_online: th.Tensor | None = None,
) -> th.Tensor:
    """One-step TD targets r + gamma (1 - done) Q_target(s', a*), a* the best VALID next action.

    a* maximises the target net's Q (DQN) or, when ``next_q_online`` is given, the online net's Q (double DQN,
    evaluated by the target net). Shapes: rewards and dones (batch, 1), Q-values and masks (batch, n_actions).
    """
    if next_q_online is None:
        next_values = apply_action_mask(next_q_target, next_action_masks).max(dim=1, keepdim=True).values
    else:
        best = apply_action_mask(next_q_online, next_action_masks).argmax(dim=1, keepdim=True)
        next_values = next_q_target.gather(1, best)
    return rewards + (1.0 - dones) * gamma * next_values


# Networks ---------------------------------------------------------------------------------------------------------


class DuelingHead(nn.Module):
    """Dueling Q-head on a shared MLP trunk: Q(s, a) = V(s) + A(s, a) - mean over all actions of A(s, .)."""

    def __init__(self, features_dim: int, n_actions: int, net_arch: list[int], activation_fn: type[nn.Module]) -> None:
        super().__init__()
        self.trunk = nn.Sequential(*create_mlp(features_dim, 0, net_arch, activation_fn))
        latent_dim = net_arch[-1] if net_arch else features_dim
        self.value = nn.Linear(latent_dim, 1)
        self.advantage = nn.Linear(latent_dim, n_actions)

    def value_and_advantage(self, features: th.Tensor) -> tuple[th.Tensor, th.Tensor]:
        """V(s) of shape (batch, 1) and A(s, .) of shape (batch, n_actions)."""
        latent = self.trunk(features)
        return self.value(latent), self.advantage(latent)

    def forward(self, features: th.Tensor) -> th.Tensor:
        """Unmasked Q-values (batch, n_actions)."""
        value, advantage = self.value_and_advantage(features)
        return value + advantage - advantage.mean(dim=1, keepdim=True)


class MaskedQNetwork(QNetwork):
    """SB3's Q-network with an optional dueling head and mask-aware greedy action selection."""

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Discrete,
        features_extractor: BaseFeaturesExtractor,
        features_dim: int,
        net_arch: list[int] | None = None,
        activation_fn: type[nn.Module] = nn.ReLU,
        normalize_images: bool = True,
        dueling: bool = False,
    ) -> None:
        super().__init__(
            observation_space, action_space, features_extractor, features_dim, net_arch, activation_fn, normalize_images
        )
        self.dueling = dueling
        if dueling:  # replaces the plain MLP the parent built
            self.q_net = DuelingHead(self.features_dim, int(action_space.n), self.net_arch, self.activation_fn)

    def masked_q_values(self, obs: PyTorchObs, action_masks: th.Tensor | np.ndarray | None = None) -> th.Tensor:
        """Q-values (the dueling combination first, when dueling) with invalid actions at -inf."""
        return apply_action_mask(self(obs), action_masks)

    def _predict(
        self, observation: PyTorchObs, deterministic: bool = True, action_masks: th.Tensor | None = None
    ) -> th.Tensor:
        return self.masked_q_values(observation, action_masks).argmax(dim=1).reshape(-1)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        return {**super()._get_constructor_parameters(), "dueling": self.dueling}


class MaskedDQNPolicy(DQNPolicy):
    """DQN policy (online + target Q-networks) whose ``predict`` takes sb3-contrib style ``action_masks``."""

    q_net: MaskedQNetwork
    q_net_target: MaskedQNetwork

    def __init__(
        self,
        observation_space: spaces.Space,
        action_space: spaces.Discrete,
        lr_schedule: Schedule,
        net_arch: list[int] | None = None,
        activation_fn: type[nn.Module] = nn.ReLU,
        features_extractor_class: type[BaseFeaturesExtractor] = FlattenExtractor,
        features_extractor_kwargs: dict[str, Any] | None = None,
        normalize_images: bool = True,
        optimizer_class: type[th.optim.Optimizer] = th.optim.Adam,
        optimizer_kwargs: dict[str, Any] | None = None,
        dueling: bool = False,
    ) -> None:
        self.dueling = dueling  # read by make_q_net, which the parent's constructor calls
        super().__init__(
            observation_space,
            action_space,
            lr_schedule,
            list(DEFAULT_NET_ARCH) if net_arch is None else net_arch,
            activation_fn,
            features_extractor_class,
            features_extractor_kwargs,
            normalize_images,
            optimizer_class,
            optimizer_kwargs,
        )

    def make_q_net(self) -> MaskedQNetwork:
        """A fresh Q-network with its own features extractor."""
        net_args = self._update_features_extractor(self.net_args, features_extractor=None)
        return MaskedQNetwork(**net_args, dueling=self.dueling).to(self.device)

    def _predict(self, obs: PyTorchObs, deterministic: bool = True, action_masks: th.Tensor | None = None) -> th.Tensor:
        return self.q_net._predict(obs, deterministic=deterministic, action_masks=action_masks)

    def predict(self, observation: Observation, state: RecurrentState = None, episode_start: np.ndarray | None = None,
                deterministic: bool = True, action_masks: np.ndarray | None = None) -> tuple[np.ndarray, RecurrentState]:  # fmt: skip
        """Greedy action(s) among the valid ones; ``action_masks`` is (n_actions,) or (n_envs, n_actions)."""
        self.set_training_mode(False)
        obs_tensor, vectorized_env = self.obs_to_tensor(observation)
        masks = None if action_masks is None else th.as_tensor(np.asarray(action_masks, dtype=bool), device=self.device)
        with th.no_grad():
            actions = self._predict(obs_tensor, deterministic=deterministic, action_masks=masks)
        actions_np = actions.cpu().numpy().reshape((-1, *self.action_space.shape))
        if not vectorized_env:
            actions_np = actions_np.squeeze(axis=0)
        return actions_np, state

    def _get_constructor_parameters(self) -> dict[str, Any]:
        return {**super()._get_constructor_parameters(), "dueling": self.dueling}


# Replay buffer ----------------------------------------------------------------------------------------------------


class MaskedReplayBufferSamples(NamedTuple):
    """A replay batch with the mask of each next state."""

    observations: th.Tensor
    actions: th.Tensor
    next_observations: th.Tensor
    dones: th.Tensor
    rewards: th.Tensor
    next_action_masks: th.Tensor


def storage_dtype(observation_space: spaces.Space, requested: str | np.dtype | type | None = "auto") -> np.dtype:
    """The dtype observations are kept in: "auto" is float16 for a float Box whose bounds fit float16, else its own.

    float16 keeps small counts exactly and fractions to ~3 significant digits, and halves the memory of the
    paper-scale buffer (1e5 x 1800 observations, twice: 0.72 GB instead of 1.44 GB).
    """
    own = np.dtype(observation_space.dtype)
    if requested is None:
        return own
    if isinstance(requested, str) and requested == "auto":
        fits = (
            isinstance(observation_space, spaces.Box)
            and own.kind == "f"
            and bool(np.all(np.isfinite(observation_space.low)) and np.all(np.isfinite(observation_space.high)))
            and float(max(np.abs(observation_space.low).max(), np.abs(observation_space.high).max())) <= FLOAT16_MAX
        )
        return np.dtype(np.float16) if fits else own
    return np.dtype(requested)


class MaskedReplayBuffer(ReplayBuffer):
    """Bounded FIFO replay buffer that also keeps the next state's action mask (from ``info["action_mask"]``).

    Observations are stored in ``obs_dtype`` (see :func:`storage_dtype`) and returned in the observation space's
    dtype. ``optimize_memory_usage`` is not supported (SB3's variant cannot handle time-limit truncation).
    """

    next_action_masks: np.ndarray

    def __init__(
        self,
        buffer_size: int,
        observation_space: spaces.Space,
        action_space: spaces.Space,
        device: th.device | str = "auto",
        n_envs: int = 1,
        optimize_memory_usage: bool = False,
        handle_timeout_termination: bool = True,
        obs_dtype: str | np.dtype | type | None = "auto",
    ) -> None:
        if optimize_memory_usage:
            raise ValueError("MaskedReplayBuffer does not support optimize_memory_usage=True")
        if not isinstance(action_space, spaces.Discrete):
            raise TypeError(f"MaskedReplayBuffer needs a Discrete action space, got {action_space}")
        if isinstance(observation_space, spaces.Dict):
            raise TypeError("MaskedReplayBuffer does not support Dict observation spaces")
        super().__init__(
            buffer_size,
            observation_space,
            action_space,
            device=device,
            n_envs=n_envs,
            handle_timeout_termination=handle_timeout_termination,
        )
        self.obs_dtype = storage_dtype(observation_space, obs_dtype)
        self.n_actions = int(action_space.n)
        shape = (self.buffer_size, self.n_envs, *self.obs_shape)
        self.observations = np.zeros(shape, dtype=self.obs_dtype)
        self.next_observations = np.zeros(shape, dtype=self.obs_dtype)
        self.next_action_masks = np.zeros((self.buffer_size, self.n_envs, self.n_actions), dtype=bool)

    def add(
        self,
        obs: np.ndarray,
        next_obs: np.ndarray,
        action: np.ndarray,
        reward: np.ndarray,
        done: np.ndarray,
        infos: list[dict[str, Any]],
    ) -> None:
        """Store one transition per env; each ``infos[i]`` must carry the next state's ``action_mask``."""
        masks = np.stack([self._next_mask(info) for info in infos])
        pos = self.pos
        super().add(obs, next_obs, action, reward, done, infos)
        self.next_action_masks[pos] = masks

    def _next_mask(self, info: dict[str, Any]) -> np.ndarray:
        if MASK_INFO_KEY not in info:
            raise KeyError(
                f"info has no {MASK_INFO_KEY!r}: masked DQN needs the env (or a mask wrapper) to put the mask of the "
                "state each step returns into info"
            )
        mask = np.asarray(info[MASK_INFO_KEY], dtype=bool).reshape(-1)
        if mask.shape != (self.n_actions,):
            raise ValueError(f"info[{MASK_INFO_KEY!r}] has {mask.size} entries, expected {self.n_actions}")
        return mask

    def _get_samples(self, batch_inds: np.ndarray, env: VecNormalize | None = None) -> MaskedReplayBufferSamples:
        env_inds = np.random.randint(0, high=self.n_envs, size=(len(batch_inds),))
        dtype = self.observation_space.dtype

        def observations(store: np.ndarray) -> th.Tensor:
            return self.to_torch(self._normalize_obs(store[batch_inds, env_inds].astype(dtype), env))

        not_timeout = 1.0 - self.timeouts[batch_inds, env_inds]
        return MaskedReplayBufferSamples(
            observations=observations(self.observations),
            actions=self.to_torch(self.actions[batch_inds, env_inds]),
            next_observations=observations(self.next_observations),
            dones=self.to_torch((self.dones[batch_inds, env_inds] * not_timeout).reshape(-1, 1)),
            rewards=self.to_torch(self._normalize_reward(self.rewards[batch_inds, env_inds].reshape(-1, 1), env)),
            next_action_masks=self.to_torch(self.next_action_masks[batch_inds, env_inds]),
        )


# Algorithms -------------------------------------------------------------------------------------------------------


class MaskedDQN(DQN):
    """DQN restricted to valid actions, optionally dueling and/or double (see the module docstring).

    Acting needs ``action_masks()`` on the env (or a wrapper such as sb3-contrib's ``ActionMasker``), learning needs
    ``info["action_mask"]``. Everything else is SB3's DQN: callbacks, logger, save/load, replay-buffer save/load,
    resumed ``learn``, progress bar and any number of envs in a VecEnv.
    """

    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = {"MlpPolicy": MaskedDQNPolicy}
    policy: MaskedDQNPolicy
    q_net: MaskedQNetwork
    q_net_target: MaskedQNetwork
    replay_buffer: MaskedReplayBuffer

    def __init__(
        self, policy: str | type[MaskedDQNPolicy], env: GymEnv | str, learning_rate: float | Schedule = 3e-4,
        buffer_size: int = 100_000, learning_starts: int = 512, batch_size: int = 64, tau: float = 1.0,
        gamma: float = 0.99, train_freq: int | tuple[int, str] = 5, gradient_steps: int = 1,
        replay_buffer_class: type[MaskedReplayBuffer] | None = None, replay_buffer_kwargs: dict[str, Any] | None = None,
        target_update_interval: int = 500, exploration_fraction: float = 0.1, exploration_initial_eps: float = 0.1,
        exploration_final_eps: float = 0.1, max_grad_norm: float = 10.0, stats_window_size: int = 100,
        tensorboard_log: str | None = None, policy_kwargs: dict[str, Any] | None = None, verbose: int = 0,
        seed: int | None = None, device: th.device | str = "auto", dueling: bool = False, double: bool = False,
        _init_setup_model: bool = True,
    ) -> None:  # fmt: skip
        policy_kwargs = dict(policy_kwargs or {})
        if policy_kwargs.setdefault("dueling", dueling) != dueling:
            raise ValueError(f"policy_kwargs['dueling']={policy_kwargs['dueling']} contradicts dueling={dueling}")
        self.dueling = dueling
        self.double = double
        super().__init__(
            policy,
            env,
            learning_rate=learning_rate,
            buffer_size=buffer_size,
            learning_starts=learning_starts,
            batch_size=batch_size,
            tau=tau,
            gamma=gamma,
            train_freq=train_freq,
            gradient_steps=gradient_steps,
            replay_buffer_class=replay_buffer_class or MaskedReplayBuffer,
            replay_buffer_kwargs=replay_buffer_kwargs,
            target_update_interval=target_update_interval,
            exploration_fraction=exploration_fraction,
            exploration_initial_eps=exploration_initial_eps,
            exploration_final_eps=exploration_final_eps,
            max_grad_norm=max_grad_norm,
            stats_window_size=stats_window_size,
            tensorboard_log=tensorboard_log,
            policy_kwargs=policy_kwargs,
            verbose=verbose,
            seed=seed,
            device=device,
            _init_setup_model=_init_setup_model,
        )

    def _setup_model(self) -> None:
        if self.replay_buffer_class is None or not issubclass(self.replay_buffer_class, MaskedReplayBuffer):
            raise TypeError(f"replay_buffer_class must subclass MaskedReplayBuffer, got {self.replay_buffer_class}")
        if not issubclass(self.policy_class, MaskedDQNPolicy):
            raise TypeError(f"policy must be MaskedDQNPolicy or a subclass, got {self.policy_class}")
        super()._setup_model()

    def predict(self, observation: Observation, state: RecurrentState = None, episode_start: np.ndarray | None = None,
                deterministic: bool = True, action_masks: np.ndarray | None = None) -> tuple[np.ndarray, RecurrentState]:  # fmt: skip
        """Action(s) for observation(s): greedy among the valid actions, or epsilon-greedy if not deterministic.

        With ``deterministic=False`` each env independently takes, with probability ``exploration_rate``, a uniformly
        random valid action. ``action_masks`` (n_actions,) or (n_envs, n_actions), True = valid; None = all valid.
        """
        actions, state = self.policy.predict(observation, state, episode_start, deterministic, action_masks)
        if deterministic or self.exploration_rate <= 0.0:
            return actions, state
        flat = np.atleast_1d(actions).copy()
        explore = np.random.random_sample(flat.shape[0]) < self.exploration_rate
        if explore.any():
            masks = np.ones((flat.shape[0], self.action_space.n), dtype=bool)
            if action_masks is not None:
                masks = np.asarray(action_masks, dtype=bool).reshape(masks.shape)
            flat[explore] = sample_valid_actions(masks[explore])
        return flat.reshape(np.shape(actions)), state

    def _sample_action(
        self, learning_starts: int, action_noise: ActionNoise | None = None, n_envs: int = 1
    ) -> tuple[np.ndarray, np.ndarray]:
        """Random valid actions during warm-up, epsilon-greedy valid actions after; masks come from the env."""
        assert self.env is not None and self._last_obs is not None
        masks = get_action_masks(self.env)
        if self.num_timesteps < learning_starts:
            actions = sample_valid_actions(masks)
        else:
            actions, _ = self.predict(self._last_obs, deterministic=False, action_masks=masks)
        return actions, actions

    def td_targets(self, replay_data: MaskedReplayBufferSamples) -> th.Tensor:
        """TD targets of a replay batch: masked next-state max (DQN) or masked double-DQN evaluation."""
        with th.no_grad():
            next_q_target = self.q_net_target(replay_data.next_observations)
            next_q_online = self.q_net(replay_data.next_observations) if self.double else None
            return masked_td_targets(
                replay_data.rewards,
                replay_data.dones,
                next_q_target,
                replay_data.next_action_masks,
                self.gamma,
                next_q_online,
            )

    def train(self, gradient_steps: int, batch_size: int = 100) -> None:
        """Gradient steps on the Huber loss between Q(s, a) and the masked TD targets."""
        self.policy.set_training_mode(True)
        self._update_learning_rate(self.policy.optimizer)
        losses, q_means = [], []
        for _ in range(gradient_steps):
            replay_data = self.replay_buffer.sample(batch_size, env=self._vec_normalize_env)
            targets = self.td_targets(replay_data)
            q_taken = th.gather(self.q_net(replay_data.observations), dim=1, index=replay_data.actions.long())
            loss = F.smooth_l1_loss(q_taken, targets)
            self.policy.optimizer.zero_grad()
            loss.backward()
            th.nn.utils.clip_grad_norm_(self.policy.parameters(), self.max_grad_norm)
            self.policy.optimizer.step()
            losses.append(loss.item())
            q_means.append(q_taken.mean().item())
        self._n_updates += gradient_steps
        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        self.logger.record("train/loss", float(np.mean(losses)))
        self.logger.record("train/q_taken_mean", float(np.mean(q_means)))

    def learn(
        self: SelfMaskedDQN,
        total_timesteps: int,
        callback: MaybeCallback = None,
        log_interval: int = 4,
        tb_log_name: str | None = None,
        reset_num_timesteps: bool = True,
        progress_bar: bool = False,
    ) -> SelfMaskedDQN:
        """SB3's ``learn``; the TensorBoard run is named after the class unless ``tb_log_name`` is given."""
        return super().learn(
            total_timesteps,
            callback=callback,
            log_interval=log_interval,
            tb_log_name=tb_log_name or type(self).__name__,
            reset_num_timesteps=reset_num_timesteps,
            progress_bar=progress_bar,
        )


class MaskedD3QN(MaskedDQN):
    """Masked dueling double DQN: ``MaskedDQN`` with ``dueling=True`` and ``double=True``."""

    def __init__(self, policy: str | type[MaskedDQNPolicy], env: GymEnv | str, **kwargs: Any) -> None:
        super().__init__(policy, env, dueling=True, double=True, **kwargs)

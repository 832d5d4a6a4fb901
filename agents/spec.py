"""`AgentSpec`: one registered agent (its own module, so the families' spec lists import it without importing the
registry that collects them); and the declarations of every hyper-parameter's allowed values (`HYPERPARAMETER_RULES`,
one line per key: type, range, finite), checked by `check_value` before any run starts."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HYPERPARAMS_DIR = Path(__file__).resolve().parent / "hyperparams"


@dataclass(frozen=True)
class AgentSpec:
    """A named agent: its family, a one-line description, the env ids it supports (the first is its default env)
    and fixed options its family reads (e.g. which algorithm). `hyperparams` is the YAML file of its defaults
    (default: `hyperparams/<name>.yml`); agents that share a file differ by their `variant`, the values that update
    the file's `default` entry for this agent (env entries and overrides still win)."""

    name: str
    family: str
    description: str
    envs: tuple[str, ...]
    options: Mapping[str, Any] = field(default_factory=dict)
    hyperparams: Path | None = None
    variant: Mapping[str, Any] = field(default_factory=dict)

    @property
    def default_env(self) -> str:
        """The env this agent runs on when none is given."""
        return self.envs[0]

    @property
    def hyperparams_file(self) -> Path:
        """The YAML file of this agent's default hyper-parameters."""
        return self.hyperparams or HYPERPARAMS_DIR / f"{self.name}.yml"


@dataclass(frozen=True)
class PolicySpec:
    """A reference (no-learning) policy for `train.py evaluate --agent`: its name, a one-line description, its factory
    (a "module:attribute" entry, imported on first use, or a callable) taking (env, seed) and returning a policy with
    `name`, `reset(seed)` and `act(observation, info)`, and the env ids it fits (empty: every env)."""

    name: str
    description: str
    factory: str | Any
    envs: tuple[str, ...] = ()

    def fits(self, env_id: str) -> bool:
        """Whether the policy runs on `env_id`."""
        return not self.envs or env_id in self.envs


# ---------------------------------------------------------------------------------------------------------- values
#: A hyper-parameter's declaration: a string of alternatives separated by " | ", each one of `null`, `bool`, `str`
#: (any string), a quoted word ('auto'), `int [low, high]` / `float (low, high]` (interval brackets; `inf` allowed as
#: a bound, the value itself must be finite), `list of <alternative>` (a non-empty list); or a dict of declarations
#: (a nested mapping: its declared keys are checked, others are left to the agent); or a tuple of those.
Declaration = str | Mapping[str, Any] | tuple[Any, ...]

_NUMBER = re.compile(r"(int|float)\s*([\[(])\s*(-?[\d.e+]+|-?inf)\s*,\s*(-?[\d.e+]+|-?inf)\s*([\])])")

NET_ARCH = ("list of int [1, 100000]", {"pi": "list of int [1, 100000]", "vf": "list of int [1, 100000]"})
POLICY_KWARGS = {"net_arch": NET_ARCH, "activation_fn": "'relu' | 'tanh' | 'elu' | 'leakyrelu'", "ortho_init": "bool"}
#: Stable-Baselines3's constructor arguments (PPO, DQN and the masked variants), as YAML can give them.
SB3 = {
    "learning_rate": "float (0, 1]",
    "gamma": "float [0, 1]",
    "batch_size": "int [1, 10000000]",
    "n_steps": "int [1, 100000000]",
    "n_epochs": "int [1, 100000]",
    "clip_range": "float (0, 10]",
    "clip_range_vf": "null | float (0, 10]",
    "gae_lambda": "float [0, 1]",
    "ent_coef": "float [0, 1000]",
    "vf_coef": "float [0, 1000]",
    "max_grad_norm": "float (0, 1000000]",
    "target_kl": "null | float (0, 1000]",
    "normalize_advantage": "bool",
    "use_sde": "bool",
    "sde_sample_freq": "int [-1, 1000000]",
    "buffer_size": "int [1, 1000000000]",
    "learning_starts": "int [0, 1000000000000]",
    "train_freq": "int [1, 1000000]",
    "gradient_steps": "int [-1, 1000000]",
    "target_update_interval": "int [1, 1000000000]",
    "tau": "float (0, 1]",
    "exploration_fraction": "float [0, 1]",
    "exploration_initial_eps": "float [0, 1]",
    "exploration_final_eps": "float [0, 1]",
    "optimize_memory_usage": "bool",
    "double": "bool",
    "dueling": "bool",
    "replay_buffer_class": "null",
    "replay_buffer_kwargs": "null",
    "rollout_buffer_class": "null",
    "rollout_buffer_kwargs": "null",
    "stats_window_size": "int [1, 1000000]",
    "tensorboard_log": "null | str",
    "verbose": "int [0, 2]",
    "device": "'auto' | 'cpu' | 'cuda'",
    "policy_kwargs": POLICY_KWARGS,
}
#: Where the causal graph of an agent that assumes one comes from (`dogym.agents.graph_settings`).
GRAPH: dict[str, Declaration] = {
    "graph": "'known' | 'learned' | 'wrong'",
    "relearn_every": "int [1, 1000000]",
    "graph_alpha": "float (0, 1)",
    "orientation_weight": "float [0, 1000000]",
}
#: Every hyper-parameter of every built-in family: family name -> key -> declaration (see `Declaration`).
HYPERPARAMETER_RULES: dict[str, dict[str, Declaration]] = {
    "fault_alarm": {
        **SB3,
        "top_k": "int [1, 100000]",  # types kept by the causal mask
        "eta": "float [0, 1]",  # epsilon-causal ratio
        "init": "'thp' | 'random'",
        "structure_update_interval": "int [1, 1000000000]",
        "n_log_events": "int [1, 100000000]",
        "random_density": "float [0, 1]",
        "prune_penalty": "float [0, 1000000]",
        "transition_view": "'observed' | 'simulator'",
        "thp_decay": "'auto' | 'simulator' | float (0, 1000000]",
        "thp_penalty": "'auto' | float [0, 1000000]",
        "att_z": "float [0, 1000]",  # ATT's significance threshold (z-score)
        "att_min_effect": "float [0, 1000]",  # ATT's effect threshold
        "orientation": "'relative' | 'significance'",  # ATT's rule for pairs supported both ways
    },
    "safe_rl": {
        **SB3,
        "cost_gamma": "float [0, 1]",
        "cost_gae_lambda": "float [0, 1]",
        "cost_limit": "float [0, 1000000]",
        "critic_norm_coef": "float [0, 1000]",
        "critic_lr": "float (0, 1]",
        "cg_damping": "float (0, 1000]",
        "cg_iters": "int [1, 10000]",
        "episode_length": "int [1, 10000000]",
        "experience_grid": "int [1, 1000]",
        "region_grid": "int [1, 1000]",
        "experience_log": "int [0, 100000000]",
        "lagrangian_multiplier_init": "float [0, 1000000]",
        "lambda_lr": "float (0, 1000]",
        "linear_lr_decay": "bool",
        "obs_normalize": "bool",
        "reward": "'resources' | 'intervention_cost'",
        "time_features": "'none' | 'clock' | 'phase'",
        "monitor_wrapper": "bool",
        "supported_action_spaces": "null",
    },
    "identification": {
        "gp": {
            "mode": "'paper' | 'range' | 'scaled' | 'fit'",
            "kind": "str",
            "noise_var": "float (0, 1000000]",
            "lengthscale": "float (0, 1000000]",
            "min_fit_points": "int [1, 1000000]",
        },
        "buffer_size": "null | int [1, 100000000]",  # FIFO data buffer (null: keep everything)
        "model_eviction": "bool",
        "rate": "float [0, 1]",  # random intervention rate
        "lookahead": "int [1, 100]",
        "horizon": "int [0, 10000]",
        "n_rollouts": "int [1, 100000]",
        "gamma": "float [0, 1]",
        "cost_weight": "float [0, 1000000000]",
        "popsize": "int [1, 100000]",
        "maxiter": "int [0, 100000]",
        **GRAPH,
    },
    "safe_region": {
        "alpha": "float (0, 1)",
        "kappa": "'quantile' | 'srinivas'",
        "rkhs_bound": "float (0, 1000000000]",
        "information_gain": "null | float [0, 1000000000]",
        "outcome": "'metric' | 'indicator'",
        "refit_every": "int [0, 1000000]",
        "update_every": "int [1, 1000000]",
        "roots": "'view' | 'data'",
        "hyperpriors": "null | 'botorch'",
        "input_scaling": "'unit' | 'standard'",
        "monitoring_steps": "int [2, 100000000]",
        "noise_var": "float (0, 1000000]",
        "lengthscale": "float (0, 1000000]",
        "prior": "'gpscm' | 'backdoor'",
        "prior_rows": "int [1, 10000000]",
        "prior_draws": "int [1, 100000]",
        "prior_steps": "'independent' | 'persistent'",
        "prior_max_points": "int [1, 10000000]",
        "prior_max_condition": "int [1, 10000000]",
        "sigma_floor": "float [0, 1000000]",
        "kernel": "str",
        "resolution": "null | int [2, 100000]",
        "policy": "'eq7' | 'random'",
        "causal_prior": "bool",
        "safety": "bool",
        "cost_denominator": "bool",
        **GRAPH,
        "graph_test": "'rank' | 'basis' | 'fisherz'",  # the structure learner's conditional-independence test
        "graph_passive_steps": "int [0, 100000000]",  # passive rows read by the structure learner only
    },
    "dcgo": {
        "anchors": "'authors' | 'grid' | 'sobol'",
        "n_anchors": "int [1, 10000000]",
        "per_dim": "int [1, 100000]",
        "noise_var": "float [0, 1000000]",
        "lengthscale": "float (0, 1000000]",
        "variance": "float (0, 1000000]",
        "variance_prior": "null | list of float (0, 1000000]",
        "safeguards": "bool",
        "prior": "str",
        "prior_draws": "int [1, 100000]",
        "prior_rows": "int [1, 10000000]",
        "obs_kernel": "str",
        "obs_max_points": "int [1, 10000000]",
        "obs_seed": "int [0, 18446744073709551615]",
        "obs_fit": "str",
        "prior_noise": "bool",
        "data_seed": "null | int [0, 18446744073709551615]",
        **GRAPH,
        "noise_free": "bool",  # explorations' outcomes are noise-free: descendants read off them
    },
}


def _fits(value: Any, alternative: str) -> bool:
    """Whether `value` fits one alternative of a declaration string."""
    alternative = alternative.strip()
    if alternative == "null":
        return value is None
    if alternative == "bool":
        return isinstance(value, bool)
    if alternative == "str":
        return isinstance(value, str)
    if alternative.startswith("'"):
        return isinstance(value, str) and value == alternative.strip("'")
    if alternative.startswith("list of "):
        return isinstance(value, list) and bool(value) and all(_fits(v, alternative[8:]) for v in value)
    match = _NUMBER.fullmatch(alternative)
    if match is None:
        raise ValueError(f"bad hyper-parameter declaration {alternative!r}")
    kind, left, low, high, right = match.groups()
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    if kind == "int" and not isinstance(value, int):
        return False
    if not math.isfinite(value):
        return False
    low_v, high_v = (int(b) if kind == "int" and "inf" not in b else float(b) for b in (low, high))  # exact ints
    low_ok = value >= low_v if left == "[" else value > low_v
    high_ok = value <= high_v if right == "]" else value < high_v
    return low_ok and high_ok


def check_value(key: str, value: Any, declaration: Declaration) -> None:
    """A one-line ValueError naming `key`, `value` and what is allowed when `value` does not fit `declaration`."""
    options = declaration if isinstance(declaration, tuple) else (declaration,)
    for option in options:
        if isinstance(option, Mapping):
            if isinstance(value, Mapping):
                for sub, sub_value in value.items():
                    if sub in option:
                        check_value(f"{key}.{sub}", sub_value, option[sub])
                return
        elif any(_fits(value, alternative) for alternative in option.split(" | ")):
            return
    allowed = " | ".join(
        "a mapping of " + ", ".join(option) if isinstance(option, Mapping) else option for option in options
    )
    shown = " ".join(repr(value).split())
    raise ValueError(f"hyper-parameter {key} = {shown[:80]} is not allowed; allowed: {allowed}")

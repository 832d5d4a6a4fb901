"""Intervention policies for online causal identification (Hammar & Stadler): passive do(0), random interventions, and the
rollout policy of eqs. (9)-(12) with the surrogate loss (8) as cost approximation, minimised by differential evolution.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np
from scipy.optimize import differential_evolution

from dogym.agents.identification.estimator import CausalGPEstimator
from dogym.causal.intervention import Intervention


class MaskCost:
    """Vectorised intervention cost c(do(...)) as a function of the target mask (a table over all target sets)."""

    def __init__(self, controllable: Sequence[str], cost: Callable[[Intervention], float]):
        self.controllable = list(controllable)
        n = len(self.controllable)
        if n > 16:
            raise ValueError(f"MaskCost tabulates 2^n target sets; n = {n} controllable variables is too many")
        self._bits = 1 << np.arange(n)
        self.table = np.array(
            [cost(Intervention({v: 0.0 for j, v in enumerate(self.controllable) if (k >> j) & 1})) for k in range(2**n)]
        )

    def __call__(self, mask: np.ndarray) -> np.ndarray:
        """Costs of boolean masks [..., n]."""
        return self.table[(np.asarray(mask) > 0.5).astype(np.int64) @ self._bits]


def _control_box(estimator: CausalGPEstimator) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """Controllable names, their lower and upper intervention bounds, and which are integer-valued."""
    scm = estimator.structure
    names = scm.controllable
    low, high = (np.array([scm.control_bounds[v][i] for v in names]) for i in (0, 1))
    return names, low, high, np.array([v in scm.integer_variables for v in names])


def _decode(genes: np.ndarray, low: np.ndarray, high: np.ndarray, integer: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """DE genes in [0, 1]^(2n) (mask genes, then value genes) -> (mask, value) arrays."""
    n = low.size
    mask = genes[..., :n] > 0.5
    value = low + genes[..., n:] * (high - low)
    return mask, np.where(integer, np.round(value), value)


def _to_intervention(names: Sequence[str], mask: np.ndarray, value: np.ndarray) -> Intervention:
    return Intervention({n: float(v) for n, m, v in zip(names, mask, value, strict=True) if m})


class PassivePolicy:
    """The base policy: always the passive intervention do(0) (monitoring only)."""

    name = "passive"

    def decide(self, estimator: CausalGPEstimator, rng: np.random.Generator) -> Intervention:
        """do(0)."""
        return Intervention.passive()


@dataclass
class RandomPolicy:
    """Random interventions at rate `rate`: with probability `rate` a random non-empty target set (each controllable
    variable with probability 1/2) with values uniform over the operating region, else the passive do(0).
    rate = 1 (the default) always intervenes; lower rates trace the loss-against-cost frontier of random
    exploration."""

    rate: float = 1.0
    name: str = "random"

    def __post_init__(self) -> None:
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError(f"random intervention rate must be in [0, 1], got {self.rate!r}")

    def decide(self, estimator: CausalGPEstimator, rng: np.random.Generator) -> Intervention:
        """One random intervention (passive with probability 1 - rate)."""
        names, low, high, integer = _control_box(estimator)
        if self.rate < 1.0 and rng.random() >= self.rate:
            return Intervention.passive()
        genes = rng.random(2 * len(names))
        if not np.any(genes[: len(names)] > 0.5):
            genes[rng.integers(len(names))] = 1.0
        return _to_intervention(names, *_decode(genes, low, high, integer))


@dataclass
class RolloutPolicy:
    """Rollout intervention policy (12) of Hammar & Stadler, "Online Identification of IT Systems through Active Causal
    Learning": base policy do(0), cost-to-go estimate (11) with J~ = the surrogate loss (8).

    - lookahead l (`lookahead`), rollout horizon m (`horizon`), L Monte-Carlo rollouts (`n_rollouts`), M measurement
      rows per step (`samples_per_step`). l = 1, m = 0 is the myopic one-step policy: stage cost of u plus
      gamma J~ of the belief after it. Lookahead l > 1 is optimised open-loop: DE searches the l interventions
      jointly (the paper's inner minimisation over policies pi_{t+1..t+l-1} is closed-loop).
    - Stage cost (9): g(b_k, u_k) = J~(b_{k+1}) - J~(b_k) + cost_weight c(u_k). `cost_weight` puts c on the scale of the
      surrogate loss (1 where the paper's costs already are, e.g. ToySCM with a range-scaled GP); sweeping it traces
      the loss-against-cost frontier.
    - gamma (`gamma`, default 0.95; the paper does not print its value) discounts stage k by gamma^k and the terminal
      J~ by gamma^(l + m). Since J~ is a level, not a difference, the information gained at step 1 weighs
      1 + gamma^(l + m) against the cost: a longer horizon makes the policy slightly more reluctant to pay for it.
    - Simulated measurements: drawn from the belief updated after every simulated step (see
      `CausalGPEstimator.simulate`), with the same L sets of random numbers for every candidate (common random
      numbers, so DE compares candidates without Monte-Carlo noise between them); the surrogate after each simulated
      step is the exact GP variance update (fantasy), equal to refitting the GP on the simulated data.
    - Minimisation: scipy's differential evolution (Storn & Price, "Differential evolution: a simple and efficient
      heuristic for global optimization over continuous spaces"), strategy best1bin (mutation dithered in
      [0.5, 1), crossover 0.7), `popsize` members in total (Table 5: 10; one of them is the base policy's do(0)),
      `maxiter` generations (Table 5: 30), no polishing. Genes lie in [0, 1]^(2n) per lookahead step: a target gene
      > 0.5 intervenes on that variable, a value gene maps linearly onto its operating region (CPU counts rounded).
    - `orientation_weight` (with a learned graph only; 0 by default): the optional rule that values orientation
      subtracts orientation_weight x J~(b_t) x the share of the learned CPDAG's undirected edges that the candidate's
      first intervention is expected to orient (`orientation`: `GraphSource.orientations`) from its cost-to-go.
    - Random numbers: the call's generator is split into three independent streams (Monte-Carlo measurements,
      DE's initial population, DE's own draws), and measurement row k of rollout j gets the same numbers whatever L
      and m are, so a change of L or m changes only the objective DE minimises.
    """

    cost: MaskCost
    lookahead: int = 1
    horizon: int = 5
    n_rollouts: int = 10
    gamma: float = 0.95
    cost_weight: float = 1.0
    samples_per_step: int = 1
    popsize: int = 10
    maxiter: int = 30
    orientation_weight: float = 0.0
    orientation: Callable[[Sequence[str]], float] | None = None
    name: str = "rollout"

    def __post_init__(self) -> None:
        for field in ("lookahead", "n_rollouts", "samples_per_step", "popsize"):
            if getattr(self, field) < 1:
                raise ValueError(f"{field} must be >= 1, got {getattr(self, field)!r}")
        if self.horizon < 0 or self.maxiter < 0:
            raise ValueError(f"horizon and maxiter must be >= 0, got {self.horizon!r} and {self.maxiter!r}")
        if self.popsize < 5:
            raise ValueError(f"differential evolution needs popsize >= 5, got {self.popsize!r}")
        if not self.orientation_weight >= 0.0:
            raise ValueError(f"orientation_weight must be finite and >= 0, got {self.orientation_weight!r}")

    def cost_to_go(self, estimator: CausalGPEstimator, genes: np.ndarray, uniforms: np.ndarray) -> np.ndarray:
        """Estimated cost (12) of candidate gene vectors [S, l * 2n] under shared random numbers [L, T, n_vars]:
        the mean over the L rollouts of sum_k gamma^k g(b_k, u_k) over the l chosen then m passive steps, plus
        gamma^(l + m) J~(b_{t+l+m}) (eq. 11 with the base policy after the lookahead)."""
        names, low, high, integer = _control_box(estimator)
        n, l_, m_, mm = len(names), self.lookahead, self.horizon, self.samples_per_step
        s = genes.shape[0]
        mask, value = _decode(genes.reshape(s, l_, 2 * n), low, high, integer)  # [S, l, n]
        steps = l_ + m_
        full_mask = np.zeros((s, steps, n), bool)
        full_value = np.zeros((s, steps, n))
        full_mask[:, :l_], full_value[:, :l_] = mask, value
        rows_mask = np.repeat(full_mask, mm, axis=1)  # [S, T, n]
        rows_value = np.repeat(full_value, mm, axis=1)
        n_mc = uniforms.shape[0]
        batch = estimator.simulate(
            np.repeat(rows_mask, n_mc, axis=0), np.repeat(rows_value, n_mc, axis=0), np.tile(uniforms, (s, 1, 1))
        )
        surrogate = estimator.surrogate_trajectories(batch, mm).reshape(s, n_mc, steps + 1).mean(1)
        costs = np.concatenate([self.cost(mask), np.broadcast_to(self.cost(np.zeros((1, n))), (s, m_))], axis=1)
        stage = np.diff(surrogate, axis=1) + self.cost_weight * costs  # g(b_k, u_k), eq. (9)
        discounts = self.gamma ** np.arange(steps)
        return stage @ discounts + self.gamma**steps * surrogate[:, -1]

    def decide(self, estimator: CausalGPEstimator, rng: np.random.Generator) -> Intervention:
        """The rollout intervention for the current belief."""
        names, low, high, integer = _control_box(estimator)
        n = len(names)
        dims = 2 * n * self.lookahead
        n_rows = (self.lookahead + self.horizon) * self.samples_per_step
        mc_rng, init_rng, de_rng = rng.spawn(3)
        step_rngs = mc_rng.spawn(n_rows)  # row k of rollout j: the same numbers whatever m and L
        uniforms = np.stack([g.random((self.n_rollouts, len(estimator.names))) for g in step_rngs], axis=1)
        uniforms = np.clip(uniforms, 1e-9, 1 - 1e-9)
        init = init_rng.random((self.popsize, dims))
        init[0].reshape(self.lookahead, 2 * n)[:, :n] = 0.0  # the base policy's do(0) is always a candidate
        objective = partial(self.cost_to_go, estimator, uniforms=uniforms)
        if self.orientation_weight and self.orientation is not None:
            objective = _OrientationBonus(objective, self, estimator, names, low, high, integer)
        result = differential_evolution(
            lambda x: objective(np.atleast_2d(x.T)),
            [(0.0, 1.0)] * dims,
            maxiter=self.maxiter,
            popsize=self.popsize,
            init=init,
            tol=0.0,
            polish=False,
            vectorized=True,
            updating="deferred",
            rng=de_rng,
        )
        mask, value = _decode(result.x[: 2 * n], low, high, integer)
        return _to_intervention(names, mask, value)


class _OrientationBonus:
    """The rollout's cost-to-go minus orientation_weight x J~(b_t) x (the expected number of edges of the learned CPDAG
    that the candidate's first intervention would orient) / (its undirected edges): orienting every undirected edge
    is worth the fraction `orientation_weight` of the current surrogate loss (8), so one weight fits envs whose losses
    and graphs differ in scale (the rule that values orientation; one value per target set, cached per decision)."""

    def __init__(self, objective, policy: RolloutPolicy, estimator: CausalGPEstimator, names, low, high, integer):
        self.objective, self.names, self.box = objective, list(names), (low, high, integer)
        self.scale = policy.orientation_weight * estimator.surrogate_loss()
        self.orientation, self._cache = policy.orientation, {}

    def _value(self, mask: np.ndarray) -> float:
        key = tuple(bool(m) for m in mask)
        if key not in self._cache:
            targets = [n for n, m in zip(self.names, key, strict=True) if m]
            self._cache[key] = self.scale * self.orientation(targets) if targets else 0.0
        return self._cache[key]

    def __call__(self, genes: np.ndarray) -> np.ndarray:
        mask, _ = _decode(genes[:, : 2 * len(self.names)], *self.box)
        return self.objective(genes) - np.array([self._value(m) for m in mask])

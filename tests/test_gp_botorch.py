"""Our GP against BoTorch's `SingleTaskGP` (the GP library Hammar, Alpcan and Lupu used, "with default
hyper-parameters"): on the same standardised data, `fit_hyperparameters(priors="botorch")` must find the same
maximum-a-posteriori length scales and noise, and the same posterior, as `fit_gpytorch_mll` on SingleTaskGP's default
model (RBF kernel with BoTorch's dimension-scaled LogNormal length-scale prior, LogNormal(-4, 1) noise prior).

Tolerances: hyper-parameters within 5% (relative, both optimisers stop at their own tolerances on a flat optimum),
posterior mean within 0.02 and posterior sd within 0.02 (in standardised output units), and our MAP objective at
least as good as BoTorch's optimum evaluated by our code (to 1e-3 per data point). Our outputs are standardised
before both fits, and BoTorch's fitted constant mean is replaced by a zero mean, so the two models are the same.
"""

from __future__ import annotations

import numpy as np
import pytest

from dogym.causal.gp import BOTORCH_PRIORS, GaussianProcess, fit_hyperparameters, rbf

torch = pytest.importorskip("torch")
botorch = pytest.importorskip("botorch")
gpytorch = pytest.importorskip("gpytorch")


def _data(seed: int, n: int, d: int) -> tuple[np.ndarray, np.ndarray]:
    """A smooth response over the unit cube with noise, outputs standardised."""
    rng = np.random.default_rng(seed)
    x = rng.random((n, d))
    y = np.sin(3.0 * x[:, 0]) + (x[:, 1:] ** 2).sum(1) + 0.1 * rng.standard_normal(n)
    return x, (y - y.mean()) / y.std()


def _botorch_fit(x: np.ndarray, y: np.ndarray):
    from botorch.fit import fit_gpytorch_mll
    from botorch.models import SingleTaskGP
    from gpytorch.means import ZeroMean
    from gpytorch.mlls import ExactMarginalLogLikelihood

    tx, ty = torch.tensor(x, dtype=torch.float64), torch.tensor(y[:, None], dtype=torch.float64)
    model = SingleTaskGP(tx, ty, outcome_transform=None, mean_module=ZeroMean())
    fit_gpytorch_mll(ExactMarginalLogLikelihood(model.likelihood, model))
    return model


@pytest.mark.filterwarnings("ignore::botorch.exceptions.warnings.InputDataWarning")  # ddof 0 vs 1 standardising
@pytest.mark.parametrize(("seed", "n", "d"), [(0, 12, 2), (1, 30, 3), (2, 20, 1)])
def test_map_fit_matches_botorch_single_task_gp(seed, n, d):
    x, y = _data(seed, n, d)
    model = _botorch_fit(x, y)
    theirs_ls = model.covar_module.lengthscale.detach().numpy().reshape(-1)
    theirs_noise = float(model.likelihood.noise.detach().numpy().reshape(-1)[0])
    ours = fit_hyperparameters(GaussianProcess(rbf((1.0,) * d), noise_var=0.1), x, y, priors="botorch", n_restarts=2)
    np.testing.assert_allclose(np.asarray(ours.kernel.lengthscale), theirs_ls, rtol=0.05)
    assert ours.noise_var == pytest.approx(theirs_noise, rel=0.05, abs=2e-4)
    assert ours.noise_var >= BOTORCH_PRIORS["min_noise"] and min(ours.kernel.lengthscale) >= 0.025

    grid = np.random.default_rng(99).random((200, d))
    model.eval()
    with torch.no_grad():
        posterior = model.posterior(torch.tensor(grid, dtype=torch.float64))
        their_mean = posterior.mean.numpy().reshape(-1)
        their_sd = posterior.variance.sqrt().numpy().reshape(-1)
    mean, var = ours.predict(grid)
    np.testing.assert_allclose(mean, their_mean, atol=0.02)
    np.testing.assert_allclose(np.sqrt(var), their_sd, atol=0.02)


def test_the_priors_change_the_fit():
    """Without priors, plain maximum likelihood on 6 points finds a different (degenerate) optimum: the priors are
    what the comparison above checks."""
    x, y = _data(3, 6, 2)
    plain = fit_hyperparameters(GaussianProcess(rbf((1.0, 1.0)), noise_var=0.1), x, y, n_restarts=2)
    prior = fit_hyperparameters(GaussianProcess(rbf((1.0, 1.0)), noise_var=0.1), x, y, priors="botorch", n_restarts=2)
    assert not np.allclose(np.asarray(plain.kernel.lengthscale), np.asarray(prior.kernel.lengthscale), rtol=0.05)

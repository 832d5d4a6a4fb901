"""GP module: posterior against dense formulas, fantasy updates against refitting, hyper-parameter fitting."""

import numpy as np
import pytest

from dogym.causal.gp import CausalKernel, GaussianProcess, fit_hyperparameters, matern52, rbf


def _dense_posterior(kernel, noise, x, y, xs, mean_fn=lambda z: np.zeros(len(z))):
    gram = kernel(x, x) + noise * np.eye(len(x))
    inv = np.linalg.inv(gram)
    mean = mean_fn(xs) + kernel(xs, x) @ inv @ (y - mean_fn(x))
    cov = kernel(xs, xs) - kernel(xs, x) @ inv @ kernel(x, xs)
    return mean, cov


def test_matern52_closed_form():
    r = np.array([[0.0], [0.7], [2.0]])
    k = matern52()(r, np.zeros((1, 1)))[:, 0]
    s = np.sqrt(5) * r[:, 0]
    np.testing.assert_allclose(k, (1 + s + s * s / 3) * np.exp(-s))


@pytest.mark.parametrize("kernel", [matern52(0.8, 2.0), rbf((0.5, 1.5), 1.3)])
def test_posterior_equals_dense_computation(kernel):
    rng = np.random.default_rng(0)
    x, xs = rng.uniform(-2, 2, (12, 2)), rng.uniform(-2, 2, (7, 2))
    y = np.sin(x).sum(1) + 0.1 * rng.normal(size=12)
    mean_fn = lambda z: 0.3 * z[:, 0]  # noqa: E731
    gp = GaussianProcess(kernel, noise_var=0.05, mean_fn=mean_fn).fit(x, y)
    mean, var = gp.predict(xs)
    ref_mean, ref_cov = _dense_posterior(kernel, 0.05, x, y, xs, mean_fn)
    np.testing.assert_allclose(mean, ref_mean, atol=1e-8)
    np.testing.assert_allclose(var, np.diag(ref_cov), atol=1e-8)
    np.testing.assert_allclose(gp.predict(xs, full_cov=True)[1], ref_cov, atol=1e-8)
    np.testing.assert_allclose(gp.posterior_cov(xs[:3], xs[3:]), ref_cov[:3, 3:], atol=1e-8)
    bm, bv = gp.predict_batched(xs, batch_size=3)
    np.testing.assert_allclose(bm, mean)
    np.testing.assert_allclose(bv, var)


def test_causal_kernel_adds_sigma_outer_product():
    base = rbf(1.0, 1.0)
    sigma = lambda z: 1.0 + z[..., 0] ** 2  # noqa: E731
    x = np.array([[0.0], [1.0], [2.0]])
    k = CausalKernel(base, sigma)
    np.testing.assert_allclose(k(x, x), base(x, x) + np.outer(sigma(x), sigma(x)))
    np.testing.assert_allclose(k.diag(x), np.diag(k(x, x)))


def test_fantasy_updates_equal_refitting():
    rng = np.random.default_rng(1)
    x, xs = rng.uniform(0, 3, (5, 1)), np.linspace(0, 3, 11)[:, None]
    gp = GaussianProcess(matern52(), noise_var=0.05).fit(x, np.cos(x[:, 0]))
    fantasy = rng.uniform(0, 3, (4, 3, 1))  # 4 batches of 3 sequential points
    out = gp.fantasy_variances(gp.fantasy_precompute(xs), fantasy)
    assert out.shape == (4, 4, 11)
    for b in range(4):
        for k in range(4):
            xa = np.concatenate([x, fantasy[b, :k]])
            ref = GaussianProcess(matern52(), noise_var=0.05).fit(xa, np.zeros(len(xa))).predict(xs)[1]
            np.testing.assert_allclose(out[b, k], ref, atol=1e-8)


def test_fantasy_without_data_starts_from_prior():
    gp = GaussianProcess(rbf(0.5, 2.0), noise_var=0.1)
    xs = np.linspace(0, 1, 5)[:, None]
    out = gp.fantasy_variances(gp.fantasy_precompute(xs), np.array([[[0.5]]]))
    np.testing.assert_allclose(out[0, 0], 2.0)
    ref = GaussianProcess(rbf(0.5, 2.0), noise_var=0.1).fit([[0.5]], [0.0]).predict(xs)[1]
    np.testing.assert_allclose(out[0, 1], ref, atol=1e-10)


def test_hyperparameter_fit_increases_marginal_likelihood():
    rng = np.random.default_rng(2)
    x = rng.uniform(0, 10, (30, 1))
    y = 3.0 * np.sin(x[:, 0]) + 0.1 * rng.normal(size=30)
    gp = GaussianProcess(matern52(5.0, 0.1), noise_var=1.0).fit(x, y)
    before = gp.log_marginal_likelihood()
    fit_hyperparameters(gp, x, y)
    assert gp.log_marginal_likelihood() > before + 10
    assert 0.3 < gp.kernel.lengthscale[0] < 5.0
    assert gp.noise_var < 0.1


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="lengthscale"):
        matern52(-1.0)
    with pytest.raises(ValueError, match="kind"):
        from dogym.causal.gp import StationaryKernel

        StationaryKernel("cubic")
    with pytest.raises(ValueError, match="rows"):
        GaussianProcess().fit(np.zeros((3, 1)), np.zeros(2))
    with pytest.raises(ValueError, match="finite"):
        GaussianProcess().fit(np.array([[np.nan]]), np.zeros(1))


def test_fantasy_point_with_huge_noise_is_inert():
    gp = GaussianProcess(matern52(), noise_var=0.05).fit([[0.0]], [1.0])
    xs = np.linspace(-2, 2, 9)[:, None]
    base = gp.fantasy_precompute(xs)
    pts = np.array([[[1.0], [-1.0]]])
    out = gp.fantasy_variances(base, pts, noise_var=np.array([[1e12, 0.05]]))
    np.testing.assert_allclose(out[0, 1], base.var, atol=1e-9)
    ref = GaussianProcess(matern52(), noise_var=0.05).fit([[0.0], [-1.0]], [1.0, 0.0]).predict(xs)[1]
    np.testing.assert_allclose(out[0, 2], ref, atol=1e-8)


def test_joint_predictive_matches_dense_posterior_and_sequential_conditioning():
    rng = np.random.default_rng(3)
    x, y = rng.uniform(-2, 2, (6, 1)), rng.normal(size=6)
    gp = GaussianProcess(matern52(0.7, 2.0), noise_var=0.05).fit(x, y)
    points = rng.uniform(-2, 2, (2, 4, 1))  # two sets of T = 4 inputs
    mean, cov = gp.predict_joint(points)
    for b in range(2):
        dense_mean, dense_cov = _dense_posterior(gp.kernel, 0.05, x, y, points[b])
        np.testing.assert_allclose(mean[b], dense_mean, atol=1e-8)
        np.testing.assert_allclose(cov[b], dense_cov, atol=1e-8)
    # y = mean + chol(cov + noise) z is drawing each measurement from the posterior refitted on the ones before it
    z = rng.normal(size=4)
    joint = mean[0] + np.linalg.cholesky(cov[0] + 0.05 * np.eye(4)) @ z
    for k in range(4):
        refit = GaussianProcess(matern52(0.7, 2.0), noise_var=0.05).fit(
            np.vstack([x, points[0, :k]]), np.r_[y, joint[:k]]
        )
        m, v = refit.predict(points[0, k : k + 1])
        assert joint[k] == pytest.approx(m[0] + np.sqrt(v[0] + 0.05) * z[k], abs=1e-8)
    prior_mean, prior_cov = GaussianProcess(matern52()).predict_joint(points[0])
    np.testing.assert_allclose(prior_cov, matern52()(points[0], points[0]))
    np.testing.assert_array_equal(prior_mean, 0.0)

"""Speed of our numpy GP against BoTorch's SingleTaskGP on COL's problem size (Hammar, Alpcan and Lupu, "Causal Online
Learning of Safe Regions in Cloud Radio Access Networks", edge example): a MAP hyper-parameter fit under BoTorch's
default priors on n points in 3-D, then the posterior at 10 201 x 32 inputs (COL's candidates times the load rows it
averages over). Both on one thread; median of `--repeats` runs. Writes benchmarks/results/gp_vs_botorch.{json,md}.

    python benchmarks/gp_vs_botorch.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from dogym.agents.io import atomic_write_text
from dogym.causal.gp import GaussianProcess, fit_hyperparameters, rbf

OUT = Path(__file__).parent / "results"
SIZES = (10, 25, 50)
PREDICT_ROWS = 10_201 * 4


def data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.random((n, 3))
    y = 34.3 * x[:, 0] + 250 * (x[:, 1] - 0.5) ** 2 + 250 * (x[:, 2] - 0.5) ** 2
    return x, (y - y.mean()) / y.std()


def ours(x: np.ndarray, y: np.ndarray, xs: np.ndarray) -> tuple[float, float]:
    start = time.perf_counter()
    gp = fit_hyperparameters(GaussianProcess(rbf((1.0,) * 3), 0.1), x, y, priors="botorch", n_restarts=0)
    fitted = time.perf_counter()
    gp.predict_batched(xs, 32768)
    return fitted - start, time.perf_counter() - fitted


def theirs(x: np.ndarray, y: np.ndarray, xs: np.ndarray) -> tuple[float, float]:
    from botorch.fit import fit_gpytorch_mll
    from botorch.models import SingleTaskGP
    from gpytorch.means import ZeroMean
    from gpytorch.mlls import ExactMarginalLogLikelihood

    start = time.perf_counter()
    tx, ty = torch.tensor(x), torch.tensor(y[:, None])
    model = SingleTaskGP(tx, ty, outcome_transform=None, mean_module=ZeroMean())
    fit_gpytorch_mll(ExactMarginalLogLikelihood(model.likelihood, model))
    fitted = time.perf_counter()
    model.eval()
    with torch.no_grad():
        for batch in torch.split(torch.tensor(xs), 32768):
            post = model.posterior(batch.unsqueeze(-2))  # one-point posteriors: no joint covariance
            post.mean, post.variance  # noqa: B018 - evaluate both
    return fitted - start, time.perf_counter() - fitted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    xs = np.random.default_rng(1).random((PREDICT_ROWS, 3))
    rows = []
    with threadpool_limits(1):
        for n in SIZES:
            x, y = data(n)
            a = np.median([ours(x, y, xs) for _ in range(args.repeats)], axis=0)
            b = np.median([theirs(x, y, xs) for _ in range(args.repeats)], axis=0)
            rows.append({"n": n, "ours_fit_s": a[0], "botorch_fit_s": b[0], "ours_predict_s": a[1],
                         "botorch_predict_s": b[1], "fit_speedup": b[0] / a[0], "predict_speedup": b[1] / a[1]})  # fmt: skip
    OUT.mkdir(exist_ok=True)
    atomic_write_text(OUT / "gp_vs_botorch.json", json.dumps({"repeats": args.repeats, "rows": rows}, indent=1))
    lines = ["# Our GP vs BoTorch SingleTaskGP (COL's problem size; one thread; median of "
             f"{args.repeats})", "", f"Posterior at {PREDICT_ROWS} inputs in 3-D; MAP fit under BoTorch's default priors.",
             "", "| n | fit ours (s) | fit BoTorch (s) | fit speed-up | predict ours (s) | predict BoTorch (s) | "
             "predict speed-up |", "|---|---|---|---|---|---|---|"]  # fmt: skip
    lines += [
        f"| {r['n']} | {r['ours_fit_s']:.4f} | {r['botorch_fit_s']:.4f} | {r['fit_speedup']:.1f}x | "
        f"{r['ours_predict_s']:.3f} | {r['botorch_predict_s']:.3f} | {r['predict_speedup']:.1f}x |"
        for r in rows
    ]
    atomic_write_text(OUT / "gp_vs_botorch.md", "\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()

"""RAN calibration: the true safe regions of RANCpu-v0 and RANSteering-v0, the margin of
P(phi) over delta inside them, how much of the control box the passive monitoring data cover, and what a causal prior
from those data knows.

    python benchmarks/ran_calibration.py           # 40 320 passive windows (the paper's 168 h)
    python benchmarks/ran_calibration.py --quick   # 4 000 windows, coarser prior grids

Writes benchmarks/results/ran_calibration{,-quick}.{json,md}. The prior is the GP-SCM effect estimate of COL's default
causal prior (eqs. 3-4 of Hammar, Alpcan and Lupu, "Causal Online Learning of Safe Regions in Cloud Radio Access
Networks"): a GP per mechanism of the reconstructed graph on the passive windows, propagated under do(U' = u) with
the scenario's known conditions; it reports P(phi) (mean and sd over posterior draws) and the specification's metrics
(J1 on RANSteering; T1 and P1 on RANCpu). The GP settings are col.yml's RAN entries at the time of writing
(`PRIOR`). One BLAS thread; seed 0 for the passive data and the GPs.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from dogym.experiments.threads import set_thread_env  # noqa: E402

set_thread_env(1)

import gymnasium as gym  # noqa: E402
import networkx as nx  # noqa: E402
import numpy as np  # noqa: E402
from scipy.stats import norm  # noqa: E402

import dogym.envs  # noqa: E402, F401
from dogym.agents.io import atomic_write_json, atomic_write_text  # noqa: E402
from dogym.causal.acquisition import box_points  # noqa: E402
from dogym.causal.effects import GPSCM  # noqa: E402
from dogym.causal.intervention import Intervention  # noqa: E402
from dogym.envs.safe_region import ran  # noqa: E402

CPU, STEER = "dogym/RANCpu-v0", "dogym/RANSteering-v0"
PASSIVE_WINDOWS = 40_320  # 168 h of 15-s windows (section VIII-C)
#: GP-SCM settings (col.yml's RAN entries: 100 points for the hyper-parameters, 300 to condition on, persistent
#: windows; 16 rows on RANCpu, the default 32 on RANSteering; 8 posterior draws).
PRIOR = {"max_points": 100, "max_condition": 300, "draws": 8, "steps": "persistent", "rows": {CPU: 16, STEER: 32}}
QUANTILES = (0.0, 0.05, 0.25, 0.5, 0.75, 1.0)
#: The paper's testbed budget C = 100 and the threshold's cost 0.1: interventions one RANSteering run can afford.
STEER_INTERVENTIONS = 1000
#: Simulated windows per threshold for RANSteering's true metric means.
STEER_WINDOWS = 400


def truth(env: Any) -> dict[str, Any]:
    """The true region's size and the distribution of P(phi) and of its margin over delta inside it (on the size
    grid: 201 midpoints in 1-D, 4096 Sobol points in 6-D); the mean unsafe rate of interventions drawn uniformly
    from the region."""
    region = env.ground_truth()["region"]
    points = box_points(region.low, region.high, 201 if len(region.low) == 1 else 4096)
    p = region.probability(points)
    inside = p[p >= env.delta]
    out = {"size": region.size(), "error": region.error, "delta": env.delta,
           "p_inside": dict(zip(map(str, QUANTILES), np.quantile(inside, QUANTILES).tolist(), strict=True)),
           "margin_median": float(np.median(inside) - env.delta),
           "inside_at_least_0.95": float(np.mean(inside >= 0.95)), "unsafe_rate_uniform_in_region": float(1 - inside.mean())}  # fmt: skip
    if env.scenario == "steering":
        edges = np.append(ran.UE_RATE * np.arange(7), ran.THRESHOLD_BOX[1])
        mids = (edges[:-1] + edges[1:]) / 2
        cpu, spec = np.ones(2), env.specification
        literal = ran.pattern_probabilities([ran.UE_P] * 4 + [0.0, 0.0])  # independent DUs, no moves
        limits = np.full(2, spec.bounds[0].threshold)
        out["steps"] = [{"from": float(a), "to": float(b), "p": float(region.probability(np.array([[m]]))[0]),
                         "p_independent_dus": ran.pair_probability(m, cpu, limits, spec.window, spec.judged, literal) ** 2}
                        for a, b, m in zip(edges[:-1], edges[1:], mids, strict=True)]  # fmt: skip
    return out


def coverage(env: Any, data: dict[str, np.ndarray]) -> dict[str, Any]:
    """What the passive windows span over U': per control its range; the fraction of the box inside their bounding
    box; for R the fraction of 0.05-wide bins of [0, 5] with >= 10 windows; the fraction of the true region inside
    the bounding box."""
    low, high = env.low, env.high
    u = np.stack([data[v] for v in env.intervention_set], axis=1)
    seen_low, seen_high = u.min(0), u.max(0)
    share = (np.minimum(seen_high, high) - np.maximum(seen_low, low)) / (high - low)
    region = env.ground_truth()["region"]
    points = box_points(low, high, 201 if len(low) == 1 else 4096)
    in_region = region.contains(points)
    in_box = np.all((points >= seen_low) & (points <= seen_high), axis=1)
    out = {"windows": len(u), "range": {v: [float(a), float(b)] for v, a, b in zip(env.intervention_set, seen_low,
                                                                                   seen_high, strict=True)},
           "box_fraction": float(np.prod(share)), "region_fraction_seen": float(in_box[in_region].mean())}  # fmt: skip
    if len(low) == 1:
        counts = np.histogram(u[:, 0], bins=100, range=(low[0], high[0]))[0]
        out["bins_with_10_windows"] = float(np.mean(counts >= 10))
    return out


def prior_model(env: Any, data: dict[str, np.ndarray]) -> tuple[GPSCM, dict[str, float]]:
    """COL's GP-SCM prior (its "gpscm" option): a GP per mechanism the specification needs once U' and the scenario's
    known conditions are fixed, fitted on the passive windows; returns it with the context."""
    targets = list(env.intervention_set)
    view, spec = env.structural_view(), env.specification
    context = {k: v for k, v in env.scenario_context.items() if k not in targets}
    fixed = set(targets) | set(context)
    graph = view.graph
    graph.remove_edges_from([(p, v) for v in fixed for p in list(graph.predecessors(v))])
    needed = set(spec.variables).union(*(nx.ancestors(graph, v) for v in spec.variables))
    parents = {v: view.parents(v) for v in view.endogenous if v in needed - fixed}
    model = GPSCM(parents, exogenous=env.scenario_distributions, max_points=PRIOR["max_points"],
                  max_condition=PRIOR["max_condition"], seed=0)  # fmt: skip
    return model.fit(data), context


def metric_effect(model: GPSCM, points: np.ndarray, targets: list[str], metric: str, context: dict[str, float],
                  rows: int) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """E[metric | do(targets = u)]: mean and sd over the posterior draws (the draws of `GPSCM.spec_effect`)."""
    draws = PRIOR["draws"]
    grid = norm.ppf((np.arange(draws) + 0.5) / draws)
    shuffle = np.random.default_rng(0)
    shifts = {name: shuffle.permutation(grid) for name in model.mechanisms}
    means = np.array([model.sample(dict(zip(targets, points.T, strict=True)), [metric], rows,
                                   np.random.default_rng(0), context, {v: s[k] for v, s in shifts.items()})[metric]
                      .mean(axis=1) for k in range(draws)])  # fmt: skip
    return means.mean(0), means.std(0)


def true_metrics(env: Any, points: np.ndarray, metrics: list[str]) -> dict[str, list[float]]:
    """The true mean of each metric over the judged steps under do(U' = u): exact on RANCpu (the judged steps hold
    the allocation, so C_prev = C); on RANSteering the mean and sd of J over `STEER_WINDOWS` simulated windows per
    point (the sd of a step's J; the mean's standard error is at most sd / sqrt(windows))."""
    if env.scenario == "cpu":
        cpu, cu, memory = points[:, 0:4], points[:, 4:6], np.full((len(points), 4), ran.OPERATING_POINT["M1"])
        s = ran.served(10.0, ran.GAIN_DB, cpu, memory)
        scu = ran.cu_served(s[:, 0::2], s[:, 1::2], cu)
        values = {"T1": s[:, 0], "P1": ran.du_power(cpu, cpu, s)[:, 0], "TCU1": scu[:, 0],
                  "PCU1": ran.cu_power(cu, cu, scu)[:, 0]}  # fmt: skip
        return {m: values[m].tolist() for m in metrics}
    env.reset(seed=0)
    column = env.variable_names.index(metrics[0])
    judged = env.specification.judged
    means, sds = [], []
    for u in points:
        windows = [env.step(Intervention({"R": float(u[0])}))[0][judged, column] for _ in range(STEER_WINDOWS)]
        means.append(float(np.mean(windows)))
        sds.append(float(np.std(windows)))
    return {metrics[0]: means, f"{metrics[0]}_step_sd": sds}


def prior(env: Any, data: dict[str, np.ndarray], quick: bool) -> dict[str, Any]:
    """The prior along each control of U' (the others at the operating point): P(phi) and the metrics, against the
    truth; summaries of the sd of P(phi) inside and outside the passive range."""
    started = time.process_time()
    model, context = prior_model(env, data)
    targets, spec, rows = list(env.intervention_set), env.specification, PRIOR["rows"][env.spec.id]
    region = env.ground_truth()["region"]
    slices = {"R": ["J1"]} if env.scenario == "steering" else {"C1": ["T1", "P1"], "CU1": ["TCU1", "PCU1"]}
    out: dict[str, Any] = {"settings": {**PRIOR, "rows": rows}, "slices": {}}
    for name, metrics in slices.items():
        k = targets.index(name)
        values = np.linspace(env.low[k], env.high[k], 11 if quick else 28 if len(targets) > 1 else 41)
        points = np.tile([ran.OPERATING_POINT[v] for v in targets], (len(values), 1))
        points[:, k] = values
        mean, sd = model.spec_effect(points, targets, spec, context, rows, PRIOR["draws"], seed=0, steps=PRIOR["steps"])
        lo, hi = data[name].min(), data[name].max()
        seen = (values >= lo) & (values <= hi)
        table = {"value": values.tolist(), "p_mean": mean.tolist(), "p_sd": sd.tolist(),
                 "p_true": region.probability(points).tolist(), "metrics": metrics}  # fmt: skip
        true_means = true_metrics(env, points, metrics)
        for metric in metrics:
            m, s = metric_effect(model, points, targets, metric, context, rows)
            table |= {f"{metric}_mean": m.tolist(), f"{metric}_sd": s.tolist(), f"{metric}_true": true_means[metric]}
            if f"{metric}_step_sd" in true_means:
                table[f"{metric}_true_step_sd"] = true_means[f"{metric}_step_sd"]
        table |= {"p_sd_seen": float(sd[seen].mean()) if seen.any() else None,
                  "p_sd_unseen": float(sd[~seen].mean()) if (~seen).any() else None,
                  "p_abs_error_mean": float(np.mean(np.abs(mean - table["p_true"])))}  # fmt: skip
        out["slices"][name] = table
    out["cpu_seconds"] = time.process_time() - started
    return out


def markdown(result: dict[str, Any]) -> str:
    """The report's tables."""
    lines = [f"# RAN calibration ({'quick' if result['quick'] else 'full'}; {result['passive_windows']} passive "
             "windows, seed 0)", "", "Written by `benchmarks/ran_calibration.py`. P(phi) is exact on both envs.", "",
             "## True regions and the margin of P(phi) over delta = 0.8 inside them", "",
             "| env | region size | P(phi) inside: min / 5% / 25% / median / 75% / max | median margin | share >= 0.95 "
             "| unsafe rate of uniform draws in the region |", "|---|---|---|---|---|---|"]  # fmt: skip
    for env_id, r in result["envs"].items():
        t = r["truth"]
        q = " / ".join(f"{v:.3f}" for v in t["p_inside"].values())
        lines.append(f"| {env_id} | {t['size']:.3f} | {q} | {t['margin_median']:.3f} | {t['inside_at_least_0.95']:.2f} "
                     f"| {t['unsafe_rate_uniform_in_region']:.4f} |")  # fmt: skip
    steer = result["envs"][STEER]["truth"]
    rate = steer["unsafe_rate_uniform_in_region"]
    lines += ["", f"An oracle that knew RANSteering's region and spent the paper's budget (C = 100, {STEER_INTERVENTIONS} "
              f"threshold interventions) uniformly inside it would still meet {rate * STEER_INTERVENTIONS:.0f} unsafe "
              "windows on average.", "", "RANSteering's P(phi) per step of R (loads are whole UEs of 0.75 Mbit/s), and "
              "the same with independent DUs (no UE moves across the overlap, the paper's rates otherwise):", "",
              "| R | P(phi) | independent DUs |", "|---|---|---|"]  # fmt: skip
    lines += [f"| [{s['from']:.2f}, {s['to']:.2f}) | {s['p']:.3f} | {s['p_independent_dus']:.3f} |"
              for s in steer["steps"]]  # fmt: skip
    lines += ["", "## Passive monitoring data over U'", "",
              "| env | control ranges seen | box fraction inside their bounding box | true region inside it | "
              "R bins (0.05 wide) with >= 10 windows |", "|---|---|---|---|---|"]  # fmt: skip
    for env_id, r in result["envs"].items():
        c = r["coverage"]
        ranges = ", ".join(f"{v} [{a:.2f}, {b:.2f}]" for v, (a, b) in c["range"].items())
        bins = f"{c['bins_with_10_windows']:.2f}" if "bins_with_10_windows" in c else "-"
        lines.append(f"| {env_id} | {ranges} | {c['box_fraction']:.2e} | {c['region_fraction_seen']:.3f} | {bins} |")
    lines += ["", "## What the causal prior knows (GP-SCM on the passive data, COL's settings)", ""]
    for env_id, r in result["envs"].items():
        p = r["prior"]
        for name, table in p["slices"].items():
            metrics = table["metrics"]
            lines += [f"{env_id}, along {name} (the other controls at the operating point; {p['cpu_seconds']:.0f} "
                      f"CPU-s for the env): mean sd of the prior's P(phi) {_fmt(table['p_sd_seen'])} inside the passive "
                      f"range, {_fmt(table['p_sd_unseen'])} outside; mean |prior - truth| "
                      f"{table['p_abs_error_mean']:.3f}.", "",
                      "| " + name + " | prior P(phi) | sd | true P(phi) | " +
                      " | ".join(f"prior E[{m}] (sd) | true E[{m}]" for m in metrics) + " |",
                      "|---" * (4 + 2 * len(metrics)) + "|"]  # fmt: skip
            for i, value in enumerate(table["value"]):
                cells = " | ".join(f"{table[m + '_mean'][i]:.2f} ({table[m + '_sd'][i]:.2f}) | {_true(table, m, i)}"
                                   for m in metrics)  # fmt: skip
                lines.append(f"| {value:.2f} | {table['p_mean'][i]:.3f} | {table['p_sd'][i]:.3f} | "
                             f"{table['p_true'][i]:.3f} | {cells} |")  # fmt: skip
            lines.append("")
    return "\n".join(lines)


def _true(table: dict[str, Any], metric: str, i: int) -> str:
    """A true metric mean, with the sd of a step's value where it was simulated."""
    mean, sd = table[metric + "_true"][i], table.get(metric + "_true_step_sd")
    return f"{mean:.2f}" if sd is None else f"{mean:.2f} (step sd {sd[i]:.2f})"


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = parser.parse_args()
    windows = 4_000 if args.quick else PASSIVE_WINDOWS
    result: dict[str, Any] = {"quick": args.quick, "passive_windows": windows, "envs": {}}
    for env_id in (CPU, STEER):
        env = gym.make(env_id).unwrapped
        data = env.observational_data(windows, 0)
        result["envs"][env_id] = {"truth": truth(env), "coverage": coverage(env, data), "prior": prior(env, data,
                                                                                                      args.quick)}  # fmt: skip
    name = "ran_calibration" + ("-quick" if args.quick else "")
    atomic_write_json(Path(args.out) / f"{name}.json", result)
    atomic_write_text(Path(args.out) / f"{name}.md", markdown(result) + "\n")
    print(markdown(result))


if __name__ == "__main__":
    main()

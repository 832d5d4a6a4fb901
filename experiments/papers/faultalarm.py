"""Reproduction of Cai et al., "Learning by Doing: An Online Causal Reinforcement Learning Framework with Causal-Aware
Policy", Table 1 and Fig. 3: causal PPO / DQN / D3QN (THP and random initial graphs) against their vanilla versions, the
unmasked SB3 baselines and the no-learning baselines (random actions inside the causal mask of the THP graph, of a graph
learned online without RL, and of the true graph; random actions among active alarms; the oracle) on FaultAlarm-v0; a
Markdown report beside the paper's numbers."""

from __future__ import annotations

import csv
import json
import platform
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from dogym.agents.fault_alarm.specs import VANILLA_OF
from dogym.agents.io import atomic_write_json, atomic_write_text, csv_text
from dogym.experiments.grid import run_grid
from dogym.experiments.readme import replace_block
from dogym.experiments.report import INTERVAL_METHOD, long_rows, probability_of_improvement, summarize, write_outputs
from dogym.experiments.runner import RunConfig

DESCRIPTION = 'Cai et al., "Learning by Doing": Table 1 (learned graphs) and Fig. 3 (causal vs vanilla RL)'
DEFAULT_SEEDS = tuple(range(10))
#: Headline comparisons (Fig. 3, causal agents against the mask baselines) need at least this many seeds; with fewer
#: the report marks its verdicts provisional.
HEADLINE_SEEDS = 10
#: The Table 1 rows of the initial graphs: the THP start (read from causal-ppo's runs) and the random start.
INITIAL_GRAPH_KEYS = tuple(f"graph_initial/{m}" for m in ("f1", "precision", "recall", "shd", "f1_closure"))

#: Table 1 of the paper: F1, precision, recall (mean, std over 4 seeds).
PAPER_TABLE1 = {
    "THP (initial graph)": ((0.6383, 0.0168), (0.7751, 0.0199), (0.5426, 0.0150)),
    "causal-ppo": ((0.8413, 0.0203), (0.8535, 0.0191), (0.8298, 0.0269)),
    "causal-d3qn": ((0.8359, 0.0151), (0.8490, 0.0210), (0.8234, 0.0144)),
    "causal-dqn": ((0.8320, 0.0202), (0.8478, 0.0203), (0.8170, 0.0246)),
    "Random initial graph": ((0.1884, 0.0127), (0.1303, 0.0088), (0.1303, 0.0088)),
    "causal-ppo-random": ((0.8402, 0.0188), (0.8466, 0.0149), (0.8340, 0.0248)),
    "causal-d3qn-random": ((0.8391, 0.0162), (0.8467, 0.0222), (0.8319, 0.0170)),
    "causal-dqn-random": ((0.8303, 0.0191), (0.8494, 0.0253), (0.8128, 0.0197)),
}
AGENTS = (
    "causal-ppo",
    "causal-dqn",
    "causal-d3qn",
    "causal-ppo-random",
    "causal-dqn-random",
    "causal-d3qn-random",
    "ppo",
    "dqn",
    "d3qn",
    "ppo-unmasked",
    "dqn-unmasked",
    "mask-random-thp",
    "mask-random-online",
    "mask-random-true",
    "random-active",
    "oracle",
)
#: The no-learning baselines each causal agent is checked against: the same causal mask without RL.
MASK_BASELINES = ("mask-random-thp", "mask-random-online", "mask-random-true")
#: The reproduction's target for the graphs the causal agents learn (94 true edges).
TARGET_F1, TARGET_SHD = 0.95, 6
#: (metric key in the summary, label, True when larger is better)
POLICY_METRICS = (
    ("eval/reward_mean", "reward", True),
    ("eval/steps_mean", "steps", False),
    ("eval/mean_alarms_mean", "alarms/step", False),
    ("train/reward_mean", "reward", True),
    ("train/steps_mean", "steps", False),
    ("train/mean_alarms_mean", "alarms/step", False),
)


#: The causal agent run again with the simulator's privileged inputs (Cai et al.'s setting): the env's cleared_mask
#: (given only with debug_info=True) for the structure learner and the true kernel decay for THP.
#: Label -> (agent, hyper-parameter overrides).
PRIVILEGED = {"causal-dqn+simulator-inputs": ("causal-dqn", {"transition_view": "simulator", "thp_decay": "simulator"})}


def grid(out_dir: Path, seeds: Sequence[int], timesteps: int, eval_episodes: int) -> list[RunConfig]:
    """Every (agent, seed) run of the reproduction."""
    common = {"timesteps": timesteps, "eval_episodes": eval_episodes, "log_folder": str(out_dir / "runs")}
    runs = [RunConfig(agent, seed=seed, **common) for agent in AGENTS for seed in seeds]
    for label, (agent, overrides) in PRIVILEGED.items():
        runs += [RunConfig(agent, seed=seed, hyperparams=overrides, env_kwargs={"debug_info": True}, label=label,
                           **common) for seed in seeds]  # fmt: skip
    return sorted(runs, key=_cost_rank)  # cheapest first, so an interrupted reproduction has the most cells done


def _cost_rank(config: RunConfig) -> int:
    """0 for the no-learning baselines (seconds), 1 for DQN-style agents, 2 for PPO agents (50-epoch updates)."""
    if config.spec.options["algorithm"] == "reference":
        return 0
    return 2 if "PPO" in config.spec.options["algorithm"] else 1


def _ms(stats: dict[str, Any] | None, digits: int = 3) -> str:
    return "-" if not stats else f"{stats['mean']:.{digits}f} ± {stats['std']:.{digits}f}"


def _ci(stats: dict[str, Any] | None) -> str:
    if not stats:
        return "-"
    low, high = stats["mean_ci95"]
    return f"{stats['mean']:.2f} [{low:.2f}, {high:.2f}]"


def separated(causal: dict[str, Any], vanilla: dict[str, Any], larger_is_better: bool) -> bool:
    """Whether the causal agent's 95% CI lies entirely on the better side of the vanilla agent's."""
    if larger_is_better:
        return causal["mean_ci95"][0] > vanilla["mean_ci95"][1]
    return causal["mean_ci95"][1] < vanilla["mean_ci95"][0]


def report(summary: dict[str, Any], initial: dict[str, list[dict[str, float]]], meta: dict[str, Any]) -> str:
    """The Markdown report: Table 1 beside the paper's, the policy comparison with CIs and verdicts, throughput.
    `initial`: the initial graphs' scores per seed ("thp", "random"); `meta`: command, seeds, timesteps,
    wall_minutes, machine (the invocation that computed the runs)."""
    timesteps = meta["timesteps"]
    fewest = min((s["eval/reward_mean"]["n"] for s in summary.values() if "eval/reward_mean" in s), default=0)
    lines = [
        "# Cai et al. on FaultAlarm-v0: Table 1 and Fig. 3",
        "",
        f"Command: `{meta['command']}`; seeds {list(meta['seeds'])}; {timesteps} env steps per run; wall time "
        f"{meta['wall_minutes']:.1f} min for the runs made by that invocation ({meta['machine']}, one thread per run). "
        + (f"Code: commit {meta['code_version']}. " if meta.get("code_version") else "")
        + "Written by `dogym.experiments.papers.faultalarm.write_report` from `results.csv` and the initial graphs' "
        "scores (`graph_initial.csv`; older folders: F1 only, from `curves.csv`).",
        "",
        f"Intervals: {INTERVAL_METHOD}; n is the number of seeds per agent. Headline comparisons need >= "
        f"{HEADLINE_SEEDS} seeds: "
        + (
            f"**the fewest here is {fewest}, so every verdict below is provisional**."
            if fewest < HEADLINE_SEEDS
            else f"every agent has >= {HEADLINE_SEEDS}."
        ),
        "",
        "## Table 1: causal structure learning (against Table 3's 94 edges, mean ± std over seeds)",
        "",
        "F1 / precision / recall / SHD against the true edges; closure F1 against the true graph's transitive closure",
        "(the closure alone scores F1 0.855 against the true edges, so F1 near it is no better than learning ancestors).",
        "",
        "| method | F1 | precision | recall | SHD | closure F1 | paper F1 | paper precision | paper recall |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    graph_metrics = ("f1", "precision", "recall", "shd", "f1_closure")
    targets = []
    for name, key in (("THP (initial graph)", "thp"), ("Random initial graph", "random")):
        rows = initial.get(key, [])
        ours = [_mean_std([row[m] for row in rows if m in row], 1 if m == "shd" else 3) for m in graph_metrics]
        lines.append(f"| {name} | " + " | ".join(ours) + " | " + _paper_cells(name) + " |")
        agents = [a for a in AGENTS if a in PAPER_TABLE1 and (a.endswith("-random") == (key == "random"))]
        if key == "thp":
            agents += ["mask-random-online", *PRIVILEGED]
        for agent in agents:
            stats = summary.get(agent, {})
            ours = [_ms(stats.get(f"graph_final/{m}"), 1 if m == "shd" else 3) for m in graph_metrics]
            label = agent if agent in PAPER_TABLE1 or agent in PRIVILEGED else f"{agent} (no RL)"
            lines.append(f"| {label} | " + " | ".join(ours) + " | " + _paper_cells(agent) + " |")
            f1, shd = stats.get("graph_final/f1"), stats.get("graph_final/shd")
            if f1 and shd and agent in PAPER_TABLE1:
                met = f1["mean"] >= TARGET_F1 and shd["mean"] <= TARGET_SHD
                targets.append(f"{agent} {f1['mean']:.3f} / {shd['mean']:.1f} ({'met' if met else '**missed**'})")
    lines += [
        "",
        f"Target: F1 >= {TARGET_F1} and SHD <= {TARGET_SHD} after {timesteps} env steps, from both starts; "
        "mean F1 / SHD: " + "; ".join(targets) + ".",
    ]
    lines += [
        "",
        "## Fig. 3: policy learning (mean [95% CI] over seeds)",
        "",
        "Final policy: deterministic evaluation episodes after training (causal agents with their final graph and",
        "eta = 0). Training: mean over every training episode (the area under the Fig. 3 curves: sample efficiency).",
        "",
        "| agent | n | eval reward | eval steps | eval alarms/step | eval cleared | train reward | train steps | "
        "train alarms/step | env steps/s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for agent in (*AGENTS, *PRIVILEGED):
        stats = summary.get(agent, {})
        if not stats:
            continue
        cells = [_ci(stats.get(k)) for k, _, _ in POLICY_METRICS[:3]] + [_ci(stats.get("eval/cleared_rate"))]
        cells += [_ci(stats.get(k)) for k, _, _ in POLICY_METRICS[3:]]
        sps = stats.get("steps_per_second")
        cells.append(f"{sps['mean']:.0f}" if sps else "-")
        lines.append(f"| {agent} | {stats['eval/reward_mean']['n']} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "### Causal vs vanilla: are the 95% CIs separated (causal better)?",
        "",
        "| causal | vanilla | " + " | ".join(f"{p.split('/')[0]} {label}" for p, label, _ in POLICY_METRICS) + " |",
        "|---|---|" + "---|" * len(POLICY_METRICS),
    ]
    for causal, vanilla in VANILLA_OF.items():
        if causal not in summary or vanilla not in summary:
            continue
        verdicts = []
        for key, _, larger in POLICY_METRICS:
            c, v = summary[causal].get(key), summary[vanilla].get(key)
            verdicts.append("-" if not (c and v) else ("yes" if separated(c, v, larger) else "**no**"))
        lines.append(f"| {causal} | {vanilla} | " + " | ".join(verdicts) + " |")
    lines += _mask_baseline_lines(summary)
    lines += _improvement_lines(summary, meta.get("values", {}))
    lines += _throughput_lines(summary)
    lines += ["", "![Fig. 3 panels](fig3.png)", ""]
    return "\n".join(lines)


def _verdicts(summary: dict[str, Any], agent: str, other: str) -> list[str]:
    """Per policy metric: "yes" when `agent`'s 95% CI is separated from `other`'s on the better side, "worse" when on
    the worse side, "no" when they overlap."""
    out = []
    for key, _, larger in POLICY_METRICS:
        a, b = summary.get(agent, {}).get(key), summary.get(other, {}).get(key)
        if not (a and b):
            out.append("-")
        else:
            out.append("yes" if separated(a, b, larger) else "worse" if separated(b, a, larger) else "no")
    return out


def _mask_baseline_lines(summary: dict[str, Any]) -> list[str]:
    """Does RL add anything to the causal mask? Each causal agent against random actions inside the same kind of mask."""
    lines = [
        "",
        "### Causal agents vs the no-learning mask baselines: is the causal agent's 95% CI separated, on the better side?",
        "",
        '"yes": the RL policy beats random actions inside that mask; "no": the CIs overlap (the mask explains the '
        'score); "worse": the baseline is better.',
        "",
        "| causal | baseline | " + " | ".join(f"{p.split('/')[0]} {label}" for p, label, _ in POLICY_METRICS) + " |",
        "|---|---|" + "---|" * len(POLICY_METRICS),
    ]
    for causal in VANILLA_OF:
        for baseline in MASK_BASELINES:
            if causal in summary and baseline in summary:
                lines.append(f"| {causal} | {baseline} | " + " | ".join(_verdicts(summary, causal, baseline)) + " |")
    return lines


def improvement(
    values: dict[str, dict[str, list[float]]], agent: str, other: str, key: str, larger: bool
) -> float | None:
    """rliable's probability of improvement P(agent > other) on one metric's per-seed values (None without both)."""
    a, b = values.get(agent, {}).get(key), values.get(other, {}).get(key)
    if not a or not b:
        return None
    sign = 1.0 if larger else -1.0
    return probability_of_improvement(sign * np.asarray(a), sign * np.asarray(b))


def _improvement_lines(summary: dict[str, Any], values: dict[str, dict[str, list[float]]]) -> list[str]:
    """Probability of improvement (rliable) of each causal agent over each mask baseline, per seed pair."""
    keys = (("eval/reward_mean", "eval reward", True), ("train/reward_mean", "train reward", True))
    lines = ["", "### Probability of improvement of each causal agent over the mask baselines (rliable)", "",
             "P(X > Y) over the causal agent's and the baseline's seeds (ties count half; 0.5 = no difference; rliable's "
             "`probability_of_improvement`, Agarwal et al. 2021).", "",
             "| causal | baseline | " + " | ".join(f"P(better) {label}" for _, label, _ in keys) + " |",
             "|---|---|" + "---|" * len(keys)]  # fmt: skip
    for causal in VANILLA_OF:
        for baseline in MASK_BASELINES:
            if causal in summary and baseline in summary:
                cells = [improvement(values, causal, baseline, k, larger) for k, _, larger in keys]
                lines.append(f"| {causal} | {baseline} | " + " | ".join("-" if c is None else f"{c:.2f}" for c in cells)
                             + " |")  # fmt: skip
    return lines


def _throughput_lines(summary: dict[str, Any]) -> list[str]:
    """Env steps/s of each causal agent against its vanilla version in this grid (target: >= 70%)."""
    lines = ["", "### Training throughput: causal agent / vanilla agent (env steps/s, mean over seeds; target >= 70%)", "",
             "| causal | vanilla | causal steps/s | vanilla steps/s | ratio |", "|---|---|---|---|---|"]  # fmt: skip
    for causal, vanilla in VANILLA_OF.items():
        c, v = summary.get(causal, {}).get("steps_per_second"), summary.get(vanilla, {}).get("steps_per_second")
        if c and v:
            lines.append(f"| {causal} | {vanilla} | {c['mean']:.0f} | {v['mean']:.0f} | {c['mean'] / v['mean']:.0%} |")
    lines += ["", "The runs share two cores with the other runs of the grid; `benchmarks/causal_overhead.py` measures the",
              "same ratio with each pair run back to back on one core."]  # fmt: skip
    return lines


def _paper_cells(name: str) -> str:
    """Table 1's paper columns for a row (dashes where the paper has no such row)."""
    if name not in PAPER_TABLE1:
        return "- | - | -"
    return " | ".join(f"{m:.3f} ± {s:.3f}" for m, s in PAPER_TABLE1[name])


def _mean_std(values: list[float], digits: int = 3) -> str:
    import numpy as np

    return f"{np.mean(values):.{digits}f} ± {np.std(values):.{digits}f}" if values else "-"


def reproduce(
    out_dir: str | Path,
    seeds: Sequence[int] = DEFAULT_SEEDS,
    *,
    quick: bool = False,
    workers: int = 2,
    timesteps: int | None = None,
    eval_episodes: int = 30,
    command: str = "python train.py reproduce faultalarm",
) -> Path:
    """Run (or finish) the grid, then write results.csv, curves.csv, summary.json, fig3.png and report.md; returns
    the report's path. `timesteps` defaults to 15000 env steps per run (3000 with `quick`)."""
    out = Path(out_dir)
    timesteps = timesteps or (3_000 if quick else 15_000)
    configs = grid(out, seeds, timesteps, eval_episodes)
    start = time.perf_counter()
    runs = run_grid(configs, workers)
    wall = time.perf_counter() - start
    write_outputs(configs, runs, out, f"FaultAlarm-v0, {len(seeds)} seeds, {timesteps} steps per run")
    atomic_write_text(out / "graph_initial.csv", csv_text(long_rows(runs, INITIAL_GRAPH_KEYS)))
    meta = {"command": command, "seeds": list(seeds), "timesteps": timesteps, "wall_minutes": wall / 60,
            "machine": platform.machine()}  # fmt: skip
    atomic_write_json(out / "meta.json", meta)
    write_report(out)
    return out / "report.md"


def read_results(out_dir: Path, name: str = "results.csv") -> dict[str, dict[str, list[float]]]:
    """agent -> "phase/metric" -> per-seed values (in seed order) from a long-format results file."""
    out: dict[str, dict[str, list[tuple[int, float]]]] = {}
    path = Path(out_dir) / name
    if not path.exists():
        return {}
    with path.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            key = f"{row['phase']}/{row['metric']}" if row["phase"] != "run" else row["metric"]
            out.setdefault(row["agent"], {}).setdefault(key, []).append((int(row["seed"]), float(row["value"])))
    return {a: {k: [v for _, v in sorted(pairs)] for k, pairs in by.items()} for a, by in out.items()}


def _initial_from_curves(out_dir: Path) -> dict[str, dict[str, list[float]]]:
    """The initial graphs' F1 per seed from curves.csv (the first "graph" row of each run), for result folders written
    before graph_initial.csv existed."""
    first: dict[tuple[str, int], tuple[float, float]] = {}
    path = out_dir / "curves.csv"
    if path.exists():
        with path.open(encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                if row["kind"] == "graph" and row["f1"]:
                    key, point = (row["agent"], int(row["seed"])), (float(row["timesteps"]), float(row["f1"]))
                    first[key] = min(first.get(key, point), point)
    out: dict[str, dict[str, list[float]]] = {}
    for (agent, _), (_, f1) in sorted(first.items()):
        out.setdefault(agent, {}).setdefault("graph_initial/f1", []).append(f1)
    return out


def _as_runs(values: dict[str, dict[str, list[float]]]) -> list[dict[str, Any]]:
    """The per-seed values as run records for `summarize` (one record per agent and seed index)."""
    runs = []
    for agent, by in values.items():
        for i in range(max(len(v) for v in by.values())):
            run: dict[str, Any] = {"label": agent, "env": "dogym/FaultAlarm-v0", "seed": i}
            for key, vals in by.items():
                if i < len(vals):
                    phase, _, metric = key.rpartition("/")
                    (run.setdefault(phase, {}) if phase else run)[metric] = vals[i]
            runs.append(run)
    return runs


def load_results(out_dir: str | Path) -> tuple[dict[str, Any], dict[str, list[dict[str, float]]], dict[str, Any], dict]:
    """(summary, initial graphs' scores per seed, meta, per-seed values) from the result files of `out_dir`
    (results.csv, graph_initial.csv or curves.csv, meta.json)."""
    out = Path(out_dir)
    values = read_results(out)
    if not values:
        raise ValueError(f"no results.csv with rows in {out}")
    keys = list(dict.fromkeys(k for by in values.values() for k in by))
    summary = summarize(_as_runs(values), keys)
    initial_values = read_results(out, "graph_initial.csv") or _initial_from_curves(out)
    initial = {}
    for name, agent in (("thp", "causal-ppo"), ("random", "causal-ppo-random")):
        by = initial_values.get(agent, {})
        n = max((len(v) for v in by.values()), default=0)
        initial[name] = [{k.split("/")[-1]: v[i] for k, v in by.items() if i < len(v)} for i in range(n)]
    meta = json.loads((out / "meta.json").read_text(encoding="utf-8"))
    return summary, initial, meta, values


def write_report(out_dir: str | Path, update_readme: bool = True) -> dict[str, Any]:
    """summary.json and report.md from the committed result files of `out_dir` (`load_results`); returns the
    summary. With `update_readme`, the README's block (`readme_block`) is rewritten from the same summary (nothing
    happens when the README has no such block)."""
    out = Path(out_dir)
    summary, initial, meta, values = load_results(out)
    atomic_write_json(out / "summary.json", summary)
    atomic_write_text(out / "report.md", report(summary, initial, {**meta, "values": values}))
    if update_readme and out.resolve() == DEFAULT_OUT.resolve():
        replace_block(README_BLOCK, readme_text(out))
    return summary


def readme_text(out_dir: str | Path | None = None) -> str:
    """The README block from the result files: the reported grid (`readme_block`) and, when its folder exists, the
    headline cells re-run at more seeds with the re-chosen defaults, old against new (`headline_lines`)."""
    out = Path(out_dir or DEFAULT_OUT)
    text = readme_block(*load_results(out))
    if (out / HEADLINE_DIR / "results.csv").exists():
        summary, _, meta, values = load_results(out / HEADLINE_DIR)
        text += "\n\n" + "\n".join(headline_lines(load_results(out)[0], summary, meta, values))
    return text


def headline_lines(old: dict[str, Any], new: dict[str, Any], meta: dict[str, Any], values: dict) -> list[str]:
    """The headline cells (`benchmarks/faultalarm_headline.py`, defaults re-chosen on tuning models) beside the
    reported grid (old defaults): seeds, graph F1 / SHD and final evaluation reward, and against each mask baseline
    of the new runs whether the causal agent's CI is separated above (yes / no / worse) and rliable's probability of
    improvement."""
    reward = "eval/reward_mean"

    def n(summary: dict[str, Any], agent: str) -> int:
        return summary.get(agent, {}).get(reward, {}).get("n", 0)

    def graph(summary: dict[str, Any], agent: str) -> str:
        f1, shd = summary.get(agent, {}).get("graph_final/f1"), summary.get(agent, {}).get("graph_final/shd")
        return "-" if not (f1 and shd) else f"{f1['mean']:.3f} / {shd['mean']:.1f}"

    agents = [a for a in (*THP_AGENTS, "mask-random-online") if a in new]
    seeds = sorted({n(new, a) for a in new if n(new, a)})
    lines = [
        f"Headline cells re-run with the defaults re-chosen on tuning models ({'/'.join(map(str, seeds))} seeds per "
        f"agent; `benchmarks/results/faultalarm/headline/report.md`), old defaults (the grid above) -> new:",
        "",
        "| agent | seeds old -> new | graph F1 / SHD old -> new | final evaluation reward old -> new | new, against "
        + " / ".join(MASK_BASELINES) + ": CI separated above; P(better) |",
        "|---|---|---|---|---|",
    ]  # fmt: skip
    for agent in agents:
        verdicts = []
        for baseline in MASK_BASELINES:
            if agent == baseline or baseline not in new:
                verdicts.append("-")
                continue
            a, b = new[agent][reward], new[baseline][reward]
            verdict = "yes" if separated(a, b, True) else "worse" if separated(b, a, True) else "no"
            verdicts.append(f"{verdict}; {improvement(values, agent, baseline, reward, True):.2f}")
        lines.append(f"| {agent} | {n(old, agent)} -> {n(new, agent)} | {graph(old, agent)} -> {graph(new, agent)} | "
                     f"{_mean_ci(old.get(agent, {}).get(reward))} -> {_mean_ci(new.get(agent, {}).get(reward))} | "
                     + " / ".join(verdicts) + " |")  # fmt: skip
    return lines


#: The README block this reproduction writes (`dogym.experiments.readme`), from the default output folder only.
README_BLOCK = "faultalarm"
DEFAULT_OUT = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / "faultalarm"
#: The headline cells' folder inside the default output folder (`benchmarks/faultalarm_headline.py`).
HEADLINE_DIR = "headline"
THP_AGENTS, RANDOM_AGENTS = ("causal-ppo", "causal-dqn", "causal-d3qn"), ("causal-ppo-random", "causal-dqn-random",
                                                                          "causal-d3qn-random")  # fmt: skip


def _mean_ci(stats: dict[str, Any] | None, digits: int = 2) -> str:
    if not stats:
        return "-"
    low, high = stats["mean_ci95"]
    return f"{stats['mean']:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def readme_block(
    summary: dict[str, Any], initial: dict[str, list[dict[str, float]]], meta: dict[str, Any],
    values: dict[str, dict[str, list[float]]],
) -> str:  # fmt: skip
    """The README's FaultAlarm block: Table 1 and Fig. 3 headline numbers and the comparisons against vanilla RL and
    the no-learning mask baselines, every one computed from the result files (the same summary as report.md)."""

    def graph(agent: str) -> str:
        f1, shd = summary.get(agent, {}).get("graph_final/f1"), summary.get(agent, {}).get("graph_final/shd")
        return "-" if not (f1 and shd) else f"{f1['mean']:.3f} / {shd['mean']:.1f}"

    def target(agents: Sequence[str]) -> str:
        met = [a for a in agents if summary.get(a, {}).get("graph_final/f1")
               and summary[a]["graph_final/f1"]["mean"] >= TARGET_F1 and summary[a]["graph_final/shd"]["mean"] <= TARGET_SHD]  # fmt: skip
        return f"target F1 >= {TARGET_F1} and SHD <= {TARGET_SHD}: met by {len(met)} of {len(agents)}"

    def n_of(agent: str) -> int:
        return summary.get(agent, {}).get("eval/reward_mean", {}).get("n", 0)

    reward = "eval/reward_mean"
    causal = [a for a in VANILLA_OF if a in summary]
    beats_vanilla = [a for a in causal if VANILLA_OF[a] in summary and separated(summary[a][reward], summary[VANILLA_OF[a]][reward], True)]  # fmt: skip
    beats = {b: [a for a in causal if b in summary and separated(summary[a][reward], summary[b][reward], True)]
             for b in MASK_BASELINES}  # fmt: skip
    beats_all = [a for a in causal if all(a in beats[b] for b in MASK_BASELINES)]
    poi = [improvement(values, a, "mask-random-online", reward, True) for a in causal]
    poi = [p for p in poi if p is not None]
    thp = [row["f1"] for row in initial.get("thp", []) if "f1" in row]
    seeds = sorted({n_of(a) for a in summary if n_of(a)})
    n_text = "/".join(map(str, seeds))
    provisional = min(seeds, default=0) < HEADLINE_SEEDS
    rows = [
        (f"Cai et al. Table 1: F1 / SHD of the learned alarm graph (94 true edges), causal PPO / DQN / D3QN, THP start, "
         f"{meta['timesteps']} env steps", ", ".join(graph(a) for a in THP_AGENTS) + f" ({target(THP_AGENTS)})",
         "paper F1 " + " / ".join(f"{PAPER_TABLE1[a][0][0]:.3f}" for a in THP_AGENTS)),
        ("same, random start", ", ".join(graph(a) for a in RANDOM_AGENTS) + f" ({target(RANDOM_AGENTS)})",
         "paper F1 " + " / ".join(f"{PAPER_TABLE1[a][0][0]:.3f}" for a in RANDOM_AGENTS)),
        ("same learner without RL (random actions inside its causal mask)", graph("mask-random-online"), "-"),
        ("Cai et al. Table 1: THP start graph F1 (2000 passive alarms, decay and penalty chosen from the data)",
         f"{np.mean(thp):.3f} ± {np.std(thp):.3f}" if thp else "-",
         "paper {:.3f} ± {:.3f}".format(*PAPER_TABLE1["THP (initial graph)"][0])),
        ("Cai et al. Fig. 3: final evaluation reward, causal PPO / DQN / D3QN vs PPO / DQN / D3QN",
         ", ".join(_mean_ci(summary.get(a, {}).get(reward)) for a in THP_AGENTS) + " vs "
         + ", ".join(_mean_ci(summary.get(VANILLA_OF[a], {}).get(reward)) for a in THP_AGENTS)
         + f"; CIs separated (causal better) for {len(beats_vanilla)} of {len(causal)} causal agents",
         "paper: causal better"),
        ("final evaluation reward without RL: random actions inside the causal mask of the THP / online-learned / true "
         "graph; oracle", ", ".join(_mean_ci(summary.get(b, {}).get(reward)) for b in MASK_BASELINES)
         + f"; oracle {_mean_ci(summary.get('oracle', {}).get(reward))}", "-"),
        ("causal agents vs those no-learning mask baselines (final evaluation reward)",
         f"CI separated above mask-random-online for {len(beats['mask-random-online'])} of {len(causal)} causal agents "
         f"({', '.join(beats['mask-random-online']) or 'none'}), above all three for {len(beats_all)}; probability of "
         f"improvement over mask-random-online (rliable) {min(poi):.2f}-{max(poi):.2f}" if poi else "-", "-"),
    ]  # fmt: skip
    lines = [
        f"Seeds per agent: {n_text}; intervals: {INTERVAL_METHOD}"
        + (f" (**fewer than {HEADLINE_SEEDS} seeds: provisional**)" if provisional else "") + ". Details: "
        "`benchmarks/results/faultalarm/report.md`.",
        "",
        "| result | ours | reference |",
        "|---|---|---|",
        *(f"| {a} | {b} | {c} |" for a, b, c in rows),
    ]  # fmt: skip
    return "\n".join(lines)

"""Reproduction of Cai et al., "Learning by Doing: An Online Causal Reinforcement Learning Framework with Causal-Aware
Policy", Table 1 and Fig. 3: causal PPO / DQN / D3QN (THP and random initial graphs) against their vanilla versions, the
unmasked SB3 baselines and the no-learning baselines (random actions inside the causal mask of the THP graph, of a graph
learned online without RL, and of the true graph; random actions among active alarms; the oracle) on FaultAlarm-v0; a
Markdown report beside the paper's numbers.

Every output is written from the result files (`write_report`): results.csv (long), graph_initial.csv and meta.json,
so a report and the README block can be rewritten without running anything."""

from __future__ import annotations

import csv
import json
import platform
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from dogym.agents.fault_alarm.specs import VANILLA_OF
from dogym.agents.io import atomic_write_json, atomic_write_text, csv_text
from dogym.agents.registry import family, higher_is_better
from dogym.experiments.papers import Paper, Reproduction, Timing
from dogym.experiments.readme import replace_block
from dogym.experiments.report import (
    INTERVAL_METHOD,
    interval_text,
    long_rows,
    markdown_table,
    mean_std_text,
    probability_of_improvement,
    read_long,
    runs_of,
    seed_summary,
    summarize,
    summary_table,
    table,
    write_outputs,
)
from dogym.experiments.report import compared as _compared
from dogym.experiments.runner import RunConfig

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
THP_AGENTS = ("causal-ppo", "causal-dqn", "causal-d3qn")
RANDOM_AGENTS = ("causal-ppo-random", "causal-dqn-random", "causal-d3qn-random")
#: The no-learning baselines each causal agent is checked against: the same causal mask without RL.
MASK_BASELINES = ("mask-random-thp", "mask-random-online", "mask-random-true")
AGENTS = (*THP_AGENTS, *RANDOM_AGENTS, "ppo", "dqn", "d3qn", "ppo-unmasked", "dqn-unmasked", *MASK_BASELINES,
          "random-active", "oracle")  # fmt: skip
#: The causal agent run again with the simulator's privileged inputs (Cai et al.'s setting): the env's cleared_mask
#: (given only with debug_info=True) for the structure learner and the true kernel decay for THP.
#: Label -> (agent, hyper-parameter overrides).
PRIVILEGED = {"causal-dqn+simulator-inputs": ("causal-dqn", {"transition_view": "simulator", "thp_decay": "simulator"})}
#: Headline comparisons (Fig. 3, causal agents against the mask baselines) need at least this many seeds; with fewer
#: the report marks its verdicts provisional.
HEADLINE_SEEDS = 10
#: The reproduction's target for the graphs the causal agents learn (94 true edges).
TARGET_F1, TARGET_SHD = 0.95, 6
GRAPH_METRICS = ("f1", "precision", "recall", "shd", "f1_closure")
#: The Table 1 rows of the initial graphs: the THP start (read from causal-ppo's runs) and the random start.
INITIAL_GRAPH_KEYS = tuple(f"graph_initial/{m}" for m in GRAPH_METRICS)
#: The policy metrics of Fig. 3 (key, label); their directions are the family's (`higher_is_better`).
POLICY_METRICS = tuple((f"{phase}/{key}", label) for phase in ("eval", "train")
                       for key, label in (("reward_mean", "reward"), ("steps_mean", "steps"),
                                          ("mean_alarms_mean", "alarms/step")))  # fmt: skip
REWARD = "eval/reward_mean"
#: The README block this reproduction writes (`dogym.experiments.readme`), from the default output folder only.
README_BLOCK = "faultalarm"
DEFAULT_OUT = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / "faultalarm"
#: The grid run with the previous defaults, inside the default output folder (the README compares it with the main
#: grid).
OLD_DEFAULTS_DIR = "old-defaults"


def larger(key: str) -> bool:
    """Whether a larger value of the metric is better (the FaultAlarm family's declaration)."""
    return higher_is_better("fault_alarm", key)


# ---------------------------------------------------------------------------------------------------- the grid
def grid(out_dir: Path, seeds: Sequence[int], timesteps: int, eval_episodes: int) -> list[RunConfig]:
    """Every (agent, seed) run of the reproduction, cheapest first (so an interrupted reproduction has the most
    cells done): the no-learning baselines, then DQN-style agents, then PPO agents (50-epoch updates)."""
    common = {"timesteps": timesteps, "eval_episodes": eval_episodes, "log_folder": str(out_dir / "runs")}
    runs = [RunConfig(agent, seed=seed, **common) for agent in AGENTS for seed in seeds]
    for label, (agent, overrides) in PRIVILEGED.items():
        runs += [RunConfig(agent, seed=seed, hyperparams=overrides, env_kwargs={"debug_info": True}, label=label,
                           **common) for seed in seeds]  # fmt: skip

    def cost(config: RunConfig) -> int:
        algorithm = config.spec.options["algorithm"]
        return 0 if algorithm == "reference" else 2 if "PPO" in algorithm else 1

    return sorted(runs, key=cost)


# ---------------------------------------------------------------------------------------------------- result files
def _initial_from_curves(out_dir: Path) -> dict[str, dict[str, list[float]]]:
    """The initial graphs' F1 per seed from curves.csv (the first "graph" row of each run), for result folders written
    before graph_initial.csv existed."""
    first: dict[tuple[str, int], tuple[float, float]] = {}
    rows = csv.DictReader((out_dir / "curves.csv").open(encoding="utf-8")) if (out_dir / "curves.csv").exists() else []
    for row in rows:
        if row["kind"] == "graph" and row["f1"]:
            key, point = (row["agent"], int(row["seed"])), (float(row["timesteps"]), float(row["f1"]))
            first[key] = min(first.get(key, point), point)
    out: dict[str, dict[str, list[float]]] = {}
    for (agent, _), (_, f1) in sorted(first.items()):
        out.setdefault(agent, {}).setdefault("graph_initial/f1", []).append(f1)
    return out


def load_results(out_dir: str | Path) -> tuple[dict[str, Any], dict[str, list[dict[str, float]]], dict[str, Any], dict]:
    """(summary, initial graphs' scores per seed ("thp", "random"), meta, per-seed values) from the result files of
    `out_dir` (results.csv, graph_initial.csv or curves.csv, meta.json)."""
    out = Path(out_dir)
    values = read_long(out / "results.csv")
    if not values:
        raise ValueError(f"no results.csv with rows in {out}")
    keys = list(dict.fromkeys(k for by in values.values() for k in by))
    summary = summarize(runs_of(values, "dogym/FaultAlarm-v0"), keys, family("fault_alarm").supports)
    initial_values = read_long(out / "graph_initial.csv") or _initial_from_curves(out)
    initial = {}
    for name, agent in (("thp", "causal-ppo"), ("random", "causal-ppo-random")):
        by = initial_values.get(agent, {})
        n = max((len(v) for v in by.values()), default=0)
        initial[name] = [{k.split("/")[-1]: v[i] for k, v in by.items() if i < len(v)} for i in range(n)]
    meta = json.loads((out / "meta.json").read_text(encoding="utf-8"))
    return summary, initial, meta, values


# ---------------------------------------------------------------------------------------------------- comparisons
def compared(summary: dict[str, Any], agent: str, other: str, key: str) -> str:
    """The verdict "yes" when `agent`'s 95% CI is separated from `other`'s on the better side, "worse" when on the
    worse side, "no" when they overlap, "-" without both."""
    return _compared(summary, agent, other, key, larger(key))


def improvement(values: dict[str, dict[str, list[float]]], agent: str, other: str, key: str) -> float | None:
    """rliable's probability of improvement P(agent better than other) on one metric's per-seed values (None without
    both)."""
    a, b, sign = values.get(agent, {}).get(key), values.get(other, {}).get(key), 1.0 if larger(key) else -1.0
    return probability_of_improvement(sign * np.asarray(a), sign * np.asarray(b)) if a and b else None


def graph_text(summary: dict[str, Any], agent: str) -> str:
    """The text "F1 / SHD" of the agent's final graph (means over seeds)."""
    f1, shd = summary.get(agent, {}).get("graph_final/f1"), summary.get(agent, {}).get("graph_final/shd")
    return "-" if not (f1 and shd) else f"{f1['mean']:.3f} / {shd['mean']:.1f}"


def meets_graph_target(summary: dict[str, Any], agent: str) -> bool | None:
    """Whether the agent's mean final graph meets F1 >= TARGET_F1 and SHD <= TARGET_SHD (None without a graph)."""
    f1, shd = summary.get(agent, {}).get("graph_final/f1"), summary.get(agent, {}).get("graph_final/shd")
    return None if not (f1 and shd) else f1["mean"] >= TARGET_F1 and shd["mean"] <= TARGET_SHD


def seeds_of(summary: dict[str, Any], agent: str) -> int:
    """How many seeds the agent's final evaluation reward has (0 when it has none)."""
    return summary.get(agent, {}).get(REWARD, {}).get("n", 0)


# ---------------------------------------------------------------------------------------------------- report
def _ms(stats: dict[str, Any] | None, digits: int = 3) -> str:
    return "-" if not stats else f"{stats['mean']:.{digits}f} ± {stats['std']:.{digits}f}"


#: Table 1's columns after the method: header -> cell of (name, graph metric -> seed summary).
TABLE1 = {**{h: (lambda e, m=m: _ms(e[1].get(m), 1 if m == "shd" else 3)) for h, m in
             zip(("F1", "precision", "recall", "SHD", "closure F1"), GRAPH_METRICS, strict=True)},
          **{f"paper {h}": (lambda e, i=i: f"{PAPER_TABLE1[e[0]][i][0]:.3f} ± {PAPER_TABLE1[e[0]][i][1]:.3f}"
                            if e[0] in PAPER_TABLE1 else "-") for i, h in enumerate(("F1", "precision", "recall"))}}  # fmt: skip
#: Fig. 3's columns: header -> (metric, format).
FIG3 = {"n": (REWARD, "n"), **{f"eval {label}": (key, "ci") for key, label in POLICY_METRICS[:3]},
        "eval cleared": ("eval/cleared_rate", "ci"),
        **{f"train {label}": (key, "ci") for key, label in POLICY_METRICS[3:]},
        "env steps/s": ("steps_per_second", ".0f")}  # fmt: skip


def _table1(summary: dict[str, Any], initial: dict[str, list[dict[str, float]]]) -> tuple[list[str], list[str]]:
    """Table 1's lines (initial graphs, then each causal agent's final graph, beside the paper's), and the target's
    text per agent."""
    entries = []
    for name, key in (("THP (initial graph)", "thp"), ("Random initial graph", "random")):
        scores = initial.get(key, [])
        entries.append((name, {m: seed_summary(v) for m in GRAPH_METRICS
                               for v in [[s[m] for s in scores if m in s]] if v}))  # fmt: skip
        for agent in THP_AGENTS + ("mask-random-online", *PRIVILEGED) if key == "thp" else RANDOM_AGENTS:
            stats = {m: summary.get(agent, {}).get(f"graph_final/{m}") for m in GRAPH_METRICS}
            entries.append((agent if agent in PAPER_TABLE1 or agent in PRIVILEGED else f"{agent} (no RL)", stats))
    met = {a: meets_graph_target(summary, a) for a in (*THP_AGENTS, *RANDOM_AGENTS)}
    return table(entries, {"method": lambda e: e[0], **TABLE1}), [
        f"{a} {graph_text(summary, a)} ({'met' if m else '**missed**'})" for a, m in met.items() if m is not None
    ]


def _baseline_tables(summary: dict[str, Any], values: dict[str, dict[str, list[float]]]) -> list[str]:
    """Causal against vanilla and against each mask baseline (separated CIs), and rliable's probability of
    improvement over the mask baselines."""
    columns = {f"{key.split('/')[0]} {label}": key for key, label in POLICY_METRICS}
    vanilla = [(c, v) for c, v in VANILLA_OF.items() if c in summary and v in summary]
    pairs = [(c, b) for c in VANILLA_OF for b in MASK_BASELINES if c in summary and b in summary]
    keys = (("eval/reward_mean", "eval reward"), ("train/reward_mean", "train reward"))
    return [
        "", "### Causal vs vanilla: are the 95% CIs separated (causal better)?", "",
        *table(vanilla, {"causal": lambda p: p[0], "vanilla": lambda p: p[1], **{
            h: (lambda p, k=k: {"yes": "yes", "-": "-"}.get(compared(summary, *p, k), "**no**")) for h, k in columns.items()}}),
        "", "### Causal agents vs the no-learning mask baselines: is the causal agent's 95% CI separated, on the better "
        "side?", "",
        '"yes": the RL policy beats random actions inside that mask; "no": the CIs overlap (the mask explains the '
        'score); "worse": the baseline is better.', "",
        *table(pairs, {"causal": lambda p: p[0], "baseline": lambda p: p[1],
                       **{h: (lambda p, k=k: compared(summary, *p, k)) for h, k in columns.items()}}),
        "", "### Probability of improvement of each causal agent over the mask baselines (rliable)", "",
        "P(X > Y) over the causal agent's and the baseline's seeds (ties count half; 0.5 = no difference; rliable's "
        "`probability_of_improvement`, Agarwal et al. 2021).", "",
        *table(pairs, {"causal": lambda p: p[0], "baseline": lambda p: p[1], **{
            f"P(better) {label}": (lambda p, k=k: "-" if (x := improvement(values, *p, k)) is None else f"{x:.2f}")
            for k, label in keys}}),
    ]  # fmt: skip


def report(summary: dict[str, Any], initial: dict[str, list[dict[str, float]]], meta: dict[str, Any]) -> str:
    """The Markdown report: Table 1 beside the paper's, the policy comparison with CIs and verdicts, throughput.
    `initial`: the initial graphs' scores per seed ("thp", "random"); `meta`: command, seeds, timesteps,
    wall_minutes, machine (the invocation that computed the runs) and the per-seed `values`."""
    timesteps = meta["timesteps"]
    fewest = min((s[REWARD]["n"] for s in summary.values() if REWARD in s), default=0)
    table1, targets = _table1(summary, initial)
    sps = {a: summary.get(a, {}).get("steps_per_second") for pair in VANILLA_OF.items() for a in pair}
    throughput = [(c, v, sps[c]["mean"], sps[v]["mean"]) for c, v in VANILLA_OF.items() if sps[c] and sps[v]]
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
        + (f"**the fewest here is {fewest}, so every verdict below is provisional**." if fewest < HEADLINE_SEEDS
           else f"every agent has >= {HEADLINE_SEEDS}."),
        "",
        "## Table 1: causal structure learning (against Table 3's 94 edges, mean ± std over seeds)",
        "",
        "F1 / precision / recall / SHD against the true edges; closure F1 against the true graph's transitive closure",
        "(the closure alone scores F1 0.855 against the true edges, so F1 near it is no better than learning ancestors).",
        "",
        *table1,
        "",
        f"Target: F1 >= {TARGET_F1} and SHD <= {TARGET_SHD} after {timesteps} env steps, from both starts; "
        "mean F1 / SHD: " + "; ".join(targets) + ".",
        "",
        "## Fig. 3: policy learning (mean [95% CI] over seeds)",
        "",
        "Final policy: deterministic evaluation episodes after training (causal agents with their final graph and",
        "eta = 0). Training: mean over every training episode (the area under the Fig. 3 curves: sample efficiency).",
        "",
        *summary_table(summary, (*AGENTS, *PRIVILEGED), FIG3),
        *_baseline_tables(summary, meta.get("values", {})),
        "",
        "### Training throughput: causal agent / vanilla agent (env steps/s, mean over seeds; target >= 70%)",
        "",
        *table(throughput, {"causal": lambda t: t[0], "vanilla": lambda t: t[1], "causal steps/s": lambda t:
                            f"{t[2]:.0f}", "vanilla steps/s": lambda t: f"{t[3]:.0f}", "ratio": lambda t:
                            f"{t[2] / t[3]:.0%}"}),
        "",
        "The runs share two cores with the other runs of the grid; `benchmarks/causal_overhead.py` measures the",
        "same ratio with each pair run back to back on one core.",
        "",
        "![Fig. 3 panels](fig3.png)",
        "",
    ]  # fmt: skip
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------- README block
def readme_block(summary: dict[str, Any], initial: dict[str, list[dict[str, float]]], meta: dict[str, Any],
                 values: dict[str, dict[str, list[float]]]) -> str:  # fmt: skip
    """The README's FaultAlarm block: Table 1 and Fig. 3 headline numbers and the comparisons against vanilla RL and
    the no-learning mask baselines, every one computed from the result files (the same summary as report.md)."""

    def graphs(agents: Sequence[str]) -> str:
        met = [a for a in agents if meets_graph_target(summary, a)]
        return (", ".join(graph_text(summary, a) for a in agents)
                + f" (target F1 >= {TARGET_F1} and SHD <= {TARGET_SHD}: met by {len(met)} of {len(agents)})")  # fmt: skip

    def rewards(agents: Sequence[str]) -> str:
        return ", ".join(interval_text(summary.get(a, {}).get(REWARD)) for a in agents)

    causal = [a for a in VANILLA_OF if a in summary]
    beats_vanilla = [a for a in causal if compared(summary, a, VANILLA_OF[a], REWARD) == "yes"]
    beats = {b: [a for a in causal if compared(summary, a, b, REWARD) == "yes"] for b in MASK_BASELINES}
    beats_all = [a for a in causal if all(a in beats[b] for b in MASK_BASELINES)]
    poi = [p for p in (improvement(values, a, "mask-random-online", REWARD) for a in causal) if p is not None]
    thp = [row["f1"] for row in initial.get("thp", []) if "f1" in row]
    seeds = sorted({seeds_of(summary, a) for a in summary if seeds_of(summary, a)})
    rows = [
        (f"Cai et al. Table 1: F1 / SHD of the learned alarm graph (94 true edges), causal PPO / DQN / D3QN, THP start, "
         f"{meta['timesteps']} env steps", graphs(THP_AGENTS),
         "paper F1 " + " / ".join(f"{PAPER_TABLE1[a][0][0]:.3f}" for a in THP_AGENTS)),
        ("same, random start", graphs(RANDOM_AGENTS),
         "paper F1 " + " / ".join(f"{PAPER_TABLE1[a][0][0]:.3f}" for a in RANDOM_AGENTS)),
        ("same learner without RL (random actions inside its causal mask)", graph_text(summary, "mask-random-online"),
         "-"),
        ("Cai et al. Table 1: THP start graph F1 (2000 passive alarms, decay and penalty chosen from the data)",
         mean_std_text(thp), "paper {:.3f} ± {:.3f}".format(*PAPER_TABLE1["THP (initial graph)"][0])),
        ("Cai et al. Fig. 3: final evaluation reward, causal PPO / DQN / D3QN vs PPO / DQN / D3QN",
         f"{rewards(THP_AGENTS)} vs {rewards([VANILLA_OF[a] for a in THP_AGENTS])}; CIs separated (causal better) for "
         f"{len(beats_vanilla)} of {len(causal)} causal agents", "paper: causal better"),
        ("final evaluation reward without RL: random actions inside the causal mask of the THP / online-learned / true "
         "graph; oracle", f"{rewards(MASK_BASELINES)}; oracle {rewards(['oracle'])}", "-"),
        ("causal agents vs those no-learning mask baselines (final evaluation reward)",
         f"CI separated above mask-random-online for {len(beats['mask-random-online'])} of {len(causal)} causal agents "
         f"({', '.join(beats['mask-random-online']) or 'none'}), above all three for {len(beats_all)}; probability of "
         f"improvement over mask-random-online (rliable) {min(poi):.2f}-{max(poi):.2f}" if poi else "-", "-"),
    ]  # fmt: skip
    return "\n".join([
        f"Seeds per agent: {'/'.join(map(str, seeds))}; intervals: {INTERVAL_METHOD}"
        + (f" (**fewer than {HEADLINE_SEEDS} seeds: provisional**)" if min(seeds, default=0) < HEADLINE_SEEDS else "")
        + ". Details: `benchmarks/results/faultalarm/report.md`.",
        "",
        *markdown_table(("result", "ours", "reference"), rows),
    ])  # fmt: skip


def old_defaults_lines(
    old: dict[str, Any], new: dict[str, Any], values: dict[str, dict[str, list[float]]]
) -> list[str]:
    """The grid run with the previous defaults (old) beside the main grid (new): seeds, graph F1 / SHD and final
    evaluation reward, and against each mask baseline of the new grid whether the agent's CI is separated above
    (yes / no / worse) and rliable's probability of improvement."""
    rows = []
    for agent in (a for a in (*THP_AGENTS, "mask-random-online") if a in new):
        verdicts = [
            "-" if agent == b or b not in new else
            f"{compared(new, agent, b, REWARD)}; {improvement(values, agent, b, REWARD):.2f}" for b in MASK_BASELINES
        ]  # fmt: skip
        rows.append([agent, f"{seeds_of(old, agent)} -> {seeds_of(new, agent)}",
                     f"{graph_text(old, agent)} -> {graph_text(new, agent)}",
                     f"{interval_text(old.get(agent, {}).get(REWARD))} -> {interval_text(new.get(agent, {}).get(REWARD))}",
                     " / ".join(verdicts)])  # fmt: skip
    header = ("agent", "seeds old -> new", "graph F1 / SHD old -> new", "final evaluation reward old -> new",
              "new, against " + " / ".join(MASK_BASELINES) + ": CI separated above; P(better)")  # fmt: skip
    return [
        f"The grid above runs the defaults re-chosen on tuning models; the grid with the previous defaults "
        f"(`benchmarks/results/faultalarm/{OLD_DEFAULTS_DIR}/report.md`) beside it, old -> new:",
        "",
        *markdown_table(header, rows),
    ]


def readme_text(out_dir: str | Path | None = None) -> str:
    """The README block from the result files: the main grid (`readme_block`) and, when its folder exists, the grid
    with the previous defaults beside it (`old_defaults_lines`)."""
    out = Path(out_dir or DEFAULT_OUT)
    summary, initial, meta, values = load_results(out)
    text = readme_block(summary, initial, meta, values)
    if (out / OLD_DEFAULTS_DIR / "results.csv").exists():
        text += "\n\n" + "\n".join(old_defaults_lines(load_results(out / OLD_DEFAULTS_DIR)[0], summary, values))
    return text


def write_report(out_dir: str | Path, update_readme: bool = True) -> dict[str, Any]:
    """summary.json and report.md from the result files of `out_dir` (`load_results`); returns the summary. With
    `update_readme`, the README's block is rewritten from the same files (the default output folder only)."""
    out = Path(out_dir)
    summary, initial, meta, values = load_results(out)
    atomic_write_json(out / "summary.json", summary)
    atomic_write_text(out / "report.md", report(summary, initial, {**meta, "values": values}))
    if update_readme and out.resolve() == DEFAULT_OUT.resolve():
        replace_block(README_BLOCK, readme_text(out))
    return summary


# ---------------------------------------------------------------------------------------------------- the paper
class FaultAlarm(Paper):
    """`train.py reproduce faultalarm`: 15000 env steps per run (3000 with --quick), 30 evaluation episodes."""

    name = "faultalarm"
    seeds = tuple(range(10))

    def grid(self, job: Reproduction) -> list[RunConfig]:
        timesteps = job.timesteps or (3_000 if job.quick else 15_000)
        return grid(job.out, job.seeds, timesteps, 30 if job.eval_episodes is None else job.eval_episodes)

    def report(self, job: Reproduction, runs: list[dict[str, Any]], timing: Timing) -> Path:
        """results.csv, curves.csv, fig3.png, graph_initial.csv, meta.json, summary.json and report.md."""
        configs = self.grid(job)
        timesteps = configs[0].timesteps
        write_outputs(configs, runs, job.out, f"FaultAlarm-v0, {len(job.seeds)} seeds, {timesteps} steps per run")
        atomic_write_text(job.out / "graph_initial.csv", csv_text(long_rows(runs, INITIAL_GRAPH_KEYS)))
        atomic_write_json(job.out / "meta.json", {"command": job.command, "seeds": list(job.seeds), "timesteps": timesteps,
                                                  "wall_minutes": timing.wall_minutes, "machine": platform.machine()})  # fmt: skip
        write_report(job.out)
        return job.out / "report.md"


PAPER = FaultAlarm()

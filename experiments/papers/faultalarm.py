"""Reproduction of Cai et al., "Learning by Doing: An Online Causal Reinforcement Learning Framework with Causal-Aware
Policy", Table 1 and Fig. 3: causal PPO / DQN / D3QN (THP and random initial graphs) against their vanilla versions, the
unmasked SB3 baselines and the no-learning baselines (random actions inside the causal mask of the THP graph, of a graph
learned online without RL, and of the true graph; random actions among active alarms; the oracle) on FaultAlarm-v0; a
Markdown report beside the paper's numbers.

Every output is written from the result files (`write_report`): results.csv (long), graph_initial.csv and meta.json,
so a report and the README block can be rewritten without running anything."""

from __future__ import annotations

import json
import platform
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

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
    read_csv,
    read_long,
    runs_of,
    section,
    seed_summary,
    summarize,
    summary_table,
    table,
    verdict,
    write_outputs,
)
from dogym.experiments.report import compared as _compared
from dogym.experiments.runner import RunConfig

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
#: The grid runs cheapest first (an interrupted reproduction has the most cells done): the no-learning baselines, then
#: DQN-style agents, then PPO agents (50-epoch updates). Algorithm -> rank (1 when not listed).
COST = {"reference": 0, "MaskablePPO": 2, "PPO": 2}
#: Table 1 of the paper (faultalarm_paper.csv): method -> "paper f1" / "paper precision" / "paper recall" -> the mean
#: and std over its 4 seeds.
PAPER_TABLE1 = {row["method"]: {f"paper {m}": {"mean": float(row[m]), "std": float(row[f"{m} std"])}
                                for m in ("f1", "precision", "recall")}
                for row in read_csv(Path(__file__).with_name("faultalarm_paper.csv"))}  # fmt: skip
#: Headline comparisons (Fig. 3, causal agents against the mask baselines) need at least this many seeds; with fewer
#: the report marks its verdicts provisional.
HEADLINE_SEEDS = 10
#: The reproduction's target for the graphs the causal agents learn (94 true edges).
TARGET_F1, TARGET_SHD = 0.95, 6
GRAPH_METRICS = ("f1", "precision", "recall", "shd", "f1_closure")
REWARD = "eval/reward_mean"
#: The policy metrics the causal agents are compared on (Fig. 3): header -> key; their directions are the family's
#: (`higher_is_better`).
POLICY_METRICS = {"eval reward": REWARD, "eval steps": "eval/steps_mean", "eval alarms/step": "eval/mean_alarms_mean",
                  "train reward": "train/reward_mean", "train steps": "train/steps_mean",
                  "train alarms/step": "train/mean_alarms_mean"}  # fmt: skip
DEFAULT_OUT = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / "faultalarm"
#: The grid run with the previous defaults, inside the default output folder (the README compares it with the main
#: grid).
OLD_DEFAULTS_DIR = "old-defaults"


# ---------------------------------------------------------------------------------------------------- the paper
class FaultAlarm(Paper):
    """`train.py reproduce faultalarm`: 15000 env steps per run (3000 with --quick), 30 evaluation episodes."""

    name = "faultalarm"
    seeds = tuple(range(10))

    def grid(self, job: Reproduction) -> list[RunConfig]:
        """Every (agent, seed) run, cheapest first (`COST`)."""
        common = {"timesteps": job.timesteps or (3_000 if job.quick else 15_000), "log_folder": str(job.out / "runs"),
                  "eval_episodes": 30 if job.eval_episodes is None else job.eval_episodes}  # fmt: skip
        runs = [RunConfig(agent, seed=seed, **common) for agent in AGENTS for seed in job.seeds]
        for label, (agent, overrides) in PRIVILEGED.items():
            runs += [RunConfig(agent, seed=seed, hyperparams=overrides, env_kwargs={"debug_info": True}, label=label,
                               **common) for seed in job.seeds]  # fmt: skip
        return sorted(runs, key=lambda config: COST.get(config.spec.options["algorithm"], 1))

    def report(self, job: Reproduction, runs: list[dict[str, Any]], timing: Timing) -> Path:
        """results.csv, curves.csv, fig3.png, graph_initial.csv, meta.json, summary.json and report.md."""
        configs = self.grid(job)
        timesteps = configs[0].timesteps
        write_outputs(configs, runs, job.out, f"FaultAlarm-v0, {len(job.seeds)} seeds, {timesteps} steps per run")
        initial = long_rows(runs, [f"graph_initial/{m}" for m in GRAPH_METRICS])
        atomic_write_text(job.out / "graph_initial.csv", csv_text(initial))
        meta = {"command": job.command, "seeds": list(job.seeds), "timesteps": timesteps,
                "wall_minutes": timing.wall_minutes, "machine": platform.machine()}  # fmt: skip
        atomic_write_json(job.out / "meta.json", meta)
        write_report(job.out)
        return job.out / "report.md"


PAPER = FaultAlarm()


# ---------------------------------------------------------------------------------------------------- result files
class Results(NamedTuple):
    """A result folder (`load_results`) and what the report asks of it: its summary (agent -> metric ->
    `seed_summary`), the per-seed values of results.csv and of the initial graphs' scores (agent -> metric -> values in
    seed order), and meta.json (the invocation that computed the runs)."""

    summary: dict[str, dict[str, Any]]
    values: dict[str, dict[str, list[float]]]
    initial: dict[str, dict[str, list[float]]]
    meta: dict[str, Any]

    def compared(self, agent: str, other: str, key: str) -> str:
        """`report.compared` in the family's direction of `key`: "yes" when `agent`'s 95% CI is separated from
        `other`'s on the better side, "worse" when on the worse side, "no" when they overlap, "-" without both."""
        return _compared(self.summary, agent, other, key, higher_is_better("fault_alarm", key))

    def improvement(self, agent: str, other: str, key: str) -> float | None:
        """rliable's probability of improvement P(agent better than other) on one metric's per-seed values, in the
        family's direction of `key` (None without both)."""
        a, b = self.values.get(agent, {}).get(key), self.values.get(other, {}).get(key)
        sign = 1.0 if higher_is_better("fault_alarm", key) else -1.0
        return probability_of_improvement(sign * np.asarray(a), sign * np.asarray(b)) if a and b else None

    def graph_text(self, agent: str) -> str:
        """The text "F1 / SHD" of the agent's final graph (means over seeds); "-" without one."""
        f1, shd = self.summary.get(agent, {}).get("graph_final/f1"), self.summary.get(agent, {}).get("graph_final/shd")
        return "-" if not (f1 and shd) else f"{f1['mean']:.3f} / {shd['mean']:.1f}"

    def meets_graph_target(self, agent: str) -> bool | None:
        """Whether the agent's mean final graph meets F1 >= TARGET_F1 and SHD <= TARGET_SHD (None without a graph)."""
        f1, shd = self.summary.get(agent, {}).get("graph_final/f1"), self.summary.get(agent, {}).get("graph_final/shd")
        return None if not (f1 and shd) else f1["mean"] >= TARGET_F1 and shd["mean"] <= TARGET_SHD

    def seeds(self, agent: str) -> int:
        """How many seeds the agent's final evaluation reward has (0 when it has none)."""
        return self.summary.get(agent, {}).get(REWARD, {}).get("n", 0)

    def reward_text(self, agent: str) -> str:
        """The agent's final evaluation reward, mean [95% CI]."""
        return interval_text(self.summary.get(agent, {}).get(REWARD))


def load_results(out_dir: str | Path) -> Results:
    """The `Results` of `out_dir` (results.csv, graph_initial.csv or curves.csv, meta.json)."""
    out, fault_alarm = Path(out_dir), family("fault_alarm")
    values = read_long(out / "results.csv")
    if not values:
        raise ValueError(f"no results.csv with rows in {out}")
    summary = summarize(runs_of(values, "dogym/FaultAlarm-v0"), list(fault_alarm.metrics), fault_alarm.supports)
    initial = read_long(out / "graph_initial.csv") or _initial_from_curves(out)
    return Results(summary, values, initial, json.loads((out / "meta.json").read_text(encoding="utf-8")))


def _initial_from_curves(out: Path) -> dict[str, dict[str, list[float]]]:
    """The initial graphs' F1 per seed from curves.csv (the first "graph" row of each run), for result folders written
    before graph_initial.csv existed."""
    first: dict[tuple[str, int], float] = {}
    for row in read_csv(out / "curves.csv") if (out / "curves.csv").exists() else []:
        if row["kind"] == "graph" and row["f1"]:
            first.setdefault((row["agent"], int(row["seed"])), float(row["f1"]))
    agents = dict.fromkeys(agent for agent, _ in sorted(first))
    return {a: {"graph_initial/f1": [f1 for (b, _), f1 in sorted(first.items()) if b == a]} for a in agents}


# ---------------------------------------------------------------------------------------------------- report
#: Table 1's columns after the method: header -> (metric, format: mean ± std), ours then the paper's.
TABLE1 = {"F1": ("f1", "ms"), "precision": ("precision", "ms"), "recall": ("recall", "ms"), "SHD": ("shd", "ms1"),
          "closure F1": ("f1_closure", "ms"), "paper F1": ("paper f1", "ms"),
          "paper precision": ("paper precision", "ms"), "paper recall": ("paper recall", "ms")}  # fmt: skip
#: Fig. 3's columns: header -> (metric, format: mean [95% CI], seeds, or the mean's format).
FIG3 = {"n": (REWARD, "n"), "eval reward": (REWARD, "ci"), "eval steps": ("eval/steps_mean", "ci"),
        "eval alarms/step": ("eval/mean_alarms_mean", "ci"), "eval cleared": ("eval/cleared_rate", "ci"),
        "train reward": ("train/reward_mean", "ci"), "train steps": ("train/steps_mean", "ci"),
        "train alarms/step": ("train/mean_alarms_mean", "ci"), "env steps/s": ("steps_per_second", ".0f")}  # fmt: skip


def graph_table(results: Results) -> list[str]:
    """Table 1: each start's initial graph (THP: causal-ppo's runs; random: causal-ppo-random's), then the final graphs
    learned from it (by the causal agents, and by the same learner without RL), mean ± std over seeds, beside the
    paper's."""
    rows: dict[str, dict[str, Any]] = {}
    for start, first, agents in (("THP (initial graph)", "causal-ppo", (*THP_AGENTS, "mask-random-online", *PRIVILEGED)),
                                 ("Random initial graph", "causal-ppo-random", RANDOM_AGENTS)):  # fmt: skip
        graphs = [(start, {k: seed_summary(v) for k, v in results.initial.get(first, {}).items()})]
        graphs += [(a if a in PAPER_TABLE1 or a in PRIVILEGED else f"{a} (no RL)", results.summary.get(a, {}))
                   for a in agents]  # fmt: skip
        for name, stats in graphs:
            rows[name] = {**{k.partition("/")[2]: s for k, s in stats.items() if k.startswith("graph_")},
                          **PAPER_TABLE1.get(name, {})}  # fmt: skip
    return summary_table(rows, rows, TABLE1, first="method")


def pair_table(pairs: Sequence[Sequence[Any]], other: str, columns: dict[str, Callable[[Any], Any]]) -> list[str]:
    """A table of (causal agent, other agent, ...) pairs: the causal agent, the other (header `other`), `columns`."""
    return table(pairs, {"causal": lambda p: p[0], other: lambda p: p[1], **columns})


def report(results: Results) -> str:
    """The Markdown report: Table 1 beside the paper's, the policy comparison with CIs and verdicts (against vanilla RL
    and the no-learning mask baselines), throughput."""
    summary, meta = results.summary, results.meta
    timesteps, fewest = meta["timesteps"], min((s[REWARD]["n"] for s in summary.values() if REWARD in s), default=0)
    targets = [f"{a} {results.graph_text(a)} ({verdict(met)})" for a in (*THP_AGENTS, *RANDOM_AGENTS)
               if (met := results.meets_graph_target(a)) is not None]  # fmt: skip
    vanilla = [(c, v) for c, v in VANILLA_OF.items() if c in summary and v in summary]
    pairs = [(c, b) for c in VANILLA_OF for b in MASK_BASELINES if c in summary and b in summary]
    sps = {a: s["steps_per_second"]["mean"] for a, s in summary.items() if s.get("steps_per_second")}
    throughput = [(c, v, sps[c], sps[v]) for c, v in VANILLA_OF.items() if c in sps and v in sps]
    code = f"Code: commit {meta['code_version']}. " if meta.get("code_version") else ""
    head = (f"Command: `{meta['command']}`; seeds {list(meta['seeds'])}; {timesteps} env steps per run; wall time "
            f"{meta['wall_minutes']:.1f} min for the runs made by that invocation ({meta['machine']}, one thread per "
            f"run). {code}Written by `dogym.experiments.papers.faultalarm.write_report` from `results.csv` and the "
            "initial graphs' scores (`graph_initial.csv`; older folders: F1 only, from `curves.csv`).")  # fmt: skip
    provisional = (f"**the fewest here is {fewest}, so every verdict below is provisional**." if fewest < HEADLINE_SEEDS
                   else f"every agent has >= {HEADLINE_SEEDS}.")  # fmt: skip
    intervals = (f"Intervals: {INTERVAL_METHOD}; n is the number of seeds per agent. Headline comparisons need >= "
                 f"{HEADLINE_SEEDS} seeds: {provisional}")  # fmt: skip
    better = {h: (lambda p, k=k: {"yes": "yes", "-": "-"}.get(results.compared(*p, k), "**no**"))
              for h, k in POLICY_METRICS.items()}  # fmt: skip
    poi = {f"P(better) {label}": (lambda p, k=k: "-" if (x := results.improvement(*p, k)) is None else f"{x:.2f}")
           for k, label in ((REWARD, "eval reward"), ("train/reward_mean", "train reward"))}  # fmt: skip
    speeds = {"causal steps/s": lambda t: f"{t[2]:.0f}", "vanilla steps/s": lambda t: f"{t[3]:.0f}",
              "ratio": lambda t: f"{t[2] / t[3]:.0%}"}  # fmt: skip
    return "\n".join([
        *section("Cai et al. on FaultAlarm-v0: Table 1 and Fig. 3", head, intervals, level=1),
        *section("Table 1: causal structure learning (against Table 3's 94 edges, mean ± std over seeds)",
                 ["F1 / precision / recall / SHD against the true edges; closure F1 against the true graph's transitive "
                  "closure", "(the closure alone scores F1 0.855 against the true edges, so F1 near it is no better "
                  "than learning ancestors)."], graph_table(results),
                 f"Target: F1 >= {TARGET_F1} and SHD <= {TARGET_SHD} after {timesteps} env steps, from both starts; "
                 "mean F1 / SHD: " + "; ".join(targets) + "."),
        *section("Fig. 3: policy learning (mean [95% CI] over seeds)",
                 ["Final policy: deterministic evaluation episodes after training (causal agents with their final graph "
                  "and", "eta = 0). Training: mean over every training episode (the area under the Fig. 3 curves: "
                  "sample efficiency)."], summary_table(summary, (*AGENTS, *PRIVILEGED), FIG3)),
        *section("Causal vs vanilla: are the 95% CIs separated (causal better)?", pair_table(vanilla, "vanilla", better),
                 level=3),
        *section("Causal agents vs the no-learning mask baselines: is the causal agent's 95% CI separated, on the "
                 "better side?", '"yes": the RL policy beats random actions inside that mask; "no": the CIs overlap '
                 '(the mask explains the score); "worse": the baseline is better.',
                 pair_table(pairs, "baseline", {h: (lambda p, k=k: results.compared(*p, k)) for h, k in POLICY_METRICS.items()}),
                 level=3),
        *section("Probability of improvement of each causal agent over the mask baselines (rliable)",
                 "P(X > Y) over the causal agent's and the baseline's seeds (ties count half; 0.5 = no difference; "
                 "rliable's `probability_of_improvement`, Agarwal et al. 2021).", pair_table(pairs, "baseline", poi),
                 level=3),
        *section("Training throughput: causal agent / vanilla agent (env steps/s, mean over seeds; target >= 70%)",
                 pair_table(throughput, "vanilla", speeds),
                 ["The runs share two cores with the other runs of the grid; `benchmarks/causal_overhead.py` measures "
                  "the", "same ratio with each pair run back to back on one core."], "![Fig. 3 panels](fig3.png)",
                 level=3),
    ])  # fmt: skip


# ---------------------------------------------------------------------------------------------------- README block
def readme_block(results: Results) -> str:
    """The README's FaultAlarm block: Table 1 and Fig. 3 headline numbers and the comparisons against vanilla RL and
    the no-learning mask baselines, every one computed from the result files (the same summary as report.md)."""
    summary = results.summary

    def graphs(agents: Sequence[str]) -> str:
        met = [a for a in agents if results.meets_graph_target(a)]
        return (", ".join(results.graph_text(a) for a in agents)
                + f" (target F1 >= {TARGET_F1} and SHD <= {TARGET_SHD}: met by {len(met)} of {len(agents)})")  # fmt: skip

    def rewards(agents: Sequence[str]) -> str:
        return ", ".join(results.reward_text(a) for a in agents)

    def paper_f1(agents: Sequence[str]) -> str:
        return "paper F1 " + " / ".join(f"{PAPER_TABLE1[a]['paper f1']['mean']:.3f}" for a in agents)

    causal = [a for a in VANILLA_OF if a in summary]
    beats_vanilla = [a for a in causal if results.compared(a, VANILLA_OF[a], REWARD) == "yes"]
    beats = {b: [a for a in causal if results.compared(a, b, REWARD) == "yes"] for b in MASK_BASELINES}
    beats_all = [a for a in causal if all(a in beats[b] for b in MASK_BASELINES)]
    poi = [p for p in (results.improvement(a, "mask-random-online", REWARD) for a in causal) if p is not None]
    seeds = sorted({results.seeds(a) for a in summary} - {0})
    rows = [
        (f"Cai et al. Table 1: F1 / SHD of the learned alarm graph (94 true edges), causal PPO / DQN / D3QN, THP start, "
         f"{results.meta['timesteps']} env steps", graphs(THP_AGENTS), paper_f1(THP_AGENTS)),
        ("same, random start", graphs(RANDOM_AGENTS), paper_f1(RANDOM_AGENTS)),
        ("same learner without RL (random actions inside its causal mask)", results.graph_text("mask-random-online"),
         "-"),
        ("Cai et al. Table 1: THP start graph F1 (2000 passive alarms, decay and penalty chosen from the data)",
         mean_std_text(results.initial.get("causal-ppo", {}).get("graph_initial/f1", [])),
         "paper {mean:.3f} ± {std:.3f}".format(**PAPER_TABLE1["THP (initial graph)"]["paper f1"])),
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


def readme_text(out_dir: str | Path = DEFAULT_OUT) -> str:
    """The README block from the result files (`readme_block`) and, when its folder exists, the grid run with the
    previous defaults (old) beside the main grid (new): seeds, graph F1 / SHD and final evaluation reward, and against
    each mask baseline of the new grid whether the agent's CI is separated above (yes / no / worse) and rliable's
    probability of improvement."""
    out = Path(out_dir)
    new = load_results(out)
    if not (out / OLD_DEFAULTS_DIR / "results.csv").exists():
        return readme_block(new)
    old = load_results(out / OLD_DEFAULTS_DIR)

    def old_new(text: Callable[[Results, str], Any]) -> Callable[[str], str]:
        return lambda agent: f"{text(old, agent)} -> {text(new, agent)}"

    def verdicts(agent: str) -> str:
        return " / ".join("-" if agent == b or b not in new.summary else
                          f"{new.compared(agent, b, REWARD)}; {new.improvement(agent, b, REWARD):.2f}"
                          for b in MASK_BASELINES)  # fmt: skip

    return "\n".join([
        readme_block(new),
        "",
        f"The grid above runs the defaults re-chosen on tuning models; the grid with the previous defaults "
        f"(`benchmarks/results/faultalarm/{OLD_DEFAULTS_DIR}/report.md`) beside it, old -> new:",
        "",
        *table([a for a in (*THP_AGENTS, "mask-random-online") if a in new.summary], {
            "agent": str, "seeds old -> new": old_new(Results.seeds),
            "graph F1 / SHD old -> new": old_new(Results.graph_text),
            "final evaluation reward old -> new": old_new(Results.reward_text),
            "new, against " + " / ".join(MASK_BASELINES) + ": CI separated above; P(better)": verdicts}),
    ])  # fmt: skip


def write_report(out_dir: str | Path) -> dict[str, Any]:
    """summary.json and report.md from the result files of `out_dir` (`load_results`); returns the summary. In the
    default output folder, the README's "faultalarm" block too (`readme_text`)."""
    out = Path(out_dir)
    results = load_results(out)
    atomic_write_json(out / "summary.json", results.summary)
    atomic_write_text(out / "report.md", report(results))
    if out.resolve() == DEFAULT_OUT.resolve():
        replace_block("faultalarm", readme_text(out))
    return results.summary

"""What a grid of runs adds up to, for any family: a long-format CSV, summaries with confidence intervals, curves,
each family's figures, and a fixed-width table.

Metrics are the "phase/metric" keys each family declares (`Family.metrics`, with their directions); summaries give,
per agent (and env) and metric, the mean, std and IQM over seeds and the project's one interval method,
`INTERVAL_METHOD` (a Student-t 95% confidence interval of the mean over seeds, `mean_interval`); metrics are never
pooled across envs. Every report names the method through `INTERVAL_METHOD`. `probability_of_improvement` is
rliable's (Agarwal et al., "Deep Reinforcement Learning at the Edge of the Statistical Precipice").

Paper reproductions declare their outputs and these helpers render them: a Markdown `section`, a `table` declared as
header -> cell of a row (`summary_table` for a summary: header -> (metric, format); `pivot_table` for rows x
columns), `target(name, measured, met)` rows for `targets_table`, and a `figure` of `Panel`s of `Line`s.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from dogym.agents.intervals import INTERVAL_METHOD, mean_interval, seed_summary  # noqa: F401  (re-exported: the reports name them here)
from dogym.agents.io import atomic_write_json, atomic_write_text, csv_text
from dogym.agents.registry import family
from dogym.experiments.runner import RunConfig


def metric_value(run: Mapping[str, Any], key: str) -> float | None:
    """The value of "phase/metric" (or a top-level "metric") in a run's metrics, or None."""
    phase, _, metric = key.rpartition("/")
    source = run.get(phase) if phase else run
    if not isinstance(source, Mapping) or metric not in source or source[metric] is None:
        return None
    return float(source[metric])


def metric_keys(configs: Sequence[RunConfig]) -> list[str]:
    """Every metric key the configs' families report, in their reporting order."""
    return list(dict.fromkeys(k for c in configs for k in family(c.spec.family).metrics))


def metric_supports(configs: Sequence[RunConfig]) -> dict[str, tuple[float, float]]:
    """The range of each metric key the configs' families bound (`Family.supports`)."""
    return {k: v for name in dict.fromkeys(c.spec.family for c in configs) for k, v in family(name).supports.items()}


def long_rows(runs: Sequence[Mapping[str, Any]], keys: Sequence[str]) -> list[dict[str, Any]]:
    """One row per (run, metric) that the run has."""
    rows = []
    for run in runs:
        for key in keys:
            value = metric_value(run, key)
            if value is not None:
                phase, _, metric = key.rpartition("/")
                rows.append({"agent": run["label"], "env": run["env"], "seed": run["seed"], "phase": phase or "run",
                             "metric": metric, "value": value})  # fmt: skip
    return rows


def probability_of_improvement(x: Sequence[float], y: Sequence[float]) -> float:
    """P(X > Y): the probability that a run of X scores above a run of Y (ties count half), rliable's
    `probability_of_improvement` for one task (larger is better; negate both for smaller-is-better metrics)."""
    from rliable import metrics

    x, y = np.asarray(x, dtype=float).reshape(-1, 1), np.asarray(y, dtype=float).reshape(-1, 1)
    if x.size == 0 or y.size == 0:
        raise ValueError("need at least one run of each")
    return float(metrics.probability_of_improvement(x, y))


def summarize(
    runs: Sequence[Mapping[str, Any]], keys: Sequence[str], supports: Mapping[str, tuple[float, float]] | None = None
) -> dict[str, dict[str, Any]]:
    """Per agent (per agent and env when the runs span several envs, named "agent @ env") and metric: n, mean, std,
    IQM and the `INTERVAL_METHOD` interval of the mean (`seed_summary`), clipped to the metric's range in `supports`.
    Metrics are never pooled across envs: their scales differ."""
    supports = supports or {}
    several = len({r["env"] for r in runs}) > 1
    groups = {(r["label"], r["env"]): f"{r['label']} @ {r['env']}" if several else r["label"] for r in runs}
    out: dict[str, dict[str, Any]] = {name: {} for name in groups.values()}
    for key in keys:
        for (agent, env), name in groups.items():
            values = [metric_value(r, key) for r in runs if r["label"] == agent and r["env"] == env]
            values = [v for v in values if v is not None]
            if values:
                out[name][key] = seed_summary(values, supports.get(key, (-np.inf, np.inf)))
    return out


def curve_rows(configs: Sequence[RunConfig]) -> list[dict[str, Any]]:
    """Every run's curves (its family's `curves`), labelled with the run's label."""
    rows = []
    for config in configs:
        rows += [{**row, "agent": config.label} for row in family(config.spec.family).curves(config.context())]
    return rows


def headline_keys(configs: Sequence[RunConfig]) -> list[str]:
    """The metrics `compare` prints: every family's headline keys, in order."""
    return list(dict.fromkeys(k for c in configs for k in family(c.spec.family).headline))


def format_summary(summary: Mapping[str, Mapping[str, Any]], keys: Sequence[str]) -> str:
    """A fixed-width table: mean [95% CI] per agent and metric (`INTERVAL_METHOD`)."""
    width = max(30, *(len(k) + 2 for k in keys))
    name_width = max(20, *(len(name) + 2 for name in summary)) if summary else 20
    header = f"{'agent':<{name_width}}" + "".join(f"{k:>{width}}" for k in keys)
    lines = [header, "-" * len(header)]
    for agent, stats in summary.items():
        cells = []
        for key in keys:
            s = stats.get(key)
            cells.append(f"{s['mean']:>10.3g} [{s['mean_ci95'][0]:.3g}, {s['mean_ci95'][1]:.3g}]" if s else "-")
        lines.append(f"{agent:<{name_width}}" + "".join(f"{c:>{width}}" for c in cells))
    return "\n".join(lines)


def write_outputs(
    configs: Sequence[RunConfig], runs: Sequence[Mapping[str, Any]], out_dir: Path, title: str = ""
) -> dict[str, dict[str, Any]]:
    """results.csv (long), curves.csv, summary.json and every family's figures under `out_dir`; returns the
    summary."""
    out_dir = Path(out_dir)
    keys = metric_keys(configs)
    summary = summarize(runs, keys, metric_supports(configs))
    atomic_write_text(out_dir / "results.csv", csv_text(long_rows(runs, keys)))
    curves = curve_rows(configs)
    if curves:
        atomic_write_text(out_dir / "curves.csv", csv_text(curves))
    for name in dict.fromkeys(c.spec.family for c in configs):
        family(name).plot(curves, out_dir, title)
    atomic_write_json(out_dir / "summary.json", summary)
    return summary


# ---------------------------------------------------------------------------------------------------- report text
def interval_text(stats: Mapping[str, Any] | None, digits: int = 2) -> str:
    """A `seed_summary` entry as "mean [low, high]" (`INTERVAL_METHOD`); "-" when missing."""
    if not stats:
        return "-"
    low, high = stats["mean_ci95"]
    return f"{stats['mean']:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def mean_std_text(values: Sequence[float] | np.ndarray, digits: int = 3) -> str:
    """ "mean ± std" of `values` (population std); "-" when there are none."""
    values = np.asarray(values, dtype=float).reshape(-1)
    return f"{values.mean():.{digits}f} ± {values.std():.{digits}f}" if values.size else "-"


def verdict(met: bool | None) -> str:
    """A target's verdict cell: "met", "**missed**", or "-" when it could not be checked."""
    return "-" if met is None else ("met" if met else "**missed**")


def separated(a: Mapping[str, Any], b: Mapping[str, Any], larger_is_better: bool = True) -> bool:
    """Whether `a`'s interval (a `seed_summary` entry) lies entirely on the better side of `b`'s."""
    if larger_is_better:
        return a["mean_ci95"][0] > b["mean_ci95"][1]
    return a["mean_ci95"][1] < b["mean_ci95"][0]


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    """A Markdown table's lines: the header, its rule, one line per row (cells as `str`)."""
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + [
        "| " + " | ".join(str(c) for c in row) + " |" for row in rows
    ]


def pyplot() -> Any:
    """matplotlib.pyplot on the non-interactive Agg backend (figures are written to files)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


# ---------------------------------------------------------------------------------------------------- declarations
# A paper module declares its outputs; these helpers render them. A table is rows x columns (header -> cell of a
# row), a target is (name, measured, met), a figure is panels of lines.
def group(items: Iterable[Any], key: Callable[[Any], Any]) -> dict[Any, list[Any]]:
    """`items` grouped by `key(item)`, groups and items in first-seen order."""
    out: dict[Any, list[Any]] = {}
    for item in items:
        out.setdefault(key(item), []).append(item)
    return out


def section(title: str, *blocks: str | Sequence[str], level: int = 2) -> list[str]:
    """A Markdown section's lines: the heading, then each block (a paragraph, or a list of lines such as a table)
    followed by an empty line."""
    lines = ["#" * level + " " + title, ""]
    for block in blocks:
        lines += [block] if isinstance(block, str) else list(block)
        lines.append("")
    return lines


def table(rows: Iterable[Any], columns: Mapping[str, Callable[[Any], Any]]) -> list[str]:
    """A Markdown table declared by its columns: header -> the cell of a row (`str` applied)."""
    return markdown_table(tuple(columns), [[cell(row) for cell in columns.values()] for row in rows])


def summary_table(
    summary: Mapping[str, Mapping[str, Any]], agents: Iterable[str], columns: Mapping[str, tuple[str, str]],
    first: str = "agent",
) -> list[str]:  # fmt: skip
    """A Markdown table of a `summarize` summary: one row per agent it has, columns declared as header -> (metric
    key, format): "ci" (`interval_text`, mean [95% CI]), "ms" (mean ± std), "n" (seeds) or a format spec of the
    mean such as ".0f"; "-" where the agent lacks the metric."""

    def cell(stats: Mapping[str, Any] | None, form: str) -> str:
        if not stats:
            return "-"
        if form in ("ci", "n"):
            return interval_text(stats) if form == "ci" else str(stats["n"])
        if form.startswith("ms"):
            digits = int(form[2:] or 3)
            return f"{stats['mean']:.{digits}f} ± {stats['std']:.{digits}f}"
        return format(stats["mean"], form)

    rows = [a for a in agents if summary.get(a)]
    return markdown_table((first, *columns), [[a, *(cell(summary[a].get(k), f) for k, f in columns.values())]
                                               for a in rows])  # fmt: skip


class Target(NamedTuple):
    """A target of a reproduction as its report prints it: the target (with its threshold), the measured value, and
    the verdict (`verdict`: "met", "**missed**", "-")."""

    name: str
    measured: str
    verdict: str


def target(name: str, measured: str, met: bool | None) -> Target:
    """A `Target` whose verdict is `verdict(met)`."""
    return Target(name, measured, verdict(met))


def targets_table(targets: Iterable[Sequence[str]]) -> list[str]:
    """The Markdown table "target | ours | verdict" of `targets` (`Target`s or (target, ours, verdict) rows)."""
    return markdown_table(("target", "ours", "verdict"), targets)


@dataclass(frozen=True)
class Line:
    """One series of a panel: `kind` "line" (with an optional shaded `band` (low, high)), "errorbar" (`err`: symmetric
    half-widths or (below, above)) or "bar" (`err` as for errorbar; `x` are bar positions, `width` their width)."""

    x: Sequence[float]
    y: Sequence[float]
    label: str | None = None
    kind: str = "line"
    band: tuple[Sequence[float], Sequence[float]] | None = None
    err: Any = None
    width: float = 0.8
    band_alpha: float = 0.2
    style: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Panel:
    """One axes of a figure: its lines, labels, scales (e.g. "log", or ("symlog", {"linthresh": 1})), reference lines
    (`hlines` / `vlines`: (position, style) pairs), x tick labels and matplotlib `options` (e.g. {"ylim": (0, None)})."""

    lines: Sequence[Line]
    title: str = ""
    xlabel: str = ""
    ylabel: str = ""
    xscale: Any = None
    yscale: Any = None
    hlines: Sequence[tuple[float, Mapping[str, Any]]] = ()
    vlines: Sequence[tuple[float, Mapping[str, Any]]] = ()
    xticks: tuple[Sequence[float], Sequence[str]] | None = None
    title_size: float | None = None
    legend: float | None = 7
    grid: bool = False
    options: Mapping[str, Any] = field(default_factory=dict)


def figure(
    panels: Sequence[Panel], path: Path, columns: int | None = None, panel_size: tuple[float, float] = (5.5, 3.5),
    dpi: int = 120, tight: bool = False,
) -> Path:  # fmt: skip
    """Draw the declared `panels` (`columns` per row, default all in one row) and write the figure atomically."""
    from dogym.agents.io import atomic_save_figure

    plt = pyplot()
    columns = columns or max(1, len(panels))
    rows = -(-len(panels) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(panel_size[0] * columns, panel_size[1] * rows), squeeze=False)
    for ax, panel in zip(axes.ravel(), panels, strict=False):
        for line in panel.lines:
            style = {"label": line.label, **line.style}
            if line.kind == "bar":
                ax.bar(line.x, line.y, line.width, yerr=line.err, **style)
            elif line.kind == "errorbar":
                ax.errorbar(line.x, line.y, yerr=line.err, **style)
            else:
                ax.plot(line.x, line.y, **style)
                if line.band is not None:
                    colour = {"color": style["color"]} if "color" in style else {}
                    ax.fill_between(line.x, *line.band, alpha=line.band_alpha, **colour)
        for value, style in panel.hlines:
            ax.axhline(value, **style)
        for value, style in panel.vlines:
            ax.axvline(value, **style)
        for axis, scale in (("x", panel.xscale), ("y", panel.yscale)):
            if scale is not None:
                name, kwargs = (scale, {}) if isinstance(scale, str) else scale
                getattr(ax, f"set_{axis}scale")(name, **kwargs)
        if panel.xticks is not None:
            ax.set_xticks(*panel.xticks)
        ax.set_xlabel(panel.xlabel)
        ax.set_ylabel(panel.ylabel)
        ax.set_title(panel.title, **({"fontsize": panel.title_size} if panel.title_size else {}))
        if panel.options:
            ax.set(**panel.options)
        if panel.grid:
            ax.grid(alpha=0.3)
        if panel.legend:
            ax.legend(fontsize=panel.legend)
    if tight:
        fig.tight_layout()
    return atomic_save_figure(fig, path, dpi=dpi)


def values_text(values: Sequence[float] | np.ndarray, digits: int = 2,
                support: tuple[float, float] = (-np.inf, np.inf)) -> str:  # fmt: skip
    """`interval_text` of the `seed_summary` of `values` (clipped to `support`); "-" without values."""
    return interval_text(seed_summary(values, support) if len(values) else None, digits)


def count_text(flags: Sequence[float] | np.ndarray) -> str:
    """How many of `flags` (0/1 per seed) are set: "k/n"."""
    return f"{int(np.sum(flags))}/{len(flags)}"


def separated_above(high: Sequence[float] | np.ndarray, low: Sequence[float] | np.ndarray,
                    support: tuple[float, float] = (-np.inf, np.inf)) -> bool:  # fmt: skip
    """Whether the interval of the mean of `high` lies entirely above that of `low` (False without values)."""
    return bool(len(high) and len(low) and separated(seed_summary(high, support), seed_summary(low, support)))


def overlap(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray,
            support: tuple[float, float] = (-np.inf, np.inf)) -> bool:  # fmt: skip
    """Whether the intervals of the means of `a` and `b` overlap."""
    return not separated_above(a, b, support) and not separated_above(b, a, support)


def read_long(path: Path) -> dict[str, dict[str, list[float]]]:
    """agent -> "phase/metric" -> per-seed values (in seed order) from a long-format results file (`long_rows`);
    empty when the file does not exist."""
    out: dict[str, dict[str, list[tuple[int, float]]]] = {}
    if not Path(path).exists():
        return {}
    for row in read_csv(path):
        key = f"{row['phase']}/{row['metric']}" if row["phase"] != "run" else row["metric"]
        out.setdefault(row["agent"], {}).setdefault(key, []).append((int(row["seed"]), float(row["value"])))
    return {a: {k: [v for _, v in sorted(pairs)] for k, pairs in by.items()} for a, by in out.items()}


def runs_of(values: Mapping[str, Mapping[str, Sequence[float]]], env: str) -> list[dict[str, Any]]:
    """Per-seed values (`read_long`) as run records for `summarize`: one record per agent and seed index."""
    runs = []
    for agent, by in values.items():
        for i in range(max(len(v) for v in by.values())):
            run: dict[str, Any] = {"label": agent, "env": env, "seed": i}
            for key, vals in by.items():
                if i < len(vals):
                    phase, _, metric = key.rpartition("/")
                    (run.setdefault(phase, {}) if phase else run)[metric] = vals[i]
            runs.append(run)
    return runs


def compared(summary: Mapping[str, Mapping[str, Any]], agent: str, other: str, key: str, larger: bool = True) -> str:
    """ "yes" when `agent`'s interval of `key` is separated from `other`'s on the better side (`larger`: larger is
    better), "worse" when on the worse side, "no" when they overlap, "-" without both."""
    a, b = summary.get(agent, {}).get(key), summary.get(other, {}).get(key)
    if not (a and b):
        return "-"
    return "yes" if separated(a, b, larger) else "worse" if separated(b, a, larger) else "no"


def paired_difference(a: Mapping[int, float], b: Mapping[int, float]) -> dict[str, Any]:
    """The per-seed difference a - b (seed -> value each) over the seeds both have: mean, the `INTERVAL_METHOD`
    interval ("ci95") and n."""
    seeds = sorted(set(a) & set(b))
    diff = np.array([a[s] - b[s] for s in seeds])
    low, high = mean_interval(diff)
    return {"mean": float(diff.mean()), "ci95": [low, high], "n": len(seeds)}


def pivot_table(rows: Sequence[Mapping[str, Any]], row_key: str, row_names: Sequence[str], column_key: str,
                columns: Sequence[str], cell: Callable[[Mapping[str, Any]], str], first: str = "") -> list[str]:  # fmt: skip
    """A Markdown table with one row per name in `row_names` (matched on `row_key`), one column per name in `columns`
    (matched on `column_key`) and `cell(row)` where a row matches both ("-" elsewhere)."""
    at = {(r[row_key], r[column_key]): r for r in reversed(rows)}  # the first match wins
    body = [[name, *("-" if (name, c) not in at else cell(at[(name, c)]) for c in columns)] for name in row_names]
    return markdown_table((first or row_key, *columns), body)


def invocation_timing(out: Path, cells: int, cells_run: int, workers: int, wall: float, cpu: float) -> dict[str, Any]:
    """Wall and CPU minutes, workers and the number of cells computed by this invocation (of `cells`), and
    `invocations`: every invocation that computed cells of this folder's runs since the last one that computed them
    all (read from out/summary.json; a summary without a count computed every cell). An invocation that computed
    none (a re-scoring of cached runs) reports the last computing invocation's numbers, marked `rescored`."""
    import json

    this = {"workers": workers, "wall_minutes": wall, "cpu_minutes": cpu, "cells_run": cells_run}
    history: list[dict] = []
    previous = Path(out) / "summary.json"
    if previous.exists() and cells_run < cells:
        old = json.loads(previous.read_text(encoding="utf-8"))
        keys = ("workers", "wall_minutes", "cpu_minutes")
        history = old.get("invocations") or (
            [{**{k: old[k] for k in keys}, "cells_run": old.get("cells_run", cells)}] if "wall_minutes" in old else []
        )
    if cells_run == 0 and history:
        return {**history[-1], "rescored": True, "invocations": history}
    return {**this, "invocations": [*history, this]}


def invocations_text(summary: Mapping[str, Any]) -> str:
    """The time the runs took (`invocation_timing` entries of a summary): this invocation's, or the invocations'
    that computed them."""
    text = (f"wall time {summary['wall_minutes']:.1f} min with {summary['workers']} worker(s), CPU time "
            f"{summary['cpu_minutes']:.1f} min (this process and its workers)" + (" (quick mode)" if summary["quick"]
                                                                                  else ""))  # fmt: skip
    if summary.get("rescored"):
        text += f"; times of the invocation that computed the runs ({summary['cells_run']} cells), this report " \
                "re-scores them from the cache."  # fmt: skip
    else:
        text += "."
    if len(summary.get("invocations", [])) > 1:
        text += " The runs were computed over several invocations: " + "; ".join(
            f"{i['cells_run']} cells in {i['wall_minutes']:.1f} min wall / {i['cpu_minutes']:.1f} min CPU with "
            f"{i['workers']} worker(s)" for i in summary["invocations"]) + "."  # fmt: skip
    return text


def refuse_timesteps(job: Any, budget: str) -> None:
    """ValueError when the reproduction `job` (a `Reproduction`) sets --timesteps: the paper runs at `budget` (a
    phrase completing "reproduce NAME runs ...")."""
    if job.timesteps is not None:
        raise ValueError(f"reproduce {budget}")


def read_csv(path: Path) -> list[dict[str, str]]:
    """The rows of a CSV result file, header -> cell text (e.g. a committed table that a README block reads)."""
    import csv

    with Path(path).open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))

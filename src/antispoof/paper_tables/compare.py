"""Measured figures of a published table's rows, set beside the published ones as Markdown.

A row's runs are its experiments under `<exp_root>/<recipe>/exp/`: the one tagged as its config
and overrides make it (the config's own seed) and every `<tag>__train.seed=<s>` that
`run.sh --seeds` made; the unseeded run is left out when a seeded run has its seed (the same
training twice). Each published cell reads `<run>/<set>/metrics.json` of every run and gives
the figure under both polarities (the convention, higher = bona fide, and the negated scores);
several runs give mean ± standard deviation and min–max. A row or cell without runs or
metrics says so, naming what is missing.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from antispoof.arena import ARENA_METRICS
from antispoof.paper_tables.table import Cell, PaperTable, Row
from antispoof.seeds import SEED_KEY, seed_of_tag

# metrics.json keys of each figure, under the convention and for the negated scores, and the
# factor to the unit the papers print (EERs are fractions in metrics.json, papers give %).
FIGURE_KEYS = {
    "eer": ("eer", "eer_negated", 100.0),
    "min_tdcf": ("min_tdcf", "min_tdcf_negated", 1.0),
}
FIGURE_NAMES = {"eer": "EER (%)", "min_tdcf": "min t-DCF"}
DECIMALS = {"eer": 3, "min_tdcf": 4}
# The spread of a few seeds is reported as the sample standard deviation (numpy ddof=1), the
# estimate of the seed-to-seed spread; with one seed there is none.
STD_DDOF = 1


class MetricsError(ValueError):
    """A metrics.json that cannot be read as the evaluation writes it; names the file."""


@dataclass(frozen=True)
class Run:
    """One experiment of a row; seed None when its config.yaml does not say."""

    exp_dir: Path
    seed: int | None


@dataclass(frozen=True)
class Stats:
    values: tuple[float, ...]

    @property
    def mean(self) -> float:
        return float(np.mean(self.values))

    @property
    def std(self) -> float | None:
        return float(np.std(self.values, ddof=STD_DDOF)) if len(self.values) > 1 else None

    @property
    def min(self) -> float:
        return float(np.min(self.values))

    @property
    def max(self) -> float:
        return float(np.max(self.values))


@dataclass(frozen=True)
class MeasuredCell:
    """A published cell with the figures of the runs that evaluated its set."""

    cell: Cell
    runs: tuple[Run, ...]  # every run of the row
    conventional: Stats | None  # None: no run has the figure
    negated: Stats | None
    published_polarity: Stats | None  # the figure under the published cell's polarity
    missing: tuple[str, ...]  # why a run gives no figure, one line per such run


def find_runs(row: Row, exp_root: Path) -> list[Run]:
    """The row's experiments under `<exp_root>/<recipe>/exp/`, seeded ones in seed order."""
    exp_dir = exp_root / row.recipe / "exp"
    seeded = []
    if exp_dir.is_dir():
        for path in exp_dir.iterdir():
            seed = seed_of_tag(path.name, row.tag)
            if seed is not None and path.is_dir():
                seeded.append(Run(path, seed))
    seeded.sort(key=lambda run: run.seed)
    unseeded = exp_dir / row.tag
    if not unseeded.is_dir():
        return seeded
    run = Run(unseeded, config_seed(unseeded))
    if run.seed is not None and any(other.seed == run.seed for other in seeded):
        return seeded
    return [run, *seeded]


def config_seed(exp_dir: Path) -> int | None:
    """`train.seed` of an experiment's saved config, None without a config.yaml."""
    path = exp_dir / "config.yaml"
    if not path.is_file():
        return None
    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise MetricsError(f"{path}: not valid YAML ({err})") from None
    seed = config.get("train", {}).get("seed") if isinstance(config, dict) else None
    if not isinstance(seed, int):
        raise MetricsError(f"{path}: no integer {SEED_KEY}, so not a saved experiment config")
    return seed


def read_metrics(path: Path) -> dict[str, Any]:
    try:
        metrics = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise MetricsError(f"{path}: not valid JSON ({err})") from None
    if not isinstance(metrics, dict):
        raise MetricsError(f"{path}: not a JSON object, so not a metrics.json of the evaluation")
    return metrics


def _figure(metrics: Mapping[str, Any], key: str, path: Path) -> float | None:
    value = metrics.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise MetricsError(f"{path}: {key} must be a finite number, got {value!r}")
    return float(value)


def measure(cell: Cell, runs: Sequence[Run]) -> MeasuredCell:
    key, negated_key, scale = FIGURE_KEYS[cell.figure]
    conventional, negated, missing = [], [], []
    set_name, _, subset = cell.set.partition("/")
    metrics_file = ARENA_METRICS if cell.protocol == "arena" else "metrics.json"
    for run in runs:
        path = run.exp_dir / set_name / metrics_file
        if not path.is_file():
            missing.append(f"{path}: not evaluated")
            continue
        metrics = read_metrics(path)
        if subset:
            # A subset's figures come from the set's one scoring pass (metrics.json's
            # per_subset), equal to those of scoring the subset alone.
            subsets = metrics.get("per_subset") or {}
            if subset not in subsets:
                raise MetricsError(
                    f"{path}: no subset {subset!r} (per_subset has "
                    f"{', '.join(subsets) or 'none'}): {set_name} is not the set with that subset"
                )
            metrics = subsets[subset]
            if metrics is None:
                missing.append(f"{path}: subset {subset} lacks a class")
                continue
        value, twin = _figure(metrics, key, path), _figure(metrics, negated_key, path)
        if value is None or twin is None:
            if cell.figure == "eer":  # every evaluation writes both EERs
                raise MetricsError(
                    f"{path}: no {key} and {negated_key}, so not a metrics.json of the "
                    "evaluation; evaluate the scores again (stage 5)"
                )
            missing.append(f"{path}: no {key} (evaluated without the ASV scores)")
            continue
        conventional.append(value * scale)
        negated.append(twin * scale)
    by_polarity = {
        "conventional": conventional,
        "negated": negated,
        "lower_of_both": [min(pair) for pair in zip(conventional, negated, strict=True)],
    }
    return MeasuredCell(
        cell=cell,
        runs=tuple(runs),
        conventional=_stats(conventional),
        negated=_stats(negated),
        published_polarity=_stats(by_polarity[cell.polarity]),
        missing=tuple(missing),
    )


def _stats(values: list[float]) -> Stats | None:
    return Stats(tuple(values)) if values else None


def comparison_markdown(
    table: PaperTable,
    runs_of_rows: Mapping[str, Sequence[Run]],
    where: str,
    command: str,
    commit: str,
) -> str:
    """The published table beside the measured one, row by row, with provenance, notes and the
    commands that make each row's experiments. `where` says where the runs were looked for."""
    header = [
        "row",
        "figure",
        "published",
        "measured, conventional",
        "measured, negated scores",
        "measured − published (same polarity)",
        "runs",
    ]
    lines = [header, ["---"] * len(header)]
    footnotes: list[str] = []
    for row in table.rows:
        runs = runs_of_rows[row.id]
        for column_id, column in table.columns.items():
            cell = row.cells.get(column_id)
            if cell is None and row.cells:
                continue  # a published row shows the figures the paper publishes
            if cell is None:  # a row measured only (an ablation): every column, nothing beside
                cell = Cell(
                    column_id,
                    column.set,
                    column.figure,
                    math.nan,
                    "conventional",
                    None,
                    column.protocol,
                )
            measured = measure(cell, runs)
            figure = f"{column.label}: {cell.set} ({cell.protocol})"
            published = "–" if math.isnan(cell.value) else f"{cell.value:g} ({cell.polarity})"
            if cell.note is not None:
                footnotes.append(cell.note)
                published += f" [{len(footnotes)}]"
            lines.append([row.label, figure, published, *_measured_cells(measured, row)])
    parts = [
        f"# {table.title}",
        f"Published: {table.citation}",
        f"Produced by `{command}` at commit `{commit}`; runs looked for in {where}.",
        "Polarity: `conventional` is the EER of the scores as they are (higher = bona fide); "
        "`negated`, the EER of the negated scores; `lower_of_both`, the lower of the two. "
        "Several runs (seeds) give mean ± sample standard deviation (min–max, n runs). "
        "EERs in %.",
        "\n".join("| " + " | ".join(line) + " |" for line in lines),
    ]
    if footnotes:
        parts.append("\n".join(f"[{i}] {note}" for i, note in enumerate(footnotes, 1)))
    if table.notes:
        parts += ["## Notes", "\n".join(f"- {note}" for note in table.notes)]
    commands = [f"- {row.label}: {_commands(row, table.columns)}" for row in table.rows]
    parts += ["## Commands", "\n".join(commands)]
    return "\n\n".join(parts) + "\n"


def _measured_cells(measured: MeasuredCell, row: Row) -> list[str]:
    figure = measured.cell.figure
    if not measured.runs:
        return ["not run", "not run", "–", f"none: no {row.recipe}/exp/{row.tag}"]
    if measured.conventional is None:
        reason = "not evaluated" if figure == "eer" else f"no {FIGURE_NAMES[figure]}"
        gaps = "; ".join(measured.missing)
        return [reason, reason, "–", f"{_run_names(measured.runs)}; {gaps}"]
    assert measured.negated is not None and measured.published_polarity is not None
    difference = measured.published_polarity.mean - measured.cell.value
    difference_text = "–" if math.isnan(difference) else f"{difference:+.{DECIMALS[figure]}f}"
    runs = _run_names(measured.runs)
    if measured.missing:
        runs += f"; without the figure: {'; '.join(measured.missing)}"
    return [
        _stats_text(measured.conventional, figure),
        _stats_text(measured.negated, figure),
        difference_text,
        runs,
    ]


def _stats_text(stats: Stats, figure: str) -> str:
    if stats.std is None:
        return _number(stats.mean, figure)
    return (
        f"{_number(stats.mean, figure)} ± {_number(stats.std, figure)} "
        f"({_number(stats.min, figure)}–{_number(stats.max, figure)}, n={len(stats.values)})"
    )


def _number(value: float, figure: str) -> str:
    return f"{value:.{DECIMALS[figure]}f}"


def _run_names(runs: Sequence[Run]) -> str:
    seeds = ", ".join("?" if run.seed is None else str(run.seed) for run in runs)
    return f"{len(runs)} run(s), seed(s) {seeds}: {', '.join(run.exp_dir.name for run in runs)}"


# Recipes that score the In-the-Wild set among their own test sets (the mini corpus's replica);
# the others' models are scored on it by egs/in_the_wild.
RECIPES_SCORING_ITW = ("mini",)


def _commands(row: Row, columns: Mapping[str, Any]) -> str:
    """The commands that make and evaluate the row's experiments, from the repository root;
    `columns` are the table's (a row measured only is measured in all of them)."""
    if row.experiment is not None:
        steps = [f"cd egs/{row.recipe} && {command}" for command in row.commands]
    else:
        train = f"egs/{row.recipe}/run.sh --config {row.config}"
        if row.overrides:
            train += f' --override "{" ".join(row.overrides)}"'
        if row.run_options:
            train += f" {row.run_options}"
        steps = [train + ' [--seeds "1 2 3"]']
    sets = {cell.set for cell in row.cells.values()} or {col.set for col in columns.values()}
    if "itw" in sets and row.recipe not in RECIPES_SCORING_ITW:
        steps.append(
            f"egs/in_the_wild/run.sh --exp_dir ../{row.recipe}/exp/{row.tag}"
            f" (and each ../{row.recipe}/exp/{row.tag}__{SEED_KEY}=<s>)"
        )
    return "; ".join(f"`{step}`" for step in steps)


def check_exp_dirs(exp_dirs: Sequence[Path]) -> list[Run]:
    """Runs given by the user: existing directories, each seed read from its config.yaml."""
    for exp_dir in exp_dirs:
        if not exp_dir.is_dir():
            raise FileNotFoundError(f"{exp_dir}: no such experiment directory")
    return [Run(exp_dir, config_seed(exp_dir)) for exp_dir in exp_dirs]


def parse_exp_option(text: str, row_ids: Sequence[str]) -> tuple[str, Path]:
    """`ROW_ID=EXP_DIR` -> (row id, directory); the row must be one of the table's."""
    match = re.fullmatch(r"([^=]+)=(.+)", text)
    if match is None:
        raise ValueError(f"--exp {text!r} is not of the form ROW_ID=EXP_DIR")
    row_id, exp_dir = match.groups()
    if row_id not in row_ids:
        raise ValueError(f"--exp {text!r}: no row {row_id!r}; the rows are {', '.join(row_ids)}")
    return row_id, Path(exp_dir)

"""Markdown tables for RESULTS.md from the metrics.json of several experiments and test sets.

Each figure under the convention (higher score = bona fide) has its negated-score twin beside
it, in bold with "(lower)" where the twin is lower: a flipped polarity shows, and is not fixed.
Each row names its protocol: `official` (the model's own scoring, the official subset of a
set that has one), or the Speech Anti-Spoofing Arena's (every trial's first window,
antispoof.arena). A set with subsets (2021) has a row per subset, the official one first and
marked, then a row for all its trials; its condition tables are those of the official subset,
formatted as the organisers print them (EER % to 2 decimals, min t-DCF to 4). The ASVspoof 5
figures (min DCF with its twin, actDCF, min Cllr, Cllr) get columns where some row has them:
tables of sets evaluated without them keep their layout.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

MISSING = "–"
FORMULATIONS = {
    "asvspoof2019_legacy": "the ASVspoof 2019 legacy formulation with the organisers' ASV scores",
    "asvspoof2021": "the ASVspoof 2021 formulation, its weights C0, C1, C2 computed per subset "
    "and condition cell from the organisers' ASV key and scores",
}


@dataclass(frozen=True)
class _Figure:
    """Main-table columns of one figure: itself, and its negated-score twin if it has one."""

    headers: tuple[str, ...]
    key: str
    negated_key: str | None = None


# Shown where some row has them: older metrics.json files and uncalibrated sets lack some.
ASVSPOOF5_FIGURES = (
    _Figure(("min DCF", "min DCF, negated"), "min_dcf", "min_dcf_negated"),
    _Figure(("actDCF",), "act_dcf"),
    _Figure(("min Cllr (bits)",), "min_cllr"),
    _Figure(("Cllr (bits)",), "cllr"),
)


@dataclass(frozen=True)
class Result:
    """The metrics.json of one experiment on one test set, and its metrics.arena.json (the
    Speech Anti-Spoofing Arena's protocol: every trial's first window) where it has one."""

    experiment: str
    test_set: str
    metrics: Mapping[str, Any]
    arena: Mapping[str, Any] | None = None


OFFICIAL = "official"
ARENA = "Arena: all trials, first 4.04 s"


def main_table(results: Sequence[Result]) -> str:
    """Rows per experiment and test set (per subset too): EER, min t-DCF, both polarities, and
    the ASVspoof 5 figures that some row has."""
    selections = [
        (result.experiment, label, protocol, figures)
        for result in results
        for label, protocol, figures in _selections(result)
    ]
    extra = [
        figure
        for figure in ASVSPOOF5_FIGURES
        if any(figures is not None and figure.key in figures for *_, figures in selections)
    ]
    header = [
        "experiment",
        "test set",
        "protocol",
        "EER (%)",
        "EER, negated scores (%)",
        "min t-DCF",
        "min t-DCF, negated",
        *(name for figure in extra for name in figure.headers),
        "#bona fide / #spoof",
    ]
    rows = [
        [experiment, label, protocol, *_figure_cells(figures, extra)]
        for experiment, label, protocol, figures in selections
    ]
    return _markdown(header, rows)


def _selections(result: Result) -> list[tuple[str, str, Mapping[str, Any] | None]]:
    """(row label, protocol, figures) of a result: the whole set, or each subset and then all
    trials (unless the set is one subset, as a set of the eval trials only is); then the
    Arena's protocol where it was evaluated."""
    subsets = result.metrics.get("per_subset")
    rows: list[tuple[str, str, Mapping[str, Any] | None]] = []
    if not subsets:
        rows.append((result.test_set, OFFICIAL, result.metrics))
    else:
        official = result.metrics.get("official_subset")
        for name, figures in subsets.items():  # in the official order: eval first
            if name == official:
                rows.append((f"{result.test_set}: **{name} subset**", OFFICIAL, figures))
            else:
                rows.append((f"{result.test_set}: {name} subset", "subset", figures))
        if len(subsets) > 1:
            rows.append((f"{result.test_set}: all trials", "all trials", result.metrics))
    if result.arena is not None:
        rows.append((result.test_set, ARENA, result.arena))
    return rows


def _figure_cells(figures: Mapping[str, Any] | None, extra: Sequence[_Figure]) -> list[str]:
    if figures is None:  # a subset without one of the classes
        return [MISSING] * (5 + sum(len(figure.headers) for figure in extra))
    cells = [
        *_pair(figures["eer"], figures["eer_negated"], _percent),
        *_pair(figures.get("min_tdcf"), figures.get("min_tdcf_negated"), _four_decimals),
    ]
    for figure in extra:
        value = figures.get(figure.key)
        if figure.negated_key is not None:
            cells += _pair(value, figures.get(figure.negated_key), _four_decimals)
        else:
            cells.append(MISSING if value is None else _four_decimals(value))
    return [*cells, f"{figures['n_bonafide']} / {figures['n_spoof']}"]


def per_attack_tables(results: Sequence[Result]) -> dict[str, str]:
    """Per test set with more than one attack, a table of attacks x experiments (EER %)."""
    tables = {}
    for test_set in dict.fromkeys(result.test_set for result in results):
        on_set = [result for result in results if result.test_set == test_set]
        attacks = sorted({attack for result in on_set for attack in result.metrics["per_attack"]})
        if len(attacks) < 2:
            continue
        rows = [
            [attack] + [_attack_cell(result, attack) for result in on_set] for attack in attacks
        ]
        tables[test_set] = _markdown(["attack"] + [result.experiment for result in on_set], rows)
    return tables


def condition_tables(results: Sequence[Result]) -> dict[str, str]:
    """Per experiment, test set and condition table: a title and a table of each figure its
    cells have (EER always; min t-DCF for 2021 LA; the Track 1 figures for ASVspoof 5, min DCF
    first as the primary one). Sets with subsets show the official subset."""
    tables = {}
    for result in results:
        scope, figures = _official_figures(result)
        for table in (figures or {}).get("conditions", {}).values():
            what = f"{table['rows']} x {table['columns']}"
            where = f"{result.test_set}, {result.experiment}, {scope}"
            for key, title, fmt in CONDITION_FIGURES:
                if key == "eer" or _has(table, key):
                    tables[f"{title} per {what}: {where}"] = _condition_markdown(table, key, fmt)
    return tables


def _official_figures(result: Result) -> tuple[str, Mapping[str, Any] | None]:
    official = result.metrics.get("official_subset")
    if official is None:
        return "all trials", result.metrics
    return f"{official} subset (official)", result.metrics["per_subset"][official]


def _has(table: Mapping[str, Any], figure: str) -> bool:
    return any(
        cell is not None and figure in cell
        for row in table["cells"].values()
        for cell in row.values()
    )


def _condition_markdown(table: Mapping[str, Any], figure: str, fmt: Callable[[float], str]) -> str:
    header = [table["rows"], *table["column_labels"].values()]
    rows = [
        [label]
        + [_cell(table["cells"][row][column], figure, fmt) for column in table["column_labels"]]
        for row, label in table["row_labels"].items()
    ]
    return _markdown(header, rows)


def _cell(cell: Mapping[str, Any] | None, figure: str, fmt: Callable[[float], str]) -> str:
    value = None if cell is None else cell.get(figure)
    return MISSING if value is None else fmt(value)


def results_markdown(
    results: Sequence[Result],
    title: str,
    command: str,
    commit: str,
    wall_seconds: float | None = None,
) -> str:
    """The whole RESULTS.md: provenance, the main table, per-attack and condition tables."""
    took = "" if wall_seconds is None else f" in {wall_seconds:g} s"
    parts = [
        f"# {title}",
        f"Produced by `{command}` at commit `{commit}`{took}.",
        "EERs follow the ASVspoof evaluation packages, with bona fide as the positive class "
        "and higher scores meaning more bona fide. Beside each figure is the same figure for "
        'the negated scores, in bold with "(lower)" where it is lower: then the model scores '
        "bona fide low." + _tdcf_note(results) + _dcf_note(results) + _subset_note(results),
        "## Results",
        main_table(results),
    ]
    for test_set, table in per_attack_tables(results).items():
        parts += [f"## EER (%) per attack: {test_set}", table]
    for heading, table in condition_tables(results).items():
        parts += [f"## {heading}", table]
    return "\n\n".join(parts) + "\n"


def _tdcf_note(results: Sequence[Result]) -> str:
    """Which t-DCF formulation each test set's min t-DCF uses."""
    by_formulation: dict[str, list[str]] = {}
    for result in results:
        formulation = result.metrics.get("tdcf_formulation")
        if formulation is not None:
            sets = by_formulation.setdefault(FORMULATIONS.get(formulation, formulation), [])
            if result.test_set not in sets:
                sets.append(result.test_set)
    notes = [f"{name} on {', '.join(sets)}" for name, sets in by_formulation.items()]
    return f" min t-DCF: {'; '.join(notes)}." if notes else ""


def _dcf_note(results: Sequence[Result]) -> str:
    """How the ASVspoof 5 figures were computed, and what the calibrated ones were fitted on."""
    if not any("min_dcf" in result.metrics for result in results):
        return ""
    note = (
        " min DCF, actDCF and Cllr are computed as the ASVspoof 5 evaluation package does "
        "(Pspoof 0.05, Cmiss 1, Cfa 10); min Cllr is the Cllr after the best monotone "
        "calibration."
    )
    fitted_on = dict.fromkeys(
        result.metrics["calibration"]["fitted_on"]
        for result in results
        if "calibration" in result.metrics
    )
    if not fitted_on:
        return note + " No set was calibrated, so there is no actDCF or Cllr."
    return note + (
        f" actDCF and Cllr are of the scores made LLRs by a calibration fitted on the dev "
        f"scores of {', '.join(fitted_on)}, each experiment its own (so the dev set's own "
        "figures are optimistic); a set without them was evaluated uncalibrated."
    )


def _subset_note(results: Sequence[Result]) -> str:
    if not any(result.metrics.get("official_subset") for result in results):
        return ""
    return (
        " A 2021 set has one row per subset and one for all its trials; the official figure, "
        "the one the challenge ranked on, is its row marked official."
    )


def _attack_cell(result: Result, attack: str) -> str:
    figures = result.metrics["per_attack"].get(attack)
    if figures is None:
        return MISSING
    cell = _percent(figures["eer"])
    if figures["eer_negated"] < figures["eer"]:
        cell += f" (negated: **{_percent(figures['eer_negated'])}**)"
    return cell


def _pair(value: float | None, negated: float | None, fmt: Callable[[float], str]) -> list[str]:
    """Cells for a figure and its negated-score twin, the twin flagged when lower."""
    if value is None or negated is None:
        return [MISSING, MISSING]
    flagged = f"**{fmt(negated)}** (lower)" if negated < value else fmt(negated)
    return [fmt(value), flagged]


def _four_decimals(value: float) -> str:
    return f"{value:.4f}"


def _eer_cell(fraction: float) -> str:
    return f"{100 * fraction:.2f}"


def _percent(fraction: float) -> str:
    return f"{100 * fraction:.3f}"


# The figures a condition table's cells may have: key, title, format.
CONDITION_FIGURES: tuple[tuple[str, str, Callable[[float], str]], ...] = (
    ("min_dcf", "min DCF", _four_decimals),
    ("eer", "EER (%)", _eer_cell),
    ("min_tdcf", "min t-DCF", _four_decimals),
    ("act_dcf", "actDCF", _four_decimals),
    ("cllr", "Cllr (bits)", _four_decimals),
)


def _markdown(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = [header, ["---"] * len(header), *rows]
    return "\n".join("| " + " | ".join(line) + " |" for line in lines)

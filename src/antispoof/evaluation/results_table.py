"""Markdown tables for RESULTS.md from the metrics.json of several experiments and test sets.

Each figure under the convention (higher score = bona fide) has its negated-score twin beside
it, in bold with "(lower)" where the twin is lower: a flipped polarity shows, and is not fixed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

MISSING = "–"


@dataclass(frozen=True)
class Result:
    """The metrics.json of one experiment on one test set."""

    experiment: str
    test_set: str
    metrics: Mapping[str, Any]


def main_table(results: Sequence[Result]) -> str:
    """One row per experiment and test set: EER, negated EER, min t-DCF, trial counts."""
    header = [
        "experiment",
        "test set",
        "EER (%)",
        "EER, negated scores (%)",
        "min t-DCF (2019)",
        "min t-DCF, negated",
        "#bona fide / #spoof",
    ]
    rows = [
        [
            result.experiment,
            result.test_set,
            *_pair(result.metrics["eer"], result.metrics["eer_negated"], _percent),
            *_pair(result.metrics.get("min_tdcf"), result.metrics.get("min_tdcf_negated"), _tdcf),
            f"{result.metrics['n_bonafide']} / {result.metrics['n_spoof']}",
        ]
        for result in results
    ]
    return _markdown(header, rows)


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


def results_markdown(
    results: Sequence[Result],
    title: str,
    command: str,
    commit: str,
    wall_seconds: float | None = None,
) -> str:
    """The whole RESULTS.md: provenance, the main table and the per-attack tables."""
    took = "" if wall_seconds is None else f" in {wall_seconds:g} s"
    parts = [
        f"# {title}",
        f"Produced by `{command}` at commit `{commit}`{took}.",
        "EERs follow the ASVspoof evaluation packages, with bona fide as the positive class "
        "and higher scores meaning more bona fide. Beside each figure is the same figure for "
        'the negated scores, in bold with "(lower)" where it is lower: then the model scores '
        "bona fide low. min t-DCF, where reported, is the ASVspoof 2019 legacy formulation "
        "with the organisers' ASV scores.",
        "## Results",
        main_table(results),
    ]
    for test_set, table in per_attack_tables(results).items():
        parts += [f"## EER (%) per attack: {test_set}", table]
    return "\n\n".join(parts) + "\n"


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


def _tdcf(value: float) -> str:
    return f"{value:.4f}"


def _percent(fraction: float) -> str:
    return f"{100 * fraction:.3f}"


def _markdown(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = [header, ["---"] * len(header), *rows]
    return "\n".join("| " + " | ".join(line) + " |" for line in lines)

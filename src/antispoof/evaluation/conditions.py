"""Condition tables: EER (and 2021 min t-DCF) per cell of two factors, as the organisers decompose.

Which tables a set gets follows from its `utt2*` files:

- `vocoder_x_codec`: vocoder family x codec, the official 2021 DF table;
- `attack_x_codec`: attack x codec, the official 2021 LA table, for sets without vocoder
  families (a DF set's 110 attack conditions would make an unreadable 1,000-cell table, and the
  organisers decompose DF by vocoder family instead);
- `codec_x_channel`: codec x transmission channel (2021 LA).

An ASVspoof 5 set (its codecs are those of the ASVspoof 5 protocols: `-` and C01-C11) has the
`attack_x_codec` table of the 2024 package's full evaluation (calculate_metrics_full.py,
`calculate_minDCF_EER_CLLR_actDCF_full`), whose cells carry the Track 1 figures: min DCF beside
the EER, and with a calibration actDCF and Cllr of the calibrated LLRs. Its Pooled column holds
the figures per attack (every bona fide trial against one attack's), its Pooled row those per
codec condition.

A cell takes the bona fide trials that match its factors of kind `both` and the spoof trials that
match all its factors (`compute_decomposed_mintdcf_eer` of the 2021 package); a `Pooled` row or
column does not filter on its factor, so the Pooled x Pooled cell is the whole selection. A cell
without a bona fide or without a spoof trial is absent: null in metrics.json. A cell's min t-DCF
is null where the ASV trials of its filters lack a class (NaN in the official tables), and 1
where the ASV system is worse than chance on them (C1 < 0), as the official code gives it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from antispoof.evaluation.calibration import Calibration
from antispoof.evaluation.dcf_figures import calibrated_figures
from antispoof.evaluation.factors import ASV5_CODECS, BOTH, FACTORS, POOLED, Factor
from antispoof.evaluation.trials import Trials
from antispoof.metrics.asv2021 import Asv2021Weights, Filter, min_tdcf_where_defined
from antispoof.metrics.asvspoof5 import min_dcf_from_det
from antispoof.metrics.columns import Categorical
from antispoof.metrics.det import eer_from_det
from antispoof.metrics.ranking import RankedScores

FACTOR_BY_NAME = {factor.name: factor for factor in FACTORS}


@dataclass(frozen=True)
class ConditionColumn:
    """A factor of a set: its column over the trials and the values it takes, in table order.

    A spoof-only factor's values are those of the spoof trials (`bonafide` is not a row).
    """

    factor: Factor
    column: Categorical
    values: list[str]


@dataclass(frozen=True)
class _Selection:
    """One row or column of a table: its trials (a mask by rank; None: all) and ASV filters."""

    value: str
    keep: NDArray[np.bool_] | None
    bonafide: Filter
    spoof: Filter


def condition_columns(trials: Trials) -> dict[str, ConditionColumn]:
    """The condition factors of `trials` with the values they take over the whole set."""
    columns = {}
    for name, column in trials.factors.items():
        factor = FACTOR_BY_NAME[name]
        codes = column.codes if factor.kind == BOTH else column.codes[~trials.is_bonafide]
        present = [column.values[code] for code in np.unique(codes)]
        columns[name] = ConditionColumn(factor, column, factor.ordered(present))
    return columns


def table_layouts(factors: Collection[str]) -> list[tuple[str, str]]:
    """(row factor, column factor) of each table a set with these factors gets."""
    if "codec" not in factors:
        return []
    layouts = [("vocoder" if "vocoder" in factors else "attack", "codec")]
    if "channel" in factors:
        layouts.append(("codec", "channel"))
    return layouts


def is_asvspoof5(columns: Mapping[str, ConditionColumn]) -> bool:
    """Whether the set's codecs are those of the ASVspoof 5 protocols (no 2021 set has any)."""
    codec = columns.get("codec")
    return codec is not None and set(codec.values) <= set(ASV5_CODECS)


def condition_tables(
    ranked: RankedScores,
    columns: Mapping[str, ConditionColumn],
    weights: Asv2021Weights | None = None,
    calibration: Calibration | None = None,
) -> dict[str, dict[str, Any]]:
    """Every table of `table_layouts` over the ranked trials (a whole set or one subset).

    With `weights` (the ASV trials of the same subset), each cell also has its min t-DCF. The
    cells of an ASVspoof 5 set have its Track 1 figures, actDCF and Cllr through `calibration`.
    """
    track_1 = _Track1(calibration) if is_asvspoof5(columns) else None
    return {
        f"{row}_x_{column}": _table(ranked, columns[row], columns[column], weights, track_1)
        for row, column in table_layouts(columns)
    }


@dataclass(frozen=True)
class _Track1:
    """The ASVspoof 5 Track 1 figures a cell carries; actDCF and Cllr only with a calibration."""

    calibration: Calibration | None


def _table(
    ranked: RankedScores,
    rows: ConditionColumn,
    columns: ConditionColumn,
    weights: Asv2021Weights | None,
    track_1: _Track1 | None,
) -> dict[str, Any]:
    row_selections = _selections(ranked, rows)
    column_selections = _selections(ranked, columns)
    return {
        "rows": rows.factor.name,
        "columns": columns.factor.name,
        "row_labels": {row.value: rows.factor.label(row.value) for row in row_selections},
        "column_labels": {
            column.value: columns.factor.label(column.value) for column in column_selections
        },
        "cells": {
            row.value: {
                column.value: _cell(ranked, row, column, weights, track_1)
                for column in column_selections
            }
            for row in row_selections
        },
    }


def _selections(ranked: RankedScores, condition: ConditionColumn) -> list[_Selection]:
    """A selection per value of the factor, then the Pooled one."""
    codes = ranked.by_rank(condition.column.codes)
    name = condition.factor.name
    selections = []
    for value in condition.values:
        keep = codes == condition.column.values.index(value)
        if condition.factor.kind == BOTH:
            selections.append(_Selection(value, keep, ((name, value),), ((name, value),)))
        else:  # bona fide trials do not have this factor: they all stay
            selections.append(_Selection(value, keep | ranked.is_bonafide, (), ((name, value),)))
    selections.append(_Selection(POOLED, None, (), ()))
    return selections


def _cell(
    ranked: RankedScores,
    row: _Selection,
    column: _Selection,
    weights: Asv2021Weights | None,
    track_1: _Track1 | None,
) -> dict[str, Any] | None:
    masks = [selection.keep for selection in (row, column) if selection.keep is not None]
    if masks:
        ranked = ranked.select(np.logical_and.reduce(masks))
    if ranked.n_bonafide == 0 or ranked.n_spoof == 0:
        return None
    det = ranked.det_curve()
    cell: dict[str, Any] = {"eer": eer_from_det(*det)[0]}
    if track_1 is not None:
        cell["min_dcf"] = min_dcf_from_det(det)[0]
        if track_1.calibration is not None:
            cell.update(calibrated_figures(ranked, track_1.calibration))
    cell.update(n_bonafide=ranked.n_bonafide, n_spoof=ranked.n_spoof)
    if weights is not None:
        asv = weights.for_cell(row.bonafide + column.bonafide, row.spoof + column.spoof)
        cell["min_tdcf"] = min_tdcf_where_defined(det, asv)
    return cell

"""Figures of each subset of a 2021 set (`utt2subset`: eval, progress, hidden).

A subset is a selection of the ranked trials, evaluated like a whole set: EERs, the ASVspoof 5
figures (with the set's calibration, if any), the 2021 min t-DCF with weights from the ASV
trials of the same subset, and its condition tables.
"""

from __future__ import annotations

import logging
from typing import Any

from antispoof.evaluation.calibration import Calibration
from antispoof.evaluation.conditions import ConditionColumn, condition_tables, table_layouts
from antispoof.evaluation.dcf_figures import dcf_figures
from antispoof.evaluation.factors import SUBSET
from antispoof.evaluation.tdcf_figures import tdcf_2021
from antispoof.metrics.asv2021 import Asv2021Trials, Asv2021Weights
from antispoof.metrics.columns import Categorical
from antispoof.metrics.det import eer_from_det
from antispoof.metrics.ranking import RankedScores

logger = logging.getLogger(__name__)


def per_subset(
    ranked: RankedScores,
    negated: RankedScores,
    subsets: Categorical,
    asv: Asv2021Trials | None,
    columns: dict[str, ConditionColumn],
    calibration: Calibration | None,
) -> dict[str, dict[str, Any] | None]:
    """Figures of each subset (official order), null for a subset lacking a class.

    The 2021 t-DCF weights of a subset come from the ASV trials of the same subset.
    """
    figures = {}
    for subset in SUBSET.ordered(subsets.values):
        keep = subsets.mask(subset)
        weights = None if asv is None else Asv2021Weights(asv.select(asv.subset.mask(subset)))
        figures[subset] = selection_figures(
            ranked.select(ranked.by_rank(keep)),
            negated.select(negated.by_rank(keep)),
            weights,
            columns,
            calibration,
        )
        if weights is not None and figures[subset] and figures[subset]["min_tdcf"] is None:
            logger.warning("subset %s: no 2021 min t-DCF (its ASV trials lack a class)", subset)
    return figures


def selection_figures(
    ranked: RankedScores,
    negated: RankedScores,
    weights: Asv2021Weights | None,
    columns: dict[str, ConditionColumn],
    calibration: Calibration | None,
) -> dict[str, Any] | None:
    """EERs, the ASVspoof 5 figures, min t-DCF (with weights) and condition tables of a
    selection of trials."""
    if ranked.n_bonafide == 0 or ranked.n_spoof == 0:
        return None
    det, det_negated = ranked.det_curve(), negated.det_curve()
    eer, threshold = eer_from_det(*det)
    figures: dict[str, Any] = {
        "n_bonafide": ranked.n_bonafide,
        "n_spoof": ranked.n_spoof,
        "eer": eer,
        "eer_threshold": threshold,
        "eer_negated": eer_from_det(*det_negated)[0],
        **dcf_figures(ranked, det, det_negated, calibration),
    }
    if weights is not None:
        figures.update(tdcf_2021(det, det_negated, weights))
    if table_layouts(columns):
        figures["conditions"] = condition_tables(ranked, columns, weights, calibration)
    return figures

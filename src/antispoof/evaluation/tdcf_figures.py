"""min t-DCF figures of a set or a subset, under each formulation (cells: conditions.py).

The 2019 legacy formulation uses the organisers' 2019 ASV scores pooled over the whole set; the
2021 one uses weights from the organisers' 2021 ASV key and scores restricted to the same
selection (metrics/asv2021.py). Both are reported for the scores and the negated scores.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from antispoof.metrics.asv2021 import KEY_FILE, SCORE_FILE, Asv2021Weights, min_tdcf_where_defined
from antispoof.metrics.asv_scores import read_asv_scores
from antispoof.metrics.det import DetCurve
from antispoof.metrics.tdcf import min_tdcf_legacy


def legacy_tdcf(
    bonafide: NDArray[np.float64],
    spoof: NDArray[np.float64],
    asv_scores_file: str | os.PathLike[str],
) -> dict[str, Any]:
    """ASVspoof 2019 (legacy) min t-DCF for both polarities, with the organisers' ASV scores."""
    asv = read_asv_scores(asv_scores_file)
    result = min_tdcf_legacy(bonafide, spoof, asv)
    return {
        "asv_scores_file": str(asv_scores_file),
        "tdcf_formulation": "asvspoof2019_legacy",
        "min_tdcf": result.min_tdcf,
        "min_tdcf_negated": min_tdcf_legacy(-bonafide, -spoof, asv).min_tdcf,
        "asv_eer": result.asv_eer,
        "tdcf_C1": result.c1,
        "tdcf_C2": result.c2,
    }


def tdcf_2021_pooled(
    det: DetCurve, det_negated: DetCurve, weights: Asv2021Weights, asv2021_dir: Path
) -> dict[str, Any]:
    """2021 min t-DCF over all trials (CM DET curves of both polarities), with `weights` of all
    the ASV trials; undefined weights are an error here, unlike in a subset or a cell."""
    figures = tdcf_2021(det, det_negated, weights)
    if figures["min_tdcf"] is None:
        raise ValueError(
            f"{asv2021_dir}: the ASV scores give undefined 2021 t-DCF weights over all trials "
            f"(C0={figures['tdcf_C0']:g}, C1={figures['tdcf_C1']:g}, C2={figures['tdcf_C2']:g}; "
            "C0 + min(C1, C2) must be positive)"
        )
    return {
        "asv_key_file": str(asv2021_dir / KEY_FILE),
        "asv_scores_file": str(asv2021_dir / SCORE_FILE),
        "tdcf_formulation": "asvspoof2021",
        **figures,
    }


def tdcf_2021(det: DetCurve, det_negated: DetCurve, weights: Asv2021Weights) -> dict[str, Any]:
    """2021 min t-DCF of a selection (CM DET curves of both polarities) with the pooled
    weights of its ASV trials; None figures where undefined."""
    asv = weights.for_cell()
    figures: dict[str, Any] = {
        "min_tdcf": min_tdcf_where_defined(det, asv),
        "min_tdcf_negated": min_tdcf_where_defined(det_negated, asv),
    }
    if asv is None:  # this selection of the ASV key lacks a class of trials
        return figures | dict.fromkeys(("asv_eer", "tdcf_C0", "tdcf_C1", "tdcf_C2"))
    coefficients = asv.coefficients
    return figures | {
        "asv_eer": asv.asv_eer,
        "tdcf_C0": coefficients.c0,
        "tdcf_C1": coefficients.c1,
        "tdcf_C2": coefficients.c2,
    }

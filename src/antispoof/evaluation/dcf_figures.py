"""ASVspoof 5 figures of a set or a subset: min DCF and min Cllr, and with a calibration, actDCF
and Cllr of the calibrated LLRs (metrics/asvspoof5.py).

min DCF and min Cllr need only scores and labels, so every set has them; min DCF has its
negated-score twin like the EER. actDCF and Cllr judge LLRs, which raw scores are not: they are
reported only through a calibration fitted on dev scores (evaluation/calibration.py), and never
for negated scores, which the calibration was not fitted on.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from antispoof.evaluation.calibration import Calibration
from antispoof.metrics.asvspoof5 import act_dcf, cllr, min_cllr_from_ranking, min_dcf_from_det
from antispoof.metrics.det import DetCurve
from antispoof.metrics.ranking import RankedScores


def dcf_figures(
    ranked: RankedScores,
    det: DetCurve,
    det_negated: DetCurve,
    calibration: Calibration | None,
) -> dict[str, Any]:
    """min DCF (both polarities) and min Cllr of ranked trials; actDCF and Cllr with a
    calibration, all with the ASVspoof 5 cost model."""
    figures: dict[str, Any] = {
        "min_dcf": min_dcf_from_det(det)[0],
        "min_dcf_negated": min_dcf_from_det(det_negated)[0],
        "min_cllr": min_cllr_from_ranking(ranked.is_bonafide),
    }
    if calibration is not None:
        figures.update(calibrated_figures(ranked, calibration))
    return figures


def calibrated_figures(ranked: RankedScores, calibration: Calibration) -> dict[str, float]:
    """actDCF and Cllr of the trials' calibrated LLRs.

    The LLRs are taken in the trials' own order (the data directory's, which is the order of the
    score file stage 4 writes), not in rank order: the official `calculate_CLLR` averages them
    in the order of the score file, and a mean's last bits depend on the order it adds in.
    """
    in_trial_order = np.argsort(ranked.trial, kind="stable")
    llrs = calibration.llr(ranked.scores[in_trial_order])
    is_bonafide = ranked.is_bonafide[in_trial_order]
    bonafide, spoof = llrs[is_bonafide], llrs[~is_bonafide]
    return {"act_dcf": act_dcf(bonafide, spoof), "cllr": cllr(bonafide, spoof)}

"""ASVspoof 5 figures of a set or a subset: min DCF and min Cllr, and with a calibration, actDCF
and Cllr of the calibrated LLRs (metrics/asvspoof5.py).

min DCF and min Cllr need only scores and labels, so every set has them; min DCF has its
negated-score twin like the EER. actDCF and Cllr judge LLRs, which raw scores are not: they are
reported only through a calibration fitted on dev scores (evaluation/calibration.py), and never
for negated scores, which the calibration was not fitted on.
"""

from __future__ import annotations

from typing import Any

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
    calibration, all with the ASVspoof 5 cost model. Cllr averages in rank order, not file
    order as the official package does: the two can differ in the last bits."""
    figures: dict[str, Any] = {
        "min_dcf": min_dcf_from_det(det)[0],
        "min_dcf_negated": min_dcf_from_det(det_negated)[0],
        "min_cllr": min_cllr_from_ranking(ranked.is_bonafide),
    }
    if calibration is not None:
        llrs = calibration.llr(ranked.scores)
        bonafide, spoof = llrs[ranked.is_bonafide], llrs[~ranked.is_bonafide]
        figures["act_dcf"] = act_dcf(bonafide, spoof)
        figures["cllr"] = cllr(bonafide, spoof)
    return figures

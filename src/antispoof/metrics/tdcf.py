"""Minimum tandem detection cost function (t-DCF) of a CM in front of a fixed ASV system.

Two formulations, both transcribed from the official ASVspoof code and evaluated over the DET
points of `compute_det_curve`:

- 2019 legacy (tDCF_python_v1, used by the 2019 LA papers):
  `(C1 Pmiss_cm + C2 Pfa_cm) / min(C1, C2)`;
- 2021 revised (`eval_wrapper.get_mintDCF_eer` of the 2021 package, which its `main.py` runs
  for every condition cell): `(C0 + C1 Pmiss_cm + C2 Pfa_cm) / (C0 + min(C1, C2))`, never
  above 1 at its minimum. Unlike `eval_metrics.compute_tDCF`, which stops on a negative weight,
  the per-cell code takes the weights as they are: a C1 below zero (an ASV system worse than
  chance in the cell) gives exactly 1, and so does this module.

The ASV system operates at its own EER threshold (target vs non-target). Each coefficient is
computed with the exact expression of its formulation, so both reproduce official figures to
the last bit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from antispoof.metrics.asv_scores import AsvScores
from antispoof.metrics.det import DetCurve, compute_det_curve, compute_eer


@dataclass(frozen=True)
class CostModel:
    """Priors and costs of the t-DCF; the defaults are the ASVspoof 2019 and 2021 values.

    `c_miss` is the cost of rejecting a target (by the ASV or the CM), `c_fa` of the ASV
    accepting a non-target, `c_fa_spoof` of accepting a spoof (the legacy `Cfa_cm`).
    """

    p_spoof: float = 0.05
    p_tar: float = 0.9405  # (1 - p_spoof) * 0.99
    p_non: float = 0.0095  # (1 - p_spoof) * 0.01
    c_miss: float = 1.0
    c_fa: float = 10.0
    c_fa_spoof: float = 10.0

    def __post_init__(self) -> None:
        priors = (self.p_spoof, self.p_tar, self.p_non)
        if min(priors) < 0 or abs(sum(priors) - 1) > 1e-10:
            raise ValueError(f"t-DCF priors must be non-negative and sum to one, got {priors}")
        if min(self.c_miss, self.c_fa, self.c_fa_spoof) < 0:
            raise ValueError("t-DCF costs must be non-negative")


ASVSPOOF_COST_MODEL = CostModel()


@dataclass(frozen=True)
class AsvThreshold:
    """The ASV system at its EER threshold, on target and non-target trials."""

    eer: float
    threshold: float
    pfa: float  # non-targets accepted
    pmiss: float  # targets rejected


@dataclass(frozen=True)
class AsvOperatingPoint:
    """Error rates of the ASV system at its EER threshold."""

    eer: float
    threshold: float
    pfa: float  # non-targets accepted
    pmiss: float  # targets rejected
    pmiss_spoof: float  # spoofs rejected
    pfa_spoof: float  # spoofs accepted


@dataclass(frozen=True)
class TdcfCoefficients:
    """The 2021 C0, C1, C2, given directly where the organisers ship them (LA-C012-*.npy)."""

    c0: float
    c1: float
    c2: float


@dataclass(frozen=True)
class TdcfResult:
    """Minimum normalised t-DCF, the CM threshold reaching it, and the weights used.

    The legacy formulation has no C0 term (reported as 0); `asv_eer` is None where the
    coefficients were given rather than computed from ASV scores.
    """

    min_tdcf: float
    cm_threshold: float
    c0: float
    c1: float
    c2: float
    asv_eer: float | None


def asv_threshold(target: NDArray[np.float64], nontarget: NDArray[np.float64]) -> AsvThreshold:
    """Fix the ASV threshold at its EER point, as `obtain_asv_error_rates` does.

    The official rates count a score equal to the threshold as accepted (`>=`), although the
    DET threshold is the largest rejected score; this is kept for identical figures.
    """
    eer, threshold = compute_eer(target, nontarget)
    return AsvThreshold(
        eer=eer,
        threshold=threshold,
        pfa=np.count_nonzero(nontarget >= threshold) / nontarget.size,
        pmiss=np.count_nonzero(target < threshold) / target.size,
    )


def with_spoof_rates(point: AsvThreshold, spoof: NDArray[np.float64]) -> AsvOperatingPoint:
    """Add the rates of spoofed trials at the threshold fixed on bona fide trials."""
    return AsvOperatingPoint(
        eer=point.eer,
        threshold=point.threshold,
        pfa=point.pfa,
        pmiss=point.pmiss,
        pmiss_spoof=np.count_nonzero(spoof < point.threshold) / spoof.size,
        pfa_spoof=np.count_nonzero(spoof >= point.threshold) / spoof.size,
    )


def asv_operating_point(asv: AsvScores) -> AsvOperatingPoint:
    """All ASV error rates at its EER threshold (target vs non-target)."""
    return with_spoof_rates(asv_threshold(asv.target, asv.nontarget), asv.spoof)


def min_tdcf_legacy(
    bonafide_scores: ArrayLike,
    spoof_scores: ArrayLike,
    asv: AsvScores,
    costs: CostModel = ASVSPOOF_COST_MODEL,
) -> TdcfResult:
    """2019 legacy min t-DCF of CM scores (bona fide higher) with the organisers' ASV scores."""
    point = asv_operating_point(asv)
    c1 = costs.p_tar * (costs.c_miss - costs.c_miss * point.pmiss) - (
        costs.p_non * costs.c_fa * point.pfa
    )
    c2 = costs.c_fa_spoof * costs.p_spoof * (1 - point.pmiss_spoof)
    # The official code stops on negative weights; a zero one would divide by zero below.
    if c1 <= 0 or c2 <= 0:
        raise ValueError(
            f"cannot evaluate the legacy t-DCF with non-positive weights C1={c1:g}, C2={c2:g}: "
            "check the ASV scores (C2 is 0 when the ASV rejects every spoof at its EER "
            "threshold)"
        )
    det = compute_det_curve(bonafide_scores, spoof_scores)
    return _minimise(det, 0.0, c1, c2, min(c1, c2), point.eer)


def tdcf_coefficients(asv: AsvScores, costs: CostModel = ASVSPOOF_COST_MODEL) -> TdcfCoefficients:
    """C0, C1, C2 of the 2021 revised t-DCF from ASV scores."""
    return revised_coefficients(asv_operating_point(asv), costs)


def revised_coefficients(
    point: AsvOperatingPoint, costs: CostModel = ASVSPOOF_COST_MODEL
) -> TdcfCoefficients:
    """C0, C1, C2 of the 2021 revised t-DCF at an ASV operating point (`get_tDCF_C012`)."""
    c0 = costs.p_tar * costs.c_miss * point.pmiss + costs.p_non * costs.c_fa * point.pfa
    c1 = costs.p_tar * costs.c_miss - (
        costs.p_tar * costs.c_miss * point.pmiss + costs.p_non * costs.c_fa * point.pfa
    )
    c2 = costs.p_spoof * costs.c_fa_spoof * point.pfa_spoof
    return TdcfCoefficients(c0=c0, c1=c1, c2=c2)


def valid_2021_weights(coefficients: TdcfCoefficients) -> bool:
    """Whether the normalised 2021 t-DCF is defined: C0 + min(C1, C2) > 0.

    C1 may be negative: C0 + C1 = Ptar Cmiss > 0 whatever the ASV rates, so such weights keep a
    positive normaliser, and the official per-cell code (`get_mintDCF_eer`) evaluates them,
    reaching its minimum 1 where the CM rejects everything. C0 and C2 are rates times costs and
    never negative. The normaliser is 0 only where C0 = C2 = 0. With the ASVspoof costs,
    weights computed at the ASV EER threshold never give that (the `>=` rule leaves at least one
    target rejected or one non-target accepted, so C0 > 0), but given ones can: the official
    code then divides 0 by 0 at the first DET point and reports NaN, None here
    (`min_tdcf_where_defined`).
    """
    c0, c1, c2 = coefficients.c0, coefficients.c1, coefficients.c2
    return c0 >= 0 and c2 >= 0 and c0 + min(c1, c2) > 0


def min_tdcf_2021(
    bonafide_scores: ArrayLike,
    spoof_scores: ArrayLike,
    asv: AsvScores | TdcfCoefficients,
    costs: CostModel = ASVSPOOF_COST_MODEL,
) -> TdcfResult:
    """2021 revised min t-DCF from ASV scores or from precomputed coefficients.

    `costs` only matters when the coefficients are computed from ASV scores.
    """
    asv_eer = None
    if isinstance(asv, AsvScores):
        asv_eer = asv_operating_point(asv).eer
        asv = tdcf_coefficients(asv, costs)
    return min_tdcf_2021_from_det(compute_det_curve(bonafide_scores, spoof_scores), asv, asv_eer)


def min_tdcf_2021_from_det(
    det: DetCurve, coefficients: TdcfCoefficients, asv_eer: float | None = None
) -> TdcfResult:
    """2021 revised min t-DCF over a CM DET curve `(pmiss_cm, pfa_cm, thresholds)`."""
    c0, c1, c2 = coefficients.c0, coefficients.c1, coefficients.c2
    if not valid_2021_weights(coefficients):
        raise ValueError(
            f"cannot evaluate the 2021 t-DCF with weights C0={c0:g}, C1={c1:g}, C2={c2:g}: "
            "it needs C0 >= 0, C2 >= 0 and C0 + min(C1, C2) > 0; check the ASV scores"
        )
    return _minimise(det, c0, c1, c2, c0 + min(c1, c2), asv_eer)


def _minimise(
    det: DetCurve, c0: float, c1: float, c2: float, default: float, asv_eer: float | None
) -> TdcfResult:
    """Minimum of `(c0 + c1 Pmiss_cm + c2 Pfa_cm) / default` over the CM DET points."""
    pmiss_cm, pfa_cm, thresholds = det
    # Same operation order as the official code (c0 = 0 adds nothing), so identical floats.
    curve = (c0 + c1 * pmiss_cm + c2 * pfa_cm) / default
    index = int(np.argmin(curve))
    return TdcfResult(
        min_tdcf=float(curve[index]),
        cm_threshold=float(thresholds[index]),
        c0=c0,
        c1=c1,
        c2=c2,
        asv_eer=asv_eer,
    )

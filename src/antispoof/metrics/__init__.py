"""Anti-spoofing metrics, computed exactly as the official ASVspoof evaluation packages do."""

from antispoof.metrics.asv2021 import Asv2021Trials, Asv2021Weights, read_asv2021
from antispoof.metrics.asv_scores import AsvScores, read_asv_scores
from antispoof.metrics.asvspoof5 import (
    ASVSPOOF5_COSTS,
    DcfCosts,
    act_dcf,
    cllr,
    min_cllr_from_ranking,
    min_dcf_from_det,
)
from antispoof.metrics.det import compute_det_curve, compute_eer
from antispoof.metrics.ranking import RankedScores
from antispoof.metrics.tdcf import (
    ASVSPOOF_COST_MODEL,
    CostModel,
    TdcfCoefficients,
    TdcfResult,
    min_tdcf_2021,
    min_tdcf_2021_from_det,
    min_tdcf_legacy,
    tdcf_coefficients,
)

__all__ = [
    "ASVSPOOF5_COSTS",
    "ASVSPOOF_COST_MODEL",
    "Asv2021Trials",
    "Asv2021Weights",
    "AsvScores",
    "CostModel",
    "DcfCosts",
    "RankedScores",
    "TdcfCoefficients",
    "TdcfResult",
    "act_dcf",
    "cllr",
    "compute_det_curve",
    "compute_eer",
    "min_cllr_from_ranking",
    "min_dcf_from_det",
    "min_tdcf_2021",
    "min_tdcf_2021_from_det",
    "min_tdcf_legacy",
    "read_asv2021",
    "read_asv_scores",
    "tdcf_coefficients",
]

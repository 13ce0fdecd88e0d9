"""The ASVspoof 5 Track 1 figures beside the EER: minDCF, actDCF, Cllr, and min Cllr.

Transcribed from the official evaluation package (asvspoof-challenge/asvspoof5,
`evaluation-package/calculate_modules.py`, called by `calculate_metrics.py`,
`calculate_minDCF_EER_CLLR_actDCF` with `Pspoof = 0.05, Cmiss = 1, Cfa = 10`):

- `compute_mindcf(frr, far, thresholds, Pspoof, Cmiss, Cfa)`: over the points of
  `compute_det_curve` (det.py), `c(k) = Cmiss frr(k) (1 - Pspoof) + Cfa far(k) Pspoof`, the first
  minimum (a strict `<` scan), divided by `min(Cmiss (1 - Pspoof), Cfa Pspoof)`. The code writes
  the spoof prior as `1 - p_target` with `p_target = 1 - Pspoof`, which is not exactly `Pspoof` in
  floating point (0.050000000000000044); it is kept, so the figures are the same floats.
- `compute_actDCF(bonafide, spoof, Pspoof, Cmiss, Cfa)`: the scores are taken as LLRs (bona fide
  vs spoof) and decided at the Bayes threshold `-ln(beta)`, `beta = Cmiss (1 - Pspoof) /
  (Cfa Pspoof)` = 1.9: a bona fide score below it is a miss, a spoof score at or above it a false
  alarm; the cost is normalised by `min(Cfa Pspoof, Cmiss (1 - Pspoof))` = 0.5.
- `calculate_CLLR(target_llrs, nontarget_llrs)`: `(mean log(1 + e^-llr) over bona fide +
  mean log(1 + e^llr) over spoof) / 2 / ln 2`, in bits. The official `log1p(exp(-llr))`
  overflows to infinity beyond |llr| ~ 709; here such a term is its limit, |llr| itself.

The package applies no calibration: actDCF and Cllr judge the submitted scores as LLRs. Here
they are computed on scores made LLRs by a calibration (evaluation/calibration.py). min Cllr is
not in the package: it is the Cllr after the best monotone calibration of the scores, by
pool-adjacent-violators (Brümmer and du Preez, "Application-independent evaluation of speaker
detection", 2006; `min_cllr` of the BOSARIS toolkit), so `cllr - min_cllr` is the calibration
loss.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from antispoof.metrics.det import DetCurve, as_scores

# exp() overflows float64 beyond 709.78; above about 37, log1p(exp(x)) already equals x to the
# last bit, so taking x from here on changes no finite official value.
_EXP_LIMIT = 700.0


@dataclass(frozen=True)
class DcfCosts:
    """Spoof prior and decision costs of the ASVspoof 5 DCF (Track 1 evaluation plan).

    `c_miss` is the cost of rejecting bona fide speech, `c_fa` of accepting a spoof.
    """

    p_spoof: float = 0.05
    c_miss: float = 1.0
    c_fa: float = 10.0

    def __post_init__(self) -> None:
        if not 0 < self.p_spoof < 1:
            raise ValueError(f"the spoof prior must lie strictly between 0 and 1: {self.p_spoof}")
        if self.c_miss <= 0 or self.c_fa <= 0:
            raise ValueError(f"DCF costs must be positive: Cmiss {self.c_miss}, Cfa {self.c_fa}")

    @property
    def llr_threshold(self) -> float:
        """The Bayes decision threshold of an LLR, as `compute_actDCF` computes it: -ln(beta)."""
        beta = self.c_miss * (1 - self.p_spoof) / (self.c_fa * self.p_spoof)
        return float(-np.log(beta))

    @property
    def effective_prior_spoof(self) -> float:
        """The spoof prior that, with equal costs, has the same Bayes threshold:
        `Cfa Pspoof / (Cfa Pspoof + Cmiss (1 - Pspoof))`, 0.3448 with the ASVspoof 5 costs."""
        spoof = self.c_fa * self.p_spoof
        return spoof / (spoof + self.c_miss * (1 - self.p_spoof))


ASVSPOOF5_COSTS = DcfCosts()


def min_dcf_from_det(det: DetCurve, costs: DcfCosts = ASVSPOOF5_COSTS) -> tuple[float, float]:
    """`(min DCF, threshold)` over a DET curve `(frr, far, thresholds)`, as `compute_mindcf`.

    The operations are the official ones in the same order, so the floats are the same; numpy's
    argmin takes the first minimum, as the official strict `<` scan does.
    """
    frr, far, thresholds = det
    p_target = 1 - costs.p_spoof
    c_det = costs.c_miss * frr * p_target + costs.c_fa * far * (1 - p_target)
    index = int(np.argmin(c_det))
    c_def = min(costs.c_miss * p_target, costs.c_fa * (1 - p_target))
    return float(c_det[index] / c_def), float(thresholds[index])


def act_dcf(
    bonafide_llrs: ArrayLike, spoof_llrs: ArrayLike, costs: DcfCosts = ASVSPOOF5_COSTS
) -> float:
    """Normalised DCF of LLRs decided at the Bayes threshold, as `compute_actDCF`."""
    bonafide = as_scores(bonafide_llrs, "bona fide")
    spoof = as_scores(spoof_llrs, "spoof")
    threshold = costs.llr_threshold
    rate_miss = np.count_nonzero(bonafide < threshold) / bonafide.size
    rate_fa = np.count_nonzero(spoof >= threshold) / spoof.size
    cost = costs.c_miss * (1 - costs.p_spoof) * rate_miss + costs.c_fa * costs.p_spoof * rate_fa
    return float(cost / min(costs.c_fa * costs.p_spoof, costs.c_miss * (1 - costs.p_spoof)))


def cllr(bonafide_llrs: ArrayLike, spoof_llrs: ArrayLike) -> float:
    """Cllr in bits of LLRs (bona fide vs spoof), as `calculate_CLLR`."""
    bonafide = as_scores(bonafide_llrs, "bona fide")
    spoof = as_scores(spoof_llrs, "spoof")
    return float(
        0.5 * (np.mean(_neg_log_sigmoid(bonafide)) + np.mean(_neg_log_sigmoid(-spoof))) / np.log(2)
    )


def _neg_log_sigmoid(lodds: NDArray[np.float64]) -> NDArray[np.float64]:
    """`log1p(exp(-lodds))` as the official code writes it, with its limit `-lodds` where
    `exp` would overflow (the official value is then infinite)."""
    exponent = -lodds
    return np.where(
        exponent > _EXP_LIMIT, exponent, np.log1p(np.exp(np.minimum(exponent, _EXP_LIMIT)))
    )


def min_cllr_from_ranking(is_bonafide: NDArray[np.bool_]) -> float:
    """min Cllr of trials sorted as `compute_det_curve` sorts them (ascending scores, bona fide
    first among equal ones; `RankedScores.is_bonafide`).

    Pool-adjacent-violators fits the non-decreasing bona fide posterior that minimises the
    cross-entropy; each pooled block's posterior p, less the empirical prior log odds, is the
    LLR of its trials. Equal scores of both classes always end in one block (bona fide first
    among them is a violation), so ties are treated alike whatever their order.
    """
    n_bonafide = int(np.count_nonzero(is_bonafide))
    n_spoof = is_bonafide.size - n_bonafide
    if n_bonafide == 0 or n_spoof == 0:
        raise ValueError(
            f"min Cllr needs both classes, got {n_bonafide} bona fide and {n_spoof} spoof trials"
        )
    counts, bonafide_counts = _pav_blocks(is_bonafide)
    spoof_counts = counts - bonafide_counts
    # A block of one class has the LLR +-inf: only its own class's term counts, and that is 0;
    # the other class's term (0 trials x inf) is masked out.
    with np.errstate(divide="ignore", invalid="ignore"):
        llr = np.log(bonafide_counts / n_bonafide) - np.log(spoof_counts / n_spoof)
        bonafide_cost = np.sum(bonafide_counts * _neg_log_sigmoid(llr), where=bonafide_counts > 0)
        spoof_cost = np.sum(spoof_counts * _neg_log_sigmoid(-llr), where=spoof_counts > 0)
    return float(0.5 * (bonafide_cost / n_bonafide + spoof_cost / n_spoof) / np.log(2))


def _pav_blocks(is_bonafide: NDArray[np.bool_]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Trials and bona fide trials per block of the pool-adjacent-violators fit of the labels.

    Runs of one label never violate, so the stack walks runs, not trials: a set of 611,829
    trials takes well under a second even when its labels alternate.
    """
    labels = is_bonafide.astype(np.int8)
    starts = np.concatenate(([0], np.flatnonzero(np.diff(labels)) + 1))
    lengths = np.diff(np.append(starts, labels.size))
    counts: list[int] = []
    bonafide: list[int] = []
    for length, label in zip(lengths.tolist(), labels[starts].tolist(), strict=True):
        count, positives = length, length * label
        # Pool while the previous block's rate is not below this one's (integers: exact).
        while counts and bonafide[-1] * count >= positives * counts[-1]:
            count += counts.pop()
            positives += bonafide.pop()
        counts.append(count)
        bonafide.append(positives)
    return np.array(counts, dtype=np.int64), np.array(bonafide, dtype=np.int64)

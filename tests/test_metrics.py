"""DET/EER, t-DCF and the ASVspoof 5 figures against hand-derived values and transcriptions of
the official code."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

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
    CostModel,
    TdcfCoefficients,
    asv_operating_point,
    min_tdcf_2021,
    min_tdcf_legacy,
    tdcf_coefficients,
    valid_2021_weights,
)

# Each EER case below is derived by walking the sorted list (bona fide "b" first among ties);
# point k rejects the k lowest trials, frr = #b rejected / Nb, far = #s accepted / Ns.
EER_CASES = [
    # b: 3 4 5, s: 0 1 2 -> sorted s s s b b b; at k=3 frr = 0/3, far = 0/3: EER 0, thr 2.
    ([3, 4, 5], [0, 1, 2], 0.0, 2.0),
    # sorted .05s .1b .2s .3s .35b .4b .5s .6s .8b (Nb 4, Ns 5); |frr - far| per k:
    # 1, .8, .55, .35, .15, .1 (k=5: frr 2/4, far 2/5), .35, .55, .75, 1 -> (.5+.4)/2 = .45.
    ([0.1, 0.4, 0.35, 0.8], [0.2, 0.3, 0.6, 0.05, 0.5], 0.45, 0.35),
    # All tied: the stable sort puts b b b before s s s; at k=3 frr 1, far 1 -> EER 1.0
    # (a tie-grouping implementation would give 0.5).
    ([1, 1, 1], [1, 1, 1], 1.0, 1.0),
    # sorted 0s 1b 2b 2b 2s 2s 2s 3b (Nb 4, Ns 4): k=4 rejects 0s 1b 2b 2b, frr 3/4, far 3/4
    # -> EER .75 at threshold 2 (grouping the 2s would give .5).
    ([1, 2, 2, 3], [0, 2, 2, 2], 0.75, 2.0),
    # sorted -.5s .1s .2b .25s .3s 1.0s 1.5b 1.7s 2.0b (Nb 3, Ns 6): k=5 (thr .3) frr 1/3,
    # far 2/6 -> EER 1/3.
    ([2.0, 1.5, 0.2], [0.1, 0.3, 0.25, 1.0, 1.7, -0.5], 1 / 3, 0.3),
]


@pytest.mark.parametrize(("bonafide", "spoof", "eer", "threshold"), EER_CASES)
def test_eer_vectors(bonafide, spoof, eer, threshold):
    assert compute_eer(bonafide, spoof) == pytest.approx((eer, threshold), abs=1e-12)


def test_eer_of_third_vector_rounds_as_published():
    assert round(compute_eer([2.0, 1.5, 0.2], [0.1, 0.3, 0.25, 1.0, 1.7, -0.5])[0], 4) == 0.3333


def test_det_curve_endpoints_and_thresholds():
    frr, far, thresholds = compute_det_curve([0.1, 0.4, 0.35, 0.8], [0.2, 0.3, 0.6, 0.05, 0.5])
    assert frr.size == far.size == thresholds.size == 10  # n + 1 points
    assert (frr[0], far[0]) == (0.0, 1.0)  # accept everything
    assert (frr[-1], far[-1]) == (1.0, 0.0)  # reject everything
    assert thresholds[0] == pytest.approx(0.05 - 0.001)
    np.testing.assert_array_equal(thresholds[1:], [0.05, 0.1, 0.2, 0.3, 0.35, 0.4, 0.5, 0.6, 0.8])
    assert np.all(np.diff(frr) >= 0) and np.all(np.diff(far) <= 0)


def test_eer_takes_the_first_minimum():
    # sorted 1s 2b 3s (Nb 1, Ns 2): k0 (frr 0, far 1), k1 (0, .5), k2 (1, .5), k3 (1, 0);
    # |frr - far| = 1, .5, .5, 1 ties at k1 and k2: the first, k1, gives EER .25 at threshold
    # 1 (k2 would give .75 at threshold 2).
    assert compute_eer([2], [1, 3]) == (0.25, 1.0)


def _official_compute_det_curve(target_scores, nontarget_scores):
    """Verbatim transcription of `compute_det_curve` of the ASVspoof eval packages."""
    n_scores = target_scores.size + nontarget_scores.size
    all_scores = np.concatenate((target_scores, nontarget_scores))
    labels = np.concatenate((np.ones(target_scores.size), np.zeros(nontarget_scores.size)))
    indices = np.argsort(all_scores, kind="mergesort")
    labels = labels[indices]
    tar_trial_sums = np.cumsum(labels)
    nontarget_trial_sums = nontarget_scores.size - (np.arange(1, n_scores + 1) - tar_trial_sums)
    frr = np.concatenate((np.atleast_1d(0), tar_trial_sums / target_scores.size))
    far = np.concatenate((np.atleast_1d(1), nontarget_trial_sums / nontarget_scores.size))
    thresholds = np.concatenate(
        (np.atleast_1d(all_scores[indices[0]] - 0.001), all_scores[indices])
    )
    return frr, far, thresholds


def test_det_curve_is_bit_identical_to_the_official_code():
    rng = np.random.default_rng(0)
    bonafide = rng.integers(0, 50, 300).astype(float)  # integers: many ties across classes
    spoof = rng.integers(-20, 30, 1000).astype(float)
    for ours, official in zip(
        compute_det_curve(bonafide, spoof),
        _official_compute_det_curve(bonafide, spoof),
        strict=True,
    ):
        np.testing.assert_array_equal(ours, official)


@pytest.mark.parametrize(
    ("bonafide", "spoof"),
    [([], [1.0, 2.0]), ([1.0], []), ([1.0, np.nan], [0.0]), ([1.0], [np.inf]), ([[1.0]], [0.0])],
)
def test_invalid_scores_raise(bonafide, spoof):
    with pytest.raises(ValueError):
        compute_eer(bonafide, spoof)


# ASV scores used by the t-DCF cases. ASV DET: sorted -1n 0n 1n 2t 3t 4t; the EER (0) is
# reached first at k=3, whose threshold is the largest rejected score, 1. The official rates
# count `>=` as accepted, so the non-target scored exactly 1 is a false alarm:
# Pfa_asv = 1/3, Pmiss_asv = 0, Pmiss_spoof_asv = #(spoof < 1)/4 = 1/4, Pfa_spoof_asv = 3/4.
ASV = AsvScores(
    target=np.array([2.0, 3.0, 4.0]),
    nontarget=np.array([-1.0, 0.0, 1.0]),
    spoof=np.array([0.0, 2.0, 2.0, 5.0]),
)
# Legacy:  C1 = .9405 (1 - 0) - .0095 * 10 / 3 = .9405 - .095/3;  C2 = 10 * .05 * (1 - 1/4) = .375
# Revised: C0 = .095/3, C1 = .9405 - .095/3, C2 = .05 * 10 * 3/4 = .375
C0, C1, C2 = 0.095 / 3, 0.9405 - 0.095 / 3, 0.375
SEPARATED = ([3.0, 4.0, 5.0], [0.0, 1.0, 2.0])
OVERLAPPING = ([0.1, 0.4, 0.35, 0.8], [0.2, 0.3, 0.6, 0.05, 0.5])


def test_asv_operating_point():
    point = asv_operating_point(ASV)
    assert (point.eer, point.threshold) == (0.0, 1.0)
    assert (point.pfa, point.pmiss) == pytest.approx((1 / 3, 0.0))
    assert (point.pmiss_spoof, point.pfa_spoof) == pytest.approx((0.25, 0.75))


def test_legacy_tdcf_of_a_perfect_cm_is_zero():
    # The DET passes through (Pmiss_cm, Pfa_cm) = (0, 0) at k=3 (threshold 2): t-DCF 0.
    result = min_tdcf_legacy(*SEPARATED, ASV)
    assert result.min_tdcf == 0.0
    assert result.cm_threshold == 2.0
    assert (result.c0, result.c1, result.c2) == pytest.approx((0.0, C1, C2))
    assert result.asv_eer == 0.0


def test_legacy_tdcf_hand_computed():
    # t-DCF_norm = (C1 Pmiss + C2 Pfa) / min(C1, C2) = (C1/C2) Pmiss + Pfa, C1/C2 = 2.4236.
    # Over the DET points of OVERLAPPING (see EER_CASES): k0 1, k1 0 + .8 = .8, k2 .606 + .8,
    # k3 .606 + .6, k4 .606 + .4 = 1.006, k5 1.212 + .4, ..., k8 1.818, k9 2.424 -> .8 at k1,
    # threshold .05 (reject the lowest spoof only).
    result = min_tdcf_legacy(*OVERLAPPING, ASV)
    assert result.min_tdcf == pytest.approx(0.8)
    assert result.cm_threshold == 0.05


def test_legacy_tdcf_refuses_non_positive_weights():
    # An ASV that rejects every spoof (all below its threshold 1) makes C2 = 0.
    asv = AsvScores(ASV.target, ASV.nontarget, spoof=np.array([-5.0, -6.0]))
    with pytest.raises(ValueError, match="C2=0"):
        min_tdcf_legacy(*SEPARATED, asv)


def test_2021_tdcf_of_a_perfect_cm_is_the_asv_floor():
    # At (Pmiss_cm, Pfa_cm) = (0, 0) only C0 remains: C0 / (C0 + min(C1, C2))
    # = (.095/3) / (.095/3 + .375) = .095 / (.095 + 1.125) = .095 / 1.22.
    result = min_tdcf_2021(*SEPARATED, ASV)
    assert result.min_tdcf == pytest.approx(0.095 / 1.22)
    assert (result.c0, result.c1, result.c2) == pytest.approx((C0, C1, C2))
    assert result.asv_eer == 0.0


def test_2021_tdcf_hand_computed():
    # (C0 + C1 Pmiss + C2 Pfa) / (C0 + C2); at k1 (Pmiss 0, Pfa .8): (.095/3 + .3) / (.095/3 +
    # .375) = (.095 + .9) / 1.22 = .995 / 1.22 = .8156; k0 gives 1 and every other point more.
    result = min_tdcf_2021(*OVERLAPPING, ASV)
    assert result.min_tdcf == pytest.approx(0.995 / 1.22)
    assert result.cm_threshold == 0.05


def test_2021_tdcf_with_given_coefficients():
    coefficients = tdcf_coefficients(ASV)
    assert (coefficients.c0, coefficients.c1, coefficients.c2) == pytest.approx((C0, C1, C2))
    given = min_tdcf_2021(*OVERLAPPING, coefficients)
    assert given.min_tdcf == min_tdcf_2021(*OVERLAPPING, ASV).min_tdcf
    assert given.asv_eer is None
    # The 2021 LA notebook's C012 for A07 x none, with a perfect CM: C0 / (C0 + min(C1, C2)).
    notebook = TdcfCoefficients(c0=0.03051, c1=0.90999, c2=0.46944)
    assert min_tdcf_2021(*SEPARATED, notebook).min_tdcf == pytest.approx(0.03051 / 0.49995)


def test_2021_tdcf_never_exceeds_one():
    # The endpoints give (C0 + C2) / (C0 + min) (accept all) and (C0 + C1) / (C0 + min)
    # (reject all): one of them is exactly 1, so the minimum is at most 1.
    rng = np.random.default_rng(1)
    for _ in range(20):
        coefficients = TdcfCoefficients(*rng.uniform(0, 1, 3))
        result = min_tdcf_2021(rng.normal(size=50), rng.normal(1, 1, size=80), coefficients)
        assert result.min_tdcf <= 1.0


def test_2021_tdcf_of_an_asv_worse_than_chance_is_one():
    # Ten targets (0 .. .9) below both non-targets (5 6): the ASV EER point is reached only
    # after rejecting every target (threshold .9, the largest rejected score); `>=` counts the
    # target at .9 accepted, so Pmiss = .9, Pfa = 1, and both spoofs are accepted: Pfa_spoof = 1.
    # C0 = .9405 * .9 + .095 = .94145, C1 = .9405 - C0 = -.00095, C2 = .5. The official per-cell
    # code (eval_wrapper.get_mintDCF_eer) divides by C0 + min(C1, C2) = C0 + C1 = .9405 > 0;
    # every DET point costs at least C0 + C1, reached only where the CM rejects all: exactly 1.
    asv = AsvScores(
        target=np.arange(10) / 10, nontarget=np.array([5.0, 6.0]), spoof=np.array([1.0, 2.0])
    )
    result = min_tdcf_2021(*OVERLAPPING, asv)
    assert (result.c0, result.c1, result.c2) == pytest.approx((0.94145, -0.00095, 0.5))
    assert result.min_tdcf == 1.0
    assert result.cm_threshold == max(max(part) for part in OVERLAPPING)  # reject everything
    assert result.asv_eer == 1.0
    # The same from given weights, and with C1 < 0 by a wide margin.
    assert min_tdcf_2021(*SEPARATED, TdcfCoefficients(0.94145, -0.00095, 0.5)).min_tdcf == 1.0
    assert min_tdcf_2021(*OVERLAPPING, TdcfCoefficients(1.0, -0.5, 0.2)).min_tdcf == 1.0


def test_2021_tdcf_refuses_weights_without_a_positive_normaliser():
    with pytest.raises(ValueError, match=r"C0 \+ min\(C1, C2\) > 0"):
        min_tdcf_2021(*SEPARATED, TdcfCoefficients(0.1, -0.2, 0.3))  # C0 + C1 < 0
    with pytest.raises(ValueError, match=r"C0=0, C1=0\.9, C2=0"):
        min_tdcf_2021(*SEPARATED, TdcfCoefficients(0.0, 0.9, 0.0))  # 0 / 0


def test_cost_model_defaults_are_the_asvspoof_ones():
    costs = CostModel()
    assert costs.p_tar == (1 - 0.05) * 0.99 and costs.p_non == (1 - 0.05) * 0.01
    assert (costs.c_miss, costs.c_fa, costs.c_fa_spoof) == (1, 10, 10)
    with pytest.raises(ValueError, match="sum to one"):
        CostModel(p_spoof=0.1)


def test_read_asv_scores(tmp_path):
    path = tmp_path / "asv.txt"
    path.write_text("bonafide target 2.5\nbonafide nontarget -1\nA07 spoof 0.5\nA08 spoof 3\n")
    asv = read_asv_scores(path)
    assert asv.target.tolist() == [2.5]
    assert asv.nontarget.tolist() == [-1.0]
    assert asv.spoof.tolist() == [0.5, 3.0]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("A07 target 1.0", "contradicts"),
        ("bonafide spoof 1.0", "contradicts"),
        ("bonafide impostor 1.0", "ASV key"),
        ("bonafide target x", "cannot parse"),
        ("bonafide target nan", "not finite"),
        ("bonafide target", "expected"),
    ],
)
def test_read_asv_scores_errors_name_file_and_line(tmp_path, line, message):
    path = tmp_path / "asv.txt"
    path.write_text(f"bonafide nontarget -1\nA07 spoof 0.5\n{line}\nbonafide target 2\n")
    with pytest.raises(ValueError, match=message) as error:
        read_asv_scores(path)
    assert f"{path}:3:" in str(error.value)


def test_read_asv_scores_needs_every_key(tmp_path):
    path = tmp_path / "asv.txt"
    path.write_text("bonafide target 2\nbonafide nontarget -1\n")
    with pytest.raises(ValueError, match="no spoof trials"):
        read_asv_scores(path)


def test_ranked_selections_are_the_official_sort_of_the_subset():
    # A subset of the once-ranked trials must give the DET curve that sorting the subset alone
    # gives, to the bit, ties included (integer scores): conditions and subsets rely on it.
    rng = np.random.default_rng(2)
    scores = rng.integers(0, 30, 2000).astype(float)
    is_bonafide = rng.random(2000) < 0.3
    ranked = RankedScores.rank(scores, is_bonafide)
    for _ in range(10):
        keep = rng.random(2000) < 0.2
        official = compute_det_curve(scores[keep & is_bonafide], scores[keep & ~is_bonafide])
        by_mask = ranked.select(ranked.by_rank(keep))
        by_index = ranked.select(np.flatnonzero(ranked.by_rank(keep)))
        for selection in (by_mask, by_index):
            for ours, theirs in zip(selection.det_curve(), official, strict=True):
                np.testing.assert_array_equal(ours, theirs)
    assert (ranked.n_bonafide, ranked.n_spoof) == (is_bonafide.sum(), (~is_bonafide).sum())
    assert ranked.eer() == compute_eer(scores[is_bonafide], scores[~is_bonafide])


def test_2021_weights_validity():
    assert valid_2021_weights(TdcfCoefficients(0.1, 0.9, 0.0))  # C0 carries the normaliser
    assert valid_2021_weights(TdcfCoefficients(0.94, -0.01, 0.5))  # C0 + C1 = Ptar Cmiss > 0
    assert not valid_2021_weights(TdcfCoefficients(0.0, 0.9, 0.0))  # 0 / 0: NaN officially
    assert not valid_2021_weights(TdcfCoefficients(0.1, -0.2, 0.3))  # a negative normaliser
    assert not valid_2021_weights(TdcfCoefficients(-0.1, 0.9, 0.3))  # no rates give C0 < 0


# ASVspoof 5: transcriptions of asvspoof-challenge/asvspoof5 evaluation-package/
# calculate_modules.py (compute_mindcf, compute_actDCF, calculate_CLLR), as
# calculate_metrics.py calls them (Pspoof 0.05, Cmiss 1, Cfa 10).
def _official_compute_mindcf(frr, far, thresholds, Pspoof, Cmiss, Cfa):  # noqa: N803
    min_c_det = float("inf")
    min_c_det_threshold = thresholds
    p_target = 1 - Pspoof
    for i in range(0, len(frr)):
        c_det = Cmiss * frr[i] * p_target + Cfa * far[i] * (1 - p_target)
        if c_det < min_c_det:
            min_c_det = c_det
            min_c_det_threshold = thresholds[i]
    c_def = min(Cmiss * p_target, Cfa * (1 - p_target))
    return min_c_det / c_def, min_c_det_threshold


def _official_compute_actdcf(bonafide_scores, spoof_scores, Pspoof, Cmiss, Cfa):  # noqa: N803
    beta = Cmiss * (1 - Pspoof) / (Cfa * Pspoof)
    threshold = -np.log(beta)
    rate_miss = np.sum(bonafide_scores < threshold) / bonafide_scores.size
    rate_fa = np.sum(spoof_scores >= threshold) / spoof_scores.size
    act = Cmiss * (1 - Pspoof) * rate_miss + Cfa * Pspoof * rate_fa
    return act / np.min([Cfa * Pspoof, Cmiss * (1 - Pspoof)]), threshold


def _official_calculate_cllr(target_llrs, nontarget_llrs):
    def negative_log_sigmoid(lodds):
        return np.log1p(np.exp(-lodds))

    return (
        0.5
        * (
            np.mean(negative_log_sigmoid(np.array(target_llrs)))
            + np.mean(negative_log_sigmoid(-np.array(nontarget_llrs)))
        )
        / np.log(2)
    )


def min_dcf(bonafide, spoof):
    return min_dcf_from_det(compute_det_curve(bonafide, spoof))


def min_cllr(bonafide, spoof):
    scores = np.concatenate((bonafide, spoof)).astype(float)
    is_bonafide = np.arange(scores.size) < len(bonafide)
    return min_cllr_from_ranking(RankedScores.rank(scores, is_bonafide).is_bonafide)


BAYES_THRESHOLD = -math.log(1.9)  # -ln(Cmiss (1 - Pspoof) / (Cfa Pspoof))


def test_asvspoof5_cost_model():
    assert DcfCosts(p_spoof=0.05, c_miss=1.0, c_fa=10.0) == ASVSPOOF5_COSTS
    assert ASVSPOOF5_COSTS.llr_threshold == pytest.approx(BAYES_THRESHOLD, abs=1e-15)
    # Cfa Pspoof / (Cfa Pspoof + Cmiss (1 - Pspoof)) = .5 / 1.45; its negated log odds are the
    # Bayes threshold: ln(.5 / .95).
    assert ASVSPOOF5_COSTS.effective_prior_spoof == pytest.approx(0.5 / 1.45)
    effective = ASVSPOOF5_COSTS.effective_prior_spoof
    assert math.log(effective / (1 - effective)) == pytest.approx(BAYES_THRESHOLD)
    for bad in ({"p_spoof": 0.0}, {"p_spoof": 1.0}, {"c_fa": 0.0}, {"c_miss": -1.0}):
        with pytest.raises(ValueError):
            DcfCosts(**bad)


# min DCF = min over DET points of (.95 frr + .5 far) / .5 = 1.9 frr + far.
MIN_DCF_CASES = [
    # Separated: k=3 rejects the spoofs only (frr 0, far 0).
    (*SEPARATED, 0.0, 2.0),
    # All tied: accept-all (k0: frr 0, far 1) costs 1; the tie walks through (1, 1): 2.9.
    ([1.0, 1.0, 1.0], [1.0, 1.0, 1.0], 1.0, 1.0 - 0.001),
    # Reversed: every point that rejects a spoof rejects all bona fide first; accept-all wins.
    (SEPARATED[1], SEPARATED[0], 1.0, -0.001),
    # sorted .05s .1b .2s .3s .35b .4b .5s .6s .8b: k0 1, k1 (.05s out: frr 0, far .8) .8,
    # k2 1.275, k3 1.075, k4 .875, k5 1.35, ... -> .8 at threshold .05.
    (*OVERLAPPING, 0.8, 0.05),
]


@pytest.mark.parametrize(("bonafide", "spoof", "expected", "threshold"), MIN_DCF_CASES)
def test_min_dcf_hand_cases(bonafide, spoof, expected, threshold):
    assert min_dcf(bonafide, spoof) == pytest.approx((expected, threshold), abs=1e-12)


def test_min_dcf_is_bit_identical_to_the_official_code():
    rng = np.random.default_rng(5)
    for _ in range(5):
        bonafide = rng.integers(0, 40, 200).astype(float)  # ties across the classes
        spoof = rng.integers(-20, 25, 900).astype(float)
        det = compute_det_curve(bonafide, spoof)
        assert min_dcf_from_det(det) == _official_compute_mindcf(*det, 0.05, 1, 10)


def test_act_dcf_hand_case_and_the_threshold_boundary():
    # t = -.6419: misses -1 (1 of 4 bona fide), false alarms -.5 and .7 (2 of 5 spoofs):
    # (.95 / 4 + .5 * 2 / 5) / .5 = .875.
    assert act_dcf([1.0, -1.0, 2.0, 0.0], [-2.0, -0.5, 0.7, -3.0, -1.0]) == pytest.approx(0.875)
    # At the threshold a trial is accepted (not a miss; a false alarm), as officially.
    at = ASVSPOOF5_COSTS.llr_threshold
    below = np.nextafter(at, -np.inf)
    assert act_dcf([at], [below]) == 0.0
    assert act_dcf([below], [at]) == pytest.approx((0.95 + 0.5) / 0.5)


@pytest.mark.parametrize(
    ("bonafide", "spoof", "expected"),
    [
        ([5.0, 3.0], [-4.0, -2.0], 0.0),  # separated on the right side of the threshold
        ([5.0, 3.0], [4.0, 2.0], 1.0),  # all accepted: .5 / .5
        ([-5.0, -3.0], [-4.0, -2.0], 1.9),  # all rejected: .95 / .5
        ([-5.0, -3.0], [4.0, 2.0], 2.9),  # reversed: every decision wrong
    ],
)
def test_act_dcf_trivial_deciders(bonafide, spoof, expected):
    assert act_dcf(bonafide, spoof) == pytest.approx(expected)


def test_act_dcf_is_bit_identical_to_the_official_code():
    rng = np.random.default_rng(6)
    bonafide = rng.normal(1.0, 2.0, 500)
    spoof = rng.normal(-1.0, 2.0, 3000)
    spoof[:10] = BAYES_THRESHOLD  # on the threshold
    official = _official_compute_actdcf(bonafide, spoof, 0.05, 1, 10)
    assert act_dcf(bonafide, spoof) == official[0]
    assert ASVSPOOF5_COSTS.llr_threshold == official[1]


@pytest.mark.parametrize("value", [0.5, 2.0, 7.0])
def test_cllr_analytic_cases(value):
    # Bona fide at +v, spoof at -v: each trial costs log2(1 + e^-v); reversed, log2(1 + e^v).
    assert cllr([value] * 3, [-value] * 5) == pytest.approx(math.log2(1 + math.exp(-value)))
    assert cllr([-value] * 3, [value] * 5) == pytest.approx(math.log2(1 + math.exp(value)))
    # LLRs of 0 (no evidence) cost exactly 1 bit.
    assert cllr([0.0, 0.0], [0.0]) == 1.0


def test_cllr_is_bit_identical_to_the_official_code_and_finite_beyond_it():
    rng = np.random.default_rng(7)
    bonafide = rng.normal(2.0, 3.0, 400)
    spoof = rng.normal(-2.0, 3.0, 1500)
    assert cllr(bonafide, spoof) == _official_calculate_cllr(bonafide, spoof)
    # Where exp() overflows the official code gives inf; the term is then |llr| itself.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert cllr([-1000.0], [1000.0]) == pytest.approx(1000 / math.log(2))
        assert cllr([1000.0], [-1000.0]) == 0.0


@pytest.mark.parametrize(
    ("bonafide", "spoof", "expected"),
    [
        (*SEPARATED, 0.0),
        ([1.0, 1.0, 1.0], [1.0, 1.0], 1.0),  # all tied: one block, LLR 0
        (SEPARATED[1], SEPARATED[0], 1.0),  # reversed: the best monotone map is constant
        # sorted 1s 2b 3s: blocks [1s] (LLR -inf) and [2b 3s] (posterior 1/2, LLR
        # logit(1/2) - ln(1/2) = ln 2): bona fide log2(1.5), spoofs 0 and log2(3).
        ([2.0], [1.0, 3.0], 0.5 * math.log2(1.5) + 0.25 * math.log2(3)),
    ],
)
def test_min_cllr_hand_cases(bonafide, spoof, expected):
    assert min_cllr(bonafide, spoof) == pytest.approx(expected, abs=1e-15)


def _brute_force_pav(labels):
    """Pool-adjacent-violators trial by trial: the fitted bona fide rate of each trial."""
    blocks = []  # [count, bona fide count]
    for label in labels:
        blocks.append([1, int(label)])
        while len(blocks) > 1 and blocks[-2][1] * blocks[-1][0] >= blocks[-1][1] * blocks[-2][0]:
            count, positives = blocks.pop()
            blocks[-1][0] += count
            blocks[-1][1] += positives
    return np.concatenate([[positives / count] * count for count, positives in blocks])


def test_min_cllr_is_the_cllr_of_the_pav_calibration_and_bounds_any_calibration():
    rng = np.random.default_rng(8)
    bonafide = rng.integers(0, 30, 300).astype(float)  # ties across the classes
    spoof = rng.integers(-10, 20, 700).astype(float)
    ranked = RankedScores.rank(np.concatenate((bonafide, spoof)), np.arange(1000) < bonafide.size)
    rate = _brute_force_pav(ranked.is_bonafide)
    assert np.all(np.diff(rate) >= 0)
    # Fitted rates of 0 or 1 give infinite LLRs, but only for trials of their own class, where
    # the official formula gives them a cost of 0.
    with np.errstate(divide="ignore"):
        llr = np.log(rate / 300) - np.log((1 - rate) / 700)
    expected = _official_calculate_cllr(llr[ranked.is_bonafide], llr[~ranked.is_bonafide])
    assert min_cllr(bonafide, spoof) == pytest.approx(expected, rel=1e-12)
    for scale, offset in ((0.1, 0.0), (0.3, -1.0), (1.0, 2.0)):
        calibrated = cllr(scale * bonafide + offset, scale * spoof + offset)
        assert min_cllr(bonafide, spoof) < calibrated
    assert 0 < min_cllr(bonafide, spoof) < 1


def test_min_cllr_needs_both_classes():
    with pytest.raises(ValueError, match="both classes"):
        min_cllr_from_ranking(np.ones(3, dtype=bool))

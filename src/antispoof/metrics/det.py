"""DET curve and EER, computed exactly as the ASVspoof 2019/2021/5 evaluation packages do.

The official `compute_det_curve` puts the target (bona fide) scores first, sorts all scores
with a stable mergesort and evaluates one operating point per prefix of the sorted list. Ties
are not grouped: inside a run of equal scores every target precedes every non-target, so the
curve walks through the pessimistic corner. The EER is read at the first index of
`min |frr - far|` as the mean of the two rates there, without interpolation. Any change to
this (tie grouping, a convex hull, interpolating the crossing) changes published figures.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

# (frr, far, thresholds): one point per prefix of the sorted scores.
DetCurve = tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]


def as_scores(scores: ArrayLike, name: str) -> NDArray[np.float64]:
    """Return `scores` as a non-empty, finite, one-dimensional float64 array."""
    array = np.asarray(scores, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(f"{name} scores must be one-dimensional, got shape {array.shape}")
    if array.size == 0:
        raise ValueError(f"no {name} scores: both classes need at least one trial")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} scores contain NaN or infinite values")
    return array


def compute_det_curve(target_scores: ArrayLike, nontarget_scores: ArrayLike) -> DetCurve:
    """Return `(frr, far, thresholds)`, each with one point per prefix of the sorted scores.

    Targets are the positive class (bona fide for a CM, the claimed speaker for an ASV) and
    score higher. Point k rejects the k lowest-scored trials: `thresholds[k]` is the largest
    rejected score (`thresholds[0]` lies 0.001 below every score), so a trial is accepted when
    its score exceeds the threshold. Point 0 accepts everything (frr 0, far 1), point n
    rejects everything (frr 1, far 0).
    """
    target = as_scores(target_scores, "target")
    nontarget = as_scores(nontarget_scores, "non-target")
    all_scores = np.concatenate((target, nontarget))
    is_target = np.concatenate((np.ones(target.size, bool), np.zeros(nontarget.size, bool)))
    order = np.argsort(all_scores, kind="mergesort")
    return det_curve_from_ranking(is_target[order], all_scores[order])


def det_curve_from_ranking(
    is_target: NDArray[np.bool_], sorted_scores: NDArray[np.float64]
) -> DetCurve:
    """`compute_det_curve` of trials already sorted as it sorts them (see `RankedScores`).

    `is_target` and `sorted_scores` are in ascending score order, targets before non-targets
    among equal scores. The counts are exact integers, so the rates are the same floats as
    the official code's float cumulative sums.
    """
    n_scores = is_target.size
    n_target = int(np.count_nonzero(is_target))
    n_nontarget = n_scores - n_target
    if n_target == 0 or n_nontarget == 0:
        raise ValueError(
            f"a DET curve needs both classes, got {n_target} target and {n_nontarget} "
            "non-target trials"
        )
    target_sums = np.cumsum(is_target)
    nontarget_above = n_nontarget - (np.arange(1, n_scores + 1) - target_sums)
    frr = np.concatenate(([0.0], target_sums / n_target))
    far = np.concatenate(([1.0], nontarget_above / n_nontarget))
    thresholds = np.concatenate(([sorted_scores[0] - 0.001], sorted_scores))
    return frr, far, thresholds


def eer_from_det(
    frr: NDArray[np.float64], far: NDArray[np.float64], thresholds: NDArray[np.float64]
) -> tuple[float, float]:
    """Return `(eer, threshold)` at the first point where |frr - far| is smallest."""
    index = int(np.argmin(np.abs(frr - far)))
    return float(np.mean((frr[index], far[index]))), float(thresholds[index])


def compute_eer(target_scores: ArrayLike, nontarget_scores: ArrayLike) -> tuple[float, float]:
    """Return `(eer, threshold)` as a fraction; targets (bona fide) score higher."""
    return eer_from_det(*compute_det_curve(target_scores, nontarget_scores))

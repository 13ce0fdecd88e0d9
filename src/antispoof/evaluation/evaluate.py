"""Evaluate one score file against its data directory: the figures written to metrics.json.

Bona fide is the positive class and a higher score means more bona fide. The figures are never
computed with a silently flipped sign: each is reported under this convention and, beside it,
for the negated scores, with `polarity_warning` set when the negated EER is lower.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from antispoof.data.kaldi_files import TableError, read_table
from antispoof.evaluation.plots import plot_det, plot_score_histogram
from antispoof.evaluation.score_file import read_trial_scores
from antispoof.metrics.asv_scores import read_asv_scores
from antispoof.metrics.det import compute_eer
from antispoof.metrics.tdcf import min_tdcf_legacy

logger = logging.getLogger(__name__)

BONAFIDE = "bonafide"
SPOOF = "spoof"
CONVENTION = (
    "bona fide is the positive class and a higher score means more bona fide; EERs are "
    "fractions computed as the ASVspoof packages do; *_negated figures use the negated scores"
)
DET_PLOT = "det.png"
HISTOGRAM_PLOT = "score_hist.png"


@dataclass(frozen=True)
class Trials:
    """The trials of a data directory, in its (sorted) order."""

    utts: list[str]
    is_bonafide: NDArray[np.bool_]
    attacks: NDArray[np.str_]


def read_trials(data_dir: str | os.PathLike[str]) -> Trials:
    """Read `utt2label` and `utt2attack`; they must cover the same utterances and agree."""
    label_path = Path(data_dir) / "utt2label"
    attack_path = Path(data_dir) / "utt2attack"
    labels = read_table(label_path)
    attacks = read_table(attack_path)
    unmatched = sorted(labels.keys() ^ attacks.keys())
    if unmatched:
        raise TableError(
            f"{label_path} and {attack_path} do not list the same utterances: "
            f"{len(unmatched)} in only one of them (e.g. {', '.join(unmatched[:5])})"
        )
    utts = list(labels)
    label_array = np.array(list(labels.values()))
    attack_array = np.array([attacks[utt] for utt in utts])
    is_bonafide = label_array == BONAFIDE
    # Checked with array operations: a 2021 DF set has 611,829 trials.
    bad_label = np.flatnonzero(~is_bonafide & (label_array != SPOOF))
    if bad_label.size:
        utt = utts[bad_label[0]]
        raise TableError(f"{label_path}: label {labels[utt]!r} of {utt!r} is not bonafide or spoof")
    bad_attack = np.flatnonzero(is_bonafide != (attack_array == BONAFIDE))
    if bad_attack.size:
        utt = utts[bad_attack[0]]
        raise TableError(f"{attack_path}: attack {attacks[utt]!r} of {labels[utt]} trial {utt!r}")
    return Trials(utts=utts, is_bonafide=is_bonafide, attacks=attack_array)


def evaluate(
    scores_file: str | os.PathLike[str],
    data_dir: str | os.PathLike[str],
    asv_scores_file: str | os.PathLike[str] | None = None,
    plots_dir: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """All figures of one score file as a JSON-ready dict; plots go to `plots_dir` if given."""
    trials = read_trials(data_dir)
    scores = read_trial_scores(scores_file, trials.utts, data_dir)
    bonafide = scores[trials.is_bonafide]
    spoof = scores[~trials.is_bonafide]
    if bonafide.size == 0 or spoof.size == 0:
        raise ValueError(
            f"{data_dir}: an EER needs both classes, found {bonafide.size} bona fide and "
            f"{spoof.size} spoof trials"
        )
    eer, threshold = compute_eer(bonafide, spoof)
    eer_negated, _ = compute_eer(-bonafide, -spoof)
    metrics: dict[str, Any] = {
        "scores_file": str(scores_file),
        "data_dir": str(data_dir),
        "convention": CONVENTION,
        "n_bonafide": int(bonafide.size),
        "n_spoof": int(spoof.size),
        "eer": eer,
        "eer_threshold": threshold,
        "eer_negated": eer_negated,
        "polarity_warning": eer_negated < eer,
        "per_attack": per_attack_eers(bonafide, spoof, trials.attacks[~trials.is_bonafide]),
    }
    if metrics["polarity_warning"]:
        logger.warning(
            "%s: the negated scores give a lower EER (%.3f %% instead of %.3f %%); is bona fide "
            "scored low? The figures keep the convention higher = bona fide.",
            scores_file,
            100 * eer_negated,
            100 * eer,
        )
    if asv_scores_file is not None:
        metrics.update(legacy_tdcf(bonafide, spoof, asv_scores_file))
    if plots_dir is not None:
        plots_dir = Path(plots_dir)
        plots_dir.mkdir(parents=True, exist_ok=True)
        plot_det(plots_dir / DET_PLOT, bonafide, spoof, with_negated=metrics["polarity_warning"])
        plot_score_histogram(plots_dir / HISTOGRAM_PLOT, bonafide, spoof, threshold)
    return metrics


def per_attack_eers(
    bonafide: NDArray[np.float64], spoof: NDArray[np.float64], spoof_attacks: NDArray[np.str_]
) -> dict[str, dict[str, Any]]:
    """EER of each attack's spoof trials against all bona fide trials, as in the papers."""
    names, inverse, counts = np.unique(spoof_attacks, return_inverse=True, return_counts=True)
    # Group the spoof scores by attack with one sort instead of one mask per attack.
    grouped = np.split(spoof[np.argsort(inverse, kind="stable")], np.cumsum(counts)[:-1])
    return {
        str(name): {
            "eer": compute_eer(bonafide, attack_scores)[0],
            "eer_negated": compute_eer(-bonafide, -attack_scores)[0],
            "n_spoof": int(attack_scores.size),
        }
        for name, attack_scores in zip(names, grouped, strict=True)
    }


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

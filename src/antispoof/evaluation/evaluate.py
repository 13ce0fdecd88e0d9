"""Evaluate one score file against its data directory: the figures written to metrics.json.

Bona fide is the positive class and a higher score means more bona fide. The figures are never
computed with a silently flipped sign: each is reported under this convention and, beside it,
for the negated scores, with `polarity_warning` set when the negated EER is lower.

Beyond the pooled EER and per-attack EERs, every set gets the ASVspoof 5 min DCF and min Cllr,
and with a calibration (calibration.json, fitted on dev scores) actDCF and Cllr of the
calibrated LLRs (dcf_figures.py). Then what its data directory supports: the 2019 legacy min
t-DCF with `asv_scores.txt`; the 2021 min t-DCF with `asv2021/` (the
organisers' ASV key and scores, weights per subset and condition cell); condition tables with
`utt2codec` (see conditions.py; an ASVspoof 5 set's cells carry the Track 1 figures too);
figures per subset with `utt2subset`, the `eval` subset being
the one the 2021 challenge ranked on.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from antispoof.evaluation.calibration import Calibration
from antispoof.evaluation.conditions import condition_columns, condition_tables, table_layouts
from antispoof.evaluation.dcf_figures import dcf_figures
from antispoof.evaluation.factors import OFFICIAL_SUBSET
from antispoof.evaluation.plots import plot_det, plot_score_histogram
from antispoof.evaluation.score_file import read_trial_scores
from antispoof.evaluation.subsets import per_subset
from antispoof.evaluation.tdcf_figures import legacy_tdcf, tdcf_2021_pooled
from antispoof.evaluation.trials import read_trials
from antispoof.metrics.asv2021 import Asv2021Weights, read_asv2021
from antispoof.metrics.columns import Categorical
from antispoof.metrics.det import eer_from_det
from antispoof.metrics.ranking import RankedScores

logger = logging.getLogger(__name__)

CONVENTION = (
    "bona fide is the positive class and a higher score means more bona fide; EERs are "
    "fractions computed as the ASVspoof packages do; *_negated figures use the negated scores; "
    "min_dcf, act_dcf, cllr (bits) and min_cllr as ASVspoof 5 computes them (Pspoof 0.05, "
    "Cmiss 1, Cfa 10), act_dcf and cllr of the scores calibrated to LLRs by `calibration`"
)
DET_PLOT = "det.png"
HISTOGRAM_PLOT = "score_hist.png"
# Files of a data directory that evaluate() uses unless told otherwise.
ASV_2019_FILE = "asv_scores.txt"
ASV_2021_DIR = "asv2021"


def evaluate(
    scores_file: str | os.PathLike[str],
    data_dir: str | os.PathLike[str],
    asv_scores_file: str | os.PathLike[str] | None = None,
    plots_dir: str | os.PathLike[str] | None = None,
    asv2021_dir: str | os.PathLike[str] | None = None,
    calibration: Calibration | None = None,
    title: str | None = None,
) -> dict[str, Any]:
    """All figures of one score file as a JSON-ready dict; plots go to `plots_dir` if given,
    titled `title` (default: the experiment and set of a stage-5 layout,
    `exp/<tag>/<set>/scores.txt`, as `<tag> on <set>`).

    The organisers' ASV scores default to `<data_dir>/asv_scores.txt` (2019 legacy t-DCF) or
    `<data_dir>/asv2021/` (2021 t-DCF), where they exist. With a `calibration`, the scores'
    LLRs give actDCF and Cllr, and metrics.json records the calibration.
    """
    asv_scores_file, asv2021_dir = _asv_inputs(Path(data_dir), asv_scores_file, asv2021_dir)
    trials = read_trials(data_dir)
    scores = read_trial_scores(scores_file, trials.utts, data_dir, trials.subset)
    bonafide = scores[trials.is_bonafide]
    spoof = scores[~trials.is_bonafide]
    if bonafide.size == 0 or spoof.size == 0:
        raise ValueError(
            f"{data_dir}: an EER needs both classes, found {bonafide.size} bona fide and "
            f"{spoof.size} spoof trials"
        )
    # Ranked once per polarity; subsets and condition cells are masks over these ranks.
    ranked = RankedScores.rank(scores, trials.is_bonafide)
    negated = RankedScores.rank(-scores, trials.is_bonafide)
    det, det_negated = ranked.det_curve(), negated.det_curve()
    eer, threshold = eer_from_det(*det)
    eer_negated = eer_from_det(*det_negated)[0]
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
        **dcf_figures(ranked, det, det_negated, calibration),
        "per_attack": per_attack_eers(ranked, negated, trials.factors["attack"]),
    }
    if calibration is not None:
        metrics["calibration"] = calibration.to_json()
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
    asv, weights = None, None
    if asv2021_dir is not None:
        asv = read_asv2021(asv2021_dir)
        weights = Asv2021Weights(asv)
        metrics.update(tdcf_2021_pooled(det, det_negated, weights, Path(asv2021_dir)))
    columns = condition_columns(trials)
    if table_layouts(columns):
        metrics["conditions"] = condition_tables(ranked, columns, weights, calibration)
    if trials.subset is not None:
        metrics["per_subset"] = per_subset(
            ranked, negated, trials.subset, asv, columns, calibration
        )
        if OFFICIAL_SUBSET in metrics["per_subset"]:
            metrics["official_subset"] = OFFICIAL_SUBSET
    if plots_dir is not None:
        plots_dir = Path(plots_dir)
        plots_dir.mkdir(parents=True, exist_ok=True)
        title = title or default_title(scores_file, data_dir)
        plot_det(
            plots_dir / DET_PLOT, bonafide, spoof, title, with_negated=metrics["polarity_warning"]
        )
        plot_score_histogram(plots_dir / HISTOGRAM_PLOT, bonafide, spoof, threshold, title)
    return metrics


def default_title(scores_file: str | os.PathLike[str], data_dir: str | os.PathLike[str]) -> str:
    """`<tag> on <set>`: the experiment directory holding `<set>/scores.txt`, and the data set."""
    experiment = Path(scores_file).resolve().parent.parent.name
    return f"{experiment} on {Path(data_dir).resolve().name}"


def _asv_inputs(
    data_dir: Path,
    asv_scores_file: str | os.PathLike[str] | None,
    asv2021_dir: str | os.PathLike[str] | None,
) -> tuple[str | os.PathLike[str] | None, str | os.PathLike[str] | None]:
    """The ASV inputs given, else those the data directory holds; at most one of the two."""
    if asv_scores_file is None and (data_dir / ASV_2019_FILE).is_file():
        asv_scores_file = data_dir / ASV_2019_FILE
    if asv2021_dir is None and (data_dir / ASV_2021_DIR).is_dir():
        asv2021_dir = data_dir / ASV_2021_DIR
    if asv_scores_file is not None and asv2021_dir is not None:
        raise ValueError(
            f"both 2019 ASV scores ({asv_scores_file}) and a 2021 ASV key ({asv2021_dir}) for "
            f"{data_dir}: a set is scored with one t-DCF formulation"
        )
    return asv_scores_file, asv2021_dir


def per_attack_eers(
    ranked: RankedScores, negated: RankedScores, attacks: Categorical
) -> dict[str, dict[str, Any]]:
    """EER of each attack's spoof trials against all bona fide trials, as in the papers."""
    eers, n_spoof = _eers_per_attack(ranked, attacks)
    eers_negated, _ = _eers_per_attack(negated, attacks)
    return {
        attack: {
            "eer": eers[attack],
            "eer_negated": eers_negated[attack],
            "n_spoof": n_spoof[attack],
        }
        for attack in sorted(eers)
    }


def _eers_per_attack(
    ranked: RankedScores, attacks: Categorical
) -> tuple[dict[str, float], dict[str, int]]:
    """EER and spoof count per attack, each a selection of ranks: merging two sorted index
    lists is much cheaper than one mask over a 611,829-trial set per attack."""
    bonafide_ranks = np.flatnonzero(ranked.is_bonafide)
    spoof_ranks = np.flatnonzero(~ranked.is_bonafide)
    spoof_codes = ranked.by_rank(attacks.codes)[spoof_ranks]
    codes, counts = np.unique(spoof_codes, return_counts=True)
    # A stable sort by attack keeps each attack's ranks increasing.
    grouped = np.split(spoof_ranks[np.argsort(spoof_codes, kind="stable")], np.cumsum(counts)[:-1])
    eers, n_spoof = {}, {}
    for code, attack_ranks in zip(codes, grouped, strict=True):
        attack = attacks.values[code]
        # Two increasing runs: the stable sort (timsort) merges them in linear time.
        ranks = np.sort(np.concatenate((bonafide_ranks, attack_ranks)), kind="stable")
        eers[attack] = ranked.select(ranks).eer()[0]
        n_spoof[attack] = int(attack_ranks.size)
    return eers, n_spoof

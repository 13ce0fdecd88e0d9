"""The organisers' ASV key and scores of ASVspoof 2021 LA, and the t-DCF weights of a cell.

A 2021 LA data directory holds them in `asv2021/` (docs/research/corpora.md §2.3):
`trial_metadata.txt`, 8 fields `spk-cond trial-cond codec trans attack target|nontarget|spoof
trim subset`, and `score.txt`, 3 fields `spk-cond trial-cond score`. The official package
(`main.py --recompute-c012`) joins the two line by line; here the first two fields must agree
on every line as well, so a score file of another key is refused instead of mis-joined.

The 2021 weights C0, C1, C2 are computed per subset and per condition cell from the ASV trials
of that subset and cell, as `compute_tDCF_C012` does: target and non-target trials are bona fide
speech, filtered only by the factors that bona fide trials have (codec, transmission); spoof
trials are filtered by every factor of the cell (attack too). The key's `trans` column is the
data directory's `channel`.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from antispoof.data.kaldi_files import TableError
from antispoof.metrics.columns import Categorical, read_columns
from antispoof.metrics.det import DetCurve
from antispoof.metrics.tdcf import (
    ASVSPOOF_COST_MODEL,
    AsvThreshold,
    CostModel,
    TdcfCoefficients,
    asv_threshold,
    min_tdcf_2021_from_det,
    revised_coefficients,
    valid_2021_weights,
    with_spoof_rates,
)

KEY_FILE = "trial_metadata.txt"
SCORE_FILE = "score.txt"
ASV_LABELS = ("target", "nontarget", "spoof")
# Condition factor (data-directory name) -> field of the ASV key.
KEY_FACTOR_FIELDS = {"codec": 2, "channel": 3, "attack": 4}
KEY_LABEL_FIELD = 5
KEY_SUBSET_FIELD = 7
# The stage-1 keys named the hidden subset `hidden_track`; data directories say `hidden`.
SUBSET_ALIASES = {"hidden_track": "hidden"}

# (factor, value) pairs a trial must match; () matches every trial (a pooled cell).
Filter = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Asv2021Trials:
    """ASV trials: score, label (target, nontarget, spoof), condition factors and subset."""

    scores: NDArray[np.float64]
    label: Categorical
    factors: dict[str, Categorical]
    subset: Categorical

    def select(self, keep: NDArray[np.bool_]) -> Asv2021Trials:
        return Asv2021Trials(
            scores=self.scores[keep],
            label=self.label.select(keep),
            factors={name: factor.select(keep) for name, factor in self.factors.items()},
            subset=self.subset.select(keep),
        )


@dataclass(frozen=True)
class AsvWeights:
    """The 2021 t-DCF weights of one cell and the ASV EER they were read at."""

    coefficients: TdcfCoefficients
    asv_eer: float


def min_tdcf_where_defined(det: DetCurve, weights: AsvWeights | None) -> float | None:
    """The 2021 min t-DCF over a CM DET curve, or None where the official package has NaN: no
    weights (the cell lacks ASV target, non-target or spoof trials) or a zero normaliser
    (`valid_2021_weights`). Weights with C1 < 0 (an ASV worse than chance in the cell) are
    evaluated as the official `get_mintDCF_eer` evaluates them, giving 1.
    """
    if weights is None or not valid_2021_weights(weights.coefficients):
        return None
    return min_tdcf_2021_from_det(det, weights.coefficients).min_tdcf


def read_asv2021(directory: str | os.PathLike[str]) -> Asv2021Trials:
    """Read `<directory>/trial_metadata.txt` and `<directory>/score.txt`, joined line by line."""
    key_path = Path(directory) / KEY_FILE
    score_path = Path(directory) / SCORE_FILE
    key = read_columns(key_path, 8)
    spk, trial, score_text = read_columns(score_path, 3)
    if len(spk) != len(key[0]):
        raise TableError(
            f"{score_path} has {len(spk)} lines but the ASV key {key_path} has {len(key[0])}; "
            "they are joined line by line"
        )
    if spk != key[0] or trial != key[1]:
        line = next(i for i in range(len(spk)) if (spk[i], trial[i]) != (key[0][i], key[1][i]))
        raise TableError(
            f"{score_path}:{line + 1}: trial {spk[line]} {trial[line]} is not line {line + 1} of "
            f"the ASV key {key_path} ({key[0][line]} {key[1][line]})"
        )
    label = Categorical.from_strings(key[KEY_LABEL_FIELD])
    unknown = set(label.values) - set(ASV_LABELS)
    if unknown:
        line = next(i for i, value in enumerate(key[KEY_LABEL_FIELD]) if value in unknown)
        raise TableError(
            f"{key_path}:{line + 1}: ASV label {key[KEY_LABEL_FIELD][line]!r} is not one of "
            f"{', '.join(ASV_LABELS)}"
        )
    for value in ASV_LABELS:
        if value not in label.values:
            raise TableError(f"{key_path}: no {value} trials; the t-DCF needs all three")
    return Asv2021Trials(
        scores=_parse_scores(score_path, score_text),
        label=label,
        factors={
            name: Categorical.from_strings(key[field]) for name, field in KEY_FACTOR_FIELDS.items()
        },
        subset=Categorical.from_strings(
            list(map(SUBSET_ALIASES.get, key[KEY_SUBSET_FIELD], key[KEY_SUBSET_FIELD]))
        ),
    )


def _parse_scores(path: Path, texts: list[str]) -> NDArray[np.float64]:
    try:
        scores = np.fromiter(map(float, texts), dtype=np.float64, count=len(texts))
    except ValueError:
        scores = None
    if scores is None or not np.isfinite(scores).all():
        line = next(i for i, text in enumerate(texts) if not _is_finite_number(text))
        raise TableError(f"{path}:{line + 1}: score {texts[line]!r} is not a finite number")
    return scores


def _is_finite_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


class Asv2021Weights:
    """The 2021 t-DCF weights of condition cells, from one selection (a subset) of ASV trials.

    The ASV threshold depends only on a cell's bona fide filter, so it is computed once per
    filter: a table of attacks x codecs needs one threshold per codec, not one per cell.
    """

    def __init__(self, asv: Asv2021Trials, costs: CostModel = ASVSPOOF_COST_MODEL) -> None:
        self._asv = asv
        self._costs = costs
        self._target = asv.label.mask("target")
        self._nontarget = asv.label.mask("nontarget")
        self._spoof = asv.label.mask("spoof")
        self._thresholds: dict[Filter, AsvThreshold | None] = {}

    def for_cell(self, bonafide: Filter = (), spoof: Filter = ()) -> AsvWeights | None:
        """Weights of the cell whose bona fide and spoof trials match these filters.

        None where the official package has NaN: the cell has no target, non-target or spoof
        ASV trials (or filters on a factor the ASV key does not have).
        """
        if bonafide not in self._thresholds:
            self._thresholds[bonafide] = self._threshold(bonafide)
        threshold = self._thresholds[bonafide]
        spoof_mask = self._matching(spoof)
        if threshold is None or spoof_mask is None:
            return None
        spoof_scores = self._asv.scores[spoof_mask & self._spoof]
        if spoof_scores.size == 0:
            return None
        point = with_spoof_rates(threshold, spoof_scores)
        return AsvWeights(revised_coefficients(point, self._costs), threshold.eer)

    def _threshold(self, bonafide: Filter) -> AsvThreshold | None:
        mask = self._matching(bonafide)
        if mask is None:
            return None
        target = self._asv.scores[mask & self._target]
        nontarget = self._asv.scores[mask & self._nontarget]
        if target.size == 0 or nontarget.size == 0:
            return None
        return asv_threshold(target, nontarget)

    def _matching(self, conditions: Filter) -> NDArray[np.bool_] | None:
        mask = np.ones(self._asv.scores.size, dtype=bool)
        for factor, value in conditions:
            if factor not in self._asv.factors:
                return None
            mask &= self._asv.factors[factor].mask(value)
        return mask

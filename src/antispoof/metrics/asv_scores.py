"""The organisers' ASV score file, needed for the t-DCF.

ASVspoof 2019 LA ships `ASVspoof2019.LA.asv.{dev,eval}.gi.trl.scores.txt` with lines
`<cm_key> <asv_key> <score>`: the CM key is `bonafide` or the attack id, the ASV key is
`target`, `nontarget` or `spoof`. Like the official 2019 scoring script, the scores are pooled
over all lines by ASV key; a line whose two keys contradict each other is an error.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from antispoof.data.kaldi_files import TableError, iter_table
from antispoof.labels import BONAFIDE_NAME

# The ASV trial kinds: the file's own vocabulary, not the CM labels.
ASV_KEYS = ("target", "nontarget", "spoof")


@dataclass(frozen=True)
class AsvScores:
    """ASV scores of target, non-target (zero-effort impostor) and spoofed trials."""

    target: NDArray[np.float64]
    nontarget: NDArray[np.float64]
    spoof: NDArray[np.float64]


def read_asv_scores(path: str | os.PathLike[str]) -> AsvScores:
    """Read `<cm_key> <asv_key> <score>` lines; errors name the file and the line."""
    pooled: dict[str, list[float]] = {key: [] for key in ASV_KEYS}
    for line_number, cm_key, rest in iter_table(path):
        fields = rest.split()
        where = f"{path}:{line_number}"
        if len(fields) != 2:
            raise TableError(f"{where}: expected `<cm_key> <asv_key> <score>`, got {rest!r}")
        asv_key, score_text = fields
        if asv_key not in pooled:
            raise TableError(f"{where}: ASV key {asv_key!r} is not one of {', '.join(ASV_KEYS)}")
        # Target and non-target trials are bona fide speech; spoof trials are attacks.
        if (asv_key == "spoof") == (cm_key == BONAFIDE_NAME):
            raise TableError(f"{where}: CM key {cm_key!r} contradicts ASV key {asv_key!r}")
        try:
            score = float(score_text)
        except ValueError:
            raise TableError(f"{where}: cannot parse score {score_text!r}") from None
        if not math.isfinite(score):
            raise TableError(f"{where}: score {score_text!r} is not finite")
        pooled[asv_key].append(score)
    for key, values in pooled.items():
        if not values:
            raise TableError(f"{path}: no {key} trials; the t-DCF needs all three ASV keys")
    return AsvScores(**{key: np.asarray(values) for key, values in pooled.items()})

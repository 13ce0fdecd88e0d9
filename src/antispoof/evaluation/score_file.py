"""Score files: one `<utt> <score>` line per trial, a higher score meaning more bona fide.

A score file is evaluated against a data directory and must cover exactly its trials, as the
official 2021 package insists: a missing trial would silently change the EER, and an unknown
utterance means the file belongs to another set.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from antispoof.data.kaldi_files import iter_table

N_EXAMPLES = 5  # utterance ids quoted in an error message


class ScoreFileError(ValueError):
    """A score file that cannot be evaluated; the message names the file (and line)."""


def read_scores(path: str | os.PathLike[str]) -> dict[str, float]:
    """Read `<utt> <score>` lines; refuse duplicates and unparsable or non-finite scores."""
    scores: dict[str, float] = {}
    # Messages are only formatted on error: this loop runs once per trial (611,829 for DF).
    for line_number, utt, value in iter_table(path):
        try:
            score = float(value)
        except ValueError:
            raise ScoreFileError(
                f"{path}:{line_number}: cannot parse score {value!r} of {utt!r}; "
                "expected `<utt> <score>`"
            ) from None
        if not math.isfinite(score):
            raise ScoreFileError(f"{path}:{line_number}: score of {utt!r} is not finite ({value})")
        if utt in scores:
            raise ScoreFileError(f"{path}:{line_number}: duplicate utterance {utt!r}")
        scores[utt] = score
    return scores


def read_trial_scores(
    path: str | os.PathLike[str], trials: Sequence[str], data_dir: str | os.PathLike[str]
) -> NDArray[np.float64]:
    """Scores of `trials` (the utterances of `data_dir`), in that order.

    The file must hold exactly these utterances: extra and missing ones are both errors.
    """
    scores = read_scores(path)
    trial_set = set(trials)
    extra = [utt for utt in scores if utt not in trial_set]
    if extra:
        raise ScoreFileError(
            f"{path}: {len(extra)} utterance(s) are not trials of {data_dir} "
            f"(e.g. {_examples(extra)}); is this the score file of another set?"
        )
    missing = [utt for utt in trials if utt not in scores]
    if missing:
        raise ScoreFileError(
            f"{path}: misses {len(missing)} of the {len(trials)} trials of {data_dir} "
            f"(e.g. {_examples(missing)}); every trial needs a score"
        )
    return np.fromiter((scores[utt] for utt in trials), dtype=np.float64, count=len(trials))


def _examples(utts: Sequence[str]) -> str:
    return ", ".join(utts[:N_EXAMPLES]) + (", ..." if len(utts) > N_EXAMPLES else "")

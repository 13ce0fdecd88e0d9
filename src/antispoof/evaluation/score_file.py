"""Score files: one `<utt> <score>` line per trial, a higher score meaning more bona fide.

The two fields are separated by spaces or tabs, as in any Kaldi table (many toolkits write
`utt<TAB>score`); the fast reader and the line-by-line one accept the same files.

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
from antispoof.evaluation.factors import SUBSET
from antispoof.metrics.columns import Categorical, read_columns

N_EXAMPLES = 5  # utterance ids quoted in an error message


class ScoreFileError(ValueError):
    """A score file that cannot be evaluated; the message names the file (and line)."""


def read_scores(path: str | os.PathLike[str]) -> dict[str, float]:
    """Read `<utt> <score>` lines; refuse duplicates and unparsable or non-finite scores."""
    utts, scores = _read_score_columns(path)
    table = dict(zip(utts, scores.tolist(), strict=True))
    if len(table) != len(utts):
        _refuse_duplicates(path, utts)
    return table


def _read_score_columns(path: str | os.PathLike[str]) -> tuple[list[str], NDArray[np.float64]]:
    """Utterances and scores in file order, split whole: a 2021 DF file has 611,829 lines."""
    try:
        utts, texts = read_columns(path, 2)
        scores = np.fromiter(map(float, texts), dtype=np.float64, count=len(texts))
    except ValueError:  # TableError too
        scores = None
    if scores is None or not np.isfinite(scores).all():
        # Something is wrong with the file: the line-by-line reader says what, and where.
        return _read_scores_by_line(path)
    return utts, scores


def _refuse_duplicates(path: str | os.PathLike[str], utts: list[str]) -> None:
    """Raise for the first repeated utterance; `utts` are those of the file's lines, in order."""
    seen = set()
    for line_number, utt in enumerate(utts, start=1):
        if utt in seen:
            raise ScoreFileError(f"{path}:{line_number}: duplicate utterance {utt!r}")
        seen.add(utt)


def _read_scores_by_line(path: str | os.PathLike[str]) -> tuple[list[str], NDArray[np.float64]]:
    scores: dict[str, float] = {}
    for line_number, utt, value in iter_table(path):
        if not value:
            raise ScoreFileError(
                f"{path}:{line_number}: {utt!r} has no score; expected `<utt> <score>`"
            )
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
    return list(scores), np.fromiter(scores.values(), dtype=np.float64, count=len(scores))


def read_trial_scores(
    path: str | os.PathLike[str],
    trials: Sequence[str],
    data_dir: str | os.PathLike[str],
    subsets: Categorical | None = None,
) -> NDArray[np.float64]:
    """Scores of `trials` (the utterances of `data_dir`), in that order.

    The file must hold exactly these utterances: extra and missing ones are both errors. With
    the `subsets` of the trials, the error counts the missing trials of each subset.
    """
    utts, scores = _read_score_columns(path)
    if utts == trials:  # the file is in the data directory's order: nothing to look up
        return scores
    position = dict(zip(utts, range(len(utts)), strict=True))
    if len(position) != len(utts):
        _refuse_duplicates(path, utts)
    trial_set = set(trials)
    extra = [utt for utt in utts if utt not in trial_set]
    if extra:
        raise ScoreFileError(
            f"{path}: {len(extra)} utterance(s) are not trials of {data_dir} "
            f"(e.g. {_examples(extra)}); is this the score file of another set?"
        )
    index = np.fromiter((position.get(utt, -1) for utt in trials), dtype=np.intp, count=len(trials))
    missing = index < 0
    if missing.any():
        missing_utts = [trials[i] for i in np.flatnonzero(missing)]
        raise ScoreFileError(
            f"{path}: misses {len(missing_utts)} of the {len(trials)} trials of {data_dir} "
            f"(e.g. {_examples(missing_utts)}){_per_subset(missing, subsets)}; every trial "
            "needs a score"
        )
    return scores[index]


def _per_subset(missing: NDArray[np.bool_], subsets: Categorical | None) -> str:
    """`; by subset: eval 2 of 8, progress 1 of 3, hidden 0 of 1`, or nothing."""
    if subsets is None:
        return ""
    n_values = len(subsets.values)
    totals = np.bincount(subsets.codes, minlength=n_values)
    missed = np.bincount(subsets.codes[missing], minlength=n_values)
    code = {subset: code for code, subset in enumerate(subsets.values)}
    counts = (
        f"{subset} {missed[code[subset]]} of {totals[code[subset]]}"
        for subset in SUBSET.ordered(subsets.values)
    )
    return "; by subset: " + ", ".join(counts)


def _examples(utts: Sequence[str]) -> str:
    return ", ".join(utts[:N_EXAMPLES]) + (", ..." if len(utts) > N_EXAMPLES else "")

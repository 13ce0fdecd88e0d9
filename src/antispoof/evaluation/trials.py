"""The trials of a data directory: labels, condition factors and subsets, read fast.

`utt2label` and `utt2attack` are required; `utt2vocoder`, `utt2codec`, `utt2channel` and
`utt2subset` are read where the corpus has them. Every file must list the same utterances, and a
spoof-only factor must read `bonafide` exactly on bona fide trials.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from antispoof.data.kaldi_files import TableError, read_table
from antispoof.evaluation.factors import ATTACK, FACTORS, SPOOF_ONLY, SUBSET
from antispoof.labels import BONAFIDE_NAME, SPOOF_NAME
from antispoof.metrics.columns import Categorical, read_columns

N_EXAMPLES = 5  # utterance ids quoted in an error message


@dataclass(frozen=True)
class Trials:
    """The trials of a data directory, in its (sorted) order.

    `factors` maps each condition factor the directory has (always `attack`) to its column;
    `subset` is the `utt2subset` column, or None.
    """

    utts: list[str]
    is_bonafide: NDArray[np.bool_]
    factors: dict[str, Categorical]
    subset: Categorical | None


def read_trials(data_dir: str | os.PathLike[str]) -> Trials:
    """Read and cross-check the label, factor and subset files of `data_dir`."""
    data_dir = Path(data_dir)
    label_path = data_dir / "utt2label"
    utts, label_values = _read_pairs(label_path)
    _check_unique(label_path, utts)
    labels = Categorical.from_strings(label_values)
    is_bonafide = labels.mask(BONAFIDE_NAME)
    bad_label = np.flatnonzero(~is_bonafide & ~labels.mask(SPOOF_NAME))
    if bad_label.size:
        index = bad_label[0]
        raise TableError(
            f"{label_path}: label {label_values[index]!r} of {utts[index]!r} is not "
            f"{BONAFIDE_NAME} or {SPOOF_NAME}"
        )
    factors = {}
    for factor in FACTORS:
        path = data_dir / factor.file
        if factor is not ATTACK and not path.is_file():
            continue
        column = _column(path, utts, label_path)
        if factor.kind == SPOOF_ONLY:
            bad = np.flatnonzero(is_bonafide != column.mask(BONAFIDE_NAME))
            if bad.size:
                index = bad[0]
                raise TableError(
                    f"{path}: {factor.name} {column.values[column.codes[index]]!r} of "
                    f"{label_values[index]} trial {utts[index]!r}"
                )
        factors[factor.name] = column
    subset_path = data_dir / SUBSET.file
    subset = _column(subset_path, utts, label_path) if subset_path.is_file() else None
    return Trials(utts=utts, is_bonafide=is_bonafide, factors=factors, subset=subset)


def _read_pairs(path: Path) -> tuple[list[str], list[str]]:
    """Keys and values of a `<utt> <value>` table, in file order."""
    try:
        keys, values = read_columns(path, 2)
    except TableError:
        # Not the one-space layout write_table produces: the general Kaldi reader accepts any
        # spacing, and names the line of a malformed entry.
        table = read_table(path)
        return list(table), list(table.values())
    return keys, values


def _column(path: Path, utts: list[str], label_path: Path) -> Categorical:
    """The values of `path` for `utts`; it must list exactly those utterances."""
    keys, values = _read_pairs(path)
    if keys != utts:  # the same sorted keys, in the usual case: nothing to look up
        _check_unique(path, keys)
        table = dict(zip(keys, values, strict=True))
        unmatched = sorted(table.keys() ^ set(utts))
        if unmatched:
            raise TableError(
                f"{label_path} and {path} do not list the same utterances: "
                f"{len(unmatched)} in only one of them (e.g. {', '.join(unmatched[:N_EXAMPLES])})"
            )
        values = [table[utt] for utt in utts]
    return Categorical.from_strings(values)


def _check_unique(path: Path, keys: list[str]) -> None:
    """Refuse a duplicate key, naming its line (`keys` are in file order, one per line)."""
    if len(set(keys)) == len(keys):
        return
    seen = set()
    for line, key in enumerate(keys, start=1):
        if key in seen:
            raise TableError(f"{path}:{line}: duplicate key {key!r}")
        seen.add(key)

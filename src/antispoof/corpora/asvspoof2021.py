"""ASVspoof 2021 LA and DF: the released keys to Kaldi data directories
(docs/research/corpora.md §2-3).

Both tracks are evaluation data: every trial of the key (`trial_metadata.txt`) goes to
`<track>21_full`, and the trials of the official ranking subset (`subset == eval`) to
`<track>21_eval`. Key lines are space-separated; LA has 8 fields, DF 13 (the stage-1 DF key only
the first 8, so no vocoder and no utt2vocoder):

    LA: SPK TRIAL CODEC CHANNEL ATTACK LABEL TRIM SUBSET
        LA_0009 LA_E_9332881 alaw ita_tx A07 spoof notrim eval
    DF: SPK TRIAL CODEC SOURCE ATTACK LABEL TRIM SUBSET VOCODER TASK TEAM GENDER_PAIR LANGUAGE
        LA_0023 DF_E_2000011 nocodec asvspoof A14 spoof notrim progress traditional_vocoder - - - -

The label comes from its own column (6), never from the attack column: bona fide trials carry
`bonafide` or `-` there, and utt2attack says `bonafide` for them. The stage-1 keys named the
hidden subset `hidden_track`; utt2subset says `hidden`. CODEC, CHANNEL, SOURCE and VOCODER are
copied as they are (`none` / `-` for the uncoded LA trials, `nocodec` for DF).

For the 2021 min t-DCF, each LA data directory also gets the organisers' ASV key and ASV scores
as `asv2021/trial_metadata.txt` and `asv2021/score.txt`, restricted to the eval subset for
la21_eval. The two files are line-aligned (the official evaluate.py selects score rows with the
key's subset mask), which is checked while copying.

The DF key can also supply training data: see antispoof.corpora.df_training_split for the
df21_train/df21_dev draw and the df21_*_heldout sets that leave its trials out.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import zip_longest
from operator import attrgetter
from pathlib import Path
from typing import NamedTuple, TypeVar

from antispoof.corpora.common import ProtocolError, check_audio, write_data_dir
from antispoof.corpora.df_training_split import (
    DEFAULT_SEED,
    DEFAULT_SIZES,
    SplitSizes,
    draw_training_split,
)
from antispoof.data.kaldi_files import iter_lines
from antispoof.labels import BONAFIDE_NAME, SPOOF_NAME

# Where the official archives unpack, relative to --db_root.
LA_AUDIO = "ASVspoof2021_LA_eval/flac"
LA_KEY = "keys/LA/CM/trial_metadata.txt"
LA_ASV_KEY = "keys/LA/ASV/trial_metadata.txt"
LA_ASV_SCORES = "keys/LA/ASV/ASVTorch_Kaldi/score.txt"
DF_AUDIO = "ASVspoof2021_DF_eval/flac"  # all four archive parts unpack into it
DF_KEY = "keys/DF/CM/trial_metadata.txt"

ASV_DIR = "asv2021"  # inside an LA data directory
EVAL_SUBSET = "eval"
SUBSETS = {"eval": "eval", "progress": "progress", "hidden": "hidden", "hidden_track": "hidden"}
# The key's LABEL column, word for word, to the label the data directories write (one shared
# string per label).
LABELS = {"bonafide": BONAFIDE_NAME, "spoof": SPOOF_NAME}
BONAFIDE_ATTACKS = ("bonafide", "-")  # what the attack column may hold for bona fide trials
LA_FIELDS = 8
DF_FIELDS = (13, 8)  # full key, stage-1 key


class LaTrial(NamedTuple):
    speaker: str
    utt: str
    codec: str
    channel: str  # transmission (`ita_tx`, ...), `-` for codec `none`
    attack: str  # `bonafide` or A07-A19
    label: str
    subset: str


class DfTrial(NamedTuple):
    speaker: str
    utt: str  # the utterance id: the trial id, or `<trial>-rep<k>` for a repeated copy
    codec: str  # compression (`nocodec`, `low_mp3`, ...)
    source: str  # asvspoof | vcc2018 | vcc2020
    attack: str  # `bonafide`, A07-A19, SPO-N16, Task1-team20, ...
    label: str
    subset: str
    vocoder: str | None  # None in a stage-1 key
    trial: str  # the key's trial id, which names the audio file


TrialT = TypeVar("TrialT", LaTrial, DfTrial)


# ---------------------------------------------------------------------------------------------
# keys


def _key_lines(path: Path, field_counts: Sequence[int]) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields) of each key line.

    Every line has the field count of the first (one of `field_counts`); a trial id (field 2)
    listed twice is an error naming both lines.
    """
    if not path.is_file():
        raise FileNotFoundError(f"key not found: {path}")
    expected: int | None = None
    first_line: dict[str, int] = {}
    for line_number, line in iter_lines(path):
        fields = line.split()
        if len(fields) != expected:
            if expected is None and len(fields) in field_counts:
                expected = len(fields)
            else:
                wanted = (
                    " or ".join(map(str, field_counts)) + " fields"
                    if expected is None
                    else f"{expected} fields (as on line 1)"
                )
                raise ProtocolError(
                    f"{path}:{line_number}: expected {wanted}, got {len(fields)}: {line.strip()!r}"
                )
        previous = first_line.setdefault(fields[1], line_number)
        if previous != line_number:
            raise ProtocolError(
                f"{path}:{line_number}: trial {fields[1]} already listed on line {previous}"
            )
        yield line_number, fields
    if expected is None:
        raise ProtocolError(f"{path}: empty key")


def _checked(
    path: Path, line_number: int, attack: str, label: str, subset: str
) -> tuple[str, str, str]:
    """(attack, label, subset) as the data directories write them."""
    if label not in LABELS:
        raise ProtocolError(f"{path}:{line_number}: label {label!r} is not {' or '.join(LABELS)}")
    label = LABELS[label]
    if label == BONAFIDE_NAME:
        attack = BONAFIDE_NAME  # the column holds `bonafide` or `-`: the label decides
    elif attack in BONAFIDE_ATTACKS:
        raise ProtocolError(f"{path}:{line_number}: spoof trial without an attack id ({attack!r})")
    if subset not in SUBSETS:
        raise ProtocolError(
            f"{path}:{line_number}: subset {subset!r} is not eval, progress or hidden"
        )
    # Interned: 600k trials share a few hundred distinct values of each of these columns.
    return sys.intern(attack), label, SUBSETS[subset]


def parse_la_key(path: Path) -> list[LaTrial]:
    """The trials of a 2021 LA CM key (`keys/LA/CM/trial_metadata.txt`), in file order."""
    trials: list[LaTrial] = []
    intern = sys.intern
    for line_number, fields in _key_lines(path, (LA_FIELDS,)):
        speaker, utt, codec, channel, attack, label, _trim, subset = fields
        attack, label, subset = _checked(path, line_number, attack, label, subset)
        trials.append(
            LaTrial(intern(speaker), utt, intern(codec), intern(channel), attack, label, subset)
        )
    return trials


def parse_df_key(path: Path) -> list[DfTrial]:
    """The trials of a 2021 DF key, full (13 fields) or stage-1 (8 fields), in file order."""
    trials: list[DfTrial] = []
    intern = sys.intern
    for line_number, fields in _key_lines(path, DF_FIELDS):
        speaker, utt, codec, source, attack, label, _trim, subset = fields[:8]
        attack, label, subset = _checked(path, line_number, attack, label, subset)
        vocoder = intern(fields[8]) if len(fields) > 8 else None
        trials.append(
            DfTrial(
                intern(speaker),
                utt,
                intern(codec),
                intern(source),
                attack,
                label,
                subset,
                vocoder,
                utt,
            )
        )
    return trials


# ---------------------------------------------------------------------------------------------
# audio and data directories (shared with the In-the-Wild preparation)


def _audio_folder(db_root: Path, relative: str, what: str) -> Path:
    if not db_root.is_dir():
        raise FileNotFoundError(f"--db_root {db_root} not found")
    folder = db_root / relative
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} not found: is --db_root the directory that {what}?")
    return folder.resolve()


def _common_tables() -> dict[str, Callable[[LaTrial | DfTrial], str]]:
    return {
        "utt2spk": attrgetter("speaker"),
        "utt2label": attrgetter("label"),
        "utt2attack": attrgetter("attack"),
        "utt2codec": attrgetter("codec"),
        "utt2subset": attrgetter("subset"),
    }


def _eval_only(trials: Iterable[TrialT]) -> list[TrialT]:
    return [trial for trial in trials if trial.subset == EVAL_SUBSET]


# ---------------------------------------------------------------------------------------------
# LA


def copy_asv_files(key: Path, scores: Path, out_dir: Path, subset: str | None) -> int:
    """Copy the ASV key and scores into `out_dir` (only the `subset` lines unless None).

    Returns the number of ASV trials copied.
    """
    for path in (key, scores):
        if not path.is_file():
            raise FileNotFoundError(f"ASV file not found: {path} (needed for the 2021 t-DCF)")
    out_dir.mkdir(parents=True, exist_ok=True)
    copied = 0
    tmp_key, tmp_scores = out_dir / "trial_metadata.txt.tmp", out_dir / "score.txt.tmp"
    with (
        tmp_key.open("w", encoding="utf-8") as key_out,
        tmp_scores.open("w", encoding="utf-8") as scores_out,
    ):
        # iter_lines drops a leading byte-order mark: the copies never start with one.
        key_lines = (line for _, line in iter_lines(key))
        score_lines = (line for _, line in iter_lines(scores))
        pairs = zip_longest(key_lines, score_lines)
        for line_number, (key_line, score_line) in enumerate(pairs, start=1):
            if key_line is None or score_line is None:
                short, long = (key, scores) if key_line is None else (scores, key)
                raise ProtocolError(
                    f"{long}:{line_number}: {short} has only {line_number - 1} lines; "
                    "the ASV key and scores must be line-aligned"
                )
            key_fields, score_fields = key_line.split(), score_line.split()
            if len(key_fields) != LA_FIELDS:
                raise ProtocolError(
                    f"{key}:{line_number}: expected {LA_FIELDS} fields, got {len(key_fields)}"
                )
            if len(score_fields) != 3 or score_fields[:2] != key_fields[:2]:
                raise ProtocolError(
                    f"{scores}:{line_number}: expected the trial of {key}:{line_number} "
                    f"({' '.join(key_fields[:2])}) and a score, got {score_line.strip()!r}"
                )
            if subset is None or SUBSETS.get(key_fields[7]) == subset:
                key_out.write(key_line)
                scores_out.write(score_line)
                copied += 1
    os.replace(tmp_key, out_dir / "trial_metadata.txt")
    os.replace(tmp_scores, out_dir / "score.txt")
    return copied


def prepare_la(db_root: Path, data_root: Path) -> dict[str, int]:
    """Write `data_root/la21_full` and `data_root/la21_eval`; returns the trials of each."""
    audio_dir = _audio_folder(db_root, LA_AUDIO, "holds ASVspoof2021_LA_eval/ and keys/")
    trials = parse_la_key(db_root / LA_KEY)
    check_audio(audio_dir, (f"{trial.utt}.flac" for trial in trials))
    prefix = f"{audio_dir}/"
    tables = {
        "wav.scp": lambda trial: f"{prefix}{trial.utt}.flac",
        **_common_tables(),
        "utt2channel": attrgetter("channel"),
    }
    sets = {"la21_full": (trials, None), "la21_eval": (_eval_only(trials), EVAL_SUBSET)}
    for name, (members, subset) in sets.items():
        write_data_dir(data_root / name, members, tables)
        copy_asv_files(
            db_root / LA_ASV_KEY, db_root / LA_ASV_SCORES, data_root / name / ASV_DIR, subset
        )
    return {name: len(members) for name, (members, _) in sets.items()}


# ---------------------------------------------------------------------------------------------
# DF


def prepare_df(
    db_root: Path,
    data_root: Path,
    sizes: SplitSizes = DEFAULT_SIZES,
    seed: int = DEFAULT_SEED,
) -> dict[str, int]:
    """Write the DF data directories; returns the utterances of each.

    `df21_full` and `df21_eval` hold the key's trials; `df21_train` and `df21_dev` the training
    split of `sizes` (default 100,000 / 25,000) drawn with `seed`; `df21_full_heldout` and
    `df21_eval_heldout` the evaluation trials left when the split's trials are taken out.
    """
    audio_dir = _audio_folder(db_root, DF_AUDIO, "holds ASVspoof2021_DF_eval/ and keys/")
    trials = parse_df_key(db_root / DF_KEY)
    check_audio(audio_dir, (f"{trial.trial}.flac" for trial in trials))
    prefix = f"{audio_dir}/"
    tables = {
        # Repeated copies in df21_train keep their source trial, so they share its audio file.
        "wav.scp": lambda trial: f"{prefix}{trial.trial}.flac",
        **_common_tables(),
        "utt2source": attrgetter("source"),
    }
    if trials[0].vocoder is not None:
        tables["utt2vocoder"] = attrgetter("vocoder")
    split = draw_training_split(trials, sizes, seed)
    evaluation = _eval_only(trials)
    sets = {
        "df21_full": trials,
        "df21_eval": evaluation,
        "df21_train": _renamed(split.train),
        "df21_dev": _renamed(split.dev),
        "df21_full_heldout": [trial for trial in trials if trial.trial not in split.used],
        "df21_eval_heldout": [trial for trial in evaluation if trial.trial not in split.used],
    }
    for name, members in sets.items():
        write_data_dir(data_root / name, members, tables)
    return {name: len(members) for name, members in sets.items()}


def _renamed(drawn: Iterable[tuple[str, DfTrial]]) -> list[DfTrial]:
    """The drawn trials under their utterance ids (`<trial>-rep<k>` for repeated copies)."""
    return [trial if utt == trial.utt else trial._replace(utt=utt) for utt, trial in drawn]

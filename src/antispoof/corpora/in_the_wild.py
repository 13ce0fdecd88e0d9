"""In-the-Wild (Müller et al. 2022): `meta.csv` to a Kaldi data directory
(docs/research/corpora.md §4).

The release is one folder, `release_in_the_wild/`, of clips `0.wav` ... `31778.wav` and
`meta.csv`: a header `file,speaker,label`, then one row per clip, e.g. `0.wav,Alec Guinness,spoof`
(read with the csv module, so a quoted speaker name may hold commas). Labels are `bona-fide`
and `spoof`; there are no attack ids, so utt2attack is `bonafide` or `spoof`.

- Utterance ids come from the clip number, zero-padded so that C order is numeric order:
  `0.wav` -> `itw_00000`. `utt2clip` maps each id back to its file name, to match score files
  that name the clips as released.
- Speaker names contain spaces: every character outside [A-Za-z0-9_.-] becomes `_`. Two
  different names that become the same are an error, not a silent merge.
- wav.scp lists the clips of meta.csv; other files in the folder are ignored. The clips may be
  32-bit float WAV of any length: the loader (soundfile) reads them as they are.
"""

from __future__ import annotations

import csv
import re
from operator import attrgetter
from pathlib import Path
from typing import NamedTuple

from antispoof.corpora.common import ProtocolError, check_audio, write_data_dir
from antispoof.data.kaldi_files import open_text
from antispoof.labels import BONAFIDE_NAME, SPOOF_NAME

AUDIO_DIR = "release_in_the_wild"  # relative to --db_root; meta.csv is inside
META = "meta.csv"
HEADER = ["file", "speaker", "label"]
# meta.csv's label column, word for word, to the label the data directories write.
LABELS = {"bona-fide": BONAFIDE_NAME, "spoof": SPOOF_NAME}
DATA_DIR = "itw"
UTT_PREFIX = "itw_"
ID_DIGITS = 5  # clips 0..31778; a wider number would break the numeric C order
CLIP_NAME = re.compile(r"([0-9]+)\.wav")
UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


class Clip(NamedTuple):
    utt: str  # itw_00000
    file: str  # 0.wav
    speaker: str  # sanitised
    label: str  # bonafide | spoof


def utt_id(file_name: str) -> str | None:
    """`itw_00042` for `42.wav`; None unless the name is `<number>.wav`, number < 10**5."""
    match = CLIP_NAME.fullmatch(file_name)
    if match is None or int(match.group(1)) >= 10**ID_DIGITS:
        return None
    return f"{UTT_PREFIX}{int(match.group(1)):0{ID_DIGITS}d}"


def safe_speaker(name: str) -> str:
    """The speaker name with every character outside [A-Za-z0-9_.-] replaced by `_`."""
    return UNSAFE.sub("_", name)


def parse_meta(path: Path) -> list[Clip]:
    """The clips listed in `meta.csv`; malformed rows are errors naming meta.csv:line."""
    if not path.is_file():
        raise FileNotFoundError(f"meta.csv not found: {path}")
    clips: list[Clip] = []
    first_line: dict[str, int] = {}  # utterance id -> line
    speakers: dict[str, tuple[str, str]] = {}  # safe name -> (name, file:line first seen)
    # open_text drops a byte-order mark, which must not become part of the header.
    with open_text(path, newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header != HEADER:
            raise ProtocolError(f"{path}:1: header {header!r}, expected {','.join(HEADER)}")
        for row in reader:
            where = f"{path}:{reader.line_num}"
            if len(row) != len(HEADER):
                raise ProtocolError(f"{where}: expected 3 fields (file,speaker,label), got {row}")
            file_name, speaker, label = row
            utt = utt_id(file_name)
            if utt is None:
                raise ProtocolError(
                    f"{where}: file {file_name!r} is not <number>.wav (number < {10**ID_DIGITS})"
                )
            previous = first_line.setdefault(utt, reader.line_num)
            if previous != reader.line_num:
                raise ProtocolError(f"{where}: clip {file_name} already listed on line {previous}")
            if label not in LABELS:
                raise ProtocolError(f"{where}: label {label!r} is not bona-fide or spoof")
            clips.append(Clip(utt, file_name, _speaker(speaker, where, speakers), LABELS[label]))
    if not clips:
        raise ProtocolError(f"{path}: no clips listed")
    return clips


def _speaker(name: str, where: str, speakers: dict[str, tuple[str, str]]) -> str:
    """The safe form of `name`; an error if another name already has that safe form."""
    if not name.strip():
        raise ProtocolError(f"{where}: empty speaker name")
    safe = safe_speaker(name)
    other, other_where = speakers.setdefault(safe, (name, where))
    if other != name:
        raise ProtocolError(
            f"{where}: speaker {name!r} and speaker {other!r} ({other_where}) both become "
            f"{safe!r} once made safe for Kaldi"
        )
    return safe


def prepare(db_root: Path, data_root: Path) -> dict[str, int]:
    """Write `data_root/itw`; returns its number of clips."""
    audio_dir = db_root / AUDIO_DIR
    if not audio_dir.is_dir():
        raise FileNotFoundError(
            f"{audio_dir} not found: is --db_root the directory that holds {AUDIO_DIR}/?"
        )
    audio_dir = audio_dir.resolve()
    clips = parse_meta(audio_dir / META)
    check_audio(audio_dir, (clip.file for clip in clips))
    prefix = f"{audio_dir}/"
    tables = {
        "wav.scp": lambda clip: f"{prefix}{clip.file}",
        "utt2spk": attrgetter("speaker"),
        "utt2label": attrgetter("label"),
        "utt2attack": attrgetter("label"),  # no attack ids: bonafide or spoof
        "utt2clip": attrgetter("file"),
    }
    write_data_dir(data_root / DATA_DIR, clips, tables)
    return {DATA_DIR: len(clips)}

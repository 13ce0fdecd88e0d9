"""SpoofCeleb (Jung et al. 2024): its development and evaluation protocols to Kaldi data
directories (docs/research/corpora.md §12).

The release is gated on Hugging Face (`jungjee/spoofceleb`, access granted by the authors) as
the parts of one tarball, `spoofceleb.tar.gz*`, which unpacks to

    spoofceleb/metadata/{train,development,evaluation}.csv
    spoofceleb/flac/{train,development,evaluation}/<file>      e.g. a00/id10318/<clip>.flac

Each protocol CSV has a header (`file,speaker,attack` in AntiDeepfake's copy, `path,...` in
another description; both are accepted) and one row per trial:
`a00/id10318/YYsxcZ5saac-00002-006.flac,id10318,a00`. Attack `a00` is bona fide (the VoxCeleb1
recording); every other attack id is a TTS or VC system. Official sizes: development 55,741
(7,963 bona fide), evaluation 91,130 (9,113 bona fide).

- Utterance ids: `sc_<attack>_<speaker>_<clip>`; utt2spk is the VoxCeleb1 speaker, utt2attack
  the attack id (`bonafide` for a00), utt2file the path under `flac/<split>/`.
- The audio is FLAC at 16 kHz; a file at another rate would be listed as a 16 kHz copy.
"""

from __future__ import annotations

import csv
import re
from operator import attrgetter
from pathlib import Path
from typing import NamedTuple

from antispoof.corpora.audio_copies import at_16k
from antispoof.corpora.common import ProtocolError, write_data_dir
from antispoof.data.kaldi_files import open_text
from antispoof.labels import BONAFIDE_NAME, SPOOF_NAME

CORPUS_DIR = "spoofceleb"  # relative to --db_root
HEADERS = (["file", "speaker", "attack"], ["path", "speaker", "attack"])
BONAFIDE_ATTACK = "a00"
ATTACK = re.compile(r"a[0-9]{2}")
SAFE = re.compile(r"[A-Za-z0-9_.-]+")
# data set -> the release's split (its metadata/<split>.csv and flac/<split>/)
SETS = {"spoofceleb_eval": "evaluation", "spoofceleb_dev": "development"}


class Trial(NamedTuple):
    utt: str  # sc_a00_id10318_YYsxcZ5saac-00002-006
    file: str  # a00/id10318/YYsxcZ5saac-00002-006.flac
    speaker: str
    label: str  # bonafide | spoof
    attack: str  # a01 ..., or bonafide


def parse_protocol(path: Path) -> list[Trial]:
    """The trials of one `metadata/<split>.csv`; malformed rows are errors naming file:line."""
    if not path.is_file():
        raise FileNotFoundError(f"SpoofCeleb protocol not found: {path}")
    trials: list[Trial] = []
    first_line: dict[str, int] = {}
    with open_text(path, newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header not in HEADERS:
            expected = " or ".join(",".join(h) for h in HEADERS)
            raise ProtocolError(f"{path}:1: header {header!r}, expected {expected}")
        for row in reader:
            where = f"{path}:{reader.line_num}"
            if len(row) != 3:
                raise ProtocolError(f"{where}: expected 3 fields (file,speaker,attack), got {row}")
            file, speaker, attack = row
            if not ATTACK.fullmatch(attack):
                raise ProtocolError(f"{where}: attack {attack!r} is not a00 ... a99")
            clip = Path(file).stem
            for value, what in ((speaker, "speaker"), (clip, "file name")):
                if not SAFE.fullmatch(value):
                    raise ProtocolError(f"{where}: {what} {value!r} is not a safe Kaldi id part")
            utt = f"sc_{attack}_{speaker}_{clip}"
            previous = first_line.setdefault(utt, reader.line_num)
            if previous != reader.line_num:
                raise ProtocolError(f"{where}: trial {utt} already listed on line {previous}")
            bonafide = attack == BONAFIDE_ATTACK
            trials.append(
                Trial(
                    utt,
                    file,
                    speaker,
                    BONAFIDE_NAME if bonafide else SPOOF_NAME,
                    BONAFIDE_NAME if bonafide else attack,
                )
            )
    if not trials:
        raise ProtocolError(f"{path}: no trials listed")
    return trials


def prepare(db_root: Path, data_root: Path) -> dict[str, int]:
    """Write `data_root/spoofceleb_eval` and `spoofceleb_dev`; returns their sizes."""
    folder = db_root / CORPUS_DIR
    if not (folder / "metadata").is_dir():
        raise FileNotFoundError(
            f"{folder / 'metadata'} not found: is --db_root the directory that holds "
            f"{CORPUS_DIR}/ (the unpacked spoofceleb.tar.gz)?"
        )
    folder = folder.resolve()
    sizes = {}
    for name, split in SETS.items():
        trials = parse_protocol(folder / "metadata" / f"{split}.csv")
        audio_dir = folder / "flac" / split
        missing = [t.file for t in trials if not (audio_dir / t.file).is_file()]
        if missing:
            raise FileNotFoundError(
                f"{audio_dir}: {len(missing)} of {len(trials)} trials have no audio file: "
                f"{', '.join(missing[:5])}"
            )
        out_dir = data_root / name
        audio = at_16k({t.utt: audio_dir / t.file for t in trials}, out_dir / "wav16k")
        tables = {
            "wav.scp": lambda trial, audio=audio: str(audio[trial.utt]),
            "utt2spk": attrgetter("speaker"),
            "utt2label": attrgetter("label"),
            "utt2attack": attrgetter("attack"),
            "utt2file": attrgetter("file"),
        }
        write_data_dir(out_dir, trials, tables)
        sizes[name] = len(trials)
    return sizes

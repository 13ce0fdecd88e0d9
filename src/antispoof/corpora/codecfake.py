"""CodecFake (Wu et al., Interspeech 2024): VCTK re-synthesised by neural audio codecs, its
evaluation and development speakers as the authors' detection code selects them
(docs/research/corpora.md §10).

The release is one Hugging Face parquet dataset, `rogertseng/CodecFake` (707,872 rows in 161
shards, columns `audio`, `label`, `speaker_id`, `codec_name`). Stage 0 writes each row's audio,
unchanged, to `<codec_name>/<speaker_id>/<file>` and the rows, in order, to `metadata.csv`:

    path,label,speaker_id,codec_name
    encodec_24khz/p227/p227_002.wav,spoofing,p227,encodec_24khz

`label` is `genuine` (the VCTK recording itself, codec_name `genuine`) or `spoofing` (a codec's
re-synthesis). The authors' detection code (roger-tseng/CodecDetect, `data_utils.py`) trains
on every other speaker, selects models on p226 and p229 and evaluates on p227 and p228, one
EER per codec against the genuine files of the same speakers; utt2attack names the codec, so
that the per-attack table of stage 5 gives those EERs.

- Utterance ids: `cf_<codec_name>_<file stem>` (the file stem holds the VCTK speaker and
  sentence); utt2spk is the VCTK speaker.
- The codecs run at 16, 24 and 44.1 kHz and VCTK at 48 kHz: every file not at 16 kHz is listed
  as a 16 kHz copy under `<set>/wav16k/` (antispoof/corpora/audio_copies.py).
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

METADATA = "metadata.csv"  # relative to --db_root; written by stage 0 from the parquet rows
HEADER = ["path", "label", "speaker_id", "codec_name"]
GENUINE = "genuine"  # the label and the codec name of the VCTK recordings
LABELS = {GENUINE: BONAFIDE_NAME, "spoofing": SPOOF_NAME}
# roger-tseng/CodecDetect data_utils.py: DEV_SPK, EVAL_SPK.
SET_SPEAKERS = {"codecfake_test": ("p227", "p228"), "codecfake_dev": ("p226", "p229")}
SAFE = re.compile(r"[A-Za-z0-9_.+-]+")


class Clip(NamedTuple):
    utt: str  # cf_encodec_24khz_p227_002
    path: str  # relative to db_root
    speaker: str  # p227
    label: str  # bonafide | spoof
    attack: str  # the codec name, or bonafide


def parse_metadata(path: Path) -> list[Clip]:
    """The rows of `metadata.csv`; malformed rows are errors naming metadata.csv:line."""
    if not path.is_file():
        raise FileNotFoundError(f"{METADATA} not found: {path}")
    clips: list[Clip] = []
    first_line: dict[str, int] = {}
    with open_text(path, newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header != HEADER:
            raise ProtocolError(f"{path}:1: header {header!r}, expected {','.join(HEADER)}")
        for row in reader:
            where = f"{path}:{reader.line_num}"
            if len(row) != len(HEADER):
                raise ProtocolError(f"{where}: expected 4 fields ({','.join(HEADER)}), got {row}")
            rel, label, speaker, codec = row
            if label not in LABELS:
                raise ProtocolError(f"{where}: label {label!r} is not genuine or spoofing")
            if (label == GENUINE) != (codec == GENUINE):
                raise ProtocolError(
                    f"{where}: label {label!r} with codec {codec!r}: genuine files are exactly "
                    "those of codec genuine"
                )
            stem = Path(rel).stem
            utt = f"cf_{codec}_{stem}"
            for value, what in ((codec, "codec name"), (stem, "file name"), (speaker, "speaker")):
                if not SAFE.fullmatch(value):
                    raise ProtocolError(f"{where}: {what} {value!r} is not a safe Kaldi id part")
            previous = first_line.setdefault(utt, reader.line_num)
            if previous != reader.line_num:
                raise ProtocolError(f"{where}: utterance {utt} already listed on line {previous}")
            attack = BONAFIDE_NAME if label == GENUINE else codec
            clips.append(Clip(utt, rel, speaker, LABELS[label], attack))
    if not clips:
        raise ProtocolError(f"{path}: no rows")
    return clips


def prepare(db_root: Path, data_root: Path) -> dict[str, int]:
    """Write `data_root/codecfake_test` and `codecfake_dev`; returns their sizes."""
    metadata = db_root / METADATA
    if not metadata.is_file():
        raise FileNotFoundError(
            f"{metadata} not found: is --db_root the directory that stage 0 filled from the "
            "parquet release (metadata.csv and <codec>/<speaker>/ folders)?"
        )
    db_root = db_root.resolve()
    clips = parse_metadata(db_root / METADATA)
    sizes = {}
    for name, speakers in SET_SPEAKERS.items():
        chosen = [clip for clip in clips if clip.speaker in speakers]
        if not chosen:
            raise ProtocolError(f"{metadata}: no file of the speakers {', '.join(speakers)}")
        missing = [clip.path for clip in chosen if not (db_root / clip.path).is_file()]
        if missing:
            raise FileNotFoundError(
                f"{db_root}: {len(missing)} of {len(chosen)} files of {name} are missing: "
                f"{', '.join(missing[:5])}"
            )
        out_dir = data_root / name
        audio = at_16k({clip.utt: db_root / clip.path for clip in chosen}, out_dir / "wav16k")
        tables = {
            "wav.scp": lambda clip, audio=audio: str(audio[clip.utt]),
            "utt2spk": attrgetter("speaker"),
            "utt2label": attrgetter("label"),
            "utt2attack": attrgetter("attack"),
            "utt2file": attrgetter("path"),
        }
        write_data_dir(out_dir, chosen, tables)
        sizes[name] = len(chosen)
    return sizes

"""Deepfake-Eval-2024 (Chandra et al. 2025), audio: its test split, whole and cut into segments
the way AntiDeepfake's scripts cut it (docs/research/corpora.md §13).

The release is gated on Hugging Face (`nuriachandra/Deepfake-Eval-2024`). Its audio part, as
AntiDeepfake's `protocols/DeepfakeEval2024_preprocess.py` describes it:

    audio-metadata-publish.csv     one row per recording; the columns read here are
                                   `Filename`, `Finetuning Set` (Train | Test) and
                                   `Ground Truth` (Real | Fake), compared without case
    audio-data/<Filename>          mp3, wav (any rate, any number of channels)

AntiDeepfake fine-tunes on the Train rows and reports on the Test rows, as recordings cut by
`DeepfakeEval2024_segment.py` into segments of 4, 10, 13, 30 or 50 s: `int(seconds * rate)`
samples at the file's own rate each, without overlap, the last segment as long as what is left
(no minimum), every segment a file of its own. The same cut is made here (audio_copies.segment),
each segment resampled on its own to 16 kHz as its file would be read. Rows whose split or
ground truth is something else are left out, as AntiDeepfake leaves them out; so are files that
soundfile cannot decode (its segmenter cannot write those formats either), with a warning.

Sets: `dfeval2024` (the Test recordings whole) and `dfeval2024_seg<N>` per segment length N.

- Utterance ids: `dfe24_<file stem>` (characters outside [A-Za-z0-9_.-] become `_`; two names
  that become the same are an error), segments `<recording id>_seg<k>` (k from 001).
- utt2spk is the recording (segments of one recording share it), utt2file its Filename; the
  segment sets add utt2recording. No attack ids: utt2attack is the label.
"""

from __future__ import annotations

import csv
import logging
import re
from concurrent.futures import ThreadPoolExecutor
from operator import attrgetter
from pathlib import Path
from typing import NamedTuple

from antispoof.corpora.audio_copies import (
    COPY_THREADS,
    at_16k,
    cut,
    read_mono,
    sample_rate,
    write_float_wav,
)
from antispoof.corpora.common import ProtocolError, write_data_dir
from antispoof.data.audio import AudioError
from antispoof.data.kaldi_files import open_text
from antispoof.labels import BONAFIDE_NAME, SPOOF_NAME

log = logging.getLogger(__name__)

METADATA = "audio-metadata-publish.csv"  # relative to --db_root
AUDIO_DIR = "audio-data"
FILE, SPLIT, TRUTH = "Filename", "Finetuning Set", "Ground Truth"
TEST_SPLIT = "test"
SPLITS = ("train", TEST_SPLIT)
LABELS = {"real": BONAFIDE_NAME, "fake": SPOOF_NAME}
WHOLE_SET = "dfeval2024"
SEGMENT_SECONDS = (4, 10, 13, 30, 50)  # AntiDeepfake's DeepfakeEval2024_segment.py durations
UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def segment_set(seconds: float) -> str:
    """`dfeval2024_seg4` for 4 s segments."""
    return f"{WHOLE_SET}_seg{seconds:g}"


class Recording(NamedTuple):
    utt: str  # dfe24_<safe stem>
    file: str  # the Filename column
    label: str  # bonafide | spoof
    split: str  # train | test


class Segment(NamedTuple):
    utt: str  # <recording utt>_seg001
    recording: Recording
    wav: Path


def parse_metadata(path: Path) -> list[Recording]:
    """The Train and Test recordings with a Real or Fake ground truth, in file order."""
    if not path.is_file():
        raise FileNotFoundError(f"{METADATA} not found: {path}")
    recordings: list[Recording] = []
    names: dict[str, tuple[str, str]] = {}  # utt -> (file name, where first seen)
    other = 0
    with open_text(path, newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in (FILE, SPLIT, TRUTH) if c not in (reader.fieldnames or [])]
        if missing:
            raise ProtocolError(
                f"{path}:1: no column {', '.join(repr(c) for c in missing)} in the header "
                f"{reader.fieldnames!r}"
            )
        for row in reader:
            where = f"{path}:{reader.line_num}"
            split, truth = row[SPLIT].strip().lower(), row[TRUTH].strip().lower()
            if split not in SPLITS or truth not in LABELS:
                other += 1
                continue
            file = row[FILE].strip()
            if not file:
                raise ProtocolError(f"{where}: empty {FILE}")
            utt = "dfe24_" + UNSAFE.sub("_", Path(file).stem)
            seen, seen_where = names.setdefault(utt, (file, where))
            if seen_where != where:
                raise ProtocolError(
                    f"{where}: {file!r} and {seen!r} ({seen_where}) both become the id {utt!r}"
                )
            recordings.append(Recording(utt, file, LABELS[truth], split))
    if other:
        log.warning(
            "%s: %d rows are neither Train nor Test with a Real or Fake ground truth; they are "
            "left out, as AntiDeepfake's scripts leave them out",
            path,
            other,
        )
    if not recordings:
        raise ProtocolError(f"{path}: no Train or Test recording with a Real or Fake ground truth")
    return recordings


def missing_files(db_root: Path) -> list[str]:
    """Stage 0's check of a copy: the metadata and every file it lists (one line)."""
    try:
        recordings = parse_metadata(db_root / METADATA)
    except (OSError, ProtocolError) as err:
        return [str(err)]
    missing = [r.file for r in recordings if not (db_root / AUDIO_DIR / r.file).is_file()]
    if not missing:
        return []
    return [
        f"{AUDIO_DIR}/: {len(missing):,} of the {len(recordings):,} files of {METADATA} are "
        f"missing (e.g. {', '.join(missing[:3])})"
    ]


def prepare(
    db_root: Path, data_root: Path, segment_seconds: tuple[float, ...] = SEGMENT_SECONDS
) -> dict[str, int]:
    """Write `dfeval2024` and `dfeval2024_seg<N>` for each N of `segment_seconds`."""
    if not (db_root / METADATA).is_file():
        raise FileNotFoundError(
            f"{db_root / METADATA} not found: is --db_root the directory that holds {METADATA} "
            f"and {AUDIO_DIR}/?"
        )
    db_root, data_root = db_root.resolve(), data_root.absolute()  # wav.scp: absolute paths
    test = [r for r in parse_metadata(db_root / METADATA) if r.split == TEST_SPLIT]
    if not test:
        raise ProtocolError(f"{db_root / METADATA}: no Test recording")
    audio_dir = db_root / AUDIO_DIR
    missing = [r.file for r in test if not (audio_dir / r.file).is_file()]
    if missing:
        raise FileNotFoundError(
            f"{audio_dir}: {len(missing)} of {len(test)} Test recordings have no audio file: "
            f"{', '.join(missing[:5])}"
        )
    test = _decodable(test, audio_dir)
    out_dir = data_root / WHOLE_SET
    audio = at_16k({r.utt: audio_dir / r.file for r in test}, out_dir / "wav16k")
    tables = {
        "wav.scp": lambda r: str(audio[r.utt]),
        "utt2spk": attrgetter("utt"),
        "utt2label": attrgetter("label"),
        "utt2attack": attrgetter("label"),  # no attack ids: bonafide or spoof
        "utt2file": attrgetter("file"),
    }
    write_data_dir(out_dir, test, tables)
    sizes = {WHOLE_SET: len(test)}
    sizes.update(_write_segments(test, audio_dir, data_root, segment_seconds))
    return sizes


def _decodable(recordings: list[Recording], audio_dir: Path) -> list[Recording]:
    """The recordings soundfile can decode; the others are named in a warning."""
    kept, left_out = [], []
    for recording in recordings:
        try:
            sample_rate(audio_dir / recording.file)
            kept.append(recording)
        except AudioError:
            left_out.append(recording.file)
    if left_out:
        log.warning(
            "%d Test recordings cannot be decoded (soundfile reads WAV, FLAC, MP3, OGG; not "
            "AAC/m4a) and are left out, as AntiDeepfake's segmenter cannot write them either: "
            "%s",
            len(left_out),
            ", ".join(left_out[:5]) + (", ..." if len(left_out) > 5 else ""),
        )
    return kept


def _write_segments(
    recordings: list[Recording],
    audio_dir: Path,
    data_root: Path,
    segment_seconds: tuple[float, ...],
) -> dict[str, int]:
    """Each recording decoded once and cut at every length; one data directory per length."""

    def cut_all(recording: Recording) -> dict[float, list[Segment]]:
        samples, rate = read_mono(audio_dir / recording.file)
        result = {}
        for seconds in segment_seconds:
            wav_dir = data_root / segment_set(seconds) / "wav16k"
            wav_dir.mkdir(parents=True, exist_ok=True)
            pieces = cut(samples, rate, seconds, audio_dir / recording.file)
            result[seconds] = []
            for number, piece in enumerate(pieces, start=1):
                utt = f"{recording.utt}_seg{number:03d}"
                write_float_wav(wav_dir / f"{utt}.wav", piece)
                result[seconds].append(Segment(utt, recording, wav_dir / f"{utt}.wav"))
        return result

    segments: dict[float, list[Segment]] = {seconds: [] for seconds in segment_seconds}
    with ThreadPoolExecutor(COPY_THREADS) as pool:
        for cuts in pool.map(cut_all, recordings):
            for seconds, pieces in cuts.items():
                segments[seconds].extend(pieces)
    tables = {
        "wav.scp": lambda s: str(s.wav),
        "utt2spk": lambda s: s.recording.utt,
        "utt2label": lambda s: s.recording.label,
        "utt2attack": lambda s: s.recording.label,
        "utt2file": lambda s: s.recording.file,
        "utt2recording": lambda s: s.recording.utt,
    }
    sizes = {}
    for seconds, pieces in segments.items():
        write_data_dir(data_root / segment_set(seconds), pieces, tables)
        sizes[segment_set(seconds)] = len(pieces)
    return sizes

"""Fake-or-Real (FoR, Reimao and Tzerpos 2019), the normalised version `for-norm`: its test
split as the Speech Anti-Spoofing Arena scores it (docs/research/corpora.md §9).

`for-norm.tar.gz` unpacks to `for-norm/{training,validation,testing}/{real,fake}/`; a file's
folder is its label, and there is no list file. The only published trial list of the test split
is the Arena's key (Speech-Arena/speech_df_arena, `protocol_files/fake_or_real.csv`): 4,528
trials, every real file `file1` ... `file2264` and 2,264 of the fake files `file1` ...
`file2371`. It is held here as those ranges less the 107 numbers that the key leaves out, so
that the set is the same on every copy and a missing file is an error rather than a smaller set.
Files are named `file<N>.wav_16k.wav_norm.wav_mono.wav_silence.wav` (the release's processing
steps), 16 kHz mono WAV.

- Utterance ids: `for_<real|fake>_<N>`, N zero-padded to 4 digits (C order is numeric order).
- No speaker labels in for-norm: each utterance is its own speaker. utt2attack is the label
  (no attack ids); utt2file maps each id back to its path under `for-norm/`.
"""

from __future__ import annotations

from operator import attrgetter
from pathlib import Path
from typing import NamedTuple

from antispoof.corpora.audio_copies import at_16k
from antispoof.corpora.common import check_audio, write_data_dir
from antispoof.labels import BONAFIDE_NAME, SPOOF_NAME

CORPUS_DIR = "for-norm"  # relative to --db_root
TEST_DIR = "testing"
DATA_DIR = "for_test"
FILE_NAME = "file{number}.wav_16k.wav_norm.wav_mono.wav_silence.wav"
# The Arena key (protocol_files/fake_or_real.csv, sha256 6816deb4...e728d8, at commit
# 97a4445 of Speech-Arena/speech_df_arena): real 1..2264; fake 1..2371 except these.
ARENA_REAL = range(1, 2265)
ARENA_FAKE = range(1, 2372)
ARENA_FAKE_LEFT_OUT = frozenset(
    {
        *(34, 36, 40, 50, 72, 79, 85, 95, 106, 108, 116, 164, 185, 192, 194, 205, 210, 227),
        *(229, 251, 275, 316, 328, 346, 356, 363, 382, 400, 427, 436, 440, 460, 480, 488, 497),
        *(547, 550, 574, 587, 639, 682, 718, 722, 761, 764, 776, 782, 825, 851, 887, 946, 1016),
        *(1030, 1039, 1050, 1085, 1160, 1260, 1273, 1296, 1302, 1312, 1343, 1365, 1392, 1397),
        *(1420, 1490, 1549, 1557, 1565, 1619, 1626, 1640, 1671, 1678, 1689, 1692, 1723, 1804),
        *(1824, 1873, 1888, 1892, 1920, 1948, 1956, 1972, 2014, 2022, 2089, 2097, 2153, 2159),
        *(2200, 2222, 2229, 2260, 2271, 2275, 2288, 2291, 2302, 2304, 2330, 2347, 2352),
    }
)
FOLDER_LABELS = {"real": BONAFIDE_NAME, "fake": SPOOF_NAME}


class Trial(NamedTuple):
    utt: str  # for_fake_0001
    folder: str  # real | fake
    file: str  # file1.wav_16k.wav_norm.wav_mono.wav_silence.wav
    label: str  # bonafide | spoof

    @property
    def rel(self) -> str:
        """The path under for-norm/."""
        return f"{TEST_DIR}/{self.folder}/{self.file}"


def arena_trials() -> list[Trial]:
    """The 4,528 trials of the Arena's key, real first, each in file-number order."""
    numbers = {
        "real": list(ARENA_REAL),
        "fake": [n for n in ARENA_FAKE if n not in ARENA_FAKE_LEFT_OUT],
    }
    return [
        Trial(f"for_{folder}_{n:04d}", folder, FILE_NAME.format(number=n), FOLDER_LABELS[folder])
        for folder in ("real", "fake")
        for n in numbers[folder]
    ]


def missing_trials(db_root: Path) -> list[str]:
    """Stage 0's check of a copy: the Arena trials whose file is not there (one line)."""
    folder = db_root / CORPUS_DIR
    missing = [t.rel for t in arena_trials() if not (folder / t.rel).is_file()]
    if not missing:
        return []
    return [
        f"{CORPUS_DIR}/: {len(missing):,} of the Arena's 4,528 test files are missing "
        f"(e.g. {', '.join(missing[:3])})"
    ]


def prepare(db_root: Path, data_root: Path) -> dict[str, int]:
    """Write `data_root/for_test`; returns its number of trials."""
    folder = db_root / CORPUS_DIR
    if not (folder / TEST_DIR).is_dir():
        raise FileNotFoundError(
            f"{folder / TEST_DIR} not found: is --db_root the directory that holds {CORPUS_DIR}/?"
        )
    folder = folder.resolve()
    trials = arena_trials()
    for name in FOLDER_LABELS:
        check_audio(folder / TEST_DIR / name, (t.file for t in trials if t.folder == name))
    out_dir = data_root / DATA_DIR
    audio = at_16k({t.utt: folder / t.rel for t in trials}, out_dir / "wav16k")
    tables = {
        "wav.scp": lambda trial: str(audio[trial.utt]),
        "utt2spk": attrgetter("utt"),
        "utt2label": attrgetter("label"),
        "utt2attack": attrgetter("label"),  # no attack ids: bonafide or spoof
        "utt2file": attrgetter("rel"),
    }
    write_data_dir(out_dir, trials, tables)
    return {DATA_DIR: len(trials)}

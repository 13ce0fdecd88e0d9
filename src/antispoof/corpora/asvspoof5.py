"""ASVspoof 5 Track 1: the release's protocols to Kaldi data directories
(docs/research/corpora.md §5).

The release (Zenodo 14498691) unpacks into one folder, the corpus root:

    flac_T/T_NNNNNNNNNN.flac         train audio (flac_T_aa.tar ... flac_T_ae.tar)
    flac_D/D_NNNNNNNNNN.flac         dev audio (flac_D_aa.tar ... flac_D_ac.tar)
    flac_E_eval/E_NNNNNNNNNN.flac    eval audio (flac_E_aa.tar ... flac_E_aj.tar): `flac_E_eval`
    ASVspoof5.train.tsv              ASVspoof5_protocols.tar.gz, at the top of the root or,
    ASVspoof5.dev.track_1.tsv        where a copy was unpacked into a folder of that name, in
    ASVspoof5.eval.track_1.tsv       ASVspoof5_protocols/ (both are found)

A protocol line has 10 space-separated fields and no header (the `.tsv` files are not
tab-separated):

    SPEAKER_ID FLAC_FILE_NAME SPEAKER_GENDER CODEC CODEC_Q CODEC_SEED ATTACK_TAG ATTACK_LABEL
    KEY TMP, e.g.
    D_4461 D_0000000169 F - - - AC1 A14 spoof -
    D_0461 D_0000000190 M - - - - bonafide bonafide -

The label is KEY, never read from the attack column; ATTACK_LABEL is A01-A08 in train, A09-A16
in dev and A17-A32 in eval, and `bonafide` for bona fide trials, which is what utt2attack says
for them. CODEC is `-` for uncoded speech (all of train and dev) and C01-C11 for the eval set's
codec and transmission conditions; CODEC_Q its quality level. Each column is written as it is:

    utt2spk (SPEAKER_ID), utt2gender (SPEAKER_GENDER), utt2codec (CODEC), utt2codec_q (CODEC_Q),
    utt2attack_tag (ATTACK_TAG), utt2attack (ATTACK_LABEL), utt2label (KEY)

wav.scp is built from the protocol, never from a listing: the dev and eval folders also hold the
Track 2 enrolment utterances, which are not Track 1 trials.

The challenge's phase-1 protocols, `ASVspoof5.{train,dev}.metainfor.txt` (6 fields, the files the
organisers' Baseline-AASIST reads), are not part of the release and are refused with the names
of the final files.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from operator import attrgetter
from pathlib import Path
from typing import NamedTuple

from antispoof.corpora.common import ProtocolError, check_audio, write_data_dir
from antispoof.data.kaldi_files import iter_lines
from antispoof.labels import BONAFIDE_NAME, SPOOF_NAME

# split -> (protocol file, audio folder), relative to the corpus root.
SPLITS = {
    "train": ("ASVspoof5.train.tsv", "flac_T"),
    "dev": ("ASVspoof5.dev.track_1.tsv", "flac_D"),
    "eval": ("ASVspoof5.eval.track_1.tsv", "flac_E_eval"),
}
# Where the protocols may be: the top of the root, or the folder of the tarball's name.
PROTOCOL_DIRS = ("", "ASVspoof5_protocols")
# The phase-1 protocols of the challenge period, superseded by the release's.
PHASE_1 = {"train": "ASVspoof5.train.metainfor.txt", "dev": "ASVspoof5.dev.metainfor.txt"}
N_FIELDS = 10
PHASE_1_FIELDS = 6
# The protocol's KEY column, word for word, to the label the data directories write.
KEYS = {"bonafide": BONAFIDE_NAME, "spoof": SPOOF_NAME}
ATTACK_LABEL = re.compile(r"A\d\d")


class Trial(NamedTuple):
    speaker: str
    utt: str  # FLAC_FILE_NAME, which names the audio file
    gender: str
    codec: str
    codec_q: str
    codec_seed: str
    attack_tag: str
    attack: str  # ATTACK_LABEL: A01-A32, or `bonafide`
    label: str


# Data-directory table -> its value for a trial (wav.scp is added with the audio folder).
TABLES: dict[str, Callable[[Trial], str]] = {
    "utt2spk": attrgetter("speaker"),
    "utt2gender": attrgetter("gender"),
    "utt2codec": attrgetter("codec"),
    "utt2codec_q": attrgetter("codec_q"),
    "utt2attack_tag": attrgetter("attack_tag"),
    "utt2attack": attrgetter("attack"),
    "utt2label": attrgetter("label"),
}


def parse_protocol(path: Path) -> list[Trial]:
    """The trials of a Track 1 protocol; a malformed line is an error naming file:line."""
    if not path.is_file():
        raise FileNotFoundError(f"protocol not found: {path}")
    trials: list[Trial] = []
    first_line: dict[str, int] = {}
    for line_number, line in iter_lines(path):
        where = f"{path}:{line_number}"
        fields = line.split()
        if len(fields) == PHASE_1_FIELDS:
            raise ProtocolError(
                f"{where}: a line of {PHASE_1_FIELDS} fields, the format of the challenge's "
                f"phase-1 protocols; the release's {', '.join(name for name, _ in SPLITS.values())}"
                f" have {N_FIELDS}"
            )
        if len(fields) != N_FIELDS:
            raise ProtocolError(
                f"{where}: expected {N_FIELDS} fields (SPEAKER_ID FLAC_FILE_NAME SPEAKER_GENDER "
                "CODEC CODEC_Q CODEC_SEED ATTACK_TAG ATTACK_LABEL KEY TMP), got "
                f"{len(fields)}: {line.strip()!r}"
            )
        speaker, utt, gender, codec, codec_q, codec_seed, tag, attack, key, _ = fields
        if key not in KEYS:
            raise ProtocolError(f"{where}: KEY {key!r} is not {' or '.join(KEYS)}")
        label = KEYS[key]
        if label == BONAFIDE_NAME and attack != BONAFIDE_NAME:
            raise ProtocolError(f"{where}: bona fide trial with ATTACK_LABEL {attack!r}")
        if label == SPOOF_NAME and not ATTACK_LABEL.fullmatch(attack):
            raise ProtocolError(
                f"{where}: spoof trial with ATTACK_LABEL {attack!r} (expected A01..A32)"
            )
        previous = first_line.setdefault(utt, line_number)
        if previous != line_number:
            raise ProtocolError(f"{where}: trial {utt} already listed on line {previous}")
        trials.append(Trial(speaker, utt, gender, codec, codec_q, codec_seed, tag, attack, label))
    if not trials:
        raise ProtocolError(f"{path}: empty protocol")
    return trials


def find_protocol(db_root: Path, split: str) -> Path:
    """The release's protocol of `split` under `db_root`; a phase-1 file in its place is refused."""
    name = SPLITS[split][0]
    for folder in PROTOCOL_DIRS:
        if (db_root / folder / name).is_file():
            return db_root / folder / name
    phase_1 = [db_root / folder / PHASE_1[split] for folder in PROTOCOL_DIRS if split in PHASE_1]
    for old in phase_1:
        if old.is_file():
            raise ProtocolError(
                f"{old} is a phase-1 protocol of the challenge, not part of the release; use the "
                f"final {name} (ASVspoof5_protocols.tar.gz, Zenodo record 14498691)"
            )
    raise FileNotFoundError(
        f"{db_root / name} not found (nor in {db_root / PROTOCOL_DIRS[1]}/): is --db_root the "
        "folder that holds the unpacked release (flac_T/, flac_D/, flac_E_eval/ and the "
        "ASVspoof5.*.tsv protocols)?"
    )


def write_set(out_dir: Path, trials: Sequence[Trial], audio_dir: Path) -> None:
    """The data directory of `trials`, their audio files in `audio_dir`."""
    wav_scp = {"wav.scp": lambda trial: str(audio_dir / f"{trial.utt}.flac")}
    write_data_dir(out_dir, trials, {**wav_scp, **TABLES})


def prepare(
    db_root: Path, data_root: Path, splits: Sequence[str] = tuple(SPLITS), prefix: str = ""
) -> dict[str, int]:
    """Write `data_root/<prefix><split>/` for each split; returns the trials of each set."""
    if not db_root.is_dir():
        raise FileNotFoundError(f"corpus root not found: {db_root}")
    counts = {}
    for split in splits:
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; choose from {', '.join(SPLITS)}")
        trials = parse_protocol(find_protocol(db_root, split))
        audio_dir = (db_root / SPLITS[split][1]).resolve()
        check_audio(audio_dir, (f"{trial.utt}.flac" for trial in trials))
        write_set(data_root / f"{prefix}{split}", trials, audio_dir)
        counts[f"{prefix}{split}"] = len(trials)
    return counts

"""ASVspoof 2019 LA: CM protocols to Kaldi data directories (docs/research/corpora.md §1).

Protocol lines are `SPEAKER_ID UTT_ID - SYSTEM_ID KEY`; the system id is `-` for bona fide and
A01–A19 for spoof. `wav.scp` is built from the protocol, never from a listing of `flac/`: the
real dev and eval folders also hold ASV enrolment files that are not CM trials.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from antispoof.corpora.common import ProtocolError, check_audio, write_data_dir
from antispoof.data.kaldi_files import iter_lines
from antispoof.labels import BONAFIDE_NAME, SPOOF_NAME

SPLITS = {
    "train": ("ASVspoof2019.LA.cm.train.trn.txt", "ASVspoof2019_LA_train"),
    "dev": ("ASVspoof2019.LA.cm.dev.trl.txt", "ASVspoof2019_LA_dev"),
    "eval": ("ASVspoof2019.LA.cm.eval.trl.txt", "ASVspoof2019_LA_eval"),
}
ASV_SCORES = "ASVspoof2019_LA_asv_scores/ASVspoof2019.LA.asv.{split}.gi.trl.scores.txt"
ATTACK_ID = re.compile(r"A\d\d")
# The protocol's KEY column, word for word, to the label the data directories write.
KEYS = {"bonafide": BONAFIDE_NAME, "spoof": SPOOF_NAME}


@dataclass(frozen=True)
class Trial:
    speaker: str
    utt: str
    attack: str  # `bonafide` or the system id
    label: str  # `bonafide` or `spoof`


def parse_cm_protocol(path: Path) -> list[Trial]:
    if not path.is_file():
        raise FileNotFoundError(f"CM protocol not found: {path}")
    trials: list[Trial] = []
    seen: dict[str, int] = {}
    for line_number, line in iter_lines(path):
        fields = line.split()
        where = f"{path}:{line_number}"
        if len(fields) != 5:
            raise ProtocolError(
                f"{where}: expected 5 fields (SPEAKER UTT - SYSTEM KEY), "
                f"got {len(fields)}: {line.strip()!r}"
            )
        speaker, utt, _, system, key = fields
        if key not in KEYS:
            raise ProtocolError(f"{where}: key {key!r} is not {' or '.join(KEYS)}")
        label = KEYS[key]
        if label == BONAFIDE_NAME and system != "-":
            raise ProtocolError(f"{where}: bona fide trial with system id {system!r}")
        if label == SPOOF_NAME and not ATTACK_ID.fullmatch(system):
            raise ProtocolError(
                f"{where}: spoof trial with system id {system!r} (expected A01..A19)"
            )
        if utt in seen:
            raise ProtocolError(f"{where}: utterance {utt} already listed on line {seen[utt]}")
        seen[utt] = line_number
        attack = BONAFIDE_NAME if label == BONAFIDE_NAME else system
        trials.append(Trial(speaker, utt, attack, label))
    if not trials:
        raise ProtocolError(f"{path}: empty protocol")
    return trials


TABLES: dict[str, Callable[[Trial], str]] = {
    "utt2spk": lambda t: t.speaker,
    "utt2label": lambda t: t.label,
    "utt2attack": lambda t: t.attack,
}


def prepare(db_root: Path, data_root: Path, splits: list[str]) -> dict[str, int]:
    """Write `data_root/<split>/` for each split; dev and eval also get the ASV scores."""
    la_root = db_root / "LA"
    if not la_root.is_dir():
        raise FileNotFoundError(f"{la_root} not found: is --db_root the directory that holds LA/?")
    counts = {}
    for split in splits:
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; choose from {sorted(SPLITS)}")
        protocol_name, audio_name = SPLITS[split]
        trials = parse_cm_protocol(la_root / "ASVspoof2019_LA_cm_protocols" / protocol_name)
        out_dir = data_root / split
        audio_dir = (la_root / audio_name / "flac").resolve()
        check_audio(audio_dir, (f"{t.utt}.flac" for t in trials))
        wav_scp = {"wav.scp": lambda t, d=audio_dir: str(d / f"{t.utt}.flac")}
        write_data_dir(out_dir, trials, {**wav_scp, **TABLES})
        asv_scores = la_root / ASV_SCORES.format(split=split)
        if split != "train":
            if not asv_scores.is_file():
                raise FileNotFoundError(
                    f"ASV score file not found: {asv_scores} (needed for the t-DCF)"
                )
            shutil.copyfile(asv_scores, out_dir / "asv_scores.txt")
        counts[split] = len(trials)
    return counts

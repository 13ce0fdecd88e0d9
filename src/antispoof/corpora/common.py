"""What every corpus's data preparation shares: protocol errors, audio checks, table writing."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Protocol, TypeVar

from antispoof.data.kaldi_files import write_table

MISSING_EXAMPLES = 5  # trial ids named when audio files are missing


class ProtocolError(ValueError):
    """A malformed protocol or key line; the message names the file and the line."""


class Utterance(Protocol):
    """What write_data_dir needs of an item: its utterance id."""

    @property
    def utt(self) -> str: ...


UttT = TypeVar("UttT", bound=Utterance)


def check_audio(audio_dir: Path, file_names: Iterable[str]) -> None:
    """Every file of `file_names` must be in `audio_dir`.

    One listing of the folder instead of a stat per trial: the DF folder holds 611,829 files.
    """
    if not audio_dir.is_dir():
        raise FileNotFoundError(f"audio folder not found: {audio_dir}")
    present = set(os.listdir(audio_dir))
    names = list(file_names)
    missing = sorted(name for name in names if name not in present)
    if missing:
        examples = ", ".join(missing[:MISSING_EXAMPLES])
        more = ", ..." if len(missing) > MISSING_EXAMPLES else ""
        raise FileNotFoundError(
            f"{audio_dir}: {len(missing)} of {len(names)} trials have no audio file: "
            f"{examples}{more}"
        )


def write_data_dir(
    out_dir: Path, items: Sequence[UttT], tables: Mapping[str, Callable[[UttT], str]]
) -> None:
    """Write each of `tables` (`wav.scp`, `utt2*`: name -> value of an item) and spk2utt.

    `tables` must include utt2spk; spk2utt is derived from it. An `utt2dur` left from an
    earlier preparation is removed: its durations may belong to other audio (run.sh writes a
    new one from the audio headers, antispoof.data.utt2dur).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "utt2dur").unlink(missing_ok=True)
    for name, value in tables.items():
        write_table(out_dir / name, ((item.utt, value(item)) for item in items))
    speaker_of = tables["utt2spk"]
    spk2utt: dict[str, list[str]] = {}
    for item in sorted(items, key=lambda item: item.utt.encode("utf-8")):
        spk2utt.setdefault(speaker_of(item), []).append(item.utt)
    write_table(out_dir / "spk2utt", ((spk, " ".join(utts)) for spk, utts in spk2utt.items()))

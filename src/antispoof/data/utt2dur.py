"""`utt2dur`: each utterance's duration in seconds, read from the audio files' headers.

Stage 2 plans its caches from durations (the bytes of an utterance's features follow from its
frame count), so every data directory a run uses gets an `utt2dur` (Kaldi's table of that name):
run.sh writes it at the end of stage 1, and the cache plan writes it for a directory that lacks
one (one made before stage 1 wrote it) rather than asking for stage 1 again. Only headers are
read (`soundfile.info`, no decoding), in threads, and once per audio file however many
utterances share it (the oversampled copies `<trial>-rep<k>` of the DF training split).

A duration is written with 5 decimals, finer than one sample at 16 kHz, so the sample count is
`round(seconds * rate)`. An `utt2dur` is current when it lists exactly the utterances of
`wav.scp` and is not older than it; stage 1 rewrites a data directory's tables and drops its
old `utt2dur` (antispoof.corpora.common.write_data_dir).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from antispoof.data.audio import EXPECTED_SAMPLE_RATE, audio_num_samples
from antispoof.data.datadir import AUDIO_SCAN_THREADS, line_origin
from antispoof.data.kaldi_files import TableError, iter_table, read_table, write_table

UTT2DUR = "utt2dur"
DECIMALS = 5

log = logging.getLogger("antispoof.utt2dur")


def seconds_text(num_samples: int, sample_rate: int = EXPECTED_SAMPLE_RATE) -> str:
    """A duration as utt2dur writes it."""
    return f"{num_samples / sample_rate:.{DECIMALS}f}"


def header_samples(
    entries: list[tuple[str, str]], sample_rate: int = EXPECTED_SAMPLE_RATE
) -> dict[str, int]:
    """The sample count of each distinct path of `(where, path)` entries, from its header.

    Errors (a missing or unreadable file, another sample rate) are AudioErrors naming `where`.
    """
    first_where: dict[str, str] = {}
    for where, path in entries:
        first_where.setdefault(path, where)
    with ThreadPoolExecutor(AUDIO_SCAN_THREADS) as pool:
        counts = pool.map(
            lambda item: audio_num_samples(item[0], item[1], sample_rate), first_where.items()
        )
        return dict(zip(first_where, counts, strict=True))


def utt2dur_is_current(data_dir: str | os.PathLike[str]) -> bool:
    """Whether `utt2dur` lists exactly the utterances of `wav.scp` and is not older than it."""
    data_dir = Path(data_dir)
    path, wav_scp = data_dir / UTT2DUR, data_dir / "wav.scp"
    try:
        if path.stat().st_mtime_ns < wav_scp.stat().st_mtime_ns:
            return False
        return read_table(path).keys() == read_table(wav_scp).keys()
    except (FileNotFoundError, TableError):
        return False


def write_utt2dur(data_dir: str | os.PathLike[str]) -> dict[str, float]:
    """Write `<data_dir>/utt2dur` from the headers of the files of `wav.scp`; returns it."""
    data_dir = Path(data_dir)
    origin = line_origin(data_dir)
    utts = []
    entries = []
    for line, utt, path in iter_table(data_dir / "wav.scp"):
        utts.append((utt, path))
        entries.append((origin.where(line), path))
    samples = header_samples(entries)
    table = {utt: seconds_text(samples[path]) for utt, path in utts}
    write_table(data_dir / UTT2DUR, table)
    return {utt: float(text) for utt, text in table.items()}


def read_utt2dur(data_dir: str | os.PathLike[str]) -> dict[str, float]:
    """The durations of a data directory's utterances: its `utt2dur` when current, else read
    from the audio headers and written (with a log line saying so)."""
    data_dir = Path(data_dir)
    if utt2dur_is_current(data_dir):
        return _durations(read_table(data_dir / UTT2DUR), data_dir / UTT2DUR)
    log.info(
        "%s has no current utt2dur (stage 1 writes one): reading the audio headers of %s",
        data_dir,
        data_dir / "wav.scp",
    )
    return write_utt2dur(data_dir)


def _durations(table: Mapping[str, str], path: Path) -> dict[str, float]:
    durations = {}
    for line_number, (utt, text) in enumerate(table.items(), start=1):
        try:
            durations[utt] = float(text)
        except ValueError:
            raise TableError(f"{path}:{line_number}: duration {text!r} is not a number") from None
    return durations

"""16 kHz copies of audio that the data directories cannot list as it is.

A `wav.scp` value is the path of a 16 kHz file (antispoof.data.audio refuses any other rate
rather than resample silently). Several evaluation corpora ship other rates (MLAAD's TTS
systems at 22.05 or 24 kHz, CodecFake's codecs at 24 and 44.1 kHz, Deepfake-Eval-2024's
recordings at any rate), so their stage 1 lists the file itself when it is at 16 kHz and
otherwise a copy made once, here, the way `detect` reads any file (antispoof.scoring:
channels averaged, torchaudio's resample). Copies are 32-bit float WAV: nothing is rounded or
clipped on the way, and the bytes are the same on every run (no PEAK chunk with a timestamp).

A copy is written to `<name>.tmp` and renamed, so an interrupted stage 1 leaves no half file;
a copy that exists is kept, so a second run only makes what is missing.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import soundfile

from antispoof.data.audio import EXPECTED_SAMPLE_RATE, AudioError

COPY_THREADS = 4  # libsndfile and torch release the GIL while they decode and resample
_SFC_SET_ADD_PEAK_CHUNK = 0x1050  # libsndfile command (sndfile.h)


def sample_rate(path: Path) -> int:
    """The file's sample rate from its header; an AudioError naming the file if unreadable."""
    try:
        return int(soundfile.info(str(path)).samplerate)
    except (OSError, RuntimeError, soundfile.LibsndfileError) as err:
        raise AudioError(f"cannot read audio {path}: {err}") from None


def at_16k(sources: Mapping[str, Path], copy_dir: Path) -> dict[str, Path]:
    """For each utterance, its audio at 16 kHz: the source file itself, or its copy
    `copy_dir/<utt>.wav` (made when missing), as an absolute path (wav.scp is read from
    other working directories)."""
    copy_dir = copy_dir.absolute()
    result: dict[str, Path] = {}
    to_copy: list[tuple[Path, Path]] = []
    for utt, source in sources.items():
        if sample_rate(source) == EXPECTED_SAMPLE_RATE:
            result[utt] = source
        else:
            result[utt] = copy_dir / f"{utt}.wav"
            if not result[utt].is_file():
                to_copy.append((source, result[utt]))
    if to_copy:
        copy_dir.mkdir(parents=True, exist_ok=True)
        for _ in _in_threads(_copy, to_copy):
            pass
    return result


def _copy(job: tuple[Path, Path]) -> None:
    from antispoof.scoring import read_any_audio  # torch: only when a copy is made

    source, target = job
    samples, _ = read_any_audio(source, EXPECTED_SAMPLE_RATE)
    write_float_wav(target, samples)


def segment(source: Path, seconds: float) -> list[np.ndarray]:
    """The recording cut as AntiDeepfake's `DeepfakeEval2024_segment.py` cuts it: channels
    averaged, then `int(seconds * rate)` samples at the file's own rate per segment, the last
    one as long as what is left (however short), each segment then resampled to 16 kHz on its
    own (as its file would be read)."""
    samples, rate = read_mono(source)
    return cut(samples, rate, seconds, source)


def cut(samples: np.ndarray, rate: int, seconds: float, source: Path) -> list[np.ndarray]:
    """`segment` of samples already read (`read_mono`), so that one decoding serves several
    segment lengths; `source` names the file in errors."""
    per_segment = int(seconds * rate)
    if per_segment < 1:
        raise ValueError(f"a segment of {seconds} s holds no sample at {rate} Hz")
    count = math.ceil(len(samples) / per_segment)
    pieces = [samples[i * per_segment : (i + 1) * per_segment] for i in range(count)]
    return [_resample(piece, rate, source) for piece in pieces]


def read_mono(source: Path) -> tuple[np.ndarray, int]:
    """The file's samples, channels averaged (float32), and its rate; AudioError if unreadable."""
    try:
        samples, rate = soundfile.read(str(source), dtype="float32", always_2d=True)
    except (OSError, RuntimeError, soundfile.LibsndfileError) as err:
        raise AudioError(f"cannot read audio {source}: {err}") from None
    if samples.shape[0] == 0:
        raise AudioError(f"{source} holds no samples")
    mono = samples.mean(axis=1, dtype=np.float32) if samples.shape[1] > 1 else samples[:, 0]
    return np.ascontiguousarray(mono), int(rate)


def _resample(samples: np.ndarray, rate: int, source: Path) -> np.ndarray:
    if rate == EXPECTED_SAMPLE_RATE:
        return samples
    import torch
    import torchaudio.functional

    out = torchaudio.functional.resample(torch.from_numpy(samples), rate, EXPECTED_SAMPLE_RATE)
    if out.numel() == 0:
        raise AudioError(f"{source}: a piece of {len(samples)} sample(s) is too short to resample")
    return np.ascontiguousarray(out.numpy(), dtype=np.float32)


def write_float_wav(path: Path, samples: np.ndarray) -> None:
    """Write 16 kHz mono float32 samples to `path` (through `<path>.tmp`, then renamed)."""
    partial = path.with_name(path.name + ".tmp")
    with soundfile.SoundFile(
        partial, "w", EXPECTED_SAMPLE_RATE, 1, "FLOAT", format="WAV"
    ) as handle:
        soundfile._snd.sf_command(handle._file, _SFC_SET_ADD_PEAK_CHUNK, soundfile._ffi.NULL, 0)
        handle.write(samples)
    partial.replace(path)


def _in_threads(function, jobs: list) -> Iterator[object]:
    with ThreadPoolExecutor(COPY_THREADS) as pool:
        yield from pool.map(function, jobs)

"""Audio reading through soundfile, with errors that name the file (and the wav.scp line).

What a `wav.scp` value may be is defined here, once, for the reader and the data-directory
validator alike: the path of an audio file that soundfile reads. Kaldi's other forms (pipe
commands `cmd |`, standard input `-`, ark offsets `file.ark:123`) are refused by both.
"""

from __future__ import annotations

import re
from typing import NoReturn

import numpy as np
import soundfile

EXPECTED_SAMPLE_RATE = 16000
SCAN_BLOCK_FRAMES = 1 << 16  # frames per read when scanning a whole file

# Kaldi's offset rxfilename (`file.ark:123`, optionally with a range `[...]`).
_ARK_OFFSET = re.compile(r".+:[0-9]+(\[[^\]]*\])?")


class AudioError(RuntimeError):
    """Unreadable, corrupt, empty, non-finite or mis-sampled audio."""


def unsupported_wav_scp_value(value: str) -> str | None:
    """Why `value` is not the path of an audio file (a form read_audio refuses), or None."""
    if value.endswith("|"):
        return (
            f"pipe commands are not supported: {value!r}; run the command once, "
            "write the audio to files and list their paths in wav.scp"
        )
    if value == "-":
        return "standard input ('-') is not supported; list the path of an audio file"
    if _ARK_OFFSET.fullmatch(value):
        return (
            f"ark offsets are not supported: {value!r}; extract the audio to files "
            "(e.g. Kaldi's wav-copy) and list their paths in wav.scp"
        )
    return None


def read_audio(path: str, where: str = "", sample_rate: int = EXPECTED_SAMPLE_RATE) -> np.ndarray:
    """Mono float32 samples in [-1, 1]; `where` (such as `data/train/wav.scp:12`) locates the entry.

    Multi-channel audio is averaged to mono. Any sample rate other than `sample_rate` is an
    error: resampling silently would hide a data-preparation mistake. So are NaN and infinite
    samples (possible in a float WAV): they would turn every feature and score into NaN.
    """
    origin = f"{where}: " if where else ""
    _refuse_unsupported(path, origin)
    try:
        samples, rate = soundfile.read(path, dtype="float32", always_2d=True)
    except (OSError, RuntimeError, soundfile.LibsndfileError) as err:
        raise AudioError(f"{origin}cannot read audio {path}: {err}") from err
    _check_rate(path, origin, rate, sample_rate)
    if samples.shape[0] == 0:
        raise AudioError(f"{origin}{path} is empty")
    bad = _non_finite(samples)
    if bad is not None:
        _refuse_non_finite(path, origin, rate, *bad)
    return samples.mean(axis=1) if samples.shape[1] > 1 else samples[:, 0]


def audio_num_samples(path: str, where: str = "", sample_rate: int = EXPECTED_SAMPLE_RATE) -> int:
    """The number of frames a file's header declares (what read_audio would return, for an
    intact file), without reading its samples; errors as read_audio's."""
    origin = f"{where}: " if where else ""
    _refuse_unsupported(path, origin)
    try:
        info = soundfile.info(path)
    except (OSError, RuntimeError, soundfile.LibsndfileError) as err:
        raise AudioError(f"{origin}cannot read audio {path}: {err}") from err
    _check_rate(path, origin, info.samplerate, sample_rate)
    if info.frames <= 0:
        raise AudioError(f"{origin}{path} is empty")
    return int(info.frames)


def scan_audio(path: str, where: str = "", sample_rate: int = EXPECTED_SAMPLE_RATE) -> int:
    """Check a file as read_audio would, reading it in blocks; returns its number of frames.

    Raises AudioError with read_audio's messages. Memory stays bounded by the block size,
    whatever the length of the file.
    """
    origin = f"{where}: " if where else ""
    _refuse_unsupported(path, origin)
    frames = 0
    first_bad: int | None = None
    num_bad = 0
    try:
        with soundfile.SoundFile(path) as handle:
            rate = handle.samplerate
            _check_rate(path, origin, rate, sample_rate)
            for block in handle.blocks(SCAN_BLOCK_FRAMES, dtype="float32", always_2d=True):
                bad = _non_finite(block)
                if bad is not None:
                    num_bad += bad[0]
                    if first_bad is None:
                        first_bad = frames + bad[1]
                frames += block.shape[0]
    except AudioError:
        raise
    except (OSError, RuntimeError, soundfile.LibsndfileError) as err:
        raise AudioError(f"{origin}cannot read audio {path}: {err}") from err
    if frames == 0:
        raise AudioError(f"{origin}{path} is empty")
    if first_bad is not None:
        _refuse_non_finite(path, origin, rate, num_bad, first_bad)
    return frames


def _refuse_unsupported(path: str, origin: str) -> None:
    reason = unsupported_wav_scp_value(path)
    if reason is not None:
        raise AudioError(f"{origin}{reason}")


def _check_rate(path: str, origin: str, rate: int, sample_rate: int) -> None:
    if rate != sample_rate:
        raise AudioError(f"{origin}{path} has sample rate {rate}, expected {sample_rate}")


def _non_finite(samples: np.ndarray) -> tuple[int, int] | None:
    """(number of non-finite samples, first frame holding one) of `(frames, channels)`, or None."""
    finite = np.isfinite(samples)
    if finite.all():
        return None
    frames_bad = ~finite.all(axis=1)
    return int(finite.size - np.count_nonzero(finite)), int(np.argmax(frames_bad))


def _refuse_non_finite(path: str, origin: str, rate: int, count: int, first: int) -> NoReturn:
    raise AudioError(
        f"{origin}{path} holds {count} non-finite sample(s) (NaN or inf), the first at frame "
        f"{first} ({first / rate:.3f} s); the file is corrupt: re-create it, or remove the "
        "utterance from wav.scp and run utils/fix_data_dir.sh"
    )

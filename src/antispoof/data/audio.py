"""Audio reading through soundfile, with errors that name the file (and the wav.scp line)."""

from __future__ import annotations

import numpy as np
import soundfile

EXPECTED_SAMPLE_RATE = 16000


class AudioError(RuntimeError):
    """Unreadable, corrupt, empty or mis-sampled audio."""


def read_audio(path: str, where: str = "", sample_rate: int = EXPECTED_SAMPLE_RATE) -> np.ndarray:
    """Mono float32 samples in [-1, 1]; `where` (such as `data/train/wav.scp:12`) locates the entry.

    Multi-channel audio is averaged to mono. Any sample rate other than `sample_rate` is an
    error: resampling silently would hide a data-preparation mistake.
    """
    origin = f"{where}: " if where else ""
    if path.endswith("|"):
        raise AudioError(f"{origin}pipe commands in wav.scp are not supported: {path!r}")
    try:
        samples, rate = soundfile.read(path, dtype="float32", always_2d=True)
    except (OSError, RuntimeError, soundfile.LibsndfileError) as err:
        raise AudioError(f"{origin}cannot read audio {path}: {err}") from err
    if rate != sample_rate:
        raise AudioError(f"{origin}{path} has sample rate {rate}, expected {sample_rate}")
    if samples.shape[0] == 0:
        raise AudioError(f"{origin}{path} is empty")
    return samples.mean(axis=1) if samples.shape[1] > 1 else samples[:, 0]

"""Writes li_cqt_chirp_noise.npy: Li et al.'s log-power CQT (their `logpowcqt` of
`feats_extraction/logpowerspec.py` with `conf/feats/cqt_48bpo_fmin15.json`) of the test signal
of tests/test_cqt.py, computed by librosa itself. Not part of the test suite (the tests never
import librosa); run it in a separate environment:

    python3 -m venv /tmp/librosa_venv
    /tmp/librosa_venv/bin/pip install librosa==0.8.1 numpy==1.23.5 numba==0.57.1 \
        resampy==0.4.3 scipy==1.11.4
    /tmp/librosa_venv/bin/python tests/reference/make_li_cqt_reference.py

librosa 0.8.1 is the release of Li et al.'s time (their code runs on Python 3.6 / torch 1.4,
2020); newer librosa resamples with soxr and pads with zeros, a different feature.
"""

from pathlib import Path

import librosa
import numpy as np
import scipy.signal


def chirp_noise(n: int = 16000, sample_rate: int = 16000) -> np.ndarray:
    """The signal of tests/test_cqt.py: a log chirp 30 Hz -> 7.5 kHz, a 440 Hz tone and LCG noise
    (integer arithmetic, the same on every platform), float32."""
    t = np.arange(n, dtype=np.float64) / sample_rate
    rate = np.log(7500.0 / 30.0) / (n / sample_rate)
    chirp = np.sin(2 * np.pi * 30.0 * (np.exp(rate * t) - 1) / rate)
    tone = np.sin(2 * np.pi * 440.0 * t)
    state, values = 12345, np.empty(n)
    for i in range(n):
        state = (state * 6364136223846793005 + 1442695040888963407) % 2**64
        values[i] = (state >> 40) / 2**24 - 0.5
    return (0.5 * chirp + 0.2 * tone + 0.3 * values).astype(np.float32)


if __name__ == "__main__":
    wav = chirp_noise()
    emphasised = scipy.signal.lfilter([1, -0.97], [1], wav)
    cqt = librosa.cqt(
        y=emphasised,
        sr=16000,
        hop_length=256,
        n_bins=432,
        bins_per_octave=48,
        window="hann",
        fmin=15,
    )
    log_power = librosa.power_to_db(np.abs(cqt) ** 2, ref=1.0, amin=1e-30, top_db=None).T
    out = Path(__file__).with_name("li_cqt_chirp_noise.npy")
    np.save(out, log_power.astype(np.float32))
    print(out, log_power.shape)

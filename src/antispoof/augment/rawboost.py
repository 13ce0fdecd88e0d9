"""RawBoost (`rawboost`): three kinds of channel and coding noise added to training waveforms.

RawBoost (Tak, Kamble, Patino, Todisco, Evans, ICASSP 2022, arXiv 2111.04433) distorts the raw
waveform with
  1. linear and non-linear convolutive noise (LnL): the sum over j = 1..N_f of x^j filtered by a
     cascade of `n_bands` random FIR band-stop (notch) filters, the linear term at a gain in
     [min_g, max_g] dB and the higher orders at [min_g - min_bias_lin_nonlin,
     max_g - max_bias_lin_nonlin] dB; then mean removal and peak normalisation where the peak
     exceeds 1;
  2. impulsive signal-dependent noise (ISD): a random beta in [0, P] % of the samples, each
     x[i] -> x[i] + g_sd * x[i] * f, f the product of two uniforms in [-1, 1]; then peak
     normalisation where the peak exceeds 1;
  3. stationary signal-independent noise (SSI): white Gaussian noise coloured by a random notch
     cascade, added at an SNR drawn in [snr_min, snr_max] dB (no normalisation after).
`algo` combines them as the authors' `process_Rawboost_feature` (TakHemlata/SSL_Anti-spoofing,
data_utils_SSL.py; the same RawBoost.py is in TakHemlata/RawBoost-antispoofing): 0 none, 1, 2,
3 alone, 4 = 1 then 2 then 3, 5 = 1 then 2, 6 = 1 then 3, 7 = 2 then 3, 8 = 1 and 2 each on the
clean signal, summed and peak-normalised where the peak exceeds 1.

The maths, the order and ranges of the random draws, the filter design (scipy.signal.firwin
with a Hamming window, odd tap counts, cut-offs clamped inside (0, fs/2), the cascade scaled to
a peak gain of 10^(G/20) measured by freqz at 512 points) and the settings' defaults (those of
the argparse blocks of main_SSL_LA.py / main_SSL_DF.py) follow the official code; the
randomness comes from the worker's numpy Generator instead of the global `np.random`. A uniform
draw in [a, b] is `a + (b - a) * u`, u = generator.random(), as numpy's own `uniform`: the
official non-linear gain range with its defaults is [-5, -20], reversed, which this takes as
numpy does (values between -20 and -5). Filtering is an FFT convolution where the official
code runs lfilter over the same FIR; they agree to rounding.

The authors train with algo 5 (series LnL + ISD) for ASVspoof 2021 LA and algo 3 (SSI) for
DF (the defaults of main_SSL_LA.py and main_SSL_DF.py), every other setting at its default.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from antispoof.augment.waveform import WAVEFORM_AUGMENTATIONS

__all__ = [
    "NotchBand",
    "RawBoost",
    "fir_same",
    "isd_noise",
    "lnl_noise",
    "notch_filter",
    "peak_normalise",
    "ssi_noise",
]

# What each algo runs: the noises applied in series, in order (algo 8 is the parallel one).
SERIES = {0: (), 1: (1,), 2: (2,), 3: (3,), 4: (1, 2, 3), 5: (1, 2), 6: (1, 3), 7: (2, 3)}
PARALLEL = 8

# The official code keeps cut-offs this far (in Hz) inside (0, fs / 2), where firwin needs them.
EDGE_HZ = 1e-3


@dataclass(frozen=True)
class NotchBand:
    """One band-stop filter of a notch cascade, as drawn: centre and width in Hz, tap count."""

    centre_hz: float
    width_hz: float
    taps: int


# Deterministic cores: the official maths with every random quantity an argument.


def notch_filter(bands: Sequence[NotchBand], gain_db: float, sample_rate: int) -> np.ndarray:
    """FIR coefficients of a cascade of Hamming-window band-stop filters, scaled so that the peak
    of its magnitude response (freqz, 512 points) is `gain_db` dB (official `genNotchCoeffs`).

    An even tap count is raised by one (a band-stop FIR passes fs / 2 only with an odd count),
    and band edges are clamped to [1 mHz, fs / 2 - 1 mHz].
    """
    from scipy import signal  # here: scipy.signal takes 0.7 s to import, and few runs use RawBoost

    coeffs = np.ones(1)
    for band in bands:
        taps = band.taps + 1 if band.taps % 2 == 0 else band.taps
        low = band.centre_hz - band.width_hz / 2
        high = band.centre_hz + band.width_hz / 2
        low = EDGE_HZ if low <= 0 else low
        high = sample_rate / 2 - EDGE_HZ if high >= sample_rate / 2 else high
        stop = signal.firwin(taps, [low, high], window="hamming", fs=sample_rate)
        coeffs = np.convolve(stop, coeffs)
    _, response = signal.freqz(coeffs, 1, fs=sample_rate)
    return 10.0 ** (gain_db / 20) * coeffs / np.max(np.abs(response))


def fir_same(samples: np.ndarray, coeffs: np.ndarray) -> np.ndarray:
    """`samples` filtered by the FIR `coeffs`, delayed back by half the filter's length so that
    the output lines up with the input and has its length (official `filterFIR`)."""
    # filterFIR pads N = len(coeffs) + 1 zeros, filters, and keeps [N // 2, N // 2 + len(x)):
    # the same slice of the full convolution.
    from scipy import signal

    start = (len(coeffs) + 1) // 2
    full = signal.fftconvolve(samples, coeffs)
    out = np.zeros(len(samples))
    kept = full[start : start + len(samples)]
    out[: len(kept)] = kept
    return out


def peak_normalise(samples: np.ndarray, always: bool) -> np.ndarray:
    """`samples` divided by their peak magnitude: always, or only where it exceeds 1 (official
    `normWav`)."""
    peak = np.max(np.abs(samples))
    return samples / peak if always or peak > 1 else samples


def lnl_noise(samples: np.ndarray, filters: Sequence[np.ndarray]) -> np.ndarray:
    """Linear and non-linear convolutive noise: the sum of `samples ** (j + 1)` filtered by
    `filters[j]`, less its mean, peak-normalised where the peak exceeds 1."""
    x = np.asarray(samples, dtype=np.float64)
    y = np.zeros(len(x))
    power = np.ones(len(x))
    for coeffs in filters:
        # x ** j by repeated products: several times faster than np.power for j > 2.
        power = power * x
        y += fir_same(power, coeffs)
    return peak_normalise(y - np.mean(y), always=False)


def isd_noise(
    samples: np.ndarray, positions: np.ndarray, factors: np.ndarray, g_sd: float
) -> np.ndarray:
    """Impulsive signal-dependent noise: `x[p] + g_sd * x[p] * f` at the `positions` p (factors
    f in [-1, 1]), peak-normalised where the peak exceeds 1."""
    y = np.array(samples, dtype=np.float64)
    y[positions] += g_sd * y[positions] * factors
    return peak_normalise(y, always=False)


def ssi_noise(
    samples: np.ndarray, noise: np.ndarray, coeffs: np.ndarray, snr_db: float
) -> np.ndarray:
    """Stationary signal-independent noise: `noise` coloured by the FIR `coeffs` and added at
    `snr_db` dB below the signal's energy (not normalised after)."""
    x = np.asarray(samples, dtype=np.float64)
    # The official code peak-normalises the coloured noise before scaling it to the SNR; the
    # scaling undoes it (and the notch gain), but it is kept so that rounding matches.
    coloured = peak_normalise(fir_same(noise, coeffs), always=True)
    scale = np.linalg.norm(x) / np.linalg.norm(coloured) / 10.0 ** (0.05 * snr_db)
    return x + coloured * scale


@WAVEFORM_AUGMENTATIONS.register("rawboost")
class RawBoost:
    """RawBoost noise of kind `algo` (0-8, see the module docstring) added to a waveform.

    Settings, with the official defaults (official name in brackets): `n_f` [N_f] order of the
    non-linearity (1: linear only); `n_bands` [nBands] notch filters per cascade; `min_f`,
    `max_f` [minF, maxF] range of their centre frequencies in Hz; `min_bw`, `max_bw` [minBW,
    maxBW] of their widths in Hz; `min_coeff`, `max_coeff` [minCoeff, maxCoeff] of their tap
    counts; `min_g`, `max_g` [minG, maxG] of the linear term's gain in dB;
    `min_bias_lin_nonlin`, `max_bias_lin_nonlin` [minBiasLinNonLin, maxBiasLinNonLin] dB
    taken off those bounds for the non-linear terms; `p` [P] the most impulses, in % of the
    samples; `g_sd` [g_sd] their gain; `snr_min`, `snr_max` [SNRmin, SNRmax] range of the
    SNR of the coloured noise in dB; `sample_rate` of the audio, in Hz.

    `algo` has no default: the official scripts use 5 for LA and 3 for DF.
    """

    def __init__(
        self,
        algo: int,
        n_f: int = 5,
        n_bands: int = 5,
        min_f: float = 20.0,
        max_f: float = 8000.0,
        min_bw: float = 100.0,
        max_bw: float = 1000.0,
        min_coeff: int = 10,
        max_coeff: int = 100,
        min_g: float = 0.0,
        max_g: float = 0.0,
        min_bias_lin_nonlin: float = 5.0,
        max_bias_lin_nonlin: float = 20.0,
        p: float = 10.0,
        g_sd: float = 2.0,
        snr_min: float = 10.0,
        snr_max: float = 40.0,
        sample_rate: int = 16000,
    ) -> None:
        if algo not in SERIES and algo != PARALLEL:
            raise ValueError(f"algo must be one of 0-8, not {algo!r}")
        _require(sample_rate > 0, "sample_rate", "must be positive", sample_rate)
        _require(n_f >= 1, "n_f", "must be at least 1", n_f)
        _require(n_bands >= 1, "n_bands", "must be at least 1", n_bands)
        _require(min_f >= 0, "min_f", "must be at least 0 Hz", min_f)
        _require(
            max_f <= sample_rate / 2,
            "max_f",
            f"must be at most sample_rate / 2 = {sample_rate / 2:g} Hz",
            max_f,
        )
        _require(min_f <= max_f, "min_f", f"must be at most max_f = {max_f!r}", min_f)
        # Narrower notches could end up with no band left between the clamped edges.
        _require(min_bw >= 1, "min_bw", "must be at least 1 Hz", min_bw)
        _require(min_bw <= max_bw, "min_bw", f"must be at most max_bw = {max_bw!r}", min_bw)
        _require(min_coeff >= 1, "min_coeff", "must be at least 1", min_coeff)
        _require(
            min_coeff <= max_coeff,
            "min_coeff",
            f"must be at most max_coeff = {max_coeff!r}",
            min_coeff,
        )
        _require(min_g <= max_g, "min_g", f"must be at most max_g = {max_g!r}", min_g)
        _require(
            min_bias_lin_nonlin <= max_bias_lin_nonlin,
            "min_bias_lin_nonlin",
            f"must be at most max_bias_lin_nonlin = {max_bias_lin_nonlin!r}",
            min_bias_lin_nonlin,
        )
        _require(0 <= p <= 100, "p", "must be a percentage in [0, 100]", p)
        _require(g_sd >= 0, "g_sd", "must be at least 0", g_sd)
        _require(snr_min <= snr_max, "snr_min", f"must be at most snr_max = {snr_max!r}", snr_min)
        self.algo = algo
        self.n_f = n_f
        self.n_bands = n_bands
        self.f_range = (min_f, max_f)
        self.bw_range = (min_bw, max_bw)
        self.coeff_range = (min_coeff, max_coeff)
        self.g_range = (min_g, max_g)
        # As the official code: each bound less its own bias, even where that reverses them.
        self.nonlinear_g_range = (min_g - min_bias_lin_nonlin, max_g - max_bias_lin_nonlin)
        self.p = p
        self.g_sd = g_sd
        self.snr_range = (snr_min, snr_max)
        self.sample_rate = sample_rate

    def __call__(self, samples: np.ndarray, generator: np.random.Generator) -> np.ndarray:
        """`samples` (mono) with RawBoost noise, float32, of the same length."""
        x = np.asarray(samples)
        if x.ndim != 1:
            raise ValueError(f"RawBoost takes mono samples, shape (N,), not {x.shape}")
        if self.algo == 0 or x.size == 0:
            return x.astype(np.float32, copy=True)
        if self.algo == PARALLEL:
            # Both from the clean signal, the LnL draws first.
            y = peak_normalise(
                self.convolutive(x, generator) + self.impulsive(x, generator), always=False
            )
        else:
            y = x
            for noise in SERIES[self.algo]:
                y = (self.convolutive, self.impulsive, self.coloured)[noise - 1](y, generator)
        return np.asarray(y, dtype=np.float32)

    def convolutive(self, x: np.ndarray, generator: np.random.Generator) -> np.ndarray:
        """Noise 1 (LnL): one notch cascade drawn per order of the non-linearity, in order."""
        filters = [
            self.draw_notch_filter(
                generator, self.g_range if order == 0 else self.nonlinear_g_range
            )
            for order in range(self.n_f)
        ]
        return lnl_noise(x, filters)

    def impulsive(self, x: np.ndarray, generator: np.random.Generator) -> np.ndarray:
        """Noise 2 (ISD): draws beta, the positions (the first beta % of a permutation), then the
        two uniform factors of each impulse."""
        beta = uniform(generator, 0.0, self.p)
        count = int(len(x) * (beta / 100))
        positions = generator.permutation(len(x))[:count]
        factors = (2 * generator.random(count) - 1) * (2 * generator.random(count) - 1)
        return isd_noise(x, positions, factors, self.g_sd)

    def coloured(self, x: np.ndarray, generator: np.random.Generator) -> np.ndarray:
        """Noise 3 (SSI): draws the white noise, then its notch cascade, then the SNR."""
        noise = generator.standard_normal(len(x))
        coeffs = self.draw_notch_filter(generator, self.g_range)
        snr_db = uniform(generator, *self.snr_range)
        return ssi_noise(x, noise, coeffs, snr_db)

    def draw_notch_filter(
        self, generator: np.random.Generator, gain_range: tuple[float, float]
    ) -> np.ndarray:
        """A notch cascade: centre, width and tap count of each band in turn, then the gain."""
        bands = []
        for _ in range(self.n_bands):
            centre = uniform(generator, *self.f_range)
            width = uniform(generator, *self.bw_range)
            # The official tap count: a uniform in [min_coeff, max_coeff), truncated.
            taps = int(uniform(generator, *self.coeff_range))
            bands.append(NotchBand(centre, width, taps))
        gain_db = uniform(generator, *gain_range)
        return notch_filter(bands, gain_db, self.sample_rate)


def uniform(generator: np.random.Generator, low: float, high: float) -> float:
    """A uniform draw between `low` and `high` as numpy's `uniform` makes it (either order)."""
    return low + (high - low) * float(generator.random())


def _require(ok: bool, key: str, what: str, value: object) -> None:
    if not ok:
        raise ValueError(f"{key} {what}, not {value!r}")

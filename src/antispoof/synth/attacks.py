"""Spoofing systems of the mini corpus, one per ASVspoof 2019 LA attack id.

Each system speaks a fresh random sentence *as the claimed speaker* (TTS systems plan it with
the speaker's own parameters; VC systems convert a random source speaker of the same gender to
them), so speaker identity carries over, and leaves the artefact its real counterpart is known
for. A16 and A19 reuse the algorithms of A04 and A06, as in the real corpus; the other eval
systems are unseen in training.

The artefacts, and what a spectral countermeasure (LFCC) can see of them:
- statistical parametric systems (A01-A03, A05-A07, A10, A11, A18) over-smooth the spectral
  envelope: formant tracks averaged in time, their movement shrunk towards the mean (reduced
  global variance), formant peaks broadened;
- vocoders drive their pulse train from the smooth F0 contour (no jitter, no shimmer);
- A01 adds a noisy excitation and hiss, A02/A03 a band limit, A05 noise-excited high
  frequencies, A07 a mirrored spectral image, A10 mu-law quantisation noise, A11 Griffin-Lim
  phase incoherence;
- concatenation (A04, A16, A13) joins units from a differently recorded database without
  crossfades (level, tilt and phase steps);
- waveform filtering (A17, and A13) keeps a natural voice source and only colours it: the
  hardest to detect, as in the real corpus.

Every artefact strength is a named constant in the block below: the one place to tune the
corpus's difficulty.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from antispoof.synth.speech import (
    BIN_HZ,
    FILTER_NFFT,
    FRAME_HOP,
    FRAME_LEN,
    SAMPLE_RATE,
    Speaker,
    Track,
    active_rms,
    excitation,
    finish,
    frame_filter,
    frication_noise,
    make_speaker,
    plan_utterance,
    render,
    tract_response,
)

# --------------------------------------------------------------------------- difficulty


@dataclass(frozen=True)
class OverSmoothing:
    """How much a parametric system averages the spectral envelope."""

    ms: float  # formant tracks smoothed in time over this span
    variance: float  # share of the formant movement kept (1 = natural)
    bandwidth: float  # formant bandwidth multiplier (broader, flatter peaks)


# Vocoders drive their pulse train from the smooth F0 contour: no jitter, no shimmer.
VOCODER_JITTER = 0.0
VOCODER_SHIMMER = 0.0
# A01 neural waveform: over-smoothed, a partly noise-like excitation, and hiss.
A01_SMOOTHING = OverSmoothing(80.0, 0.6, 2.0)
A01_NOISE_EXCITATION = 0.5  # share of noise in the voiced excitation
A01_HISS_DB = -25.0  # hiss above HISS_CUTOFF_HZ, re the active speech level
HISS_CUTOFF_HZ = 4000.0
# A02/A03 vocoders: band-limited; A03 also updates its envelope at a coarse frame rate.
A02_SMOOTHING = OverSmoothing(40.0, 0.7, 1.5)
A02_CUTOFF_HZ = 7000.0
A03_SMOOTHING = OverSmoothing(25.0, 0.7, 1.5)
A03_CUTOFF_HZ = 6000.0
A03_ENVELOPE_MS = 25.0
BANDLIMIT_STOP_DB = 40.0  # attenuation above a vocoder's cut-off
# A04/A16 unit selection: units cut without crossfade from renderings of the sentence
# ("sessions" of the unit database, phones recorded in other contexts) that differ in level,
# F0, formants and spectral tilt; the database's recording chain is duller than the bona
# fide one (a high-frequency shelf).
CONCAT_RENDERINGS = 4
A04_LEVEL_STEP_DB = 3.0  # std of the level of a session
A04_F0_STEP = 0.05  # std of the relative F0 offset of a session
A04_FORMANT_STEP = 0.04  # std of the relative offset of each formant in a session
A04_TILT_STEP = 0.15  # std of the tilt coefficient offset of a session
A04_CROSSFADE_MS = 0.0
A04_DATABASE_SHELF = (3500.0, -12.0)  # corner (Hz), gain above it (dB)
# A05/A18 VC vocoders: conversion error, an envelope reduced to a low cepstral order, and
# (A05) noise instead of harmonics at high frequencies.
VC_WARP_ERROR = 0.02  # std of the per-formant conversion error (ratio)
A05_SMOOTHING = OverSmoothing(40.0, 0.7, 1.4)
A05_LIFTER = 30
A05_NOISE_ABOVE_HZ = 4000.0
A18_SMOOTHING = OverSmoothing(40.0, 0.7, 1.0)
A18_LIFTER = 20  # an MFCC-like envelope
# A06/A19 spectral filtering: a per-frame, zero-phase filter of this cepstral order from the
# source envelope to a GMM-converted (over-smoothed) target envelope.
A06_SMOOTHING = OverSmoothing(50.0, 0.6, 1.8)
A06_LIFTER = 30
# A07 vocoder + GAN: milder over-smoothing; the GAN's upsampler leaves a mirrored image.
A07_SMOOTHING = OverSmoothing(40.0, 0.75, 1.4)
A07_IMAGE_DB = -30.0
# A10 neural waveform: milder over-smoothing, halved jitter, 8-bit mu-law output.
A10_SMOOTHING = OverSmoothing(30.0, 0.85, 1.3)
A10_JITTER_SCALE = 0.5
A10_MULAW_BITS = 8
# A11 Griffin-Lim: phase from this many iterations, on a magnitude spectrogram that the
# acoustic model predicted over-smoothed (the envelope, then a moving average over these
# frames and bins, which blurs the harmonics).
A11_SMOOTHING = OverSmoothing(50.0, 0.7, 1.5)
A11_ITERATIONS = 16
A11_SMOOTH_FRAMES = 3
A11_SMOOTH_BINS = 5
# A13 concatenation (of a source speaker's units, another database) + waveform filtering,
# and A17 waveform filtering: one fixed minimum-phase filter of this order maps the source
# speaker's long-term spectrum to the target's.
A13_LEVEL_STEP_DB = 3.0
A13_DATABASE_SHELF = (3500.0, -8.0)
A17_LIFTER = 20


# --------------------------------------------------------------------------- helpers


def lowpass(cutoff_hz: float, transition_hz: float = 500.0) -> np.ndarray:
    """Zero-phase magnitude (N_BINS,): 1 below the cut-off, a raised-cosine edge, a floor."""
    floor = 10 ** (-BANDLIMIT_STOP_DB / 20)
    edge = np.clip((BIN_HZ - cutoff_hz) / transition_hz + 0.5, 0.0, 1.0)
    return floor + (1.0 - floor) * 0.5 * (1.0 + np.cos(np.pi * edge))


def _shelf(corner_hz: float, gain_db: float) -> np.ndarray:
    """Zero-phase magnitude (1, N_BINS): 0 dB below the corner, `gain_db` above, a smooth
    (logistic, about 1 kHz wide) transition."""
    step = 1.0 / (1.0 + np.exp(-(BIN_HZ - corner_hz) / 250.0))
    return (10 ** (gain_db * step / 20))[None, :]


def _highpass_noise(n: int, cutoff_hz: float, rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS white noise above `cutoff_hz`."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    spectrum[np.fft.rfftfreq(n, 1 / SAMPLE_RATE) < cutoff_hz] = 0.0
    noise = np.fft.irfft(spectrum, n)
    return noise / np.sqrt(np.mean(noise**2))


def _cepstral_filter(log_mag: np.ndarray, order: int, min_phase: bool) -> np.ndarray:
    """Smooth a log-magnitude response (…, N_BINS) to `order` cepstral coefficients.

    Zero phase keeps the magnitude only (what a frame-wise spectral modification does);
    minimum phase folds the cepstrum, giving the causal filter a real system would realise.
    """
    cepstrum = np.fft.irfft(log_mag, FILTER_NFFT)
    kept = np.zeros_like(cepstrum)
    kept[..., 0] = cepstrum[..., 0]
    if min_phase:
        kept[..., 1:order] = 2.0 * cepstrum[..., 1:order]
    else:
        kept[..., 1:order] = cepstrum[..., 1:order]
        kept[..., -order + 1 :] = cepstrum[..., -order + 1 :]
    return np.exp(np.fft.rfft(kept, FILTER_NFFT))


def _moving_average(values: np.ndarray, width: int, axis: int = 0) -> np.ndarray:
    """Centred moving average along `axis`, the edges padded with the end values."""
    pad = [(0, 0)] * values.ndim
    pad[axis] = (width // 2, width - 1 - width // 2)
    padded = np.pad(values, pad, mode="edge")
    zero = [(0, 0)] * values.ndim
    zero[axis] = (1, 0)
    cumulative = np.cumsum(np.pad(padded, zero), axis=axis)
    n = values.shape[axis]
    return (
        cumulative.take(np.arange(width, width + n), axis) - cumulative.take(np.arange(n), axis)
    ) / width


def _oversmooth(track: Track, smoothing: OverSmoothing) -> Track:
    """The envelope a statistical parametric model would predict for `track`."""
    width = max(1, int(smoothing.ms * 1e-3 * SAMPLE_RATE / FRAME_HOP))
    smooth = _moving_average(track.formants, width)
    mean = smooth.mean(axis=0)
    return replace(
        track,
        formants=mean + smoothing.variance * (smooth - mean),
        bandwidths=track.bandwidths * smoothing.bandwidth,
    )


def _source_speaker(target: Speaker, rng: np.random.Generator) -> Speaker:
    """A random speaker of the target's gender, as VC systems convert from."""
    return make_speaker(f"{target.speaker_id}-source", target.gender, rng)


def _pitch_matched_source(target: Speaker, rng: np.random.Generator) -> Speaker:
    """A source speaker with the target's pitch: filtering-based VC converts the spectrum
    only, so it is applied to pairs of similar F0."""
    return replace(
        _source_speaker(target, rng),
        f0_mean=target.f0_mean,
        f0_min=target.f0_min,
        f0_max=target.f0_max,
    )


def _convert(
    track: Track, source: Speaker, target: Speaker, rng: np.random.Generator, error: float
) -> Track:
    """Map a source speaker's track to the target: F0 by mean ratio, formants by the ratio
    of the two vocal tracts, each formant with a random conversion error."""
    ratio = np.ones(track.formants.shape[1]) * target.formant_scale / source.formant_scale
    individual = len(target.formant_offsets)
    ratio[:individual] *= np.divide(target.formant_offsets, source.formant_offsets)
    ratio *= 1.0 + error * rng.standard_normal(len(ratio))
    f0 = np.clip(track.f0 * target.f0_mean / source.f0_mean, target.f0_min, target.f0_max)
    bandwidths = track.bandwidths * target.bandwidth_scale / source.bandwidth_scale
    return replace(track, f0=f0, formants=track.formants * ratio, bandwidths=bandwidths)


def _log_ratio(track: Track, source: Speaker, target: Speaker, converted: Track) -> np.ndarray:
    """Per-frame log-magnitude ratio from the source's vocal tract to the converted one."""
    return np.log(np.abs(tract_response(converted, target))) - np.log(
        np.abs(tract_response(track, source))
    )


def _fixed_filter(
    track: Track, source: Speaker, target: Speaker, rng: np.random.Generator
) -> np.ndarray:
    """One minimum-phase filter from the voiced-frame average of the per-frame ratios."""
    converted = _convert(track, source, target, rng, VC_WARP_ERROR)
    centres = np.minimum(np.arange(len(track.formants)) * FRAME_HOP, track.n_samples - 1)
    weights = track.voicing[centres] + 1e-3
    mean = np.average(_log_ratio(track, source, target, converted), axis=0, weights=weights)
    return _cepstral_filter(mean, A17_LIFTER, min_phase=True)[None, :]


def _concatenate(
    track: Track,
    speaker: Speaker,
    rng: np.random.Generator,
    level_step_db: float,
    shelf: tuple[float, float],
) -> np.ndarray:
    """Unit selection: phones cut from renderings ("recording sessions") that differ in
    level, F0, formants and channel, joined at phone boundaries (phase jumps, level,
    formant and tilt steps), through the database's recording chain."""
    renderings = []
    for child in rng.spawn(CONCAT_RENDERINGS):
        tilt = np.clip(speaker.tilt + A04_TILT_STEP * child.standard_normal(), 0.0, 0.9)
        session = replace(speaker, tilt=float(tilt))
        unit_track = replace(
            track,
            f0=track.f0 * (1 + A04_F0_STEP * child.standard_normal()),
            formants=track.formants
            * (1 + A04_FORMANT_STEP * child.standard_normal(track.formants.shape[1])),
        )
        gain = 10 ** (level_step_db * child.standard_normal() / 20)
        renderings.append(gain * render(unit_track, session, child))
    # A unit spans 1-3 phones; consecutive units never come from the same rendering.
    joins = track.boundaries[:: rng.integers(1, 4)]
    choice = np.cumsum(rng.integers(1, CONCAT_RENDERINGS, size=len(joins))) % CONCAT_RENDERINGS
    lengths = np.diff(np.append(joins, track.n_samples))
    weights = np.eye(CONCAT_RENDERINGS)[np.repeat(choice, lengths)]
    fade = int(A04_CROSSFADE_MS * 1e-3 * SAMPLE_RATE)
    if fade > 1:
        weights = _moving_average(weights, fade)
    return frame_filter(np.sum(weights.T * np.stack(renderings), axis=0), _shelf(*shelf))


def stft(x: np.ndarray) -> np.ndarray:
    window = np.hanning(FRAME_LEN + 1)[:-1]
    padded = np.pad(x, (FRAME_LEN // 2, FRAME_LEN // 2 + FRAME_HOP))
    frames = np.lib.stride_tricks.sliding_window_view(padded, FRAME_LEN)[::FRAME_HOP]
    return np.fft.rfft(frames * window, axis=1)


def istft(spectra: np.ndarray, n: int) -> np.ndarray:
    """Least-squares inverse of `stft` (weighted overlap-add)."""
    window = np.hanning(FRAME_LEN + 1)[:-1]
    per_frame = FRAME_LEN // FRAME_HOP
    blocks = (np.fft.irfft(spectra, FRAME_LEN, axis=1) * window).reshape(
        len(spectra), per_frame, FRAME_HOP
    )
    window_blocks = (window**2).reshape(per_frame, FRAME_HOP)
    out = np.zeros((len(spectra) + per_frame - 1, FRAME_HOP))
    norm = np.zeros_like(out)
    for j in range(per_frame):
        out[j : j + len(spectra)] += blocks[:, j]
        norm[j : j + len(spectra)] += window_blocks[j]
    y = out.ravel() / np.maximum(norm.ravel(), 1e-8)
    return y[FRAME_LEN // 2 : FRAME_LEN // 2 + n]


def mulaw(x: np.ndarray, bits: int) -> np.ndarray:
    """Round trip through `bits`-bit mu-law, the output format of WaveNet-style models."""
    mu = 2**bits - 1
    peak = np.abs(x).max()
    encoded = np.sign(x) * np.log1p(mu * np.abs(x / peak)) / np.log1p(mu)
    decoded = np.round((encoded + 1) / 2 * mu) / mu * 2 - 1
    return peak * np.sign(decoded) * np.expm1(np.abs(decoded) * np.log1p(mu)) / mu


# --------------------------------------------------------------------------- systems


def pulse_vocoder(
    track: Track, speaker: Speaker, rng: np.random.Generator, tract: np.ndarray | None = None
) -> np.ndarray:
    return render(track, speaker, rng, jitter=VOCODER_JITTER, shimmer=VOCODER_SHIMMER, tract=tract)


def neural_waveform(speaker: Speaker, rng: np.random.Generator) -> np.ndarray:
    """A01: over-smoothed envelope, a partly noise-like excitation, high-frequency hiss."""
    track = _oversmooth(plan_utterance(speaker, rng), A01_SMOOTHING)
    source = excitation(track, speaker, rng, jitter=speaker.jitter, shimmer=speaker.shimmer)
    voiced = track.voicing > 0.3
    noise = rng.standard_normal(track.n_samples) * track.voicing
    noise *= np.sqrt(np.mean(source[voiced] ** 2) / np.mean(noise[voiced] ** 2))
    source = (1 - A01_NOISE_EXCITATION) * source + A01_NOISE_EXCITATION * noise
    x = frame_filter(source, tract_response(track, speaker)) + frication_noise(track, rng)
    hiss = _highpass_noise(len(x), HISS_CUTOFF_HZ, rng) * 10 ** (A01_HISS_DB / 20)
    return x + hiss * active_rms(x)


def _bandlimited_vocoder(
    speaker: Speaker,
    rng: np.random.Generator,
    smoothing: OverSmoothing,
    cutoff_hz: float,
    envelope_ms: float = 0.0,
) -> np.ndarray:
    track = _oversmooth(plan_utterance(speaker, rng), smoothing)
    if envelope_ms:
        hold = max(1, int(envelope_ms * 1e-3 * SAMPLE_RATE / FRAME_HOP))
        held = np.repeat(track.formants[::hold], hold, axis=0)[: len(track.formants)]
        track = replace(track, formants=held)
    return frame_filter(pulse_vocoder(track, speaker, rng), lowpass(cutoff_hz)[None, :])


def vocoder_a02(speaker: Speaker, rng: np.random.Generator) -> np.ndarray:
    """A02: over-smoothed pulse vocoder without jitter or shimmer, band-limited."""
    return _bandlimited_vocoder(speaker, rng, A02_SMOOTHING, A02_CUTOFF_HZ)


def vocoder_a03(speaker: Speaker, rng: np.random.Generator) -> np.ndarray:
    """A03: as A02 with a lower cut-off and an envelope held over coarse frames."""
    return _bandlimited_vocoder(speaker, rng, A03_SMOOTHING, A03_CUTOFF_HZ, A03_ENVELOPE_MS)


def concatenation(speaker: Speaker, rng: np.random.Generator) -> np.ndarray:
    """A04 / A16: waveform concatenation with discontinuities at the joins."""
    track = plan_utterance(speaker, rng)
    return _concatenate(track, speaker, rng, A04_LEVEL_STEP_DB, A04_DATABASE_SHELF)


def converted_track(speaker: Speaker, rng: np.random.Generator, smoothing: OverSmoothing) -> Track:
    source = _source_speaker(speaker, rng)
    track = _convert(plan_utterance(source, rng), source, speaker, rng, VC_WARP_ERROR)
    return _oversmooth(track, smoothing)


def cepstral_tract(track: Track, speaker: Speaker, order: int) -> np.ndarray:
    log_tract = np.log(np.abs(tract_response(track, speaker)))
    return _cepstral_filter(log_tract, order, min_phase=True)


def vc_vocoder(speaker: Speaker, rng: np.random.Generator) -> np.ndarray:
    """A05: converted, over-smoothed track, envelope reduced to a mel-cepstrum-like order,
    through a mixed-excitation vocoder (noise replaces the harmonics at high frequencies)."""
    track = converted_track(speaker, rng, A05_SMOOTHING)
    tract = cepstral_tract(track, speaker, A05_LIFTER)
    below = lowpass(A05_NOISE_ABOVE_HZ)
    pulses = excitation(track, speaker, rng, jitter=VOCODER_JITTER, shimmer=VOCODER_SHIMMER)
    harmonic = frame_filter(pulses, tract * below)
    noise = frame_filter(rng.standard_normal(track.n_samples) * track.voicing, tract)
    noise_high = frame_filter(noise, (1.0 - below)[None, :])
    pulses_high = frame_filter(pulses, tract * (1.0 - below))
    gain = np.sqrt(np.mean(pulses_high**2) / max(np.mean(noise_high**2), 1e-20))
    return harmonic + gain * noise_high + frication_noise(track, rng)


def spectral_filtering(speaker: Speaker, rng: np.random.Generator) -> np.ndarray:
    """A06 / A19: a source speaker's natural speech through a per-frame zero-phase filter
    towards a GMM-converted target envelope, which is over-smoothed."""
    source = _pitch_matched_source(speaker, rng)
    track = plan_utterance(source, rng)
    converted = _convert(track, source, speaker, rng, VC_WARP_ERROR)
    log_ratio = _log_ratio(track, source, speaker, _oversmooth(converted, A06_SMOOTHING))
    return frame_filter(
        render(track, source, rng), _cepstral_filter(log_ratio, A06_LIFTER, min_phase=False)
    )


def vocoder_gan(speaker: Speaker, rng: np.random.Generator) -> np.ndarray:
    """A07: full-band vocoder whose GAN upsampler leaves a mirrored spectral image."""
    x = pulse_vocoder(_oversmooth(plan_utterance(speaker, rng), A07_SMOOTHING), speaker, rng)
    mirrored = x * np.where(np.arange(len(x)) % 2, -1.0, 1.0)  # f -> fs/2 - f
    return x + 10 ** (A07_IMAGE_DB / 20) * mirrored


def neural_mulaw(speaker: Speaker, rng: np.random.Generator) -> np.ndarray:
    """A10: a WaveRNN-like model: milder over-smoothing, less jitter, 8-bit mu-law output."""
    track = _oversmooth(plan_utterance(speaker, rng), A10_SMOOTHING)
    x = render(track, speaker, rng, jitter=A10_JITTER_SCALE * speaker.jitter)
    return mulaw(x, A10_MULAW_BITS)


def griffin_lim(speaker: Speaker, rng: np.random.Generator) -> np.ndarray:
    """A11: an over-smoothed magnitude spectrogram of a natural rendering, phase by
    Griffin-Lim (phase incoherence between frames and harmonics)."""
    x = render(_oversmooth(plan_utterance(speaker, rng), A11_SMOOTHING), speaker, rng)
    magnitude = _moving_average(np.abs(stft(x)), A11_SMOOTH_FRAMES, axis=0)
    magnitude = _moving_average(magnitude, A11_SMOOTH_BINS, axis=1)
    spectra = magnitude * np.exp(2j * np.pi * rng.random(magnitude.shape))
    for _ in range(A11_ITERATIONS):
        y = istft(spectra, len(x))
        spectra = magnitude * np.exp(1j * np.angle(stft(y)))
    return istft(spectra, len(x))


def concatenation_filtering(speaker: Speaker, rng: np.random.Generator) -> np.ndarray:
    """A13: units of a source speaker concatenated, then filtered towards the target."""
    source = _pitch_matched_source(speaker, rng)
    track = plan_utterance(source, rng)
    x = _concatenate(track, source, rng, A13_LEVEL_STEP_DB, A13_DATABASE_SHELF)
    return frame_filter(x, _fixed_filter(track, source, speaker, rng))


def waveform_filtering(speaker: Speaker, rng: np.random.Generator) -> np.ndarray:
    """A17: a source speaker's natural speech through one fixed minimum-phase filter; the
    voice source is untouched, which makes this the hardest attack, as in the real corpus."""
    source = _pitch_matched_source(speaker, rng)
    track = plan_utterance(source, rng)
    return frame_filter(render(track, source, rng), _fixed_filter(track, source, speaker, rng))


def vc_mfcc_vocoder(speaker: Speaker, rng: np.random.Generator) -> np.ndarray:
    """A18: converted, over-smoothed track, envelope reduced to an MFCC-like low-order
    cepstrum, pulse vocoder."""
    track = converted_track(speaker, rng, A18_SMOOTHING)
    return pulse_vocoder(track, speaker, rng, cepstral_tract(track, speaker, A18_LIFTER))


@dataclass(frozen=True)
class Attack:
    attack_id: str
    real_type: str  # the type of the real system it imitates (README.LA.txt)
    synthesize: Callable[[Speaker, np.random.Generator], np.ndarray]


ATTACKS: dict[str, Attack] = {
    a.attack_id: a
    for a in (
        Attack("A01", "TTS neural waveform", neural_waveform),
        Attack("A02", "TTS vocoder", vocoder_a02),
        Attack("A03", "TTS vocoder", vocoder_a03),
        Attack("A04", "TTS waveform concatenation", concatenation),
        Attack("A05", "VC vocoder", vc_vocoder),
        Attack("A06", "VC spectral filtering", spectral_filtering),
        Attack("A07", "TTS vocoder+GAN", vocoder_gan),
        Attack("A10", "TTS neural waveform", neural_mulaw),
        Attack("A11", "TTS griffin lim", griffin_lim),
        Attack("A13", "TTS_VC waveform concatenation+waveform filtering", concatenation_filtering),
        Attack("A16", "TTS waveform concatenation", concatenation),
        Attack("A17", "VC waveform filtering", waveform_filtering),
        Attack("A18", "VC vocoder", vc_mfcc_vocoder),
        Attack("A19", "VC spectral filtering", spectral_filtering),
    )
}
TRAIN_ATTACKS = ("A01", "A02", "A03", "A04", "A05", "A06")
EVAL_ATTACKS = ("A07", "A10", "A11", "A13", "A16", "A17", "A18", "A19")


def synthesize_spoof(attack_id: str, speaker: Speaker, rng: np.random.Generator) -> np.ndarray:
    """One spoofed utterance claiming to be `speaker`, through the shared recording channel."""
    return finish(ATTACKS[attack_id].synthesize(speaker, rng), rng)

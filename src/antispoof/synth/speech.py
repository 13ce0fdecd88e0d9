"""Bona fide speech-like audio: a Klatt-style source-filter synthesiser at 16 kHz.

An utterance is first *planned* as a phone sequence, which gives the acoustic parameters a TTS
front end would predict (smooth F0, voicing and noise amplitudes, formant tracks), and then
*rendered*: a Rosenberg glottal pulse train with jitter, shimmer and aspiration goes through a
cascade of formant resonators, and fricative and burst noise through their own band filters.
The spoofing systems in `attacks.py` reuse the plan and the pieces of the renderer, replacing
the part whose imperfection each real system type is known for.

Time-varying filtering is done frame by frame in the frequency domain (windowed overlap-add with
zero padding, so it is a linear convolution per frame): a few FFTs instead of a per-sample loop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SAMPLE_RATE = 16_000

# Frame engine: 32 ms periodic Hann frames every 8 ms, filtered with 1024-point FFTs, so a
# response may ring for 32 ms (about 4 time constants of a 40 Hz-wide formant) without
# wrapping around.
FRAME_LEN = 512
FRAME_HOP = 128
FILTER_NFFT = 1024
N_BINS = FILTER_NFFT // 2 + 1
BIN_HZ = np.arange(N_BINS) * SAMPLE_RATE / FILTER_NFFT

UTTERANCE_SECONDS = (1.0, 4.0)
# Noise source levels relative to the glottal source (whose flow derivative peaks near 1):
# they put fricatives some 15-20 dB below vowels, and give breathy voices audible aspiration.
ASPIRATION_GAIN = 3.0
FRICATION_GAIN = 3.0

# Male reference formant targets F1-F3 (Hz), after Peterson & Barney (1952); a speaker's
# vocal-tract length scales them.
VOWELS = np.array(
    [
        [270, 2290, 3010],  # i
        [390, 1990, 2550],  # I
        [530, 1840, 2480],  # E
        [660, 1720, 2410],  # ae
        [730, 1090, 2440],  # a
        [570, 840, 2410],  # O
        [440, 1020, 2240],  # U
        [300, 870, 2240],  # u
        [640, 1190, 2390],  # V
        [490, 1350, 1690],  # 3r
    ],
    dtype=float,
)
# F4-F7 of the male reference tract: a cascade cut off after F5 would lack the
# high-frequency energy of the higher resonances (Klatt's higher-pole correction).
UPPER_FORMANTS = (3500.0, 4500.0, 5500.0, 6500.0)
BASE_BANDWIDTHS = np.array([60.0, 90.0, 150.0, 200.0, 250.0, 300.0, 350.0])


@dataclass(frozen=True)
class Phone:
    """One steady segment: source amplitudes, a noise band, formant targets, duration."""

    voicing: float
    aspiration: float
    frication: float
    fric_hz: float
    fric_bw: float
    formants: tuple[float, float, float] | None  # None: coarticulated from the neighbours
    dur_ms: tuple[float, float]


def _fricative(level: float, hz: float, bw: float, voicing: float = 0.0) -> Phone:
    return Phone(voicing, 0.0, level, hz, bw, None, (55.0, 120.0))


def _plosive(burst: float, hz: float, bw: float, voiced: bool) -> list[Phone]:
    # Closure (a faint voice bar for voiced stops), release burst, then aspiration for
    # voiceless stops: the three phases of a real stop consonant.
    closure = Phone(0.12 if voiced else 0.0, 0.0, 0.0, hz, bw, None, (40.0, 75.0))
    release = Phone(0.0, 0.0, burst, hz, bw, None, (5.0, 12.0))
    if voiced:
        return [closure, release]
    return [closure, release, Phone(0.0, 0.35, 0.0, hz, bw, None, (25.0, 50.0))]


def _sonorant(level: float, formants: tuple[float, float, float]) -> Phone:
    return Phone(level, 0.0, 0.0, 4000.0, 4000.0, formants, (40.0, 85.0))


CONSONANTS: dict[str, list[Phone]] = {
    "s": [_fricative(0.35, 5600.0, 2200.0)],
    "sh": [_fricative(0.35, 3000.0, 1400.0)],
    "f": [_fricative(0.10, 6000.0, 6000.0)],
    "h": [Phone(0.0, 0.45, 0.0, 4000.0, 4000.0, None, (40.0, 80.0))],
    "z": [_fricative(0.18, 5600.0, 2200.0, voicing=0.45)],
    "v": [_fricative(0.06, 6000.0, 6000.0, voicing=0.5)],
    "p": _plosive(0.35, 1200.0, 3000.0, voiced=False),
    "t": _plosive(0.55, 4200.0, 3000.0, voiced=False),
    "k": _plosive(0.45, 2200.0, 1200.0, voiced=False),
    "b": _plosive(0.20, 1200.0, 3000.0, voiced=True),
    "d": _plosive(0.30, 4200.0, 3000.0, voiced=True),
    "g": _plosive(0.25, 2200.0, 1200.0, voiced=True),
    "m": [_sonorant(0.4, (250.0, 1100.0, 2300.0))],
    "n": [_sonorant(0.4, (250.0, 1600.0, 2500.0))],
    "l": [_sonorant(0.65, (360.0, 1300.0, 2700.0))],
    "r": [_sonorant(0.65, (420.0, 1300.0, 1600.0))],
    "w": [_sonorant(0.65, (300.0, 700.0, 2200.0))],
    "j": [_sonorant(0.65, (280.0, 2200.0, 3000.0))],
}
CONSONANT_NAMES = tuple(CONSONANTS)
VOWEL = Phone(1.0, 0.0, 0.0, 4000.0, 4000.0, None, (70.0, 150.0))  # formants from VOWELS
# Pauses and breaths take their durations from the pause they sit in.
SILENCE = Phone(0.0, 0.0, 0.0, 4000.0, 4000.0, None, (0.0, 0.0))
BREATH = Phone(0.0, 0.12, 0.0, 4000.0, 4000.0, (500.0, 1500.0, 2500.0), (0.0, 0.0))


@dataclass(frozen=True)
class Speaker:
    """A speaker's identity: what stays the same across their utterances."""

    speaker_id: str
    gender: str  # "female" | "male"
    f0_mean: float  # Hz
    f0_min: float  # the F0 contour is kept within [f0_min, f0_max]
    f0_max: float
    formant_scale: float  # vocal-tract length: multiplies the male reference formants
    formant_offsets: tuple[float, ...]  # idiosyncratic ratios of F1-F5
    bandwidth_scale: float
    open_quotient: float  # open share of a glottal cycle: larger is breathier, steeper tilt
    breathiness: float  # aspiration noise level in voiced speech
    tilt: float  # one-pole low-pass coefficient: extra spectral tilt
    jitter: float  # std of the relative cycle-to-cycle period perturbation
    shimmer: float  # std of the relative cycle-to-cycle amplitude perturbation
    rate: float  # speaking rate: divides every duration


def make_speaker(speaker_id: str, gender: str, rng: np.random.Generator) -> Speaker:
    """Draw a speaker of the given gender with adult voice parameters."""
    female = gender == "female"
    f0_mean = rng.uniform(175.0, 235.0) if female else rng.uniform(95.0, 140.0)
    return Speaker(
        speaker_id=speaker_id,
        gender=gender,
        f0_mean=f0_mean,
        f0_min=0.72 * f0_mean,
        f0_max=1.45 * f0_mean,
        formant_scale=rng.uniform(1.12, 1.24) if female else rng.uniform(0.93, 1.04),
        formant_offsets=tuple(rng.uniform(0.93, 1.07, size=5)),
        bandwidth_scale=rng.uniform(0.9, 1.15),
        open_quotient=rng.uniform(0.5, 0.65),
        breathiness=rng.uniform(0.01, 0.035),
        tilt=rng.uniform(0.0, 0.2),
        jitter=rng.uniform(0.005, 0.012),
        shimmer=rng.uniform(0.03, 0.07),
        rate=rng.uniform(0.85, 1.2),
    )


@dataclass
class Track:
    """The planned acoustic parameters of one utterance (what a TTS front end predicts)."""

    f0: np.ndarray  # (n,) smooth F0 contour in Hz, no jitter
    voicing: np.ndarray  # (n,) glottal source amplitude
    aspiration: np.ndarray  # (n,) aspiration noise amplitude (through the vocal tract)
    frication: np.ndarray  # (n,) frication noise amplitude (through its own band filter)
    formants: np.ndarray  # (frames, 7) formant frequencies in Hz
    bandwidths: np.ndarray  # (frames, 7) formant bandwidths in Hz
    fric_hz: np.ndarray  # (frames,) centre of the frication band
    fric_bw: np.ndarray  # (frames,) its bandwidth
    boundaries: np.ndarray  # sample index where each phone starts (unit joins for A04)

    @property
    def n_samples(self) -> int:
        return len(self.f0)


def n_frames(n_samples: int) -> int:
    """Frames centred at 0, FRAME_HOP, ... covering every sample."""
    return n_samples // FRAME_HOP + 1


# --------------------------------------------------------------------------- planning


@dataclass
class _Segment:
    phone: Phone
    n: int  # samples
    formants: np.ndarray | None  # (3,) speaker-scaled F1-F3 target
    phrase: int  # -1 in pauses
    stressed: bool = False


def _phone_segment(
    phone: Phone, speaker: Speaker, tempo: float, phrase: int, rng: np.random.Generator
) -> _Segment:
    lo, hi = phone.dur_ms
    n = int(rng.uniform(lo, hi) * 1e-3 * SAMPLE_RATE / tempo)
    return _Segment(phone, n, _scaled(phone.formants, speaker), phrase)


def _scaled(
    formants: tuple[float, float, float] | np.ndarray | None, speaker: Speaker
) -> np.ndarray | None:
    if formants is None:
        return None
    return np.asarray(formants) * speaker.formant_scale


def _syllable(
    speaker: Speaker, tempo: float, phrase: int, rng: np.random.Generator
) -> list[_Segment]:
    segments: list[_Segment] = []
    if rng.random() < 0.8:
        onset = CONSONANTS[CONSONANT_NAMES[rng.integers(len(CONSONANT_NAMES))]]
        segments += [_phone_segment(p, speaker, tempo, phrase, rng) for p in onset]
    stressed = bool(rng.random() < 0.4)
    vowel = VOWELS[rng.integers(len(VOWELS))]
    n_vowel = rng.uniform(*VOWEL.dur_ms) * (1.35 if stressed else 1.0)
    segments.append(
        _Segment(
            VOWEL,
            int(n_vowel * 1e-3 * SAMPLE_RATE / tempo),
            _scaled(vowel, speaker),
            phrase,
            stressed,
        )
    )
    if rng.random() < 0.4:
        coda = CONSONANTS[CONSONANT_NAMES[rng.integers(len(CONSONANT_NAMES))]]
        segments += [_phone_segment(p, speaker, tempo, phrase, rng) for p in coda]
    return segments


def _pause(seconds: float, breath: bool, rng: np.random.Generator) -> list[_Segment]:
    n = int(seconds * SAMPLE_RATE)
    if not breath:
        return [_Segment(SILENCE, n, None, -1)]
    # An in-breath in the middle of the pause: aspiration through an open, neutral tract.
    n_breath = int(min(rng.uniform(0.12, 0.22), 0.6 * seconds) * SAMPLE_RATE)
    gap = (n - n_breath) // 2
    return [
        _Segment(SILENCE, gap, None, -1),
        _Segment(BREATH, n_breath, np.asarray(BREATH.formants), -1),
        _Segment(SILENCE, n - n_breath - gap, None, -1),
    ]


def _segments(speaker: Speaker, rng: np.random.Generator) -> list[_Segment]:
    """Phrases of syllables separated by pauses, until the drawn duration is reached."""
    target = rng.uniform(*UTTERANCE_SECONDS) * SAMPLE_RATE
    tempo = speaker.rate * rng.uniform(0.92, 1.08)
    trailing = int(rng.uniform(0.08, 0.3) * SAMPLE_RATE)
    segments = _pause(rng.uniform(0.08, 0.25), False, rng)
    total = segments[0].n
    phrase = 0
    while True:
        n_syllables = rng.integers(3, 10)
        for _ in range(n_syllables):
            syllable = _syllable(speaker, tempo, phrase, rng)
            segments += syllable
            total += sum(s.n for s in syllable)
            if total + trailing >= target:
                return [*segments, _Segment(SILENCE, trailing, None, -1)]
        pause = _pause(rng.uniform(0.15, 0.4), bool(rng.random() < 0.5), rng)
        segments += pause
        total += sum(s.n for s in pause)
        phrase += 1


def _smooth(x: np.ndarray, ms: float) -> np.ndarray:
    """Two passes of a centred moving average (a triangular kernel): onset/offset ramps."""
    width = max(1, int(ms * 1e-3 * SAMPLE_RATE))
    for _ in range(2):
        cumulative = np.cumsum(np.pad(x, (width // 2 + 1, width - 1 - width // 2)))
        x = (cumulative[width:] - cumulative[:-width]) / width
    return x


def _f0_contour(
    segments: list[_Segment], starts: np.ndarray, speaker: Speaker, rng: np.random.Generator
) -> np.ndarray:
    """Declination per phrase, pitch accents on stressed vowels, slow micro-variation."""
    n = int(starts[-1] + segments[-1].n)
    t = np.arange(n)
    ratio = np.ones(n)
    phrases = np.array([s.phrase for s in segments])
    for phrase in range(phrases.max() + 1):
        idx = np.flatnonzero(phrases == phrase)
        lo, hi = starts[idx[0]], starts[idx[-1]] + segments[idx[-1]].n
        top, bottom = 1.0 + rng.uniform(0.03, 0.12), 1.0 - rng.uniform(0.05, 0.15)
        ratio[lo:hi] = np.linspace(top, bottom, hi - lo)
    for seg, start in zip(segments, starts, strict=True):
        if seg.stressed and rng.random() < 0.7:
            centre = start + seg.n / 2
            width = rng.uniform(0.05, 0.1) * SAMPLE_RATE
            ratio += rng.uniform(0.08, 0.25) * np.exp(-0.5 * ((t - centre) / width) ** 2)
    knots = np.arange(0, n + 960, 960)  # a random value every 60 ms, interpolated
    ratio *= 1.0 + np.interp(t, knots, rng.normal(0.0, 0.015, size=len(knots)))
    return np.clip(speaker.f0_mean * ratio, speaker.f0_min, speaker.f0_max)


def plan_utterance(speaker: Speaker, rng: np.random.Generator) -> Track:
    """A fresh random sentence of `speaker`: phones, durations, prosody and formant tracks."""
    segments = _segments(speaker, rng)
    lengths = np.array([s.n for s in segments])
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    n = int(lengths.sum())

    def per_sample(attr: str) -> np.ndarray:
        return np.repeat([getattr(s.phone, attr) for s in segments], lengths).astype(float)

    voicing = _smooth(per_sample("voicing"), 12.0)
    aspiration = _smooth(per_sample("aspiration") + speaker.breathiness * (voicing > 0.3), 8.0)
    frication = _smooth(per_sample("frication"), 3.0)

    centres = np.arange(n_frames(n)) * FRAME_HOP
    anchored = [(st + s.n / 2, s.formants) for s, st in zip(segments, starts, strict=True)]
    anchored = [(t, f) for t, f in anchored if f is not None]
    anchor_t = np.array([t for t, _ in anchored])
    anchor_f = np.array([f for _, f in anchored])
    lower = np.stack([np.interp(centres, anchor_t, anchor_f[:, k]) for k in range(3)], axis=1)
    upper = np.broadcast_to(
        np.array(UPPER_FORMANTS) * speaker.formant_scale, (len(centres), len(UPPER_FORMANTS))
    )
    formants = np.concatenate([lower, upper], axis=1)
    formants[:, : len(speaker.formant_offsets)] *= speaker.formant_offsets
    bandwidths = np.broadcast_to(BASE_BANDWIDTHS * speaker.bandwidth_scale, formants.shape).copy()

    frame_seg = np.searchsorted(starts, np.minimum(centres, n - 1), side="right") - 1
    return Track(
        f0=_f0_contour(segments, starts, speaker, rng),
        voicing=voicing,
        aspiration=aspiration,
        frication=frication,
        formants=formants,
        bandwidths=bandwidths,
        fric_hz=np.array([segments[i].phone.fric_hz for i in frame_seg]),
        fric_bw=np.array([segments[i].phone.fric_bw for i in frame_seg]),
        boundaries=starts,
    )


# --------------------------------------------------------------------------- source


def glottal_cycles(f0: np.ndarray, jitter: float, rng: np.random.Generator) -> np.ndarray:
    """Start times (fractional samples) of the glottal cycles; the last one ends past the end.

    The smooth contour gives the nominal periods; each period is then perturbed independently
    (jitter), so the cycle-to-cycle variation does not accumulate into an F0 drift.
    """
    phase = np.cumsum(f0) / SAMPLE_RATE
    nominal = np.interp(np.arange(1, int(phase[-1]) + 1), phase, np.arange(len(f0)))
    periods = np.diff(nominal)
    periods = np.concatenate([periods, np.full(4, periods[-1] if len(periods) else 100.0)])
    periods = periods * (1.0 + jitter * rng.standard_normal(len(periods)))
    return nominal[0] + np.concatenate([[0.0], np.cumsum(periods)])


def rosenberg_flow(tau: np.ndarray, open_quotient: float) -> np.ndarray:
    """Rosenberg (1971) glottal flow over one cycle, `tau` in [0, 1): rise, fall, closed."""
    rise, fall = 0.7 * open_quotient, 0.3 * open_quotient
    flow = np.where(tau < rise, 0.5 * (1.0 - np.cos(np.pi * tau / rise)), 0.0)
    closing = (tau >= rise) & (tau < rise + fall)
    return np.where(closing, np.cos(0.5 * np.pi * (tau - rise) / fall), flow)


def glottal_source(
    cycles: np.ndarray,
    n: int,
    open_quotient: float,
    shimmer: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Flow derivative (the lip radiation differentiates the flow) and the open-phase mask."""
    t = np.arange(n, dtype=float)
    cycle = np.clip(np.searchsorted(cycles, t, side="right") - 1, 0, len(cycles) - 2)
    period = cycles[cycle + 1] - cycles[cycle]
    tau = np.clip((t - cycles[cycle]) / period, 0.0, 1.0 - 1e-9)
    amplitude = np.maximum(1.0 + shimmer * rng.standard_normal(len(cycles)), 0.3)
    flow = rosenberg_flow(tau, open_quotient) * amplitude[cycle]
    flow[t < cycles[0]] = 0.0
    # The derivative scales with 1/period; multiply back so the excitation level does not
    # depend on F0 (the overall level is normalised later anyway).
    derivative = np.diff(flow, prepend=0.0) * period
    return derivative, tau < open_quotient


def excitation(
    track: Track,
    speaker: Speaker,
    rng: np.random.Generator,
    *,
    jitter: float,
    shimmer: float,
) -> np.ndarray:
    """Voiced source plus aspiration, the input of the vocal-tract filter."""
    cycles = glottal_cycles(track.f0, jitter, rng)
    voiced, open_phase = glottal_source(
        cycles, track.n_samples, speaker.open_quotient, shimmer, rng
    )
    # Aspiration is turbulence at the glottis: in voiced speech it is strongest while the
    # glottis is open.
    gate = np.where(track.voicing > 0.05, 0.3 + 0.7 * open_phase, 1.0)
    noise = rng.standard_normal(track.n_samples) * gate
    return voiced * track.voicing + ASPIRATION_GAIN * noise * track.aspiration


# --------------------------------------------------------------------------- filters


def resonator_response(
    freqs: np.ndarray, bandwidths: np.ndarray, normalise_dc: bool = True
) -> np.ndarray:
    """Complex response (frames, N_BINS) of a cascade of two-pole resonators.

    With `normalise_dc` each resonator has unit gain at 0 Hz, as in Klatt's cascade branch,
    so the formant amplitudes follow from the frequencies alone.
    """
    r = np.exp(-np.pi * bandwidths / SAMPLE_RATE)
    c = 2.0 * r * np.cos(2.0 * np.pi * freqs / SAMPLE_RATE)
    # Multiply out the denominator polynomial, then evaluate it at every bin with one FFT.
    poly = np.zeros((len(freqs), 2 * freqs.shape[1] + 1))
    poly[:, 0] = 1.0
    for k in range(freqs.shape[1]):
        previous = poly.copy()
        poly[:, 1:] -= c[:, k, None] * previous[:, :-1]
        poly[:, 2:] += (r[:, k, None] ** 2) * previous[:, :-2]
    denominator = np.fft.rfft(poly, FILTER_NFFT)
    if not normalise_dc:
        return 1.0 / denominator
    return np.prod(1.0 - c + r**2, axis=1)[:, None] / denominator


def tract_response(track: Track, speaker: Speaker) -> np.ndarray:
    """Vocal tract (formant cascade) times the speaker's extra spectral tilt."""
    z1 = np.exp(-2j * np.pi * BIN_HZ / SAMPLE_RATE)
    tilt = (1.0 - speaker.tilt) / (1.0 - speaker.tilt * z1)
    return resonator_response(track.formants, track.bandwidths) * tilt


def frication_response(track: Track) -> np.ndarray:
    """A band of noise at the constriction: one wide resonance, peak gain 1, high-passed."""
    z1 = np.exp(-2j * np.pi * BIN_HZ / SAMPLE_RATE)
    # The band changes only from phone to phone: compute each distinct one once.
    bands, frame_band = np.unique(
        np.stack([track.fric_hz, track.fric_bw], axis=1), axis=0, return_inverse=True
    )
    band = resonator_response(bands[:, :1], bands[:, 1:], False) * (1.0 - 0.9 * z1)
    return (band / np.abs(band).max(axis=1, keepdims=True))[frame_band.ravel()]


def frame_filter(x: np.ndarray, response: np.ndarray) -> np.ndarray:
    """Filter `x` with a per-frame response (frames or 1, N_BINS) by windowed overlap-add."""
    n = len(x)
    frames = n_frames(n)
    padded = np.zeros((frames - 1) * FRAME_HOP + FRAME_LEN)
    padded[FRAME_LEN // 2 : FRAME_LEN // 2 + n] = x
    window = np.hanning(FRAME_LEN + 1)[:-1]  # periodic Hann: its hop/4 copies sum to 2
    segments = np.lib.stride_tricks.sliding_window_view(padded, FRAME_LEN)[::FRAME_HOP]
    # Silent frames (pauses, and everything but the fricatives for frication noise) stay
    # silent: only the others are transformed.
    active = np.flatnonzero(np.any(segments != 0.0, axis=1))
    if len(response) > 1:
        response = response[active]
    spectra = np.fft.rfft(segments[active] * window, FILTER_NFFT) * response
    blocks = np.zeros((frames, FILTER_NFFT))
    blocks[active] = np.fft.irfft(spectra, FILTER_NFFT)
    blocks = blocks.reshape(frames, -1, FRAME_HOP)
    out = np.zeros((frames + blocks.shape[1] - 1, FRAME_HOP))
    for j in range(blocks.shape[1]):
        out[j : j + frames] += blocks[:, j]
    return out.ravel()[FRAME_LEN // 2 : FRAME_LEN // 2 + n] / (FRAME_LEN / (2 * FRAME_HOP))


def frication_noise(track: Track, rng: np.random.Generator) -> np.ndarray:
    noise = rng.standard_normal(track.n_samples) * track.frication
    return FRICATION_GAIN * frame_filter(noise, frication_response(track))


def render(
    track: Track,
    speaker: Speaker,
    rng: np.random.Generator,
    *,
    jitter: float | None = None,
    shimmer: float | None = None,
    tract: np.ndarray | None = None,
) -> np.ndarray:
    """Waveform of a planned utterance; the keywords let a spoofing system swap one part."""
    source = excitation(
        track,
        speaker,
        rng,
        jitter=speaker.jitter if jitter is None else jitter,
        shimmer=speaker.shimmer if shimmer is None else shimmer,
    )
    response = tract_response(track, speaker) if tract is None else tract
    return frame_filter(source, response) + frication_noise(track, rng)


# --------------------------------------------------------------------------- channel


def active_rms(x: np.ndarray) -> float:
    """RMS over the 20 ms frames within 35 dB of the loudest (a simple active speech level)."""
    usable = len(x) // 320 * 320
    power = np.mean(x[:usable].reshape(-1, 320) ** 2, axis=1)
    active = power[power >= power.max() * 10 ** (-35 / 10)]
    return float(np.sqrt(active.mean()))


def pink_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS 1/f noise (the spectrum of a quiet room's background), shaped by one FFT."""
    n_fft = 1 << (n - 1).bit_length()  # a power of two: a fast FFT whatever `n` is
    spectrum = np.fft.rfft(rng.standard_normal(n_fft))
    spectrum[1:] /= np.sqrt(np.arange(1, len(spectrum)))
    noise = np.fft.irfft(spectrum, n_fft)[:n]
    return noise / np.sqrt(np.mean(noise**2))


def finish(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The recording channel every file shares, bona fide or spoof, so that neither the noise
    floor nor the level gives the class away: faint room noise, a random speech level between
    -32 and -22 dBFS, and headroom so the 16-bit file never clips."""
    level = active_rms(x)
    x = x + pink_noise(len(x), rng) * level * 10 ** (-rng.uniform(45.0, 60.0) / 20)
    x = x * 10 ** (rng.uniform(-32.0, -22.0) / 20) / level
    peak = np.abs(x).max()
    return x * (0.95 / peak) if peak > 0.95 else x


def synthesize_bonafide(speaker: Speaker, rng: np.random.Generator) -> np.ndarray:
    """One bona fide utterance of `speaker` (float64 in [-1, 1], SAMPLE_RATE)."""
    track = plan_utterance(speaker, rng)
    return finish(render(track, speaker, rng), rng)

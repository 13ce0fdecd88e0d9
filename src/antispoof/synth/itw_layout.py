"""A mini replica of In-the-Wild (Müller et al. 2022, docs/research/corpora.md §4) for egs/mini.

    release_in_the_wild/0.wav ... N.wav    32-bit float WAV, 16 kHz mono, 1-6 s
    release_in_the_wild/meta.csv           header `file,speaker,label`; `bona-fide` | `spoof`

As in the real release: speakers are named people (invented names here, one of them with a
comma, so quoted in the CSV), about 60 % of the clips are bona fide, clip lengths vary, and the
folder holds one WAV that meta.csv does not list. Every clip, bona fide or spoof, goes through
a "found audio" channel: a synthetic room (noise with an exponentially decaying envelope as the
impulse response, RT60 0.15-0.6 s) and additive pink or white noise at 5-30 dB SNR. The spoofs
come from attack variants seen nowhere else in the mini corpus, composed from the building blocks
of antispoof.synth.attacks.

Random streams come from numpy SeedSequence namespaces of their own (see df2021_layout), keyed by
the clip index, so the output does not depend on the number of workers.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from antispoof.synth import attacks
from antispoof.synth.speech import (
    SAMPLE_RATE,
    Speaker,
    active_rms,
    frame_filter,
    make_speaker,
    pink_noise,
    plan_utterance,
)
from antispoof.synth.speech import render as render_speech

ITW_DIR = "itw"  # under the mini corpus root
AUDIO_DIR = "release_in_the_wild"
META = "meta.csv"
HEADER = ("file", "speaker", "label")

_PLAN_STREAM, _SPEAKER_STREAM, _UTTERANCE_STREAM = 20, 21, 22

CLIPS = 120  # at --scale 1
BONAFIDE_SHARE = 0.6
SECONDS = (1.0, 6.0)
SPEAKERS = (
    ("Alistair Pembroke", "male"),
    ("Marguerite Okonkwo", "female"),
    ("Desmond Hartley-Vance", "male"),
    ("Ingrid Castellano", "female"),
    ("Walter J. Penrose", "male"),
    ("Rosalind Achterberg", "female"),
    ("Harold Finch, Jr.", "male"),  # a comma: quoted in meta.csv
    ("Beatrix O'Donnell", "female"),
)


def _gan_mulaw(speaker: Speaker, rng: np.random.Generator) -> np.ndarray:
    """A GAN-upsampled vocoder (mirrored image) whose output is also 8-bit mu-law coded."""
    return attacks.mulaw(attacks.vocoder_gan(speaker, rng), 8)


def _bandlimited_concatenation(speaker: Speaker, rng: np.random.Generator) -> np.ndarray:
    """Concatenation plus target filtering, band-limited at 5.5 kHz (a low-rate unit database)."""
    x = attacks.concatenation_filtering(speaker, rng)
    return frame_filter(x, attacks.lowpass(5500.0)[None, :])


def _griffin_lim_vc(speaker: Speaker, rng: np.random.Generator) -> np.ndarray:
    """Voice conversion with the source's natural excitation, phase by Griffin-Lim."""
    track = attacks.converted_track(speaker, rng, attacks.A11_SMOOTHING)
    x = render_speech(track, speaker, rng)
    magnitude = np.abs(attacks.stft(x))
    spectra = magnitude * np.exp(2j * np.pi * rng.random(magnitude.shape))
    for _ in range(attacks.A11_ITERATIONS):
        spectra = magnitude * np.exp(1j * np.angle(attacks.stft(attacks.istft(spectra, len(x)))))
    return attacks.istft(spectra, len(x))


SPOOF_SYSTEMS: dict[str, Callable[[Speaker, np.random.Generator], np.ndarray]] = {
    "gan_mulaw": _gan_mulaw,
    "bandlimited_concatenation": _bandlimited_concatenation,
    "griffin_lim_vc": _griffin_lim_vc,
}


@dataclass(frozen=True)
class Clip:
    index: int  # the clip number (`<index>.wav`) and the key of its random stream
    speaker: Speaker  # speaker_id holds the name
    system: str | None  # a SPOOF_SYSTEMS name, None for bona fide
    seconds: float
    listed: bool  # in meta.csv

    @property
    def file(self) -> str:
        return f"{self.index}.wav"

    @property
    def label(self) -> str:
        return "bona-fide" if self.system is None else "spoof"


def _rng(seed: int, *key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


def plan(seed: int, scale: float) -> list[Clip]:
    """Every clip in file-number order; the last one is not listed in meta.csv."""
    rng = _rng(seed, _PLAN_STREAM)
    speakers = [
        make_speaker(name, gender, _rng(seed, _SPEAKER_STREAM, i))
        for i, (name, gender) in enumerate(SPEAKERS)
    ]
    n = max(4, round(CLIPS * scale))
    n_bonafide = round(n * BONAFIDE_SHARE)
    systems = [None] * n_bonafide + list(np.resize(list(SPOOF_SYSTEMS), n - n_bonafide))
    systems = [systems[i] for i in rng.permutation(n)] + [None]  # + the unlisted extra
    who = np.resize(rng.permutation(len(speakers)), n + 1)
    seconds = rng.uniform(*SECONDS, size=n + 1)
    return [
        Clip(i, speakers[who[i]], system, float(seconds[i]), i < n)
        for i, system in enumerate(systems)
    ]


def room_impulse_response(rng: np.random.Generator) -> np.ndarray:
    """A direct path plus exponentially decaying noise (the late reverberation of a room)."""
    rt60 = rng.uniform(0.15, 0.6)
    t = np.arange(int(rt60 * SAMPLE_RATE)) / SAMPLE_RATE
    tail = rng.standard_normal(len(t)) * np.exp(-6.9 * t / rt60)  # -60 dB at rt60
    tail[: int(0.002 * SAMPLE_RATE)] = 0.0  # first reflections arrive after 2 ms
    rir = tail * rng.uniform(0.2, 0.6) / np.sqrt(np.sum(tail**2))
    rir[0] = 1.0
    return rir


def _convolve(x: np.ndarray, h: np.ndarray) -> np.ndarray:
    n = len(x) + len(h) - 1
    size = 1 << (n - 1).bit_length()
    return np.fft.irfft(np.fft.rfft(x, size) * np.fft.rfft(h, size), size)[: len(x)]


def channel(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Reverberation, additive noise at 5-30 dB SNR, a level of -30 to -18 dBFS, no clipping."""
    x = _convolve(x, room_impulse_response(rng))
    level = active_rms(x)
    noise = pink_noise(len(x), rng) if rng.random() < 0.5 else rng.standard_normal(len(x))
    x = x + noise / np.sqrt(np.mean(noise**2)) * level * 10 ** (-rng.uniform(5.0, 30.0) / 20)
    x = x * 10 ** (rng.uniform(-30.0, -18.0) / 20) / active_rms(x)
    peak = np.abs(x).max()
    return x * (0.99 / peak) if peak > 0.99 else x


def render(clip: Clip, seed: int) -> np.ndarray:
    """The clip as written (float32): utterances joined up to its length, then the channel."""
    rng = _rng(seed, _UTTERANCE_STREAM, clip.index)
    synthesize = SPOOF_SYSTEMS[clip.system] if clip.system else render_clean
    target = int(clip.seconds * SAMPLE_RATE)
    parts: list[np.ndarray] = []
    while sum(map(len, parts)) < target:
        x = synthesize(clip.speaker, rng)
        parts.append(x / max(active_rms(x), 1e-9))
    return channel(np.concatenate(parts)[:target], rng).astype(np.float32)


def render_clean(speaker: Speaker, rng: np.random.Generator) -> np.ndarray:
    """A bona fide utterance before any channel."""
    return render_speech(plan_utterance(speaker, rng), speaker, rng)


_SFC_SET_ADD_PEAK_CHUNK = 0x1050  # libsndfile command (sndfile.h)


def generate(root: Path, seed: int, clip: Clip) -> None:
    """Write the clip as 32-bit float WAV, without the PEAK chunk libsndfile adds by default
    (it holds a timestamp: the same clip would differ from one run to the next)."""
    path = root / AUDIO_DIR / clip.file
    with sf.SoundFile(path, "w", SAMPLE_RATE, 1, "FLOAT", format="WAV") as handle:
        sf._snd.sf_command(handle._file, _SFC_SET_ADD_PEAK_CHUNK, sf._ffi.NULL, 0)
        handle.write(render(clip, seed))


def prepare_dirs(root: Path) -> None:
    (root / AUDIO_DIR).mkdir(parents=True)


def write_metadata(root: Path, clips: list[Clip]) -> None:
    with (root / AUDIO_DIR / META).open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(HEADER)
        writer.writerows((c.file, c.speaker.speaker_id, c.label) for c in clips if c.listed)


def summarize(clips: list[Clip]) -> Iterator[str]:
    listed = [c for c in clips if c.listed]
    systems = Counter(c.system for c in listed if c.system)
    seconds = [c.seconds for c in clips]
    yield (
        f"itw: {len(listed)} clips in meta.csv (+{len(clips) - len(listed)} unlisted), "
        f"{sum(c.system is None for c in listed)} bona-fide, {sum(systems.values())} spoof "
        f"({' '.join(f'{s}:{n}' for s, n in sorted(systems.items()))}), "
        f"{min(seconds):.1f}-{max(seconds):.1f} s"
    )

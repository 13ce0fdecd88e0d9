"""A mini replica of ASVspoof 2021 DF (eval data, docs/research/corpora.md §3), for tests and
egs/mini.

    ASVspoof2021_DF_eval/flac/DF_E_NNNNNNN.flac        FLAC 16 kHz 16-bit mono
    ASVspoof2021_DF_eval/ASVspoof2021.DF.cm.eval.trl.txt   one column: the trial ids
    keys/DF/CM/trial_metadata.txt                       the full 13-field key

Key lines (sorted by trial id, as the real key):
`SPK TRIAL COMPR SOURCE ATTACK KEY TRIM SUBSET VOCODER TASK TEAM GENDER_PAIR LANGUAGE`, e.g.
`LA_0023 DF_E_2000011 low_mp3 asvspoof A11 spoof notrim eval traditional_vocoder - - - -`.
Bona fide rows have attack `-` and vocoder `bonafide`.

What is real about it:
- compression is applied for real, by a round trip through libsndfile: `low_mp3` / `high_mp3`
  (MPEG layer III) and `low_ogg` / `high_ogg` (Ogg Vorbis), `low` meaning a high compression
  level (low bit rate); `nocodec` leaves the signal alone. The m4a conditions (`low_m4a`,
  `high_m4a`, `mp3m4a`, `oggm4a`) are left out: libsndfile (hence Python here) cannot encode AAC;
- the spoofs come from systems unseen in the 2019-format training data (A01-A06): the eval-only
  imitations A07, A10, A11, A13, A18 of antispoof.synth.attacks, and a VCC 2020-like voice
  conversion (`Task1-team20`, source `vcc2020`) composed from the same building blocks, each
  labelled with the official vocoder family;
- bona fide speech is from new voices (their own seed stream) under eval-range speaker ids;
- the `hidden` subset is trimmed for real (leading and trailing non-speech cut), TRIM `trim`.

Everything random is derived from the seed through numpy SeedSequence streams distinct from the
2019 part's: the plan from one stream, each voice from its speaker index, each trial's audio
from its index in the plan, so the output does not depend on the number of workers.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from antispoof.synth import attacks
from antispoof.synth.speech import SAMPLE_RATE, Speaker, finish, make_speaker, synthesize_bonafide

DF_DIR = "df21"  # under the mini corpus root
AUDIO_DIR = "ASVspoof2021_DF_eval/flac"
TRL = "ASVspoof2021_DF_eval/ASVspoof2021.DF.cm.eval.trl.txt"
KEY = "keys/DF/CM/trial_metadata.txt"

# SeedSequence spawn-key namespaces (the 2019 part uses 0-2).
_PLAN_STREAM, _SPEAKER_STREAM, _UTTERANCE_STREAM = 10, 11, 12

N_SPEAKERS = 8
BONAFIDE = 50  # at --scale 1
SPOOF_PER_SYSTEM = 17  # 6 systems: 102 spoofs
EVAL_SPEAKERS = tuple(n for n in range(1, 69) if n != 62)
VCC_TARGETS = (("TEF1", "female"), ("TEF2", "female"), ("TEM1", "male"), ("TEM2", "male"))

# (compression, libsndfile format, subtype, compression level) and the probability of each.
CODECS = {
    "nocodec": None,
    "low_mp3": ("MP3", "MPEG_LAYER_III", 0.95),
    "high_mp3": ("MP3", "MPEG_LAYER_III", 0.2),
    "low_ogg": ("OGG", "VORBIS", 0.95),
    "high_ogg": ("OGG", "VORBIS", 0.2),
}
CODEC_WEIGHTS = (0.3, 0.175, 0.175, 0.175, 0.175)
SUBSETS = ("eval", "progress", "hidden")
SUBSET_WEIGHTS = (0.7, 0.2, 0.1)
TRIM_DB = 35.0  # the hidden subset drops leading/trailing 20 ms frames this far below the peak


def vcc_task1(speaker: Speaker, rng: np.random.Generator) -> np.ndarray:
    """A VCC 2020 Task 1-like system: converted, over-smoothed track, low-order cepstral
    envelope, pulse vocoder with 9-bit mu-law output (a neural autoregressive vocoder)."""
    track = attacks.converted_track(speaker, rng, attacks.A10_SMOOTHING)
    tract = attacks.cepstral_tract(track, speaker, attacks.A18_LIFTER)
    return attacks.mulaw(attacks.pulse_vocoder(track, speaker, rng, tract), 9)


@dataclass(frozen=True)
class System:
    attack: str
    source: str  # asvspoof | vcc2020
    vocoder: str  # the official vocoder family
    task: str = "-"
    team: str = "-"
    language: str = "-"


SYSTEMS = (
    System("A07", "asvspoof", "neural_vocoder_nonautoregressive"),
    System("A10", "asvspoof", "neural_vocoder_autoregressive"),
    System("A11", "asvspoof", "traditional_vocoder"),
    System("A13", "asvspoof", "waveform_concatenation"),
    System("A18", "asvspoof", "traditional_vocoder"),
    System("Task1-team20", "vcc2020", "neural_vocoder_autoregressive", "Task1", "team20", "E"),
)


@dataclass(frozen=True)
class Trial:
    index: int  # position in the plan: the key of its random stream
    trial: str  # DF_E_NNNNNNN
    speaker: Speaker
    system: System | None  # None for bona fide
    codec: str
    subset: str

    @property
    def label(self) -> str:
        return "bonafide" if self.system is None else "spoof"

    def key_line(self) -> str:
        trim = "trim" if self.subset == "hidden" else "notrim"
        spk = self.speaker.speaker_id
        if self.system is None:
            fields = [spk, self.trial, self.codec, "asvspoof", "-", "bonafide", trim]
            return " ".join([*fields, self.subset, "bonafide", "-", "-", "-", "-"])
        s = self.system
        pair = "-" if s.source == "asvspoof" else 2 * self.speaker.gender[0].upper()
        fields = [spk, self.trial, self.codec, s.source, s.attack, "spoof", trim, self.subset]
        return " ".join([*fields, s.vocoder, s.task, s.team, pair, s.language])


def _rng(seed: int, *key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


def plan(seed: int, scale: float) -> list[Trial]:
    """Every trial, in key order (sorted by trial id); `index` keys its random stream."""
    rng = _rng(seed, _PLAN_STREAM)
    numbers = sorted(int(n) for n in rng.choice(EVAL_SPEAKERS, N_SPEAKERS, replace=False))
    speakers = [
        make_speaker(f"LA_{n:04d}", ("female", "male")[i % 2], _rng(seed, _SPEAKER_STREAM, i))
        for i, n in enumerate(numbers)
    ]
    vcc = [
        make_speaker(name, gender, _rng(seed, _SPEAKER_STREAM, N_SPEAKERS + i))
        for i, (name, gender) in enumerate(VCC_TARGETS)
    ]
    entries: list[tuple[Speaker, System | None]] = []
    n_bonafide = max(2, round(BONAFIDE * scale))
    entries += [(speakers[i % len(speakers)], None) for i in range(n_bonafide)]
    for system in SYSTEMS:
        pool = vcc if system.source == "vcc2020" else speakers
        targets = np.resize(rng.permutation(len(pool)), max(1, round(SPOOF_PER_SYSTEM * scale)))
        entries += [(pool[t], system) for t in targets]
    codecs = rng.choice(len(CODECS), len(entries), p=CODEC_WEIGHTS)
    subsets = rng.choice(len(SUBSETS), len(entries), p=SUBSET_WEIGHTS)
    subsets[:2] = 0  # the eval subset always holds a few trials
    digits = rng.choice(3_000_000, len(entries), replace=False) + 2_000_000
    order = np.argsort(digits)
    names = list(CODECS)
    return [
        Trial(
            i,
            f"DF_E_{digits[j]}",
            entries[j][0],
            entries[j][1],
            names[codecs[j]],
            SUBSETS[subsets[j]],
        )
        for i, j in enumerate(order)
    ]


def apply_codec(x: np.ndarray, codec: str) -> np.ndarray:
    """`x` after an encode/decode round trip through the codec (unchanged for nocodec)."""
    spec = CODECS[codec]
    if spec is None:
        return x
    fmt, subtype, level = spec
    buffer = io.BytesIO()
    sf.write(buffer, x, SAMPLE_RATE, format=fmt, subtype=subtype, compression_level=level)
    buffer.seek(0)
    y, _ = sf.read(buffer, dtype="float64")
    y = y[: len(x)]
    return np.pad(y, (0, len(x) - len(y)))


def trim(x: np.ndarray) -> np.ndarray:
    """`x` without the leading and trailing 20 ms frames TRIM_DB below the loudest."""
    hop = SAMPLE_RATE // 50
    power = np.array([np.mean(x[i : i + hop] ** 2) for i in range(0, len(x), hop)])
    active = np.flatnonzero(power >= power.max() * 10 ** (-TRIM_DB / 10))
    return x[active[0] * hop : (active[-1] + 1) * hop]


def render(trial: Trial, seed: int, codec: str | None = None) -> np.ndarray:
    """The trial's float signal; `codec` overrides the planned compression (tests compare a
    coded trial with its uncoded rendering)."""
    rng = _rng(seed, _UTTERANCE_STREAM, trial.index)
    if trial.system is None:
        x = synthesize_bonafide(trial.speaker, rng)
    elif trial.system.attack in attacks.ATTACKS:
        x = attacks.synthesize_spoof(trial.system.attack, trial.speaker, rng)
    else:
        x = finish(vcc_task1(trial.speaker, rng), rng)
    if trial.subset == "hidden":
        x = trim(x)
    return np.clip(apply_codec(x, trial.codec if codec is None else codec), -1.0, 1.0)


def to_pcm16(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x * 32768.0), -32768, 32767).astype(np.int16)


def generate(root: Path, seed: int, trial: Trial) -> None:
    """Write one trial's FLAC under `root` (the DF replica root)."""
    pcm = to_pcm16(render(trial, seed))
    sf.write(root / AUDIO_DIR / f"{trial.trial}.flac", pcm, SAMPLE_RATE, "PCM_16")


def prepare_dirs(root: Path) -> None:
    (root / AUDIO_DIR).mkdir(parents=True)


def write_metadata(root: Path, trials: list[Trial]) -> None:
    """The one-column trial list and the 13-field key."""
    for relative, lines in (
        (TRL, [t.trial for t in trials]),
        (KEY, [t.key_line() for t in trials]),
    ):
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def summarize(trials: list[Trial]) -> Iterator[str]:
    systems = Counter(t.system.attack for t in trials if t.system is not None)
    codecs = Counter(t.codec for t in trials)
    subsets = Counter(t.subset for t in trials)
    per_system = " ".join(f"{a}:{n}" for a, n in sorted(systems.items()))
    yield (
        f"df21: {len(trials)} trials, {sum(t.system is None for t in trials)} bonafide, "
        f"{sum(systems.values())} spoof ({per_system})"
        f"; codecs {dict(sorted(codecs.items()))}; subsets {dict(sorted(subsets.items()))}"
    )

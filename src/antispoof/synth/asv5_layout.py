"""A mini replica of ASVspoof 5 Track 1 (docs/research/corpora.md §5), for tests and egs/mini.

    flac_T/T_NNNNNNNNNN.flac, flac_D/D_..., flac_E_eval/E_...   FLAC 16 kHz 16-bit mono
    ASVspoof5.train.tsv, ASVspoof5.dev.track_1.tsv, ASVspoof5.eval.track_1.tsv
    .complete                                                   (see below)

Protocol lines (10 fields, sorted by file name as in the release):
`SPEAKER_ID FLAC_FILE_NAME SPEAKER_GENDER CODEC CODEC_Q CODEC_SEED ATTACK_TAG ATTACK_LABEL KEY TMP`,
e.g. `D_0461 D_0000000190 M - - - - bonafide bonafide -`.

What is real about it:
- the release's folders (`flac_E_eval`, not `flac_E`), names and protocol format: speaker ids
  `T_`/`D_`/`E_` and four digits, file names and ten digits, gender F or M, attack tags AC1-AC3
  (`-` for bona fide), attack labels A01-A08 in train, A09-A16 in dev, A17-A32 in eval;
- train and dev are uncoded (`- - -` in CODEC, CODEC_Q, CODEC_SEED); the eval set comes in
  families, an uncoded trial (CODEC `-`, CODEC_Q `0`) and coded copies of it under C01-C11,
  CODEC_SEED naming the uncoded trial (how the release links its coded variants is inferred
  from third-party reports, docs/research/corpora.md §5);
- codecs: C01 (Opus), C05 (MP3) and C08 (Opus at 8 kHz) are the real codecs, through
  libsndfile; libsndfile has no AMR, Speex, AAC or EnCodec, so C02-C04, C06, C07, C09-C11 are
  stand-ins of the same bandwidth and kind (CODECS below), and none is in train or dev;
- the dev and eval folders also hold files that the Track 1 protocols do not list (the release
  keeps its Track 2 enrolment utterances there): stage 1 must follow the protocol;
- speakers are disjoint between the sets.

What is not: the attacks are the mini corpus's synthetic systems (antispoof.synth.attacks),
ATTACK_LABEL naming them as SYSTEMS below says; eval reuses systems (14 cannot make 32 new ones).

The replica is complete as written, so it carries the `.complete` marker that stage 0 leaves on
a downloaded corpus: `egs/asvspoof5/run.sh --db_root <mini corpus>/asv5` runs on it as on the
release (stage 0 finds the marker; nothing is checked against the official counts).

Random streams come from numpy SeedSequence namespaces of their own (see df2021_layout), the
audio of a family from its index, so the output does not depend on the number of workers.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.signal
import soundfile as sf

from antispoof.synth import attacks
from antispoof.synth.speech import SAMPLE_RATE, Speaker, make_speaker, synthesize_bonafide

ASV5_DIR = "asv5"  # under the mini corpus root
COMPLETE = ".complete"
_PLAN_STREAM, _SPEAKER_STREAM, _FAMILY_STREAM = 30, 31, 32

# The synthetic system standing in for each ASVspoof 5 attack, A01 to A32. Train's are the 2019
# training systems and two more; dev adds six that train lacks; eval uses every system.
_TRAIN_SYSTEMS = ("A01", "A02", "A03", "A04", "A05", "A06", "A10", "A18")
_DEV_SYSTEMS = ("A07", "A11", "A13", "A16", "A17", "A19", "A01", "A05")
_EVAL_SYSTEMS = (*attacks.ATTACKS, "A10", "A11")
SYSTEMS = dict(
    zip(
        (f"A{n:02d}" for n in range(1, 33)),
        (*_TRAIN_SYSTEMS, *_DEV_SYSTEMS, *_EVAL_SYSTEMS),
        strict=True,
    )
)
ATTACK_TAGS = ("AC1", "AC2", "AC3")


@dataclass(frozen=True)
class SetSpec:
    name: str  # train | dev | eval
    letter: str  # T | D | E
    protocol: str
    audio_dir: str
    attacks: tuple[str, ...]
    n_speakers: int
    bonafide: int  # sources at --scale 1
    spoof_per_attack: int  # sources at --scale 1
    copies: int  # coded copies of each source (eval)
    unlisted: int  # files in the folder that the protocol does not list


# Sizes at --scale 1: 128 / 64 / 144 trials, a quarter (train, dev) or a third (eval) bona fide.
# Train has twice as many speakers as dev or eval: a countermeasure trained on a handful of
# voices learns the voices rather than the artefacts (see la2019_layout).
SETS = (
    SetSpec("train", "T", "ASVspoof5.train.tsv", "flac_T",
            tuple(f"A{n:02d}" for n in range(1, 9)), 16, 32, 12, 0, 0),
    SetSpec("dev", "D", "ASVspoof5.dev.track_1.tsv", "flac_D",
            tuple(f"A{n:02d}" for n in range(9, 17)), 8, 16, 6, 0, 2),
    SetSpec("eval", "E", "ASVspoof5.eval.track_1.tsv", "flac_E_eval",
            tuple(f"A{n:02d}" for n in range(17, 33)), 6, 16, 2, 2, 2),
)  # fmt: skip


def _rng(seed: int, *key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


# --------------------------------------------------------------------------- codecs


def _round_trip(x: np.ndarray, rate: int, fmt: str, subtype: str, level: float) -> np.ndarray:
    """`x` (at `rate`) encoded and decoded by libsndfile, the same length."""
    buffer = io.BytesIO()
    sf.write(buffer, x, rate, format=fmt, subtype=subtype, compression_level=level)
    buffer.seek(0)
    y, _ = sf.read(buffer, dtype="float64")
    return np.pad(y[: len(x)], (0, max(0, len(x) - len(y))))


def _narrowband(code: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    """`code` applied at 8 kHz: the signal resampled to 8 kHz and back (a 4 kHz band)."""

    def coded(x: np.ndarray) -> np.ndarray:
        y = code(scipy.signal.resample_poly(x, 1, 2))
        return scipy.signal.resample_poly(y, 2, 1)[: len(x)]

    return coded


def _lowpass(x: np.ndarray, hz: float) -> np.ndarray:
    return scipy.signal.sosfiltfilt(scipy.signal.butter(8, hz, fs=SAMPLE_RATE, output="sos"), x)


def _spectral_quantiser(x: np.ndarray, step_db: float) -> np.ndarray:
    """A neural codec's smearing in miniature: each STFT bin's log magnitude rounded to
    `step_db`, the phase kept."""
    spectra = attacks.stft(x)
    magnitude = np.maximum(np.abs(spectra), 1e-9)
    rounded = 10 ** (np.round(20 * np.log10(magnitude) / step_db) * step_db / 20)
    return attacks.istft(rounded * np.exp(1j * np.angle(spectra)), len(x))


def _level(quality: int) -> float:
    """libsndfile's compression level (0 best, 1 smallest) for CODEC_Q 1 (lowest) to 5."""
    return float(np.clip(1.0 - quality / 5.5, 0.0, 1.0))


def _device(x: np.ndarray, quality: int, rng: np.random.Generator) -> np.ndarray:
    """A device and telephone channel: noise 18-39 dB below the speech, soft clipping, then the
    300-3400 Hz band."""
    rms = np.sqrt(np.mean(x**2)) + 1e-12
    y = x + rng.standard_normal(len(x)) * rms * 10 ** (-(15 + 3 * quality) / 20)
    peak = np.abs(y).max() + 1e-12
    y = np.tanh(1.5 * y / peak) * peak / np.tanh(1.5)
    sos = scipy.signal.butter(6, (300.0, 3400.0), "bandpass", fs=SAMPLE_RATE, output="sos")
    return scipy.signal.sosfiltfilt(sos, y)


@dataclass(frozen=True)
class Codec:
    family: str  # the condition's codec as third parties read ASVspoof5.codec.config.csv
    made_by: str  # what the replica applies
    apply: Callable[[np.ndarray, int, np.random.Generator], np.ndarray]  # (x, CODEC_Q, rng)


def _opus(x: np.ndarray, quality: int, _: np.random.Generator) -> np.ndarray:
    return _round_trip(x, SAMPLE_RATE, "OGG", "OPUS", _level(quality))


def _mp3(x: np.ndarray, quality: int, _: np.random.Generator) -> np.ndarray:
    return _round_trip(x, SAMPLE_RATE, "MP3", "MPEG_LAYER_III", _level(quality))


def _vorbis(x: np.ndarray, quality: int, _: np.random.Generator) -> np.ndarray:
    return _round_trip(x, SAMPLE_RATE, "OGG", "VORBIS", _level(quality))


def _encodec(x: np.ndarray, quality: int, _: np.random.Generator) -> np.ndarray:
    return _spectral_quantiser(x, 7.5 - quality)


CODECS = {
    "C01": Codec("opus_wb", "Opus (libsndfile)", _opus),
    "C02": Codec(
        "amr_wb",
        "stand-in: 7 kHz band, 10-bit mu-law",
        lambda x, q, _: attacks.mulaw(_lowpass(x, 7000.0), 10),
    ),
    "C03": Codec(
        "speex_wb",
        "stand-in: 7 kHz band, Ogg Vorbis",
        lambda x, q, rng: _vorbis(_lowpass(x, 7000.0), q, rng),
    ),
    "C04": Codec("encodec_wb", "stand-in: STFT log-magnitude quantised, phase kept", _encodec),
    "C05": Codec("mp3_wb", "MP3 (libsndfile)", _mp3),
    "C06": Codec("m4a_wb", "stand-in: Ogg Vorbis (libsndfile has no AAC encoder)", _vorbis),
    "C07": Codec(
        "mp3_encodec_wb",
        "MP3, then C04's stand-in",
        lambda x, q, rng: _encodec(_mp3(x, q, rng), q, rng),
    ),
    "C08": Codec(
        "opus_nb",
        "Opus at 8 kHz (libsndfile)",
        lambda x, q, _: _narrowband(
            lambda y: _round_trip(y, SAMPLE_RATE // 2, "OGG", "OPUS", _level(q))
        )(x),
    ),
    "C09": Codec(
        "amr_nb",
        "stand-in: 8 kHz sampling, 8-bit mu-law",
        lambda x, q, _: _narrowband(lambda y: attacks.mulaw(y, 8))(x),
    ),
    "C10": Codec(
        "speex_nb",
        "stand-in: Ogg Vorbis at 8 kHz",
        lambda x, q, _: _narrowband(
            lambda y: _round_trip(y, SAMPLE_RATE // 2, "OGG", "VORBIS", _level(q))
        )(x),
    ),
    "C11": Codec("device/channel", "stand-in: telephone band, noise, clipping", _device),
}


# --------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class Trial:
    name: str  # FLAC_FILE_NAME
    codec: str  # `-` or C01-C11
    codec_q: str
    codec_seed: str
    listed: bool  # in the Track 1 protocol


@dataclass(frozen=True)
class Family:
    """One synthesised utterance and the trials made of it: itself, and in eval coded copies."""

    index: int  # the key of its random stream
    spec: SetSpec
    speaker: Speaker  # for a spoof, the speaker it claims to be
    attack: str | None  # the ASVspoof 5 attack label; None for bona fide
    attack_tag: str
    trials: tuple[Trial, ...]

    @property
    def label(self) -> str:
        return "bonafide" if self.attack is None else "spoof"

    def protocol_lines(self) -> Iterator[tuple[str, str]]:
        """(file name, protocol line) of each listed trial."""
        gender = self.speaker.gender[0].upper()
        attack = "bonafide" if self.attack is None else self.attack
        for trial in self.trials:
            if trial.listed:
                fields = (self.speaker.speaker_id, trial.name, gender, trial.codec, trial.codec_q)
                rest = (trial.codec_seed, self.attack_tag, attack, self.label, "-")
                yield trial.name, " ".join((*fields, *rest))


def _scaled(count: int, scale: float, minimum: int) -> int:
    return max(minimum, round(count * scale)) if count else 0


def plan(seed: int, scale: float) -> list[Family]:
    """Every family of every set; `index` keys its random stream."""
    rng = _rng(seed, _PLAN_STREAM)
    families: list[Family] = []
    numbers = iter(rng.choice(10**10, size=10_000, replace=False))
    speaker_numbers = iter(rng.choice(np.arange(1, 10_000), size=100, replace=False))
    # Each class goes through the codecs in turn, so that every condition has both classes.
    codec_cycles = {
        label: iter(np.resize(rng.permutation(len(CODECS)), 10_000)) for label in (True, False)
    }
    for set_index, spec in enumerate(SETS):
        speakers = [
            make_speaker(
                f"{spec.letter}_{next(speaker_numbers):04d}",
                ("female", "male")[i % 2],
                _rng(seed, _SPEAKER_STREAM, set_index, i),
            )
            for i in range(spec.n_speakers)
        ]
        # At any scale, enough bona fide sources for their copies to cover every codec.
        minimum = max(4, -(-len(CODECS) // spec.copies)) if spec.copies else 4
        n_bonafide = _scaled(spec.bonafide, scale, minimum)
        sources: list[tuple[Speaker, str | None]] = [
            (speakers[i % len(speakers)], None) for i in range(n_bonafide)
        ]
        for attack in spec.attacks:
            # Each attack claims the set's speakers in turn, as in the real protocols.
            n_spoof = _scaled(spec.spoof_per_attack, scale, 1)
            sources += [
                (speakers[t], attack) for t in np.resize(rng.permutation(len(speakers)), n_spoof)
            ]
        sources += [(speakers[i % len(speakers)], None) for i in range(spec.unlisted)]
        n_listed = len(sources) - spec.unlisted
        for k, (speaker, attack) in enumerate(sources):
            listed = k < n_listed
            name = f"{spec.letter}_{next(numbers):010d}"
            uncoded = ("-", "-", "-") if spec.name != "eval" else ("-", "0", "-")
            trials = [Trial(name, *uncoded, listed)]
            for _ in range(spec.copies if listed else 0):
                codec = list(CODECS)[next(codec_cycles[attack is None])]
                quality = rng.integers(1, 9 if codec == "C11" else 6)
                trials.append(
                    Trial(f"{spec.letter}_{next(numbers):010d}", codec, str(quality), name, True)
                )
            tag = "-" if attack is None else ATTACK_TAGS[rng.integers(len(ATTACK_TAGS))]
            families.append(Family(len(families), spec, speaker, attack, tag, tuple(trials)))
    return families


# --------------------------------------------------------------------------- audio and files


def render(family: Family, seed: int) -> np.ndarray:
    """The family's uncoded float signal."""
    rng = _rng(seed, _FAMILY_STREAM, family.index)
    if family.attack is None:
        return synthesize_bonafide(family.speaker, rng)
    return attacks.synthesize_spoof(SYSTEMS[family.attack], family.speaker, rng)


def coded(x: np.ndarray, trial: Trial, seed: int, family: Family, copy: int) -> np.ndarray:
    """`x` under the trial's codec condition (unchanged for `-`), clipped to [-1, 1]."""
    if trial.codec != "-":
        rng = _rng(seed, _FAMILY_STREAM, family.index, copy)
        x = CODECS[trial.codec].apply(x, int(trial.codec_q), rng)
    return np.clip(x, -1.0, 1.0)


def to_pcm16(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x * 32768.0), -32768, 32767).astype(np.int16)


def generate(root: Path, seed: int, family: Family) -> None:
    """Write the FLAC of every trial of one family under `root` (the replica root)."""
    x = render(family, seed)
    for copy, trial in enumerate(family.trials):
        path = root / family.spec.audio_dir / f"{trial.name}.flac"
        sf.write(path, to_pcm16(coded(x, trial, seed, family, copy)), SAMPLE_RATE, "PCM_16")


def prepare_dirs(root: Path) -> None:
    for spec in SETS:
        (root / spec.audio_dir).mkdir(parents=True)


def write_metadata(root: Path, families: list[Family]) -> None:
    """The three protocols, sorted by file name, and the completion marker."""
    for spec in SETS:
        lines = sorted(
            line
            for family in families
            if family.spec.name == spec.name
            for line in family.protocol_lines()
        )
        (root / spec.protocol).write_text("".join(f"{line}\n" for _, line in lines))
    (root / COMPLETE).write_text(
        "asv5: a synthetic replica of ASVspoof 5 written by antispoof.bin.make_mini_corpus; "
        "not downloaded, not checked against the official counts\n",
        encoding="utf-8",
    )


def summarize(families: list[Family]) -> Iterator[str]:
    for spec in SETS:
        listed = [
            (family, trial)
            for family in families
            if family.spec.name == spec.name
            for trial in family.trials
            if trial.listed
        ]
        bonafide = sum(family.attack is None for family, _ in listed)
        codecs = Counter(trial.codec for _, trial in listed)
        unlisted = sum(not t.listed for f in families if f.spec.name == spec.name for t in f.trials)
        yield (
            f"asv5 {spec.name}: {len(listed)} trials, {bonafide} bonafide, "
            f"{len(listed) - bonafide} spoof ({len(spec.attacks)} attacks), "
            f"codecs {dict(sorted(codecs.items()))}, {unlisted} unlisted files"
        )

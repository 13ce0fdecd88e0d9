"""A small but real ASV (speaker verification) system for the organisers'-format score file.

The min t-DCF weighs a countermeasure's errors by how an ASV system behaves on target,
nontarget and spoofed trials, so the scores must come from a system that actually verifies
speakers. This one embeds an utterance as the mean of its mel cepstra over speech frames,
whitens the embeddings by the within-speaker covariance of background speakers (WCCN, trained
on the train split's bona fide speech, whose speakers are disjoint from dev and eval), and
scores a trial by the cosine similarity between the test embedding and the mean enrolment
embedding of the claimed speaker.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from antispoof.synth.speech import SAMPLE_RATE

WIN = 400  # 25 ms
HOP = 160  # 10 ms
NFFT = 512
N_MELS = 30
# The speaker's vocal tract shows below 5 kHz; ignoring the band above makes the system, like
# real ASV systems, blind to the channel differences that spoofing systems leave up there.
MAX_HZ = 5000.0
N_CEPS = 20  # c1..c19 are kept; c0 (loudness) says nothing about the speaker
SPEECH_RANGE_DB = 30.0  # frames this far below the loudest are silence


def _mel(hz: np.ndarray) -> np.ndarray:
    return 2595.0 * np.log10(1.0 + hz / 700.0)


def mel_filterbank() -> np.ndarray:
    """Triangular filters (N_MELS, NFFT // 2 + 1) equally spaced on the mel scale, 50 Hz to
    MAX_HZ."""
    edges_mel = np.linspace(_mel(np.array(50.0)), _mel(np.array(MAX_HZ)), N_MELS + 2)
    edges = 700.0 * (10 ** (edges_mel / 2595.0) - 1.0)
    bins = np.arange(NFFT // 2 + 1) * SAMPLE_RATE / NFFT
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bins - lower) / (centre - lower)
    falling = (upper - bins) / (upper - centre)
    return np.maximum(0.0, np.minimum(rising, falling))


def embedding(wav: np.ndarray) -> np.ndarray:
    """Mean of the mel cepstra c1..c19 over the speech frames: the average vocal-tract shape."""
    frames = np.lib.stride_tricks.sliding_window_view(wav, WIN)[::HOP] * np.hamming(WIN)
    power = np.abs(np.fft.rfft(frames, NFFT)) ** 2
    log_mel = np.log(power @ mel_filterbank().T + 1e-10)
    energy = 10 * np.log10(power.sum(axis=1) + 1e-20)
    speech = log_mel[energy >= energy.max() - SPEECH_RANGE_DB]
    k = np.arange(N_MELS)
    dct = np.cos(np.pi * np.arange(1, N_CEPS)[:, None] * (k + 0.5) / N_MELS)
    return (speech @ dct.T).mean(axis=0)


@dataclass(frozen=True)
class Trial:
    """One line of the ASV trial protocol (`ASVspoof2019.LA.asv.*.gi.trl.txt`)."""

    claimed: str  # claimed speaker
    utt: str
    cm_key: str  # "bonafide" or the attack id
    asv_key: str  # "target" | "nontarget" | "spoof"


@dataclass(frozen=True)
class Backend:
    """Centring and within-class covariance normalisation learnt from background speakers."""

    mean: np.ndarray
    transform: np.ndarray

    def project(self, vector: np.ndarray) -> np.ndarray:
        projected = self.transform @ (vector - self.mean)
        return projected / np.linalg.norm(projected)


def train_backend(background: Mapping[str, Sequence[np.ndarray]]) -> Backend:
    """WCCN: whiten by the within-speaker covariance, so that what varies with the sentence
    (the phones) weighs less than what varies between speakers."""
    if min(len(vectors) for vectors in background.values()) < 2:
        raise ValueError("WCCN needs at least two utterances of every background speaker")
    data = np.concatenate([np.stack(vectors) for vectors in background.values()])
    centred = [np.stack(v) - np.mean(v, axis=0) for v in background.values()]
    within = sum(c.T @ c for c in centred) / len(data)
    # A little diagonal loading keeps the inverse stable with a few background speakers.
    within += 1e-3 * np.trace(within) / len(within) * np.eye(len(within))
    values, vectors = np.linalg.eigh(within)
    return Backend(data.mean(axis=0), vectors @ np.diag(values**-0.5) @ vectors.T)


def score_trials(
    trials: Sequence[Trial],
    embeddings: Mapping[str, np.ndarray],
    enrolment: Mapping[str, Sequence[str]],
    backend: Backend,
) -> np.ndarray:
    """Cosine score of each trial against its claimed speaker's enrolment model."""
    models = {
        spk: backend.project(np.mean([embeddings[u] for u in utts], axis=0))
        for spk, utts in enrolment.items()
    }
    return np.array([float(models[t.claimed] @ backend.project(embeddings[t.utt])) for t in trials])

"""`antispoof.load`: every window of a recording scored, a timeline, the aggregate and its
decision, the speech checks, results in order as files finish; the README's example runs."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch
import torchaudio.functional

import antispoof
from antispoof.data.audio import AudioError
from antispoof.decision import NATURAL, NO_RULE, DecisionRule
from antispoof.inference import (
    NO_SPEECH,
    TOO_SHORT,
    ModelInfo,
    ScoringSettings,
    SpoofDetector,
    WindowScorer,
)

REPO = Path(__file__).resolve().parents[1]
REFERENCE = REPO / "tests" / "reference"
RATE = 16000
JFK = REFERENCE / "jfk_1961_inaugural_11s.flac"  # real speech (public domain)
TTS = REFERENCE / "espeak_ng_sentence.flac"  # espeak-ng's speech


class MeanSignScorer(WindowScorer):
    """A stand-in model: a window's score is its mean (positive: bona fide), its log-odds too."""

    natural_decision = True
    sample_rate = RATE
    window_samples = RATE  # one-second windows

    def __init__(self) -> None:
        self.calls: list[int] = []

    def __call__(self, windows):
        self.calls.append(len(windows))
        means = windows.astype(np.float64).mean(axis=1)
        return means, means


def stub(**settings) -> SpoofDetector:
    rule = DecisionRule(NATURAL, "the sign")
    info = ModelInfo("stub", "a stand-in", "-", "0" * 64)
    options = {"min_speech_seconds": None, **settings}
    return SpoofDetector(MeanSignScorer(), rule, info, ScoringSettings(**options), batch_size=4)


def levels(*values: float) -> np.ndarray:
    """One second at each constant level: window k of a stub holds values[k]."""
    return np.concatenate([np.full(RATE, value, dtype=np.float32) for value in values])


def test_every_window_is_scored_and_the_median_follows_the_majority():
    result = stub().score(levels(0.1, -0.2, -0.3, 0.4, -0.5), RATE)
    assert [segment.score for segment in result.segments] == pytest.approx(
        [0.1, -0.2, -0.3, 0.4, -0.5]
    )
    assert [(s.start, s.end) for s in result.segments] == [(k, k + 1) for k in range(5)]
    assert [s.decision for s in result.segments] == [
        "bonafide",
        "spoof",
        "spoof",
        "bonafide",
        "spoof",
    ]
    # Three spoof windows of five: the file is spoof; one fake window of five does not make it.
    assert result.score == pytest.approx(-0.2) and result.decision == "spoof"
    assert stub().score(levels(0.1, 0.2, -0.9, 0.4, 0.3), RATE).decision == "bonafide"
    # The most spoof-like window decides with `min`; the average with `mean`.
    assert stub(aggregate="min").score(levels(0.1, 0.2, -0.9, 0.4, 0.3), RATE).decision == "spoof"
    mean = stub(aggregate="mean").score(levels(0.1, 0.2, -0.9, 0.4, 0.3), RATE).score
    assert mean == pytest.approx(0.02, abs=1e-6)


def test_the_hop_and_the_last_window_repeat_padded():
    result = stub(hop_seconds=0.5).score(levels(1.0, 2.0, 3.0)[: int(2.75 * RATE)], RATE)
    starts = [segment.start for segment in result.segments]
    assert starts == [0.0, 0.5, 1.0, 1.5, 2.0]
    # The last window holds 0.75 s of audio (level 3), tiled to a second.
    assert result.segments[-1].end == pytest.approx(2.75)
    assert result.segments[-1].score == pytest.approx(3.0)
    assert stub(window="first").score(levels(1.0, 2.0, 3.0), RATE).segments == [
        result.segments[0].__class__(0.0, 1.0, 1.0, "bonafide", None, None)
    ]


def test_windows_of_several_files_share_batches_and_results_come_in_order(tmp_path):
    paths = []
    for k, value in enumerate((0.3, -0.4, 0.5)):
        path = tmp_path / f"f{k}.wav"
        soundfile.write(path, levels(value, value, value), RATE, subtype="FLOAT")
        paths.append(path)
    detector = stub()
    results = list(detector.score_files([paths[0], tmp_path / "missing.wav", *paths[1:]]))
    assert [r.path for r in results] == [
        str(paths[0]),
        str(tmp_path / "missing.wav"),
        *map(str, paths[1:]),
    ]
    assert (
        results[1].error == f"{tmp_path / 'missing.wav'}: no such file" and results[1].score is None
    )
    assert [r.decision for r in results if r.error is None] == ["bonafide", "spoof", "bonafide"]
    assert detector.scorer.calls == [4, 4, 1]  # 9 windows in batches of 4, across files


def test_too_short_and_unreadable_inputs():
    detector = stub(min_seconds=0.5)
    short = detector.score(np.full(100, 0.5, dtype=np.float32), RATE)
    assert short.decision == TOO_SHORT and "shorter than 0.5 s" in short.warnings[0]
    with pytest.raises(AudioError, match="non-finite"):
        detector.score(np.array([0.1, np.nan], dtype=np.float32), RATE)
    with pytest.raises(AudioError, match="samples > 0"):
        detector.score(np.zeros(0, dtype=np.float32), RATE)


def test_stereo_at_another_rate_is_averaged_and_resampled():
    stereo = np.stack([levels(0.2, 0.2), levels(0.4, 0.4)], axis=1)
    result = stub().score(stereo, 8000)
    mono = torchaudio.functional.resample(torch.from_numpy(stereo.mean(axis=1)), 8000, RATE)
    assert len(result.segments) == len(mono) // RATE
    assert result.segments[0].score == pytest.approx(float(mono[:RATE].mean()), abs=1e-5)
    assert result.warnings == ["2 channels averaged to mono", "resampled from 8000 Hz to 16000 Hz"]


@pytest.fixture(scope="module")
def aasist():
    return antispoof.load("AASIST", device="cpu")


def test_silence_is_no_speech_and_speech_is_scored(aasist):
    silence = aasist.score(np.zeros(5 * RATE, dtype=np.float32), RATE)
    assert silence.decision == NO_SPEECH and silence.speech == 0.0
    assert all(segment.decision == NO_SPEECH for segment in silence.segments)
    assert "no window holds 0.5 s of speech" in silence.warnings[0]
    speech = aasist.score_file(JFK)
    assert speech.decision in ("bonafide", "spoof") and speech.speech > 5.0


def test_a_tts_middle_scores_lower_on_the_timeline(aasist, tmp_path):
    """60 s of real speech (JFK, 1961) with 16 s of espeak-ng TTS in the middle: the windows
    wholly inside the TTS score below every window wholly inside the real speech."""
    real, real_rate = soundfile.read(JFK, dtype="float32")
    assert real_rate == RATE
    tts, tts_rate = soundfile.read(TTS, dtype="float32")
    tts = torchaudio.functional.resample(torch.from_numpy(tts), tts_rate, RATE).numpy()
    side = np.tile(real, 2)[: 22 * RATE]
    middle = np.tile(tts, 6)[: 16 * RATE]
    recording = np.concatenate([side, middle, side])
    assert len(recording) == 60 * RATE
    path = tmp_path / "mixed.flac"
    soundfile.write(path, recording, RATE)
    result = aasist.score_file(path)
    window = aasist.window_seconds
    inside_tts = [s.score for s in result.segments if s.start >= 22 and s.start + window <= 38]
    inside_real = [s.score for s in result.segments if s.start + window <= 22 or s.start >= 38]
    assert len(inside_tts) >= 2 and len(inside_real) >= 8
    assert max(inside_tts) < min(inside_real)
    # The file's decision is the decision of its median window's score.
    scores = sorted(s.score for s in result.segments if s.decision != NO_SPEECH)
    assert result.score == pytest.approx(float(np.median(scores)))
    assert result.decision == aasist.rule.decide(result.score, result.score)


def test_the_readme_example_runs(tmp_path, monkeypatch):
    readme = (REPO / "README.md").read_text()
    block = re.search(r"```python\n(import antispoof\n.*?)```", readme, flags=re.DOTALL)
    assert block is not None, "README.md has no ```python block starting with import antispoof"
    monkeypatch.chdir(tmp_path)
    soundfile.write("recording.flac", soundfile.read(JFK)[0], RATE)
    namespace: dict = {}
    exec(compile(block.group(1), "README.md", "exec"), namespace)
    assert namespace["result"].decision in ("bonafide", "spoof")


def test_a_model_without_a_rule_decides_nothing():
    rule = DecisionRule(NO_RULE, "none")
    detector = SpoofDetector(
        MeanSignScorer(),
        rule,
        ModelInfo("stub", "-", "-", "0"),
        ScoringSettings(min_speech_seconds=None),
        4,
    )
    result = detector.score(levels(0.5, 0.5), RATE)
    assert result.decision is None and {s.decision for s in result.segments} == {None}

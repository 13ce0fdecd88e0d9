"""antispoof.speech: silero-vad streamed over blocks gives the probabilities and the speech of
one pass over the whole recording (silero's own functions); silence has no speech; real-sounding
speech (espeak-ng, tests/reference/README.md) padded with silence has about its own duration of
speech, found in the windows that hold it."""

from __future__ import annotations

import ast
import itertools
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import silero_vad
import soundfile
import torch

from antispoof.data.stream import cut_windows, open_audio
from antispoof.scoring import read_any_audio
from antispoof.speech import SAMPLE_RATE, SpeechActivity, SpeechDetector

# The tests also call silero's loader directly, which warns of its own deprecated calls.
pytestmark = [
    pytest.mark.filterwarnings("ignore:path is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:DeprecationWarning"),
]
SPEECH = Path(__file__).parent / "reference" / "espeak_ng_sentence.flac"
BACKENDS = ["jit", "onnx"]
LEAD_IN, LEAD_OUT = 5.0, 4.0  # seconds of silence put around the sentence


@pytest.fixture(scope="module")
def sentence() -> np.ndarray:
    """The espeak-ng sentence at 16 kHz (3.1 s, read from 22.05 kHz)."""
    return np.concatenate(list(open_audio(SPEECH).blocks(SAMPLE_RATE)))


@pytest.fixture(scope="module")
def padded(sentence) -> np.ndarray:
    silence = np.zeros(round(LEAD_IN * SAMPLE_RATE), dtype=np.float32)
    return np.concatenate([silence, sentence, np.zeros(round(LEAD_OUT * SAMPLE_RATE), np.float32)])


@pytest.fixture(scope="module", params=BACKENDS)
def vad(request) -> SpeechDetector:
    if request.param == "onnx":
        pytest.importorskip("onnxruntime", reason="the onnx backend needs the onnx extra")
    return SpeechDetector(backend=request.param)


def blocks_of(signal: np.ndarray, sizes: list[int]) -> list[np.ndarray]:
    """`signal` cut into blocks of these sizes in turn."""
    blocks, start, turn = [], 0, 0
    while start < len(signal):
        blocks.append(signal[start : start + sizes[turn % len(sizes)]])
        start += sizes[turn % len(sizes)]
        turn += 1
    return blocks


@pytest.mark.parametrize("level", [0.0, 1e-3, 1e-2])
def test_silence_and_low_noise_hold_no_speech(vad, level):
    noise = level * np.random.default_rng(0).standard_normal(10 * SAMPLE_RATE)
    activity = vad.activity(noise.astype(np.float32))
    assert activity.total_seconds == 0.0 and activity.segments == ()
    assert activity.duration == 10.0 and len(activity.probabilities) == 10 * SAMPLE_RATE // 512 + 1


def test_speech_padded_with_silence_has_about_the_speechs_duration(vad, sentence, padded):
    alone = vad.activity(sentence)
    around = vad.activity(padded)
    end = LEAD_IN + len(sentence) / SAMPLE_RATE
    # espeak-ng speaks nearly all of its 3.1 s, with short pauses between words.
    assert 2.3 < alone.total_seconds <= len(sentence) / SAMPLE_RATE
    assert around.total_seconds == pytest.approx(alone.total_seconds, abs=0.3)
    assert around.speech_seconds(0.0, LEAD_IN - 0.1) < 0.1  # at most silero's 30-ms padding
    assert around.speech_seconds(end + 0.1, around.duration) < 0.1
    assert around.speech_seconds(LEAD_IN, end) == pytest.approx(around.total_seconds, abs=0.1)


@pytest.mark.parametrize("sizes", [[1, 511, 513, 3001], [16000]])
def test_blocked_is_one_pass_of_silero(vad, padded, sizes):
    tracker = vad.tracker()
    for block in blocks_of(padded, sizes):
        tracker.push(block)
    blocked = tracker.finish()
    model = silero_vad.load_silero_vad(sequence=vad.backend == "onnx")
    if vad.backend == "onnx":  # silero's own one pass of its sequence model
        expected = model.audio_forward(padded)
    else:  # silero's own loop (get_speech_timestamps'): 512-sample chunks, the last zero-padded
        model.reset_states()
        whole = torch.from_numpy(np.pad(padded, (0, -len(padded) % 512)))
        with torch.no_grad():
            expected = [model(chunk, SAMPLE_RATE).item() for chunk in whole.split(512)]
    np.testing.assert_array_equal(blocked.probabilities, np.asarray(expected, dtype=np.float32))
    timestamps = silero_vad.get_speech_timestamps(
        torch.from_numpy(padded), silero_vad.load_silero_vad()
    )
    assert blocked.segments == tuple(
        (stamp["start"] / SAMPLE_RATE, stamp["end"] / SAMPLE_RATE) for stamp in timestamps
    )


def test_the_backends_agree(padded):
    pytest.importorskip("onnxruntime", reason="the onnx backend needs the onnx extra")
    jit = SpeechDetector(backend="jit").activity(padded)
    onnx = SpeechDetector(backend="onnx").activity(padded)
    np.testing.assert_allclose(onnx.probabilities, jit.probabilities, rtol=0, atol=1e-5)
    assert onnx.segments == jit.segments


def test_trackers_of_files_read_side_by_side_do_not_mix(vad, sentence, padded):
    first, second = vad.tracker(), vad.tracker()
    for a, b in itertools.zip_longest(blocks_of(padded, [7000]), blocks_of(sentence, [7000])):
        if a is not None:
            first.push(a)
        if b is not None:
            second.push(b)
    assert np.array_equal(first.finish().probabilities, vad.activity(padded).probabilities)
    assert np.array_equal(second.finish().probabilities, vad.activity(sentence).probabilities)


def test_windows_and_speech_from_one_read_of_a_file(vad, padded, tmp_path):
    # The sentence padded with silence at its own 22.05 kHz: one read, resampled in blocks,
    # feeds the VAD and the windows (2 s, back to back); each window's speech is the speech of
    # its span, and together they are the file's.
    native, rate = soundfile.read(SPEECH, dtype="float32")
    silence = np.zeros(round(LEAD_IN * rate), dtype=np.float32)
    path = tmp_path / "padded.wav"
    soundfile.write(
        path, np.concatenate([silence, native, silence[: round(LEAD_OUT * rate)]]), rate
    )
    audio = open_audio(path)
    tracker = vad.tracker()
    blocks = tracker.follow(audio.blocks(SAMPLE_RATE, block_frames=20000))
    windows = list(cut_windows(blocks, 32000, 32000, SAMPLE_RATE))
    activity = tracker.finish()
    one_pass = vad.activity(np.concatenate(list(audio.blocks(SAMPLE_RATE, block_frames=20000))))
    assert np.array_equal(activity.probabilities, one_pass.probabilities)
    # The whole-file read differs from the blocks by float32 rounding (tests/test_stream.py).
    whole_file = vad.activity(read_any_audio(path, SAMPLE_RATE)[0])
    np.testing.assert_allclose(activity.probabilities, whole_file.probabilities, atol=1e-4)
    assert activity.segments == whole_file.segments
    per_window = [activity.speech_seconds(w.start_s, w.end_s) for w in windows]
    assert sum(per_window) == pytest.approx(activity.total_seconds)
    assert activity.total_seconds == pytest.approx(vad.activity(padded).total_seconds, abs=0.1)
    assert per_window[:2] == [0.0, 0.0] and per_window[-1] == 0.0  # silence only
    assert max(per_window) > 1.5


def test_the_settings_are_silero_s_and_each_changes_what_is_speech(padded):
    default = SpeechDetector(backend="jit")
    assert (default.threshold, default.neg_threshold) == (0.5, None)
    assert (default.min_speech_duration_ms, default.min_silence_duration_ms) == (250, 100)
    assert default.speech_pad_ms == 30
    speech = default.activity(padded)
    unpadded = SpeechDetector(backend="jit", speech_pad_ms=0).activity(padded)
    assert unpadded.total_seconds == pytest.approx(
        speech.total_seconds - 0.06 * len(speech.segments), abs=0.01
    )
    strict = SpeechDetector(backend="jit", threshold=0.999).activity(padded)
    assert strict.total_seconds < speech.total_seconds
    long_only = SpeechDetector(backend="jit", min_speech_duration_ms=10_000).activity(padded)
    assert long_only.segments == ()


def test_speech_seconds_is_the_overlap_with_the_segments():
    activity = SpeechActivity(((1.0, 2.0), (3.0, 3.5)), 5.0, np.zeros(0, np.float32))
    assert activity.total_seconds == 1.5
    assert activity.speech_seconds(0.0, 5.0) == 1.5
    assert activity.speech_seconds(1.5, 3.25) == pytest.approx(0.75)
    assert activity.speech_seconds(2.0, 3.0) == 0.0
    assert SpeechActivity((), 5.0, np.zeros(0, np.float32)).speech_seconds(0, 5) == 0.0


def test_loading_the_vad_keeps_torchs_thread_count():
    code = (
        "import torch; torch.set_num_threads(3); from antispoof.speech import SpeechDetector; "
        "SpeechDetector(backend='jit'); print(torch.get_num_threads())"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "3"  # importing silero_vad alone sets it to 1


def test_the_module_imports_neither_torch_nor_a_model():
    code = (
        "import sys, antispoof.speech; "
        "print(sorted(m for m in sys.modules if m in ('torch', 'silero_vad') "
        "or m.startswith('antispoof.')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert ast.literal_eval(result.stdout) == ["antispoof.speech"]


def test_bad_settings_and_stereo_blocks_are_refused():
    with pytest.raises(ValueError, match="unknown VAD backend 'webrtc'"):
        SpeechDetector(backend="webrtc")
    with pytest.raises(ValueError, match="threshold must lie between 0 and 1"):
        SpeechDetector(threshold=1.5)
    with pytest.raises(ValueError, match="mono blocks"):
        SpeechDetector(backend="jit").tracker().push(np.zeros((100, 2), np.float32))

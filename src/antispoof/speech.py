"""Where a recording holds speech, with silero-vad, streamed over its blocks in flat memory.

A detector trained on speech says nothing useful about silence or noise: five seconds of zeros
came out `bonafide`. Scoring therefore asks first how much speech a file, and each of its
windows, holds; below a minimum the decision is `no-speech` (the caller's rule; this module gives
the seconds).

    vad = SpeechDetector()                         # loads silero-vad once; reuse it for every file
    tracker = vad.tracker()                        # one per file
    blocks = tracker.follow(audio.blocks(SAMPLE_RATE))   # the VAD sees each block as it passes
    for window in cut_windows(blocks, 64600, hop, SAMPLE_RATE):
        ...                                        # score the window
    speech = tracker.finish()                      # SpeechActivity
    speech.total_seconds, speech.speech_seconds(window.start_s, window.end_s)

(`audio` an `antispoof.data.stream.AudioFile`; `vad.activity(blocks_or_array)` does it in one
call when no windows are needed.)

- **The model** is silero-vad (MIT licence), maintained, its weights inside its pip package,
  loaded with the package's own `load_silero_vad`. It gives a speech probability for every
  frame of 512 samples at 16 kHz (32 ms), carrying a recurrent state from frame to frame.
  A tracker carries that state across blocks as silero's `VADIterator` does, and zero-pads the
  last partial frame as `get_speech_timestamps` does, so blocks of any length give the
  probabilities of one pass over the whole recording.
- **Backends** (`backend`): `jit`, the TorchScript model, called frame by frame (torch only, so
  it runs in every install); `onnx`, silero's sequence ONNX model (the same network exported to
  run a block of frames in one ONNX Runtime call, bit-identical to silero's streaming ONNX
  model), about 5 times faster, but it needs onnxruntime (this package's `onnx` extra).
  `auto` (default) takes `onnx` when onnxruntime is installed, else `jit`. The two agree to
  about 2e-6 in probability (tests/test_speech.py), which moves no frame across a threshold in
  practice. Cost per audio hour on one CPU thread: benchmarks/long_audio.py.
- **Speech** is what silero's `get_speech_timestamps` calls speech, with its defaults: frames
  from a probability of `threshold` on, until it falls below `neg_threshold` for
  `min_silence_duration_ms`; segments shorter than `min_speech_duration_ms` dropped; each
  widened by `speech_pad_ms`. It is computed by silero's own `get_speech_timestamps_from_probs`
  once the file's probabilities are known (its decisions look ahead, so they are final only at
  the end): the per-frame probabilities (4 bytes per 32 ms, 0.45 MB per audio hour) are kept,
  the audio is not.

Needs silero-vad >= 6.2.2 (`get_speech_timestamps_from_probs` and the sequence model). This
module holds no detector code; it imports torch and silero-vad only when a SpeechDetector is
made.
"""

from __future__ import annotations

import importlib.util
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

SAMPLE_RATE = 16000  # the rate silero-vad's 512-sample frames are defined at
FRAME_SAMPLES = 512  # 32 ms: the model's own frame at 16 kHz
CONTEXT_SAMPLES = 64  # samples of the previous frame the model sees before each frame
# Frames per call of the sequence ONNX model: silero's own default (16.4 s of audio), which
# bounds the memory of one call whatever the length of a block.
ONNX_MAX_FRAMES = 512
BACKENDS = ("auto", "jit", "onnx")


@dataclass(frozen=True, eq=False)
class SpeechActivity:
    """The speech of one recording: its speech segments in seconds, and the frame
    probabilities they were found from."""

    segments: tuple[tuple[float, float], ...]  # (start, end) seconds, in order, disjoint
    duration: float  # seconds of audio analysed
    probabilities: np.ndarray  # float32, one per 512-sample frame at 16 kHz (32 ms)

    @property
    def total_seconds(self) -> float:
        """Seconds of speech in the whole recording."""
        return float(sum(end - start for start, end in self.segments))

    def speech_seconds(self, start_s: float, end_s: float) -> float:
        """Seconds of speech between `start_s` and `end_s` (e.g. a window's start_s and end_s)."""
        if not self.segments:
            return 0.0
        bounds = np.asarray(self.segments)
        overlap = np.minimum(bounds[:, 1], end_s) - np.maximum(bounds[:, 0], start_s)
        return float(np.clip(overlap, 0.0, None).sum())


class SpeechDetector:
    """silero-vad, loaded once, with the rule that turns its probabilities into speech.

    Every setting defaults to `get_speech_timestamps`'s own, so that "speech" here means what
    it means to silero's users:

    - `threshold` 0.5: a frame at or above it starts speech (silero: "lazy 0.5 is pretty good
      for most datasets"; it advises tuning it per data set);
    - `neg_threshold` None, meaning `threshold - 0.15`: speech ends below it (hysteresis, so a
      probability hovering around the threshold does not chop speech into pieces);
    - `min_speech_duration_ms` 250: shorter bursts (clicks, breaths) are not speech;
    - `min_silence_duration_ms` 100: shorter pauses do not end a speech segment;
    - `speech_pad_ms` 30: each segment is widened by this much on each side, to keep the soft
      onsets and endings of words that the frames around the threshold miss.
    """

    def __init__(
        self,
        backend: str = "auto",
        threshold: float = 0.5,
        neg_threshold: float | None = None,
        min_speech_duration_ms: int = 250,
        min_silence_duration_ms: int = 100,
        speech_pad_ms: int = 30,
    ) -> None:
        if backend not in BACKENDS:
            raise ValueError(f"unknown VAD backend {backend!r}: use one of {', '.join(BACKENDS)}")
        if not 0.0 < threshold < 1.0:
            raise ValueError(f"threshold must lie between 0 and 1, not {threshold}")
        self.silero = _import_silero()
        self.backend = _resolve_backend(backend)
        self.threshold = threshold
        self.neg_threshold = neg_threshold
        self.min_speech_duration_ms = min_speech_duration_ms
        self.min_silence_duration_ms = min_silence_duration_ms
        self.speech_pad_ms = speech_pad_ms
        # The TorchScript model keeps its recurrent state inside: one model per tracker alive
        # at a time, reused once a tracker finishes. The ONNX session keeps none: one serves all.
        self._idle_jit_models: list[Any] = []
        self._onnx_model = self._load(sequence=True) if self.backend == "onnx" else None

    def tracker(self) -> SpeechTracker:
        """A new tracker for one recording (trackers of several recordings may be alive at
        once)."""
        if self.backend == "onnx":
            return SpeechTracker(self, _OnnxFrames(self._onnx_model.session))
        model = self._idle_jit_models.pop() if self._idle_jit_models else None
        return SpeechTracker(self, _JitFrames(model or self._load(sequence=False)))

    def activity(self, audio: np.ndarray | Iterable[np.ndarray]) -> SpeechActivity:
        """The speech of mono float32 audio at 16 kHz: an array, or its blocks in order."""
        tracker = self.tracker()
        for block in [audio] if isinstance(audio, np.ndarray) else audio:
            tracker.push(block)
        return tracker.finish()

    def _load(self, sequence: bool) -> Any:
        # silero's loader and torch.jit.load warn of their own deprecated calls: nothing a
        # user of this package could act on.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            return self.silero.load_silero_vad(sequence=sequence)

    def _activity(self, probabilities: np.ndarray, num_samples: int) -> SpeechActivity:
        segments = self.silero.get_speech_timestamps_from_probs(
            probabilities,
            sampling_rate=SAMPLE_RATE,
            threshold=self.threshold,
            neg_threshold=self.neg_threshold,
            min_speech_duration_ms=self.min_speech_duration_ms,
            min_silence_duration_ms=self.min_silence_duration_ms,
            speech_pad_ms=self.speech_pad_ms,
            audio_length_samples=num_samples,
        )
        return SpeechActivity(
            segments=tuple(
                (segment["start"] / SAMPLE_RATE, segment["end"] / SAMPLE_RATE)
                for segment in segments
            ),
            duration=num_samples / SAMPLE_RATE,
            probabilities=probabilities,
        )

    def _release(self, frames: _JitFrames | _OnnxFrames) -> None:
        if isinstance(frames, _JitFrames):
            self._idle_jit_models.append(frames.model)


class SpeechTracker:
    """The VAD over one recording, fed its blocks in order (mono float32 at 16 kHz, any
    lengths); made by SpeechDetector.tracker."""

    def __init__(self, detector: SpeechDetector, frames: _JitFrames | _OnnxFrames) -> None:
        self._detector = detector
        self._frames = frames
        self._rest = np.zeros(0, dtype=np.float32)  # samples of a frame not yet complete
        self._probabilities: list[np.ndarray] = []
        self._num_samples = 0
        self._finished = False

    def push(self, block: np.ndarray) -> None:
        """Run the VAD over the whole frames that `block` completes."""
        if self._finished:
            raise RuntimeError("SpeechTracker.push after finish")
        block = np.asarray(block, dtype=np.float32)
        if block.ndim != 1:
            raise ValueError(f"the VAD takes mono blocks, not an array of shape {block.shape}")
        self._num_samples += len(block)
        samples = np.concatenate([self._rest, block]) if self._rest.size else block
        whole = len(samples) // FRAME_SAMPLES * FRAME_SAMPLES
        if whole:
            frames = samples[:whole].reshape(-1, FRAME_SAMPLES)
            self._probabilities.append(self._frames.probabilities(frames))
        self._rest = samples[whole:].copy()

    def follow(self, blocks: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        """The same blocks, each pushed to the VAD before it is passed on (one read of a file
        feeds both the VAD and the windows)."""
        for block in blocks:
            self.push(block)
            yield block

    def finish(self) -> SpeechActivity:
        """The recording's SpeechActivity; the last partial frame is zero-padded."""
        if self._finished:
            raise RuntimeError("SpeechTracker.finish called twice")
        if self._rest.size:
            last = np.zeros((1, FRAME_SAMPLES), dtype=np.float32)
            last[0, : self._rest.size] = self._rest
            self._probabilities.append(self._frames.probabilities(last))
        self._finished = True
        self._detector._release(self._frames)
        probabilities = (
            np.concatenate(self._probabilities).astype(np.float32)
            if self._probabilities
            else np.zeros(0, dtype=np.float32)
        )
        return self._detector._activity(probabilities, self._num_samples)


class _JitFrames:
    """The TorchScript model called frame by frame; its state lives inside it, reset here."""

    def __init__(self, model: Any) -> None:
        self.model = model
        model.reset_states()

    def probabilities(self, frames: np.ndarray) -> np.ndarray:
        import torch

        values = np.empty(len(frames), dtype=np.float32)
        with torch.no_grad():
            for index, frame in enumerate(torch.from_numpy(frames)):
                values[index] = self.model(frame, SAMPLE_RATE).item()
        return values


class _OnnxFrames:
    """silero's sequence ONNX model, run on up to ONNX_MAX_FRAMES frames per call, its state
    (LSTM `h` and `c`, the previous frame's last samples) carried here from call to call."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.hidden = np.zeros((1, 1, 128), dtype=np.float32)
        self.cell = np.zeros((1, 1, 128), dtype=np.float32)
        self.context = np.zeros(CONTEXT_SAMPLES, dtype=np.float32)

    def probabilities(self, frames: np.ndarray) -> np.ndarray:
        values = []
        for first in range(0, len(frames), ONNX_MAX_FRAMES):
            chunk = frames[first : first + ONNX_MAX_FRAMES]
            contexts = np.empty((len(chunk), CONTEXT_SAMPLES), dtype=np.float32)
            contexts[0] = self.context
            contexts[1:] = chunk[:-1, -CONTEXT_SAMPLES:]
            inputs = np.concatenate([contexts, chunk], axis=1)
            probabilities, self.hidden, self.cell = self.session.run(
                ["speech_probs", "hn", "cn"],
                {"input": inputs, "h": self.hidden, "c": self.cell},
            )
            self.context = chunk[-1, -CONTEXT_SAMPLES:].copy()
            values.append(np.asarray(probabilities, dtype=np.float32).reshape(-1))
        return np.concatenate(values)


def _resolve_backend(backend: str) -> str:
    if backend == "auto":
        return "onnx" if importlib.util.find_spec("onnxruntime") is not None else "jit"
    if backend == "onnx" and importlib.util.find_spec("onnxruntime") is None:
        raise ImportError(
            "the onnx VAD backend needs onnxruntime: pip install 'antispoof[onnx]', "
            "or use backend='jit'"
        )
    return backend


def _import_silero() -> Any:
    """silero_vad, leaving torch's thread count as it was (importing the package sets it to 1
    for the whole process)."""
    import torch

    threads = torch.get_num_threads()
    try:
        import silero_vad
    finally:
        torch.set_num_threads(threads)
    if not hasattr(silero_vad, "get_speech_timestamps_from_probs"):
        version = getattr(silero_vad, "__version__", "unknown")
        raise ImportError(
            f"speech detection needs silero-vad >= 6.2.2 (installed: {version}): "
            "pip install -U 'silero-vad>=6.2.2'"
        )
    return silero_vad

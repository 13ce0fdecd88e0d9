"""Any recording read in bounded memory: its header facts, its first window, its blocks and its
scoring windows, all mono float32 at the model's sample rate.

`antispoof.scoring.read_any_audio` decodes and resamples a whole file at once, so memory grows
with the file's length (a 1-hour file peaks at about 1 GB). Here a file is read in blocks and
resampled block by block, with results equal to that whole-file read:

    audio = open_audio(path)              # header facts, or an AudioError naming the file
    audio.duration, audio.shorter_than(0.5)
    audio.first_window(16000, 64600)      # what the official single-window protocol scores
    for window in audio.windows(16000, 64600, hop=32000):
        window.samples, window.start_s, window.end_s
    cut_windows(resample_blocks([array], rate, 16000), 64600, 32000, 16000)   # an array

- **Opening** reads only the header (sample rate, channels, frames). A path that is not a
  readable audio file is an AudioError with a one-line reason: `<path>: empty file (0 bytes)`,
  `<path>: not audio (<libsndfile's reason>)`, `<path>: broken symbolic link to <target>`, and
  so on for a link loop, a missing file, a directory, a special file or a permission refused.
- **Mono**: channels are averaged (`mean(axis=1)` in float32, as read_any_audio).
- **Resampling** is torchaudio's `resample` (a polyphase windowed-sinc filter: every
  `orig/gcd` input samples give `new/gcd` output samples, each a dot product of the input
  around it with one of `new/gcd` kernels of `2 * width + orig/gcd` taps), run by Resampler over
  blocks: it computes only whole steps of the polyphase grid whose input (and `width` samples of
  context on each side) it already holds, and keeps the rest for the next block; the file's
  ends are zero-padded as `resample` pads them. So the concatenated blocks are the whole-file
  resample, up to float32 rounding: torch picks its convolution's algorithm, and with it the
  order of each sum, by the size of the input, so a block and the whole file may round
  differently (measured under 3e-7 on signals within [-1.5, 1.5]; tests/test_stream.py holds
  it to 1e-6). Without resampling the blocks are the whole-file read exactly.
- **The first window** reads only the input frames its samples depend on; a file shorter than
  the window is repeat-padded (`np.tile` of the whole signal, as the official AASIST evaluation
  pads).
- **Windows** of `window` samples start every `hop` samples until one reaches the end of the
  audio; that last one, when the audio left is shorter than a window, holds that tail
  repeat-padded (the tail tiled, as a short utterance is padded), and a file shorter than a
  window gives one padded window. Only the current block and one window are held; windows are
  yielded as the blocks arrive, so a caller can batch windows of several files.
- **Non-finite samples** (NaN, inf: a corrupt float file) are an AudioError naming the time of
  the first; reading in blocks finds them when their block is read, after the windows before
  them have been yielded.

This module holds no model code and imports neither torch nor torchaudio until a file needs
resampling.
"""

from __future__ import annotations

import errno
import functools
import math
import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import soundfile

from antispoof.data.audio import AudioError

if TYPE_CHECKING:
    import torch

# Input frames per read: 8.2 s at 16 kHz, 3 s at 44.1 kHz; about 1 MB of 44.1 kHz stereo
# float32. Large enough that reading and resampling run at their whole-file speed.
BLOCK_FRAMES = 1 << 17


@dataclass(frozen=True, eq=False)
class Window:
    """One scoring window: `samples` (the window's length, float32) hold the audio from sample
    `start` to `stop` (at `sample_rate`), repeat-padded when that is shorter than the window."""

    index: int  # its number in the file, from 0
    start: int  # first sample, at sample_rate
    stop: int  # one past the last sample of audio it holds
    sample_rate: int
    samples: np.ndarray

    @property
    def start_s(self) -> float:
        """Where the window starts in the recording, in seconds."""
        return self.start / self.sample_rate

    @property
    def end_s(self) -> float:
        """Where the audio it holds ends in the recording, in seconds (the end of the recording
        for a padded last window; within one sample at `sample_rate` of the original's end)."""
        return self.stop / self.sample_rate

    @property
    def padded(self) -> bool:
        """Whether the window holds less audio than its length (repeat-padded)."""
        return self.stop - self.start < len(self.samples)


@dataclass(frozen=True)
class AudioFile:
    """An audio file's facts from its header; made by open_audio. Its methods read it."""

    path: str
    sample_rate: int
    channels: int
    frames: int  # as the header declares; a truncated file yields fewer when read
    format: str  # soundfile's names: "WAV", "FLAC", "MP3", ...
    subtype: str  # "PCM_16", "FLOAT", ...

    @property
    def duration(self) -> float:
        """Seconds, from the header."""
        return self.frames / self.sample_rate

    def shorter_than(self, seconds: float) -> bool:
        """Whether the recording lasts less than `seconds` (a decision of its own below a
        minimum: a 1-sample file is not scored as if it were speech)."""
        return self.duration < seconds

    def samples_at(self, sample_rate: int) -> int:
        """Samples the whole file gives at `sample_rate` (read_any_audio's length)."""
        return resampled_length(self.frames, self.sample_rate, sample_rate)

    def changes(self, sample_rate: int) -> list[str]:
        """What reading at `sample_rate` changes, in read_any_audio's words."""
        changes = []
        if self.channels > 1:
            changes.append(f"{self.channels} channels averaged to mono")
        if self.sample_rate != sample_rate:
            changes.append(f"resampled from {self.sample_rate} Hz to {sample_rate} Hz")
        return changes

    def first_window(self, sample_rate: int, window: int) -> np.ndarray:
        """The first `window` samples at `sample_rate`, reading only the input they depend on;
        a shorter file repeat-padded (`np.tile` of all of it). Equals the start of the
        whole-file read."""
        _check_positive(window=window)
        resampler = Resampler(self.sample_rate, sample_rate)
        # A resampled sample depends on input up to `context` frames after its step of the
        # polyphase grid: read that far, and no further.
        steps = -(-window // resampler.new_step)
        needed = steps * resampler.orig_step + resampler.context
        with self._open() as handle:
            mono = self._read_mono(handle, needed, 0)
        if mono.size == 0:
            raise AudioError(f"{self.path}: no audio samples (the file holds no frames)")
        head = resampler.push(mono)
        if mono.size < needed:  # the whole file was read: its end is zero-padded
            head = np.concatenate([head, resampler.finish()])
        return repeat_pad(head[:window], window)

    def blocks(self, sample_rate: int, block_frames: int = BLOCK_FRAMES) -> Iterator[np.ndarray]:
        """The whole file as mono float32 blocks at `sample_rate`, reading `block_frames`
        frames at a time; their concatenation is the whole-file read. Blocks vary in length
        (the resampler keeps a few samples of context back) and none is empty."""
        _check_positive(block_frames=block_frames)
        return resample_blocks(self._mono_blocks(block_frames), self.sample_rate, sample_rate)

    def windows(
        self, sample_rate: int, window: int, hop: int, block_frames: int = BLOCK_FRAMES
    ) -> Iterator[Window]:
        """Every scoring window of the file (see cut_windows), read in blocks."""
        return cut_windows(self.blocks(sample_rate, block_frames), window, hop, sample_rate)

    def _open(self) -> soundfile.SoundFile:
        try:
            return soundfile.SoundFile(self.path)
        except (OSError, RuntimeError, soundfile.LibsndfileError) as err:
            raise AudioError(f"{self.path}: cannot open audio ({_reason(err)})") from err

    def _mono_blocks(self, block_frames: int) -> Iterator[np.ndarray]:
        frames = 0
        with self._open() as handle:
            while True:
                mono = self._read_mono(handle, block_frames, frames)
                if mono.size == 0:
                    break
                frames += mono.size
                yield mono
        if frames == 0:
            raise AudioError(f"{self.path}: no audio samples (the file holds no frames)")

    def _read_mono(self, handle: soundfile.SoundFile, frames: int, position: int) -> np.ndarray:
        """Up to `frames` frames from the handle, averaged to mono; `position` (frames already
        read) only places an error in time."""
        try:
            samples = handle.read(frames, dtype="float32", always_2d=True)
        except (OSError, RuntimeError, soundfile.LibsndfileError) as err:
            where = position / self.sample_rate
            raise AudioError(
                f"{self.path}: cannot read audio after {where:.3f} s ({_reason(err)})"
            ) from err
        finite = np.isfinite(samples)
        if not finite.all():
            first = position + int(np.argmax(~finite.all(axis=1)))
            raise AudioError(
                f"{self.path}: non-finite sample (NaN or inf) at frame {first} "
                f"({first / self.sample_rate:.3f} s): the file is corrupt"
            )
        if samples.shape[1] > 1:
            return samples.mean(axis=1, dtype=np.float32)
        return np.ascontiguousarray(samples[:, 0])


def open_audio(path: str | Path) -> AudioFile:
    """The facts of the audio file at `path`, from its header; AudioError with a one-line reason
    when it is not a readable audio file."""
    name = str(path)
    _refuse_unreadable_path(name)
    try:
        info = soundfile.info(name)
    except (OSError, RuntimeError, soundfile.LibsndfileError) as err:
        raise AudioError(f"{name}: not audio ({_reason(err)})") from err
    if info.frames <= 0:
        raise AudioError(f"{name}: no audio samples (the header declares 0 frames)")
    return AudioFile(
        path=name,
        sample_rate=int(info.samplerate),
        channels=int(info.channels),
        frames=int(info.frames),
        format=info.format,
        subtype=info.subtype,
    )


def cut_windows(
    blocks: Iterable[np.ndarray], window: int, hop: int, sample_rate: int
) -> Iterator[Window]:
    """Windows of `window` samples every `hop` samples over the concatenation of `blocks` (mono,
    at `sample_rate`), yielded as soon as the blocks hold them.

    Windows start at 0, hop, 2 * hop, ... until one reaches the end of the audio; when the audio
    from that last start is shorter than a window, the window holds it repeat-padded. So every
    sample lies in a window (unless hop > window leaves gaps), only the last window can be
    padded, and audio shorter than a window gives one padded window. Memory: the current block
    and at most one window's worth of samples. No blocks (no audio) give no windows.
    """
    _check_positive(window=window, hop=hop)
    buffer = np.zeros(0, dtype=np.float32)
    buffer_start = 0  # the sample of the audio at buffer[0]
    total = 0  # samples received
    start = 0  # the next window's start
    index = 0
    for block in blocks:
        total += len(block)
        if total <= start:  # the block lies in a gap between windows (hop > window)
            buffer, buffer_start = np.zeros(0, dtype=np.float32), total
            continue
        kept = buffer[max(0, start - buffer_start) :]
        block = block[max(0, start - (total - len(block))) :]
        buffer = np.concatenate([kept, block]) if kept.size else np.asarray(block, np.float32)
        buffer_start = total - len(buffer)
        while start + window <= total:
            offset = start - buffer_start
            samples = buffer[offset : offset + window].copy()
            yield Window(index, start, start + window, sample_rate, samples)
            start += hop
            index += 1
        buffer = buffer[max(0, start - buffer_start) :]
        buffer_start = max(buffer_start, start)
    last_stop = start - hop + window  # where the last full window ended (index > 0)
    if start < total and (index == 0 or last_stop < total):
        tail = buffer[start - buffer_start : total - buffer_start]
        yield Window(index, start, total, sample_rate, repeat_pad(tail, window))


def resample_blocks(
    blocks: Iterable[np.ndarray], orig_rate: int, new_rate: int
) -> Iterator[np.ndarray]:
    """Mono float32 blocks at `orig_rate` resampled to `new_rate` as they come (Resampler):
    their concatenation is the resample of the whole; no block is empty. An array in memory is
    `resample_blocks([array], ...)`."""
    resampler = Resampler(orig_rate, new_rate)
    for block in blocks:
        resampled = resampler.push(block)
        if resampled.size:
            yield resampled
    tail = resampler.finish()
    if tail.size:
        yield tail


def repeat_pad(samples: np.ndarray, length: int) -> np.ndarray:
    """`samples` cut to `length`, or tiled to it when shorter (the official evaluation's
    padding of a short utterance)."""
    if len(samples) >= length:
        return samples[:length]
    return np.tile(samples, -(-length // len(samples)))[:length]


def resampled_length(frames: int, orig_rate: int, new_rate: int) -> int:
    """Samples that `frames` frames at `orig_rate` give at `new_rate` (torchaudio's rule)."""
    if orig_rate == new_rate:
        return frames
    gcd = math.gcd(orig_rate, new_rate)
    return -(-frames * (new_rate // gcd) // (orig_rate // gcd))


class Resampler:
    """torchaudio's `resample(x, orig_rate, new_rate)` (default filter) fed in blocks: the
    concatenation of every `push(block)` and the final `finish()` is the resample of the
    concatenated blocks, up to float32 rounding of the convolution's sums (see the module
    docstring).

    `resample` zero-pads the input by `width` before and `width + orig_step` after and
    convolves with stride `orig_step`: step k gives output samples [k * new_step, (k + 1) *
    new_step) from input [k * orig_step - width, (k + 1) * orig_step + width). A pushed block
    completes every step whose input has arrived; the `2 * width + orig_step` samples at most
    that later steps still need are kept. Memory: one block and that context.
    """

    def __init__(self, orig_rate: int, new_rate: int) -> None:
        _check_positive(orig_rate=orig_rate, new_rate=new_rate)
        gcd = math.gcd(orig_rate, new_rate)
        self.orig_rate = orig_rate
        self.new_rate = new_rate
        self.orig_step = orig_rate // gcd
        self.new_step = new_rate // gcd
        self.identity = orig_rate == new_rate
        self._kernel: torch.Tensor | None = None
        width = 0
        if not self.identity:
            self._kernel, width = _sinc_kernel(orig_rate, new_rate)
        self.width = width
        # `pending[0]` is input sample `step * orig_step - width`; before the start, zeros.
        self._pending = np.zeros(width, dtype=np.float32)
        self._step = 0
        self._received = 0
        self._emitted = 0
        self._finished = False

    @property
    def context(self) -> int:
        """Input samples past a step's own that its outputs depend on."""
        return self.width

    def push(self, samples: np.ndarray) -> np.ndarray:
        """The output samples that `samples` (the next input, mono float32) complete."""
        if self._finished:
            raise RuntimeError("Resampler.push after finish")
        samples = np.asarray(samples, dtype=np.float32)
        self._received += len(samples)
        if self.identity:
            self._emitted += len(samples)
            return samples
        self._pending = np.concatenate([self._pending, samples])
        complete = (self._received - self.width) // self.orig_step  # steps with all their input
        return self._run(complete)

    def finish(self) -> np.ndarray:
        """The rest of the output, the input's end zero-padded; the total length is then
        `resampled_length(input length, orig_rate, new_rate)`."""
        if self._finished:
            raise RuntimeError("Resampler.finish called twice")
        self._finished = True
        if self.identity:
            return np.zeros(0, dtype=np.float32)
        total = resampled_length(self._received, self.orig_rate, self.new_rate)
        last = -(-total // self.new_step)  # steps that give the output's samples
        needed = (last - self._step) * self.orig_step + 2 * self.width
        if len(self._pending) < needed:
            padding = np.zeros(needed - len(self._pending), dtype=np.float32)
            self._pending = np.concatenate([self._pending, padding])
        remaining = total - self._emitted
        return self._run(last)[:remaining]

    def _run(self, until: int) -> np.ndarray:
        """Output of steps [step, until), dropping the input that no later step needs."""
        import torch

        count = until - self._step
        if count <= 0:
            return np.zeros(0, dtype=np.float32)
        span = count * self.orig_step + 2 * self.width
        segment = torch.from_numpy(self._pending[:span])
        with torch.no_grad():
            output = torch.nn.functional.conv1d(
                segment[None, None], self._kernel, stride=self.orig_step
            )
        self._pending = self._pending[count * self.orig_step :]
        self._step = until
        resampled = output[0].transpose(0, 1).reshape(-1).numpy()
        self._emitted += len(resampled)
        return resampled


@functools.lru_cache(maxsize=8)
def _sinc_kernel(orig_rate: int, new_rate: int) -> tuple[torch.Tensor, int]:
    """The polyphase kernels `(new_step, 1, taps)` and their `width` that
    `torchaudio.functional.resample` builds for a float32 waveform (Resample with
    dtype=float32 computes them the same way: in float32), made once per pair of rates."""
    import torch
    import torchaudio.transforms  # importing it costs about a second: only when resampling

    resample = torchaudio.transforms.Resample(orig_rate, new_rate, dtype=torch.float32)
    return resample.kernel, int(resample.width)


def _refuse_unreadable_path(path: str) -> None:
    """AudioError with the reason when `path` cannot be an audio file that soundfile opens:
    libsndfile would say only `System error.` or `Format not recognised.` for these."""
    try:
        link = os.lstat(path)
    except FileNotFoundError:
        raise AudioError(f"{path}: no such file") from None
    except OSError as err:
        raise AudioError(f"{path}: {_os_reason(err)}") from None
    if stat.S_ISLNK(link.st_mode):
        try:
            os.stat(path)
        except FileNotFoundError:
            raise AudioError(f"{path}: broken symbolic link to {os.readlink(path)}") from None
        except OSError as err:
            if err.errno == errno.ELOOP:
                raise AudioError(f"{path}: symbolic link loop (to {os.readlink(path)})") from None
            raise AudioError(f"{path}: {_os_reason(err)}") from None
    status = os.stat(path)
    if stat.S_ISDIR(status.st_mode):
        raise AudioError(f"{path}: a directory, not an audio file")
    if not stat.S_ISREG(status.st_mode):
        raise AudioError(f"{path}: not a regular file ({_file_kind(status.st_mode)})")
    if status.st_size == 0:
        raise AudioError(f"{path}: empty file (0 bytes)")
    try:
        with open(path, "rb"):
            pass
    except OSError as err:
        raise AudioError(f"{path}: {_os_reason(err)}") from None


def _os_reason(err: OSError) -> str:
    if isinstance(err, PermissionError):
        return "permission denied"
    return (err.strerror or str(err)).lower()


def _file_kind(mode: int) -> str:
    kinds = {
        stat.S_ISFIFO: "a named pipe",
        stat.S_ISSOCK: "a socket",
        stat.S_ISCHR: "a character device",
        stat.S_ISBLK: "a block device",
    }
    return next((kind for test, kind in kinds.items() if test(mode)), "a special file")


def _reason(err: Exception) -> str:
    """libsndfile's own words for an error (soundfile puts them in `error_string`)."""
    reason = getattr(err, "error_string", None) or str(err)
    return reason.strip().rstrip(".")


def _check_positive(**values: int) -> None:
    for name, value in values.items():
        if value < 1:
            raise ValueError(f"{name} must be positive, not {value}")

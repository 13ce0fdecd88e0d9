"""antispoof.data.stream: a file's facts from its header or a one-line reason it is not audio;
its first window, blocks and scoring windows equal to the whole-file read of read_any_audio
(resampled in blocks), read lazily and only as far as needed."""

from __future__ import annotations

import ast
import itertools
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch
import torchaudio.functional

from antispoof.data.audio import AudioError
from antispoof.data.stream import (
    BLOCK_FRAMES,
    Resampler,
    cut_windows,
    open_audio,
    repeat_pad,
    resample_blocks,
    resampled_length,
)
from antispoof.scoring import read_any_audio

RATE = 16000
WINDOW = 64600  # AASIST's window
# Blocked resampling equals the whole-file resample up to float32 rounding of the convolution's
# sums (torch picks its algorithm by input size); measured under 3e-7 on these signals.
TOLERANCE = 1e-6


def write_noise(path: Path, frames: int, rate: int, channels: int = 1, seed: int = 0) -> Path:
    """Seeded noise in [-1, 1] as a float WAV (read back exactly)."""
    rng = np.random.default_rng(seed)
    samples = np.clip(0.3 * rng.standard_normal((frames, channels)), -1, 1).astype(np.float32)
    soundfile.write(path, samples, rate, subtype="FLOAT")
    return path


def whole_file(path: Path) -> np.ndarray:
    return read_any_audio(path, RATE)[0]


def error_of(path: str | Path) -> str:
    with pytest.raises(AudioError) as caught:
        open_audio(path)
    return str(caught.value)


# Opening: facts from the header, or a one-line reason


def test_open_gives_the_header_facts_and_what_reading_changes(tmp_path):
    path = write_noise(tmp_path / "stereo.wav", 44100 * 3 + 7, 44100, channels=2)
    audio = open_audio(path)
    assert (audio.sample_rate, audio.channels, audio.frames) == (44100, 2, 44100 * 3 + 7)
    assert audio.duration == pytest.approx(3 + 7 / 44100)
    assert audio.shorter_than(3.5) and not audio.shorter_than(3.0)
    wav, changes = read_any_audio(path, RATE)
    assert audio.samples_at(RATE) == len(wav)
    assert audio.changes(RATE) == changes
    assert open_audio(write_noise(tmp_path / "a.wav", 100, RATE)).changes(RATE) == []


def test_a_one_sample_file_is_shorter_than_any_minimum(tmp_path):
    audio = open_audio(write_noise(tmp_path / "one.wav", 1, RATE))
    assert audio.frames == 1 and audio.duration == 1 / RATE
    assert audio.shorter_than(0.1)


def test_an_empty_file_is_named_with_its_size(tmp_path):
    (tmp_path / "empty.wav").write_bytes(b"")
    assert error_of(tmp_path / "empty.wav") == f"{tmp_path / 'empty.wav'}: empty file (0 bytes)"


def test_a_file_that_is_not_audio_gives_libsndfiles_reason(tmp_path):
    (tmp_path / "notes.wav").write_text("not audio\n")
    assert error_of(tmp_path / "notes.wav") == (
        f"{tmp_path / 'notes.wav'}: not audio (Format not recognised)"
    )
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(20))
    message = error_of(corrupt)
    assert message.startswith(f"{corrupt}: not audio (") and "\n" not in message


def test_a_header_without_frames_holds_no_audio(tmp_path):
    soundfile.write(tmp_path / "header_only.wav", np.zeros(0, dtype=np.float32), RATE)
    assert error_of(tmp_path / "header_only.wav") == (
        f"{tmp_path / 'header_only.wav'}: no audio samples (the header declares 0 frames)"
    )


def test_links_that_lead_nowhere_are_named_with_their_target(tmp_path):
    (tmp_path / "broken.wav").symlink_to("../gone/x.wav")
    assert error_of(tmp_path / "broken.wav") == (
        f"{tmp_path / 'broken.wav'}: broken symbolic link to ../gone/x.wav"
    )
    (tmp_path / "loop.wav").symlink_to("loop.wav")
    assert (
        error_of(tmp_path / "loop.wav")
        == f"{tmp_path / 'loop.wav'}: symbolic link loop (to loop.wav)"
    )


def test_a_link_to_audio_is_read_through(tmp_path):
    write_noise(tmp_path / "real.wav", 1000, RATE)
    (tmp_path / "link.wav").symlink_to("real.wav")
    assert open_audio(tmp_path / "link.wav").frames == 1000


def test_missing_files_directories_and_special_files_are_refused(tmp_path):
    assert error_of(tmp_path / "absent.wav") == f"{tmp_path / 'absent.wav'}: no such file"
    (tmp_path / "dir.wav").mkdir()
    assert (
        error_of(tmp_path / "dir.wav") == f"{tmp_path / 'dir.wav'}: a directory, not an audio file"
    )
    os.mkfifo(tmp_path / "pipe.wav")  # opening it to read would wait for a writer forever
    assert error_of(tmp_path / "pipe.wav") == (
        f"{tmp_path / 'pipe.wav'}: not a regular file (a named pipe)"
    )


def test_a_file_without_read_permission_is_refused(tmp_path):
    # Root reads any file whatever its mode: as root, the check runs in a child process that
    # has given up root (the file lies in a directory anyone may enter).
    with tempfile.TemporaryDirectory() as folder:
        os.chmod(folder, 0o755)
        path = write_noise(Path(folder) / "locked.wav", 100, RATE)
        path.chmod(0)
        assert open_as_unprivileged_user(path) == f"{path}: permission denied"


def open_as_unprivileged_user(path: Path) -> str:
    """open_audio's error for `path`, as a user without root's right to read anything."""
    if os.geteuid() != 0:
        return error_of(path)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        try:
            os.setgid(65534)
            os.setuid(65534)  # nobody
            open_audio(path)
            message = "no error"
        except AudioError as err:
            message = str(err)
        except BaseException as err:
            message = f"unexpected {err!r}"
        os.write(write_end, message.encode())
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        message = pipe.read().decode()
    os.waitpid(pid, 0)
    return message


def test_non_finite_samples_are_named_with_their_time(tmp_path):
    samples = np.zeros(RATE * 2, dtype=np.float32)
    samples[24000] = np.nan
    soundfile.write(tmp_path / "nan.wav", samples, RATE, subtype="FLOAT")
    audio = open_audio(tmp_path / "nan.wav")
    expected = f"{tmp_path / 'nan.wav'}: non-finite sample (NaN or inf) at frame 24000 (1.500 s)"
    with pytest.raises(
        AudioError, match=r"at frame 24000 \(1\.500 s\): the file is corrupt$"
    ) as caught:
        list(audio.blocks(RATE, block_frames=5000))
    assert str(caught.value).startswith(expected)
    with pytest.raises(AudioError, match="at frame 24000"):
        audio.first_window(RATE, 30000)


# Blocks: the whole-file read, resampled in blocks


@pytest.mark.parametrize("rate", [8000, 22050, 44100, 48000])
@pytest.mark.parametrize("channels", [1, 2])
def test_blocks_are_the_whole_file_read_resampled(tmp_path, rate, channels):
    block_frames = 4096  # not a multiple of the resampler's step at any of these rates
    step = Resampler(rate, RATE).orig_step
    # Lengths ending just before, on and after a block edge and a step of the polyphase grid.
    for frames in (
        1,
        5,
        max(1, step - 1),
        block_frames,
        block_frames + 1,
        3 * block_frames + step + 2,
    ):
        path = write_noise(tmp_path / f"{frames}.wav", frames, rate, channels, seed=frames)
        expected = whole_file(path)
        blocks = list(open_audio(path).blocks(RATE, block_frames))
        got = np.concatenate(blocks)
        assert got.dtype == np.float32 and got.shape == expected.shape, frames
        np.testing.assert_allclose(got, expected, rtol=0, atol=TOLERANCE, err_msg=str(frames))
        assert all(block.size for block in blocks)
        # A block holds what one read of block_frames gives, plus the context kept back.
        bound = (block_frames // step + 2) * Resampler(rate, RATE).new_step
        assert max(len(block) for block in blocks) <= bound


def test_blocks_at_the_models_rate_are_the_samples_themselves(tmp_path):
    path = write_noise(tmp_path / "mono.wav", 3 * 4096 + 5, RATE)
    assert np.array_equal(
        np.concatenate(list(open_audio(path).blocks(RATE, 4096))), whole_file(path)
    )
    stereo = write_noise(tmp_path / "stereo.wav", 3 * 4096 + 5, RATE, channels=2)
    got = np.concatenate(list(open_audio(stereo).blocks(RATE, 4096)))
    assert np.array_equal(got, whole_file(stereo))


@pytest.mark.parametrize("suffix,format", [("flac", "FLAC"), ("ogg", "OGG"), ("mp3", "MP3")])
def test_compressed_files_read_in_blocks_as_whole(tmp_path, suffix, format):
    samples = np.random.default_rng(0).uniform(-0.5, 0.5, (3 * 4096 + 11, 2)).astype(np.float32)
    path = tmp_path / f"x.{suffix}"
    soundfile.write(path, samples, 44100, format=format)
    got = np.concatenate(list(open_audio(path).blocks(RATE, 4096)))
    np.testing.assert_allclose(got, whole_file(path), rtol=0, atol=TOLERANCE)


def test_a_truncated_file_is_read_as_far_as_it_goes(tmp_path):
    # An interrupted copy: the data stops mid-file. Both reads take what is there.
    path = write_noise(tmp_path / "full.wav", 100000, 44100, channels=2)
    (tmp_path / "cut.wav").write_bytes(path.read_bytes()[: 400000 + 7])
    got = np.concatenate(list(open_audio(tmp_path / "cut.wav").blocks(RATE, 7000)))
    expected = whole_file(tmp_path / "cut.wav")
    assert len(got) == len(expected) == open_audio(tmp_path / "cut.wav").samples_at(RATE)
    np.testing.assert_allclose(got, expected, rtol=0, atol=TOLERANCE)


def test_default_blocks_equal_the_whole_file_read(tmp_path):
    path = write_noise(tmp_path / "long.wav", 2 * BLOCK_FRAMES + 1234, 44100, channels=2)
    got = np.concatenate(list(open_audio(path).blocks(RATE)))
    np.testing.assert_allclose(got, whole_file(path), rtol=0, atol=TOLERANCE)


@pytest.mark.parametrize("rate,new_rate", [(44100, 16000), (48000, 16000), (16000, 22050)])
def test_resampler_fed_any_pieces_equals_torchaudios_resample(rate, new_rate):
    signal = np.random.default_rng(3).uniform(-1, 1, 5000).astype(np.float32)
    expected = torchaudio.functional.resample(torch.from_numpy(signal), rate, new_rate).numpy()
    resampler = Resampler(rate, new_rate)
    edges = [0, 1, 2, 3, 50, 441, 442, 1000, 1001, 4000, 5000]  # pieces of 1 sample and more
    pieces = [resampler.push(signal[a:b]) for a, b in itertools.pairwise(edges)]
    got = np.concatenate([*pieces, resampler.finish()])
    assert len(got) == resampled_length(5000, rate, new_rate) == len(expected)
    np.testing.assert_allclose(got, expected, rtol=0, atol=TOLERANCE)
    pieces = [signal[a:b] for a, b in itertools.pairwise(edges)]
    got = np.concatenate(list(resample_blocks(pieces, rate, new_rate)))
    np.testing.assert_allclose(got, expected, rtol=0, atol=TOLERANCE)


# The first window


@pytest.mark.parametrize("rate", [8000, 16000, 22050, 44100, 48000])
def test_the_first_window_is_the_start_of_the_whole_file_read(tmp_path, rate):
    path = write_noise(tmp_path / "long.wav", rate * 6, rate, channels=2)
    window = open_audio(path).first_window(RATE, WINDOW)
    assert window.dtype == np.float32 and window.shape == (WINDOW,)
    np.testing.assert_allclose(window, whole_file(path)[:WINDOW], rtol=0, atol=TOLERANCE)


@pytest.mark.parametrize("rate", [16000, 44100])
def test_a_file_shorter_than_the_window_is_tiled_whole(tmp_path, rate):
    path = write_noise(tmp_path / "short.wav", rate // 10, rate)
    whole = whole_file(path)
    expected = np.tile(whole, WINDOW // len(whole) + 1)[:WINDOW]  # the official AASIST pad
    np.testing.assert_allclose(
        open_audio(path).first_window(RATE, WINDOW), expected, rtol=0, atol=TOLERANCE
    )
    one = write_noise(tmp_path / "one.wav", 1, RATE)
    assert np.array_equal(
        open_audio(one).first_window(RATE, WINDOW), np.full(WINDOW, whole_file(one)[0])
    )


@pytest.mark.parametrize("rate", [16000, 44100])
def test_the_first_window_reads_no_further_than_it_needs(tmp_path, rate):
    # A NaN just past the input the first window depends on is never read; one frame earlier it
    # is read and refused. (The resampler needs `context` frames past the window's last step.)
    resampler = Resampler(rate, RATE)
    steps = -(-WINDOW // resampler.new_step)
    needed = steps * resampler.orig_step + resampler.context
    for nan_at, read in ((needed, False), (needed - 1, True)):
        samples = np.random.default_rng(0).uniform(-0.5, 0.5, rate * 10).astype(np.float32)
        samples[nan_at] = np.nan
        path = tmp_path / f"nan_{nan_at}.wav"
        soundfile.write(path, samples, rate, subtype="FLOAT")
        audio = open_audio(path)
        if read:
            with pytest.raises(AudioError, match=f"at frame {nan_at} "):
                audio.first_window(RATE, WINDOW)
        else:
            clean = samples.copy()
            clean[nan_at:] = 0.0  # what follows cannot change the first window
            soundfile.write(tmp_path / "clean.wav", clean, rate, subtype="FLOAT")
            np.testing.assert_allclose(
                audio.first_window(RATE, WINDOW),
                whole_file(tmp_path / "clean.wav")[:WINDOW],
                rtol=0,
                atol=TOLERANCE,
            )


# Windows


def expected_windows(whole: np.ndarray, window: int, hop: int) -> list[tuple[int, int, np.ndarray]]:
    """(start, stop, samples) of every window, spelled out from the whole signal."""
    windows = []
    start = 0
    while True:
        stop = min(start + window, len(whole))
        windows.append((start, stop, repeat_pad(whole[start:stop], window)))
        if start + window >= len(whole) or start + hop >= len(whole):
            return windows
        start += hop


@pytest.mark.parametrize(
    "seconds,hop",
    [
        (10.0, WINDOW // 2),  # a padded tail after overlapping windows
        (10.0, WINDOW),  # back to back
        ((WINDOW + 3 * 32000) / RATE, 32000),  # the last window ends exactly at the end
        (1.0, WINDOW // 2),  # shorter than one window
        (20.0, 2 * WINDOW),  # gaps between windows
    ],
)
def test_windows_cover_the_file_and_pad_only_the_tail(tmp_path, seconds, hop):
    path = write_noise(tmp_path / "x.wav", round(seconds * 44100), 44100, channels=2)
    whole = whole_file(path)
    got = list(open_audio(path).windows(RATE, WINDOW, hop, block_frames=20000))
    expected = expected_windows(whole, WINDOW, hop)
    assert [(w.start, w.stop) for w in got] == [(start, stop) for start, stop, _ in expected]
    for window, (start, stop, samples) in zip(got, expected, strict=True):
        np.testing.assert_allclose(window.samples, samples, rtol=0, atol=TOLERANCE)
        assert window.samples.dtype == np.float32
        assert window.start_s == start / RATE and window.end_s == stop / RATE
        assert window.padded == (stop - start < WINDOW)
    assert [w.index for w in got] == list(range(len(got)))
    assert sum(w.padded for w in got) <= 1 and (not got[-1].padded or got[-1].stop == len(whole))


def test_a_file_shorter_than_a_window_gives_one_window_equal_to_the_first_window(tmp_path):
    path = write_noise(tmp_path / "short.wav", 22050, 22050)
    audio = open_audio(path)
    (window,) = audio.windows(RATE, WINDOW, WINDOW // 2)
    assert window.padded and (window.start, window.stop) == (0, audio.samples_at(RATE))
    np.testing.assert_array_equal(window.samples, audio.first_window(RATE, WINDOW))


def test_windows_are_yielded_as_the_blocks_arrive():
    # Blocks that end in an error: the windows they completed come out first.
    def blocks():
        for _ in range(5):
            yield np.ones(10000, dtype=np.float32)
        raise AudioError("x.wav: cannot read audio after 3.125 s (Unexpected end of file)")

    seen = []
    with pytest.raises(AudioError):
        for window in cut_windows(blocks(), 16000, 8000, RATE):
            seen.append(window.start)
    assert seen == [0, 8000, 16000, 24000, 32000]  # all that 50,000 samples hold


def test_windows_are_copies_that_outlive_their_blocks():
    block = np.arange(40000, dtype=np.float32)
    windows = list(cut_windows([block], 16000, 16000, RATE))
    assert not any(np.shares_memory(window.samples, block) for window in windows)
    block[:] = -1
    assert windows[1].samples[0] == 16000


def test_a_non_finite_sample_stops_the_windows_where_it_lies(tmp_path):
    samples = np.random.default_rng(0).uniform(-0.5, 0.5, RATE * 20).astype(np.float32)
    samples[RATE * 15] = np.inf
    soundfile.write(tmp_path / "inf.wav", samples, RATE, subtype="FLOAT")
    starts = []
    with pytest.raises(AudioError, match=r"at frame 240000 \(15\.000 s\)"):
        for window in open_audio(tmp_path / "inf.wav").windows(RATE, 32000, 32000, 40000):
            starts.append(window.start)
    # Blocks of 40,000 frames: the seventh holds the sample; windows up to 240,000 came out.
    assert starts == list(range(0, 240000 - 32000 + 1, 32000))


def test_window_and_hop_must_be_positive():
    with pytest.raises(ValueError, match="hop must be positive"):
        list(cut_windows([np.zeros(10, np.float32)], 4, 0, RATE))


def test_the_module_imports_neither_torch_nor_a_model():
    code = (
        "import sys, antispoof.data.stream; "
        "print(sorted(m for m in sys.modules if m == 'torch' or m.startswith('antispoof.')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    loaded = ast.literal_eval(result.stdout)
    assert loaded == ["antispoof.data", "antispoof.data.audio", "antispoof.data.stream"]

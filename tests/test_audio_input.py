"""Bad audio is refused at the door: non-finite samples, wav.scp forms the reader cannot read,
and errors met in a split part that name the line of the original data directory."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile
import yaml

from antispoof.data.audio import AudioError, read_audio, scan_audio, unsupported_wav_scp_value
from antispoof.data.datadir import LineOrigin, line_origin, split_data_dir
from antispoof.data.dataset import AudioTable
from toy_data import make_toy_data_dir

FRONTEND = {"frontend": "lfcc", "frontend_conf": {"sample_rate": 16000}}


def float_wav(path: Path, samples: np.ndarray, rate: int = 16000) -> Path:
    soundfile.write(path, samples.astype(np.float32), rate, subtype="FLOAT")
    return path


def with_bad_sample(size: int, index: int, value: float, channels: int = 1) -> np.ndarray:
    samples = np.full((size, channels), 0.1, dtype=np.float32)
    samples[index, channels - 1] = value
    return samples


# ---------------------------------------------------------------------------------------------
# reading


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("channels", [1, 2])
def test_non_finite_samples_are_refused(tmp_path, value, channels):
    path = float_wav(tmp_path / "bad.wav", with_bad_sample(16000, 8000, value, channels))
    expected = rf"wav.scp:7: {path} holds 1 non-finite sample\(s\) .* at frame 8000 \(0.500 s\)"
    with pytest.raises(AudioError, match=expected):
        read_audio(str(path), "data/x/wav.scp:7")
    with pytest.raises(AudioError, match=expected):
        scan_audio(str(path), "data/x/wav.scp:7")


def test_scan_reads_the_whole_file_in_blocks(tmp_path, monkeypatch):
    monkeypatch.setattr("antispoof.data.audio.SCAN_BLOCK_FRAMES", 1000)
    samples = with_bad_sample(5500, 4321, np.nan)
    samples[5000, 0] = np.inf
    path = float_wav(tmp_path / "late.wav", samples)
    with pytest.raises(AudioError, match=r"holds 2 non-finite sample\(s\).* at frame 4321 "):
        scan_audio(str(path))
    good = float_wav(tmp_path / "good.wav", np.full(5500, 0.1))
    assert scan_audio(str(good)) == 5500
    assert read_audio(str(good)).shape == (5500,)


def test_scan_refuses_what_read_audio_refuses(tmp_path):
    wrong_rate = float_wav(tmp_path / "8k.wav", np.zeros(800), rate=8000)
    empty = float_wav(tmp_path / "empty.wav", np.zeros(0))
    corrupt = tmp_path / "corrupt.flac"
    corrupt.write_bytes(b"fLaC not really")
    for path, message in [
        (wrong_rate, "has sample rate 8000, expected 16000"),
        (empty, "is empty"),
        (corrupt, "cannot read audio"),
        (tmp_path / "missing.wav", "cannot read audio"),
    ]:
        for reader in (read_audio, scan_audio):
            with pytest.raises(AudioError, match=rf"w.scp:3: .*{message}"):
                reader(str(path), "w.scp:3")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("sox x.wav -t wav - |", "pipe commands are not supported"),
        ("/data/raw.ark:1234", "ark offsets are not supported"),
        ("/data/raw.ark:1234[0:99]", "ark offsets are not supported"),
        ("-", "standard input"),
    ],
)
def test_kaldi_forms_other_than_a_path_are_refused_by_the_reader(value, message):
    assert message in unsupported_wav_scp_value(value)
    with pytest.raises(AudioError, match=rf"^wav.scp:2: {message}"):
        read_audio(value, "wav.scp:2")


def test_plain_paths_are_accepted_forms():
    for value in ("/data/a.flac", "rel/a b.wav", "C_12.wav", "x:y.wav"):
        assert unsupported_wav_scp_value(value) is None


# ---------------------------------------------------------------------------------------------
# split parts name the line of the original directory


@pytest.fixture
def toy_dir(tmp_path, monkeypatch) -> Path:
    """data/train of 7 utterances, in the current directory (relative paths, as in a recipe)."""
    monkeypatch.chdir(tmp_path)
    make_toy_data_dir(tmp_path, "train", 7, 0)
    return Path("data/train")


def test_split_parts_record_their_origin(toy_dir):
    parts = split_data_dir(toy_dir, 3)  # 3, 2 and 2 utterances
    assert [line_origin(part) for part in parts] == [
        LineOrigin(toy_dir, 1),
        LineOrigin(toy_dir, 4),
        LineOrigin(toy_dir, 6),
    ]
    assert line_origin(parts[1]).where(2) == "data/train/wav.scp:5"
    assert line_origin(toy_dir).where(2, "utt2label") == "data/train/utt2label:2"
    # A part of a part still names the original directory.
    nested = split_data_dir(parts[1], 2)
    assert line_origin(nested[1]).where(1) == "data/train/wav.scp:5"
    # The origin is relative to the part: it survives moving the whole tree.
    Path("data").rename("moved")
    assert line_origin("moved/train/split3/3").where(1) == "moved/train/wav.scp:6"


def test_a_split_without_origins_is_made_again(toy_dir):
    parts = split_data_dir(toy_dir, 2)
    for part in parts:  # as a split made before parts recorded their origin
        (part / "split_origin").unlink()
    split_data_dir(toy_dir, 2)
    assert line_origin(parts[1]).first_line == 5


def test_bad_audio_in_a_part_names_the_original_wav_scp_line(toy_dir, tmp_path):
    wav_scp = toy_dir / "wav.scp"
    lines = wav_scp.read_text().splitlines()
    utt = lines[4].split()[0]  # line 5: the second utterance of part 2 of 3
    bad = float_wav(tmp_path / "nan.wav", with_bad_sample(16000, 10, np.nan))
    lines[4] = f"{utt} {bad}"
    wav_scp.write_text("".join(f"{line}\n" for line in lines))
    part = split_data_dir(toy_dir, 3)[1]
    expected = r"^data/train/wav.scp:5: .*nan.wav holds 1 non-finite sample"

    with pytest.raises(AudioError, match=expected):
        AudioTable(part, 16000).read(utt)

    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"inputs": {"lfcc": FRONTEND}}))
    command = [sys.executable, "-m", "antispoof.bin.make_feats", "--config", str(config)]
    result = subprocess.run(
        [
            *command,
            "--branch",
            "lfcc",
            "--ngpu",
            "0",
            "--data_dir",
            str(part),
            "--out",
            "dump/feats.2",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 1
    assert f"make_feats: error: data/train/wav.scp:5: {bad} holds 1 non-finite" in result.stderr
    assert "split3" not in result.stderr
    assert not Path("dump/feats.2.scp").exists()

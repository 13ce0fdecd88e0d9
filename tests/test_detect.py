"""`detect`: any audio file or folder scored with an experiment (a tiny one trained here) or a
published model; the `first` inference mode; in-memory waveforms scored by the same segment
logic as a data directory."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch
import torchaudio.functional
import yaml

from antispoof.bin import detect, score
from antispoof.config import resolve_file, save_config
from antispoof.data.audio import AudioError
from antispoof.data.dataset import ExampleReader, InMemoryAudio, ScoringExamples, collate
from antispoof.data.kaldi_files import write_table
from antispoof.evaluation.calibration import fit_calibration, write_calibration
from antispoof.experiment import load_detector
from antispoof.markers import stage_inputs, write_marker
from antispoof.registry import ConfigError
from antispoof.scoring import read_any_audio, score_waveforms, scoring_reader
from antispoof.training.trainer import Trainer, TrainingData
from tiny_configs import tiny_detector
from toy_data import make_toy_data_dir

RATE = 16000
CPU = torch.device("cpu")
# The readable files of the `clips` folder, as detect lists them (sorted, recursively).
READABLE = [
    "a_16k.flac",
    "b_float32.wav",
    "c_44k_stereo.wav",
    "d_short.wav",
    "e/long_30s.flac",
    "g_vorbis.ogg",
    "h_22k.mp3",
]
AT_MODEL_RATE = ["a_16k.flac", "b_float32.wav", "d_short.wav", "e/long_30s.flac"]


def tone(seconds: float, rate: int, f0: float = 180.0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    wave = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 5))
    wave = wave + 0.05 * rng.standard_normal(t.size)
    return (0.3 * wave / np.abs(wave).max()).astype(np.float32)


def make_clips(folder: Path) -> Path:
    """One file of each kind detect must read, a corrupt one, and one that is not audio."""
    (folder / "e").mkdir(parents=True)
    soundfile.write(folder / "a_16k.flac", tone(1.5, RATE), RATE)
    noise = np.random.default_rng(1).uniform(-0.5, 0.5, 2 * RATE).astype(np.float32)
    soundfile.write(folder / "b_float32.wav", noise, RATE, subtype="FLOAT")
    stereo = np.stack([tone(1.2, 44100, 150), tone(1.2, 44100, 210, seed=2)], axis=1)
    soundfile.write(folder / "c_44k_stereo.wav", stereo, 44100)
    soundfile.write(folder / "d_short.wav", tone(0.2, RATE, 230), RATE)
    soundfile.write(folder / "e/long_30s.flac", tone(30.0, RATE, 120, seed=3), RATE)
    (folder / "f_corrupt.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(20))
    soundfile.write(folder / "g_vorbis.ogg", tone(1.0, RATE, 200), RATE, format="OGG")
    soundfile.write(folder / "h_22k.mp3", tone(2.5, 22050, 170), 22050, format="MP3")
    (folder / "notes.txt").write_text("not audio\n")
    return folder


def train(root: Path, name: str, spec: dict) -> Path:
    (root / f"{name}.yaml").write_text(yaml.safe_dump(spec))
    config = resolve_file(root / f"{name}.yaml")
    exp_dir = root / "exp" / name
    save_config(config, exp_dir / "config.yaml")
    data = TrainingData(root / "data/train", root / "data/dev")
    Trainer(exp_dir, config, data, CPU).run()
    return exp_dir


@pytest.fixture(scope="module")
def toy(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("detect")
    make_toy_data_dir(root, "train", 24, 0)
    make_toy_data_dir(root, "dev", 12, 1)
    tiny = tiny_detector(crop_seconds=1.0, epochs=2)
    return {
        "root": root,
        "ocsoftmax": train(root, "ocsoftmax", tiny),
        "softmax": train(root, "softmax", {**tiny, "loss": "softmax"}),
        "clips": make_clips(root / "clips"),
    }


@pytest.fixture
def run_detect(capsys, caplog):
    """detect.main with JSON output: (exit status, rows, what it logged)."""
    caplog.set_level(logging.INFO)

    def run(*args: str) -> tuple[int, list[dict], str]:
        caplog.clear()
        status = detect.main(["--ngpu", "0", "--format", "json", *args])
        return status, json.loads(capsys.readouterr().out), caplog.text

    return run


def relative(rows: list[dict], folder: Path) -> list[str]:
    return [Path(row["path"]).relative_to(folder).as_posix() for row in rows]


def test_detect_scores_a_folder_of_mixed_audio_and_reports_the_corrupt_file(toy):
    command = [sys.executable, "-m", "antispoof.bin.detect", "--ngpu", "0"]
    result = subprocess.run(
        [*command, "--model", str(toy["ocsoftmax"]), str(toy["clips"])],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1, result.stderr[-3000:]
    lines = [line.split("\t") for line in result.stdout.splitlines()]
    assert [Path(fields[0]).relative_to(toy["clips"]).as_posix() for fields in lines] == READABLE
    assert all(len(fields) == 3 and np.isfinite(float(fields[1])) for fields in lines)
    # OC-Softmax, no calibration and no dev threshold: no decision, and the log says why.
    assert {fields[2] for fields in lines} == {"-"}
    assert "no natural decision boundary" in result.stderr
    corrupt = next(line for line in result.stderr.splitlines() if "f_corrupt.wav" in line)
    assert "skipped" in corrupt and "cannot read audio" in corrupt
    assert "1 of 8 input(s) could not be scored" in result.stderr
    assert "resampled from 44100 Hz to 16000 Hz" in result.stderr
    assert "2 channels averaged to mono" in result.stderr
    assert "notes.txt" not in result.stdout + result.stderr


def test_detect_scores_files_as_stage_4_scores_a_data_directory(toy, run_detect, tmp_path):
    clips = toy["clips"]
    status, rows, _ = run_detect("--model", str(toy["ocsoftmax"]), str(clips))
    assert status == 1  # the corrupt file
    by_path = {Path(row["path"]).relative_to(clips).as_posix(): row for row in rows}
    data_dir = tmp_path / "data"
    keys = {name: name.replace("/", "_") for name in AT_MODEL_RATE}
    write_table(data_dir / "wav.scp", {keys[name]: str(clips / name) for name in AT_MODEL_RATE})
    out = tmp_path / "scores.txt"
    exp = str(toy["ocsoftmax"])
    score.main(["--exp_dir", exp, "--data_dir", str(data_dir), "--out", str(out), "--ngpu", "0"])
    stage_4 = dict(line.split() for line in out.read_text().splitlines())
    for name in AT_MODEL_RATE:
        assert by_path[name]["score"] == pytest.approx(float(stage_4[keys[name]]), abs=1e-6)
    # A file at another rate and with two channels: the score of its mono mix, resampled.
    config, detector = load_detector(toy["ocsoftmax"])
    stereo, rate = soundfile.read(clips / "c_44k_stereo.wav", dtype="float32")
    mono = torchaudio.functional.resample(torch.from_numpy(stereo.mean(axis=1)), rate, RATE)
    expected = score_waveforms(
        detector, {"c": mono.numpy()}, config["inference"], config["train"]["crop_seconds"], CPU
    )
    assert by_path["c_44k_stereo.wav"]["score"] == pytest.approx(float(expected[0, 0]), abs=1e-6)


def test_a_softmax_experiment_decides_by_the_classifier_argmax(toy, run_detect):
    status, rows, err = run_detect(
        "--model", str(toy["softmax"]), *(str(toy["clips"] / n) for n in READABLE)
    )
    assert status == 0
    assert relative(rows, toy["clips"]) == READABLE
    # The softmax score is the log-odds (mean over segments): the argmax is its sign.
    assert [row["decision"] for row in rows] == [
        "bonafide" if row["score"] >= 0 else "spoof" for row in rows
    ]
    assert "classifier's own decision" in err
    assert all("llr" not in row for row in rows)


def test_the_dev_eer_threshold_decides_when_its_scores_are_of_this_checkpoint(toy, run_detect):
    exp_dir = toy["ocsoftmax"]
    dev = exp_dir / "dev"
    dev.mkdir(exist_ok=True)
    data_dir = toy["root"] / "data/dev"
    inputs = {
        "data_dir": data_dir,
        "config": exp_dir / "config.yaml",
        "checkpoint": exp_dir / "checkpoints/best.pt",
    }
    try:
        _, rows, _ = run_detect("--model", str(exp_dir), str(toy["clips"]))
        median = float(np.median([row["score"] for row in rows]))
        (dev / "metrics.json").write_text(json.dumps({"eer": 0.1, "eer_threshold": median}))
        write_marker(dev / ".done.score", stage_inputs("score", **inputs))
        _, rows, err = run_detect("--model", str(exp_dir), str(toy["clips"]))
        assert f"score > {median:.6g}" in err
        assert [row["decision"] for row in rows] == [
            "bonafide" if row["score"] > median else "spoof" for row in rows
        ]
        assert {row["decision"] for row in rows} == {"bonafide", "spoof"}
        # Scores of another checkpoint: their threshold is not this model's.
        other = {**inputs, "checkpoint": exp_dir / "checkpoints/last.pt"}
        write_marker(dev / ".done.score", stage_inputs("score", **other))
        _, rows, _ = run_detect("--model", str(exp_dir), "--checkpoint", "best", str(toy["clips"]))
        assert {row["decision"] for row in rows} == {None}
    finally:
        (dev / "metrics.json").unlink(missing_ok=True)
        (dev / ".done.score").unlink(missing_ok=True)


def test_a_calibrated_experiment_decides_by_its_calibration_and_gives_llrs(toy, run_detect, capsys):
    exp_dir = toy["ocsoftmax"]
    _, rows, _ = run_detect("--model", str(exp_dir), str(toy["clips"]))
    scores = np.array([row["score"] for row in rows])
    # A calibration that puts the Bayes threshold among these scores, so both decisions occur.
    median = float(np.median(scores))
    calibration = fit_calibration(scores[scores > median], scores[scores <= median], "dev")
    write_calibration(exp_dir / "calibration.json", calibration)
    try:
        _, rows, err = run_detect("--model", str(exp_dir), str(toy["clips"]))
        assert "calibrated" in err
        assert [row["llr"] for row in rows] == pytest.approx(list(calibration.llr(scores)))
        decided = calibration.decide(scores)
        assert [row["decision"] for row in rows] == [
            "bonafide" if bona else "spoof" for bona in decided
        ]
        assert {row["decision"] for row in rows} == {"bonafide", "spoof"}
        detect.main(["--ngpu", "0", "--model", str(exp_dir), str(toy["clips"] / "a_16k.flac")])
        (line,) = capsys.readouterr().out.splitlines()
        assert float(line.split("\t")[3]) == pytest.approx(rows[0]["llr"], abs=1e-6)
    finally:
        (exp_dir / "calibration.json").unlink()


def test_tsv_and_json_outputs_to_a_file(toy, run_detect, capsys, tmp_path):
    clip = str(toy["clips"] / "a_16k.flac")
    out = tmp_path / "out" / "scores.tsv"
    status = detect.main(["--ngpu", "0", "--model", str(toy["softmax"]), "--out", str(out), clip])
    assert status == 0 and capsys.readouterr().out == ""
    (line,) = out.read_text().splitlines()
    path, value, decision = line.split("\t")
    assert path == clip and decision in ("bonafide", "spoof") and float(value) == float(value)
    status, rows, _ = run_detect("--model", str(toy["softmax"]), clip)
    assert rows[0]["score"] == pytest.approx(float(value), abs=1e-6)
    assert set(rows[0]) == {"path", "score", "decision"}


def test_unknown_models_and_missing_inputs_are_errors(toy, run_detect, tmp_path):
    with pytest.raises(ValueError, match="neither an experiment directory nor a published"):
        detect.main(["--ngpu", "0", "--model", "no_such_model", str(toy["clips"])])
    with pytest.raises(ValueError, match="no audio files to score"):
        detect.main(["--ngpu", "0", "--model", str(toy["softmax"]), str(tmp_path)])
    clip = str(toy["clips"] / "a_16k.flac")
    missing = str(tmp_path / "missing.wav")
    status, rows, err = run_detect("--model", str(toy["softmax"]), missing, clip)
    assert status == 1 and [row["path"] for row in rows] == [clip]
    assert f"skipped: {missing}: no such file or folder" in err


def test_read_any_audio_refuses_empty_and_non_finite_files(tmp_path):
    soundfile.write(tmp_path / "empty.wav", np.zeros(0, dtype=np.float32), RATE)
    bad = tone(0.5, RATE)
    bad[100] = np.nan
    soundfile.write(tmp_path / "nan.wav", bad, RATE, subtype="FLOAT")
    with pytest.raises(AudioError, match="holds no samples"):
        read_any_audio(tmp_path / "empty.wav", RATE)
    with pytest.raises(AudioError, match="non-finite"):
        read_any_audio(tmp_path / "nan.wav", RATE)


def test_the_first_mode_scores_only_the_first_window(toy, tmp_path):
    config, detector = load_detector(toy["ocsoftmax"])
    crop = config["train"]["crop_seconds"]
    waves = {"long": tone(5.0, RATE, seed=4), "short": tone(0.3, RATE, seed=5)}
    segments = {**config["inference"], "mode": "segments"}
    first = {**config["inference"], "mode": "first"}
    for name, wav in waves.items():
        source = {name: wav}
        reader = _reader(detector, source, segments, crop)
        by_segments = ScoringExamples(reader, [name], RATE // 2)[0]
        (only,) = ScoringExamples(_reader(detector, source, first, crop), [name], None)[0]
        assert only["offset"] == by_segments[0]["offset"]
        assert torch.equal(only["wav"], by_segments[0]["wav"])
        assert len(by_segments) == (1 if name == "short" else 9)
        with torch.no_grad():
            expected = detector.score(collate([by_segments[0]]))
        got = score_waveforms(detector, source, first, crop, CPU)
        assert float(got[0, 0]) == pytest.approx(float(expected[0]), abs=1e-6)
    with pytest.raises(ConfigError, match="segments, first, full"):
        resolve_file_with_inference(tmp_path, {"mode": "firsts"})


def _reader(detector, source, inference, crop) -> ExampleReader:
    return scoring_reader(detector, InMemoryAudio(source, RATE), inference, crop)


def resolve_file_with_inference(root: Path, inference: dict) -> dict:
    path = root / "inference.yaml"
    path.write_text(yaml.safe_dump({**tiny_detector(), "inference": inference}))
    return resolve_file(path)


def test_help_shows_the_usage():
    result = subprocess.run(
        [sys.executable, "-m", "antispoof.bin.detect", "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0 and "FILE_OR_DIR" in result.stdout
    assert "Usage:" in result.stdout

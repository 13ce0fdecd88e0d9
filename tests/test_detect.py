"""`detect`: any audio file or folder scored window by window with an experiment (tiny ones
trained here) or a published model; the decision rules; the output formats, written as files
finish, resumable; every problem with the inputs or the output reported, nothing lost."""

from __future__ import annotations

import errno
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch
import yaml

from antispoof.bin import detect
from antispoof.config import resolve_file, save_config
from antispoof.decision import calibration_inputs
from antispoof.evaluation.calibration import fit_calibration, write_calibration
from antispoof.experiment import load_detector
from antispoof.markers import stage_inputs, write_marker
from antispoof.result_files import LineFile
from antispoof.scoring import score_waveforms
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
# Speech checks off: the toy models score tones and noise, which silero-vad rightly calls
# non-speech (the checks are tested on speech in test_inference.py).
NO_VAD = ("--min_speech_seconds", "0")


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
    soundfile.write(folder / "d_short.wav", tone(0.6, RATE, 230), RATE)
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
    """detect.main with JSON output: (exit status, the JSON object, what it logged)."""
    caplog.set_level(logging.INFO)

    def run(*args: str) -> tuple[int, dict, str]:
        caplog.clear()
        status = detect.main(["--ngpu", "0", "--format", "json", *NO_VAD, *args])
        return status, json.loads(capsys.readouterr().out), caplog.text

    return run


def relative(rows: list[dict], folder: Path) -> list[str]:
    return [Path(row["path"]).relative_to(folder).as_posix() for row in rows]


def test_a_folder_of_mixed_audio_and_the_corrupt_file_reported(toy):
    command = [sys.executable, "-m", "antispoof.bin.detect", "--ngpu", "0", *NO_VAD]
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
    assert "has no decision of its own" in result.stderr
    corrupt = next(line for line in result.stderr.splitlines() if "f_corrupt.wav" in line)
    assert "skipped" in corrupt and "not audio" in corrupt
    assert "1 of 8 input(s) could not be scored" in result.stderr
    assert "resampled from 44100 Hz to 16000 Hz" in result.stderr
    assert "2 channels averaged to mono" in result.stderr
    assert "notes.txt" not in result.stdout + result.stderr


def test_each_window_is_scored_as_an_utterance_of_its_own(toy, run_detect):
    """The long file's windows: each one's score is what stage 4's `first` mode gives an
    utterance of exactly that window; the file's score is their median."""
    status, output, _ = run_detect("--model", str(toy["ocsoftmax"]), str(toy["clips"] / "e"))
    assert status == 0
    (row,) = output["results"]
    config, detector = load_detector(toy["ocsoftmax"])
    wav, _ = soundfile.read(toy["clips"] / "e/long_30s.flac", dtype="float32")
    window = round(config["inference"]["segment_seconds"] * RATE)
    first = {**config["inference"], "mode": "first"}
    assert len(row["segments"]) == 30
    for segment in row["segments"][:3]:
        start = round(segment["start"] * RATE)
        alone = {"w": wav[start : start + window]}
        expected = score_waveforms(detector, alone, first, CPU)
        assert segment["score"] == pytest.approx(float(expected[0, 0]), abs=1e-5)
    scores = [segment["score"] for segment in row["segments"]]
    assert row["score"] == pytest.approx(float(np.median(scores)))
    assert output["window_seconds"] == 1.0 and output["hop_seconds"] == 1.0


def test_a_softmax_experiment_decides_by_the_classifier(toy, run_detect):
    status, output, log = run_detect(
        "--model", str(toy["softmax"]), *(str(toy["clips"] / n) for n in READABLE)
    )
    assert status == 0
    rows = output["results"]
    assert relative(rows, toy["clips"]) == READABLE
    # The softmax score is the log-odds: the classifier's decision is its sign.
    assert [row["decision"] for row in rows] == [
        "bonafide" if row["score"] >= 0 else "spoof" for row in rows
    ]
    assert "classifier's own decision" in log
    assert output["decision_rule"] == {"rule": "classifier", "threshold": 0.0, "on": "log_odds"}
    assert all(row["llr"] is None for row in rows)


def test_the_dev_eer_threshold_decides_when_its_scores_are_of_this_checkpoint(toy, run_detect):
    exp_dir = toy["ocsoftmax"]
    dev = exp_dir / "dev"
    dev.mkdir(exist_ok=True)
    inputs = {
        "data_dir": toy["root"] / "data/dev",
        "config": exp_dir / "config.yaml",
        "checkpoint": exp_dir / "checkpoints/best.pt",
    }
    try:
        _, output, _ = run_detect("--model", str(exp_dir), str(toy["clips"]))
        median = float(np.median([row["score"] for row in output["results"]]))
        (dev / "metrics.json").write_text(json.dumps({"eer": 0.1, "eer_threshold": median}))
        write_marker(dev / ".done.score", stage_inputs("score", **inputs))
        _, output, log = run_detect("--model", str(exp_dir), str(toy["clips"]))
        rows = output["results"]
        assert f"score > {median:.6g}" in log
        assert [row["decision"] for row in rows] == [
            "bonafide" if row["score"] > median else "spoof" for row in rows
        ]
        assert {row["decision"] for row in rows} == {"bonafide", "spoof"}
        # Scores of another checkpoint: their threshold is not this model's.
        other = {**inputs, "checkpoint": exp_dir / "checkpoints/last.pt"}
        write_marker(dev / ".done.score", stage_inputs("score", **other))
        _, output, _ = run_detect(
            "--model", str(exp_dir), "--checkpoint", "best", str(toy["clips"])
        )
        assert {row["decision"] for row in output["results"]} == {None}
    finally:
        (dev / "metrics.json").unlink(missing_ok=True)
        (dev / ".done.score").unlink(missing_ok=True)


def calibrate_around(exp_dir: Path, scores: np.ndarray, checkpoint: str = "best") -> None:
    """A calibration whose Bayes threshold lies among these scores, fitted for `checkpoint`."""
    median = float(np.median(scores))
    calibration = fit_calibration(scores[scores > median], scores[scores <= median], "dev")
    file = exp_dir / "checkpoints" / f"{checkpoint}.pt"
    write_calibration(exp_dir / "calibration.json", calibration, calibration_inputs(exp_dir, file))


def test_a_calibration_decides_only_for_the_checkpoint_it_was_fitted_on(toy, run_detect, capsys):
    exp_dir = toy["ocsoftmax"]
    _, output, _ = run_detect("--model", str(exp_dir), str(toy["clips"]))
    scores = np.array([row["score"] for row in output["results"]])
    calibrate_around(exp_dir, scores)
    try:
        _, output, log = run_detect("--model", str(exp_dir), str(toy["clips"]))
        rows = output["results"]
        assert "calibrated" in log and output["decision_rule"]["rule"] == "calibrated"
        from antispoof.evaluation.calibration import load_calibration

        calibration = load_calibration(exp_dir)
        assert [row["llr"] for row in rows] == pytest.approx(list(calibration.llr(scores)))
        decided = calibration.decide(scores)
        assert [row["decision"] for row in rows] == [
            "bonafide" if bona else "spoof" for bona in decided
        ]
        assert {row["decision"] for row in rows} == {"bonafide", "spoof"}
        # TSV: the LLR is the fourth column.
        clip = str(toy["clips"] / "a_16k.flac")
        detect.main(["--ngpu", "0", *NO_VAD, "--model", str(exp_dir), clip])
        (line,) = capsys.readouterr().out.splitlines()
        assert float(line.split("\t")[3]) == pytest.approx(rows[0]["llr"], abs=1e-6)
        # The last checkpoint is another model: the calibration of best.pt is not applied.
        _, output, log = run_detect("--model", str(exp_dir), "--checkpoint", "last", clip)
        assert output["decision_rule"] == {"rule": "none"} and output["results"][0]["llr"] is None
        assert "was fitted for another checkpoint or config" in log
    finally:
        (exp_dir / "calibration.json").unlink()


def test_a_degenerate_calibration_is_not_applied(toy, run_detect):
    """scale 0 gives every file the same decision: refused with a warning, the next rule
    applies (here the classifier's own decision)."""
    exp_dir = toy["softmax"]
    _, output, _ = run_detect("--model", str(exp_dir), str(toy["clips"]))
    scores = np.array([row["score"] for row in output["results"]])
    calibrate_around(exp_dir, scores)
    record = json.loads((exp_dir / "calibration.json").read_text())
    (exp_dir / "calibration.json").write_text(json.dumps({**record, "scale": 0.0}))
    try:
        _, output, log = run_detect("--model", str(exp_dir), str(toy["clips"]))
        assert "not using the calibration" in log and "degenerate" in log
        assert output["decision_rule"]["rule"] == "classifier"
    finally:
        (exp_dir / "calibration.json").unlink()


def test_the_output_formats_carry_the_model_and_the_rules(toy, capsys, tmp_path):
    clip = str(toy["clips"] / "a_16k.flac")
    base = ["--ngpu", "0", *NO_VAD, "--model", str(toy["softmax"])]
    out = tmp_path / "out" / "scores.tsv"
    assert detect.main([*base, "--out", str(out), clip]) == 0
    assert capsys.readouterr().out == ""
    (line,) = out.read_text().splitlines()
    path, value, decision = line.split("\t")
    assert path == clip and decision in ("bonafide", "spoof")
    jsonl = tmp_path / "scores.jsonl"
    segments = tmp_path / "segments.tsv"
    argv = [*base, "--format", "jsonl", "--out", str(jsonl), "--segments", str(segments), clip]
    assert detect.main(argv) == 0
    (row,) = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert row["score"] == pytest.approx(float(value), abs=1e-6)
    assert row["model"] == str(toy["softmax"]) and len(row["weights_sha256"]) == 64
    assert row["window"] == "all" and row["aggregate"] == "median"
    assert row["decision"] in ("bonafide", "spoof") and row["duration"] == 1.5
    table = [line.split("\t") for line in segments.read_text().splitlines()]
    assert table[0] == ["path", "start", "end", "score", "llr", "decision"]
    assert [fields[1:3] for fields in table[1:]] == [["0.000", "1.000"], ["1.000", "1.500"]]


def test_names_are_case_insensitive_and_list_shows_the_cards(capsys):
    assert detect.main(["--model", "LIST"]) == 0
    cards = capsys.readouterr().out
    assert "aasist" in cards and "aasist-l" in cards and "licence" in cards


def test_unknown_models_and_missing_inputs_are_errors(toy, run_detect, tmp_path):
    with pytest.raises(ValueError, match=r"neither an experiment directory, a published model"):
        detect.main(["--ngpu", "0", "--model", "no_such_model", str(toy["clips"])])
    with pytest.raises(ValueError, match="no audio files to score"):
        detect.main(["--ngpu", "0", "--model", str(toy["softmax"]), str(tmp_path)])
    clip = str(toy["clips"] / "a_16k.flac")
    missing = str(tmp_path / "missing.wav")
    status, output, log = run_detect("--model", str(toy["softmax"]), missing, clip)
    assert status == 1 and [row["path"] for row in output["results"]] == [clip]
    assert f"skipped: {missing}: no such file or folder" in log


# --- the fault cases ------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["input", "folder"])
def test_an_out_that_would_clobber_an_input_or_is_a_folder_is_refused_first(toy, tmp_path, where):
    a = tmp_path / "a.wav"
    soundfile.write(a, tone(1.0, RATE), RATE)
    before = a.read_bytes()
    out = a if where == "input" else tmp_path
    message = "is one of the inputs" if where == "input" else "is a folder"
    with pytest.raises(ValueError, match=message):
        detect.main(["--ngpu", "0", "--model", str(toy["softmax"]), "--out", str(out), str(a)])
    assert a.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.wav"]  # no temporary file


def test_links_unreadable_folders_and_broken_links_in_a_folder(
    toy, tmp_path, run_detect, monkeypatch
):
    real = tmp_path / "real"
    real.mkdir()
    soundfile.write(real / "day1_a.wav", tone(1.0, RATE), RATE)
    folder = tmp_path / "recordings"
    (folder / "locked").mkdir(parents=True)
    soundfile.write(folder / "x_ok.wav", tone(1.0, RATE, 200), RATE)
    (folder / "day1").symlink_to(Path("..") / "real")  # a day's recordings linked in
    (folder / "loop").symlink_to(Path("."))  # a link back to the folder itself
    (folder / "gone.wav").symlink_to(tmp_path / "nowhere.wav")
    (folder / "self.wav").symlink_to("self.wav")
    soundfile.write(folder / "locked" / "hidden.wav", tone(1.0, RATE), RATE)
    locked = str(folder / "locked")
    if os.geteuid() == 0:  # root reads a mode-000 folder: refuse it as a restricted user is
        scandir = os.scandir

        def refused(path="."):
            if os.fspath(path) == locked:
                raise PermissionError(errno.EACCES, "Permission denied", locked)
            return scandir(path)

        monkeypatch.setattr(os, "scandir", refused)
    else:
        os.chmod(locked, 0)
    try:
        status, output, log = run_detect("--model", str(toy["softmax"]), str(folder))
    finally:
        os.chmod(locked, 0o755)
    assert status == 1
    assert relative(output["results"], folder) == ["day1/day1_a.wav", "x_ok.wav"]
    assert f"skipped: {locked}: cannot read the folder (permission denied)" in log
    assert (
        f"skipped: {folder / 'gone.wav'}: broken symbolic link to {tmp_path / 'nowhere.wav'}" in log
    )
    assert f"skipped: {folder / 'self.wav'}: symbolic link loop" in log
    assert "3 of 5 input(s) could not be scored" in log


def test_a_named_broken_link_empty_file_and_non_audio_are_named(toy, tmp_path, run_detect):
    (tmp_path / "link.wav").symlink_to(tmp_path / "missing.wav")
    (tmp_path / "empty.wav").write_bytes(b"")
    (tmp_path / "text.wav").write_text("hello\n")
    files = [str(tmp_path / name) for name in ("link.wav", "empty.wav", "text.wav")]
    status, output, log = run_detect("--model", str(toy["softmax"]), *files)
    assert status == 1 and output["results"] == []
    assert f"{tmp_path / 'link.wav'}: broken symbolic link to {tmp_path / 'missing.wav'}" in log
    assert f"{tmp_path / 'empty.wav'}: empty file (0 bytes)" in log
    assert f"{tmp_path / 'text.wav'}: not audio" in log


def test_a_one_sample_file_is_too_short(toy, tmp_path, run_detect):
    soundfile.write(tmp_path / "one.wav", np.array([0.1], dtype=np.float32), RATE)
    status, output, log = run_detect("--model", "aasist", str(tmp_path / "one.wav"))
    assert status == 0 and output["results"][0]["decision"] == "too-short"
    assert "too short to score" in log


def test_an_interrupted_run_resumes_without_scoring_twice(toy, tmp_path, capsys):
    clips = toy["clips"]
    out = tmp_path / "scores.tsv"
    base = ["--ngpu", "0", *NO_VAD, "--model", str(toy["softmax"]), "--out", str(out)]
    detect.main([*base, str(clips / "a_16k.flac"), str(clips / "b_float32.wav")])
    complete = out.read_text()
    # A run killed while writing its third row: two rows and half a line.
    out.write_text(complete + str(clips / "d_short.wav") + "\t0.12")
    files = [str(clips / name) for name in ("a_16k.flac", "b_float32.wav", "d_short.wav")]
    assert detect.main([*base, "--resume", *files]) == 0
    lines = out.read_text().splitlines()
    assert [line.split("\t")[0] for line in lines] == files
    assert "\n".join(lines[:2]) + "\n" == complete


class FillsUp:
    """A file whose disk fills up on the third write, half-way through it."""

    def __init__(self, handle) -> None:
        self.handle = handle
        self.writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        if self.writes == 3:
            self.handle.write(text[: len(text) // 2])
            self.handle.flush()
            raise OSError(errno.ENOSPC, "No space left on device")
        return self.handle.write(text)

    def __getattr__(self, name: str):
        return getattr(self.handle, name)


def test_a_full_disk_keeps_the_rows_written_and_names_the_file(toy, tmp_path, monkeypatch):
    out = tmp_path / "scores.tsv"
    opened = LineFile.__init__

    def open_on_a_small_disk(self, path, append):
        opened(self, path, append)
        self.handle = FillsUp(self.handle)

    monkeypatch.setattr(LineFile, "__init__", open_on_a_small_disk)
    files = [str(toy["clips"] / name) for name in ("a_16k.flac", "b_float32.wav", "d_short.wav")]
    argv = ["--ngpu", "0", *NO_VAD, "--model", str(toy["softmax"]), "--out", str(out), *files]
    with pytest.raises(OSError, match=f"cannot write {out}: No space left on device; the 2 row"):
        detect.main(argv)
    lines = out.read_text().split("\n")
    assert [line.split("\t")[0] for line in lines[:2]] == files[:2] and lines[2:] == [""]


def test_help_shows_the_usage():
    result = subprocess.run(
        [sys.executable, "-m", "antispoof.bin.detect", "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0 and "FILE_OR_DIR" in result.stdout
    assert "Usage:" in result.stdout


def test_runtime_onnx_gives_torch_rows_and_carries_the_calibrated_rule(
    toy, run_detect, tmp_path, monkeypatch
):
    """`--runtime onnx` exports the experiment once (into $ANTISPOOF_CACHE/onnx/) and scores in
    ONNX Runtime: torch's rows within the export tolerance, the same calibrated decisions; an
    exported file given as --model carries the rule it was exported with."""
    monkeypatch.setenv("ANTISPOOF_CACHE", str(tmp_path / "cache"))
    exp_dir = toy["ocsoftmax"]
    clips = str(toy["clips"])
    _, output, _ = run_detect("--model", str(exp_dir), clips)
    calibrate_around(exp_dir, np.array([row["score"] for row in output["results"]]))
    try:
        _, torch_rows, _ = run_detect("--model", str(exp_dir), clips)
        _, onnx_rows, log = run_detect("--model", str(exp_dir), "--runtime", "onnx", clips)
        assert "exporting" in log and "ONNX Runtime" in log
        (exported,) = (tmp_path / "cache" / "onnx").glob("ocsoftmax-*.onnx")
        assert onnx_rows["decision_rule"] == torch_rows["decision_rule"]
        assert onnx_rows["decision_rule"]["rule"] == "calibrated"
        for ours, theirs in zip(onnx_rows["results"], torch_rows["results"], strict=True):
            assert ours["path"] == theirs["path"]
            assert ours["score"] == pytest.approx(theirs["score"], abs=1e-4)
            assert ours["llr"] == pytest.approx(theirs["llr"], abs=1e-3)
            assert ours["decision"] == theirs["decision"]
            assert [s["score"] for s in ours["segments"]] == pytest.approx(
                [s["score"] for s in theirs["segments"]], abs=1e-4
            )
        # Exported once: the second run finds the file.
        _, _, log = run_detect("--model", str(exp_dir), "--runtime", "onnx", clips)
        assert "exporting" not in log and f"ONNX file of {exp_dir}: {exported}" in log
        # The file alone decides as the experiment did when it was exported.
        _, from_file, _ = run_detect("--model", str(exported), clips)
        assert from_file["decision_rule"] == torch_rows["decision_rule"]
        assert [row["decision"] for row in from_file["results"]] == [
            row["decision"] for row in torch_rows["results"]
        ]
    finally:
        (exp_dir / "calibration.json").unlink()

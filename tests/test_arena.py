"""The Speech Anti-Spoofing Arena's protocol: stage 4's second score file (every trial's first
64,600 samples, scored as an utterance of its own), taken from the same pass when the model's
own scoring is that window, and the submission files (scores.txt and the YAML record)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch
import yaml

from antispoof.arena import ARENA_WINDOW, uses_arena_window
from antispoof.bin import arena_export, import_pretrained, score
from antispoof.config import resolve_file, save_config
from antispoof.data.kaldi_files import read_table, write_table
from antispoof.evaluation.evaluate import evaluate
from antispoof.experiment import load_detector
from antispoof.published import PUBLISHED, published_config
from antispoof.scoring import score_waveforms
from antispoof.training.trainer import Trainer, TrainingData
from tiny_configs import tiny_detector
from toy_data import make_toy_data_dir

CPU = torch.device("cpu")
RATE = 16000


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    root = tmp_path_factory.mktemp("arena")
    make_toy_data_dir(root, "train", 16, 0)
    make_toy_data_dir(root, "dev", 8, 1)
    evaluation = make_toy_data_dir(root, "eval", 6, 2)
    # One trial longer than the Arena's window: only its first 64,600 samples count.
    wav_scp = read_table(evaluation / "wav.scp")
    long_utt = sorted(wav_scp)[0]
    signal = np.tile(soundfile.read(wav_scp[long_utt], dtype="float32")[0], 8)[: 6 * RATE]
    soundfile.write(wav_scp[long_utt], signal, RATE)
    (root / "tiny.yaml").write_text(yaml.safe_dump(tiny_detector(crop_seconds=1.0, epochs=1)))
    exp_dir = root / "exp" / "tiny"
    config = resolve_file(root / "tiny.yaml")
    save_config(config, exp_dir / "config.yaml")
    Trainer(exp_dir, config, TrainingData(root / "data/train", root / "data/dev"), CPU).run()
    return root, exp_dir, evaluation


def test_the_arena_window_is_the_published_models_own():
    assert uses_arena_window(published_config(PUBLISHED["aasist"]), RATE)
    assert not uses_arena_window(resolve_file_of_mini(), RATE)


def resolve_file_of_mini() -> dict:
    return resolve_file(
        Path(__file__).resolve().parents[1] / "egs/mini/conf/lfcc_resnet18_softmax.yaml"
    )


def test_stage_4_writes_the_arena_scores_of_each_first_window(toy, tmp_path):
    _, exp_dir, evaluation = toy
    out, arena = tmp_path / "scores.txt", tmp_path / "scores.arena.txt"
    argv = ["--exp_dir", str(exp_dir), "--data_dir", str(evaluation), "--ngpu", "0"]
    assert score.main([*argv, "--out", str(out), "--arena_out", str(arena)]) == 0
    config, detector = load_detector(exp_dir)
    first = {**config["inference"], "mode": "first", "segment_seconds": ARENA_WINDOW / RATE}
    scores = dict(line.split() for line in arena.read_text().splitlines())
    assert set(scores) == set(read_table(evaluation / "wav.scp"))
    for utt, path in read_table(evaluation / "wav.scp").items():
        wav = soundfile.read(path, dtype="float32")[0]
        window = np.resize(wav, ARENA_WINDOW)  # the first 64,600 samples, repeat-padded
        expected = score_waveforms(detector, {utt: window}, first, CPU)
        assert float(scores[utt]) == pytest.approx(float(expected[0, 0]), abs=1e-5)
    # The model's own scoring (1-s windows averaged) differs from the Arena's.
    official = dict(line.split() for line in out.read_text().splitlines())
    assert any(abs(float(official[u]) - float(scores[u])) > 1e-3 for u in scores)


def test_a_first_window_model_scores_both_protocols_in_one_pass(toy, tmp_path):
    _, _, evaluation = toy
    exp_dir = tmp_path / "exp" / "aasist"
    assert import_pretrained.main(["aasist", str(exp_dir)]) == 0
    out, arena = tmp_path / "scores.txt", tmp_path / "scores.arena.txt"
    argv = ["--exp_dir", str(exp_dir), "--data_dir", str(evaluation), "--ngpu", "0"]
    assert score.main([*argv, "--out", str(out), "--arena_out", str(arena)]) == 0
    assert arena.read_text() == out.read_text()


def test_the_submission_files(toy, tmp_path):
    _, exp_dir, evaluation = toy
    set_dir = exp_dir / evaluation.name
    argv = ["--exp_dir", str(exp_dir), "--data_dir", str(evaluation), "--ngpu", "0"]
    arena = set_dir / "scores.arena.txt"
    assert score.main([*argv, "--out", str(set_dir / "scores.txt"), "--arena_out", str(arena)]) == 0
    metrics = evaluate(arena, evaluation)
    (set_dir / "metrics.arena.json").write_text(json.dumps(metrics))
    # A trial the scores lack counts as skipped.
    data = tmp_path / "data" / evaluation.name
    tables = {name: read_table(evaluation / name) for name in ("wav.scp", "utt2label")}
    extra = {**tables["wav.scp"], "zz_unscored": str(tmp_path / "LA_E_9999999.flac")}
    write_table(data / "wav.scp", extra)
    out_dir = tmp_path / "submission"
    command = ["--exp_dir", str(exp_dir), "--data_dir", str(data), "--out_dir", str(out_dir)]
    assert arena_export.main([*command, "--dataset", "SpeechAntiSpoofingBenchmarks/Toy"]) == 0
    lines = (out_dir / "scores.txt").read_text().splitlines()
    ids = {Path(path).stem for path in tables["wav.scp"].values()}
    assert {line.split()[0] for line in lines} == ids and len(lines) == len(ids)
    record = yaml.safe_load((out_dir / "tiny.yaml").read_text())
    sha256 = hashlib.sha256((out_dir / "scores.txt").read_bytes()).hexdigest()
    assert record["artifact"]["scores_sha256"] == sha256
    assert record["scores"] == {
        "eer_percent": round(100 * metrics["eer"], 4),
        "n_trials": len(ids) + 1,
        "n_skipped": 1,
    }
    assert record["schema_version"] == 4
    assert record["dataset"]["id"] == "SpeechAntiSpoofingBenchmarks/Toy"
    assert record["generated_by"].startswith("antispoof ")

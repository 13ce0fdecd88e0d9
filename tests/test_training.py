"""Training, checkpoint selection, resumption after a kill, and scoring."""

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from antispoof.checkpoint import load_checkpoint
from antispoof.config import resolve_file, save_config
from antispoof.data.audio import AudioError
from antispoof.data.dataset import AudioTable
from antispoof.detector import build_detector
from antispoof.registry import ConfigError
from antispoof.scoring import score_utterances, scoring_reader
from antispoof.training.trainer import Trainer, TrainingData, check_batch_split
from toy_data import make_toy_data_dir

MINI_CONFIG = Path(__file__).resolve().parents[1] / "egs/mini/conf/lfcc_resnet18_ocsoftmax.yaml"
TINY = [
    "model_conf.channels=[8,8,16,16]",
    "model_conf.pooling_channels=16",
    "model_conf.embedding_dim=16",
    "train.batch_size=8",
    "train.crop_seconds=0.6",
    "train.num_workers=0",
    "optim_conf.lr=0.003",
]


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    root = tmp_path_factory.mktemp("toy")
    return root, make_toy_data_dir(root, "train", 32, 0), make_toy_data_dir(root, "dev", 16, 1)


def make_exp(root: Path, name: str, epochs: int) -> Path:
    exp_dir = root / "exp" / name
    save_config(
        resolve_file(MINI_CONFIG, [*TINY, f"train.epochs={epochs}"]), exp_dir / "config.yaml"
    )
    return exp_dir


def train_command(exp_dir: Path, train_dir: Path, dev_dir: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "antispoof.bin.train",
        "--exp_dir",
        str(exp_dir),
        "--train_dir",
        str(train_dir),
        "--dev_dir",
        str(dev_dir),
        "--ngpu",
        "0",
    ]


def test_training_keeps_the_checkpoint_with_the_best_dev_eer(toy):
    root, train_dir, dev_dir = toy
    exp_dir = make_exp(root, "best", 3)
    config = resolve_file(exp_dir / "config.yaml")
    summary = Trainer(
        exp_dir, config, TrainingData(train_dir, dev_dir, None, None), torch.device("cpu")
    ).run()
    eers = [record["dev_eer"] for record in summary["history"]]
    assert summary["best_epoch"] == eers.index(min(eers)) + 1
    best = load_checkpoint(exp_dir / "checkpoints/best.pt")
    assert best["epoch"] == summary["best_epoch"]
    assert load_checkpoint(exp_dir / "checkpoints/last.pt")["epoch"] == 3
    assert list((exp_dir / "tensorboard").glob("events.out.tfevents.*"))
    assert json.loads((exp_dir / "train_summary.json").read_text())["epochs"] == 3
    # Tones vs. noise is easy: the best model separates the dev set better than chance.
    assert min(eers) < 0.25


def test_segment_training_steps_through_every_segment_of_an_epoch(toy, caplog):
    root, train_dir, dev_dir = toy
    exp_dir = root / "exp" / "segments"
    # Li et al.'s recipe: every segment, and the Noam schedule stepped after every batch.
    overrides = [
        *TINY,
        "train.epochs=1",
        "train.crops=segments",
        "train.segment_hop_seconds=0.3",
        "scheduler=noam_plateau",
        "scheduler_conf.warmup_steps=2",
    ]
    config = resolve_file(MINI_CONFIG, overrides)
    save_config(config, exp_dir / "config.yaml")
    trainer = Trainer(
        exp_dir, config, TrainingData(train_dir, dev_dir, None, None), torch.device("cpu")
    )
    utterances = len(trainer.train_set.utts)
    assert len(trainer.train_set) > utterances  # the longer utterances give several segments
    with caplog.at_level(logging.INFO):
        summary = trainer.run()
    assert f"{len(trainer.train_set)} training segments" in caplog.text
    assert summary["history"][0]["train_loss"] > 0
    schedule = trainer.schedulers[0]  # the main optimizer's (the OC-Softmax centre has its own)
    batches = len(trainer.train_set) // trainer.batch_size
    assert schedule.steps == batches
    assert summary["history"][0]["lr"] == pytest.approx(schedule.learning_rate(batches))


def test_killed_training_resumes_to_the_same_result(toy):
    root, train_dir, dev_dir = toy
    epochs = 4
    reference = make_exp(root, "uninterrupted", epochs)
    subprocess.run(train_command(reference, train_dir, dev_dir), check=True, capture_output=True)

    resumed = make_exp(root, "interrupted", epochs)
    process = subprocess.Popen(
        train_command(resumed, train_dir, dev_dir),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    last = resumed / "checkpoints/last.pt"
    deadline = time.time() + 120
    while not last.exists() and process.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    interrupted_after = load_checkpoint(last)["epoch"]
    assert interrupted_after < epochs, "the run finished before it could be killed"

    subprocess.run(train_command(resumed, train_dir, dev_dir), check=True, capture_output=True)
    expected = load_checkpoint(reference / "checkpoints/last.pt")
    got = load_checkpoint(last)
    assert "resumed from" in (resumed / "train.log").read_text()
    assert [r["epoch"] for r in got["history"]] == list(range(1, epochs + 1))
    for mine, theirs in zip(got["history"], expected["history"], strict=True):
        assert mine["train_loss"] == pytest.approx(theirs["train_loss"], rel=1e-4)
        assert mine["dev_eer"] == pytest.approx(theirs["dev_eer"], abs=1e-9)


def test_scoring_is_deterministic_in_both_modes(toy):
    _, _, dev_dir = toy
    config = resolve_file(MINI_CONFIG, TINY)
    detector = build_detector(config)
    utts = sorted(AudioTable(dev_dir, 16000).paths)
    for mode in ("segments", "full"):
        inference = {**config["inference"], "mode": mode}
        reader = scoring_reader(detector, dev_dir, inference)
        cpu = torch.device("cpu")
        first = score_utterances(detector, reader, utts, inference, cpu)
        again = score_utterances(detector, reader, utts, inference, cpu)
        assert first == again
        assert set(first) == set(utts)
        # Another batch composition changes only float rounding, not the score.
        reordered = score_utterances(detector, reader, utts[::-1], inference, cpu)
        assert reordered == pytest.approx(first, abs=1e-5)


def test_corrupt_audio_names_the_file_and_the_wav_scp_line(toy, tmp_path):
    root, _, dev_dir = toy
    broken = tmp_path / "data"
    broken.mkdir()
    lines = (dev_dir / "wav.scp").read_text().splitlines()
    corrupt = tmp_path / "corrupt.flac"
    corrupt.write_bytes(b"fLaC not really")
    utt = lines[2].split()[0]
    lines[2] = f"{utt} {corrupt}"
    (broken / "wav.scp").write_text("\n".join(lines) + "\n")
    with pytest.raises(AudioError, match=rf"wav.scp:3: cannot read audio {corrupt}"):
        AudioTable(broken, 16000).read(utt)
    env = {**os.environ}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "antispoof.bin.make_feats",
            "--config",
            str(make_exp(root, "corrupt", 1) / "config.yaml"),
            "--branch",
            "lfcc",
            "--ngpu",
            "0",
            "--data_dir",
            str(broken),
            "--out",
            str(tmp_path / "feats"),
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    assert result.returncode == 1
    assert "wav.scp:3" in result.stderr and "Traceback" not in result.stderr


# --------------------------------------------------------------------------------------------
# gradient accumulation

# SGD, so that a wrongly scaled gradient moves the weights by a different amount (Adam's steps
# hardly depend on the gradient's scale), and a Noam schedule stepped after every optimiser step,
# so that a schedule stepped per micro-batch gives other learning rates.
ACCUMULATION = [
    *TINY,
    "train.epochs=2",
    "optim=sgd",
    "optim_conf.lr=0.003",
    "scheduler=noam_plateau",
    "scheduler_conf.warmup_steps=4",
    "scheduler_conf.scale=0.2",
]


def without_batch_norm(detector: torch.nn.Module) -> None:
    """Every BatchNorm layer replaced by the identity: nothing in the model then looks across the
    examples of a batch, so a batch and its micro-batches give the same gradient."""
    for module in list(detector.modules()):
        for name, child in module.named_children():
            if isinstance(child, torch.nn.BatchNorm1d | torch.nn.BatchNorm2d):
                setattr(module, name, torch.nn.Identity())


def accumulation_trainer(
    root: Path, name: str, train_dir: Path, dev_dir: Path, accum: int, *overrides: str
) -> Trainer:
    exp_dir = root / "exp" / name
    config = resolve_file(MINI_CONFIG, [*ACCUMULATION, f"train.accum_grad={accum}", *overrides])
    save_config(config, exp_dir / "config.yaml")
    return Trainer(exp_dir, config, TrainingData(train_dir, dev_dir), torch.device("cpu"))


# A clip of 1 acts at every step (the toy's gradient norms are 49 to 98): clipping each
# micro-batch's gradient instead of their sum would give other steps. (It also hides the scale
# of the gradient, which the run without it checks.)
@pytest.mark.parametrize("clip", [[], ["train.grad_clip=1.0"]], ids=["no_clip", "clip"])
def test_accumulated_micro_batches_train_the_weights_of_the_whole_batch(toy, clip):
    root, train_dir, dev_dir = toy
    name = "_".join(clip) or "no_clip"
    whole = accumulation_trainer(root, f"whole_batch_{name}", train_dir, dev_dir, 1, *clip)
    accumulated = accumulation_trainer(root, f"accumulated_{name}", train_dir, dev_dir, 2, *clip)
    assert (whole.micro_batch, accumulated.micro_batch) == (8, 4)
    for trainer in (whole, accumulated):
        without_batch_norm(trainer.detector)
    initial = {k: v.clone() for k, v in whole.detector.state_dict().items()}
    expected, got = whole.run()["history"], accumulated.run()["history"]
    # The same optimiser steps at the same learning rates, on gradients equal up to the order of
    # the float sums: the weights agree to float rounding, within 1e-4 of each tensor's largest
    # value (measured: 1.2e-7 apart at most with several threads, 1.0e-5 with one, 3.7e-5 of the
    # tensor's largest value; training moved them by up to 23 % of it).
    assert accumulated.schedulers[0].steps == whole.schedulers[0].steps == 2 * 32 // 8
    trained = whole.detector.state_dict()
    for name, value in accumulated.detector.state_dict().items():
        scale = float(trained[name].abs().max()) if trained[name].is_floating_point() else 0.0
        torch.testing.assert_close(value, trained[name], rtol=0, atol=1e-4 * scale, msg=name)
    assert any(not torch.equal(initial[name], trained[name]) for name in trained)
    for mine, theirs in zip(got, expected, strict=True):
        assert mine["train_loss"] == pytest.approx(theirs["train_loss"], rel=1e-5)
        assert mine["lr"] == theirs["lr"]


def test_accumulated_training_resumes_to_the_same_result(toy, monkeypatch):
    root, train_dir, dev_dir = toy
    reference = accumulation_trainer(root, "accumulated_uninterrupted", train_dir, dev_dir, 2)
    expected = reference.run()["history"]
    interrupted = accumulation_trainer(root, "accumulated_interrupted", train_dir, dev_dir, 2)
    train_epoch = Trainer._train_epoch

    def stop_at_epoch_2(self, epoch, writer):
        if epoch == 2:
            raise KeyboardInterrupt
        return train_epoch(self, epoch, writer)

    with monkeypatch.context() as patch:
        patch.setattr(Trainer, "_train_epoch", stop_at_epoch_2)
        with pytest.raises(KeyboardInterrupt):
            interrupted.run()
    assert load_checkpoint(interrupted.exp_dir / "checkpoints/last.pt")["epoch"] == 1
    resumed = accumulation_trainer(root, "accumulated_interrupted", train_dir, dev_dir, 2)
    got = resumed.run()["history"]
    assert [r["epoch"] for r in got] == [1, 2]
    for mine, theirs in zip(got, expected, strict=True):
        assert mine["train_loss"] == pytest.approx(theirs["train_loss"], rel=1e-6)
        assert mine["dev_eer"] == theirs["dev_eer"]
    trained = reference.detector.state_dict()
    for name, value in resumed.detector.state_dict().items():
        assert torch.equal(value, trained[name]), name


@pytest.mark.parametrize(
    ("batch_size", "world_size", "accum", "message"),
    [
        (
            10,
            1,
            4,
            r"10 does not split into train.accum_grad 4 equal micro-batches.*"
            r"batch_size=12 or --override train.accum_grad=5$",
        ),
        (
            64,
            2,
            3,
            r"64 does not split into 2 training processes x train.accum_grad 3 .*"
            r"multiple of 6, e.g. --override train.batch_size=66 or --override train.accum_grad=4$",
        ),
        (7, 2, 2, r"7 does not split into 2 training processes x .*train.batch_size=8$"),
        (7, 2, 1, r"7 does not split evenly over the 2 training processes.*batch_size=8$"),
    ],
)
def test_a_batch_the_micro_batches_cannot_share_evenly_is_refused(
    batch_size, world_size, accum, message
):
    with pytest.raises(ConfigError, match=message):
        check_batch_split(batch_size, world_size, accum)
    check_batch_split(batch_size * world_size * accum, world_size, accum)  # these divide

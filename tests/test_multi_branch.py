"""A detector with two input branches, one cached (LFCC) and one a trainable encoder (a tiny,
randomly initialised wav2vec2) frozen for its first epoch: the freeze schedule, resuming across
the unfreeze epoch, and the whole pipeline with random_specmix and a `sum` loss on the mini
corpus."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from torch.utils.tensorboard import SummaryWriter

from antispoof.checkpoint import load_checkpoint
from antispoof.config import resolve_file, save_config
from antispoof.training.trainer import Trainer, TrainingData
from tiny_configs import SMALL_RESNET, TINY_WAV2VEC2
from toy_data import make_toy_data_dir

REPO = Path(__file__).resolve().parents[1]
TWO_BRANCHES = {
    "inputs": {
        "lfcc": {"frontend": "lfcc"},
        "ssl": {
            "frontend": "wav2vec2",
            "frontend_conf": {"config": TINY_WAV2VEC2, "layers": [1, 2]},
        },
    },
    "model": "late_fusion",
    "model_conf": {
        "branches": {
            "lfcc": {"model": "resnet18", "model_conf": SMALL_RESNET},
            "ssl": {"model": "resnet18", "model_conf": SMALL_RESNET},
        },
        "embedding_dim": 16,
    },
    "loss": "sum",
    "loss_conf": {
        "terms": {
            "ce": {"loss": "softmax", "weight": 1.0},
            "scl": {"loss": "single_center", "loss_conf": {"margin": 0.3}, "weight": 0.5},
        },
        "scorer": "ce",
    },
    "augment": {"random_specmix": {"input": "lfcc", "p": 0.5}},
    "optim": "adam",
    "optim_conf": {"lr": 0.003},
    "optim_groups": {"inputs.ssl": {"lr_scale": 0.5}},
    "train": {
        "epochs": 2,
        "batch_size": 8,
        "crop_seconds": 0.5,
        "num_workers": 0,
        "freeze": {"ssl": 1},
        "seed": 3,
    },
}


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    root = tmp_path_factory.mktemp("two_branches")
    (root / "two.yaml").write_text(yaml.safe_dump(TWO_BRANCHES))
    config = resolve_file(root / "two.yaml")
    data = TrainingData(
        make_toy_data_dir(root, "train", 16, 0), make_toy_data_dir(root, "dev", 8, 1)
    )
    return root, config, data


def new_trainer(root: Path, name: str, config: dict, data: TrainingData) -> Trainer:
    exp_dir = root / "exp" / name
    save_config(config, exp_dir / "config.yaml")
    return Trainer(exp_dir, config, data, torch.device("cpu"))


def ssl_weights(trainer: Trainer) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in trainer.detector.inputs["ssl"].state_dict().items()}


def test_a_frozen_branch_gets_no_gradient_and_keeps_its_weights_until_it_is_unfrozen(toy):
    root, config, data = toy
    trainer = new_trainer(root, "freeze", config, data)
    before = ssl_weights(trainer)
    model_before = {k: v.clone() for k, v in trainer.detector.model.state_dict().items()}
    writer = SummaryWriter(str(root / "tb"))
    trainer._train_epoch(1, writer)
    encoder = trainer.detector.inputs["ssl"]
    assert all(p.grad is None and not p.requires_grad for p in encoder.parameters())
    assert all(torch.equal(before[k], v) for k, v in encoder.state_dict().items())
    changed = trainer.detector.model.state_dict()
    assert any(not torch.equal(model_before[k], changed[k]) for k in model_before)
    trainer._train_epoch(2, writer)
    after = encoder.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before if after[k].is_floating_point())
    assert any(p.grad is not None for p in encoder.parameters())


def test_resuming_across_the_unfreeze_epoch_reproduces_an_uninterrupted_run(toy, monkeypatch):
    root, config, data = toy
    uninterrupted = new_trainer(root, "whole", config, data).run()

    interrupted = new_trainer(root, "stopped", config, data)
    train_epoch = Trainer._train_epoch

    def stop_at_epoch_2(self, epoch, writer):
        if epoch == 2:
            raise KeyboardInterrupt
        return train_epoch(self, epoch, writer)

    monkeypatch.setattr(Trainer, "_train_epoch", stop_at_epoch_2)
    with pytest.raises(KeyboardInterrupt):
        interrupted.run()
    monkeypatch.setattr(Trainer, "_train_epoch", train_epoch)
    resumed = new_trainer(root, "stopped", config, data).run()
    assert [r["epoch"] for r in resumed["history"]] == [1, 2]
    for mine, theirs in zip(resumed["history"], uninterrupted["history"], strict=True):
        assert mine["train_loss"] == pytest.approx(theirs["train_loss"], rel=1e-5)
        assert mine["dev_eer"] == pytest.approx(theirs["dev_eer"], abs=1e-9)
    last = load_checkpoint(root / "exp/stopped/checkpoints/last.pt")["detector"]
    whole = load_checkpoint(root / "exp/whole/checkpoints/last.pt")["detector"]
    for key, value in whole.items():
        torch.testing.assert_close(last[key], value, rtol=1e-4, atol=1e-5)


@pytest.mark.recipe
def test_two_branches_train_and_score_on_the_mini_corpus(mini_corpus, tmp_path):
    recipe = tmp_path / "recipe"
    (recipe / "conf").mkdir(parents=True)
    (recipe / "conf" / "two.yaml").write_text(yaml.safe_dump(TWO_BRANCHES))
    env = {**os.environ, "ANTISPOOF_VENV": str(Path(sys.executable).parents[1])}
    command = [
        str(REPO / "run.sh"),
        "--recipe_dir",
        str(recipe),
        "--corpora",
        f"mini={mini_corpus}",
        "--stage",
        "1",
        "--config",
        "conf/two.yaml",
        "--test_sets",
        "eval",
        "--ngpu",
        "0",
    ]
    result = subprocess.run(command, cwd=recipe, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-4000:]
    # Stage 2 caches the frozen LFCC branch only; the encoder runs in the detector.
    assert list((recipe / "dump").glob("lfcc_*/train/.done"))
    assert not list((recipe / "dump").glob("wav2vec2_*"))
    train_log = (recipe / "exp/two/train.log").read_text()
    assert "epoch 2/2" in train_log
    metrics = json.loads((recipe / "exp/two/eval/metrics.json").read_text())
    assert metrics["n_bonafide"] > 0 and metrics["n_spoof"] > 0 and 0 <= metrics["eer"] <= 1
    events = list((recipe / "exp/two/tensorboard").glob("events.out.tfevents.*"))
    assert events and any(b"train/scl" in path.read_bytes() for path in events)

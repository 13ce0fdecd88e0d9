"""Stage 5's t-SNE map of a trained detector's embeddings (antispoof.bin.tsne)."""

from pathlib import Path

import pytest
import torch

from antispoof.bin import tsne
from antispoof.config import resolve_file, save_config
from antispoof.data.dataset import read_labels
from antispoof.labels import BONAFIDE
from antispoof.training.trainer import Trainer, TrainingData
from tiny_configs import MINI_OCSOFTMAX, SMALL_RESNET
from toy_data import make_toy_data_dir


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("tsne")
    train_dir = make_toy_data_dir(root, "train", 16, 0)
    dev_dir = make_toy_data_dir(root, "dev", 12, 1)
    overrides = [f"model_conf.{key}={value}" for key, value in SMALL_RESNET.items()]
    overrides += ["train.epochs=1", "train.batch_size=8", "train.num_workers=0"]
    config = resolve_file(MINI_OCSOFTMAX, [*overrides, "inference.tsne_per_class=4"])
    exp_dir = root / "exp" / "tiny"
    save_config(config, exp_dir / "config.yaml")
    Trainer(exp_dir, config, TrainingData(train_dir, dev_dir), torch.device("cpu")).run()
    return exp_dir, train_dir, dev_dir


def read_map(path: Path) -> list[list[str]]:
    return [line.split() for line in path.read_text().splitlines()]


def test_the_map_samples_each_class_of_each_set_and_is_reproducible(trained, tmp_path):
    exp_dir, train_dir, dev_dir = trained
    out = tmp_path / "tsne.png"
    options = ["--exp_dir", str(exp_dir), "--data_dir", str(dev_dir), "--data_dir", str(train_dir)]
    assert tsne.main([*options, "--out", str(out), "--ngpu", "0"]) == 0
    assert out.read_bytes().startswith(b"\x89PNG")
    rows = read_map(out.with_name("tsne.png.tsv"))
    for name, data_dir in (("dev", dev_dir), ("train", train_dir)):
        labels = read_labels(data_dir)
        mine = [row for row in rows if row[0] == name]
        # tsne_per_class = 4: four bona fide and four spoof utterances of each set.
        assert sorted(row[2] for row in mine) == ["bonafide"] * 4 + ["spoof"] * 4
        for _, utt, label, *_ in mine:
            assert (labels[utt] == BONAFIDE) == (label == "bonafide")
    again = tmp_path / "again.png"
    assert tsne.main([*options, "--out", str(again), "--ngpu", "0"]) == 0
    assert read_map(again.with_name("again.png.tsv")) == rows


def test_no_map_when_the_config_asks_for_none(trained, tmp_path):
    exp_dir, _, dev_dir = trained
    out = tmp_path / "none.png"
    options = ["--exp_dir", str(exp_dir), "--data_dir", str(dev_dir), "--out", str(out)]
    assert tsne.main([*options, "--per_class", "0", "--ngpu", "0"]) == 0
    assert not out.exists()


def test_the_sample_is_the_same_whatever_the_order_of_the_labels():
    labels = {f"utt{i}": i % 2 for i in range(20)}
    reversed_labels = dict(reversed(list(labels.items())))
    chosen = tsne.sample_utterances(labels, 3)
    assert chosen == tsne.sample_utterances(reversed_labels, 3)
    assert len(chosen) == 6

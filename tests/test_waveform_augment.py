"""`waveform_augment` in a config: resolved with every default, checked before anything runs,
and applied to the training audio in the data-loader workers (never to dev or test audio)."""

import logging

import pytest
import torch
import yaml

from antispoof.config import resolve_file, save_config
from antispoof.registry import ConfigError
from antispoof.training.trainer import Trainer, TrainingData
from tiny_configs import tiny_detector
from toy_data import make_toy_data_dir


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    root = tmp_path_factory.mktemp("waveform_augment")
    train_dir = make_toy_data_dir(root, "train", 8, 0)
    dev_dir = make_toy_data_dir(root, "dev", 4, 1)
    config = {**tiny_detector(crop_seconds=0.5, epochs=1), "waveform_augment": {"rawboost": {}}}
    (root / "tiny.yaml").write_text(yaml.safe_dump(config))
    (root / "plain.yaml").write_text(yaml.safe_dump(tiny_detector(crop_seconds=0.5, epochs=1)))
    return root, train_dir, dev_dir


def test_settings_are_completed_and_checked_at_resolution(toy):
    tiny = toy[0] / "tiny.yaml"
    with pytest.raises(ConfigError, match=r"needs algo in waveform_augment\.rawboost"):
        resolve_file(tiny)
    config = resolve_file(tiny, ["waveform_augment.rawboost.algo=5"])
    settings = config["waveform_augment"]["rawboost"]
    assert settings["algo"] == 5 and settings["snr_min"] == 10  # Tak et al.'s defaults filled in
    assert "sample_rate" not in settings  # the input branches' rate, supplied by the pipeline
    with pytest.raises(ConfigError, match="algo"):
        resolve_file(tiny, ["waveform_augment.rawboost.algo=9"])
    assert resolve_file(toy[0] / "plain.yaml")["waveform_augment"] == {}


def test_training_audio_is_augmented_and_its_caches_are_not_read(toy, tmp_path, caplog):
    root, train_dir, dev_dir = toy
    config = resolve_file(root / "tiny.yaml", ["waveform_augment.rawboost.algo=3"])
    plain = resolve_file(root / "plain.yaml")
    caches = {"lfcc": tmp_path / "unused.scp"}  # never opened: the audio changes every epoch
    with caplog.at_level(logging.INFO):
        augmented = Trainer(
            tmp_path / "a", config, TrainingData(train_dir, dev_dir, caches), torch.device("cpu")
        )
    assert "training caches of lfcc are not read" in caplog.text
    reference = Trainer(
        tmp_path / "b", plain, TrainingData(train_dir, dev_dir), torch.device("cpu")
    )
    noisy, clean = augmented.train_set[0]["wav"], reference.train_set[0]["wav"]
    assert noisy.shape == clean.shape and not torch.equal(noisy, clean)
    assert torch.equal(noisy, augmented.train_set[0]["wav"])  # (seed, epoch, utterance) decide
    # Scoring reads the audio as it is.
    assert augmented.dev_reader.augmentation is None
    save_config(config, tmp_path / "a" / "config.yaml")
    assert augmented.run()["history"][0]["train_loss"] > 0

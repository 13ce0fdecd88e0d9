"""Configs: strict registries, extends, overrides, derived tags, and a dry run of every config."""

from pathlib import Path

import pytest
import yaml

from antispoof.config import (
    REPO_ROOT,
    apply_overrides,
    experiment_tag,
    frontend_tag,
    load_config,
    merge,
    resolve,
    resolve_file,
)
from antispoof.detector import build_detector
from antispoof.registry import ConfigError

EXPERIMENT_CONFIGS = sorted(REPO_ROOT.glob("egs/*/conf/*.yaml"))


def write(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(
    "config_path", EXPERIMENT_CONFIGS, ids=lambda p: f"{p.parent.parent.name}/{p.name}"
)
def test_every_experiment_config_builds(config_path):
    config = resolve_file(config_path)
    detector = build_detector(config)
    assert detector.num_parameters() > 0
    # The saved form resolves to itself: later stages read only exp/<tag>/config.yaml.
    assert resolve(yaml.safe_load(yaml.safe_dump(config))) == config


def test_the_repository_has_experiment_configs():
    assert any(p.parent.parent.name == "mini" for p in EXPERIMENT_CONFIGS)


def test_unknown_keys_and_names_are_errors(tmp_path):
    base = {
        "extends": ["frontend/lfcc", "model/resnet18", "train/ocsoftmax_paper"],
        "loss": "softmax",
    }
    with pytest.raises(ConfigError, match="unknown top-level key"):
        load_config(write(tmp_path / "a.yaml", {**base, "trian": {}}))
    with pytest.raises(ConfigError, match="train has no setting"):
        resolve_file(write(tmp_path / "b.yaml", {**base, "train": {"epoch": 3}}))
    with pytest.raises(ConfigError, match="unknown loss 'softmaks'"):
        resolve_file(write(tmp_path / "c.yaml", {**base, "loss": "softmaks"}))
    with pytest.raises(ConfigError, match=r"optim 'adam' has no setting 'learning_rate'"):
        resolve_file(write(tmp_path / "d.yaml", {**base, "optim_conf": {"learning_rate": 1}}))
    with pytest.raises(ConfigError, match="unknown augmentation"):
        resolve_file(write(tmp_path / "e.yaml", {**base, "augment": {"mixup": {}}}))


def test_changing_a_part_drops_the_inherited_settings_block(tmp_path):
    write(
        tmp_path / "base.yaml",
        {"loss": "ocsoftmax", "loss_conf": {"alpha": 10.0}, "train": {"epochs": 3}},
    )
    child = load_config(write(tmp_path / "child.yaml", {"extends": "base.yaml", "loss": "softmax"}))
    assert "loss_conf" not in child
    assert child["train"] == {"epochs": 3}
    same = merge(
        {"loss": "ocsoftmax", "loss_conf": {"alpha": 10.0}}, {"loss_conf": {"margin_spoof": 0.1}}
    )
    assert same["loss_conf"] == {"alpha": 10.0, "margin_spoof": 0.1}


def test_extends_cycle_is_an_error(tmp_path):
    write(tmp_path / "a.yaml", {"extends": "b.yaml"})
    write(tmp_path / "b.yaml", {"extends": "a.yaml"})
    with pytest.raises(ConfigError, match="extends itself"):
        load_config(tmp_path / "a.yaml")


def test_overrides_and_derived_tags():
    config = apply_overrides({"train": {"epochs": 5}}, ["train.epochs=2", "loss=softmax"])
    assert config == {"train": {"epochs": 2}, "loss": "softmax"}
    with pytest.raises(ConfigError, match=r"key\.sub=value"):
        apply_overrides({}, ["train.epochs"])
    with pytest.raises(ConfigError, match="unknown top-level key 'trian'"):
        apply_overrides({}, ["trian.epochs=2"])
    assert experiment_tag("conf/x.yaml", []) == "x"
    assert experiment_tag("conf/x.yaml", ["train.epochs=2"]) == "x__train.epochs=2"


def test_frontend_tag_changes_with_any_frontend_setting():
    config = resolve_file(EXPERIMENT_CONFIGS[0])
    other = resolve(apply_overrides(config, ["frontend_conf.n_ceps=19"]))
    assert frontend_tag(config).startswith("lfcc_")
    assert frontend_tag(config) != frontend_tag(other)

"""Configs: strict registries, extends, overrides, derived tags, and a dry run of every config."""

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import pytest
import yaml

from antispoof.config import (
    REPO_ROOT,
    apply_overrides,
    branch_tag,
    experiment_tag,
    load_config,
    merge,
    resolve,
    resolve_file,
)
from antispoof.detector import build_detector
from antispoof.optim import OPTIMIZERS, SCHEDULERS
from antispoof.registry import ConfigError, Registry
from tiny_configs import offline

EXPERIMENT_CONFIGS = sorted(REPO_ROOT.glob("egs/*/conf/*.yaml"))


def write(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(
    "config_path", EXPERIMENT_CONFIGS, ids=lambda p: f"{p.parent.parent.name}/{p.name}"
)
def test_every_experiment_config_builds(config_path):
    config = resolve_file(config_path)
    # The saved form resolves to itself: later stages read only exp/<tag>/config.yaml.
    assert resolve(yaml.safe_load(yaml.safe_dump(config))) == config
    # Released encoders cannot be downloaded here: random ones of the same shapes stand in.
    detector = build_detector(resolve(yaml.safe_load(yaml.safe_dump(offline(config)))))
    assert detector.num_parameters() > 0


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


def test_branch_tag_changes_with_any_frontend_setting():
    config = resolve_file(MINI_SOFTMAX)
    other = resolve(apply_overrides(config, ["inputs.lfcc.frontend_conf.n_ceps=19"]))
    assert branch_tag(config["inputs"]["lfcc"]).startswith("lfcc_")
    assert branch_tag(config["inputs"]["lfcc"]) != branch_tag(other["inputs"]["lfcc"])


def test_the_short_form_resolves_to_one_named_branch(tmp_path):
    short = resolve_file(MINI_SOFTMAX)
    assert list(short["inputs"]) == ["lfcc"] and "frontend" not in short
    both = write(
        tmp_path / "both.yaml",
        {"extends": str(MINI_SOFTMAX), "inputs": {"x": {"frontend": "lfcc"}}},
    )
    with pytest.raises(ConfigError, match="either frontend/frontend_conf or inputs"):
        resolve_file(both)


BASE_CONFIGS = sorted(REPO_ROOT.glob("conf/*/*.yaml"))


@pytest.mark.parametrize("base", BASE_CONFIGS, ids=lambda p: f"conf/{p.parent.name}/{p.name}")
def test_every_base_config_resolves(tmp_path, base):
    # A base alone names only some parts: complete it with one base of every other kind.
    kinds = {path.parent.name: path for path in BASE_CONFIGS}
    kinds[base.parent.name] = base
    extends = [f"{kind}/{path.stem}" for kind, path in sorted(kinds.items())]
    config = resolve_file(write(tmp_path / "c.yaml", {"extends": extends, "loss": "softmax"}))
    assert resolve(yaml.safe_load(yaml.safe_dump(config))) == config


MINI_SOFTMAX = REPO_ROOT / "egs/mini/conf/lfcc_resnet18_softmax.yaml"
MINI_OCSOFTMAX = REPO_ROOT / "egs/mini/conf/lfcc_resnet18_ocsoftmax.yaml"


@pytest.mark.parametrize(
    ("config_path", "override", "message"),
    [
        (MINI_SOFTMAX, "train.epochs=2.5", "train.epochs must be an int, not 2.5 (a float)"),
        (MINI_SOFTMAX, "train.epochs=true", "train.epochs must be an int, not True (a boolean)"),
        (MINI_SOFTMAX, "optim_conf.lr=fast", "optim_conf.lr must be a float, not 'fast'"),
        (MINI_SOFTMAX, "train.grad_clip=x", "train.grad_clip must be a float or null, not 'x'"),
        (MINI_SOFTMAX, "inference.segment_hop_seconds=x", "inference.segment_hop_seconds must"),
        (MINI_SOFTMAX, "train.crop_seconds=long", "train.crop_seconds must be a float"),
        (MINI_SOFTMAX, "train.freeze.lfcc=1.5", "train.freeze must be a mapping"),
        (MINI_SOFTMAX, "train.precision=16", "train.precision must be a string, not 16"),
        (MINI_SOFTMAX, "model_conf.channels=[8,16.5,32,64]", "model_conf.channels must be a list"),
        (MINI_SOFTMAX, "model_conf.channels=64", "model_conf.channels must be a list of int"),
        (MINI_SOFTMAX, "model_conf.embedding_dim=true", "model_conf.embedding_dim must be an int"),
        (MINI_SOFTMAX, "frontend_conf.with_deltas=1", "frontend_conf.with_deltas must be true or"),
        (MINI_SOFTMAX, "frontend_conf.pre_emphasis=high", "frontend_conf.pre_emphasis must be a"),
        (MINI_SOFTMAX, "optim_conf.betas=[0.9]", "optim_conf.betas must be a list of 2 (float"),
        (MINI_SOFTMAX, "optim_conf.amsgrad=0", "optim_conf.amsgrad must be true or false"),
        # 1e3 is read as a string by YAML 1.1, and only float settings take it as a number.
        (MINI_SOFTMAX, "scheduler_conf.step_size=1e3", "scheduler_conf.step_size must be an int"),
        (MINI_OCSOFTMAX, "loss_conf.alpha=strong", "loss_conf.alpha must be a float"),
        (MINI_OCSOFTMAX, "optim_groups.loss.optim_conf.lr=fast", "optim_groups.loss.optim_conf.lr"),
        (MINI_OCSOFTMAX, "optim_groups.head.lr_scale=2", "optim_groups has no part 'head'"),
        (MINI_SOFTMAX, "train=3", "train must be a mapping of settings"),
        (MINI_SOFTMAX, "model_conf=3", "model_conf must be a mapping of settings"),
        (MINI_SOFTMAX, "loss=[softmax]", "loss must be a name"),
        (MINI_SOFTMAX, "scheduler=exponential", "scheduler 'exponential' needs gamma"),
    ],
)
def test_values_of_the_wrong_type_are_errors_naming_the_key(config_path, override, message):
    with pytest.raises(ConfigError) as error:
        resolve_file(config_path, [override])
    assert message in str(error.value)


def test_numbers_that_are_right_but_spelt_loosely_are_accepted():
    config = resolve_file(
        MINI_OCSOFTMAX,
        [
            "optim_conf.lr=1",  # an int is a fine float
            "optim_conf.weight_decay=5e-4",  # YAML 1.1 reads 5e-4 as a string
            "optim_conf.betas=[0.9,1e-3]",
            "train.grad_clip=1E+1",
            "optim_groups.loss.optim_conf.lr=3e-4",
        ],
    )
    assert config["optim_conf"]["lr"] == 1
    assert config["optim_conf"]["weight_decay"] == 0.0005
    assert config["optim_conf"]["betas"] == [0.9, 0.001]
    assert config["train"]["grad_clip"] == 10.0
    assert config["optim_groups"]["loss"]["optim_conf"]["lr"] == 0.0003
    # The saved form holds the numbers, so it resolves to itself.
    assert resolve(yaml.safe_load(yaml.safe_dump(config))) == config
    assert "1e-3" not in yaml.safe_dump(config)


def test_expected_types_from_annotations_and_from_defaults():
    registry: Registry[dict] = Registry("part")

    @registry.register("annotated")
    def annotated(
        mode: Literal["fast", "slow"] = "fast",
        sizes: Sequence[int] = (1, 2),
        pair: tuple[float, float] = (0.1, 0.2),
        table: dict[str, int] | None = None,
    ) -> dict:
        return {}

    @registry.register("plain")
    def plain(rate=0.5, flag=False, count=3, sizes=(1, 2), name="x", anything=None):
        return {}

    check = registry.check
    assert check("annotated", {"mode": "slow", "sizes": [3], "pair": [1, "2e-1"]}) == {
        "mode": "slow",
        "sizes": [3],
        "pair": [1, 0.2],
    }
    assert check("annotated", {"table": {"a": 1}}) == {"table": {"a": 1}}
    for conf, message in [
        ({"mode": "medium"}, "part_conf.mode must be one of 'fast', 'slow', not 'medium'"),
        ({"sizes": "12"}, "part_conf.sizes must be a list of int, not '12'"),
        ({"pair": [1, 2, 3]}, "part_conf.pair must be a list of 2 (float, float)"),
        ({"table": {"a": 1.5}}, "part_conf.table must be a mapping or null"),
    ]:
        with pytest.raises(ConfigError, match=re.escape(message)):
            check("annotated", conf)
    # Without annotations, the type of the default: a float takes an int, a bool only a bool.
    assert check("plain", {"rate": 1, "sizes": [3, 4, 5], "anything": [object]})["rate"] == 1
    for conf, message in [
        ({"rate": True}, "part_conf.rate must be a float, not True"),
        ({"flag": 1}, "part_conf.flag must be true or false, not 1"),
        ({"count": 2.0}, "part_conf.count must be an int, not 2.0"),
        ({"sizes": 3}, "part_conf.sizes must be a list, not 3"),
        ({"name": 3}, "part_conf.name must be a string, not 3"),
    ]:
        with pytest.raises(ConfigError, match=re.escape(message)):
            check("plain", conf)


def test_torch_optimizer_and_scheduler_settings_are_checked():
    # torch annotates lr as `float | Tensor`; a config can only give the float.
    with pytest.raises(ConfigError, match=r"optim_conf\.lr must be a float, not 'fast'"):
        OPTIMIZERS.resolved_conf("adam", {"lr": "fast"}, "params")
    with pytest.raises(ConfigError, match=r"scheduler_conf\.step_size must be an int, not 2\.5"):
        SCHEDULERS.resolved_conf("steplr", {"step_size": 2.5}, "optimizer")
    assert OPTIMIZERS.resolved_conf("sgd", {"lr": "1e-2", "nesterov": True}, "params")["lr"] == 0.01


def test_nested_parts_are_resolved_with_every_default(tmp_path):
    def stack(lfcc_conf: dict) -> dict:
        branches = {
            "a": {"frontend": "lfcc", "frontend_conf": lfcc_conf},
            "b": {"frontend": "lfcc"},
        }
        return {"frontend": "stack", "frontend_conf": {"branches": branches}}

    base = {"extends": str(MINI_SOFTMAX), "frontend_conf": None}
    implicit = resolve_file(write(tmp_path / "i.yaml", {**base, **stack({})}))
    explicit = resolve_file(write(tmp_path / "e.yaml", {**base, **stack({"n_ceps": 20})}))
    # Equal settings, spelt out or left to their defaults, name the same feature cache.
    assert branch_tag(implicit["inputs"]["stack"]) == branch_tag(explicit["inputs"]["stack"])
    branch = implicit["inputs"]["stack"]["frontend_conf"]["branches"]["b"]
    assert branch["frontend_conf"]["n_ceps"] == 20


def test_null_over_an_inherited_mapping_removes_it_and_over_a_value_sets_it(tmp_path):
    base = {
        "inputs": {
            "lfcc": {"frontend": "lfcc"},
            "mfcc": {"frontend": "mfcc", "frontend_conf": {"n_mfcc": 20, "n_mels": 40}},
        },
        "model": "se_res2net",
        "model_conf": {"input": "lfcc", "se_reduction": 16},
        "loss": "softmax",
        "optim": "adam",
        "optim_groups": {"inputs.lfcc": {"lr_scale": 0.5}},
        "train": {"epochs": 3, "freeze": {"mfcc": 1}},
    }
    (tmp_path / "base.yaml").write_text(yaml.safe_dump(base))
    child = {
        "extends": ["base.yaml"],
        "inputs": {"mfcc": None},
        "model_conf": {"se_reduction": None},
        "optim_groups": None,
        "train": {"freeze": None},
    }
    (tmp_path / "child.yaml").write_text(yaml.safe_dump(child))
    config = resolve_file(tmp_path / "child.yaml")
    assert sorted(config["inputs"]) == ["lfcc"]
    assert config["optim_groups"] == {}
    assert config["train"]["freeze"] == {} and config["train"]["epochs"] == 3
    assert config["model_conf"]["se_reduction"] is None  # a setting whose value is null


def test_a_short_form_config_takes_its_branch_keys_as_the_saved_config_spells_them():
    """`inputs.lfcc.frontend_conf.n_filters=30` (the key of the saved config.yaml) on a config in
    the short form sets `frontend_conf.n_filters`; another branch name is one line naming both."""
    short = load_config(MINI_SOFTMAX)
    assert "inputs" not in short and short["frontend"] == "lfcc"
    long_key = resolve(apply_overrides(short, ["inputs.lfcc.frontend_conf.n_filters=30"]))
    short_key = resolve(apply_overrides(short, ["frontend_conf.n_filters=30"]))
    assert long_key == short_key
    assert long_key["inputs"]["lfcc"]["frontend_conf"]["n_filters"] == 30
    with pytest.raises(ConfigError, match=r"one input branch, 'lfcc'.*inputs\.lfcc\.frontend_conf"):
        apply_overrides(short, ["inputs.mfcc.frontend_conf.n_filters=30"])
    with pytest.raises(ConfigError, match="frontend and frontend_conf, not 'n_filters'"):
        apply_overrides(short, ["inputs.lfcc.n_filters=30"])

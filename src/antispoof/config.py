"""Experiment configs: YAML with `extends`, dotted overrides, strict checking, a derived tag.

An experiment config names one choice per swappable part plus its settings block: its input
branches, `model`/`model_conf`, `loss`/`loss_conf`, `optim`/`optim_conf`,
`scheduler`/`scheduler_conf`, `optim_groups`, `augment`, and the `train` and `inference`
blocks; `waveform_augment` names augmentations of the training audio, run in the data-loader
workers before any branch sees it (RawBoost), in the order written. Input branches are
`inputs: {name: {frontend: ..., frontend_conf: {...}}}`; a config with one branch may keep the
short form `frontend`/`frontend_conf` (the branch is then named after its frontend). `extends`
lists base configs (names under the repository's `conf/`, such as `model/resnet18`, or paths
relative to the file) merged in order before the file itself. When a config changes a part's
name, the settings block inherited for the old name is dropped rather than merged into the new
one; `null` over an inherited mapping (an input branch, say) removes it.

Every value is checked against its declared type before anything is built or written
(`antispoof.registry.conform`): the annotations of the `train` and `inference` dataclasses
below and of each part's constructor. A bool is not an int, a float is not an int, a string is
not a number; `lr: 1e-3`, which YAML 1.1 reads as a string, is taken as the float it spells.

The resolved config (every default filled in) is what stage 3 saves as `exp/<tag>/config.yaml`;
later stages read only that file.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, get_type_hints

import yaml

from antispoof.registry import ConfigError, conform

REPO_ROOT = Path(__file__).resolve().parents[2]
BASE_CONF_DIR = REPO_ROOT / "conf"

PARTS = ("frontend", "model", "loss", "optim", "scheduler")
TOP_LEVEL_KEYS = {
    "extends",
    "init",
    "inputs",
    "optim_groups",
    "augment",
    "waveform_augment",
    "train",
    "inference",
} | {key for part in PARTS for key in (part, f"{part}_conf")}
# The parts of a detector that `optim_groups` and `train.freeze` name: every input branch
# (`inputs`) or one of them (`inputs.<name>`), the model, the loss.
DETECTOR_PARTS = ("inputs", "model", "loss")


TRAINING_CROPS = ("random", "segments")
PRECISIONS = ("bf16", "auto", "fp32")


@dataclass
class TrainConf:
    """Settings of the training loop (the `train` block)."""

    epochs: int = 100
    batch_size: int = 64
    # One crop per example and epoch, chosen in seconds so that every branch sees the same span
    # (750 LFCC frames of the OC-Softmax paper = 7.5 s); shorter utterances are repeat-padded.
    crop_seconds: float = 7.5
    # Which crops an epoch trains on: `random`, one crop per utterance at a random start (AIR,
    # AASIST); `segments`, every crop of every utterance, one every `segment_hop_seconds`
    # (default: half a crop), the last flush with the utterance's end, as Li et al.'s
    # Res2Net recipe cuts 400-frame segments with a 200-frame hop and trains on all of them.
    crops: str = "random"
    segment_hop_seconds: float | None = None
    seed: int = 688
    num_workers: int = 2
    # Gradient accumulation: each optimiser step sums the gradients of `accum_grad` micro-batches
    # of batch_size / (accum_grad x processes) examples on each process, so that batch_size stays
    # the effective batch a paper publishes while a smaller device holds the activations of one
    # micro-batch only (antispoof.training.trainer says where the result differs).
    accum_grad: int = 1
    grad_clip: float | None = None
    # Input branches frozen for their first N epochs, then fine-tuned: {branch name: N}.
    freeze: dict[str, int] = field(default_factory=dict)
    # What the input branches and the model compute in on a GPU (the loss and the scores are
    # float32 always, the CPU float32 throughout): `bf16` (bfloat16 autocast where the GPU has
    # it natively, else float32), `auto` (bfloat16 where native, else float16 with gradient
    # scaling), `fp32` (antispoof.training.device.autocast_dtype).
    precision: str = "bf16"

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ConfigError(
                f"train.precision must be one of {', '.join(PRECISIONS)}, not {self.precision!r}"
            )
        for name in ("epochs", "batch_size", "crop_seconds", "accum_grad"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"train.{name} must be positive")
        if self.crops not in TRAINING_CROPS:
            raise ConfigError(
                f"train.crops must be one of {', '.join(TRAINING_CROPS)}, not {self.crops!r}"
            )
        if self.segment_hop_seconds is not None and self.segment_hop_seconds <= 0:
            raise ConfigError("train.segment_hop_seconds must be positive")
        if self.segment_hop_seconds is not None and self.crops != "segments":
            raise ConfigError("train.segment_hop_seconds applies only to train.crops: segments")
        for branch, epochs in self.freeze.items():
            if epochs < 0:
                raise ConfigError(f"train.freeze.{branch} must be a number of epochs >= 0")


INFERENCE_MODES = ("segments", "first", "full")


@dataclass
class InferenceConf:
    """How an utterance is scored (the `inference` block); deterministic in every mode.

    `segments`: windows of `segment_seconds` (default: the training crop, filled in when the
    config is resolved, so that a saved config states the window) every
    `segment_hop_seconds` (default: half a window), the last one flush with the end; shorter
    utterances give one repeat-padded window as in training. The utterance score is the mean of
    its window scores. `first`: only the first window of `segment_seconds`, repeat-padded when
    the utterance is shorter; the rest of a longer utterance is not looked at (what the official
    AASIST evaluation does: the first 64,600 samples). `full`: the whole utterance in one pass
    (batch size 1).
    """

    mode: str = "segments"
    segment_seconds: float | None = None
    segment_hop_seconds: float | None = None
    batch_size: int = 32
    # Stage 5 draws a t-SNE map of the embeddings of up to this many bona fide and as many spoof
    # utterances of each test set (antispoof.bin.tsne); 0: none.
    tsne_per_class: int = 0

    def __post_init__(self) -> None:
        if self.mode not in INFERENCE_MODES:
            raise ConfigError(
                f"inference.mode must be one of {', '.join(INFERENCE_MODES)}, not {self.mode!r}"
            )
        for name in ("segment_seconds", "segment_hop_seconds"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ConfigError(f"inference.{name} must be positive")
        if self.tsne_per_class < 0:
            raise ConfigError("inference.tsne_per_class must be >= 0")


@dataclass
class OptimGroup:
    """How one part of the detector is optimised (an `optim_groups` entry): a learning-rate
    scale of the main optimizer, or an optimizer of its own (`optim` with `optim_conf`)."""

    lr_scale: float = 1.0
    optim: str | None = None
    optim_conf: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.lr_scale < 0:
            raise ConfigError("an optim_groups lr_scale must be >= 0")


def _dataclass_from(cls: type, block: dict[str, Any] | None, where: str) -> Any:
    """`cls` from a settings block, each value checked against its field's annotation first
    (so that `__post_init__` compares numbers, not whatever YAML produced)."""
    if block is None:
        block = {}
    if not isinstance(block, dict):
        raise ConfigError(f"{where} must be a mapping of settings, not {block!r}")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(block) - known, key=str)
    if unknown:
        raise ConfigError(f"{where} has no setting(s) {unknown}; its settings are {sorted(known)}")
    types = get_type_hints(cls)
    return cls(
        **{key: conform(value, types[key], f"{where}.{key}") for key, value in block.items()}
    )


def _load_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    with path.open(encoding="utf-8") as handle:
        try:
            data = yaml.safe_load(handle) or {}
        except yaml.YAMLError as err:
            raise ConfigError(yaml_error_message(err, path)) from err
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a config must be a mapping, not {type(data).__name__}")
    unknown = sorted(set(data) - TOP_LEVEL_KEYS)
    if unknown:
        raise ConfigError(
            f"{path}: unknown top-level key(s) {unknown}; allowed: {sorted(TOP_LEVEL_KEYS)}"
        )
    return data


def yaml_error_message(err: yaml.YAMLError, source: str | os.PathLike[str] | None = None) -> str:
    """`SOURCE:LINE:COLUMN: invalid YAML: problem` on one line (PyYAML's own text spans several);
    `source` defaults to the stream name PyYAML recorded (a file's path)."""
    mark = getattr(err, "problem_mark", None)
    if mark is None:  # a reader error (a character YAML refuses): its first line says which
        return f"{source or '<yaml>'}: invalid YAML: {str(err).splitlines()[0]}"
    return (
        f"{source or mark.name}:{mark.line + 1}:{mark.column + 1}: invalid YAML: "
        f"{getattr(err, 'problem', None) or str(err).splitlines()[0]}"
    )


def _base_path(reference: str, including_file: Path) -> Path:
    if reference.endswith((".yaml", ".yml")):
        return (including_file.parent / reference).resolve()
    return BASE_CONF_DIR / f"{reference}.yaml"


def merge(base: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    """Deep merge; a changed part name drops the settings block inherited for the old name, and
    `null` over an inherited mapping removes it (an input branch, `train.freeze`, ...), so that
    its default applies."""
    merged = copy.deepcopy(base)
    for part in PARTS:
        if part in child and child[part] != base.get(part):
            merged.pop(f"{part}_conf", None)
    for key, value in child.items():
        if value is None and isinstance(merged.get(key), dict):
            del merged[key]
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def load_config(path: str | Path, _chain: tuple[Path, ...] = ()) -> dict[str, Any]:
    """Read a config and everything it extends (depth first, in order), merged."""
    path = Path(path).resolve()
    if path in _chain:
        raise ConfigError(f"config extends itself: {' -> '.join(str(p) for p in (*_chain, path))}")
    data = _load_yaml(path)
    bases = data.pop("extends", None) or []
    if isinstance(bases, str):
        bases = [bases]
    merged: dict[str, Any] = {}
    for reference in bases:
        merged = merge(merged, load_config(_base_path(reference, path), (*_chain, path)))
    return merge(merged, data)


def parse_override(text: str) -> tuple[list[str], Any]:
    """`train.epochs=3` -> (['train', 'epochs'], 3); the value is parsed as YAML."""
    key, sep, value = text.partition("=")
    if not sep or not key or not re.fullmatch(r"[A-Za-z_][\w.]*", key):
        raise ConfigError(f"override {text!r} is not of the form key.sub=value")
    return key.split("."), yaml.safe_load(value) if value else None


def apply_overrides(config: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Each `key.sub=value` merged in, in order. A config in the short form (`frontend`,
    `frontend_conf`) also takes its branch's keys as the saved config.yaml spells them,
    `inputs.<frontend>.frontend_conf.<key>`: they are the same settings."""
    for text in overrides:
        keys, value = parse_override(text)
        if keys[0] not in TOP_LEVEL_KEYS:
            raise ConfigError(f"override {text!r}: unknown top-level key {keys[0]!r}")
        keys = _short_form_keys(config, keys, text)
        nested: dict[str, Any] = {}
        cursor = nested
        for key in keys[:-1]:
            cursor = cursor.setdefault(key, {})
        cursor[keys[-1]] = value
        config = merge(config, nested)
    return config


def _short_form_keys(config: dict[str, Any], keys: list[str], text: str) -> list[str]:
    """`inputs.<name>.<rest>` as `<rest>` of a short-form config whose branch is `<name>`."""
    short = config.get("inputs") is None and isinstance(config.get("frontend"), str)
    if keys[0] != "inputs" or not short or len(keys) < 3:
        return keys
    branch = config["frontend"]
    if keys[1] != branch:
        raise ConfigError(
            f"override {text!r}: the config has one input branch, {branch!r} (short form "
            f"frontend/frontend_conf); set inputs.{branch}.frontend_conf.<key> or "
            "frontend_conf.<key>"
        )
    if keys[2] not in ("frontend", "frontend_conf"):
        raise ConfigError(
            f"override {text!r}: an input branch has frontend and frontend_conf, not {keys[2]!r}"
        )
    return keys[2:]


def experiment_tag(config_path: str | Path, overrides: list[str]) -> str:
    """The experiment directory name: the config file's stem, then each override, sanitised."""
    tag = Path(config_path).stem
    for text in overrides:
        tag += "__" + re.sub(r"[^\w.=+-]", "-", text)
    return tag


def branch_tag(branch: dict[str, Any]) -> str:
    """The feature cache name of an input branch: its frontend plus a hash of its settings."""
    digest = hashlib.sha1(
        json.dumps(branch["frontend_conf"], sort_keys=True).encode("utf-8")
    ).hexdigest()[:8]
    return f"{branch['frontend']}_{digest}"


def input_branches(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """`{name: {frontend, frontend_conf}}` of a config in either form (short or `inputs`)."""
    has_short = config.get("frontend") is not None or config.get("frontend_conf") is not None
    inputs = config.get("inputs")
    if inputs is not None and has_short:
        raise ConfigError("give either frontend/frontend_conf or inputs, not both")
    if inputs is None:
        if not config.get("frontend"):
            raise ConfigError("the config names no frontend (frontend: ..., or inputs: {...})")
        if not isinstance(config["frontend"], str):
            raise ConfigError(f"frontend must be a name, not {config['frontend']!r}")
        return {
            config["frontend"]: {
                "frontend": config["frontend"],
                "frontend_conf": config.get("frontend_conf"),
            }
        }
    if not isinstance(inputs, dict) or not inputs:
        raise ConfigError("inputs must map branch names to {frontend: ..., frontend_conf: ...}")
    for name, branch in inputs.items():
        where = f"inputs.{name}"
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][\w]*", name):
            raise ConfigError(f"{where}: a branch name must be a word (letters, digits, _)")
        if not isinstance(branch, dict) or not isinstance(branch.get("frontend"), str):
            raise ConfigError(f"{where} must be a mapping with a frontend name")
        unknown = sorted(set(branch) - {"frontend", "frontend_conf"})
        if unknown:
            raise ConfigError(f"{where} has no key(s) {unknown}; it has frontend, frontend_conf")
    return inputs


def _plain(value: Any) -> Any:
    """YAML-safe copy: tuples become lists."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def resolve(config: dict[str, Any]) -> dict[str, Any]:
    """Check every name and key, fill in every default; the result is saved with the experiment.

    The resolved form is canonical: input branches always as `inputs`. Frontends are not built
    (an encoder would load its weights): their feature specs come from their settings alone.
    """
    # Imported here: building the registries imports torch, which plain YAML handling does not need.
    from antispoof.augment import AUGMENTATIONS
    from antispoof.augment.waveform import WAVEFORM_AUGMENTATIONS
    from antispoof.frontends import FRONTENDS
    from antispoof.losses import LOSSES, resolved_loss_conf
    from antispoof.models import MODELS
    from antispoof.optim import OPTIMIZERS, SCHEDULERS

    for part in ("model", "loss", "optim"):
        if not config.get(part):
            raise ConfigError(f"the config names no {part}")
    for part in PARTS:
        if config.get(part) is not None and not isinstance(config[part], str):
            raise ConfigError(f"{part} must be a name, not {config[part]!r}")
    resolved: dict[str, Any] = {"inputs": {}}
    specs = {}
    for name, branch in input_branches(config).items():
        where = f"inputs.{name}.frontend_conf"
        settings = FRONTENDS.get(branch["frontend"]).resolved_settings(
            branch["frontend"], branch.get("frontend_conf"), where
        )
        specs[name] = feature_spec(branch["frontend"], settings, where)
        resolved["inputs"][name] = {"frontend": branch["frontend"], "frontend_conf": settings}
    model = MODELS.build(config["model"], config.get("model_conf"), inputs=specs)
    resolved["model"] = config["model"]
    resolved["model_conf"] = MODELS.get(config["model"]).resolved_settings(
        config["model"], config.get("model_conf"), "model_conf"
    )
    LOSSES.build(config["loss"], config.get("loss_conf"), embedding_dim=model.embedding_dim)
    resolved["loss"] = config["loss"]
    resolved["loss_conf"] = resolved_loss_conf(config["loss"], config.get("loss_conf"))
    resolved["optim"] = config["optim"]
    OPTIMIZERS.get(config["optim"])
    resolved["optim_conf"] = OPTIMIZERS.resolved_conf(
        config["optim"], config.get("optim_conf"), "params"
    )
    scheduler = config.get("scheduler") or "constant"
    resolved["scheduler"] = scheduler
    scheduler_conf = config.get("scheduler_conf") or (
        {"factor": 1.0} if scheduler == "constant" else {}
    )
    resolved["scheduler_conf"] = SCHEDULERS.resolved_conf(scheduler, scheduler_conf, "optimizer")
    resolved["optim_groups"] = _resolve_optim_groups(
        config.get("optim_groups"), set(resolved["inputs"]), OPTIMIZERS
    )
    augment = config.get("augment") or {}
    if not isinstance(augment, dict):
        raise ConfigError("augment must map augmentation names to their settings")
    resolved["augment"] = {
        name: AUGMENTATIONS.resolved_conf(name, conf, where=f"augment.{name}")
        for name, conf in augment.items()
    }
    waveform_augment = config.get("waveform_augment") or {}
    if not isinstance(waveform_augment, dict):
        raise ConfigError("waveform_augment must map augmentation names to their settings")
    # The audio's sample rate comes from the input branches, never from the settings.
    sample_rate = next(iter(specs.values())).sample_rate
    resolved["waveform_augment"] = {}
    for name, conf in waveform_augment.items():
        where = f"waveform_augment.{name}"
        settings = WAVEFORM_AUGMENTATIONS.resolved_conf(name, conf, "sample_rate", where=where)
        # Built once here, so that a value out of range is an error before anything runs.
        WAVEFORM_AUGMENTATIONS.build(name, settings, where=where, sample_rate=sample_rate)
        resolved["waveform_augment"][name] = settings
    train = _dataclass_from(TrainConf, config.get("train"), "train")
    unknown = sorted(set(train.freeze) - set(resolved["inputs"]))
    if unknown:
        raise ConfigError(
            f"train.freeze names no input branch {unknown}; the branches are "
            f"{sorted(resolved['inputs'])}"
        )
    resolved["train"] = asdict(train)
    inference = _dataclass_from(InferenceConf, config.get("inference"), "inference")
    if inference.segment_seconds is None:
        # The scoring window defaults to the training crop, written out here so that the saved
        # config holds the window every scorer uses.
        inference.segment_seconds = train.crop_seconds
    resolved["inference"] = asdict(inference)
    if config.get("init") is not None:  # absent from configs that do not start from a model
        resolved["init"] = _resolve_init(config["init"], resolved)
    return _plain(resolved)


def _resolve_init(init: Any, resolved: dict[str, Any]) -> dict[str, Any]:
    """`init: NAME` or `init: {model: NAME, parts: [...]}`: training starts from zoo model NAME's
    weights (antispoof.zoo), for the detector parts named (`inputs`, `model`, `loss`; all by
    default). The parts loaded must be the zoo model's architecture (checked when loading)."""
    from antispoof.zoo import zoo_config, zoo_model

    if isinstance(init, str):
        init = {"model": init}
    if not isinstance(init, dict) or not isinstance(init.get("model"), str):
        raise ConfigError("init must be a zoo model's name, or {model: NAME, parts: [...]}")
    unknown = sorted(set(init) - {"model", "parts"})
    if unknown:
        raise ConfigError(f"init: unknown key(s) {unknown}; allowed: model, parts")
    try:
        name = zoo_model(init["model"]).card.name
    except KeyError as err:
        raise ConfigError(f"init.model: {err.args[0]}") from None
    parts = list(init.get("parts") or DETECTOR_PARTS)
    wrong = sorted(set(parts) - set(DETECTOR_PARTS))
    if wrong or len(set(parts)) != len(parts):
        raise ConfigError(f"init.parts must name some of {list(DETECTOR_PARTS)}, not {parts}")
    source = zoo_config(name)
    if "model" in parts and source["model"] != resolved["model"]:
        raise ConfigError(
            f"init.model {name} is a {source['model']} model; this config's model is "
            f"{resolved['model']} (load only its inputs with init.parts: [inputs])"
        )
    if "inputs" in parts and sorted(source["inputs"]) != sorted(resolved["inputs"]):
        raise ConfigError(
            f"init.model {name} has the input branches {sorted(source['inputs'])}, this config "
            f"{sorted(resolved['inputs'])}"
        )
    return {"model": name, "parts": parts}


def feature_spec(frontend: str, settings: dict[str, Any], where: str) -> Any:
    """The FeatureSpec of a frontend with resolved `settings`, computed without its weights."""
    from antispoof.frontends import FRONTENDS

    try:
        return FRONTENDS.get(frontend).feature_spec(**settings)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{where}: {err}") from err


def _resolve_optim_groups(groups: Any, branches: set[str], optimizers: Any) -> dict[str, Any]:
    """`optim_groups` checked: keys are detector parts, values OptimGroup settings."""
    if groups is None:
        return {}
    if not isinstance(groups, dict):
        raise ConfigError("optim_groups must map detector parts to their optimisation")
    allowed = [*DETECTOR_PARTS, *(f"inputs.{name}" for name in sorted(branches))]
    resolved = {}
    for part, block in groups.items():
        if part not in allowed:
            raise ConfigError(f"optim_groups has no part {part!r}; the parts are {allowed}")
        group = _dataclass_from(OptimGroup, block, f"optim_groups.{part}")
        if group.optim is not None:
            optimizers.get(group.optim)
            group.optim_conf = optimizers.resolved_conf(
                group.optim, group.optim_conf, "params", where=f"optim_groups.{part}.optim_conf"
            )
        elif group.optim_conf:
            raise ConfigError(f"optim_groups.{part}.optim_conf is given without an optim")
        resolved[part] = asdict(group)
    return resolved


def resolve_file(config_path: str | Path, overrides: list[str] | None = None) -> dict[str, Any]:
    return resolve(apply_overrides(load_config(config_path), list(overrides or [])))


def save_config(config: dict[str, Any], path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # A per-process temporary name: parallel jobs may write the same file.
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    tmp.replace(path)


def read_resolved(path: str | Path) -> dict[str, Any]:
    """An experiment's saved config, checked again (a hand-edited typo is still an error)."""
    return resolve(_load_yaml(Path(path)))

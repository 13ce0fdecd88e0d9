"""Stage markers: finished work records checksums of what it was made from.

A stage's marker (`data/.done.<corpus>`, `dump/<tag>/<set>/.done`, `exp/<tag>/.done.train`,
`exp/<tag>/<set>/.done.score`) holds one `<input> <sha256>` line per input of the work. The
record is taken when the work starts (as `<marker>.tmp`) and renamed into place when it ends, so
a marker never describes inputs that changed while the work ran. A marker whose record differs
from the current inputs is stale: the work belongs to other inputs, and the pipeline redoes it
(features, scores, data directories) or refuses to go on (a trained model) instead of reusing it.

Inputs are named by role (`train_dir/wav.scp`, `config:frontend`), not by path, so the same data
reached through another relative path is the same input. What each kind of work is made from:

- `data` (stage 1): the corpus root's path and its `.complete` marker (a re-download changes it);
- `feats` (stage 2): `wav.scp` of the set, the settings of the input branch cached, and the
  storage dtype when it is not float32 (so a float16 cache is never taken for a float32 one;
  markers from before the option are float32 caches and stay current); a feature cache whose
  inputs are current is also checked for damage (antispoof.data.feature_store.view_problem);
- `train` (stage 3): `wav.scp` and `utt2label` of the training and dev sets (the only tables
  training reads) and the training settings (`training_settings`);
- `score` (stage 4): `wav.scp` of the set, the whole config, and the checkpoint's bytes.

Audio files are not hashed: reading a corpus at every check would cost minutes. A changed audio
file under an unchanged path goes unnoticed; a changed path does not.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

KINDS = ("data", "feats", "train", "score")
ABSENT = "absent"  # the digest of an input file that does not exist
HEADER = "# inputs of this work (sha256): the work is redone or refused when one changes\n"
# Settings that change neither the model nor its training (`train.num_workers` only changes
# how fast the same crops arrive) and so never make a trained model stale.
NOT_TRAINING = ("inference",)
NOT_TRAINING_TRAIN_KEYS = ("num_workers",)
# What checking a marker finds (the exit statuses of `stage_marker check`; 1 stays an error).
CURRENT, MISSING, STALE = 0, 3, 4
# `train` keys added after trained models were first recorded, with the value that training had
# before the key existed. At that value a key is left out of the record, so that the record of a
# model trained before it existed (and its saved config, which lacks it) stays current; any other
# value counts like every training setting. (`accum_grad` changes a model only through what a
# micro-batch sees alone, BatchNorm statistics and batch-level losses: a training setting.)
TRAIN_KEYS_ADDED_LATER = {"accum_grad": 1}


class StaleWorkError(ValueError):
    """Existing work (a checkpoint, a cache) was made from inputs other than the current ones."""


def file_digest(path: str | os.PathLike[str]) -> str:
    """sha256 of a file's bytes, or `absent`."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            while block := handle.read(1 << 20):
                digest.update(block)
    except FileNotFoundError:
        return ABSENT
    return digest.hexdigest()


def settings_digest(settings: Any) -> str:
    """sha256 of settings in a canonical JSON form (key order does not matter)."""
    text = json.dumps(settings, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def training_settings(config: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a resolved config that a trained model depends on."""
    settings = {key: value for key, value in config.items() if key not in NOT_TRAINING}
    if isinstance(settings.get("train"), Mapping):
        settings["train"] = {
            key: value
            for key, value in settings["train"].items()
            if key not in NOT_TRAINING_TRAIN_KEYS
            and not (key in TRAIN_KEYS_ADDED_LATER and value == TRAIN_KEYS_ADDED_LATER[key])
        }
    return settings


def changed_settings(old: Any, new: Any, prefix: str = "") -> list[str]:
    """Dotted names of the settings that differ between two nested mappings."""
    if not (isinstance(old, Mapping) and isinstance(new, Mapping)):
        return [] if old == new else [prefix or "(all)"]
    names = []
    for key in sorted(set(old) | set(new), key=str):
        name = f"{prefix}.{key}" if prefix else str(key)
        if key not in old or key not in new:
            names.append(name)
        else:
            names.extend(changed_settings(old[key], new[key], name))
    return names


def read_config(path: str | os.PathLike[str]) -> dict[str, Any]:
    """An experiment's saved (resolved) config as plain data; resolution is not needed here."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"experiment config not found: {path}")
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(config, dict):
        raise ValueError(f"{path}: an experiment config must be a mapping")
    return config


def stage_inputs(
    kind: str,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    train_dir: str | os.PathLike[str] | None = None,
    dev_dir: str | os.PathLike[str] | None = None,
    config: str | os.PathLike[str] | Mapping[str, Any] | None = None,
    checkpoint: str | os.PathLike[str] | None = None,
    corpus_root: str | os.PathLike[str] | None = None,
    branch: str | None = None,
    cache_dtype: str = "float32",
) -> dict[str, str]:
    """The input record of a piece of work of `kind`: role name -> sha256 (see the module doc).

    `config` is the experiment's saved config file, or its contents already read; `cache_dtype`
    is the storage dtype of a feature cache.
    """
    given = {
        "data_dir": data_dir,
        "train_dir": train_dir,
        "dev_dir": dev_dir,
        "config": config,
        "checkpoint": checkpoint,
        "corpus_root": corpus_root,
        "branch": branch,
    }
    needed = {
        "data": ("corpus_root",),
        "feats": ("data_dir", "config", "branch"),
        "train": ("train_dir", "dev_dir", "config"),
        "score": ("data_dir", "config", "checkpoint"),
    }
    if kind not in needed:
        raise ValueError(f"unknown kind of work {kind!r}; one of {', '.join(KINDS)}")
    missing = [name for name in needed[kind] if given[name] is None]
    if missing:
        raise ValueError(f"a {kind} marker needs {', '.join(missing)}")
    record: dict[str, str] = {}
    if kind == "data":
        root = Path(str(corpus_root)).resolve()
        record["corpus_root"] = settings_digest(str(root))
        record["corpus_root/.complete"] = file_digest(root / ".complete")
        return record
    settings = config if isinstance(config, Mapping) else read_config(str(config))
    if kind == "feats":
        record["data_dir/wav.scp"] = file_digest(Path(str(data_dir)) / "wav.scp")
        branches = settings.get("inputs") or {}
        if branch not in branches:
            raise ValueError(f"{config} has no input branch {branch!r}: {sorted(branches)}")
        record["config:frontend"] = settings_digest(branches[branch])
        if cache_dtype != "float32":
            record["cache_dtype"] = settings_digest(cache_dtype)
    elif kind == "train":
        for role, directory in (("train_dir", train_dir), ("dev_dir", dev_dir)):
            for table in ("wav.scp", "utt2label"):
                record[f"{role}/{table}"] = file_digest(Path(str(directory)) / table)
        record["config:training"] = settings_digest(training_settings(settings))
    else:
        record["data_dir/wav.scp"] = file_digest(Path(str(data_dir)) / "wav.scp")
        record["config"] = settings_digest(settings)
        record["checkpoint"] = file_digest(str(checkpoint))
    return record


def write_marker(path: str | os.PathLike[str], record: Mapping[str, str]) -> None:
    """Write a record atomically (a reader never sees half a marker)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.partial")
    tmp.write_text(HEADER + "".join(f"{k} {v}\n" for k, v in record.items()), encoding="utf-8")
    os.replace(tmp, path)


def read_marker(path: str | os.PathLike[str]) -> dict[str, str] | None:
    """A marker's record; None when there is no marker. A marker from before records existed
    (an empty file) reads as an empty record, which differs from every current one."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    record = {}
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        name, _, digest = line.partition(" ")
        record[name] = digest
    return record


def stale_inputs(recorded: Mapping[str, str], current: Mapping[str, str]) -> list[str]:
    """The inputs whose recorded digest differs from the current one (or is not recorded)."""
    return [name for name in current if recorded.get(name) != current[name]] + [
        name for name in recorded if name not in current
    ]


def verdict(
    marker: str | os.PathLike[str], record: Mapping[str, str], paths: Mapping[str, Any]
) -> tuple[int, str]:
    """Whether a marker records `record`: (CURRENT, MISSING or STALE, one line for the log);
    `paths` maps role names to what they stand for (describe_inputs)."""
    recorded = read_marker(marker)
    if recorded is None:
        return MISSING, f"no {marker}"
    changed = stale_inputs(recorded, record)
    if changed:
        names = describe_inputs(changed, paths)
        return STALE, f"{marker} was made from other inputs (changed: {names})"
    return CURRENT, f"{marker} is current"


def describe_inputs(names: list[str], paths: Mapping[str, Any]) -> str:
    """Role names as the paths they stand for: `data_dir/wav.scp` -> `data/eval/wav.scp`,
    `config:frontend` -> `exp/x/config.yaml (frontend)`; `paths` maps roles to paths."""
    described = []
    for name in names:
        for separator in ("/", ":"):
            role, sep, rest = name.partition(separator)
            if sep and role in paths:
                path = paths[role]
                described.append(f"{path}/{rest}" if separator == "/" else f"{path} ({rest})")
                break
        else:
            described.append(str(paths.get(name, name)))
    return ", ".join(described)

"""What several frontends share: settings completed from a constructor, the context of a frontend
whose every frame sees its whole input, how far a batch's output reaches, how a pretrained
model's name is located, and the error for one that is not there."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch

# `FeatureSpec.context` of a frontend whose frames each depend on the whole input (a transformer
# encoder, a resize over the utterance's frame count): more samples than any utterance holds
# (37 hours at 16 kHz), so a crop's margin, clipped to the utterance, is the whole utterance.
# A Python int, never a tensor, so `margin` arithmetic cannot overflow.
WHOLE_INPUT = 2**31 - 1


def batch_extent(lengths: torch.Tensor, full: int) -> int:
    """How many samples or frames a batch's output spans: the longest of `lengths`.

    While torch.export traces a graph (antispoof.export: the scoring path on full windows),
    `full`, what a batch of windows that fill the waveform gives: `lengths` has no values then,
    and an int read from it would make the graph's shapes depend on its data, which torch.export
    refuses. Outside export the result is `int(lengths.max())`, bit for bit.
    """
    if torch.compiler.is_exporting():
        return full
    return int(lengths.max())


class ModelNotFoundError(FileNotFoundError):
    """A pretrained model named by a config is neither a local directory nor in the hub cache."""


def locate_pretrained(model: str, not_found: Callable[[str, str], ModelNotFoundError]) -> str:
    """`model` as `from_pretrained` takes it: an existing local directory, or a hub name; a path
    that names no directory is `not_found(model, reason)`, not a hub request."""
    path = Path(model).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise not_found(model, f"{path} holds no config.json")
        return str(path)
    # Hub names are `name` or `owner/name`; anything else was meant as a local path.
    if model.startswith(("/", ".", "~")) or model.count("/") > 1:
        raise not_found(model, f"there is no directory {path}")
    return model


def resolve_settings(
    constructor: Callable[..., Any], settings: Mapping[str, Any]
) -> dict[str, Any]:
    """`settings` completed with `constructor`'s defaults, so that `feature_spec(**settings)`
    reads the same defaults as the constructor; a TypeError names an unknown or missing one."""
    bound = inspect.signature(constructor).bind(**settings)
    bound.apply_defaults()
    return dict(bound.arguments)

"""What several frontends share: settings completed from a constructor, the context of a frontend
whose every frame sees its whole input, how far a batch's output reaches, how a pretrained
model's name is located, the error for one that is not there, and the base of the pretrained
transformer encoders (whisper, ssl)."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from antispoof.frontends.base import Frontend

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


def batch_shortest(lengths: torch.Tensor, full: int) -> int:
    """The shortest of `lengths`, as an int; `full` while torch.export traces a batch of windows
    that fill the waveform (as `batch_extent`, for the same reason)."""
    if torch.compiler.is_exporting():
        return full
    return int(lengths.min())


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


def check_gradient_checkpointing(gradient_checkpointing: bool, trainable: bool) -> None:
    if gradient_checkpointing and not trainable:
        raise ValueError("gradient_checkpointing needs trainable: true (no gradient otherwise)")


def enable_gradient_checkpointing(encoder: nn.Module) -> None:
    """Recompute the activations of `encoder`'s layers in the backward pass instead of keeping
    them (a transformers model)."""
    # transformers renamed it in 5.2x; the old name warns there, and is all 5.1x has.
    enable = getattr(encoder, "activation_checkpointing_enable", None)
    (enable or encoder.gradient_checkpointing_enable)()


class PretrainedEncoder(Frontend):
    """A pretrained transformers encoder (`self.encoder`) as an input branch, fine-tuned or
    frozen by the `trainable` setting, with `gradient_checkpointing` as a setting.

    A frozen encoder (`trainable: false`) runs in eval mode, no dropout, even inside a stack whose
    other branches train: deterministic, so the branch is cacheable. `encoder_trainable` is the
    setting; `trainable` says whether the branch has weights that train, which a branch with
    weights of its own beside a frozen encoder also has (it then is not cacheable).
    """

    encoder: nn.Module
    encoder_trainable: bool = True

    @classmethod
    def checked_settings(cls, settings: Mapping[str, Any]) -> dict[str, Any]:
        """`settings` completed with the constructor's defaults, the encoder settings checked
        (what `feature_spec` starts with)."""
        conf = resolve_settings(cls, settings)
        check_gradient_checkpointing(conf["gradient_checkpointing"], conf["trainable"])
        return conf

    @classmethod
    def cacheable_with(cls, **settings: Any) -> bool:
        """A frozen encoder (`trainable: false`) is cacheable: eval mode makes it deterministic."""
        return not settings.get("trainable", True)

    def train(self, mode: bool = True) -> PretrainedEncoder:
        super().train(mode)
        if not self.encoder_trainable:
            self.encoder.eval()
        return self

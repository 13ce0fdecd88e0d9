"""What several frontends share: settings completed from a constructor, the context of a frontend
whose every frame sees its whole input, and the error for a pretrained model that is not there."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

# `FeatureSpec.context` of a frontend whose frames each depend on the whole input (a transformer
# encoder, a resize over the utterance's frame count): more samples than any utterance holds
# (37 hours at 16 kHz), so a crop's margin, clipped to the utterance, is the whole utterance.
# A Python int, never a tensor, so `margin` arithmetic cannot overflow.
WHOLE_INPUT = 2**31 - 1


class ModelNotFoundError(FileNotFoundError):
    """A pretrained model named by a config is neither a local directory nor in the hub cache."""


def resolve_settings(
    constructor: Callable[..., Any], settings: Mapping[str, Any]
) -> dict[str, Any]:
    """`settings` completed with `constructor`'s defaults, so that `feature_spec(**settings)`
    reads the same defaults as the constructor; a TypeError names an unknown or missing one."""
    bound = inspect.signature(constructor).bind(**settings)
    bound.apply_defaults()
    return dict(bound.arguments)

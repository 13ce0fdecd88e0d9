"""Data augmentation registry (`augment:` in a config maps names to settings)."""

from __future__ import annotations

from torch import nn

from antispoof.registry import Registry

AUGMENTATIONS: Registry[nn.Module] = Registry("augmentation")

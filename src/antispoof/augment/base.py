"""The batch augmentation contract: feature-level, on the device, in training only (`augment:` in
a config maps names to settings, applied in that order).

A batch augmentation is an `nn.Module`: `forward(feats, target) -> (feats, target)` where
`feats` maps input-branch names to `(B, C, T, F)` tensors and `target` is `(B, 2)` soft labels
(antispoof.labels); an augmentation that mixes examples mixes their targets too, and every loss
accepts the result. The detector calls them only in training mode, never when scoring.
Waveform-level augmentation belongs to the data-loader workers instead.
"""

from __future__ import annotations

import torch
from torch import nn

from antispoof.registry import Registry

__all__ = ["AUGMENTATIONS", "BatchAugmentation"]


class BatchAugmentation(nn.Module):
    """Features and soft targets of a training batch in, augmented ones out."""

    def forward(
        self, feats: dict[str, torch.Tensor], target: torch.Tensor
    ) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        raise NotImplementedError


AUGMENTATIONS: Registry[BatchAugmentation] = Registry("augmentation")

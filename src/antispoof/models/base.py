"""The model contract: features in, a fixed-size embedding out; the loss owns the output layer."""

from __future__ import annotations

import torch
from torch import nn

from antispoof.registry import Registry


class Backbone(nn.Module):
    """Maps features `(B, T, input_dim)` (or `(B, C, T, input_dim)`) to `(B, embedding_dim)`."""

    embedding_dim: int

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


MODELS: Registry[Backbone] = Registry("model")

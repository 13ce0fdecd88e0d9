"""The frontend contract shared by every feature extractor."""

from __future__ import annotations

import torch
from torch import nn

from antispoof.registry import Registry


class Frontend(nn.Module):
    """Waveforms `(B, N)` at `sample_rate` to features `(B, T, output_dim)` and frame lengths.

    `trainable` frontends (self-supervised encoders) run inside the model on every batch;
    frozen ones are computed once by stage 2 and cached as Kaldi arks (frames x dims).
    """

    sample_rate: int = 16000
    trainable: bool = False

    @property
    def output_dim(self) -> int:
        raise NotImplementedError

    def forward(
        self, wav: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError


FRONTENDS: Registry[Frontend] = Registry("frontend")

"""The loss contract: `(embeddings, labels) -> loss` and `score(embeddings) -> (B,)` scores.

Labels: bona fide is class 0 and the positive class, spoof is 1. A score is higher for more
bona fide.
"""

from __future__ import annotations

import torch
from torch import nn

from antispoof.registry import Registry

BONAFIDE = 0
SPOOF = 1


class Objective(nn.Module):
    """A training objective with its own parameters (output layer, class centre, ...)."""

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def score(self, embeddings: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


LOSSES: Registry[Objective] = Registry("loss")

"""Two-class cross-entropy over a linear output layer (the OC-Softmax paper's Softmax baseline)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from antispoof.losses.base import BONAFIDE, LOSSES, SPOOF, Objective


@LOSSES.register("softmax")
class Softmax(Objective):
    """Cross-entropy; the score is the log-odds `logit_bonafide - logit_spoof`.

    The log-odds orders trials exactly as P(bona fide) does, but keeps its resolution where the
    probability saturates at 0 or 1, and averages sensibly over segments.
    """

    def __init__(self, embedding_dim: int, num_classes: int = 2) -> None:
        super().__init__()
        if num_classes != 2:
            raise ValueError("softmax: only the 2-class (bona fide / spoof) task is supported")
        self.output = nn.Linear(embedding_dim, num_classes)
        nn.init.kaiming_uniform_(self.output.weight)

    def logits(self, embeddings: torch.Tensor) -> torch.Tensor:
        return self.output(embeddings)

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(self.logits(embeddings), labels)

    def score(self, embeddings: torch.Tensor) -> torch.Tensor:
        logits = self.logits(embeddings)
        return logits[:, BONAFIDE] - logits[:, SPOOF]

"""Two-class cross-entropy over a linear output layer (the OC-Softmax paper's Softmax baseline)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from antispoof.labels import BONAFIDE, NUM_CLASSES, SPOOF
from antispoof.losses.base import LOSSES, Objective, check_target


@LOSSES.register("softmax")
class Softmax(Objective):
    """Cross-entropy against soft targets: the batch mean of `-(target * log_softmax).sum(1)`,
    which for one-hot targets is the usual cross-entropy of the class indices.

    The score is the log-odds `logit_bonafide - logit_spoof`: it orders trials exactly as
    P(bona fide) does, but keeps its resolution where the probability saturates at 0 or 1, and
    averages sensibly over segments.
    """

    def __init__(self, embedding_dim: int, num_classes: int = NUM_CLASSES) -> None:
        super().__init__()
        if num_classes != NUM_CLASSES:
            raise ValueError("softmax: only the 2-class (bona fide / spoof) task is supported")
        self.output = nn.Linear(embedding_dim, num_classes)
        nn.init.kaiming_uniform_(self.output.weight)

    def logits(self, embeddings: torch.Tensor) -> torch.Tensor:
        return self.output(embeddings)

    def forward(
        self, embeddings: torch.Tensor, target: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        check_target(embeddings, target)
        logits = self.logits(embeddings)
        # cross_entropy with class probabilities computes exactly the soft-target formula.
        return F.cross_entropy(logits, target.to(logits.dtype)), {}

    def score(self, embeddings: torch.Tensor) -> torch.Tensor:
        logits = self.logits(embeddings)
        return logits[:, BONAFIDE] - logits[:, SPOOF]

"""Two-class cross-entropy over a linear output layer (the OC-Softmax paper's Softmax baseline)."""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from antispoof.labels import BONAFIDE, NUM_CLASSES, SPOOF
from antispoof.losses.base import LOSSES, Objective, check_target

SCORES = ("logodds", "bonafide_logit", "bonafide_log_posterior")


@LOSSES.register("softmax")
class Softmax(Objective):
    """Cross-entropy against soft targets: the batch mean of `-(target * log_softmax).sum(1)`,
    which for one-hot targets is the usual cross-entropy of the class indices.

    `class_weights` (bona fide first, as antispoof.labels orders the classes) weight each
    example's terms by class and divide by the batch's total weight,
    `-(w * target * log_softmax).sum() / (w * target).sum()`: for one-hot targets, exactly
    PyTorch's `cross_entropy(logits, classes, weight=w)`. The published AASIST trains with
    weights 0.9 for bona fide and 0.1 for spoof (its classes are in the other order:
    `[0.1, 0.9]` there), against the 1:9 class imbalance of ASVspoof 2019 LA train.

    `score`: `logodds`, `logit_bonafide - logit_spoof`, orders trials exactly as P(bona fide)
    does, but keeps its resolution where the probability saturates at 0 or 1, and averages
    sensibly over segments. `bonafide_logit`, the bona fide logit alone, is the published
    AASIST's score (its evaluation writes that logit): the choice for its released weights and
    for reproducing its results, since the two rules rank trials differently.
    `bonafide_log_posterior`, `log P(bona fide)`, is Li et al.'s Res2Net score
    (`local/prediction.py` averages it over an utterance's segments): it ranks single segments
    as `logodds` does, but its average over segments does not.
    """

    def __init__(
        self,
        embedding_dim: int,
        num_classes: int = NUM_CLASSES,
        score: Literal["logodds", "bonafide_logit", "bonafide_log_posterior"] = "logodds",
        class_weights: list[float] | None = None,
    ) -> None:
        super().__init__()
        if num_classes != NUM_CLASSES:
            raise ValueError("softmax: only the 2-class (bona fide / spoof) task is supported")
        if score not in SCORES:
            raise ValueError(f"softmax: score must be one of {', '.join(SCORES)}, not {score!r}")
        self.output = nn.Linear(embedding_dim, num_classes)
        nn.init.kaiming_uniform_(self.output.weight)
        self.scoring = score
        self.class_weights: torch.Tensor | None
        if class_weights is None:
            self.class_weights = None
        else:
            if len(class_weights) != NUM_CLASSES or min(class_weights) <= 0:
                raise ValueError(
                    "softmax: class_weights must be two positive weights, bona fide first; got "
                    f"{list(class_weights)}"
                )
            # A buffer follows the loss to its device; not persistent, since the config holds it.
            self.register_buffer(
                "class_weights", torch.tensor(class_weights, dtype=torch.float32), persistent=False
            )

    natural_decision = True

    def logits(self, embeddings: torch.Tensor) -> torch.Tensor:
        return self.output(embeddings)

    def log_odds(self, embeddings: torch.Tensor) -> torch.Tensor:
        logits = self.logits(embeddings)
        return logits[:, BONAFIDE] - logits[:, SPOOF]

    def forward(
        self, embeddings: torch.Tensor, target: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        check_target(embeddings, target)
        logits = self.logits(embeddings)
        target = target.to(logits.dtype)
        if self.class_weights is None:
            # cross_entropy with class probabilities computes exactly the soft-target formula.
            return F.cross_entropy(logits, target), {}
        weighted = target * self.class_weights.to(logits.dtype)
        return -(weighted * F.log_softmax(logits, dim=1)).sum() / weighted.sum(), {}

    def score(self, embeddings: torch.Tensor) -> torch.Tensor:
        logits = self.logits(embeddings)
        if self.scoring == "bonafide_logit":
            return logits[:, BONAFIDE]
        if self.scoring == "bonafide_log_posterior":
            return F.log_softmax(logits.float(), dim=1)[:, BONAFIDE]
        return logits[:, BONAFIDE] - logits[:, SPOOF]

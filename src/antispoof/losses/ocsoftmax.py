"""One-class softmax (Zhang, Jiang, Duan, IEEE SPL 2021).

Bona fide embeddings are pulled within cosine m0 of a learnable centre, spoof embeddings pushed
below m1: each example costs `softplus(alpha * (m0 - cos))` as bona fide and
`softplus(alpha * (cos - m1))` as spoof. With soft targets an example pays both, weighted by its
class probabilities; the loss is the batch mean, which for one-hot targets is the published loss.
The score is the cosine to the centre (higher = bona fide); the published code returned its
negation until 2021-10-31, which is why its released score file has bona fide scores near -1.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from antispoof.labels import BONAFIDE, SPOOF
from antispoof.losses.base import LOSSES, Objective, check_target


@LOSSES.register("ocsoftmax")
class OCSoftmax(Objective):
    def __init__(
        self,
        embedding_dim: int,
        alpha: float = 20.0,
        margin_bonafide: float = 0.9,
        margin_spoof: float = 0.2,
    ) -> None:
        super().__init__()
        if not -1.0 <= margin_spoof < margin_bonafide <= 1.0:
            raise ValueError(
                f"need -1 <= margin_spoof ({margin_spoof}) < "
                f"margin_bonafide ({margin_bonafide}) <= 1"
            )
        self.alpha = alpha
        self.margin_bonafide = margin_bonafide
        self.margin_spoof = margin_spoof
        self.centre = nn.Parameter(torch.empty(1, embedding_dim))
        nn.init.kaiming_uniform_(self.centre, a=0.25)

    def score(self, embeddings: torch.Tensor) -> torch.Tensor:
        return F.normalize(embeddings, dim=1) @ F.normalize(self.centre, dim=1).squeeze(0)

    def forward(
        self, embeddings: torch.Tensor, target: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        check_target(embeddings, target)
        cosine = self.score(embeddings)
        as_bonafide = F.softplus(self.alpha * (self.margin_bonafide - cosine))
        as_spoof = F.softplus(self.alpha * (cosine - self.margin_spoof))
        target = target.to(cosine.dtype)
        per_example = target[:, BONAFIDE] * as_bonafide + target[:, SPOOF] * as_spoof
        return per_example.mean(), {}

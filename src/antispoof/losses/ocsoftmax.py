"""One-class softmax (Zhang, Jiang, Duan, IEEE SPL 2021).

Bona fide embeddings are pulled within cosine m0 of a learnable centre, spoof embeddings pushed
below m1: `mean(softplus(alpha * (m0 - cos)))` over bona fide and `alpha * (cos - m1)` over
spoof, averaged over the batch. The score is the cosine to the centre (higher = bona fide);
the published code returned its negation until 2021-10-31, which is why its released score file
has bona fide scores near -1.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from antispoof.losses.base import BONAFIDE, LOSSES, Objective


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

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        cosine = self.score(embeddings)
        is_bonafide = labels == BONAFIDE
        margin_violation = torch.where(
            is_bonafide, self.margin_bonafide - cosine, cosine - self.margin_spoof
        )
        return F.softplus(self.alpha * margin_violation).mean()

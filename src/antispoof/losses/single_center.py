"""Single Center Loss (Li, Xie, Li, Wang, Zhang, CVPR 2021, arXiv 2103.09096).

Only bona fide (the paper's natural faces) has a centre C, learnable. With `d_i = ||x_i - C||_2`
(Euclidean, not squared), M_nat the mean distance of the bona fide embeddings and M_man that of
the spoof (manipulated) ones, the paper's eqs. 1-3 read

    L_sc = M_nat + max(M_nat - M_man + m * sqrt(D), 0),        D the embedding dimension,

and it trains with `L_softmax + lambda * L_sc` (eq. 6: here a `sum` loss). Bona fide is pulled
to C; spoof only has to stay a margin farther out on average, its spread is left free. The margin
grows with sqrt(D) because distances between random vectors do. Checked against a transcription
of the paper's equations 1-3 and 6 and against the public implementation the research notes name
(docs/research/papers.md §E), whose default m is 0.3 and whose label 0 (real) is pulled in.

Soft targets: each mean is weighted by that class's target column, M_c = sum(t_c d) / sum(t_c).
A class whose column sums to less than `MIN_CLASS_MASS` is absent from the batch (only rounding
of a mixed target leaves less), and its mean is undefined. The rule for an absent class: the
hinge takes the value that the missing mean makes most lenient, so a one-class batch never asks
more than a batch holding both classes could accept:

- no spoof: M_man could be arbitrarily large, so the hinge is 0 and the loss is M_nat (the pull);
- no bona fide: M_nat is at least 0, so the loss is max(m * sqrt(D) - M_man, 0), a necessary
  condition of the full hinge whatever the bona fide distances (spoof inside the margin radius
  violates it in every batch). The public implementation ends up with the same value;
- neither (an empty batch): 0.

The score is the negative distance to C: higher = closer to the bona fide centre.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from antispoof.labels import BONAFIDE, SPOOF
from antispoof.losses.base import LOSSES, Objective, check_target

MIN_CLASS_MASS = 1e-6  # a class with less target mass in a batch is absent from it


@LOSSES.register("single_center")
class SingleCenter(Objective):
    def __init__(self, embedding_dim: int, margin: float = 0.3) -> None:
        super().__init__()
        if not margin >= 0.0:
            raise ValueError(f"margin must be >= 0, not {margin}")
        self.margin_distance = margin * math.sqrt(embedding_dim)
        # As the public implementation: a standard normal draw, on the scale of the embeddings
        # a freshly initialised network produces.
        self.centre = nn.Parameter(torch.randn(embedding_dim))

    def distance(self, embeddings: torch.Tensor) -> torch.Tensor:
        """`(B,)` Euclidean distances to the centre."""
        return torch.linalg.vector_norm(embeddings - self.centre, dim=1)

    def score(self, embeddings: torch.Tensor) -> torch.Tensor:
        return -self.distance(embeddings)

    def forward(
        self, embeddings: torch.Tensor, target: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        check_target(embeddings, target)
        distance = self.distance(embeddings)
        weights = target.to(distance.dtype)
        mass = weights.sum(dim=0)
        present = mass >= MIN_CLASS_MASS
        # The clamp keeps an absent class's mean finite (and its gradient free of NaN); the
        # `where`s below then drop it. No branch on tensor values: no device synchronisation.
        means = (weights * distance.unsqueeze(1)).sum(dim=0) / mass.clamp_min(MIN_CLASS_MASS)
        bonafide_mean = torch.where(present[BONAFIDE], means[BONAFIDE], 0.0)
        hinge = F.relu(bonafide_mean - means[SPOOF] + self.margin_distance)
        return bonafide_mean + torch.where(present[SPOOF], hinge, 0.0), {}

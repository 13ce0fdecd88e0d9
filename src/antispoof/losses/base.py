"""The loss contract: `(embeddings, target) -> (loss, stats)` and `score(embeddings) -> (B,)`.

`target` holds soft labels `(B, 2)` in the order of antispoof.labels (bona fide first), one-hot
unless a batch augmentation mixed them; every loss accepts them. A loss owns its output layer or
centre and its scoring rule: a score is higher for more bona fide. `stats` maps names to detached
scalar tensors worth logging besides the loss itself (a composite loss: each term); it may be
empty.

Losses are built with `LOSSES.build(name, conf, embedding_dim=...)`, the embedding size chained
from the model; the resolved config records `resolved_loss_conf(name, conf)`, which a composite
loss completes term by term.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from antispoof.labels import BONAFIDE, NUM_CLASSES, SPOOF
from antispoof.registry import Registry

__all__ = [
    "BONAFIDE",
    "EMBEDDING_DIM",
    "LOSSES",
    "SPOOF",
    "Objective",
    "check_target",
    "resolved_loss_conf",
]

# The context argument every loss takes: derived from the model, never typed in a config.
EMBEDDING_DIM = "embedding_dim"


class Objective(nn.Module):
    """A training objective with its own parameters (output layer, class centre, ...)."""

    def forward(
        self, embeddings: torch.Tensor, target: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        raise NotImplementedError

    def score(self, embeddings: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    # Whether the loss has a decision of its own (a classifier's output layer): then `log_odds`
    # gives `log P(bona fide) - log P(spoof)`, bona fide where it is >= 0. A one-class loss (a
    # centre and a margin) has no such boundary: its scores need a threshold or a calibration.
    natural_decision = False

    def log_odds(self, embeddings: torch.Tensor) -> torch.Tensor:
        """`(B,)` log-odds of the loss's own classifier (see `natural_decision`)."""
        raise NotImplementedError(f"{type(self).__name__} has no decision of its own")

    @classmethod
    def resolved_settings(
        cls, name: str, conf: Mapping[str, Any] | None, where: str
    ) -> dict[str, Any]:
        """`conf` of this loss (registered as `name`) checked and completed with every default.

        A loss whose settings hold other parts' settings (a composite loss) completes those too.
        """
        return LOSSES.resolved_conf(name, conf, EMBEDDING_DIM, where=where)


LOSSES: Registry[Objective] = Registry("loss")


def resolved_loss_conf(
    name: str, conf: Mapping[str, Any] | None, where: str = "loss_conf"
) -> dict[str, Any]:
    """The settings of loss `name` as the resolved config records them: checked, every default
    filled in (for `sum`, in every term), without the pipeline-derived `embedding_dim`."""
    return LOSSES.get(name).resolved_settings(name, conf, where)


def check_target(embeddings: torch.Tensor, target: torch.Tensor) -> None:
    """Refuse a target that is not `(B, 2)` soft labels for `(B, E)` embeddings.

    Class indices `(B,)` would otherwise broadcast against the `(B, 2)` arithmetic of a loss into
    a wrong value instead of an error.
    """
    if embeddings.dim() != 2 or target.shape != (embeddings.shape[0], NUM_CLASSES):
        raise ValueError(
            f"a loss takes embeddings (B, E) and soft targets (B, {NUM_CLASSES}); got "
            f"embeddings {tuple(embeddings.shape)} and target {tuple(target.shape)}"
        )
    if not target.is_floating_point():
        raise ValueError(f"the target must hold class probabilities (float), not {target.dtype}")

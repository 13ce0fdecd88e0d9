"""The one label vocabulary of the project, used by data, losses, metrics and corpora.

Bona fide is class 0 and the positive class; spoof is class 1. In text (data directories,
protocols after preparation) the labels are the words `bonafide` and `spoof`. A score is higher
for more bona fide. Targets are soft: `(B, 2)` rows of class probabilities in this order, one-hot
unless a batch augmentation mixed them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

BONAFIDE = 0
SPOOF = 1
BONAFIDE_NAME = "bonafide"
SPOOF_NAME = "spoof"
NAMES = (BONAFIDE_NAME, SPOOF_NAME)  # indexed by class
CLASS_OF = {BONAFIDE_NAME: BONAFIDE, SPOOF_NAME: SPOOF}
NUM_CLASSES = 2


def one_hot(classes: torch.Tensor) -> torch.Tensor:
    """`(B,)` class indices as `(B, 2)` float targets."""
    # Imported here: data preparation and evaluation read the label words without needing torch.
    import torch

    return torch.nn.functional.one_hot(classes.long(), NUM_CLASSES).float()

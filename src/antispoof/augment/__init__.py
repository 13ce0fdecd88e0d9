"""Batch augmentations: feature-level, on the device, in training only (the contract is in
antispoof.augment.base). Importing this package registers every one in `AUGMENTATIONS`."""

from antispoof.augment.base import AUGMENTATIONS, BatchAugmentation
from antispoof.augment.specmix import RandomSpecMix

__all__ = ["AUGMENTATIONS", "BatchAugmentation", "RandomSpecMix"]

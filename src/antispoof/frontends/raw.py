"""The waveform itself as features, for models that learn their own filters (AASIST's sinc
convolution): `(B, 1, N, 1)`, one frame per sample."""

from __future__ import annotations

from typing import Any

import torch

from antispoof.frontends.base import FRONTENDS, FeatureSpec, Frontend
from antispoof.frontends.common import batch_extent, resolve_settings


@FRONTENDS.register("raw")
class Raw(Frontend):
    """Samples as frames: frame_lengths are the lengths, and samples past an utterance's length
    are zero (never another utterance's repeat-padding or noise)."""

    def __init__(self, sample_rate: int = 16000) -> None:
        super().__init__()
        self._spec = self.feature_spec(sample_rate=sample_rate)

    @classmethod
    def feature_spec(cls, **settings: Any) -> FeatureSpec:
        conf = resolve_settings(cls, settings)
        return FeatureSpec(
            channels=1,
            dim=1,
            hop_length=1,
            frame_length=1,
            framing="valid",
            context=0,
            sample_rate=conf["sample_rate"],
        )

    @property
    def spec(self) -> FeatureSpec:
        return self._spec

    # Caching the waveform would copy the corpus into the feature store (tens of GB for 2019
    # LA) to save nothing: the detector takes it from the batch as it is.
    @classmethod
    def cacheable_with(cls, **settings: Any) -> bool:
        return False

    @property
    def cacheable(self) -> bool:
        return False

    def forward(
        self, wav: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        lengths = lengths.to(device=wav.device, dtype=torch.long)
        samples = batch_extent(lengths, wav.shape[1])
        inside = torch.arange(samples, device=wav.device) < lengths[:, None]
        feats = wav[:, :samples].masked_fill(~inside, 0.0)
        return feats[:, None, :, None], lengths

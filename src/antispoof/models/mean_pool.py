"""The mean of one input branch's frame features over time: the back end of NII's AntiDeepfake
detectors (W. Ge, X. Wang, X. Liu, J. Yamagishi, "Post-training for Deepfake Speech Detection",
2025; github.com/nii-yamagishilab/AntiDeepfake, `models/W2V.py`): the SSL encoder's last hidden
states averaged over the frames (`AdaptiveAvgPool1d(1)`) are the embedding, and the official
`proj_fc`, Linear(hidden, 2), is the `softmax` loss's output layer. It has no parameters.

The mean is over every frame of the input: AntiDeepfake scores one whole file at a time
(`inference.mode: full`), and trains on crops of one length, so no frame is padding.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from antispoof.frontends.base import FeatureSpec
from antispoof.models.base import MODELS, Backbone, single_input


@MODELS.register("mean_pool")
class MeanPool(Backbone):
    """`(B, 1, T, F)` frame features of one branch -> their mean over time `(B, F)`."""

    def __init__(self, inputs: Mapping[str, FeatureSpec], input: str | None = None) -> None:
        super().__init__()
        self.input = single_input(inputs, input, "mean_pool")
        spec = inputs[self.input]
        if spec.channels != 1:
            raise ValueError(
                f"mean_pool reads one channel of frame features (one encoder layer); input "
                f"{self.input!r} gives {spec.channels} channels: name one layer in its "
                "frontend_conf.layers"
            )
        self.embedding_dim = spec.dim

    def forward(self, feats: Mapping[str, torch.Tensor]) -> torch.Tensor:
        x = feats[self.input]
        if x.shape[1] != 1 or x.shape[2] < 1:
            raise ValueError(f"mean_pool needs (B, 1, T >= 1, F) features, got {tuple(x.shape)}")
        return x[:, 0].mean(dim=1)


def official_backend_state_dict(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """AntiDeepfake's back end (`proj_fc`, its checkpoint without `m_ssl.`) as this detector's
    output layer, its rows swapped (the official class 1 is real, ours 0 is bona fide)."""
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        if not key.startswith("proj_fc.") or key.count(".") != 1:
            raise KeyError(f"not a key of the official AntiDeepfake back end: {key}")
        out["loss.output." + key.removeprefix("proj_fc.")] = value.flip(0)
    return out

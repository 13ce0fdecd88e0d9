"""MPIF-Res2Net (Dong, Xue, Fan, Zhu, Chen, Lv, IJCAI 2023 DADA workshop, arXiv 2306.15389):
Li et al.'s Res2Net50 with the multi-perspective information fusion attention
(antispoof.models.mpif) in every Bottle2neck, where SE-Res2Net has squeeze-and-excitation:
after bn3, on the block's `(B, C, F, T)` output, before the residual addition.

The paper's body could not be read (only its abstract), so where the attention sits, the
backbone (SE-Res2Net50 26w x 4s, the verified model it "builds on") and every setting of the
attention are our choices; MPIFAttention's docstring gives each default and its reason. With the
defaults the 16 blocks add 36 parameters each, 576 in all, where SE adds 39,296.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

from torch import nn

from antispoof.frontends.base import FeatureSpec
from antispoof.models.base import MODELS
from antispoof.models.mpif import PERSPECTIVES, MPIFAttention, Perspective, Pooling
from antispoof.models.res2net import Res2Net


@MODELS.register("mpif_res2net")
class MPIFRes2Net(Res2Net):
    """Res2Net50 whose blocks gate their output by MPIFAttention; the Res2Net settings are
    `se_res2net`'s (without `se_reduction`), the others MPIFAttention's."""

    def __init__(
        self,
        inputs: Mapping[str, FeatureSpec],
        input: str | None = None,
        blocks: Sequence[int] = (3, 4, 6, 3),
        planes: Sequence[int] = (16, 32, 64, 128),
        base_width: int = 26,
        scale: int = 4,
        expansion: int = 2,
        stem_channels: int = 16,
        perspectives: Sequence[Perspective] = PERSPECTIVES,
        channel_attention: Literal["eca", "se"] = "eca",
        reduction: int = 16,
        eca_kernel: int = 3,
        channel_pooling: Pooling = "mean",
        axis_pooling: Pooling = "mean_max",
        frequency_kernel: int = 7,
        time_kernel: int = 7,
        fusion: Literal["product", "mean", "learned"] = "learned",
        residual: bool = False,
    ) -> None:
        # Read by block_attention, which Res2Net.__init__ calls for every block.
        self.mpif_settings = {
            "perspectives": list(perspectives),
            "channel_attention": channel_attention,
            "reduction": reduction,
            "eca_kernel": eca_kernel,
            "channel_pooling": channel_pooling,
            "axis_pooling": axis_pooling,
            "frequency_kernel": frequency_kernel,
            "time_kernel": time_kernel,
            "fusion": fusion,
            "residual": residual,
        }
        super().__init__(
            inputs,
            input=input,
            blocks=blocks,
            planes=planes,
            base_width=base_width,
            scale=scale,
            expansion=expansion,
            stem_channels=stem_channels,
            se_reduction=None,
        )

    def block_attention(self, channels: int) -> nn.Module | None:
        # Res2Net's (B, C, F, T) maps have frequency on dim 2, MPIFAttention's default.
        return MPIFAttention(channels, **self.mpif_settings)

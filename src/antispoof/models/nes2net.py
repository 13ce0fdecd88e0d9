"""Nes2Net-X, the nested Res2Net back end of T. Liu et al. ("Nes2Net: A Lightweight Nested
Architecture for Foundation Model Driven Speech Anti-spoofing", IEEE T-IFS 2025), written here
from the authors' code (github.com/Liu-Tianchi/Nes2Net_ASVspoof_ITW,
`model_scripts/wav2vec2_Nes2Net_X.py`), giving the same outputs for the same weights. The SSL
encoder (XLS-R 300M, fine-tuned) is the `wav2vec2` input branch; this model is everything after
it, directly on the encoder's 1024 channels (no projection).

Outer nest: the channels are split into `nes_ratio[0]` groups of C; group 1, then group 1's
output plus group 2, and so on, each pass through a block (then ReLU and BN); the outputs of the
first `nes_ratio[0] - 1` groups and the last group as it is are concatenated -> BN -> ReLU ->
mean over time (or attentive statistics pooling, `pool: astp`): the embedding.

A block (the authors' Bottle2neck, "X" variant): 1x1 conv C -> C, ReLU, BN; its output split
into `nes_ratio[1]` slices of width C / nes_ratio[1]; the last slice starts a stack along a new
last axis, and each other slice in turn joins that stack, which then passes a (3 x 1) dilated
conv, ReLU and BN over time; a learnt weighted sum over the stack (one weight per member,
initialised to their mean) is that step's output. The steps' outputs and the last slice are
concatenated -> 1x1 conv, ReLU, BN -> squeeze-excitation (ratio `se_ratio`) -> plus the
block's input.

The 2-logit output layer (the official `fc`) belongs to the `softmax` loss, as for every model
here (class order swapped: the official class 1 is bona fide).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import nn

from antispoof.frontends.base import FeatureSpec
from antispoof.models.base import MODELS, Backbone, single_input


class SqueezeExcitation(nn.Module):
    def __init__(self, channels: int, ratio: int) -> None:
        super().__init__()
        self.squeeze = nn.Conv1d(channels, channels // ratio, kernel_size=1)
        self.excite = nn.Conv1d(channels // ratio, channels, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate = torch.sigmoid(self.excite(F.relu(self.squeeze(x.mean(dim=2, keepdim=True)))))
        return x * gate


class NestedBlock(nn.Module):
    """The inner Res2Net with its growing stack of slices (module doc): `(B, C, T)` kept."""

    def __init__(self, channels: int, scale: int, dilation: int, se_ratio: int) -> None:
        super().__init__()
        self.width = channels // scale
        self.steps = scale - 1
        self.expand = nn.Conv1d(channels, self.width * scale, kernel_size=1)
        self.expand_bn = nn.BatchNorm1d(self.width * scale)
        padding = (3 // 2) * dilation
        self.convs = nn.ModuleList(
            nn.Conv2d(self.width, self.width, (3, 1), dilation=(dilation, 1), padding=(padding, 0))
            for _ in range(self.steps)
        )
        self.bns = nn.ModuleList(nn.BatchNorm2d(self.width) for _ in range(self.steps))
        # Step i's weights over its stack of i + 2 members, initialised to their mean.
        self.mix = nn.ParameterList(
            nn.Parameter(torch.full((1, 1, 1, step + 2), 1 / (step + 2)))
            for step in range(self.steps)
        )
        self.project = nn.Conv1d(self.width * scale, channels, kernel_size=1)
        self.project_bn = nn.BatchNorm1d(channels)
        self.se = SqueezeExcitation(channels, se_ratio)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        slices = self.expand_bn(F.relu(self.expand(x))).unsqueeze(-1).split(self.width, dim=1)
        stack = slices[self.steps]
        outputs = []
        for step in range(self.steps):
            stack = torch.cat((stack, slices[step]), dim=-1)
            stack = self.bns[step](F.relu(self.convs[step](stack)))
            outputs.append((stack * self.mix[step]).sum(dim=-1))
        out = torch.cat((*outputs, slices[self.steps].squeeze(-1)), dim=1)
        out = self.se(self.project_bn(F.relu(self.project(out))))
        return out + x


class AttentiveStatistics(nn.Module):
    """ECAPA-TDNN's attentive statistics pooling (the official `ASTP`, no global context):
    `(B, C, T)` -> `[weighted mean, weighted std]` `(B, 2C)`."""

    def __init__(self, channels: int, bottleneck: int = 128) -> None:
        super().__init__()
        self.hidden = nn.Conv1d(channels, bottleneck, kernel_size=1)
        self.score = nn.Conv1d(bottleneck, channels, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weights = torch.softmax(self.score(torch.tanh(self.hidden(x))), dim=2)
        mean = (weights * x).sum(dim=2)
        variance = (weights * x.square()).sum(dim=2) - mean.square()
        return torch.cat((mean, variance.clamp(min=1e-10).sqrt()), dim=1)


@MODELS.register("nes2net_x")
class Nes2NetX(Backbone):
    """Nes2Net-X over one input branch of frame features `(B, 1, T, F)`, the hidden states of
    one wav2vec 2.0 layer; `F` (1024 for XLS-R 300M) must divide by `nes_ratio[0]`, and that
    width by `nes_ratio[1]`.

    `nes_ratio`: `[outer groups, inner slices]` (8, 8); `dilation` of the inner convolutions
    (2); `se_ratio`: the squeeze-excitation's reduction (1, the released model's; the code's
    default `SE_ratio` list is `[1]` too); `pool`: `mean` over time (the released model's) or
    `astp`. The defaults are the released model's settings (README: `--pool_func mean
    --SE_ratio 1 --Nes_ratio 8 8`).
    """

    def __init__(
        self,
        inputs: Mapping[str, FeatureSpec],
        input: str | None = None,
        nes_ratio: tuple[int, int] = (8, 8),
        dilation: int = 2,
        se_ratio: int = 1,
        pool: str = "mean",
    ) -> None:
        super().__init__()
        self.input = single_input(inputs, input, "nes2net_x")
        spec = inputs[self.input]
        if spec.channels != 1:
            raise ValueError(
                f"nes2net_x reads one channel of frame features (one wav2vec2 layer); input "
                f"{self.input!r} gives {spec.channels} channels: name one layer in its "
                "frontend_conf.layers"
            )
        outer, inner = nes_ratio
        if outer < 2 or inner < 2 or spec.dim % outer or (spec.dim // outer) % inner:
            raise ValueError(
                f"nes_ratio {list(nes_ratio)} must be at least [2, 2] and split the {spec.dim} "
                "input channels evenly, twice"
            )
        if dilation < 1 or se_ratio < 1 or (spec.dim // outer) % se_ratio:
            raise ValueError(f"dilation and se_ratio must be positive, not {dilation}, {se_ratio}")
        if pool not in ("mean", "astp"):
            raise ValueError(f"pool must be mean or astp, not {pool!r}")
        self.group = spec.dim // outer
        self.blocks = nn.ModuleList(
            NestedBlock(self.group, inner, dilation, se_ratio) for _ in range(outer - 1)
        )
        self.block_bns = nn.ModuleList(nn.BatchNorm1d(self.group) for _ in range(outer - 1))
        self.out_bn = nn.BatchNorm1d(spec.dim)
        self.pooling = AttentiveStatistics(spec.dim) if pool == "astp" else None
        self.embedding_dim = spec.dim * (2 if pool == "astp" else 1)

    def forward(self, feats: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """`feats[input]`: `(B, 1, T, F)` -> embeddings `(B, F)` (`(B, 2F)` with astp)."""
        x = feats[self.input]
        if x.shape[1] != 1 or x.shape[2] < 1:
            raise ValueError(f"nes2net_x needs (B, 1, T >= 1, F) features, got {tuple(x.shape)}")
        groups = x[:, 0].transpose(1, 2).split(self.group, dim=1)  # (B, C, T) each
        outputs, carried = [], None
        for index, (block, bn) in enumerate(zip(self.blocks, self.block_bns, strict=True)):
            carried = groups[index] if carried is None else carried + groups[index]
            carried = bn(F.relu(block(carried)))
            outputs.append(carried)
        out = F.relu(self.out_bn(torch.cat((*outputs, groups[-1]), dim=1)))
        return out.mean(dim=2) if self.pooling is None else self.pooling(out)


_OFFICIAL_BLOCK = {
    "conv1": "expand",
    "bn1": "expand_bn",
    "convs": "convs",
    "bns": "bns",
    "weighted_sum": "mix",
    "conv3": "project",
    "bn3": "project_bn",
    "se.se.1": "se.squeeze",
    "se.se.3": "se.excite",
    "pooling.linear1": "pooling.hidden",
    "pooling.linear2": "pooling.score",
}


def official_backend_state_dict(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The official back end's weights (`Nested_Res2Net_TDNN.*`, the checkpoint without
    `ssl_model.`) as this detector's `model.*` and `loss.*` keys; `fc` is the softmax loss's
    output layer, its rows swapped (bona fide first). A key that is not the back end's is a
    KeyError."""
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        name = key.removeprefix("Nested_Res2Net_TDNN.")
        if name == key:
            raise KeyError(f"not a key of the official Nes2Net-X back end: {key}")
        head, _, rest = name.partition(".")
        if head == "fc":
            out[f"loss.output.{rest}"] = value.flip(0)
        elif head == "bn":
            out[f"model.out_bn.{rest}"] = value
        elif head == "bns":
            out[f"model.block_bns.{rest}"] = value
        elif head == "pooling":
            out["model." + _rename(name)] = value
        elif head == "Build_in_Res2Nets":
            index, _, inner = rest.partition(".")
            out[f"model.blocks.{index}.{_rename(inner)}"] = value
        else:
            raise KeyError(f"not a key of the official Nes2Net-X back end: {key}")
    return out


def _rename(name: str) -> str:
    for official, ours in _OFFICIAL_BLOCK.items():
        if name == official or name.startswith(official + "."):
            return ours + name.removeprefix(official)
    raise KeyError(f"not a key of the official Nes2Net-X back end: {name}")

"""Res2Net50 and SE-Res2Net50 of Li et al. (ICASSP 2021, "Replay and synthetic speech detection
with Res2Net architecture"; lixucuhk/ASV-anti-spoofing-with-Res2Net, `src/resnet_models.py` and
`src/resnet_blocks.py`).

A stem of three 3x3 convs (16 channels, stride 1, each followed by BN and ReLU; no max-pool);
four stages of [3, 4, 6, 3] Bottle2neck blocks of 16/32/64/128 planes, expansion 2 (strides
1/2/2/2), hence 256 output channels; a global average pool over both axes to the 256-d
embedding. The published model puts Linear(256, 2) and a log-softmax on it: here the `softmax`
loss's output layer, so that this backbone plus that loss is the published network.

A Bottle2neck block (the v1b variant of Gao et al.'s Res2Net): a 1x1 conv to `scale` splits of
`width = floor(planes * base_width / 64)` channels; every split but the last passes a 3x3 conv
(with BN and ReLU), split i > 0 after the output of split i - 1's conv is added to it
(hierarchical residuals); the last split passes unchanged; a 1x1 conv back to
`planes * expansion` channels. The first block of each stage (the one that changes the channel
count, and the size at strides 2) convolves each split on its own (no addition), and
average-pools the last split (3x3, the same stride, zero padding counted in the mean) instead of
passing it through. Its shortcut is the v1b "avg-down" one: an average pool of the stride (the
identity at stride 1), then a 1x1 conv and BN. SE-Res2Net adds squeeze-and-excitation
(reduction 16, bias-free linear layers) to every block after bn3, before the residual addition:
the place of `block_attention`, which a subclass overrides to put another attention there.

Parameter counts with the 2-class output layer (those of the published code, run with
num_classes=2): Res2Net50 26w x 4s 883,806; SE-Res2Net50 26w x 4s 923,102; SE-Res2Net50
14w x 8s 846,737; SE-Res2Net50 26w x 8s 1,870,622.

Orientation: the published data loader feeds each 400-frame segment as a Kaldi matrix of
frequency rows by frame columns (`feat_slicing.py` swaps a `(T, F)` utterance to `(F, T)`
before cutting it), so the network sees `(B, 1, F, T)`: height is frequency, width is time.
It reads one input branch `(B, C, T, F)` and transposes it to that `(B, C, F, T)` layout; C may
exceed the published 1.

Scoring: the published recipe scores a segment with the log-probability of bona fide
(`log_softmax(logits)[:, 0]`) and averages it over an utterance's segments. The `softmax` loss's
`logodds` score, `logit_bonafide - logit_spoof`, orders single segments exactly as that does
(the log-probability is `-log(1 + exp(-logodds))`); averages over segments may rank differently.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from antispoof.frontends.base import FeatureSpec
from antispoof.models.base import MODELS, Backbone, single_input


class SqueezeExcitation(nn.Module):
    """Channel gates from the map's global mean: `x * sigmoid(W2 relu(W1 mean(x)))`, no biases
    (the published `SELayer`)."""

    def __init__(self, channels: int, reduction: int) -> None:
        super().__init__()
        hidden = channels // reduction
        if hidden < 1:
            raise ValueError(
                f"se_reduction {reduction} leaves no hidden unit for a block of {channels} channels"
            )
        self.fc = nn.Sequential(
            nn.Linear(channels, hidden, bias=False),
            nn.ReLU(),
            nn.Linear(hidden, channels, bias=False),
            nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """`(B, C, H, W)` -> the same shape, each channel scaled by its gate."""
        gates = self.fc(x.mean(dim=(2, 3)))
        return x * gates[:, :, None, None]


class Bottle2neck(nn.Module):
    """One Res2Net v1b bottleneck block; `first`: the stage's first block (see the module
    docstring); `attention`: applied to the `(B, C, H, W)` output of bn3, before the shortcut
    is added."""

    def __init__(
        self,
        in_channels: int,
        planes: int,
        stride: int = 1,
        base_width: int = 26,
        scale: int = 4,
        expansion: int = 2,
        first: bool = False,
        attention: nn.Module | None = None,
    ) -> None:
        super().__init__()
        width = planes * base_width // 64
        if width < 1:
            raise ValueError(f"base_width {base_width} gives {planes} planes splits of no channel")
        out_channels = planes * expansion
        self.width = width
        self.scale = scale
        self.first = first
        self.conv1 = nn.Conv2d(in_channels, width * scale, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width * scale)
        # With one split there is nothing to pass through: that split is convolved.
        convolved = max(scale - 1, 1)
        self.convs = nn.ModuleList(
            nn.Conv2d(width, width, 3, stride=stride, padding=1, bias=False)
            for _ in range(convolved)
        )
        self.bns = nn.ModuleList(nn.BatchNorm2d(width) for _ in range(convolved))
        # The published pool counts the zero padding in its means (count_include_pad default).
        self.pool = nn.AvgPool2d(3, stride=stride, padding=1) if first and scale > 1 else None
        self.conv3 = nn.Conv2d(width * scale, out_channels, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.attention = attention
        self.shortcut: nn.Sequential | None = None
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                # ceil_mode: an odd size keeps its last row/column, as the strided convs do.
                nn.AvgPool2d(stride, stride=stride, ceil_mode=True, count_include_pad=False)
                if stride > 1
                else nn.Identity(),
                nn.Conv2d(in_channels, out_channels, 1, bias=False),
                nn.BatchNorm2d(out_channels),
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        splits = torch.split(F.relu(self.bn1(self.conv1(x))), self.width, dim=1)
        outputs = []
        previous: torch.Tensor | None = None
        for index, (conv, bn) in enumerate(zip(self.convs, self.bns, strict=True)):
            split = splits[index]
            if previous is not None and not self.first:
                split = split + previous
            previous = F.relu(bn(conv(split)))
            outputs.append(previous)
        if self.scale > 1:
            last = splits[-1]
            outputs.append(self.pool(last) if self.pool is not None else last)
        out = self.bn3(self.conv3(torch.cat(outputs, dim=1)))
        if self.attention is not None:
            out = self.attention(out)
        shortcut = self.shortcut(x) if self.shortcut is not None else x
        return F.relu(out + shortcut)


@MODELS.register("se_res2net")
class Res2Net(Backbone):
    """(SE-)Res2Net over a `(B, C, F, T)` map, embedding by global average pooling.

    `se_reduction`: the squeeze-and-excitation reduction of every block; null for the plain
    Res2Net. A subclass puts another attention in the blocks by overriding `block_attention`.
    """

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
        se_reduction: int | None = 16,
    ) -> None:
        super().__init__()
        self.input = single_input(inputs, input, "se_res2net")
        if len(blocks) != len(planes) or not blocks:
            raise ValueError(f"blocks {list(blocks)} and planes {list(planes)} differ in length")
        if min(blocks) < 1 or min(planes) < 1:
            raise ValueError("every stage needs at least one block of at least one plane")
        if scale < 1 or expansion < 1 or stem_channels < 1:
            raise ValueError("scale, expansion and stem_channels must be positive")
        if se_reduction is not None and se_reduction < 1:
            raise ValueError(f"se_reduction must be positive or null, not {se_reduction}")
        self.se_reduction = se_reduction
        in_channels = inputs[self.input].channels
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, stem_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(stem_channels),
            nn.ReLU(),
            nn.Conv2d(stem_channels, stem_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(stem_channels),
            nn.ReLU(),
            nn.Conv2d(stem_channels, stem_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(stem_channels),
            nn.ReLU(),
        )
        stages: list[nn.Module] = []
        channels = stem_channels
        for stage, (width, count) in enumerate(zip(planes, blocks, strict=True)):
            out_channels = width * expansion
            layers = []
            for index in range(count):
                layers.append(
                    Bottle2neck(
                        channels,
                        width,
                        stride=1 if stage == 0 or index > 0 else 2,
                        base_width=base_width,
                        scale=scale,
                        expansion=expansion,
                        first=index == 0,
                        attention=self.block_attention(out_channels),
                    )
                )
                channels = out_channels
            stages.append(nn.Sequential(*layers))
        self.stages = nn.Sequential(*stages)
        self.embedding_dim = channels
        self._initialise()

    def block_attention(self, channels: int) -> nn.Module | None:
        """The attention of one block of `channels` output channels, on its `(B, C, H, W)` map
        after bn3: squeeze-and-excitation, or none when `se_reduction` is null.

        Called once per block, in order, from `__init__`: an override that reads settings of its
        own needs them set (as plain attributes) before it calls `super().__init__`."""
        if self.se_reduction is None:
            return None
        return SqueezeExcitation(channels, self.se_reduction)

    def _initialise(self) -> None:
        # As published: Kaiming-normal (fan_out, ReLU) convs, unit BN; linear layers keep
        # PyTorch's default. A plugged-in attention keeps the initialisation it made itself.
        attention = {
            id(module)
            for block in self.stages.modules()
            if isinstance(block, Bottle2neck) and block.attention is not None
            for module in block.attention.modules()
        }
        for module in self.modules():
            if id(module) in attention:
                continue
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def forward(self, feats: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """`feats[input]`: `(B, C, T, F)` -> embedding `(B, embedding_dim)`."""
        x = feats[self.input].transpose(2, 3)
        return self.stages(self.stem(x)).mean(dim=(2, 3))

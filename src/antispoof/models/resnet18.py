"""The OC-Softmax paper's ResNet18 (Zhang, Jiang, Duan 2021; AIR-ASVspoof `resnet.py`).

conv 1->16, kernel (9,3), stride (3,1); pre-activation basic blocks [2,2,2,2] at 64/128/256/512
channels (strides 1/2/2/2, 1x1 conv shortcuts without BN); a conv whose kernel height equals the
remaining frequency size, collapsing the frequency axis; attentive mean+std pooling; a linear
layer to a 256-dimensional embedding. With 60-dim LFCC input and a 2-class output layer (owned
here by the `softmax` loss) the published model has 12,450,290 parameters.

It reads one input branch, `(B, C, T, F)` taken as a C-channel image of F frequency rows and T
frames (C = 1 for LFCC; 2 for a stack of MFCC and Whisper features).

`frequency_reduction` says how the frequency axis reaches size 1 before pooling:
- `collapse` (default, AIR): the conv's kernel height is the frequency size left after the
  stages, so its one output row sees every row.
- `first_row` (Chih-Yi Lin's One-Class Softmax study, chihyi-lin/AIR-ASVspoof `resnet.py`, on
  384-dim LFCC/MFCC): the AIR network reused with its kernel height `num_nodes = 3`; the conv then
  leaves several rows (14 for 384 dims) and only the first is kept, after BN and ReLU (where AIR
  squeezes the axis; in training the BN statistics are therefore those of every row). That row
  sees the three lowest rows of the last stage only, so the upper input frequencies reach no
  output. With 384-dim input and the `softmax` loss this has the same 12,450,290 parameters as
  the published model.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from antispoof.frontends.base import FeatureSpec
from antispoof.models.base import MODELS, Backbone, single_input
from antispoof.models.pooling import AttentiveMeanStdPooling


class PreActBasicBlock(nn.Module):
    """BN-ReLU-conv3x3-BN-ReLU-conv3x3; the shortcut sees the pre-activated input."""

    def __init__(self, in_channels: int, channels: int, stride: int) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.conv1 = nn.Conv2d(in_channels, channels, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, stride=1, padding=1, bias=False)
        self.shortcut: nn.Module | None = None
        if stride != 1 or in_channels != channels:
            self.shortcut = nn.Conv2d(in_channels, channels, 1, stride=stride, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(x))
        shortcut = self.shortcut(out) if self.shortcut is not None else x
        out = self.conv2(F.relu(self.bn2(self.conv1(out))))
        return out + shortcut


def conv_output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    return (size + 2 * padding - kernel) // stride + 1


def reduction_height(reduction: str, num_nodes: int | None, freq: int) -> int:
    """The kernel height of the conv that reduces the `freq` rows left after the stages."""
    if reduction == "collapse":
        # The published `num_nodes` (3 for 60-dim LFCC), derived so that no size is typed twice.
        if num_nodes is not None and num_nodes != freq:
            raise ValueError(
                f"num_nodes {num_nodes}: under frequency_reduction collapse the kernel height is "
                f"the {freq} frequency rows left after the stages; leave num_nodes unset"
            )
        return freq
    if reduction == "first_row":
        # 3: the value CHIHYI kept from AIR's 60-dim configuration.
        height = 3 if num_nodes is None else num_nodes
        if not 1 <= height <= freq:
            raise ValueError(
                f"num_nodes must be between 1 and the {freq} frequency rows left after the "
                f"stages, not {height}"
            )
        return height
    raise ValueError(f"frequency_reduction must be collapse or first_row, not {reduction!r}")


@MODELS.register("resnet18")
class ResNet18(Backbone):
    """Pre-activation ResNet18 over a `(B, C, F, T)` feature map, embedding by attentive pooling."""

    def __init__(
        self,
        inputs: Mapping[str, FeatureSpec],
        input: str | None = None,
        channels: tuple[int, ...] | list[int] = (64, 128, 256, 512),
        blocks: tuple[int, ...] | list[int] = (2, 2, 2, 2),
        stem_channels: int = 16,
        pooling_channels: int = 256,
        embedding_dim: int = 256,
        frequency_reduction: Literal["collapse", "first_row"] = "collapse",
        num_nodes: int | None = None,
    ) -> None:
        super().__init__()
        self.input = single_input(inputs, input, "resnet18")
        spec = inputs[self.input]
        input_dim = spec.dim
        if len(channels) != len(blocks):
            raise ValueError(
                f"channels {list(channels)} and blocks {list(blocks)} differ in length"
            )
        self.embedding_dim = embedding_dim
        self.stem = nn.Sequential(
            nn.Conv2d(
                spec.channels, stem_channels, (9, 3), stride=(3, 1), padding=(1, 1), bias=False
            ),
            nn.BatchNorm2d(stem_channels),
            nn.ReLU(),
        )
        freq = conv_output_size(input_dim, 9, 3, 1)
        stages: list[nn.Module] = []
        in_channels = stem_channels
        for stage, (width, count) in enumerate(zip(channels, blocks, strict=True)):
            stride = 1 if stage == 0 else 2
            layers = [PreActBasicBlock(in_channels, width, stride)]
            layers += [PreActBasicBlock(width, width, 1) for _ in range(count - 1)]
            stages.append(nn.Sequential(*layers))
            in_channels = width
            freq = conv_output_size(freq, 3, stride, 1)
        if freq < 1:
            raise ValueError(
                f"a feature dim of {input_dim} is too small for {len(channels)} stages"
            )
        self.stages = nn.Sequential(*stages)
        height = reduction_height(frequency_reduction, num_nodes, freq)
        self.collapse = nn.Sequential(
            nn.Conv2d(in_channels, pooling_channels, (height, 3), padding=(0, 1), bias=False),
            nn.BatchNorm2d(pooling_channels),
            nn.ReLU(),
        )
        self.fc = nn.Linear(2 * pooling_channels, embedding_dim)
        self._initialise()
        # Created after the initialisation loop, as in the published code.
        self.pooling = AttentiveMeanStdPooling(pooling_channels)

    def _initialise(self) -> None:
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, a=0, mode="fan_out")
            elif isinstance(module, nn.Linear):
                nn.init.kaiming_uniform_(module.weight)
            elif isinstance(module, nn.BatchNorm2d | nn.BatchNorm1d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def forward(self, feats: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """`feats[input]`: `(B, C, T, F)` -> embedding `(B, embedding_dim)`."""
        x = feats[self.input].transpose(2, 3)
        # Under `collapse` the map has one row; under `first_row` the others are dropped.
        x = self.collapse(self.stages(self.stem(x)))[:, :, 0, :]
        return self.fc(self.pooling(x.transpose(1, 2)))

"""MesoInception4 as Kawa et al. use it ("Improved DeepFake Detection Using Whisper Features",
Interspeech 2023; github.com/piotrkawa/deepfake-whisper-features `src/models/meso_net.py`,
adapted there from FakeAVCeleb), and as Chih-Yi Lin's One-Class Softmax study trains it with
OC-Softmax (github.com/chihyi-lin/Whisper-ocsoftmax `src/models/meso_net.py`).

Over a C-channel `(F, T)` image (2 x 384 x 3000 for Whisper + MFCC stacked as channels):
- two inception layers, each four bias-free branches concatenated: a 1x1 conv, and 1x1 convs each
  followed by a 3x3 conv of dilation 1, 2 or 3; then BN and a 2x2 max-pool. Branch widths
  1/4/4/2 (11 channels), then 2/4/4/2 (12 channels). No activation in these layers.
- conv 5x5 12->16, ReLU, BN, 2x2 max-pool; conv 5x5 16->16, ReLU, the same BN module again
  (one set of affine weights and running statistics for both), 4x4 max-pool. Convs bias-free.
- flatten in `(channel, frequency, time)` order (16 x 12 x 93 = 17,856 for 384 x 3000), dropout,
  and an adaptive average pool of that vector to `pooled_dim` (1024) values, so that any number
  of frames gives the same size.
- KAWA's head: Linear(1024, 16), LeakyReLU(0.1), dropout, Linear(16, 1) with BCE.

The embedding (what the loss receives) depends on `head`:
- `none` (default): the pooled 1024-d vector, as CHIHYI-OC feeds OC-Softmax. The poster's
  Table 2 gives 1024 as the MesoNet embedding size for both losses.
- `kawa`: the 16-d output of Linear(1024, 16), LeakyReLU and dropout. The `softmax` loss's
  2-logit output layer then takes the place of KAWA's Linear(16, 1): a 2-class softmax with
  logits `(z, 0)` is the sigmoid of `z`, and its cross-entropy is BCE with logit `z`, so the
  network up to the score computes exactly KAWA's function (`official_state_dict` loads
  KAWA's Linear(16, 1) that way). It reproduces the softmax rows of KAWA and CHIHYI-SM.

Input layout: the repository's features are `(B, C, T, F)`; KAWA's are `(B, C, F, T)`. The map is
transposed on entry, so that the flatten order, hence the pooled vector, is KAWA's and its
weights apply unchanged. Channel order is the frontend's business: KAWA stacks Whisper first,
MFCC second.

Where this differs from the official code without changing an output:
- KAWA applies `nn.Dropout2d` to the flattened `(B, N)` vector and to the 16-d hidden vector.
  On 2-D input that is elementwise dropout (PyTorch 1.11, which KAWA pins, and since), so plain
  `nn.Dropout` is used.
- The adaptive pool is the functional form (KAWA builds an `nn.AdaptiveAvgPool1d` module on every
  call).

Parameters (2 input channels): 12,080 with `head: none` (the official 28,497 less fc1 and fc2);
28,480 with `head: kawa`, plus 34 in the `softmax` loss's output layer (the official Linear(16, 1)
has 17).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from antispoof.frontends.base import FeatureSpec
from antispoof.labels import BONAFIDE, NUM_CLASSES
from antispoof.models.base import MODELS, Backbone, single_input

# The max-pools after the two inception layers and the two convs: each halves both axes, the
# last quarters them.
POOLS = (2, 2, 2, 4)
MIN_SIZE = math.prod(POOLS)
LEAKY_SLOPE = 0.1
INCEPTION1_WIDTHS = (1, 4, 4, 2)
INCEPTION2_WIDTHS = (2, 4, 4, 2)
CONV_CHANNELS = 16
CONV_KERNEL = 5


class InceptionLayer(nn.Module):
    """Four bias-free branches concatenated: a 1x1 conv, and three 1x1 convs each followed by a
    3x3 conv of dilation 1, 2, 3 (same size); then BN and a `pool` x `pool` max-pool."""

    def __init__(self, in_channels: int, widths: tuple[int, int, int, int], pool: int) -> None:
        super().__init__()
        self.pool = pool
        self.pointwise = nn.Conv2d(in_channels, widths[0], 1, bias=False)
        self.dilated = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(in_channels, width, 1, bias=False),
                nn.Conv2d(width, width, 3, padding=dilation, dilation=dilation, bias=False),
            )
            for dilation, width in enumerate(widths[1:], start=1)
        )
        self.bn = nn.BatchNorm2d(sum(widths))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branches = [self.pointwise(x), *(branch(x) for branch in self.dilated)]
        return F.max_pool2d(self.bn(torch.cat(branches, dim=1)), self.pool)


@MODELS.register("mesonet")
class MesoNet(Backbone):
    """MesoInception4 over a `(B, C, F, T)` map; the embedding is the adaptively pooled flattened
    map (`head: none`) or KAWA's 16-d hidden layer (`head: kawa`).

    Settings (defaults: KAWA's `whisper_frontend_mesonet_mfcc.yaml` and code):
    - `input`: the branch read; needed only where there are several.
    - `head`: `none` (default: the embedding CHIHYI-OC gives OC-Softmax and the poster's
      1024) or `kawa` (KAWA's hidden layer; with `softmax`, KAWA's exact network).
    - `pooled_dim`: 1024, KAWA's `fc1_dim`: the size of the adaptively pooled vector.
    - `hidden_dim`: 16, the width of KAWA's hidden layer; read with `head: kawa` only.
    - `dropout`: 0.5, KAWA's `Dropout2d(0.5)`, on the flattened map and on the hidden layer.
    The input channels are the branch's (2 for Whisper + MFCC), as KAWA's `input_channels`.
    """

    def __init__(
        self,
        inputs: Mapping[str, FeatureSpec],
        input: str | None = None,
        head: Literal["none", "kawa"] = "none",
        pooled_dim: int = 1024,
        hidden_dim: int = 16,
        dropout: float = 0.5,
    ) -> None:
        super().__init__()
        self.input = single_input(inputs, input, "mesonet")
        spec = inputs[self.input]
        if head not in ("none", "kawa"):
            raise ValueError(f"head must be none or kawa, not {head!r}")
        if pooled_dim < 1:
            raise ValueError(f"pooled_dim must be positive, not {pooled_dim}")
        if hidden_dim < 1:
            raise ValueError(f"hidden_dim must be positive, not {hidden_dim}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), not {dropout}")
        if spec.dim < MIN_SIZE:
            raise ValueError(
                f"input {self.input!r} has {spec.dim} feature dims; mesonet needs at least "
                f"{MIN_SIZE} (its max-pools divide the feature axis by {MIN_SIZE})"
            )
        self.inception1 = InceptionLayer(spec.channels, INCEPTION1_WIDTHS, POOLS[0])
        self.inception2 = InceptionLayer(sum(INCEPTION1_WIDTHS), INCEPTION2_WIDTHS, POOLS[1])
        padding = CONV_KERNEL // 2
        self.conv1 = nn.Conv2d(
            sum(INCEPTION2_WIDTHS), CONV_CHANNELS, CONV_KERNEL, padding=padding, bias=False
        )
        self.conv2 = nn.Conv2d(
            CONV_CHANNELS, CONV_CHANNELS, CONV_KERNEL, padding=padding, bias=False
        )
        # One BN after both convs, as published: it normalises both and its running statistics
        # are updated twice per training step.
        self.bn = nn.BatchNorm2d(CONV_CHANNELS)
        self.dropout = nn.Dropout(dropout)
        self.pooled_dim = pooled_dim
        self.hidden: nn.Linear | None = None
        if head == "kawa":
            self.hidden = nn.Linear(pooled_dim, hidden_dim)
            self.embedding_dim = hidden_dim
        else:
            self.embedding_dim = pooled_dim

    def forward(self, feats: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """`feats[input]`: `(B, C, T, F)`, T >= 32 -> embedding `(B, embedding_dim)`."""
        x = feats[self.input]
        if x.shape[2] < MIN_SIZE:
            raise ValueError(
                f"mesonet needs at least {MIN_SIZE} frames (its max-pools divide the time axis "
                f"by {MIN_SIZE}); got {x.shape[2]}"
            )
        # KAWA's (B, C, F, T) layout, so that the flatten order is theirs.
        x = self.inception2(self.inception1(x.transpose(2, 3)))
        x = F.max_pool2d(self.bn(F.relu(self.conv1(x))), POOLS[2])
        x = F.max_pool2d(self.bn(F.relu(self.conv2(x))), POOLS[3])
        x = self.dropout(x.flatten(1))
        x = F.adaptive_avg_pool1d(x[:, None], self.pooled_dim)[:, 0]
        if self.hidden is None:
            return x
        return self.dropout(F.leaky_relu(self.hidden(x), LEAKY_SLOPE))


# Official parameter names -> this model's, for the layers both have.
_INCEPTION_BRANCHES = {
    "conv1": "pointwise",
    "conv2_1": "dilated.0.0",
    "conv2_2": "dilated.0.1",
    "conv3_1": "dilated.1.0",
    "conv3_2": "dilated.1.1",
    "conv4_1": "dilated.2.0",
    "conv4_2": "dilated.2.1",
    "bn": "bn",
}
_LAYERS = {
    **{
        f"Incption{layer}_{official}": f"inception{layer}.{ours}"
        for layer in (1, 2)
        for official, ours in _INCEPTION_BRANCHES.items()
    },
    "conv1": "conv1",
    "conv2": "conv2",
    "bn1": "bn",
    "fc1": "hidden",
}


def official_state_dict(
    official: Mapping[str, torch.Tensor] | str | Path, head: Literal["none", "kawa"]
) -> dict[str, torch.Tensor]:
    """KAWA's MesoInception4 weights (a `state_dict` of `meso_net.MesoInception4`, or the path of
    one) as a `state_dict` of a detector with this model (`head` as given) and, for `head: kawa`,
    the `softmax` loss: keys `model.*` and `loss.output.*`.

    KAWA's one logit `z` is the bona fide logit (its label 1 is bona fide and the score is
    `sigmoid(z)`): it becomes the bona fide row of the 2-class output layer, the spoof row being
    zero, so that the `logodds` score is `z`. With `head: none`, fc1 and fc2 reach no embedding
    and are left out. A Whisper encoder (`whisper_model.*`) belongs to the frontend and is
    refused here, as is any other key that is not a MesoInception4 parameter.
    """
    if head not in ("none", "kawa"):
        raise ValueError(f"head must be none or kawa, not {head!r}")
    if not isinstance(official, Mapping):
        official = torch.load(Path(official), map_location="cpu", weights_only=True)
        if not isinstance(official, Mapping):
            raise ValueError("not a state_dict")
    ours: dict[str, torch.Tensor] = {}
    unknown = []
    for key, value in official.items():
        layer, _, suffix = key.rpartition(".")
        if layer == "fc2":
            if head == "kawa":
                output = value.new_zeros((NUM_CLASSES, *value.shape[1:]))
                output[BONAFIDE] = value[0]
                ours[f"loss.output.{suffix}"] = output
        elif layer in _LAYERS:
            if layer != "fc1" or head == "kawa":
                ours[f"model.{_LAYERS[layer]}.{suffix}"] = value
        else:
            unknown.append(key)
    if unknown:
        raise ValueError(
            f"not KAWA's MesoInception4 weights (unknown keys: {', '.join(unknown[:5])}"
            f"{', ...' if len(unknown) > 5 else ''})"
        )
    return ours

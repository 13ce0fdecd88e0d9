"""The AASIST back end of Tak et al.'s wav2vec 2.0 detector ("Automatic speaker verification
spoofing and deepfake detection using wav2vec 2.0 and data augmentation", Odyssey 2022), written
here from the authors' code (github.com/TakHemlata/SSL_Anti-spoofing, `model.py`), giving the
same outputs for the same weights. The SSL encoder (XLS-R 300M, fine-tuned) is the `wav2vec2`
input branch; this model is everything after it.

hidden states `(B, 1, T, hidden)` -> Linear(hidden, 128) per frame -> a (128, T) map, 3x3
max-pool (42 x T // 3) -> BN, SELU -> six residual blocks that keep that size (no max-pool
inside them, unlike AASIST's) -> BN, SELU -> attentive pooling: 1x1 convs (64 -> 128, SELU,
BN, 128 -> 64) give one weight map, softmaxed over time for the 42 spectral nodes (plus a learnt
position each) and over frequency for the temporal nodes -> AASIST's graph attention, graph
pools and two HS-GAL branches with the max graph operation -> readout
`[max |T|, mean T, max |S|, mean S, master]` and dropout 0.5: the embedding, 160 dims (the
official `last_hidden`). The graph part reuses `antispoof.models.aasist`'s layers.

The 2-logit output layer belongs to the `softmax` loss, as for every model here: this model plus
that loss's Linear(160, 2) is the official `Model` without `ssl_model`, its output rows in our
class order (bona fide first; the official class 1 is bona fide).

Where this differs from the official code without changing an output:
- The official residual blocks other than the first build a pre-activation BN that reaches no
  output (the block convolves its input, not the BN's output) and gets no gradient: not built
  here (DDP refuses parameters without gradients). This model therefore has 512 parameters fewer
  than the official back end's 447,242 (which counts those BNs, `LL` and the output layer).
- Evaluation folds each residual block's BN into its first convolution (as `aasist` does): in
  float32 the logits move by up to 2e-5 (tests/test_xlsr_aasist.py's weights, logits of about
  10); in float64 the outputs are the official ones to 1e-10.
- Settings that the official code writes as constants (128, 42, 64, 128) follow from `filts` and
  `attention_channels` here; the defaults are the official values.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import nn

from antispoof.frontends.base import FeatureSpec
from antispoof.models.aasist import (  # the official AASIST names of the graph part
    _OFFICIAL_LAYERS as AASIST_GRAPH_LAYERS,
)
from antispoof.models.aasist import (
    POOL,
    GraphAttention,
    GraphPool,
    HeterogeneousBranch,
    ResidualBlock,
    check_filts,
    graph_readout,
)
from antispoof.models.aasist import (
    _detector_key as aasist_detector_key,
)
from antispoof.models.base import MODELS, Backbone, single_input

# Tak et al.'s `filts`: the projection width, then the residual blocks' [in, out] channels
# (filts[1], filts[2], filts[3], then filts[4] three times, as in AASIST).
XLSR_AASIST_FILTS = (128, [1, 32], [32, 32], [32, 64], [64, 64])
BLOCK_FILTS = (1, 2, 3, 4, 4, 4)


class UnpooledResidualBlock(ResidualBlock):
    """AASIST's residual block without its final max-pool: conv (2, 3) -> BN -> SELU -> conv
    (2, 3), plus the input (through a (1, 3) conv where the channel count changes). The map's
    size is kept: Tak et al. removed the pool, since their input is already 3x pooled frames."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.residual(x)


@MODELS.register("xlsr_aasist")
class XLSRAASIST(Backbone):
    """Tak et al.'s AASIST back end over one input branch of frame features `(B, 1, T, F)`,
    the hidden states of one wav2vec 2.0 layer (`wav2vec2` frontend with one entry in `layers`);
    `F` (1024 for XLS-R 300M) comes from the branch's FeatureSpec.

    `filts`: `[projection width, [in, out] channels of the first residual block, of the second,
    of the third, of the last three]`; the projection's `filts[0] // 3` max-pooled rows are the
    spectral nodes (42 by default). `attention_channels`: the hidden width of the attentive
    pooling's 1x1 convolutions. `gat_dims`: `[graph attention dim, HS-GAL dim]`. `pool_ratios`:
    the fractions of nodes kept by the spectral pool, the temporal pool and the pools inside the
    HS-GAL branches; `temperatures`: of the spectral and temporal graph attention and of the
    HS-GAL layers. The fourth value of each, in the official lists but never read by its code,
    is accepted and ignored. The defaults are the official settings.

    An input of several channels (more than one wav2vec2 layer) is refused: the official model
    reads one layer, and no way of combining several is part of it.
    """

    def __init__(
        self,
        inputs: Mapping[str, FeatureSpec],
        input: str | None = None,
        filts: tuple[int, list[int], list[int], list[int], list[int]] = XLSR_AASIST_FILTS,
        attention_channels: int = 128,
        gat_dims: tuple[int, int] = (64, 32),
        pool_ratios: tuple[float, float, float, float] = (0.5, 0.5, 0.5, 0.5),
        temperatures: tuple[float, float, float, float] = (2.0, 2.0, 100.0, 100.0),
    ) -> None:
        super().__init__()
        self.input = single_input(inputs, input, "xlsr_aasist")
        spec = inputs[self.input]
        if spec.channels != 1:
            raise ValueError(
                f"xlsr_aasist reads one channel of frame features (one wav2vec2 layer); input "
                f"{self.input!r} gives {spec.channels} channels: name one layer in its "
                "frontend_conf.layers"
            )
        projection_dim, *channels = filts
        # The projection's rows play the part of AASIST's sinc filters: the same checks apply.
        check_filts(projection_dim, [list(pair) for pair in channels])
        if attention_channels < 1:
            raise ValueError(f"attention_channels must be positive, not {attention_channels}")
        if not all(0.0 < ratio <= 1.0 for ratio in pool_ratios[:3]):
            raise ValueError(f"pool_ratios must lie in (0, 1], not {list(pool_ratios)}")
        if not all(temperature > 0 for temperature in temperatures[:3]):
            raise ValueError(f"temperatures must be positive, not {list(temperatures)}")
        self.embedding_dim = 5 * gat_dims[1]

        self.projection = nn.Linear(spec.dim, projection_dim)
        self.first_bn = nn.BatchNorm2d(1)
        self.encoder = nn.Sequential(
            *(UnpooledResidualBlock(*channels[index - 1]) for index in BLOCK_FILTS)
        )
        encoded = channels[-1][1]
        self.encoder_bn = nn.BatchNorm2d(encoded)
        # Official order: conv, SELU, then BN (after the activation), conv.
        self.attention = nn.Sequential(
            nn.Conv2d(encoded, attention_channels, kernel_size=1),
            nn.SELU(inplace=True),
            nn.BatchNorm2d(attention_channels),
            nn.Conv2d(attention_channels, encoded, kernel_size=1),
        )
        self.spectral_position = nn.Parameter(torch.randn(1, projection_dim // POOL, encoded))
        self.gat_spectral = GraphAttention(encoded, gat_dims[0], temperatures[0])
        self.gat_temporal = GraphAttention(encoded, gat_dims[0], temperatures[1])
        self.pool_spectral = GraphPool(pool_ratios[0], gat_dims[0])
        self.pool_temporal = GraphPool(pool_ratios[1], gat_dims[0])
        self.branches = nn.ModuleList(
            HeterogeneousBranch(list(gat_dims), pool_ratios[2], temperatures[2]) for _ in range(2)
        )
        self.branch_dropout = nn.Dropout(0.2)
        self.dropout = nn.Dropout(0.5)

    def forward(self, feats: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """`feats[input]`: `(B, 1, T, F)` frames, `T >= 3` -> embeddings `(B, 5 * gat_dims[1])`."""
        x = feats[self.input]
        if x.shape[1] != 1 or x.shape[2] < POOL:
            raise ValueError(
                f"xlsr_aasist needs (B, 1, T >= {POOL}, F) features, got {tuple(x.shape)}"
            )
        # (B, 1, T, F) -> (B, 1, projection_dim, T): the official layout, projection rows first.
        x = self.projection(x).transpose(2, 3)
        x = F.selu(self.first_bn(F.max_pool2d(x, POOL)), inplace=True)
        x = F.selu(self.encoder_bn(self.encoder(x)), inplace=True)  # (B, C, spectral, temporal)
        weights = self.attention(x)
        spectral = (x * weights.softmax(dim=3)).sum(dim=3).transpose(1, 2)
        temporal = (x * weights.softmax(dim=2)).sum(dim=2).transpose(1, 2)
        spectral = self.pool_spectral(self.gat_spectral(spectral + self.spectral_position))
        temporal = self.pool_temporal(self.gat_temporal(temporal))

        return self.dropout(graph_readout(self.branches, self.branch_dropout, temporal, spectral))


# Tak et al.'s names of the parts this model names otherwise (the graph layers, pools, `pos_S`
# and the master nodes are named as in AASIST: antispoof.models.aasist maps them).
_OFFICIAL_PARTS = {"LL": "projection", "first_bn": "first_bn", "first_bn1": "encoder_bn"}
# A residual block's official parts; None for the pre-activation BN that reaches no output.
_BLOCK_PARTS = {
    "conv1": "conv1",
    "bn1": None,
    "bn2": "bn",
    "conv2": "conv2",
    "conv_downsample": "shortcut",
}


def official_backend_state_dict(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The official back end's weights (keys of Tak et al.'s `Model` without `ssl_model.`) as
    this detector's `model.*` and `loss.*` keys: `LL` -> projection, `first_bn1` -> encoder_bn,
    `encoder.<i>.0.<part>` -> `encoder.<i>.<part>` (`bn2` -> bn, `conv_downsample` -> shortcut;
    the pre-activation `bn1` that reaches no output is dropped), `attention` as is, the graph
    part as AASIST's, `out_layer` -> the softmax loss's output layer with its rows swapped (bona
    fide first). A key that is not the back end's is a KeyError."""
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        head, _, rest = key.partition(".")
        if head in _OFFICIAL_PARTS:
            out[f"model.{_OFFICIAL_PARTS[head]}.{rest}"] = value
        elif head == "attention":
            out[f"model.{key}"] = value
        elif head == "encoder":
            block, zero, part, name = rest.split(".")
            if zero != "0" or part not in _BLOCK_PARTS:
                raise KeyError(f"not a key of the official SSL-AASIST back end: {key}")
            if _BLOCK_PARTS[part] is not None:
                out[f"model.encoder.{block}.{_BLOCK_PARTS[part]}.{name}"] = value
        elif head == "out_layer":
            out[f"loss.output.{rest}"] = value.flip(0)
        elif head in ("pos_S", "master1", "master2") or head in AASIST_GRAPH_LAYERS:
            try:
                out[aasist_detector_key(key)] = value
            except KeyError:
                raise KeyError(f"not a key of the official SSL-AASIST back end: {key}") from None
        else:
            raise KeyError(f"not a key of the official SSL-AASIST back end: {key}")
    return out

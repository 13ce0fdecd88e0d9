"""AASIST (Jung et al., "AASIST: Audio Anti-Spoofing using Integrated Spectro-Temporal Graph
Attention Networks", ICASSP 2022), written here from the paper and the authors' code
(github.com/clovaai/aasist), giving the same outputs for the same weights.

raw waveform -> `filts[0]` fixed band-pass sinc filters of `first_conv` taps, mel-spaced over
0 .. fs/2 -> |.|, 3x3 max-pool over (filter, time) -> BN, SELU -> six residual blocks over that
map -> spectral nodes (max |.| over time, plus a learnt position per node) and temporal nodes
(max |.| over frequency), each set through a graph attention layer and a graph pool -> two
branches of heterogeneous stacking graph attention (HS-GAL over both node sets and a learnt
master node; a graph pool of each set; HS-GAL again, added) -> the elementwise max of the two
branches (max graph operation) -> readout `[max |T|, mean T, max |S|, mean S, master]` and
dropout 0.5: the embedding, `5 * gat_dims[1]` dims (the official `last_hidden`).

The 2-logit output layer belongs to the `softmax` loss, as for every model here; with
`score: bonafide_logit` it scores trials as the official evaluation does. `official_state_dict`
loads the released AASIST and AASIST-L weights into a detector built with
`model_conf_from_official` of their configuration.

Where this differs from the official code without changing an output:
- The official residual block computes a BN + SELU pre-activation of its input and then
  convolves the input itself: that BN reaches no output and gets no gradient (the released
  weights still hold its initial scale 1 and shift 0), so it is not built here. This model
  therefore has 512 (AASIST) and 272 (AASIST-L) parameters fewer than the official count of
  297,866 and 85,306, which includes those BNs and the output layer.
- The sinc filters are a buffer built once; the official forward pass clones the filter bank
  and moves it to the input's device on every call. The filters are computed in float64 (the
  official mixes float32 and float64), which moves the logits by about 1e-6.
- Speed: on a CPU, most of the time goes to the first residual blocks, which run over the
  full-rate (filter, time) map. They run here in the channels-last layout (oneDNN's
  convolutions are about twice as fast on it) and max-pool by reshaping (`F.max_pool2d` with a
  (1, 3) window is several times slower than a strided max); about 2.4x the official
  throughput on 2 CPU cores, see benchmarks/aasist_speed.py.
- The official training option `freq_aug` (zeroing a random run of sinc filters) is off in the
  published configurations and not provided.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from antispoof.frontends.base import FeatureSpec
from antispoof.labels import BONAFIDE, NUM_CLASSES, SPOOF
from antispoof.models.base import MODELS, Backbone, single_input

# The released model's settings (config/AASIST.conf of the official repository).
AASIST_FILTS = (70, [1, 32], [32, 32], [32, 64], [64, 64])
# Residual blocks: filts[1], filts[2], filts[3], then filts[4] three times.
BLOCK_FILTS = (1, 2, 3, 4, 4, 4)
# The max-pool of the sinc outputs and of every residual block.
POOL = 3


def hz_to_mel(hz: torch.Tensor) -> torch.Tensor:
    return 2595.0 * torch.log10(1.0 + hz / 700.0)


def mel_to_hz(mel: torch.Tensor) -> torch.Tensor:
    return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)


def sinc_filters(num_filters: int, taps: int, sample_rate: int) -> torch.Tensor:
    """`(num_filters, taps)` Hamming-windowed ideal band-pass filters whose band edges are
    equally spaced on the mel scale from 0 Hz to `sample_rate / 2` (the published front end:
    fixed, not learnt). `taps` is odd, so that the filters are symmetric."""
    nyquist = torch.tensor(float(sample_rate // 2), dtype=torch.float64)
    mels = torch.linspace(0.0, float(hz_to_mel(nyquist)), num_filters + 1, dtype=torch.float64)
    edges = mel_to_hz(mels)
    time = torch.arange(taps, dtype=torch.float64) - (taps - 1) / 2

    def low_pass(cutoff: torch.Tensor) -> torch.Tensor:
        """Ideal low-pass impulse responses, one row per cutoff."""
        normalised = 2.0 * cutoff[:, None] / sample_rate
        return normalised * torch.sinc(normalised * time)

    window = torch.hamming_window(taps, periodic=False, dtype=torch.float64)
    return ((low_pass(edges[1:]) - low_pass(edges[:-1])) * window).float()


def max_pool_time(x: torch.Tensor) -> torch.Tensor:
    """`(B, C, H, W)` -> `(B, C, H, W // 3)`: non-overlapping max-pool over the last axis, a
    trailing remainder dropped. Without gradients, as the max of three strided views: the
    values of `F.max_pool2d`, several times faster on a CPU, in the layout of `x`. With them,
    `F.max_pool2d` itself, whose backward pass is one scatter where the views' is a full-size
    copy each."""
    if torch.is_grad_enabled() and x.requires_grad:
        return F.max_pool2d(x, (1, POOL))
    kept = x.shape[-1] // POOL * POOL
    views = [x[..., offset:kept:POOL] for offset in range(POOL)]
    pooled = torch.maximum(views[0], views[1])
    for view in views[2:]:
        torch.maximum(pooled, view, out=pooled)
    return pooled


def channels_last(x: torch.Tensor) -> torch.Tensor:
    """`x` (B, C, H, W) in the channels-last layout. A one-channel map is copied explicitly:
    its strides read as both layouts, and convolutions then take it for the default one."""
    if x.shape[1] == 1:
        out = torch.empty(
            x.shape, dtype=x.dtype, device=x.device, memory_format=torch.channels_last
        )
        return out.copy_(x)
    return x.contiguous(memory_format=torch.channels_last)


class SincFrontEnd(nn.Module):
    """Waveforms `(B, N)` -> `(B, 1, num_filters // 3, (N - taps + 1) // 3)`: the magnitude of
    the sinc filter outputs, max-pooled over 3 filters x 3 samples, then BN and SELU."""

    def __init__(self, num_filters: int, taps: int, sample_rate: int) -> None:
        super().__init__()
        # Derived from the settings: not a learnt state, so not in the state dict.
        self.register_buffer(
            "filters", sinc_filters(num_filters, taps, sample_rate)[:, None], persistent=False
        )
        self.bn = nn.BatchNorm2d(1)

    def forward(self, wav: torch.Tensor) -> torch.Tensor:
        # Only the filters and samples that the 3x3 pool keeps are computed.
        num_filters = self.filters.shape[0] // POOL * POOL
        taps = self.filters.shape[-1]
        frames = (wav.shape[1] - taps + 1) // POOL * POOL
        x = F.conv1d(wav[:, None, : frames + taps - 1], self.filters[:num_filters]).abs_()
        # The 3x3 max-pool as two maxima, over filters and then over samples: faster on a CPU
        # than one over both, and than F.max_pool2d.
        x = x.view(wav.shape[0], num_filters // POOL, POOL, frames).amax(dim=2)
        x = x.view(wav.shape[0], num_filters // POOL, frames // POOL, POOL).amax(dim=3)
        return F.selu(self.bn(x[:, None]), inplace=True)


class ResidualBlock(nn.Module):
    """conv (2, 3) -> BN -> SELU -> conv (2, 3), plus the input (through a (1, 3) conv where the
    channel count changes); then a (1, 3) max-pool over time. Height (frequency) is kept."""

    def __init__(self, in_channels: int, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, channels, (2, 3), padding=(1, 1))
        self.bn = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, (2, 3), padding=(0, 1))
        self.shortcut: nn.Module | None = None
        if in_channels != channels:
            self.shortcut = nn.Conv2d(in_channels, channels, (1, 3), padding=(0, 1))

    def residual(self, x: torch.Tensor) -> torch.Tensor:
        """The block before its max-pool."""
        x = channels_last(x)
        if self.bn.training:
            out = self.bn(self.conv1(x))
        else:
            # With running statistics the BN is an affine map per channel: folded into conv1,
            # it saves a pass over the block's largest tensor.
            out = F.conv2d(x, *fold_batch_norm(self.conv1, self.bn), padding=self.conv1.padding)
        out = self.conv2(F.selu(out, inplace=True))
        out += self.shortcut(x) if self.shortcut is not None else x
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return max_pool_time(self.residual(x))


def fold_batch_norm(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
    """The weight and bias of `conv` followed by `bn` in eval mode, as one convolution."""
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    weight = conv.weight * scale[:, None, None, None]
    return weight, (conv.bias - bn.running_mean) * scale + bn.bias


def attention_vector(dim: int) -> nn.Parameter:
    """A `(dim, 1)` scoring vector, Xavier-normal initialised as in the published code."""
    weight = nn.Parameter(torch.empty(dim, 1))
    nn.init.xavier_normal_(weight)
    return weight


def batch_norm_nodes(bn: nn.BatchNorm1d, x: torch.Tensor) -> torch.Tensor:
    """BatchNorm over every node of every example: `(B, N, D)` normalised per feature."""
    return bn(x.reshape(-1, x.shape[-1])).view(x.shape)


def pair_products(x: torch.Tensor) -> torch.Tensor:
    """`(B, N, D)` -> `(B, N, N, D)`: the elementwise product of every pair of nodes."""
    return x[:, :, None, :] * x[:, None, :, :]


class GraphAttention(nn.Module):
    """Graph attention over a fully connected graph: the attention of node i on node j is a
    softmax over j of `w . tanh(W (x_i * x_j)) / temperature`; a node's output is
    `SELU(BN(A(attended) + R(x_i)))`. Dropout 0.2 on the input nodes."""

    def __init__(self, in_dim: int, out_dim: int, temperature: float) -> None:
        super().__init__()
        self.attention_proj = nn.Linear(in_dim, out_dim)
        self.attention_weight = attention_vector(out_dim)
        self.aggregate = nn.Linear(in_dim, out_dim)
        self.residual = nn.Linear(in_dim, out_dim)
        self.bn = nn.BatchNorm1d(out_dim)
        self.dropout = nn.Dropout(0.2)
        self.temperature = temperature

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.dropout(x)
        scores = torch.tanh(self.attention_proj(pair_products(x))) @ self.attention_weight
        attention = torch.softmax(scores.squeeze(-1) / self.temperature, dim=-1)
        out = self.aggregate(attention @ x) + self.residual(x)
        return F.selu(batch_norm_nodes(self.bn, out), inplace=True)


class HeterogeneousGraphAttention(nn.Module):
    """HS-GAL: graph attention over the union of temporal and spectral nodes, with one scoring
    vector for temporal-temporal pairs, one for spectral-spectral pairs and one for mixed pairs,
    and a master node that attends to every node (its own scoring vector and projections,
    without BN or activation). Each node set is first projected by its own linear map."""

    def __init__(self, in_dim: int, out_dim: int, temperature: float) -> None:
        super().__init__()
        self.project_temporal = nn.Linear(in_dim, in_dim)
        self.project_spectral = nn.Linear(in_dim, in_dim)
        self.attention_proj = nn.Linear(in_dim, out_dim)
        self.master_attention_proj = nn.Linear(in_dim, out_dim)
        self.weight_temporal = attention_vector(out_dim)
        self.weight_spectral = attention_vector(out_dim)
        self.weight_cross = attention_vector(out_dim)
        self.master_weight = attention_vector(out_dim)
        self.aggregate = nn.Linear(in_dim, out_dim)
        self.residual = nn.Linear(in_dim, out_dim)
        self.master_aggregate = nn.Linear(in_dim, out_dim)
        self.master_residual = nn.Linear(in_dim, out_dim)
        self.bn = nn.BatchNorm1d(out_dim)
        self.dropout = nn.Dropout(0.2)
        self.temperature = temperature

    def forward(
        self, temporal: torch.Tensor, spectral: torch.Tensor, master: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """`(B, Nt, D)`, `(B, Ns, D)` and the master `(B or 1, 1, D)` -> the three updated."""
        num_temporal = temporal.shape[1]
        x = torch.cat([self.project_temporal(temporal), self.project_spectral(spectral)], dim=1)
        x = self.dropout(x)

        hidden = torch.tanh(self.attention_proj(pair_products(x)))
        weights = torch.cat([self.weight_temporal, self.weight_spectral, self.weight_cross], 1)
        # (B, N, N, 3): each pair scored by all three vectors; `kind` picks the right one.
        scores = hidden @ weights
        is_spectral = torch.arange(x.shape[1], device=x.device) >= num_temporal
        same_set = is_spectral[:, None] == is_spectral[None, :]
        # 0: both temporal, 1: both spectral, 2: one of each.
        kind = torch.where(same_set, is_spectral[:, None].long(), 2)
        scores = scores.gather(-1, kind.expand(x.shape[0], -1, -1)[..., None]).squeeze(-1)
        attention = torch.softmax(scores / self.temperature, dim=-1)

        master_scores = torch.tanh(self.master_attention_proj(x * master)) @ self.master_weight
        master_attention = torch.softmax(master_scores / self.temperature, dim=1)
        attended = master_attention.transpose(1, 2) @ x
        master = self.master_aggregate(attended) + self.master_residual(master)

        out = self.aggregate(attention @ x) + self.residual(x)
        out = F.selu(batch_norm_nodes(self.bn, out), inplace=True)
        return out[:, :num_temporal], out[:, num_temporal:], master


class GraphPool(nn.Module):
    """Keeps the `max(int(N * ratio), 1)` nodes with the highest `sigmoid(w . x + b)` score
    (computed with dropout 0.3 on its input), in descending order of score, each scaled by its
    score."""

    def __init__(self, ratio: float, dim: int) -> None:
        super().__init__()
        self.ratio = ratio
        self.score = nn.Linear(dim, 1)
        self.dropout = nn.Dropout(0.3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scores = torch.sigmoid(self.score(self.dropout(x)))
        keep = max(int(x.shape[1] * self.ratio), 1)
        top, index = torch.topk(scores, keep, dim=1)
        return x.gather(1, index.expand(-1, -1, x.shape[-1])) * top


class HeterogeneousBranch(nn.Module):
    """HS-GAL from the pooled node sets and a learnt master node; a graph pool of each set;
    HS-GAL again, its outputs added to its inputs."""

    def __init__(self, gat_dims: list[int], pool_ratio: float, temperature: float) -> None:
        super().__init__()
        self.master = nn.Parameter(torch.randn(1, 1, gat_dims[0]))
        self.first = HeterogeneousGraphAttention(gat_dims[0], gat_dims[1], temperature)
        self.pool_temporal = GraphPool(pool_ratio, gat_dims[1])
        self.pool_spectral = GraphPool(pool_ratio, gat_dims[1])
        self.second = HeterogeneousGraphAttention(gat_dims[1], gat_dims[1], temperature)

    def forward(
        self, temporal: torch.Tensor, spectral: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        temporal, spectral, master = self.first(temporal, spectral, self.master)
        temporal, spectral = self.pool_temporal(temporal), self.pool_spectral(spectral)
        more_temporal, more_spectral, more_master = self.second(temporal, spectral, master)
        return temporal + more_temporal, spectral + more_spectral, master + more_master


@MODELS.register("aasist")
class AASIST(Backbone):
    """AASIST over one raw-waveform input branch `(B, 1, N, 1)`; the settings are those of the
    official `model_config` (its `nb_samp` is the crop, `train.crop_seconds` here).

    `first_conv`: taps of the sinc filters (an even number is made odd by adding one, as the
    official code does: 128 gives 129). `filts`: `[number of sinc filters, [in, out] channels of
    the first residual block, of the second, of the third, of the last three]`; the first block
    reads one channel. `gat_dims`: `[graph attention dim, HS-GAL dim]`. `pool_ratios`: the
    fractions of nodes kept by the spectral pool, the temporal pool and the pools inside the
    HS-GAL branches; `temperatures`: of the spectral and temporal graph attention and of the
    HS-GAL layers. The official configurations give a fourth value of each, which its code
    does not read; it is accepted and ignored, so that they carry over unchanged.
    """

    def __init__(
        self,
        inputs: Mapping[str, FeatureSpec],
        input: str | None = None,
        first_conv: int = 128,
        filts: tuple[int, list[int], list[int], list[int], list[int]] = AASIST_FILTS,
        gat_dims: tuple[int, int] = (64, 32),
        pool_ratios: tuple[float, float, float, float] = (0.5, 0.7, 0.5, 0.5),
        temperatures: tuple[float, float, float, float] = (2.0, 2.0, 100.0, 100.0),
    ) -> None:
        super().__init__()
        self.input = single_input(inputs, input, "aasist")
        spec = inputs[self.input]
        if (spec.channels, spec.dim, spec.hop_length) != (1, 1, 1):
            raise ValueError(
                f"aasist reads a raw waveform (the `raw` frontend); input {self.input!r} gives "
                f"{spec.channels} x {spec.dim} features every {spec.hop_length} samples"
            )
        num_filters, *channels = filts
        check_filts(num_filters, [list(pair) for pair in channels])
        if not all(0.0 < ratio <= 1.0 for ratio in pool_ratios[:3]):
            raise ValueError(f"pool_ratios must lie in (0, 1], not {list(pool_ratios)}")
        if not all(temperature > 0 for temperature in temperatures[:3]):
            raise ValueError(f"temperatures must be positive, not {list(temperatures)}")
        self.taps = first_conv + 1 if first_conv % 2 == 0 else first_conv
        self.embedding_dim = 5 * gat_dims[1]

        self.front_end = SincFrontEnd(num_filters, self.taps, spec.sample_rate)
        self.encoder = nn.Sequential(
            *(ResidualBlock(*channels[index - 1]) for index in BLOCK_FILTS)
        )
        encoded = channels[-1][1]
        # One position per spectral node: the sinc filters after the 3x3 pool.
        self.spectral_position = nn.Parameter(torch.randn(1, num_filters // POOL, encoded))
        self.gat_spectral = GraphAttention(encoded, gat_dims[0], temperatures[0])
        self.gat_temporal = GraphAttention(encoded, gat_dims[0], temperatures[1])
        self.pool_spectral = GraphPool(pool_ratios[0], gat_dims[0])
        self.pool_temporal = GraphPool(pool_ratios[1], gat_dims[0])
        self.branches = nn.ModuleList(
            HeterogeneousBranch(list(gat_dims), pool_ratios[2], temperatures[2]) for _ in range(2)
        )
        self.branch_dropout = nn.Dropout(0.2)
        self.dropout = nn.Dropout(0.5)

    def min_samples(self) -> int:
        """The shortest waveform that leaves at least one frame after every max-pool."""
        return POOL ** (1 + len(BLOCK_FILTS)) + self.taps - 1

    def forward(self, feats: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """`feats[input]`: `(B, 1, N, 1)` waveforms -> embeddings `(B, 5 * gat_dims[1])`."""
        wav = feats[self.input][:, 0, :, 0]
        if wav.shape[1] < self.min_samples():
            raise ValueError(
                f"aasist needs at least {self.min_samples()} samples, got {wav.shape[1]}"
            )
        encoded = self.encoder(self.front_end(wav)).abs()  # (B, C, spectral, temporal)
        spectral = encoded.amax(dim=3).transpose(1, 2) + self.spectral_position
        temporal = encoded.amax(dim=2).transpose(1, 2)
        spectral = self.pool_spectral(self.gat_spectral(spectral))
        temporal = self.pool_temporal(self.gat_temporal(temporal))

        return self.dropout(graph_readout(self.branches, self.branch_dropout, temporal, spectral))


def graph_readout(
    branches: nn.ModuleList,
    branch_dropout: nn.Module,
    temporal: torch.Tensor,
    spectral: torch.Tensor,
) -> torch.Tensor:
    """AASIST's readout of the pooled temporal and spectral graphs: both heterogeneous branches,
    the elementwise max of their outputs (the max graph operation, each after dropout), then the
    max of absolute values and the mean of each node set and the master node, concatenated."""
    outputs = [branch(temporal, spectral) for branch in branches]
    temporal, spectral, master = (
        torch.maximum(*(branch_dropout(output[part]) for output in outputs)) for part in range(3)
    )
    return torch.cat(
        [
            temporal.abs().amax(dim=1),
            temporal.mean(dim=1),
            spectral.abs().amax(dim=1),
            spectral.mean(dim=1),
            master.squeeze(1),
        ],
        dim=1,
    )


def check_filts(num_filters: int, channels: list[list[int]]) -> None:
    """Refuse `filts` whose residual blocks do not chain from the front end's one channel."""
    if num_filters < POOL:
        raise ValueError(f"filts[0] (the number of sinc filters) must be >= {POOL}")
    if any(len(pair) != 2 or min(pair) < 1 for pair in channels):
        raise ValueError(f"filts[1:] must be [in, out] channel pairs, not {channels}")
    chain = [1] + [pair[1] for pair in channels[:-1]]
    for index, (pair, given) in enumerate(zip(channels, chain, strict=True), start=1):
        if pair[0] != given:
            raise ValueError(
                f"filts[{index}] reads {pair[0]} channels, but the "
                f"{'front end' if index == 1 else f'block before it (filts[{index - 1}])'} "
                f"gives {given}"
            )
    if channels[-1][0] != channels[-1][1]:
        raise ValueError(f"filts[4] is repeated, so it must keep its channels: {channels[-1]}")


# The official class order: its data preparation labels bona fide 1 and spoof 0.
OFFICIAL_CLASS = {BONAFIDE: 1, SPOOF: 0}
# Official parts whose parameters keep their own names below them.
_OFFICIAL_AS_IS = {
    "first_bn": "front_end.bn",
    "pos_S": "spectral_position",
    "master1": "branches.0.master",
    "master2": "branches.1.master",
}
# Official layers whose parameters are renamed by _OFFICIAL_PARAMETERS.
_OFFICIAL_LAYERS = {
    "GAT_layer_S": "gat_spectral",
    "GAT_layer_T": "gat_temporal",
    "pool_S": "pool_spectral",
    "pool_T": "pool_temporal",
    "HtrgGAT_layer_ST11": "branches.0.first",
    "pool_hT1": "branches.0.pool_temporal",
    "pool_hS1": "branches.0.pool_spectral",
    "HtrgGAT_layer_ST12": "branches.0.second",
    "HtrgGAT_layer_ST21": "branches.1.first",
    "pool_hT2": "branches.1.pool_temporal",
    "pool_hS2": "branches.1.pool_spectral",
    "HtrgGAT_layer_ST22": "branches.1.second",
}
_OFFICIAL_PARAMETERS = {
    # graph attention
    "att_proj": "attention_proj",
    "att_weight": "attention_weight",
    "proj_with_att": "aggregate",
    "proj_without_att": "residual",
    "bn": "bn",
    # HS-GAL (type 1: the temporal nodes, type 2: the spectral nodes)
    "proj_type1": "project_temporal",
    "proj_type2": "project_spectral",
    "att_projM": "master_attention_proj",
    "att_weight11": "weight_temporal",
    "att_weight22": "weight_spectral",
    "att_weight12": "weight_cross",
    "att_weightM": "master_weight",
    "proj_with_attM": "master_aggregate",
    "proj_without_attM": "master_residual",
    # graph pool
    "proj": "score",
}
_OFFICIAL_BLOCK_PARTS = {
    "conv1": "conv1",
    "bn2": "bn",
    "conv2": "conv2",
    "conv_downsample": "shortcut",
}


def _detector_key(official: str) -> str | None:
    """The detector key of an official `state_dict` key; None for the residual blocks' unused
    pre-activation BN (`encoder.<i>.0.bn1.*`); a KeyError for a key AASIST does not have."""
    head, *rest = official.split(".")
    if head == "out_layer" and len(rest) == 1:
        return f"loss.output.{rest[0]}"
    if head == "encoder" and len(rest) == 4 and rest[1] == "0":
        block, _, part, name = rest
        return (
            None if part == "bn1" else f"model.encoder.{block}.{_OFFICIAL_BLOCK_PARTS[part]}.{name}"
        )
    if head in _OFFICIAL_AS_IS:
        return ".".join(["model", _OFFICIAL_AS_IS[head], *rest])
    if head in _OFFICIAL_LAYERS and rest:
        return ".".join(["model", _OFFICIAL_LAYERS[head], _OFFICIAL_PARAMETERS[rest[0]], *rest[1:]])
    raise KeyError(official)


def official_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """The official AASIST / AASIST-L weights (`AASIST.pth`, `AASIST-L.pth`) as a `state_dict`
    of a detector with a `raw` input, this `aasist` model (`model_conf_from_official` of the
    weights' configuration) and the `softmax` loss: keys `model.*` and `loss.output.*`.

    The output layer's two rows are swapped: the official class 1 is bona fide, ours is class 0
    (antispoof.labels). The residual blocks' unused pre-activation BNs are left out (see the
    module docstring). Loaded with `weights_only=True`; a key that is not an AASIST parameter is
    an error, so other weights are refused instead of half loaded.
    """
    official = torch.load(Path(path), map_location="cpu", weights_only=True)
    if not isinstance(official, Mapping):
        raise ValueError(f"{path}: not a state_dict (a {type(official).__name__})")
    ours: dict[str, torch.Tensor] = {}
    unknown = []
    for key, value in official.items():
        try:
            name = _detector_key(key)
        except KeyError:
            unknown.append(key)
            continue
        if name is not None:
            ours[name] = value
    if unknown:
        raise ValueError(
            f"{path}: not the official AASIST weights (unknown keys: {', '.join(unknown[:5])}"
            f"{', ...' if len(unknown) > 5 else ''})"
        )
    for suffix in ("weight", "bias"):
        key = f"loss.output.{suffix}"
        if key not in ours:
            raise ValueError(f"{path}: no output layer (out_layer.{suffix})")
        ours[key] = ours[key][[OFFICIAL_CLASS[label] for label in range(NUM_CLASSES)]]
    return ours


def model_conf_from_official(conf: Mapping[str, Any] | str | Path) -> dict[str, Any]:
    """The `model_conf` of this model for an official configuration (the JSON of
    `config/AASIST.conf`, parsed or as a path): its `model_config` without `architecture` (which
    must be AASIST) and `nb_samp` (the crop: 64,600 samples is `train.crop_seconds` 4.0375 at
    16 kHz)."""
    if not isinstance(conf, Mapping):
        conf = json.loads(Path(conf).read_text(encoding="utf-8"))
    model_config = dict(conf.get("model_config", conf))
    architecture = model_config.pop("architecture", "AASIST")
    if architecture != "AASIST":
        raise ValueError(f"not an AASIST configuration (architecture {architecture!r})")
    model_config.pop("nb_samp", None)
    settings = ("first_conv", "filts", "gat_dims", "pool_ratios", "temperatures")
    unknown = sorted(set(model_config) - set(settings))
    if unknown:
        raise ValueError(f"official model_config keys this model does not know: {unknown}")
    return {key: model_config[key] for key in settings if key in model_config}

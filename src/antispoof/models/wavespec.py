"""WaveSpec (Jin, Lang, Leng, "Wave-Spectrogram Cross-Modal Aggregation for Audio Deepfake
Detection", ICASSP 2025): a waveform encoder (wav2vec 2.0 / XLS-R) and a lightweight U-Net over
a 2-channel (log-magnitude + phase) CQT image, their multi-scale features fused by a
Cross-Modal Feature Fusion (CMFF) module, trained with cross-entropy plus the Single Center
Loss (here the `sum` loss of `softmax` and `single_center`, scored by the softmax term).

OUR DESIGN. No official code exists and the paper's body is not public; only a summary of the
design is (docs/research/papers.md §A). Everything below beyond "Wav2Vec2 + lightweight U-Net,
multi-scale CMFF that aligns and fuses, SCL" is our choice; an unofficial re-implementation's
choices served as hints where they looked sound. No published number can check this model.

Inputs (two branches, named by `wave_input` and `spec_input`):
- wave `(B, C, T_w, D_w)`: the `wav2vec2` frontend's hidden states, one channel per chosen layer,
  listed shallow to deep (`layers: [8, 16, 24]` of XLS-R 300M: channel 0 is the shallow scale,
  channel 2 the deep one), D_w = 1024, 20 ms frames;
- spec `(B, C, T_s, F)`: a CQT image, C = 2 (log-power magnitude, phase) or 1 (magnitude only),
  F bins; its hop, hence T_s, generally differs from the wave branch's.

Data flow with `scales: 3` (scale k = 0 shallow, 1 medium, 2 deep), D = `fusion_dim`:
1. wave path: channel k -> LayerNorm (`wave_norm`) -> Linear D_w -> D: `a_k (B, D, T_w)`;
2. spec path: U-Net encoder, stage k = (3x3 conv + BN + ReLU) x 2 at `unet_channels[k]`
   channels, a 2x2 max-pool (time and frequency) before stages 1 and 2; stage k's map is pooled
   over frequency (`frequency_pooling`) and projected by a 1x1 conv to D: `s_k (B, D, T_s / 2^k)`;
3. CMFF at scale k: `a_k` and `s_k` resampled in time to the scale's frame count (`align_to`);
   the previous scale's fused output, through a 1x1 conv and resampled likewise, is added to the
   spec input (`carry_into: spec`) or to the fused output (`carry_into: fused`); then
   `fusion: cmff` gates the two, `u_k = g * a_k + (1 - g) * s_k`, with
   `g = sigmoid(global(a_k + s_k) + local(a_k + s_k))` (AFF/MS-CAM: `global` = mean over time
   -> 1x1 conv D -> D/r -> ReLU -> 1x1 conv -> D; `local` = conv(k) -> BN -> ReLU -> conv(k) ->
   BN per frame), or `fusion: concat` projects `[a_k; s_k]` by a 1x1 conv 2D -> D;
4. head on the deepest fused sequence `u_2`: 1-D residual blocks (`head_channels`, kernel 3),
   attentive mean + std pooling (antispoof.models.pooling), Linear -> `embedding_dim`.

Decoder skips: NOT used. A U-Net's decoder and skips exist to upsample back to the input
resolution for a dense (per-pixel) output; a classifier reads pooled features, and the multi-scale
features CMFF fuses are exactly the encoder's stages. A decoder would roughly double the path's
parameters and compute, and its outputs at the shallow resolutions would mix in the deep stage's
context, which the CMFF hierarchy (shallow -> deep) and the head already give the fused sequence.
The unofficial re-implementation keeps the encoder only, too.

Our choices, each a constructor key (default: reason):
- `fusion_dim` 256: the width the two paths meet at. XLS-R back ends reduce the 1024-d hidden
  states early (XLSR-AASIST to 128), and at 256 the whole model stays ~2.6 M parameters besides
  XLS-R; 1024 (the unofficial choice, everything at XLS-R's width) gives 14.1 M with this head,
  most of it in the CMFF attention (6.3 M) and the wave projections (3.2 M).
- `unet_channels` [32, 64, 128]: "lightweight": half the widths of the original U-Net's first
  three stages (64/128/256, which the unofficial code uses); ~0.29 M parameters, independent of
  the number of CQT bins since every stage is convolutional.
- `frequency_pooling` mean_max: each stage's frequency axis is reduced to mean and max
  concatenated. The 3x3 convs see ~18 bins at the deep stage; a mean alone over 84-432 bins
  dilutes a narrow-band artefact by the bin count, a max keeps it. `mean` is the hint's choice.
- `spec_norm` true: a BatchNorm over the CQT's input channels; log-power (tens of dB of offset)
  and phase (in [-pi, pi]) sit on very different scales.
- `wave_norm` true: a LayerNorm per scale before its projection. Only XLS-R's last hidden state
  is layer-normalised (stable-layer-norm encoder); the middle layers' residual streams differ in
  scale from layer to layer and carry a few very large dimensions.
- `align_to` wave: every scale is resampled to the wave branch's frame count. The 20 ms XLS-R
  frames are the finer sequence at the medium and deep scales (the U-Net halves the CQT frames
  per stage: 40 and 80 ms at hop 320), upsampling the coarse spectrogram features is smooth,
  while shrinking the wave features would average away pretrained frames; the gate then weighs
  the modalities per 20 ms frame. `spec`: each scale at the spectrogram's frame count (T_s,
  T_s / 2, T_s / 4): a time pyramid, cheaper for long inputs. Resampling is linear
  interpolation when stretching and adaptive average pooling when shrinking (anti-aliased), any
  pair of frame counts, 1 included. It assumes both sequences span the same crop; the framings
  differ by under one frame at the ends (wav2vec2 `valid` frames vs. a centred CQT).
- `carry_into` spec: the previous fused scale enters the next CMFF on its spectrogram side (the
  hint's choice): the gate then chooses between the wave features and spectrogram features that
  already carry the shallower fused context. `fused`: added to the fused output (a residual).
- `attention_reduction` 4: the channel reduction r of both attention branches, the AFF paper's
  default (the hint uses 16). `local_kernel` 3: the local branch's temporal kernel (the hint's
  choice; 1 = the original pointwise MS-CAM). The global branch has no BatchNorm: over one
  value per utterance its statistics would come from the batch alone, and a batch of one would
  fail in training.
- `head_channels` [256, 256]: two residual 1-D conv blocks (kernel 3, stride 1: the fused
  sequence is short, ~200 frames for 4 s) before attentive statistics pooling, a light stand-in
  for the hint's 1-D ResNet18 (3.7 M parameters at 512 channels); [] pools the fused sequence
  directly.
- `embedding_dim` 256: as resnet18 and late_fusion; the SCL margin grows with sqrt(D).

Ablations, one key each: `branches: both | wave | spec` (a single-path model reads only its own
branch; the other key may then name anything), `fusion: cmff | concat`, `scales: 3 | 1` (one
scale: the deepest wave channel and the deepest U-Net stage; a wave branch of one channel needs
`scales: 1`). Single-path models keep the hierarchy (each scale plus the previous one's carry).

Parameters besides XLS-R, measured with 1024-d wave input (layers 8/16/24) and a 2 x 432 CQT,
`embedding_dim` 256 (the `sum` loss adds its 2-logit output layer and the 256-d centre):
2,643,716 with the defaults (wave projections 793,344; U-Net encoder 287,172; spectrogram
projections 115,456; CMFF 396,096; carries 131,584; head 788,480; pooling and embedding
131,584), 2,641,604 with `fusion: concat`, 1,669,508 with `scales: 1`, 1,844,992 wave-only and
1,454,276 spec-only. The counts do not depend on the CQT bins or the frame counts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from antispoof.frontends.base import FeatureSpec
from antispoof.models.base import MODELS, Backbone
from antispoof.models.pooling import AttentiveMeanStdPooling

BRANCHES = ("both", "wave", "spec")
FUSIONS = ("cmff", "concat")
SCALES = (1, 3)
ALIGNMENTS = ("wave", "spec")
CARRIES = ("spec", "fused")
FREQUENCY_POOLINGS = ("mean", "max", "mean_max")


def align(x: torch.Tensor, frames: int) -> torch.Tensor:
    """`x (B, D, T)` resampled in time to `frames` frames: linear interpolation to stretch,
    adaptive average pooling to shrink (each output frame averages the frames it covers)."""
    length = x.shape[-1]
    if length == frames:
        return x
    if length > frames:
        return F.adaptive_avg_pool1d(x, frames)
    return F.interpolate(x, size=frames, mode="linear", align_corners=False)


def _choice(value: object, choices: tuple, key: str) -> None:
    if value not in choices or isinstance(value, bool):
        raise ValueError(f"{key} must be one of {', '.join(map(str, choices))}, not {value!r}")


def _positive(value: int, key: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{key} must be a positive int, not {value!r}")


def _branch(inputs: Mapping[str, FeatureSpec], name: str, key: str) -> FeatureSpec:
    if name not in inputs:
        raise ValueError(
            f"{key} {name!r} is not an input branch; the branches are {sorted(inputs)}"
        )
    return inputs[name]


class DoubleConv(nn.Sequential):
    """(3x3 conv + BN + ReLU) twice: one U-Net encoder stage."""

    def __init__(self, in_channels: int, channels: int) -> None:
        layers: list[nn.Module] = []
        for width_in in (in_channels, channels):
            layers += [
                nn.Conv2d(width_in, channels, 3, padding=1, bias=False),
                nn.BatchNorm2d(channels),
                nn.ReLU(inplace=True),
            ]
        super().__init__(*layers)


class SpecEncoder(nn.Module):
    """The U-Net encoder over a `(B, C, T, F)` image: one `(B, c_k, T_k, F_k)` map per stage,
    a 2x2 max-pool (ceil mode, so a size of 1 stays 1) between stages."""

    def __init__(self, in_channels: int, channels: Sequence[int], input_norm: bool) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(in_channels) if input_norm else nn.Identity()
        widths = [in_channels, *channels]
        self.stages = nn.ModuleList(
            DoubleConv(widths[i], widths[i + 1]) for i in range(len(channels))
        )

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        maps = []
        x = self.norm(x)
        for index, stage in enumerate(self.stages):
            if index:
                x = F.max_pool2d(x, 2, ceil_mode=True)
            x = stage(x)
            maps.append(x)
        return maps


class CMFFGate(nn.Module):
    """AFF/MS-CAM attention fusion of two `(B, D, T)` sequences: `g * a + (1 - g) * b` with
    `g = sigmoid(global(a + b) + local(a + b))`, a channel gate per frame."""

    def __init__(self, dim: int, reduction: int, kernel: int) -> None:
        super().__init__()
        hidden = max(1, dim // reduction)
        padding = kernel // 2
        self.global_context = nn.Sequential(
            nn.Conv1d(dim, hidden, 1), nn.ReLU(inplace=True), nn.Conv1d(hidden, dim, 1)
        )
        self.local_context = nn.Sequential(
            nn.Conv1d(dim, hidden, kernel, padding=padding, bias=False),
            nn.BatchNorm1d(hidden),
            nn.ReLU(inplace=True),
            nn.Conv1d(hidden, dim, kernel, padding=padding, bias=False),
            nn.BatchNorm1d(dim),
        )

    def gate(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """`(B, D, T)` weights of `a` in the fusion."""
        z = a + b
        return torch.sigmoid(
            self.global_context(z.mean(dim=-1, keepdim=True)) + self.local_context(z)
        )

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        g = self.gate(a, b)
        return g * a + (1.0 - g) * b


class ConcatFusion(nn.Module):
    """The `concat` ablation: `[a; b]` through a 1x1 conv 2D -> D."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.projection = nn.Conv1d(2 * dim, dim, 1)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return self.projection(torch.cat([a, b], dim=1))


class ResidualBlock1d(nn.Module):
    """conv3-BN-ReLU-conv3-BN plus the input (a 1x1 conv + BN where the width changes), ReLU."""

    def __init__(self, in_channels: int, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv1d(in_channels, channels, 3, padding=1, bias=False),
            nn.BatchNorm1d(channels),
            nn.ReLU(inplace=True),
            nn.Conv1d(channels, channels, 3, padding=1, bias=False),
            nn.BatchNorm1d(channels),
        )
        self.shortcut: nn.Module = nn.Identity()
        if in_channels != channels:
            self.shortcut = nn.Sequential(
                nn.Conv1d(in_channels, channels, 1, bias=False), nn.BatchNorm1d(channels)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.body(x) + self.shortcut(x))


@MODELS.register("wavespec")
class WaveSpec(Backbone):
    """Wav2vec2 hidden states and a CQT image, fused scale by scale (CMFF), to an embedding.
    The module docstring gives every setting's default and reason."""

    def __init__(
        self,
        inputs: Mapping[str, FeatureSpec],
        wave_input: str = "ssl",
        spec_input: str = "cqt",
        branches: Literal["both", "wave", "spec"] = "both",
        fusion: Literal["cmff", "concat"] = "cmff",
        scales: Literal[1, 3] = 3,
        fusion_dim: int = 256,
        unet_channels: Sequence[int] = (32, 64, 128),
        frequency_pooling: Literal["mean", "max", "mean_max"] = "mean_max",
        spec_norm: bool = True,
        wave_norm: bool = True,
        align_to: Literal["wave", "spec"] = "wave",
        carry_into: Literal["spec", "fused"] = "spec",
        attention_reduction: int = 4,
        local_kernel: int = 3,
        head_channels: Sequence[int] = (256, 256),
        embedding_dim: int = 256,
    ) -> None:
        super().__init__()
        _choice(branches, BRANCHES, "branches")
        _choice(fusion, FUSIONS, "fusion")
        _choice(scales, SCALES, "scales")
        _choice(frequency_pooling, FREQUENCY_POOLINGS, "frequency_pooling")
        _choice(align_to, ALIGNMENTS, "align_to")
        _choice(carry_into, CARRIES, "carry_into")
        for key, value in (
            ("fusion_dim", fusion_dim),
            ("attention_reduction", attention_reduction),
            ("local_kernel", local_kernel),
            ("embedding_dim", embedding_dim),
        ):
            _positive(value, key)
        if local_kernel % 2 == 0:
            raise ValueError(f"local_kernel must be odd (same-length output), not {local_kernel}")
        for index, width in enumerate(unet_channels):
            _positive(width, f"unet_channels[{index}]")
        for index, width in enumerate(head_channels):
            _positive(width, f"head_channels[{index}]")

        self.branches = branches
        self.fusion = fusion
        self.num_scales = scales
        self.align_to = align_to
        self.carry_into = carry_into
        self.frequency_pooling = frequency_pooling
        self.embedding_dim = embedding_dim
        self.wave_input = wave_input if branches != "spec" else None
        self.spec_input = spec_input if branches != "wave" else None
        dim = fusion_dim

        self.wave_projections: nn.ModuleList | None = None
        if self.wave_input is not None:
            wave = _branch(inputs, self.wave_input, "wave_input")
            if scales > 1 and wave.channels != scales:
                raise ValueError(
                    f"scales: {scales} reads one wave channel per scale (hidden layers listed "
                    f"shallow to deep, e.g. wav2vec2 layers [8, 16, 24]), but the wave branch "
                    f"{self.wave_input!r} has {wave.channels}; choose {scales} layers or use "
                    "scales: 1"
                )
            # scales: 1 reads the deepest (last) channel only.
            self.wave_channels = list(range(wave.channels))[-scales:]
            self.wave_projections = nn.ModuleList(
                nn.Sequential(
                    nn.LayerNorm(wave.dim) if wave_norm else nn.Identity(),
                    nn.Linear(wave.dim, dim),
                )
                for _ in range(scales)
            )

        self.spec_encoder: SpecEncoder | None = None
        self.spec_projections: nn.ModuleList | None = None
        if self.spec_input is not None:
            spec = _branch(inputs, self.spec_input, "spec_input")
            if not unet_channels:
                raise ValueError("unet_channels must name at least one stage")
            if scales > 1 and len(unet_channels) != scales:
                raise ValueError(
                    f"scales: {scales} takes one U-Net stage per scale, but unet_channels "
                    f"{list(unet_channels)} has {len(unet_channels)} stages"
                )
            self.spec_encoder = SpecEncoder(spec.channels, unet_channels, spec_norm)
            pooled = 2 if frequency_pooling == "mean_max" else 1
            # scales: 1 reads the deepest stage only.
            self.spec_stages = list(range(len(unet_channels)))[-scales:]
            self.spec_projections = nn.ModuleList(
                nn.Conv1d(pooled * unet_channels[stage], dim, 1) for stage in self.spec_stages
            )

        self.fusions: nn.ModuleList | None = None
        if branches == "both":
            self.fusions = nn.ModuleList(
                CMFFGate(dim, attention_reduction, local_kernel)
                if fusion == "cmff"
                else ConcatFusion(dim)
                for _ in range(scales)
            )
        # The previous scale's fused output, into the next scale.
        self.carries = nn.ModuleList(nn.Conv1d(dim, dim, 1) for _ in range(scales - 1))

        blocks = []
        width = dim
        for channels in head_channels:
            blocks.append(ResidualBlock1d(width, channels))
            width = channels
        self.head = nn.Sequential(*blocks)
        self.pooling = AttentiveMeanStdPooling(width)
        self.embedding = nn.Linear(2 * width, embedding_dim)

    def _wave_scales(self, feats: Mapping[str, torch.Tensor]) -> list[torch.Tensor]:
        """`(B, D, T_w)` per scale, shallow to deep."""
        assert self.wave_projections is not None and self.wave_input is not None
        x = feats[self.wave_input]
        return [
            projection(x[:, channel]).transpose(1, 2)
            for channel, projection in zip(self.wave_channels, self.wave_projections, strict=True)
        ]

    def _spec_scales(self, feats: Mapping[str, torch.Tensor]) -> list[torch.Tensor]:
        """`(B, D, T_s / 2^k)` per scale, shallow to deep."""
        assert self.spec_encoder is not None and self.spec_projections is not None
        assert self.spec_input is not None
        maps = self.spec_encoder(feats[self.spec_input])
        outputs = []
        for stage, projection in zip(self.spec_stages, self.spec_projections, strict=True):
            x = maps[stage]  # (B, c, T, F)
            if self.frequency_pooling == "mean":
                pooled = x.mean(dim=3)
            elif self.frequency_pooling == "max":
                pooled = x.amax(dim=3)
            else:
                pooled = torch.cat([x.mean(dim=3), x.amax(dim=3)], dim=1)
            outputs.append(projection(pooled))
        return outputs

    def scale_outputs(self, feats: Mapping[str, torch.Tensor]) -> list[torch.Tensor]:
        """The fused sequence of every scale, shallow to deep, each `(B, fusion_dim, T_k)`:
        T_k the wave frame count (`align_to: wave`, or a wave-only model), else the
        spectrogram's frames at stage k of the U-Net."""
        wave = self._wave_scales(feats) if self.wave_projections is not None else None
        spec = self._spec_scales(feats) if self.spec_projections is not None else None
        fused: list[torch.Tensor] = []
        for k in range(self.num_scales):
            a = wave[k] if wave is not None else None
            b = spec[k] if spec is not None else None
            if a is not None and (b is None or self.align_to == "wave"):
                frames = a.shape[-1]
            else:
                assert b is not None
                frames = b.shape[-1]
            a = align(a, frames) if a is not None else None
            b = align(b, frames) if b is not None else None
            carry = align(self.carries[k - 1](fused[-1]), frames) if k else None
            if a is not None and b is not None:
                assert self.fusions is not None
                if carry is not None and self.carry_into == "spec":
                    b, carry = b + carry, None
                out = self.fusions[k](a, b)
            else:
                out = a if a is not None else b
                assert out is not None
            fused.append(out + carry if carry is not None else out)
        return fused

    def forward(self, feats: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """`feats[wave_input] (B, C_w, T_w, D_w)` and/or `feats[spec_input] (B, C_s, T_s, F)`
        -> embedding `(B, embedding_dim)`."""
        x = self.head(self.scale_outputs(feats)[-1])
        return self.embedding(self.pooling(x.transpose(1, 2)))

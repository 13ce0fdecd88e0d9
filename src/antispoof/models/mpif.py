"""Multi-perspective information fusion (MPIF) attention, for the Res2Net block of MPIF-Res2Net
(Dong, Xue, Fan, Zhu, Chen, Lv, "Multi-perspective information fusion Res2Net with random
Specmix for fake speech detection", IJCAI 2023 DADA workshop, arXiv 2306.15389).

THE DESIGN IS OURS. The paper's body could not be read and no code was released; all that is
known is the abstract: single-perspective spoofing clues are similar, hence redundant, and
MPIF-Res2Net "fuses information from different perspectives" inside each Res2Net block to reduce
that redundancy. From this we infer a gate of the block's output from each of three perspectives:

- `channel`: one weight per channel, from the channel descriptor (pooled over frequency and time),
  by ECA (a 1-D conv across channels, as in the "LocalAttention" of SRLA, the same group's
  public Res2Net code) or SE (a bottleneck MLP, as in SE-Res2Net).
- `frequency`: one weight per frequency bin, from the bin's statistics pooled over channels and
  time, by a 1-D conv along frequency (neighbouring bins share artefacts).
- `time`: one weight per frame, likewise pooled over channels and frequency, by a 1-D conv along
  time.

Each gate is a sigmoid and is constant along the axes it does not own; the gates are fused into
one gate that multiplies the map. The module maps `(B, C, H, W)` to the same shape. Convention:
H (dim 2) is frequency and W (dim 3) is time, the usual spectrogram image; a backbone that keeps
the repository's `(B, C, T, F)` layout sets `frequency_axis: 3`.

Every choice the abstract leaves open is a setting (default, and why):
- `perspectives` (all three): the abstract's "different perspectives"; any subset, for ablation.
- `channel_attention` (`eca`): SRLA, the group's own code, uses ECA; it costs `k` weights where
  SE costs about 2C^2/r, and the whole SE-Res2Net50 is only ~0.92 M parameters.
- `reduction` (16, SE only): SE-Res2Net's value (Li et al. 2021). Hidden width C // r; a
  reduction that leaves no hidden unit is an error, as in this repository's SE-Res2Net.
- `eca_kernel` (3): SRLA's LocalAttention kernel.
- `channel_pooling` (`mean`): SE, ECA and SRLA all squeeze by global average pooling.
- `axis_pooling` (`mean_max`): mean and max over the other two axes, stacked as two conv inputs
  (as CBAM's spatial gate); the max keeps narrow-band or short-lived artefacts that a mean over
  hundreds of frames (or all channels) dilutes.
- `frequency_kernel`, `time_kernel` (7): CBAM's spatial kernel and SRLA's 7x7
  SpatialReconstruction kernel; odd, so the gate keeps the axis length.
- `fusion` (`learned`): `product` multiplies the gates (a separable 3-D attention map: any
  perspective can veto a cell); `mean` averages them; `learned` averages them with softmax
  weights over the perspectives, one logit each, initialised equal (so it starts as `mean`).
  `learned` is the default: it is the most literal "fusion" (each block learns how much each
  perspective counts) for P extra parameters, and like `mean` it keeps the gate in (0, 1) as
  SE's is, so the module is a drop-in where SE was; `product` shrinks the residual branch by
  about 0.5^P at initialisation and scales each gate's gradient by the others.
- `residual` (False): True gives `x * (1 + gate)`, keeping an identity path through the
  attention. Off because the Bottle2neck's own skip connection already carries the identity
  and SE-Res2Net applies its gate without one.
- `frequency_axis` (2): which dim of the map is frequency (see above); the other is time.

Fixed, not settings: sigmoid gates; ECA's conv has no bias (as ECA's), the frequency and time
convs have one (so a gate can learn an offset); SE is Linear-ReLU-Linear with biases, shared over
the pooled statistics and summed before the sigmoid (as CBAM's channel gate); no dropout.

Parameters, with C channels, Pc / Pa statistics in `channel_pooling` / `axis_pooling` (1 for
`mean` or `max`, 2 for `mean_max`) and P perspectives:
    channel   eca: Pc * eca_kernel;  se: 2 * C * h + h + C, h = C // reduction
    frequency Pa * frequency_kernel + 1
    time      Pa * time_kernel + 1
    fusion    P if `learned` and P > 1, else 0 (one perspective needs no weighting)
The defaults give 3 + 15 + 15 + 3 = 36 for any C; SE at r = 16 adds 8,464 for C = 256.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
from torch import nn

from antispoof.registry import ConfigError

Perspective = Literal["channel", "frequency", "time"]
Pooling = Literal["mean", "max", "mean_max"]
PERSPECTIVES: tuple[Perspective, ...] = ("channel", "frequency", "time")
CHANNEL_ATTENTIONS = ("eca", "se")
POOLINGS = ("mean", "max", "mean_max")
FUSIONS = ("product", "mean", "learned")


def pooled(x: torch.Tensor, dims: tuple[int, ...], pooling: str) -> torch.Tensor:
    """`x` reduced over `dims` by the statistics of `pooling`, stacked on a new dim 1:
    `(B, 1 or 2, L)` for the one remaining non-batch axis of length L."""
    stats = []
    if pooling in ("mean", "mean_max"):
        stats.append(x.mean(dim=dims))
    if pooling in ("max", "mean_max"):
        stats.append(x.amax(dim=dims))
    return torch.stack(stats, dim=1)


def n_stats(pooling: str) -> int:
    return 2 if pooling == "mean_max" else 1


class ChannelGate(nn.Module):
    """A sigmoid weight per channel, `(B, C, 1, 1)`, from the channel descriptor."""

    def __init__(
        self, channels: int, kind: str, reduction: int, eca_kernel: int, pooling: str
    ) -> None:
        super().__init__()
        self.kind = kind
        self.pooling = pooling
        if kind == "eca":
            self.conv = nn.Conv1d(
                n_stats(pooling), 1, eca_kernel, padding=eca_kernel // 2, bias=False
            )
        else:
            hidden = channels // reduction
            self.mlp = nn.Sequential(
                nn.Linear(channels, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, channels)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        stats = pooled(x, (2, 3), self.pooling)  # (B, Pc, C)
        # SE's MLP is shared over the statistics and summed, as in CBAM's channel gate.
        logits = self.conv(stats).squeeze(1) if self.kind == "eca" else self.mlp(stats).sum(1)
        return torch.sigmoid(logits)[:, :, None, None]


class AxisGate(nn.Module):
    """A sigmoid weight per position along one axis (dim 2 or 3) of the map, broadcastable to
    it: a 1-D conv over that axis's statistics pooled over the other two non-batch dims."""

    def __init__(self, axis: int, kernel: int, pooling: str) -> None:
        super().__init__()
        self.axis = axis
        self.reduced = (1, 5 - axis)  # channels and the other spatial dim
        self.pooling = pooling
        self.conv = nn.Conv1d(n_stats(pooling), 1, kernel, padding=kernel // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate = torch.sigmoid(self.conv(pooled(x, self.reduced, self.pooling)))  # (B, 1, L)
        return gate.unsqueeze(5 - self.axis)


def _odd_kernel(value: int, key: str) -> int:
    # An even kernel with `k // 2` padding would change the axis length.
    if isinstance(value, bool) or not isinstance(value, int) or value < 1 or value % 2 == 0:
        raise ConfigError(f"{key} must be an odd positive integer, not {value!r}")
    return value


def _choice(value: str, choices: Sequence[str], key: str) -> str:
    if value not in choices:
        raise ConfigError(f"{key} must be one of {', '.join(choices)}; got {value!r}")
    return value


class MPIFAttention(nn.Module):
    """Gates a `(B, C, H, W)` map (H frequency, W time by default) from the channel, frequency
    and time perspectives and fuses the gates; same shape out. See the module docstring: the
    design is ours, inferred from the paper's abstract, and every open choice is a setting."""

    def __init__(
        self,
        channels: int,
        *,
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
        frequency_axis: Literal[2, 3] = 2,
    ) -> None:
        super().__init__()
        if isinstance(channels, bool) or not isinstance(channels, int) or channels < 1:
            raise ConfigError(f"channels must be a positive integer, not {channels!r}")
        if isinstance(perspectives, str):
            raise ConfigError(
                f"perspectives must be a list of names, not the string {perspectives!r}"
            )
        perspectives = list(perspectives)
        if not perspectives:
            raise ConfigError(
                f"perspectives must name at least one of {', '.join(PERSPECTIVES)}; got none"
            )
        for name in perspectives:
            _choice(name, PERSPECTIVES, "perspectives")
        if len(set(perspectives)) != len(perspectives):
            raise ConfigError(f"perspectives lists a perspective twice: {perspectives}")
        _choice(channel_attention, CHANNEL_ATTENTIONS, "channel_attention")
        if isinstance(reduction, bool) or not isinstance(reduction, int) or reduction < 1:
            raise ConfigError(f"reduction must be a positive integer, not {reduction!r}")
        if channel_attention == "se" and "channel" in perspectives and channels < reduction:
            raise ConfigError(
                f"reduction {reduction} leaves no SE hidden unit for {channels} channels"
            )
        _odd_kernel(eca_kernel, "eca_kernel")
        _choice(channel_pooling, POOLINGS, "channel_pooling")
        _choice(axis_pooling, POOLINGS, "axis_pooling")
        _odd_kernel(frequency_kernel, "frequency_kernel")
        _odd_kernel(time_kernel, "time_kernel")
        _choice(fusion, FUSIONS, "fusion")
        if not isinstance(residual, bool):
            raise ConfigError(f"residual must be true or false, not {residual!r}")
        if frequency_axis not in (2, 3) or isinstance(frequency_axis, bool):
            raise ConfigError(f"frequency_axis must be 2 (H) or 3 (W), not {frequency_axis!r}")

        self.channels = channels
        self.fusion = fusion
        self.residual = residual
        # Kept in the canonical order whatever the order given, so that a subset's parameter
        # names (and hence state_dict keys) are those of the full module.
        self.perspectives = [p for p in PERSPECTIVES if p in perspectives]
        time_axis = 5 - frequency_axis
        gates: dict[str, nn.Module] = {}
        for name in self.perspectives:
            if name == "channel":
                gates[name] = ChannelGate(
                    channels, channel_attention, reduction, eca_kernel, channel_pooling
                )
            elif name == "frequency":
                gates[name] = AxisGate(frequency_axis, frequency_kernel, axis_pooling)
            else:
                gates[name] = AxisGate(time_axis, time_kernel, axis_pooling)
        self.gates = nn.ModuleDict(gates)
        # With one perspective the softmax weight is constantly 1: a logit would get no gradient.
        self.fusion_logits = (
            nn.Parameter(torch.zeros(len(self.perspectives)))
            if fusion == "learned" and len(self.perspectives) > 1
            else None
        )

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        """The fused gate, in (0, 1), broadcastable to `x`'s shape."""
        if x.dim() != 4 or x.shape[1] != self.channels:
            raise ValueError(
                f"MPIFAttention({self.channels}) expects a (B, {self.channels}, H, W) map, "
                f"got shape {tuple(x.shape)}"
            )
        gates = [module(x) for module in self.gates.values()]
        fused = gates[0]
        if self.fusion == "product":
            for g in gates[1:]:
                fused = fused * g
        elif self.fusion == "mean" or self.fusion_logits is None:
            for g in gates[1:]:
                fused = fused + g
            fused = fused / len(gates)
        else:
            weights = torch.softmax(self.fusion_logits, dim=0)
            fused = weights[0] * gates[0]
            for w, g in zip(weights[1:], gates[1:], strict=True):
                fused = fused + w * g
        return fused

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        g = self.gate(x)
        return x * (1 + g) if self.residual else x * g

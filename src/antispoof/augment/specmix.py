"""Random SpecMix on the frequency axis (`random_specmix`), SpecMix as MPIF-Res2Net uses it.

SpecMix (Kim, Han, Ko, Interspeech 2021, arXiv 2108.03020) pastes bands of one example's
time-frequency features into another's and mixes their labels by the pasted area. The authors'
code (github.com/GT-KIM/specmix: `masking` and `SpecmixGenerator` in
acoustic_scene_classification/utils.py and sound_event_classification/utils.py) draws, per
example, 0-2 time bands and 0-2 frequency bands, each a fixed fraction of its axis wide (0.7 and
0.1 in those two scripts) at a uniform start that keeps the band inside the axis; one binary mask
`m` holds them all (overlaps count once), and the pair mixes as `m * x1 + (1 - m) * x2` over every
channel with `lam * y1 + (1 - lam) * y2`, `lam` the kept fraction of the area. Its partner is
another drawn example, not a batch permutation. Later implementations use a permuted batch, a
probability, 1..max bands and random band sizes (anas-rz/specmix-tensorflow) or gamma = 0.3 and
0..3 bands per batch (danelee2601/SpecMix_torch).

MPIF-Res2Net (Dong et al., IJCAI 2023 DADA workshop, arXiv 2306.15389) keeps only the frequency
bands, takes partners from the same batch and changes only randomly chosen examples; its text
gives no probability, band count or width (only its abstract could be read), so the defaults here
are p = 0.5 and the SpecMix values of the later implementations (up to 3 bands, gamma = 0.3).
"""

from __future__ import annotations

import math

import torch

from antispoof.augment.base import AUGMENTATIONS, BatchAugmentation
from antispoof.registry import ConfigError

__all__ = ["RandomSpecMix"]


@AUGMENTATIONS.register("random_specmix")
class RandomSpecMix(BatchAugmentation):
    """Each example, with probability `p`, takes 1..`max_bands` frequency bands (count uniform),
    each 1..floor(`gamma` * F) bins wide (uniform, at least 1) at a uniform start inside the axis,
    from a partner in the same batch: those bins of every channel and frame are the partner's,
    and its target becomes `(1 - lam) * own + lam * partner's`, `lam` the fraction of the F bins
    pasted (overlapping bands counted once). Other examples, and other input branches, pass
    through unchanged.

    `input` names the branch it mixes; None means the detector's only one. Branches have their
    own frequency axes, so a target mixed by the area of one branch describes only that branch.
    Randomness comes from torch's global generator of the features' device, which the trainer
    seeds.
    """

    def __init__(
        self, p: float = 0.5, max_bands: int = 3, gamma: float = 0.3, input: str | None = None
    ) -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p must be in [0, 1], not {p!r}")
        if max_bands < 1:
            raise ValueError(f"max_bands must be at least 1, not {max_bands!r}")
        if not 0.0 < gamma <= 1.0:
            raise ValueError(f"gamma must be in (0, 1], not {gamma!r}")
        self.p = p
        self.max_bands = max_bands
        self.gamma = gamma
        self.input = input

    def extra_repr(self) -> str:
        return f"p={self.p}, max_bands={self.max_bands}, gamma={self.gamma}, input={self.input!r}"

    def _branch(self, feats: dict[str, torch.Tensor]) -> str:
        if self.input is None:
            if len(feats) != 1:
                raise ConfigError(
                    "augmentation 'random_specmix' needs `input` naming the branch to mix when "
                    f"the detector has several inputs; its inputs are: {', '.join(feats)}"
                )
            return next(iter(feats))
        if self.input not in feats:
            raise ConfigError(
                f"augmentation 'random_specmix': input {self.input!r} is not an input of the "
                f"detector; its inputs are: {', '.join(feats)}"
            )
        return self.input

    def forward(
        self, feats: dict[str, torch.Tensor], target: torch.Tensor
    ) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        name = self._branch(feats)
        x = feats[name]
        if x.dim() != 4:
            raise ValueError(
                f"random_specmix mixes (B, C, T, F) features; input {name!r} has shape "
                f"{tuple(x.shape)}"
            )
        batch, num_bins = x.shape[0], x.shape[-1]
        if target.shape[0] != batch:
            raise ValueError(f"target has {target.shape[0]} rows for a batch of {batch}")
        if batch < 2:  # no other example to take bands from
            return feats, target
        device = x.device

        # A random single-cycle permutation: every example gives and takes bands exactly once,
        # as with SpecMix's permuted batch, and none is its own partner (a no-op mix).
        order = torch.randperm(batch, device=device)
        partner = torch.empty_like(order)
        partner[order] = order.roll(-1)

        # The epsilon keeps floor exact where gamma * F lands just below an integer in binary
        # floating point (0.29 * 100 = 28.999...).
        max_width = max(1, math.floor(self.gamma * num_bins + 1e-9))
        chosen = torch.rand(batch, device=device) < self.p
        num_bands = torch.randint(1, self.max_bands + 1, (batch,), device=device)
        bins = torch.arange(num_bins, device=device)
        pasted = torch.zeros(batch, num_bins, dtype=torch.bool, device=device)
        for band in range(self.max_bands):
            width = torch.randint(1, max_width + 1, (batch,), device=device)
            # Uniform over the F - width + 1 starts that keep the band inside the axis.
            start = (torch.rand(batch, device=device) * (num_bins - width + 1)).long()
            start = torch.minimum(start, num_bins - width)
            inside = (bins >= start[:, None]) & (bins < (start + width)[:, None])
            pasted |= inside & (band < num_bands)[:, None]
        pasted &= chosen[:, None]

        mixed = torch.where(pasted[:, None, None, :], x[partner], x)
        lam = pasted.sum(dim=1).to(target.dtype) / num_bins
        # lerp returns its start exactly at weight 0, so unchosen targets stay bit-identical.
        mixed_target = torch.lerp(target, target[partner], lam[:, None])
        return {**feats, name: mixed}, mixed_target

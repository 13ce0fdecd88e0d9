"""Several input branches as the channels of one feature map (e.g. MFCC and a Whisper encoder).

Each branch's `(B, C_i, T_i, F_i)` is resized by bilinear interpolation (`F.interpolate(...,
mode="bilinear", align_corners=False)` of each utterance's own valid frames, so padding never
leaks) to the reference branch's frames and feature dim, then the branches are concatenated on
the channel axis: `(B, sum C_i, T_ref, F_ref)`, with the reference's frame lengths.

`resize: none` stacks the frames as they are: every branch has the reference's hop and dim and at
least its frames, and gives its first ones (KAWA's Whisper + MFCC: the 3000 frames of the tiled
Whisper encoder beside the first 3000 of MFCC's 3001).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from antispoof.frontends.base import FRONTENDS, FeatureSpec, Frontend
from antispoof.frontends.common import WHOLE_INPUT, resolve_settings

BRANCH_KEYS = ("frontend", "frontend_conf")
RESIZES = ("bilinear", "none")


def _branch_entries(
    branches: dict[str, dict[str, Any]], reference: str | None
) -> tuple[list[tuple[str, str, dict[str, Any] | None]], str]:
    """`(name, frontend, frontend_conf)` of each branch, and the reference's name, checked."""
    if not branches:
        raise ValueError("branches must name at least one input branch")
    entries = []
    for name, branch in branches.items():
        if not isinstance(branch, dict) or not isinstance(branch.get("frontend"), str):
            raise ValueError(f"branches.{name} must be a mapping with a frontend name")
        unknown = sorted(set(branch) - set(BRANCH_KEYS))
        if unknown:
            raise ValueError(f"branches.{name} has keys {unknown}; allowed: {list(BRANCH_KEYS)}")
        entries.append((name, branch["frontend"], branch.get("frontend_conf")))
    reference = next(iter(branches)) if reference is None else reference
    if reference not in branches:
        raise ValueError(
            f"reference {reference!r} is not a branch; the branches are {list(branches)}"
        )
    return entries, reference


def stacked_spec(
    specs: dict[str, FeatureSpec], reference: str, resize: str = "bilinear"
) -> FeatureSpec:
    """The reference's framing and dim, the channels of all branches.

    A branch framed like the reference (same hop, frame length and framing) has its frames on the
    reference's grid, resized only in feature dim, frame by frame: its context carries over. Any
    other branch is resized in time by the ratio of its frame count to the reference's over the
    whole input, which moves every frame when the input is cropped: WHOLE_INPUT. With `resize:
    none` no frame moves: the largest context carries over.
    """
    if resize not in RESIZES:
        raise ValueError(f"resize must be one of {list(RESIZES)}, not {resize!r}")
    ref = specs[reference]
    rates = {spec.sample_rate for spec in specs.values()}
    if len(rates) != 1:
        raise ValueError(f"stacked branches disagree on the sample rate: {sorted(rates)}")
    if resize == "none":
        for name, spec in specs.items():
            if (spec.hop_length, spec.dim) != (ref.hop_length, ref.dim):
                raise ValueError(
                    f"resize: none needs every branch at the reference's hop and dim "
                    f"({ref.hop_length}, {ref.dim}); branch {name!r} has "
                    f"({spec.hop_length}, {spec.dim})"
                )
    grid = (ref.hop_length, ref.frame_length, ref.framing)
    aligned = resize == "none" or all(
        (s.hop_length, s.frame_length, s.framing) == grid for s in specs.values()
    )
    return FeatureSpec(
        channels=sum(spec.channels for spec in specs.values()),
        dim=ref.dim,
        hop_length=ref.hop_length,
        frame_length=ref.frame_length,
        framing=ref.framing,
        context=max(spec.context for spec in specs.values()) if aligned else WHOLE_INPUT,
        sample_rate=ref.sample_rate,
    )


def resize_frames(
    feats: torch.Tensor, lengths: torch.Tensor, target_lengths: torch.Tensor, frames: int, dim: int
) -> torch.Tensor:
    """`(B, C, frames, dim)`: each utterance's first `lengths` frames of `(B, C, T, F)` resized
    bilinearly to its `target_lengths` frames and `dim` features, as `F.interpolate(mode=
    "bilinear", align_corners=False)` resizes it alone; zero past `target_lengths`."""
    batch, channels, _, width = feats.shape
    if width != dim:  # the same for every frame: one linear interpolation over the feature axis
        flat = feats.reshape(-1, 1, width)
        resized = nn.functional.interpolate(flat, size=dim, mode="linear", align_corners=False)
        feats = resized.reshape(batch, channels, -1, dim)
    # Source position of each output frame, per utterance, as interpolate computes it:
    # (t + 0.5) * in / out - 0.5, clamped at 0; the upper neighbour stops at the last frame.
    scale = lengths.to(feats.dtype) / target_lengths.to(feats.dtype)
    steps = torch.arange(frames, device=feats.device, dtype=feats.dtype)
    source = ((steps + 0.5) * scale[:, None] - 0.5).clamp(min=0)
    last = (lengths - 1)[:, None]
    lower = torch.minimum(source.floor().long(), last)
    upper = torch.minimum(lower + 1, last)
    weight = (source - lower.to(feats.dtype))[:, None, :, None]

    def take(index: torch.Tensor) -> torch.Tensor:
        return feats.gather(2, index[:, None, :, None].expand(batch, channels, frames, dim))

    out = take(lower) * (1 - weight) + take(upper) * weight
    valid = torch.arange(frames, device=feats.device) < target_lengths[:, None]
    return out.masked_fill(~valid[:, None, :, None], 0.0)


def first_frames(
    feats: torch.Tensor, lengths: torch.Tensor, target_lengths: torch.Tensor, frames: int, name: str
) -> torch.Tensor:
    """`(B, C, frames, F)`: each utterance's first `target_lengths` frames of `(B, C, T, F)`,
    zero past them; branch `name` must have that many."""
    short = lengths.to(target_lengths.device) < target_lengths
    # Not while torch.export traces the graph of full windows (antispoof.export), where `short`
    # has no values: the export checks that graph against an eager run, which checks this.
    if not torch.compiler.is_exporting() and bool(short.any()):
        raise ValueError(
            f"resize: none: branch {name!r} gives fewer frames than the reference for an input "
            f"of the batch ({lengths[short].tolist()} < {target_lengths[short].tolist()})"
        )
    valid = torch.arange(frames, device=feats.device) < target_lengths[:, None]
    return feats[:, :, :frames].masked_fill(~valid[:, None, :, None], 0.0)


@FRONTENDS.register("stack")
class Stack(Frontend):
    """Branches `{name: {frontend: ..., frontend_conf: {...}}}` built through FRONTENDS (their
    settings type-checked), resized (`resize`: bilinear, or none) to the `reference` branch
    (default: the first) and stacked as channels. Trainable if any branch is, deterministic if
    all are.

    Its spec has the reference's framing; `context` is the branches' largest where every branch
    is framed like the reference, else WHOLE_INPUT (see `stacked_spec`): a frozen stack computed
    on the device then reads whole utterances, as the cache does.
    """

    def __init__(
        self,
        branches: dict[str, dict[str, Any]],
        reference: str | None = None,
        resize: str = "bilinear",
    ) -> None:
        super().__init__()
        entries, self.reference = _branch_entries(branches, reference)
        self.resize = resize
        self.branches = nn.ModuleDict(
            {
                name: FRONTENDS.build(frontend, conf, where=f"branches.{name}.frontend_conf")
                for name, frontend, conf in entries
            }
        )
        self.trainable = any(branch.trainable for branch in self.branches.values())
        self.deterministic = all(branch.deterministic for branch in self.branches.values())
        self._spec = stacked_spec(
            {name: branch.spec for name, branch in self.branches.items()}, self.reference, resize
        )

    @classmethod
    def feature_spec(cls, **settings: Any) -> FeatureSpec:
        conf = resolve_settings(cls, settings)
        entries, reference = _branch_entries(conf["branches"], conf["reference"])
        specs = {}
        for name, frontend, branch_conf in entries:
            where = f"branches.{name}.frontend_conf"
            resolved = FRONTENDS.resolved_conf(frontend, branch_conf, where=where)
            specs[name] = FRONTENDS.get(frontend).feature_spec(**resolved)
        return stacked_spec(specs, reference, conf["resize"])

    @classmethod
    def resolved_settings(cls, name: str, conf: Any, where: str) -> dict[str, Any]:
        """Every branch with its complete settings, so equal stacks get equal cache tags."""
        settings = FRONTENDS.resolved_conf(name, conf, where=where)
        entries, reference = _branch_entries(settings["branches"], settings["reference"])
        branches = {}
        for branch_name, frontend, branch_conf in entries:
            branches[branch_name] = {
                "frontend": frontend,
                "frontend_conf": FRONTENDS.get(frontend).resolved_settings(
                    frontend, branch_conf, f"{where}.branches.{branch_name}.frontend_conf"
                ),
            }
        return {**settings, "branches": branches, "reference": reference}

    @classmethod
    def cacheable_with(cls, **settings: Any) -> bool:
        conf = resolve_settings(cls, settings)
        entries, _ = _branch_entries(conf["branches"], conf["reference"])
        return all(
            FRONTENDS.get(frontend).cacheable_with(
                **FRONTENDS.resolved_conf(frontend, branch_conf, where=f"branches.{name}")
            )
            for name, frontend, branch_conf in entries
        )

    @property
    def spec(self) -> FeatureSpec:
        return self._spec

    def unfreeze(self) -> None:
        for branch in self.branches.values():
            branch.unfreeze()

    def forward(
        self, wav: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        outputs = {name: branch(wav, lengths) for name, branch in self.branches.items()}
        ref_feats, ref_lengths = outputs[self.reference]
        frames, dim = ref_feats.shape[2], ref_feats.shape[3]
        stacked = []
        for name, (feats, frame_lengths) in outputs.items():
            if name == self.reference:
                stacked.append(feats)
            elif self.resize == "none":
                stacked.append(first_frames(feats, frame_lengths, ref_lengths, frames, name))
            else:
                stacked.append(
                    resize_frames(
                        feats, frame_lengths.to(ref_lengths.device), ref_lengths, frames, dim
                    )
                )
        return torch.cat(stacked, dim=1), ref_lengths

"""The frontend contract shared by every input branch of a detector.

A frontend is an `nn.Module`: `forward(wav (B, N), lengths (B,)) -> (feats (B, C, T, F),
frame_lengths (B,))`, batched on the device; the batched result equals the per-utterance result
(padding never leaks into a shorter utterance's frames). Its `FeatureSpec` (channels, feature
dim, framing in samples) is known from the settings alone, without loading weights
(`FRONTENDS.get(name).feature_spec(**settings)`), so configs resolve and jobs plan their crops
without a large download.

`trainable` frontends (self-supervised encoders being fine-tuned) run inside the detector on
every batch; frozen, deterministic ones are cacheable: stage 2 may precompute them, and the
detector reads the cache when the batch carries it, with the same result.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from antispoof.registry import Registry

FRAMINGS = ("valid", "pad_end", "center")


@dataclass(frozen=True)
class FeatureSpec:
    """What a frontend outputs per utterance, known without weights.

    `hop_length` samples between frame starts and `frame_length` samples spanned by one frame
    (both 1 for a waveform). `framing` says how many frames N samples give:
    - `valid`: frames that fit, `(N - frame_length) // hop + 1` (conv encoders such as wav2vec2);
    - `pad_end`: also a last frame zero-padded, `ceil((N - frame_length) / hop) + 1` (MATLAB's
      `buffer(x, win, win - hop, 'nodelay')`, the LFCC of the ASVspoof baselines);
    - `center`: frames centred on `k * hop`, `N // hop + 1` (`torch.stft(center=True)`).
    Never fewer than one frame. Frame `k` of a waveform that starts at sample `a` (a multiple of
    `hop_length`) is frame `a / hop + k` of the whole utterance, except near that waveform's
    edges: `context` is how many samples beyond a frame's own span can still change it (the
    neighbours of a delta, a centred window's half). A window of the utterance with `context`
    samples of margin on both sides therefore gives the frames of the whole utterance.
    """

    channels: int
    dim: int
    hop_length: int
    frame_length: int
    framing: str = "valid"
    context: int = 0
    sample_rate: int = 16000

    def __post_init__(self) -> None:
        if self.framing not in FRAMINGS:
            raise ValueError(f"framing must be one of {FRAMINGS}, not {self.framing!r}")
        for name in ("channels", "dim", "hop_length", "frame_length", "sample_rate"):
            if getattr(self, name) < 1:
                raise ValueError(f"FeatureSpec.{name} must be positive")

    def num_frames(self, num_samples: Any) -> Any:
        """Frames of `num_samples` samples (an int or an integer tensor), at least one."""
        hop, width = self.hop_length, self.frame_length
        if self.framing == "valid":
            frames = (num_samples - width) // hop + 1
        elif self.framing == "pad_end":
            frames = -((width - num_samples) // hop) + 1  # ceil((N - width) / hop) + 1
        else:
            frames = num_samples // hop + 1
        if isinstance(frames, torch.Tensor):
            return torch.clamp(frames, min=1)
        return max(1, frames)

    @property
    def margin(self) -> int:
        """Samples of waveform beyond a crop that make its frames those of the whole utterance:
        the frame span past the last frame start, plus `context`."""
        return self.frame_length + self.context


class Frontend(nn.Module):
    """Waveforms `(B, N)` at `spec.sample_rate` to features `(B, C, T, F)` and frame lengths."""

    # A trainable frontend is fine-tuned (at least in some epochs) and never cached.
    trainable: bool = False
    # A deterministic frontend gives the same features for the same samples every time.
    deterministic: bool = True

    @classmethod
    def feature_spec(cls, **settings: Any) -> FeatureSpec:
        """The spec of a frontend built with `settings` (a config's `frontend_conf`), computed
        without building it: no weights are loaded."""
        raise NotImplementedError

    @classmethod
    def resolved_settings(cls, name: str, conf: Any, where: str) -> dict[str, Any]:
        """`conf` of this frontend (registered as `name`) checked and completed with every
        default, as the resolved config records it (a frontend whose settings hold other
        frontends' settings completes those too)."""
        return FRONTENDS.resolved_conf(name, conf, where=where)

    @classmethod
    def cacheable_with(cls, **settings: Any) -> bool:
        """Whether a frontend built with `settings` is cacheable, known without building it (a
        frontend whose `trainable` is a setting overrides this)."""
        return not cls.trainable and cls.deterministic

    @property
    def spec(self) -> FeatureSpec:
        raise NotImplementedError

    @property
    def cacheable(self) -> bool:
        return not self.trainable and self.deterministic

    def unfreeze(self) -> None:
        """Let gradients reach the weights meant to be fine-tuned (the detector calls this when
        a freeze schedule ends); a frontend holding frozen parts keeps them frozen."""
        self.requires_grad_(self.trainable)

    def forward(
        self, wav: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError


FRONTENDS: Registry[Frontend] = Registry("frontend")

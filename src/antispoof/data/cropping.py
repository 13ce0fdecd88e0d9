"""Fixed-length windows over a feature sequence: training crops and scoring segments."""

from __future__ import annotations

import torch


def repeat_pad(feats: torch.Tensor, frames: int) -> torch.Tensor:
    """Tile `(T, ...)` along time until it has `frames` frames (the published length policy)."""
    repeats = -(-frames // feats.shape[0])
    return feats.repeat(repeats, *([1] * (feats.dim() - 1)))[:frames]


def random_crop(feats: torch.Tensor, frames: int, generator: torch.Generator) -> torch.Tensor:
    """A training crop: repeat-pad shorter sequences, a random window of longer ones."""
    if feats.shape[0] <= frames:
        return repeat_pad(feats, frames)
    start = int(torch.randint(0, feats.shape[0] - frames + 1, (1,), generator=generator))
    return feats[start : start + frames]


def segment_windows(feats: torch.Tensor, frames: int, hop: int) -> torch.Tensor:
    """Every window of `frames` frames every `hop` frames, the last one flush with the end.

    Shorter sequences give a single repeat-padded window, exactly as a training crop would.
    Returns `(num_windows, frames, ...)`.
    """
    if feats.shape[0] <= frames:
        return repeat_pad(feats, frames).unsqueeze(0)
    last = feats.shape[0] - frames
    starts = list(range(0, last + 1, hop))
    if starts[-1] != last:
        starts.append(last)
    return torch.stack([feats[s : s + frames] for s in starts])

"""The batch that data-loader workers hand to the detector, and the crop arithmetic on it.

A `Batch` holds, per example, a window of the waveform around its crop (`wav`, `lengths`, the
crop's `offsets` in the window), soft `target` labels, and for branches read from a stage-2
cache their already cropped features `cached[name] (B, C, T, F)`. `frames[name]` is the number
of frames every example's crop has in branch `name` (antispoof.data.crops). Workers only read,
crop and augment waveforms; everything else happens on the device, in the detector.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

import torch


@dataclass
class Batch:
    utts: list[str]
    wav: torch.Tensor  # (B, W) float32 windows, zero-padded; (B, 0) when no branch reads audio
    lengths: torch.Tensor  # (B,) samples of each window
    offsets: torch.Tensor  # (B,) where each crop starts within its window
    crop_samples: int  # N: samples of a crop
    frames: dict[str, int]  # frames of a crop in each branch
    target: torch.Tensor  # (B, 2) soft labels, bona fide first
    cached: dict[str, torch.Tensor] = field(default_factory=dict)  # branch -> (B, C, T, F)
    # For scoring: the position of each example's utterance in the scored list.
    utt_index: torch.Tensor | None = None

    def __len__(self) -> int:
        return len(self.utts)

    def to(self, device: torch.device | str) -> Batch:
        """The batch on `device` (non-blocking copies from pinned memory where possible)."""
        move = lambda tensor: tensor.to(device, non_blocking=True)  # noqa: E731
        return self._map(move)

    def pin_memory(self) -> Batch:
        """The batch in page-locked memory, from which `to` copies to a GPU asynchronously.

        A DataLoader with `pin_memory=True` calls this on each batch in its pinning thread; without
        it a dataclass goes through unpinned, and every `non_blocking` copy is synchronous.
        """
        return self._map(torch.Tensor.pin_memory)

    def _map(self, function: Callable[[torch.Tensor], torch.Tensor]) -> Batch:
        """The batch with `function` applied to each tensor that goes to the device."""
        return replace(
            self,
            wav=function(self.wav),
            lengths=function(self.lengths),
            offsets=function(self.offsets),
            target=function(self.target),
            cached={name: function(feats) for name, feats in self.cached.items()},
        )

    def chunks(self, size: int) -> Iterator[Batch]:
        """Consecutive batches of at most `size` examples (a scoring batch of many segments)."""
        for begin in range(0, len(self), size):
            end = begin + size
            yield replace(
                self,
                utts=self.utts[begin:end],
                wav=self.wav[begin:end],
                lengths=self.lengths[begin:end],
                offsets=self.offsets[begin:end],
                target=self.target[begin:end],
                cached={name: feats[begin:end] for name, feats in self.cached.items()},
                utt_index=None if self.utt_index is None else self.utt_index[begin:end],
            )


def repeat_indices(starts: torch.Tensor, count: int, available: torch.Tensor) -> torch.Tensor:
    """`(B, count)` indices `starts + k`, wrapped into `[0, available)`: the positions of a crop
    along an axis of `available` valid entries, repeating from the first one past the end."""
    steps = torch.arange(count, device=starts.device)
    return (starts[:, None] + steps[None, :]) % available.clamp(min=1)[:, None]


def crop_waveform(batch: Batch) -> torch.Tensor:
    """`(B, N)`: each example's crop of its window, repeat-padded."""
    index = repeat_indices(batch.offsets, batch.crop_samples, batch.lengths)
    return torch.gather(batch.wav, 1, index)


def crop_frames(
    feats: torch.Tensor, frame_lengths: torch.Tensor, first: torch.Tensor, count: int
) -> torch.Tensor:
    """`(B, C, count, F)`: frames `first + k` of each example's `(C, T, F)` features, wrapped
    into its valid frames (repeat-padding of a short utterance)."""
    index = repeat_indices(first, count, frame_lengths.to(first.device))
    batch, channels, _, dim = feats.shape
    index = index[:, None, :, None].expand(batch, channels, count, dim)
    return torch.gather(feats, 2, index)

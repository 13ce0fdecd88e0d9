"""Where each example's crop lies, in samples, and what every input branch takes of it.

A crop is chosen once per example as a start sample `s` and a length of `N` samples
(`train.crop_seconds`); every branch converts it to its own frames, so all branches of a
multi-input model see the same span, and training with or without a feature cache sees the same
crop:

- a frozen branch's crop is `N // hop` frames from frame `s / hop` of its features of the whole
  utterance; past the utterance's last frame the frames repeat from its first (repeat-padding,
  as the published recipes pad short utterances: `np.tile` of the feature matrix);
- a trainable branch sees the crop's `N` samples of waveform (repeat-padded the same way) and
  gives `spec.num_frames(N)` frames.

Starts lie on a grid of `G` samples, the least common multiple of the branches' hops, so that
`s / hop` is a whole frame for every branch. A long utterance's crop lies within it for every
branch; an utterance too short for that is cropped from its start and repeat-padded.

A frozen branch computed on the device (no cache) sees a window of the waveform around the crop,
`margin` samples wider on each side (clipped to the utterance): by `FeatureSpec.margin` its
frames there equal those of the whole utterance, so they equal the cached ones.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from antispoof.frontends.base import FeatureSpec


@dataclass(frozen=True)
class Crop:
    """One example's crop and the waveform window read for it (samples of the utterance)."""

    start: int  # first sample of the crop
    window_start: int  # first sample of the window read (<= start)
    window_end: int  # one past its last sample

    @property
    def offset(self) -> int:
        """Where the crop starts within the window."""
        return self.start - self.window_start


@dataclass(frozen=True)
class CropPlan:
    """Crops of `samples` samples for branches of these specs (`trainable`: by branch name).

    `full`: the crop is the whole utterance (scoring in one pass): every branch takes all its
    frames, and no margin is needed.
    """

    specs: Mapping[str, FeatureSpec]
    trainable: Mapping[str, bool]
    samples: int
    full: bool = False

    def __post_init__(self) -> None:
        if self.samples < 1:
            raise ValueError("a crop must hold at least one sample")
        rates = {spec.sample_rate for spec in self.specs.values()}
        if len(rates) != 1:
            raise ValueError(f"input branches disagree on the sample rate: {sorted(rates)}")

    @classmethod
    def from_seconds(
        cls, specs: Mapping[str, FeatureSpec], trainable: Mapping[str, bool], seconds: float
    ) -> CropPlan:
        rate = next(iter(specs.values())).sample_rate
        return cls(specs, trainable, max(1, round(seconds * rate)))

    @property
    def sample_rate(self) -> int:
        return next(iter(self.specs.values())).sample_rate

    @property
    def grid(self) -> int:
        """Crop starts are multiples of this many samples."""
        return math.lcm(*(spec.hop_length for spec in self.specs.values()))

    @property
    def margin(self) -> int:
        """Samples read beyond a crop on each side for branches computed on the device."""
        if self.full:
            return 0
        frozen = [spec.margin for name, spec in self.specs.items() if not self.trainable[name]]
        return _round_up(max(frozen, default=0), self.grid)

    def frames(self, name: str) -> int:
        """Frames of branch `name` in a crop."""
        spec = self.specs[name]
        if self.trainable[name] or self.full:
            return int(spec.num_frames(self.samples))
        return max(1, self.samples // spec.hop_length)

    def utterance_lengths(self, num_samples: int) -> dict[str, int]:
        """Each branch's length of a whole utterance: frames (frozen) or samples (trainable)."""
        return {
            name: num_samples if self.trainable[name] else int(spec.num_frames(num_samples))
            for name, spec in self.specs.items()
        }

    def last_start(self, lengths: Mapping[str, int]) -> int:
        """The latest start whose crop lies within an utterance of these `utterance_lengths`
        (a frame cache gives the same for a frozen branch) for every branch, on the grid;
        negative when the utterance is too short for that."""
        latest = []
        for name, spec in self.specs.items():
            if self.trainable[name]:
                latest.append(lengths[name] - self.samples)
            else:
                frames = lengths[name] - self.samples // spec.hop_length
                latest.append(frames * spec.hop_length)
        last = min(latest)
        return last - last % self.grid if last >= 0 else last

    def crop(self, start: int, num_samples: int | None) -> Crop:
        """The crop at `start` (0 for an utterance too short to hold one) and the window to read
        (none without the waveform's length: every branch is read from a cache)."""
        if start % self.grid:
            raise ValueError(f"crop start {start} is not a multiple of the grid {self.grid}")
        if num_samples is None:
            return Crop(start=start, window_start=start, window_end=start)
        return Crop(
            start=start,
            window_start=max(0, start - self.margin),
            window_end=min(num_samples, start + self.samples + self.margin),
        )

    def segment_starts(self, lengths: Mapping[str, int], hop_samples: int | None) -> list[int]:
        """Starts of scoring segments every `hop_samples` (rounded to the grid), the last one
        flush with the latest start; one segment from 0 for a short utterance, and for any
        utterance when `hop_samples` is None (only the first window is scored)."""
        last = self.last_start(lengths)
        if last <= 0 or hop_samples is None:
            return [0]
        hop = max(self.grid, _round_up(hop_samples, self.grid))
        starts = list(range(0, last + 1, hop))
        if starts[-1] != last:
            starts.append(last)
        return starts


def _round_up(value: int, multiple: int) -> int:
    return -(-value // multiple) * multiple

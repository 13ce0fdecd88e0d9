"""Datasets over a Kaldi data directory: training crops and deterministic scoring windows."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import kaldiio
import numpy as np
import torch
from torch.utils.data import Dataset

from antispoof.data.audio import read_audio
from antispoof.data.cropping import random_crop, segment_windows
from antispoof.data.datadir import line_origin
from antispoof.data.kaldi_files import read_table
from antispoof.frontends.base import Frontend
from antispoof.losses.base import BONAFIDE, SPOOF

LABELS = {"bonafide": BONAFIDE, "spoof": SPOOF}


class FeatureSource:
    """Features `(T, D)` of an utterance: from the ark cache if there is one, else computed.

    Both paths run the same frontend module (stage 2 fills the cache with it), so training with
    or without the cache sees the same features.
    """

    def __init__(self, data_dir: str | Path, frontend: Frontend, feats_scp: str | Path | None):
        self.data_dir = Path(data_dir)
        self.wav_scp = read_table(self.data_dir / "wav.scp")
        # read_table refuses blank lines, so an entry's rank in the file is its line number.
        self._wav_lines = {utt: n for n, utt in enumerate(self.wav_scp, start=1)}
        self._origin = line_origin(self.data_dir)
        self.frontend = frontend
        self.feats_scp = Path(feats_scp) if feats_scp else None
        self._cache = kaldiio.load_scp(str(self.feats_scp)) if self.feats_scp else None
        if self._cache is not None:
            missing = [utt for utt in self.wav_scp if utt not in self._cache]
            if missing:
                raise ValueError(
                    f"{self.feats_scp} lacks {len(missing)} utterance(s) of "
                    f"{self.data_dir / 'wav.scp'}, e.g. {missing[:3]}; re-run stage 2 with --force"
                )

    def __call__(self, utt: str) -> torch.Tensor:
        if self._cache is not None:
            return torch.from_numpy(np.array(self._cache[utt], dtype=np.float32))
        # The line of the directory split, when this is a part: the one the user can fix.
        where = self._origin.where(self._wav_lines[utt])
        wav = torch.from_numpy(read_audio(self.wav_scp[utt], where, self.frontend.sample_rate))
        with torch.no_grad():
            feats, _ = self.frontend(wav.unsqueeze(0), torch.tensor([wav.numel()]))
        return feats[0]


def read_labels(data_dir: str | Path) -> dict[str, int]:
    path = Path(data_dir) / "utt2label"
    labels = {}
    for line_number, (utt, label) in enumerate(read_table(path).items(), start=1):
        if label not in LABELS:
            raise ValueError(f"{path}:{line_number}: label {label!r} is not bonafide or spoof")
        labels[utt] = LABELS[label]
    return labels


class TrainingCrops(Dataset):
    """`(crop (crop_frames, D), label, utt)`; crops depend only on (seed, epoch, index).

    The utterance id travels with its crop so that a failing batch can be named.
    """

    def __init__(
        self,
        data_dir: str | Path,
        source: Callable[[str], torch.Tensor],
        crop_frames: int,
        seed: int,
    ):
        self.labels = read_labels(data_dir)
        self.utts = sorted(self.labels)
        self.source = source
        self.crop_frames = crop_frames
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.utts)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int, str]:
        utt = self.utts[index]
        generator = torch.Generator().manual_seed(
            hash((self.seed, self.epoch, index)) & (2**62 - 1)
        )
        return random_crop(self.source(utt), self.crop_frames, generator), self.labels[utt], utt


class ScoringWindows(Dataset):
    """`(utt, windows)` per utterance: all segment windows, or the full sequence (`frames=None`)."""

    def __init__(
        self,
        utts: list[str],
        source: Callable[[str], torch.Tensor],
        frames: int | None,
        hop: int | None,
    ):
        self.utts = utts
        self.source = source
        self.frames = frames
        self.hop = hop

    def __len__(self) -> int:
        return len(self.utts)

    def __getitem__(self, index: int) -> tuple[str, torch.Tensor]:
        feats = self.source(self.utts[index])
        if self.frames is None:
            return self.utts[index], feats.unsqueeze(0)
        return self.utts[index], segment_windows(feats, self.frames, self.hop or self.frames)

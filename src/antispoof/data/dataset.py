"""Datasets over a Kaldi data directory: examples for training (one random crop per utterance
and epoch, or every segment of every utterance) and for scoring (every segment,
deterministic), collated into `Batch`es.

Workers read audio (only when some branch needs it), choose crops (antispoof.data.crops), read
cached features of frozen branches, and apply waveform-level augmentation; they never hold
model weights. The audio comes from an `AudioSource`: a data directory's `wav.scp`
(`AudioTable`), or waveforms already in memory (`InMemoryAudio`), so that the same crop and
segment logic serves both.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Protocol

import kaldiio
import numpy as np
import torch
from torch.utils.data import Dataset

from antispoof.data.audio import audio_num_samples, read_audio
from antispoof.data.batch import Batch
from antispoof.data.crops import Crop, CropPlan
from antispoof.data.datadir import line_origin
from antispoof.data.feature_store import DamagedCacheError, read_view, read_view_problem
from antispoof.data.kaldi_files import TableError, read_table
from antispoof.labels import BONAFIDE, CLASS_OF, one_hot

# A waveform-level augmentation: (samples, generator) -> samples, run in the workers.
WaveformAugmentation = Callable[[np.ndarray, np.random.Generator], np.ndarray]
Example = dict[str, Any]


def read_labels(data_dir: str | Path) -> dict[str, int]:
    """Class of each utterance of `utt2label` (antispoof.labels)."""
    path = Path(data_dir) / "utt2label"
    labels = {}
    for line_number, (utt, label) in enumerate(read_table(path).items(), start=1):
        if label not in CLASS_OF:
            raise TableError(f"{path}:{line_number}: label {label!r} is not bonafide or spoof")
        labels[utt] = CLASS_OF[label]
    return labels


class AudioSource(Protocol):
    """Where a reader gets an utterance's waveform: mono float32 samples at `sample_rate`."""

    sample_rate: int

    def read(self, utt: str) -> np.ndarray: ...

    def num_samples(self, utt: str) -> int:
        """The utterance's length in samples, without reading its samples where possible."""
        ...


class AudioTable:
    """The audio of a data directory's `wav.scp`; errors name its line in the original
    directory (not in a split part)."""

    def __init__(self, data_dir: str | Path, sample_rate: int) -> None:
        self.data_dir = Path(data_dir)
        self.paths = read_table(self.data_dir / "wav.scp")
        # read_table refuses blank lines, so an entry's rank in the file is its line number.
        self._lines = {utt: n for n, utt in enumerate(self.paths, start=1)}
        self._origin = line_origin(self.data_dir)
        self.sample_rate = sample_rate

    def read(self, utt: str) -> np.ndarray:
        where = self._origin.where(self._lines[utt])
        return read_audio(self.paths[utt], where, self.sample_rate)

    def num_samples(self, utt: str) -> int:
        where = self._origin.where(self._lines[utt])
        return audio_num_samples(self.paths[utt], where, self.sample_rate)


class InMemoryAudio:
    """Waveforms already in memory by key, mono at `sample_rate` (any audio a caller holds)."""

    def __init__(self, waveforms: Mapping[str, np.ndarray], sample_rate: int) -> None:
        self.waveforms: dict[str, np.ndarray] = {}
        for key, wav in waveforms.items():
            wav = np.asarray(wav, dtype=np.float32)
            if wav.ndim != 1 or wav.size == 0:
                raise ValueError(
                    f"{key}: a waveform must hold mono samples, shape (N,) with N > 0, "
                    f"not {wav.shape}"
                )
            self.waveforms[key] = wav
        self.sample_rate = sample_rate

    def read(self, utt: str) -> np.ndarray:
        return self.waveforms[utt]

    def num_samples(self, utt: str) -> int:
        return len(self.waveforms[utt])


class FeatureCache:
    """Stage-2 features `(T, C, F)` of one branch for the utterances of a data directory, read
    back as float32 whatever the stored dtype.

    A cache is checked when it is opened: the scp must list every utterance of the data
    directory, and each ark must hold the records the scp names in it (one that an interrupted
    copy or a full disk truncated does not); a damaged cache is one line naming the file.
    """

    def __init__(self, scp: str | Path, audio: AudioTable) -> None:
        self.scp = Path(scp)
        try:
            self._view = read_view(self.scp)
            problem = read_view_problem(self._view, self.scp, audio.paths)
        except FileNotFoundError:
            problem = f"{self.scp} is missing"
        except TableError as err:
            problem = str(err)
        if problem is not None:
            raise DamagedCacheError(
                f"damaged feature cache of {audio.data_dir}: {problem}; re-run stage 2"
            )

    def __getitem__(self, utt: str) -> np.ndarray:
        ark, offset, line = self._view[utt]
        try:
            feats = np.asarray(kaldiio.load_mat(f"{ark}:{offset}"), dtype=np.float32)
        except (AssertionError, ValueError, EOFError, OSError) as err:  # kaldiio asserts
            raise DamagedCacheError(
                f"{self.scp}:{line}: cannot read the features of {utt} from {ark} at byte "
                f"{offset} ({err or type(err).__name__}); re-run stage 2"
            ) from None
        return feats if feats.ndim == 3 else feats[:, None, :]  # a plain Kaldi matrix: C = 1


class ExampleReader:
    """Reads the crops of an utterance: its waveform window and its cached branches' frames.

    `source` is a data directory (its `wav.scp`) or any AudioSource; feature caches cover a
    data directory's utterances, so they come only with one.
    """

    def __init__(
        self,
        source: str | Path | AudioSource,
        plan: CropPlan,
        caches: Mapping[str, str | Path] | None = None,
        augmentation: WaveformAugmentation | None = None,
    ) -> None:
        self.plan = plan
        audio = AudioTable(source, plan.sample_rate) if isinstance(source, str | Path) else source
        if audio.sample_rate != plan.sample_rate:
            raise ValueError(
                f"the audio is at {audio.sample_rate} Hz, the model takes {plan.sample_rate} Hz"
            )
        self.audio: AudioSource = audio
        unknown = sorted(set(caches or {}) - set(plan.specs))
        if unknown:
            raise ValueError(f"feature caches of unknown branches {unknown}")
        if caches and not isinstance(audio, AudioTable):
            raise ValueError("feature caches cover the utterances of a data directory's wav.scp")
        self.caches = {name: FeatureCache(scp, audio) for name, scp in (caches or {}).items()}
        if augmentation is not None and self.caches:
            raise ValueError(
                "waveform augmentation changes the audio, so cached features would not match "
                f"it: train without the caches of {sorted(self.caches)}"
            )
        self.augmentation = augmentation
        # A whole-utterance plan needs the utterance's length in samples even when cached.
        self.needs_audio = len(self.caches) < len(plan.specs) or plan.full

    def utterance(self, utt: str) -> tuple[np.ndarray | None, dict[str, np.ndarray]]:
        """The whole waveform (None when every branch is cached) and the cached features."""
        wav = self.audio.read(utt) if self.needs_audio else None
        return wav, {name: cache[utt] for name, cache in self.caches.items()}

    def lengths(self, wav: np.ndarray | None, cached: Mapping[str, np.ndarray]) -> dict[str, int]:
        """Each branch's length of the utterance (see CropPlan.utterance_lengths); a cache whose
        frame count disagrees with the audio's belongs to other audio."""
        cached_lengths = {name: feats.shape[0] for name, feats in cached.items()}
        if wav is None:
            return cached_lengths
        lengths = self.plan.utterance_lengths(len(wav))
        for name, frames in cached_lengths.items():
            if frames != lengths[name]:
                raise ValueError(
                    f"{self.caches[name].scp}: {frames} frames cached for an utterance whose "
                    f"audio gives {lengths[name]}; the cache is of other audio: re-run stage 2 "
                    "with --force"
                )
        return lengths

    def example(
        self,
        utt: str,
        label: int,
        crop: Crop,
        wav: np.ndarray | None,
        cached: Mapping[str, np.ndarray],
        generator: np.random.Generator | None = None,
        plan: CropPlan | None = None,
    ) -> Example:
        """One example; `plan` replaces the reader's (the whole-utterance plan of one utterance)."""
        plan = plan or self.plan
        window = np.zeros(0, dtype=np.float32)
        if wav is not None:
            window = wav[crop.window_start : crop.window_end]
            if self.augmentation is not None and generator is not None:
                window = self.augmentation(window, generator)
        frames = {}
        for name, feats in cached.items():
            spec = plan.specs[name]
            count = plan.frames(name)
            first = 0 if plan.full else crop.start // spec.hop_length
            index = (first + np.arange(count)) % feats.shape[0]
            frames[name] = torch.from_numpy(np.ascontiguousarray(feats[index].transpose(1, 0, 2)))
        return {
            "utt": utt,
            "label": label,
            "wav": torch.from_numpy(np.ascontiguousarray(window, dtype=np.float32)),
            "offset": crop.offset,
            "cached": frames,
            "plan": plan,
        }


def collate(examples: list[Example]) -> Batch:
    """Examples of one crop plan as a Batch (windows zero-padded to the longest)."""
    plan = examples[0]["plan"]
    lengths = torch.tensor([len(example["wav"]) for example in examples], dtype=torch.long)
    wav = torch.zeros(len(examples), int(lengths.max()) if len(examples) else 0)
    for row, example in enumerate(examples):
        wav[row, : len(example["wav"])] = example["wav"]
    utt_index = None
    if "utt_index" in examples[0]:
        utt_index = torch.tensor([example["utt_index"] for example in examples])
    return Batch(
        utts=[example["utt"] for example in examples],
        wav=wav,
        lengths=lengths,
        offsets=torch.tensor([example["offset"] for example in examples], dtype=torch.long),
        crop_samples=plan.samples,
        frames={name: plan.frames(name) for name in plan.specs},
        target=one_hot(torch.tensor([example["label"] for example in examples])),
        cached={
            name: torch.stack([example["cached"][name] for example in examples])
            for name in examples[0]["cached"]
        },
        utt_index=utt_index,
    )


class TrainingExamples(Dataset):
    """One random crop per utterance and epoch; crops depend only on (seed, epoch, index)."""

    def __init__(self, reader: ExampleReader, labels: Mapping[str, int], seed: int) -> None:
        self.reader = reader
        self.labels = dict(labels)
        self.utts = sorted(self.labels)
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.utts)

    def __getitem__(self, index: int) -> Example:
        utt = self.utts[index]
        generator = np.random.default_rng((self.seed, self.epoch, index))
        wav, cached = self.reader.utterance(utt)
        plan = self.reader.plan
        last = plan.last_start(self.reader.lengths(wav, cached))
        start = plan.grid * int(generator.integers(0, last // plan.grid + 1)) if last > 0 else 0
        length = None if wav is None else len(wav)
        crop = plan.crop(start, length)
        return self.reader.example(utt, self.labels[utt], crop, wav, cached, generator)

    def collate(self, examples: list[Example]) -> Batch:
        return collate(examples)


class SegmentTrainingExamples(Dataset):
    """Every crop of every utterance, one every `hop_samples` (see CropPlan.segment_starts):
    the segments of Li et al.'s Res2Net recipe, each one an example of the epoch.

    The segments are listed once, from each utterance's length: `num_samples` when given (what
    the processes of a data-parallel run read once for all), else read from the audio file's
    header, not its samples; the sampler shuffles them each epoch.
    """

    def __init__(
        self,
        reader: ExampleReader,
        labels: Mapping[str, int],
        seed: int,
        hop_samples: int,
        num_samples: Mapping[str, int] | None = None,
    ) -> None:
        self.reader = reader
        self.labels = dict(labels)
        self.utts = sorted(self.labels)
        self.seed = seed
        self.epoch = 0
        plan = reader.plan
        length = reader.audio.num_samples if num_samples is None else num_samples.__getitem__
        self.segments = [
            (utt, start)
            for utt in self.utts
            for start in plan.segment_starts(plan.utterance_lengths(length(utt)), hop_samples)
        ]

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.segments)

    def __getitem__(self, index: int) -> Example:
        utt, start = self.segments[index]
        # Waveform augmentation still varies with (seed, epoch, segment).
        generator = np.random.default_rng((self.seed, self.epoch, index))
        wav, cached = self.reader.utterance(utt)
        self.reader.lengths(wav, cached)  # a stale cache is refused here as in random crops
        crop = self.reader.plan.crop(start, None if wav is None else len(wav))
        return self.reader.example(utt, self.labels[utt], crop, wav, cached, generator)

    def collate(self, examples: list[Example]) -> Batch:
        return collate(examples)


class ScoringExamples(Dataset):
    """Every scoring segment of an utterance, one every `hop_samples` (None: the first one
    only), or the whole of it with a `full` plan.

    Scoring needs no labels (it scores audio whose label may be unknown): every example's target
    is the bona fide class, which nothing reads.
    """

    def __init__(self, reader: ExampleReader, utts: list[str], hop_samples: int | None) -> None:
        self.reader = reader
        self.utts = utts
        self.hop_samples = hop_samples

    def __len__(self) -> int:
        return len(self.utts)

    def __getitem__(self, index: int) -> list[Example]:
        utt = self.utts[index]
        wav, cached = self.reader.utterance(utt)
        lengths = self.reader.lengths(wav, cached)
        plan = self.reader.plan
        if plan.full:
            plan = CropPlan(plan.specs, plan.trainable, len(wav), full=True)
            starts = [0]
        else:
            starts = plan.segment_starts(lengths, self.hop_samples)
        length = None if wav is None else len(wav)
        examples = []
        for start in starts:
            crop = plan.crop(start, length)
            example = self.reader.example(utt, BONAFIDE, crop, wav, cached, plan=plan)
            example["utt_index"] = index
            examples.append(example)
        return examples

    @staticmethod
    def collate(groups: list[list[Example]]) -> Batch:
        examples = [example for group in groups for example in group]
        return collate(examples)

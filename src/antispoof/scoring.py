"""Deterministic utterance scores (higher = more bona fide) with a trained detector.

The same segment logic scores a data directory (its `wav.scp`) and waveforms in memory (what
`detect` reads from any audio file): both are an AudioSource of an ExampleReader, cut into
segments as the experiment's `inference` block says (InferenceConf):

- `segments`: windows of `segment_seconds` every `segment_hop_seconds`, scores averaged;
- `first`: the first window only (the official AASIST evaluation);
- `full`: the whole utterance in one pass.

An utterance shorter than a window is repeat-padded, as in training. The detector runs its
branches and model in the precision of its config and its score head in float32
(antispoof.detector); the segment means are float64.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import soundfile
import torch
from torch.utils.data import DataLoader

from antispoof.data.audio import AudioError
from antispoof.data.batch import Batch
from antispoof.data.crops import CropPlan
from antispoof.data.dataset import AudioSource, ExampleReader, InMemoryAudio, ScoringExamples
from antispoof.detector import Detector

# What is averaged over an utterance's segments: `(B, K)` values of a batch of segments. The
# default is the detector's score (K = 1); `detect` adds the log-odds its decision needs.
SegmentOutputs = Callable[[Detector, Batch], torch.Tensor]


def detector_score(detector: Detector, batch: Batch) -> torch.Tensor:
    return detector.score(batch)[:, None]


def segment_hop(inference: Mapping[str, Any], plan: CropPlan) -> int | None:
    """Samples between segment starts; None when only the first window is scored."""
    if inference["mode"] == "first":
        return None
    hop_seconds = inference["segment_hop_seconds"]
    return round(hop_seconds * plan.sample_rate) if hop_seconds is not None else plan.samples // 2


def scoring_reader(
    detector: Detector,
    source: str | Path | AudioSource,
    inference: Mapping[str, Any],
    caches: Mapping[str, str | Path] | None = None,
) -> ExampleReader:
    """The reader of the scoring segments of `source` (a data directory or an AudioSource) as
    `inference` says (see InferenceConf)."""
    full = inference["mode"] == "full"
    plan = detector.crop_plan(inference["segment_seconds"], full=full)
    return ExampleReader(source, plan, caches)


def segment_means(
    detector: Detector,
    reader: ExampleReader,
    utts: list[str],
    inference: Mapping[str, Any],
    device: torch.device,
    num_workers: int = 0,
    outputs: SegmentOutputs = detector_score,
) -> torch.Tensor:
    """`(U, K)` float64: for each utterance, the mean of `outputs` over its segments."""
    plan = reader.plan
    dataset = ScoringExamples(reader, utts, segment_hop(inference, plan))
    # A loader batch of utterances gives at least batch_size segments, scored in chunks of
    # batch_size; whole utterances differ in length and are scored one at a time.
    loader = DataLoader(
        dataset,
        batch_size=1 if plan.full else inference["batch_size"],
        num_workers=num_workers,
        collate_fn=ScoringExamples.collate,
        pin_memory=device.type == "cuda",
    )
    detector.eval()
    totals: torch.Tensor | None = None
    counts = torch.zeros(len(utts), 1, dtype=torch.float64)
    with torch.no_grad():
        for batch in loader:
            for chunk in batch.chunks(inference["batch_size"]):
                values = outputs(detector, chunk.to(device)).double().cpu()
                if totals is None:
                    totals = torch.zeros(len(utts), values.shape[1], dtype=torch.float64)
                totals.index_add_(0, chunk.utt_index, values)
                counts.index_add_(0, chunk.utt_index, torch.ones(len(values), 1).double())
    if totals is None:  # no utterances
        return torch.zeros(0, 1, dtype=torch.float64)
    return totals / counts


def score_utterances(
    detector: Detector,
    reader: ExampleReader,
    utts: list[str],
    inference: Mapping[str, Any],
    device: torch.device,
    num_workers: int = 0,
) -> dict[str, float]:
    """Score every utterance: the mean of its segment scores (one segment in `first` and `full`
    modes)."""
    means = segment_means(detector, reader, utts, inference, device, num_workers)
    return {utt: float(means[index, 0]) for index, utt in enumerate(utts)}


def score_waveforms(
    detector: Detector,
    waveforms: Mapping[str, np.ndarray],
    inference: Mapping[str, Any],
    device: torch.device,
    outputs: SegmentOutputs = detector_score,
) -> torch.Tensor:
    """`(U, K)` means of `outputs` (default: the score) of waveforms in memory, in the order of
    `waveforms`; each is mono float32 at the model's sample rate (see `read_any_audio`)."""
    rate = next(iter(detector.specs.values())).sample_rate
    reader = scoring_reader(detector, InMemoryAudio(waveforms, rate), inference)
    return segment_means(detector, reader, list(waveforms), inference, device, outputs=outputs)


def read_any_audio(path: str | Path, sample_rate: int) -> tuple[np.ndarray, list[str]]:
    """Mono float32 samples at `sample_rate` of any file soundfile reads, and what was changed
    to get them (channels averaged, resampled), in words; unreadable, empty or non-finite
    audio is an AudioError saying why."""
    import torchaudio.functional  # only this needs it; importing it costs a second

    try:
        samples, rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    except (OSError, RuntimeError, soundfile.LibsndfileError) as err:
        raise AudioError(f"cannot read audio {path}: {err}") from err
    if samples.shape[0] == 0:
        raise AudioError(f"{path} holds no samples")
    if not np.isfinite(samples).all():
        raise AudioError(f"{path} holds non-finite samples (NaN or inf): the file is corrupt")
    changes = []
    channels = samples.shape[1]
    wav = samples.mean(axis=1, dtype=np.float32) if channels > 1 else samples[:, 0]
    if channels > 1:
        changes.append(f"{channels} channels averaged to mono")
    if rate != sample_rate:
        wav = torchaudio.functional.resample(torch.from_numpy(wav), rate, sample_rate).numpy()
        changes.append(f"resampled from {rate} Hz to {sample_rate} Hz")
        if wav.size == 0:
            raise AudioError(f"{path} is too short to resample: {samples.shape[0]} sample(s)")
    return np.ascontiguousarray(wav, dtype=np.float32), changes

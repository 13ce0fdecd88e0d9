"""Deterministic utterance scores (higher = more bona fide) with a trained detector."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader

from antispoof.data.dataset import ExampleReader, ScoringExamples
from antispoof.detector import Detector


def scoring_reader(
    detector: Detector,
    data_dir: str | Path,
    inference: Mapping[str, Any],
    crop_seconds: float,
    caches: Mapping[str, str | Path] | None = None,
) -> ExampleReader:
    """The reader of `data_dir`'s scoring segments as `inference` says (see InferenceConf)."""
    full = inference["mode"] == "full"
    seconds = inference["segment_seconds"] or crop_seconds
    return ExampleReader(data_dir, detector.crop_plan(seconds, full=full), caches)


def score_utterances(
    detector: Detector,
    reader: ExampleReader,
    utts: list[str],
    inference: Mapping[str, Any],
    device: torch.device,
    num_workers: int = 0,
    autocast_dtype: torch.dtype | None = None,
) -> dict[str, float]:
    """Score every utterance: the mean of its segment scores (one segment in `full` mode)."""
    plan = reader.plan
    hop_seconds = inference["segment_hop_seconds"]
    hop_samples = (
        round(hop_seconds * plan.sample_rate) if hop_seconds is not None else plan.samples // 2
    )
    dataset = ScoringExamples(reader, utts, hop_samples)
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
    totals = torch.zeros(len(utts), dtype=torch.float64)
    counts = torch.zeros(len(utts), dtype=torch.float64)
    with (
        torch.no_grad(),
        torch.autocast(
            device.type, dtype=autocast_dtype or torch.float32, enabled=autocast_dtype is not None
        ),
    ):
        for batch in loader:
            for chunk in batch.chunks(inference["batch_size"]):
                scores = detector.score(chunk.to(device)).double().cpu()
                totals.index_add_(0, chunk.utt_index, scores)
                counts.index_add_(0, chunk.utt_index, torch.ones_like(scores))
    means = totals / counts
    return {utt: float(means[index]) for index, utt in enumerate(utts)}

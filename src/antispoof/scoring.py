"""Deterministic utterance scores (higher = more bona fide) with a trained detector."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch.utils.data import DataLoader

from antispoof.data.dataset import ScoringWindows
from antispoof.detector import Detector


def _collate(batch: list[tuple[str, torch.Tensor]]) -> list[tuple[str, torch.Tensor]]:
    return batch


def score_utterances(
    detector: Detector,
    utts: list[str],
    source: Callable[[str], torch.Tensor],
    inference: dict[str, Any],
    crop_frames: int,
    device: torch.device,
    num_workers: int = 0,
    autocast_dtype: torch.dtype | None = None,
) -> dict[str, float]:
    """Score every utterance as `inference` says (see `InferenceConf`); returns utt -> score."""
    full = inference["mode"] == "full"
    frames = None if full else inference["segment_frames"] or crop_frames
    hop = None if full else inference["segment_hop"] or max(1, frames // 2)
    dataset = ScoringWindows(utts, source, frames, hop)
    # Full utterances differ in length and cannot share a batch: one at a time. Otherwise a
    # batch of utterances gives at least batch_size windows, scored in chunks of batch_size.
    loader = DataLoader(
        dataset,
        batch_size=1 if full else inference["batch_size"],
        num_workers=num_workers,
        collate_fn=_collate,
    )
    detector.train(False)
    scores: dict[str, float] = {}
    with (
        torch.no_grad(),
        torch.autocast(
            device.type, dtype=autocast_dtype or torch.float32, enabled=autocast_dtype is not None
        ),
    ):
        for batch in loader:
            windows = torch.cat([w for _, w in batch]).to(device)
            window_scores = torch.cat(
                [
                    detector.loss.score(detector.model(chunk)).float()
                    for chunk in windows.split(inference["batch_size"])
                ]
            ).cpu()
            counts = [len(utt_windows) for _, utt_windows in batch]
            for (utt, _), utt_scores in zip(batch, window_scores.split(counts), strict=True):
                scores[utt] = float(utt_scores.mean())
    return scores

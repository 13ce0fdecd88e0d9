"""The Speech Anti-Spoofing Arena's protocol: every trial of a key, each scored on its first
window, and its submission files.

The Arena (Hugging Face `SpeechAntiSpoofingBenchmarks`) re-scores released checkpoints on all
trials of each corpus's key (not only an official subset such as 2021's `eval`), with a
deterministic crop: the first 64,600 samples at 16 kHz (4.04 s), a shorter recording
repeat-padded. Paper figures rarely survive it (Nes2Net-X on 2021 DF: 1.65 % in the paper,
3.61 % there). Here every recipe reports both protocols:

- **official**: the scores of the model's own `inference` settings, evaluated as the challenge
  grades them (the official subset of a 2021 key: metrics.json's `per_subset`);
- **arena**: the first window of every trial, scored as an utterance of its own
  (`<set>/scores.arena.txt`, evaluated into `metrics.arena.json` over all trials). A model whose
  own scoring is that window already (`inference.mode: first` on 64,600 samples: the published
  AASIST, the zoo's models) gets it from the same scoring pass.

A submission is the score file `scores.txt` (`<utterance_id> <score>`, higher = bona fide),
uploaded to the submitter's Hugging Face model repository, and a YAML file (schema 4) naming
that upload by a pinned URL and its sha256, with the trial and skipped counts
(`write_submission`). Utterance ids are the audio files' names without their extension, which
are the trial ids of the ASVspoof keys.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import yaml

ARENA_WINDOW = 64600  # samples at 16 kHz: the first 4.04 s
ARENA_RATE = 16000
ARENA_SCORES = "scores.arena.txt"
ARENA_METRICS = "metrics.arena.json"
SCHEMA_VERSION = 4


def uses_arena_window(config: Mapping[str, Any], sample_rate: int) -> bool:
    """Whether an experiment's own scoring is the Arena's: the first window of 64,600 samples
    at 16 kHz, so that its official scores are its Arena scores."""
    inference = config["inference"]
    seconds = inference["segment_seconds"]
    return (
        inference["mode"] == "first"
        and sample_rate == ARENA_RATE
        and round(seconds * sample_rate) == ARENA_WINDOW
    )


def first_windows(
    entries: Iterable[tuple[str, str]], sample_rate: int, window: int = ARENA_WINDOW
) -> Iterator[tuple[str, np.ndarray]]:
    """`(utt, samples)`: the first `window` samples of each `(utt, path)` at `sample_rate`,
    read as far as they need (antispoof.data.stream), a shorter recording repeat-padded."""
    from antispoof.data.stream import open_audio

    for utt, path in entries:
        yield utt, open_audio(path).first_window(sample_rate, window)


def arena_scores(
    scorer: Any, entries: Iterable[tuple[str, str]], batch_size: int
) -> dict[str, float]:
    """Every trial's first window scored by `scorer` (an antispoof.inference.WindowScorer whose
    window is the Arena's), in batches."""
    scores: dict[str, float] = {}
    batch: list[tuple[str, np.ndarray]] = []

    def run() -> None:
        values, _ = scorer(np.stack([samples for _, samples in batch]))
        scores.update((utt, float(value)) for (utt, _), value in zip(batch, values, strict=True))

    for item in first_windows(entries, scorer.sample_rate, scorer.window_samples):
        batch.append(item)
        if len(batch) == batch_size:
            run()
            batch = []
    if batch:
        run()
    return scores


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def write_submission(
    scores: Mapping[str, float],
    ids: Mapping[str, str],
    out_dir: Path,
    dataset: str,
    system: Mapping[str, Any],
    eer: float | None,
    commit: str,
) -> tuple[Path, Path]:
    """`out_dir/scores.txt` and `out_dir/<slug>.yaml` of a submission to the Arena.

    `scores`: utt -> score of every scored trial; `ids`: utt -> the Arena's utterance id of every
    trial of the key (a trial without a score counts as skipped); `system`: name, slug,
    description, code, checkpoint; `eer`: the Arena-protocol EER (a fraction) as computed here.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    scores_file = out_dir / "scores.txt"
    scored = [utt for utt in ids if utt in scores]
    with scores_file.open("w", encoding="utf-8") as handle:
        handle.writelines(f"{ids[utt]} {scores[utt]:.9g}\n" for utt in scored)
    record = {
        "schema_version": SCHEMA_VERSION,
        "system": dict(system),
        "dataset": {"id": dataset, "split": "test"},
        "scores": {
            "eer_percent": None if eer is None else round(100 * eer, 4),
            "n_trials": len(ids),
            "n_skipped": len(ids) - len(scored),
        },
        "artifact": {
            "scores_url": "<the pinned URL of scores.txt once uploaded: "
            "https://huggingface.co/<owner>/<repo>/resolve/<commit sha>/.eval_results/"
            f"{dataset}/scores.txt>",
            "scores_sha256": sha256_of(scores_file),
        },
        "generated_by": f"antispoof {commit}",
        "protocol": (
            f"every trial of the key, the first {ARENA_WINDOW} samples at {ARENA_RATE} Hz, "
            "a shorter trial repeat-padded"
        ),
    }
    yaml_file = out_dir / f"{system['slug']}.yaml"
    yaml_file.write_text(yaml.safe_dump(record, sort_keys=False), encoding="utf-8")
    return scores_file, yaml_file

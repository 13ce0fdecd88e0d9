r"""Draw a t-SNE map of a trained detector's embeddings, bona fide against spoof, one panel per
data directory (the embedding maps of the WaveSpec paper).

Usage:
    python -m antispoof.bin.tsne --exp_dir exp/<tag> --data_dir data/dev --data_dir data/eval \
        --out exp/<tag>/tsne.png [--per_class N] [--checkpoint best|last|PATH] [--ngpu N]

The embedding is the model's output before the loss's output layer, averaged over an
utterance's scoring segments as its score is. Each data directory contributes up to N bona fide
and N spoof utterances (default: the experiment's `inference.tsne_per_class`; 0 draws nothing),
the same ones on every run: the first N of each class in the order of a hash of their ids. One
t-SNE is fitted on every directory's sample together, so the panels share one map. Beside the
PNG, `<out>.tsv` lists `<set> <utt> <label> <x> <y>`.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
from pathlib import Path

import numpy as np
import torch
from matplotlib.figure import Figure

from antispoof.bin._cli import run_main
from antispoof.data.batch import Batch
from antispoof.data.dataset import read_labels
from antispoof.detector import Detector
from antispoof.experiment import load_detector
from antispoof.labels import BONAFIDE, SPOOF
from antispoof.scoring import scoring_reader, segment_means
from antispoof.training.device import select_device

log = logging.getLogger("antispoof.tsne")
# t-SNE's default perplexity (van der Maaten and Hinton), lowered for tiny samples.
PERPLEXITY = 30.0


def embedding(detector: Detector, batch: Batch) -> torch.Tensor:
    return detector.embed(batch)


def sample_utterances(labels: dict[str, int], per_class: int) -> list[str]:
    """Up to `per_class` utterances of each class, the same ones on every run."""
    chosen = []
    for label in (BONAFIDE, SPOOF):
        utts = sorted(
            (utt for utt, value in labels.items() if value == label),
            key=lambda utt: hashlib.sha1(utt.encode()).hexdigest(),
        )
        chosen.extend(utts[:per_class])
    return chosen


def fit_tsne(points: np.ndarray, seed: int) -> np.ndarray:
    from sklearn.manifold import TSNE  # only this needs it; importing it costs a second

    perplexity = min(PERPLEXITY, (len(points) - 1) / 3)
    return TSNE(2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(points)


def plot(
    path: Path,
    sets: list[str],
    coords: np.ndarray,
    set_index: np.ndarray,
    labels: np.ndarray,
    title: str,
) -> None:
    """One panel per set: its points of `coords` (those whose `set_index` is the panel's),
    coloured by `labels`."""
    fig = Figure(figsize=(5 * len(sets), 5))
    for panel, name in enumerate(sets):
        ax = fig.add_subplot(1, len(sets), panel + 1)
        for label, text, colour in (
            (SPOOF, "spoof", "tab:red"),
            (BONAFIDE, "bona fide", "tab:blue"),
        ):
            mask = (set_index == panel) & (labels == label)
            ax.scatter(
                *coords[mask].T, s=4, alpha=0.6, color=colour, label=f"{text} ({mask.sum()})"
            )
        ax.set_title(name)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.legend(loc="best", markerscale=3)
    fig.suptitle(title)
    fig.savefig(path, dpi=120, bbox_inches="tight")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--exp_dir", required=True, type=Path)
    parser.add_argument("--data_dir", required=True, type=Path, action="append")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--per_class", type=int, default=None)
    parser.add_argument("--checkpoint", default="best", help="best, last, or a path")
    parser.add_argument("--ngpu", type=int, default=None)
    args = parser.parse_args(argv)
    device = select_device(args.ngpu)
    config, detector = load_detector(args.exp_dir, args.checkpoint, device)
    inference = config["inference"]
    per_class = inference["tsne_per_class"] if args.per_class is None else args.per_class
    if per_class < 1:
        log.info("no t-SNE map for %s: inference.tsne_per_class is 0", args.exp_dir)
        return 0
    sets, chunks, set_index, classes, utts = [], [], [], [], []
    for data_dir in args.data_dir:
        labels = read_labels(data_dir)
        chosen = sample_utterances(labels, per_class)
        reader = scoring_reader(detector, data_dir, inference)
        means = segment_means(detector, reader, chosen, inference, device, outputs=embedding)
        chunks.append(means.numpy())
        set_index += [len(sets)] * len(chosen)
        classes += [labels[utt] for utt in chosen]
        utts += chosen
        sets.append(data_dir.name)
    points = np.concatenate(chunks)
    if len(points) < 4:
        raise ValueError(f"{len(points)} utterance(s) in {args.data_dir}: too few for a t-SNE map")
    coords = fit_tsne(points, config["train"]["seed"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    set_array, class_array = np.array(set_index), np.array(classes)
    plot(args.out, sets, coords, set_array, class_array, f"t-SNE of {args.exp_dir.name} embeddings")
    tmp = args.out.with_name(args.out.name + ".tsv.tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        for index, utt in enumerate(utts):
            label = "bonafide" if classes[index] == BONAFIDE else "spoof"
            x, y = coords[index]
            handle.write(f"{sets[set_index[index]]} {utt} {label} {x:.6g} {y:.6g}\n")
    os.replace(tmp, args.out.with_name(args.out.name + ".tsv"))
    log.info("t-SNE of %d embeddings of %s: %s", len(points), ", ".join(sets), args.out)
    return 0


if __name__ == "__main__":
    run_main(main, "tsne")

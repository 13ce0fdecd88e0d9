r"""Score a data directory with a trained experiment: `<utt> <score>`, higher = more bona fide.

Usage:
    python -m antispoof.bin.score --exp_dir exp/<tag> --data_dir data/eval --out scores.txt \
        [--cache <branch>=dump/<branch_tag>/eval/feats.scp ...] [--checkpoint best|last|PATH] \
        [--arena_out scores.arena.txt] [--ngpu N]

Scoring is deterministic: the `inference` block of the experiment's config says how (segment
windows averaged, the first window only, or the full utterance). Run on a split of the data
directory for parallel jobs.

--arena_out also writes the scores of the Speech Anti-Spoofing Arena's protocol (antispoof.arena:
each trial's first 64,600 samples, scored as an utterance of its own): the same scores when the
experiment's own scoring is that window, else from a second pass over the first windows only.
"""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path

from antispoof.arena import ARENA_WINDOW, arena_scores, uses_arena_window
from antispoof.bin._cli import branch_caches, run_main
from antispoof.data.kaldi_files import read_table
from antispoof.experiment import load_detector
from antispoof.inference import TorchWindowScorer
from antispoof.scoring import score_utterances, scoring_reader
from antispoof.training.device import select_device


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--exp_dir", required=True, type=Path)
    parser.add_argument("--data_dir", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument(
        "--cache",
        action="append",
        default=[],
        help="<branch>=<feats.scp> covering the data directory (repeatable)",
    )
    parser.add_argument("--checkpoint", default="best", help="best, last, or a path")
    parser.add_argument("--arena_out", type=Path, help="also the Arena protocol's scores")
    parser.add_argument("--ngpu", type=int, default=None)
    args = parser.parse_args(argv)
    device = select_device(args.ngpu)
    config, detector = load_detector(args.exp_dir, args.checkpoint, device)
    utts = list(read_table(args.data_dir / "wav.scp"))
    reader = scoring_reader(
        detector,
        args.data_dir,
        config["inference"],
        branch_caches(args.cache, "--cache"),
    )
    scores = score_utterances(detector, reader, utts, config["inference"], device)
    not_finite = [utt for utt in utts if not math.isfinite(scores[utt])]
    if not_finite:
        raise ValueError(
            f"{len(not_finite)} score(s) of {args.data_dir} are not finite, e.g. "
            f"{', '.join(not_finite[:5])}; nothing was written to {args.out}: check the model "
            "(a diverged checkpoint?) and the audio of these utterances"
        )
    write_scores(args.out, utts, scores)
    if args.arena_out is not None:
        rate = next(iter(detector.specs.values())).sample_rate
        if not uses_arena_window(config, rate):
            scorer = TorchWindowScorer(detector, config, device, ARENA_WINDOW)
            paths = read_table(args.data_dir / "wav.scp")
            size = config["inference"]["batch_size"]
            scores = arena_scores(scorer, ((utt, paths[utt]) for utt in utts), size)
        write_scores(args.arena_out, utts, scores)
    return 0


def write_scores(out: Path, utts: list[str], scores: dict[str, float]) -> None:
    """`<utt> <score>` lines, written atomically."""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        handle.writelines(f"{utt} {scores[utt]:.9g}\n" for utt in utts)
    os.replace(tmp, out)


if __name__ == "__main__":
    run_main(main, "score")

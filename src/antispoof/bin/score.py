r"""Score a data directory with a trained experiment: `<utt> <score>`, higher = more bona fide.

Usage:
    python -m antispoof.bin.score --exp_dir exp/<tag> --data_dir data/eval --out scores.txt \
        [--cache <branch>=dump/<branch_tag>/eval/feats.scp ...] [--checkpoint best|last|PATH] \
        [--ngpu N]

Scoring is deterministic: the `inference` block of the experiment's config says how (segment
windows averaged, the first window only, or the full utterance). Run on a split of the data
directory for parallel jobs.
"""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path

from antispoof.bin._cli import branch_caches, run_main
from antispoof.data.kaldi_files import read_table
from antispoof.experiment import load_detector
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
    parser.add_argument("--ngpu", type=int, default=None)
    args = parser.parse_args(argv)
    device = select_device(args.ngpu)
    config, detector = load_detector(args.exp_dir, args.checkpoint, device)
    utts = list(read_table(args.data_dir / "wav.scp"))
    reader = scoring_reader(
        detector,
        args.data_dir,
        config["inference"],
        config["train"]["crop_seconds"],
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
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_name(args.out.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        handle.writelines(f"{utt} {scores[utt]:.9g}\n" for utt in utts)
    os.replace(tmp, args.out)
    return 0


if __name__ == "__main__":
    run_main(main, "score")

"""Train the detector of an experiment directory (reads only `<exp_dir>/config.yaml`).

Usage:
    python -m antispoof.bin.train --exp_dir exp/<tag> --train_dir data/train --dev_dir data/dev \
        [--train_feats dump/<frontend_tag>/train/feats.scp] \
        [--dev_feats dump/<frontend_tag>/dev/feats.scp] [--ngpu N]

Without feature caches, the frontend runs on the fly. Writes `checkpoints/{last,best}.pt`,
TensorBoard events under `tensorboard/`, `train.log` and `train_summary.json`. Re-running
resumes from `checkpoints/last.pt`.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from antispoof.bin._cli import run_main
from antispoof.config import read_resolved
from antispoof.training.device import select_device
from antispoof.training.trainer import Trainer, TrainingData


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--exp_dir", required=True, type=Path)
    parser.add_argument("--train_dir", required=True, type=Path)
    parser.add_argument("--dev_dir", required=True, type=Path)
    parser.add_argument("--train_feats", type=Path, help="feats.scp of the training set")
    parser.add_argument("--dev_feats", type=Path, help="feats.scp of the dev set")
    parser.add_argument("--ngpu", type=int, default=None, help="0: CPU; default: a GPU if present")
    args = parser.parse_args(argv)
    handler = logging.FileHandler(args.exp_dir / "train.log")
    handler.setFormatter(logging.getLogger().handlers[0].formatter)
    logging.getLogger().addHandler(handler)
    config = read_resolved(args.exp_dir / "config.yaml")
    data = TrainingData(args.train_dir, args.dev_dir, args.train_feats, args.dev_feats)
    Trainer(args.exp_dir, config, data, select_device(args.ngpu)).run()
    return 0


if __name__ == "__main__":
    run_main(main, "train")

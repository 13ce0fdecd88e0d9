r"""Train the detector of an experiment directory (reads only `<exp_dir>/config.yaml`).

Usage:
    python -m antispoof.bin.train --exp_dir exp/<tag> --train_dir data/train --dev_dir data/dev \
        [--train_cache <branch>=dump/<branch_tag>/train/feats.scp ...] \
        [--dev_cache <branch>=dump/<branch_tag>/dev/feats.scp ...] [--ngpu N] \
        [--dist_timeout MINUTES]
    python -m torch.distributed.run --standalone --nproc_per_node N -m antispoof.bin.train \
        ... --ngpu N     # N GPUs, one process each (--ngpu 0: N CPU processes)

A branch without a cache runs on the device, with the same features. Writes
`checkpoints/{last,best}.pt`, TensorBoard events under `tensorboard/`, `train.log` and
`train_summary.json`. Re-running resumes from `checkpoints/last.pt`. Under torchrun
(steps/train.sh --ngpu N, --nproc N or --num_nodes M starts it) rank 0 writes all of these;
the other processes log only warnings and errors, to stderr; a process that waits longer than
`--dist_timeout` minutes for the others in a collective stops the job.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from antispoof.bin._cli import branch_caches, run_main
from antispoof.config import read_resolved
from antispoof.training.device import select_device
from antispoof.training.distributed import (
    DEFAULT_TIMEOUT_MINUTES,
    process_group,
    torchrun_ranks,
)
from antispoof.training.trainer import Trainer, TrainingData


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--exp_dir", required=True, type=Path)
    parser.add_argument("--train_dir", required=True, type=Path)
    parser.add_argument("--dev_dir", required=True, type=Path)
    parser.add_argument(
        "--train_cache",
        action="append",
        default=[],
        help="<branch>=<feats.scp> of the training set (repeatable)",
    )
    parser.add_argument(
        "--dev_cache", action="append", default=[], help="<branch>=<feats.scp> of the dev set"
    )
    parser.add_argument(
        "--ngpu",
        type=int,
        default=None,
        help="0: CPU; N: GPUs per node (N > 1: under torchrun); default: a GPU if present",
    )
    parser.add_argument(
        "--dist_timeout",
        type=float,
        default=DEFAULT_TIMEOUT_MINUTES,
        help="minutes a process waits for the others in a collective under torchrun "
        f"(default: {DEFAULT_TIMEOUT_MINUTES:g})",
    )
    args = parser.parse_args(argv)
    if not args.dist_timeout > 0:
        parser.error(f"--dist_timeout must be a positive number of minutes: {args.dist_timeout}")
    ranks = torchrun_ranks()
    root = logging.getLogger()
    if ranks is None or ranks.is_main:
        handler = logging.FileHandler(args.exp_dir / "train.log")
        handler.setFormatter(root.handlers[0].formatter)
        root.addHandler(handler)
    else:
        root.setLevel(logging.WARNING)
    device = select_device(args.ngpu, ranks)
    config = read_resolved(args.exp_dir / "config.yaml")
    data = TrainingData(
        args.train_dir,
        args.dev_dir,
        branch_caches(args.train_cache, "--train_cache"),
        branch_caches(args.dev_cache, "--dev_cache"),
    )
    with process_group(ranks, device, args.dist_timeout):
        Trainer(args.exp_dir, config, data, device).run()
    return 0


if __name__ == "__main__":
    run_main(main, "train")

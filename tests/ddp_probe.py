"""`antispoof.bin.train` under torchrun, recording what each process computed (tests/test_ddp.py).

Usage:
    python -m torch.distributed.run --standalone --nproc_per_node N tests/ddp_probe.py \
        <probe dir> <antispoof.bin.train options...>

Writes `<probe dir>/rank<r>.pt` per process: the dev scores and EER it computed each epoch, its
detector's state at the end, and how many backward passes ran under DDP's `no_sync` (gradient
accumulation without the all-reduce). With DDP_PROBE_STOP_AT=<epoch>, every process stops at the
start of that epoch as an interruption would, after the checkpoint of the epoch before.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import torch
from torch.nn.parallel import DistributedDataParallel

from antispoof.bin import train
from antispoof.bin._cli import run_main
from antispoof.training import trainer


def main() -> None:
    probe_dir = Path(sys.argv[1])
    argv = sys.argv[2:]
    rank = int(os.environ["RANK"])
    stop_at = int(os.environ.get("DDP_PROBE_STOP_AT", "0"))
    dev: list[dict[str, Any]] = []

    dev_eer = trainer._dev_eer

    def recorded_dev_eer(scores: dict[str, float], labels: dict[str, int]) -> float:
        eer = dev_eer(scores, labels)
        dev.append({"scores": dict(scores), "eer": eer})
        return eer

    train_epoch = trainer.Trainer._train_epoch

    def stopping_train_epoch(self: trainer.Trainer, epoch: int, writer: Any) -> float:
        if epoch == stop_at:
            raise KeyboardInterrupt
        return train_epoch(self, epoch, writer)

    no_sync = DistributedDataParallel.no_sync
    unsynced = []

    def counted_no_sync(self: DistributedDataParallel) -> Any:
        unsynced.append(1)
        return no_sync(self)

    run = trainer.Trainer.run

    def recorded_run(self: trainer.Trainer) -> dict[str, Any]:
        summary = run(self)
        probe_dir.mkdir(parents=True, exist_ok=True)
        state = {"dev": dev, "detector": self.detector.state_dict(), "no_sync": len(unsynced)}
        torch.save(state, probe_dir / f"rank{rank}.pt")
        return summary

    trainer._dev_eer = recorded_dev_eer
    trainer.Trainer._train_epoch = stopping_train_epoch
    trainer.Trainer.run = recorded_run
    DistributedDataParallel.no_sync = counted_no_sync  # type: ignore[method-assign]
    run_main(lambda _: train.main(argv), "train")


if __name__ == "__main__":
    main()

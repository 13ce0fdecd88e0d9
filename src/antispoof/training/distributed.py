"""Data-parallel training under torchrun (`python -m torch.distributed.run`): one process per
device, on one node or several (docs/DESIGN.md, stage 3).

torchrun starts the processes and tells each where it stands in its environment: RANK (0 to
WORLD_SIZE - 1 over every node), WORLD_SIZE, LOCAL_RANK (its device on the node) and
LOCAL_WORLD_SIZE, with the rendezvous address that `init_process_group` reads. Outside torchrun
a run is one process, and each collective below is what one process needs (the identity), so
that the trainer has a single code path.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

# How long a process waits in a collective for the others (steps/train.sh --dist_timeout).
DEFAULT_TIMEOUT_MINUTES = 30.0


@dataclass(frozen=True)
class Ranks:
    """Where a process stands in a torchrun job."""

    rank: int
    world_size: int
    local_rank: int
    local_world_size: int

    @property
    def is_main(self) -> bool:
        """Rank 0 writes the checkpoints, TensorBoard events and train.log."""
        return self.rank == 0


def torchrun_ranks() -> Ranks | None:
    """The place torchrun gave this process, or None when it runs on its own."""
    if "RANK" not in os.environ:
        return None
    return Ranks(
        rank=int(os.environ["RANK"]),
        world_size=int(os.environ["WORLD_SIZE"]),
        local_rank=int(os.environ["LOCAL_RANK"]),
        local_world_size=int(os.environ["LOCAL_WORLD_SIZE"]),
    )


@contextmanager
def process_group(
    ranks: Ranks | None, device: torch.device, timeout_minutes: float = DEFAULT_TIMEOUT_MINUTES
) -> Iterator[None]:
    """Join the job's process group for the block (NCCL on GPUs, gloo on CPUs) and leave it
    however the block ends; outside torchrun, nothing.

    A collective that some process has not reached after `timeout_minutes` stops the job (NCCL's
    own default is 10 minutes): while rank 0 writes a checkpoint of a large encoder to a network
    file system, or a process scores a dev share of longer utterances, the others wait.
    """
    if ranks is None:
        yield
        return
    # The node's processes share its threads: antispoof.threads gave each its part.
    timeout = timedelta(minutes=timeout_minutes)
    if device.type == "cuda":
        torch.cuda.set_device(device)
        dist.init_process_group("nccl", device_id=device, timeout=timeout)
    else:
        dist.init_process_group("gloo", timeout=timeout)
    try:
        yield
    finally:
        dist.destroy_process_group()


def rank_and_size() -> tuple[int, int]:
    """(rank, world size) of this process: (0, 1) outside a process group."""
    if not dist.is_initialized():
        return 0, 1
    return dist.get_rank(), dist.get_world_size()


def sum_over_ranks(values: Sequence[float], device: torch.device) -> list[float]:
    """The element-wise sums of `values` over every process (in float64)."""
    if not dist.is_initialized():
        return list(values)
    summed = torch.tensor(values, dtype=torch.float64, device=device)
    dist.all_reduce(summed)
    return summed.tolist()


def gather_dicts(part: Mapping[str, Any]) -> dict[str, Any]:
    """The union of every process's `part` (each process holds a share of the keys)."""
    if not dist.is_initialized():
        return dict(part)
    parts: list[Mapping[str, Any] | None] = [None] * dist.get_world_size()
    dist.all_gather_object(parts, dict(part))
    return {key: value for share in parts if share is not None for key, value in share.items()}


def gather_objects(value: Any) -> list[Any]:
    """Every process's `value`, in the order of the ranks."""
    if not dist.is_initialized():
        return [value]
    values: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(values, value)
    return values


def broadcast_buffers(module: nn.Module) -> None:
    """Give every process rank 0's buffers (BatchNorm running statistics)."""
    if not dist.is_initialized():
        return
    for buffer in module.buffers():
        dist.broadcast(buffer, src=0)

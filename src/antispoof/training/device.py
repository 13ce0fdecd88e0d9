"""Device and precision choice: the same recipe runs on a laptop CPU, a GPU, or under torchrun
on several GPUs (one process each) or several CPU processes."""

from __future__ import annotations

import torch

from antispoof.errors import DeviceError
from antispoof.training.distributed import Ranks


def select_device(ngpu: int | None, ranks: Ranks | None = None) -> torch.device:
    """The device of this process.

    `ngpu` None: a GPU when one is present, else the CPU; 0: the CPU; N > 0: N GPUs per node,
    which for N > 1 means N processes started by torchrun (`ranks`), each on the GPU of its
    local rank.
    """
    available = torch.cuda.is_available()
    if ngpu is None:
        ngpu = (ranks.local_world_size if ranks else 1) if available else 0
    if ngpu == 0:
        return torch.device("cpu")
    if not available:
        raise DeviceError(
            f"--ngpu {ngpu} asked for {'GPUs' if ngpu > 1 else 'a GPU'}, but torch sees none; "
            "use --ngpu 0 for the CPU"
        )
    if ranks is None:
        if ngpu > 1:
            raise DeviceError(
                f"--ngpu {ngpu}: a process uses one GPU; training on {ngpu} GPUs runs one "
                f"process per GPU under torchrun: steps/train.sh --ngpu {ngpu}, or python -m "
                f"torch.distributed.run --standalone --nproc_per_node {ngpu} -m "
                f"antispoof.bin.train ... --ngpu {ngpu}"
            )
        return torch.device("cuda")
    if ngpu != ranks.local_world_size:
        raise DeviceError(
            f"--ngpu {ngpu}, but torchrun started {ranks.local_world_size} processes on this "
            f"node: one process per GPU (--nproc_per_node {ngpu})"
        )
    if ranks.local_rank >= torch.cuda.device_count():
        raise DeviceError(
            f"process {ranks.local_rank} of this node needs GPU {ranks.local_rank}, but torch "
            f"sees {torch.cuda.device_count()} (CUDA_VISIBLE_DEVICES: the job's GPUs)"
        )
    return torch.device("cuda", ranks.local_rank)


def autocast_dtype(device: torch.device, precision: str) -> torch.dtype | None:
    """bf16 autocast on a GPU when asked for; the CPU always trains in float32."""
    if device.type == "cuda" and precision == "bf16":
        return torch.bfloat16
    return None

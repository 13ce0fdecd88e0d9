"""Device and precision choice: the same recipe runs on a laptop CPU, a GPU, or under torchrun
on several GPUs (one process each) or several CPU processes."""

from __future__ import annotations

import logging

import torch

from antispoof.errors import DeviceError
from antispoof.training.distributed import Ranks

log = logging.getLogger("antispoof.device")


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
    """The dtype that `train.precision` gives the autocast of the input branches and the model
    on `device`, or None for float32 (the loss and score heads always compute in float32:
    antispoof.detector).

    The CPU always computes in float32. On a GPU, `fp32` is float32; `bf16` is bfloat16 where the
    GPU computes it natively (compute capability 8.0 and up: A100, H100, RTX 30xx and later, and
    ROCm GPUs); a GPU that only emulates it (T4, V100) would run bf16 slower than float32, so it
    runs float32, with a warning. `auto` is the best the GPU supports: bfloat16 where native,
    else float16, whose gradients the trainer scales (torch.amp.GradScaler).
    """
    if device.type != "cuda" or precision == "fp32":
        return None
    if native_bf16(device):
        return torch.bfloat16
    if precision == "auto":
        return torch.float16
    log.warning(
        "train.precision bf16: %s only emulates bfloat16, which would run slower than "
        "float32; computing in float32 (train.precision auto would use float16)",
        torch.cuda.get_device_name(device),
    )
    return None


def native_bf16(device: torch.device) -> bool:
    """Whether the GPU `device` computes bfloat16 natively rather than emulating it."""
    with torch.cuda.device(device):
        return torch.cuda.is_bf16_supported(including_emulation=False)

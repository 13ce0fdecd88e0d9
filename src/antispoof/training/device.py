"""Device and precision choice: the same recipe runs on a laptop CPU and on a GPU."""

from __future__ import annotations

import torch

from antispoof.errors import DeviceError


def select_device(ngpu: int | None) -> torch.device:
    """`None`: a GPU when one is present, else the CPU; 0: the CPU; 1: the GPU (or an error)."""
    available = torch.cuda.is_available()
    if ngpu is None:
        ngpu = 1 if available else 0
    if ngpu == 0:
        return torch.device("cpu")
    if not available:
        raise DeviceError(
            f"--ngpu {ngpu} asked for a GPU, but torch sees none; use --ngpu 0 for the CPU"
        )
    if ngpu > 1:
        raise DeviceError(
            f"--ngpu {ngpu}: multi-GPU training (torchrun / DDP) is not implemented yet; "
            "use --ngpu 1"
        )
    return torch.device("cuda")


def autocast_dtype(device: torch.device, precision: str) -> torch.dtype | None:
    """bf16 autocast on a GPU when asked for; the CPU always trains in float32."""
    if device.type == "cuda" and precision == "bf16":
        return torch.bfloat16
    return None

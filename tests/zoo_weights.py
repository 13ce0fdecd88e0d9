"""Deterministic weights for the zoo's golden-value tests, drawn by parameter name (not by
position), so that the official model and ours, whose state_dicts order their keys differently,
get the same tensor for the same official key. The same function ran beside the official code."""

import zlib

import torch


def zoo_weight(name: str, shape: torch.Size | tuple[int, ...]) -> torch.Tensor:
    """The tensor of official key `name`: generator seed crc32(name); BN statistics that are not
    the identity, small biases, Mamba's A_log near its S4D-real initialisation, weights of the
    scale of a trained network (fan-in scaled)."""
    shape = torch.Size(shape)
    generator = torch.Generator().manual_seed(zlib.crc32(name.encode()))
    if name.endswith("num_batches_tracked"):
        return torch.tensor(0)
    if name.endswith("running_var"):
        return 0.5 + torch.rand(shape, generator=generator)
    if name.endswith(("running_mean", "bias")):
        return 0.1 * torch.randn(shape, generator=generator)
    if name.endswith("A_log"):
        s4d = torch.log(torch.arange(1, shape[1] + 1).float()).expand(shape)
        return s4d + 0.1 * torch.randn(shape, generator=generator)
    if len(shape) == 1:
        return 1 + 0.1 * torch.randn(shape, generator=generator)
    fan_in = torch.Size(shape[1:]).numel()
    return torch.randn(shape, generator=generator) * fan_in**-0.5

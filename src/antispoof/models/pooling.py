"""Attentive statistics pooling as in the OC-Softmax ResNet (AIR-ASVspoof `SelfAttention`)."""

from __future__ import annotations

import torch
from torch import nn


class AttentiveMeanStdPooling(nn.Module):
    """`w = softmax_t(tanh(x a))`; output `[sum_t w x, std_t(w x)]` (2 x channels).

    The second half is the standard deviation of the weighted features, as in the published
    model, not a weighted standard deviation. The published code adds 1e-5 Gaussian noise before
    the std so its gradient stays finite on constant inputs; here that happens only in training,
    so scoring is deterministic.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.attention = nn.Parameter(torch.empty(1, channels))
        nn.init.kaiming_uniform_(self.attention)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """`x`: `(B, T, C)` -> `(B, 2C)`."""
        weights = torch.softmax(torch.tanh(x @ self.attention.T), dim=1)
        weighted = x * weights
        if self.training:
            weighted_for_std = weighted + 1e-5 * torch.randn_like(weighted)
        else:
            weighted_for_std = weighted
        return torch.cat([weighted.sum(dim=1), weighted_for_std.std(dim=1)], dim=1)

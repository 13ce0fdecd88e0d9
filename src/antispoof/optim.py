"""Optimizer and learning-rate scheduler registries (torch.optim classes, checked like any part)."""

from __future__ import annotations

import torch

from antispoof.registry import Registry

OPTIMIZERS: Registry[torch.optim.Optimizer] = Registry("optim")
OPTIMIZERS.register("adam")(torch.optim.Adam)
OPTIMIZERS.register("adamw")(torch.optim.AdamW)
OPTIMIZERS.register("sgd")(torch.optim.SGD)

SCHEDULERS: Registry[torch.optim.lr_scheduler.LRScheduler] = Registry("scheduler")
# Stepped once per epoch.
SCHEDULERS.register("steplr")(torch.optim.lr_scheduler.StepLR)
SCHEDULERS.register("cosine")(torch.optim.lr_scheduler.CosineAnnealingLR)
SCHEDULERS.register("exponential")(torch.optim.lr_scheduler.ExponentialLR)
SCHEDULERS.register("constant")(torch.optim.lr_scheduler.ConstantLR)

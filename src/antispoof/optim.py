"""Optimizer and learning-rate scheduler registries (torch.optim classes, checked like any part)."""

from __future__ import annotations

from typing import Any

import torch

from antispoof.registry import Registry

OPTIMIZERS: Registry[torch.optim.Optimizer] = Registry("optim")
OPTIMIZERS.register("adam")(torch.optim.Adam)
OPTIMIZERS.register("adamw")(torch.optim.AdamW)
OPTIMIZERS.register("sgd")(torch.optim.SGD)

SCHEDULERS: Registry[torch.optim.lr_scheduler.LRScheduler] = Registry("scheduler")
# Stepped once per epoch (a scheduler whose `per_step` is true is stepped after every optimizer
# step instead, and told each epoch's dev EER by `epoch_end`).
SCHEDULERS.register("steplr")(torch.optim.lr_scheduler.StepLR)
SCHEDULERS.register("cosine")(torch.optim.lr_scheduler.CosineAnnealingLR)
SCHEDULERS.register("exponential")(torch.optim.lr_scheduler.ExponentialLR)
SCHEDULERS.register("constant")(torch.optim.lr_scheduler.ConstantLR)
# A linear ramp from start_factor to end_factor of the lr over total_iters epochs (a warm-up).
SCHEDULERS.register("linear")(torch.optim.lr_scheduler.LinearLR)


@SCHEDULERS.register("noam_plateau")
class NoamOnPlateau:
    """Li et al.'s Res2Net schedule (lixucuhk/ASV-anti-spoofing-with-Res2Net, `ScheduledOptim`):
    stepped after every optimizer step, the learning rate is
    `scale * d_model^-0.5 * min(n^-0.5, n * warmup_steps^-1.5)` with `n` advanced by `delta`
    each step (a warm-up to step `warmup_steps`, then an inverse-square-root decay), and
    `delta` doubles, speeding the decay, when the dev figure has not improved for more than
    `patience` epochs. The first step runs at the optimizer's own `lr`, as there.

    Li et al. watch the dev segment accuracy; here the watched figure is the dev EER that also
    selects the checkpoint (lower is better). With their `patience` of 3 (their code doubles
    when `epoch - best_epoch > 2`, `best_epoch` being one past the improving epoch), the fourth
    epoch in a row without improvement doubles `delta` and starts the count again.
    """

    # The trainer steps this after every optimizer step, and reports each epoch's dev EER.
    per_step = True

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        d_model: int = 64,
        warmup_steps: int = 1000,
        patience: int = 3,
        scale: float = 1.0,
    ) -> None:
        if d_model < 1 or warmup_steps < 1 or patience < 0 or scale <= 0:
            raise ValueError(
                "noam_plateau needs d_model >= 1, warmup_steps >= 1, patience >= 0 and scale > 0"
            )
        self.optimizer = optimizer
        self.d_model = d_model
        self.warmup_steps = warmup_steps
        self.patience = patience
        self.scale = scale
        self.steps = 0
        self.delta = 1
        self.best: float | None = None
        self.stalled_epochs = 0

    def learning_rate(self, steps: int) -> float:
        return self.scale * self.d_model**-0.5 * min(steps**-0.5, steps * self.warmup_steps**-1.5)

    def step(self) -> None:
        """After an optimizer step: the learning rate of the next one."""
        self.steps += self.delta
        for group in self.optimizer.param_groups:
            group["lr"] = self.learning_rate(self.steps)

    def epoch_end(self, dev_figure: float) -> None:
        """After an epoch, its dev figure (lower is better)."""
        if self.best is None or dev_figure < self.best:
            self.best = dev_figure
            self.stalled_epochs = 0
            return
        self.stalled_epochs += 1
        if self.stalled_epochs > self.patience:
            self.delta *= 2
            self.stalled_epochs = 0

    def state_dict(self) -> dict[str, Any]:
        return {
            "steps": self.steps,
            "delta": self.delta,
            "best": self.best,
            "stalled_epochs": self.stalled_epochs,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.steps = state["steps"]
        self.delta = state["delta"]
        self.best = state["best"]
        self.stalled_epochs = state["stalled_epochs"]

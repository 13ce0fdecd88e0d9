"""Build the parts of an experiment from its resolved config, with sizes chained between them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from antispoof.frontends import FRONTENDS, Frontend
from antispoof.losses import LOSSES, Objective
from antispoof.models import MODELS, Backbone


@dataclass
class Detector:
    """A frontend, a backbone and the loss that owns the output layer and the scoring rule."""

    frontend: Frontend
    model: Backbone
    loss: Objective

    def to(self, device: torch.device) -> Detector:
        self.frontend.to(device)
        self.model.to(device)
        self.loss.to(device)
        return self

    def train(self, mode: bool = True) -> None:
        self.model.train(mode)
        self.loss.train(mode)

    def state_dict(self) -> dict[str, Any]:
        return {"model": self.model.state_dict(), "loss": self.loss.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.loss.load_state_dict(state["loss"])

    def num_parameters(self) -> int:
        return sum(p.numel() for m in (self.model, self.loss) for p in m.parameters())


def build_detector(config: dict[str, Any]) -> Detector:
    frontend = FRONTENDS.build(config["frontend"], config["frontend_conf"])
    if frontend.trainable:
        raise NotImplementedError(
            f"frontend {config['frontend']!r} is trainable; trainable frontends are not wired "
            "into training yet"
        )
    model = MODELS.build(config["model"], config["model_conf"], input_dim=frontend.output_dim)
    loss = LOSSES.build(config["loss"], config["loss_conf"], embedding_dim=model.embedding_dim)
    return Detector(frontend, model, loss)

"""Build the parts of an experiment from its resolved config, with sizes chained between them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from antispoof.config import read_resolved
from antispoof.frontends import FRONTENDS, Frontend
from antispoof.losses import LOSSES, Objective
from antispoof.markers import StaleWorkError, changed_settings, training_settings
from antispoof.models import MODELS, Backbone
from antispoof.registry import ConfigError
from antispoof.training.checkpoint import load_checkpoint


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
        raise ConfigError(
            f"frontend {config['frontend']!r} is trainable; trainable frontends are not wired "
            "into training yet"
        )
    model = MODELS.build(config["model"], config["model_conf"], input_dim=frontend.output_dim)
    loss = LOSSES.build(config["loss"], config["loss_conf"], embedding_dim=model.embedding_dim)
    return Detector(frontend, model, loss)


def checkpoint_path(exp_dir: str | Path, checkpoint: str) -> Path:
    """`best` or `last` of an experiment, or a checkpoint file given by its path."""
    if checkpoint in ("best", "last"):
        return Path(exp_dir) / "checkpoints" / f"{checkpoint}.pt"
    return Path(checkpoint)


def load_detector(
    exp_dir: str | Path, checkpoint: str = "best", device: torch.device | str = "cpu"
) -> tuple[dict[str, Any], Detector]:
    """An experiment's saved config and its detector with trained weights, on `device`.

    The checkpoint must have been trained under the settings the config holds now: weights of
    another configuration would give scores that belong to neither.
    """
    config = read_resolved(Path(exp_dir) / "config.yaml")
    path = checkpoint_path(exp_dir, checkpoint)
    state = load_checkpoint(path)
    trained_under = state.get("training_settings")
    if trained_under is None:
        raise StaleWorkError(
            f"{path} records no training settings (written by an older version); retrain it "
            "(run.sh --force true --stage 3)"
        )
    changed = changed_settings(trained_under, training_settings(config))
    if changed:
        raise StaleWorkError(
            f"{path} was trained under other settings than {Path(exp_dir) / 'config.yaml'} "
            f"(changed: {', '.join(changed)}); retrain (run.sh --force true --stage 3) or "
            "restore the old config"
        )
    detector = build_detector(config)
    detector.load_state_dict(state["detector"])
    return config, detector.to(torch.device(device))

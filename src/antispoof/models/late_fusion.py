"""Late fusion of several input branches: one single-input model per branch, their embeddings
concatenated and projected.

`branches: {input name: {model: <registered name>, model_conf: {...}}}` builds each branch's
model through the same registry (each reads only its own input); the concatenated embeddings
go through a linear layer to `embedding_dim`. The usual baseline for systems that combine, say,
a cepstral front-end with a self-supervised one, and the simplest way to train a detector with
several input branches.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from antispoof.frontends.base import FeatureSpec
from antispoof.models.base import MODELS, Backbone


@MODELS.register("late_fusion")
class LateFusion(Backbone):
    def __init__(
        self,
        inputs: Mapping[str, FeatureSpec],
        branches: dict[str, dict[str, Any]],
        embedding_dim: int = 256,
    ) -> None:
        super().__init__()
        if not branches:
            raise ValueError("late_fusion needs at least one branch")
        unknown = sorted(set(branches) - set(inputs))
        if unknown:
            raise ValueError(
                f"late_fusion: branches {unknown} are not input branches {sorted(inputs)}"
            )
        models = {}
        for name, block in branches.items():
            extra = sorted(set(block) - {"model", "model_conf"})
            if extra or not isinstance(block.get("model"), str):
                raise ValueError(f"branches.{name} must be {{model: <name>, model_conf: {{...}}}}")
            models[name] = MODELS.build(
                block["model"], block.get("model_conf"), inputs={name: inputs[name]}
            )
        self.branches = nn.ModuleDict(models)
        width = sum(model.embedding_dim for model in models.values())
        self.projection = nn.Linear(width, embedding_dim)
        self.embedding_dim = embedding_dim

    @classmethod
    def resolved_settings(cls, name: str, conf: Any, where: str) -> dict[str, Any]:
        """Every branch model with its complete settings."""
        settings = MODELS.resolved_conf(name, conf, "inputs", where=where)
        branches = {}
        for branch, block in (settings["branches"] or {}).items():
            if not isinstance(block, dict) or not isinstance(block.get("model"), str):
                raise ValueError(
                    f"branches.{branch} must be {{model: <name>, model_conf: {{...}}}}"
                )
            model = block["model"]
            branches[branch] = {
                "model": model,
                "model_conf": MODELS.get(model).resolved_settings(
                    model, block.get("model_conf"), f"{where}.branches.{branch}.model_conf"
                ),
            }
        return {**settings, "branches": branches}

    def forward(self, feats: Mapping[str, torch.Tensor]) -> torch.Tensor:
        embeddings = [model({name: feats[name]}) for name, model in self.branches.items()]
        return self.projection(torch.cat(embeddings, dim=1))

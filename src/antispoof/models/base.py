"""The model contract: named input features in, a fixed-size embedding out; the loss owns the
output layer.

A model is built with the specs of the detector's input branches (`inputs`: name ->
FeatureSpec, supplied by the pipeline, never typed in a config), so that no size is typed twice,
and reads a dict of named feature tensors `(B, C, T, F)`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from antispoof.frontends.base import FeatureSpec
from antispoof.registry import Registry


class Backbone(nn.Module):
    """Maps features `{name: (B, C, T, F)}` to embeddings `(B, embedding_dim)`."""

    embedding_dim: int

    def forward(self, feats: Mapping[str, torch.Tensor]) -> torch.Tensor:
        raise NotImplementedError

    @classmethod
    def resolved_settings(cls, name: str, conf: Any, where: str) -> dict[str, Any]:
        """`conf` of this model (registered as `name`) checked and completed with every
        default, without the pipeline-derived `inputs` (a model whose settings hold other
        models' settings completes those too)."""
        return MODELS.resolved_conf(name, conf, "inputs", where=where)


def single_input(inputs: Mapping[str, FeatureSpec], chosen: str | None, model: str) -> str:
    """The branch a single-input model reads: `chosen`, or the only one there is."""
    if chosen is not None:
        if chosen not in inputs:
            raise ValueError(
                f"{model}: input {chosen!r} is not a branch; the branches are {sorted(inputs)}"
            )
        return chosen
    if len(inputs) != 1:
        raise ValueError(
            f"{model} reads one input branch; name it with `input` (the branches are "
            f"{sorted(inputs)})"
        )
    return next(iter(inputs))


MODELS: Registry[Backbone] = Registry("model")

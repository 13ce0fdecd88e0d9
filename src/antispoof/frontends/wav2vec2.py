"""A wav2vec 2.0 encoder (XLS-R by default) as an input branch: hidden states of chosen layers.

The `ssl` frontend (antispoof.frontends.ssl) restricted to transformers' `Wav2Vec2Model`, with the
settings and defaults it has always had, so that every config naming it resolves as it did (the
same settings, branch tag and features) and its checkpoints load: `model` (a hub name or a local
directory), `layers` (hidden-state indices; the last, 24 for XLS-R 300M, by default), `trainable`,
`gradient_checkpointing`, `normalize`, and `config` (a Wav2Vec2Config dict for a random encoder;
its `model_type`, if given, must be `wav2vec2`). There is no weighted sum here: `ssl` has it. The
hidden-state convention, the overridden SpecAugment and LayerDrop, the attention mask and the
normalisation are ssl's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from antispoof.frontends.base import FRONTENDS
from antispoof.frontends.ssl import SSL, XLSR


@FRONTENDS.register("wav2vec2")
class Wav2Vec2(SSL):
    """Hidden states `(B, len(layers), T, hidden_size)` of a wav2vec 2.0 encoder (XLS-R, MMS,
    wav2vec 2.0 Base and Large), 20 ms frames (hop 320, receptive field 400 samples): the `ssl`
    frontend without a weighted sum; its encoder's configuration must be a wav2vec2 one."""

    family = "wav2vec2"

    def __init__(
        self,
        model: str = XLSR,
        layers: Sequence[int] = (24,),
        trainable: bool = True,
        gradient_checkpointing: bool = False,
        normalize: bool | None = None,
        config: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(
            model=model,
            layers=layers,
            weighted_sum=False,
            trainable=trainable,
            gradient_checkpointing=gradient_checkpointing,
            normalize=normalize,
            config=config,
        )

"""fairseq-named checkpoints of released detectors, read without fairseq.

The released XLS-R detectors (Tak et al.'s SSL-AASIST, XLSR-Mamba) save their whole `Model`: the
fine-tuned fairseq wav2vec 2.0 under `ssl_model.model.*` and the back end under the authors'
names. `split_checkpoint` separates the two; `fairseq_wav2vec2_state_dict` maps the encoder to
transformers' `Wav2Vec2Model` names (what the `wav2vec2` frontend holds); each back end maps its
own keys (`official_backend_state_dict` of its model module).

`fairseq_wav2vec2_state_dict` is the one place that knows fairseq's encoder names, so that a
shared mapping (the `ssl` frontend's) can take its place.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import torch

ENCODER_PREFIX = "ssl_model.model."
# Pre-training parts of a fairseq wav2vec 2.0 checkpoint that no feature depends on.
PRETRAINING_ONLY = ("mask_emb", "quantizer.", "project_q.", "final_proj.")
_POSITIONAL = "encoder.pos_conv_embed.conv."

_ENCODER_RENAMES = (
    (r"feature_extractor\.conv_layers\.(\d+)\.0\.", r"feature_extractor.conv_layers.\1.conv."),
    # layer-norm extractor (XLS-R): Sequential(TransposeLast, LayerNorm, TransposeLast) at 2
    (r"feature_extractor\.conv_layers\.(\d+)\.2\.1\.", r"feature_extractor.conv_layers.\1.layer_norm."),  # noqa: E501
    # group-norm extractor (wav2vec 2.0 base): the first layer's GroupNorm at 2
    (r"feature_extractor\.conv_layers\.0\.2\.", "feature_extractor.conv_layers.0.layer_norm."),
    (r"layer_norm\.", "feature_projection.layer_norm."),
    (r"post_extract_proj\.", "feature_projection.projection."),
    (r"encoder\.pos_conv\.0\.weight_g", f"{_POSITIONAL}parametrizations.weight.original0"),
    (r"encoder\.pos_conv\.0\.weight_v", f"{_POSITIONAL}parametrizations.weight.original1"),
    (r"encoder\.pos_conv\.0\.bias", f"{_POSITIONAL}bias"),
    (r"encoder\.layer_norm\.", "encoder.layer_norm."),
    (r"encoder\.layers\.(\d+)\.self_attn\.", r"encoder.layers.\1.attention."),
    (r"encoder\.layers\.(\d+)\.self_attn_layer_norm\.", r"encoder.layers.\1.layer_norm."),
    (r"encoder\.layers\.(\d+)\.fc1\.", r"encoder.layers.\1.feed_forward.intermediate_dense."),
    (r"encoder\.layers\.(\d+)\.fc2\.", r"encoder.layers.\1.feed_forward.output_dense."),
    (r"encoder\.layers\.(\d+)\.final_layer_norm\.", r"encoder.layers.\1.final_layer_norm."),
)  # fmt: skip


def fairseq_wav2vec2_state_dict(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A fairseq `Wav2Vec2Model` state_dict as transformers' `Wav2Vec2Model` keys; the
    pre-training parts (PRETRAINING_ONLY) are dropped; a key neither maps nor drops is an error.
    The positional convolution's weight norm (`weight_g`, `weight_v`) becomes torch's
    parametrization (`original0`, `original1`), as transformers builds it."""
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        if key.startswith(PRETRAINING_ONLY):
            continue
        for pattern, replacement in _ENCODER_RENAMES:
            if re.match(pattern, key):
                out[re.sub(pattern, replacement, key, count=1)] = value
                break
        else:
            raise KeyError(f"not a key of a fairseq wav2vec 2.0 encoder: {key}")
    return out


def split_checkpoint(
    state: Mapping[str, torch.Tensor], prefix: str = ENCODER_PREFIX
) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """`(encoder, back end)`: the weights under `prefix` (the encoder: `ssl_model.model.` for
    Tak et al.'s and XLSR-Mamba's, `m_ssl.model.` for AntiDeepfake's) without it, and the rest.
    A `module.` prefix (DataParallel) is removed first."""
    encoder: dict[str, torch.Tensor] = {}
    backend: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        key = key.removeprefix("module.")
        if key.startswith(prefix):
            encoder[key.removeprefix(prefix)] = value
        else:
            backend[key] = value
    return encoder, backend


def read_checkpoint(path: Path) -> dict[str, torch.Tensor]:
    """A released checkpoint's state_dict: safetensors by suffix, else a torch file loaded with
    `weights_only=True` (a `state_dict` key holding it is looked into)."""
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(path)
    state = torch.load(path, map_location="cpu", weights_only=True)
    if (
        isinstance(state, Mapping)
        and "state_dict" in state
        and isinstance(state["state_dict"], Mapping)
    ):
        state = state["state_dict"]
    if not isinstance(state, Mapping):
        raise ValueError(f"{path}: not a state_dict (a {type(state).__name__})")
    return dict(state)

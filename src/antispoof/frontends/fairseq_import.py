"""A fairseq wav2vec 2.0 encoder's weights as transformers' `Wav2Vec2Model`, without fairseq.

Most released XLS-R detectors (Tak et al.'s SSL-AASIST, SLS, Nes2Net, XLSR-Mamba, NII's
AntiDeepfake) save their encoder as fairseq's `Wav2Vec2Model` inside their own state dict
(`ssl_model.model.`, `m_ssl.model.`, ...). `fairseq_to_transformers` renames those tensors to
transformers' keys, unchanged, and infers the transformers configuration:

- from the shapes: the convolutional feature encoder (channels, kernels, bias, layer norm on every
  layer or group norm on the first), width, depth, feed-forward size, positional convolution;
- from fairseq's model configuration (`cfg["model"]` of a checkpoint, or the old `args`) when
  given: the strides (`conv_feature_layers`), attention heads, pre- or post-norm
  (`layer_norm_first`), dropouts. Without it: the default strides (5, 2, 2, 2, 2, 2, 2) of a
  stack with the default kernels, the heads of the released encoder of that width, and pre-norm
  exactly where the feature encoder is layer-normalised (XLS-R, MMS, wav2vec 2.0 Large LV-60;
  Base and Large LS-960 are group-normalised and post-norm), as in every released fairseq
  wav2vec 2.0 model (torchaudio.models.wav2vec2's factory functions list them).

The mapping is transformers' own (`convert_wav2vec2_original_pytorch_checkpoint_to_pytorch.py`,
`recursively_load_weights`), which needs fairseq installed and is in transformers' source tree
only; tests/test_fairseq_import.py checks that this one puts every tensor where that one does
(recorded from it in tests/reference/). Pre-training heads (quantizer, `project_q`,
`final_proj`, `target_glu`) are dropped; any other key the encoder does not have is an error, so
a checkpoint of another layout (adapters, HuBERT) is refused instead of half loaded.
"""

from __future__ import annotations

import ast
import re
from argparse import Namespace
from collections.abc import Mapping
from typing import Any

import torch

# Keys of fairseq's pre-training model that the encoder does not use.
PRETRAINING_ONLY = ("quantizer.", "project_q.", "final_proj.", "target_glu.")
# (fairseq key pattern, transformers key template): the same renaming as transformers' MAPPING
# and load_conv_layer. The positional convolution's weight norm is fairseq's `weight_g`/`weight_v`
# (torch.nn.utils.weight_norm) or, saved under a newer torch, its parametrization; transformers
# uses the parametrization.
_CONV = r"feature_extractor\.conv_layers\.(\d+)"
_LAYER = r"encoder\.layers\.(\d+)"
_POS = r"encoder\.pos_conv\.0"
_HF_POS = "encoder.pos_conv_embed.conv"
KEY_MAP = [
    (rf"{_CONV}\.0\.(weight|bias)", r"feature_extractor.conv_layers.\1.conv.\2"),
    # Layer norm in every layer (extractor_mode: layer_norm), or group norm in the first (default).
    (rf"{_CONV}\.2\.1\.(weight|bias)", r"feature_extractor.conv_layers.\1.layer_norm.\2"),
    (
        r"feature_extractor\.conv_layers\.0\.2\.(weight|bias)",
        r"feature_extractor.conv_layers.0.layer_norm.\1",
    ),
    (r"layer_norm\.(weight|bias)", r"feature_projection.layer_norm.\1"),
    (r"post_extract_proj\.(weight|bias)", r"feature_projection.projection.\1"),
    (rf"{_POS}\.bias", f"{_HF_POS}.bias"),
    (
        rf"{_POS}\.(?:weight_g|parametrizations\.weight\.original0)",
        f"{_HF_POS}.parametrizations.weight.original0",
    ),
    (
        rf"{_POS}\.(?:weight_v|parametrizations\.weight\.original1)",
        f"{_HF_POS}.parametrizations.weight.original1",
    ),
    (r"encoder\.layer_norm\.(weight|bias)", r"encoder.layer_norm.\1"),
    (
        rf"{_LAYER}\.self_attn\.([kvq]|out)_proj\.(weight|bias)",
        r"encoder.layers.\1.attention.\2_proj.\3",
    ),
    (rf"{_LAYER}\.self_attn_layer_norm\.(weight|bias)", r"encoder.layers.\1.layer_norm.\2"),
    (rf"{_LAYER}\.fc1\.(weight|bias)", r"encoder.layers.\1.feed_forward.intermediate_dense.\2"),
    (rf"{_LAYER}\.fc2\.(weight|bias)", r"encoder.layers.\1.feed_forward.output_dense.\2"),
    (rf"{_LAYER}\.final_layer_norm\.(weight|bias)", r"encoder.layers.\1.final_layer_norm.\2"),
    ("mask_emb", "masked_spec_embed"),
]
_COMPILED = [(re.compile(pattern), target) for pattern, target in KEY_MAP]

# fairseq's default feature encoder (Wav2Vec2Config.conv_feature_layers), that of every released
# wav2vec 2.0, XLS-R and MMS model: (channels, kernel, stride) per layer.
DEFAULT_KERNELS = (10, 3, 3, 3, 3, 2, 2)
DEFAULT_STRIDES = (5, 2, 2, 2, 2, 2, 2)
# Attention heads of the released fairseq wav2vec 2.0 encoders by width: Base 12; Large, XLS-R
# 300M, MMS-300M 16; XLS-R 1B, MMS-1B 16; XLS-R 2B 16 (torchaudio.models.wav2vec2.model:
# wav2vec2_base, wav2vec2_large(_lv60k), wav2vec2_xlsr_300m / _1b / _2b).
RELEASED_HEADS = {768: 12, 1024: 16, 1280: 16, 1920: 16}
# fairseq's Wav2Vec2Config defaults for the settings a configuration may leave out.
FAIRSEQ_DEFAULTS = {
    "dropout": 0.1,
    "attention_dropout": 0.1,
    "activation_dropout": 0.0,
    "dropout_input": 0.0,
    "encoder_layerdrop": 0.0,
    "activation_fn": "gelu",
}


def fairseq_to_transformers(
    state_dict: Mapping[str, torch.Tensor],
    cfg: Mapping[str, Any] | Namespace | None = None,
    prefix: str = "",
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """`(weights, config)`: the fairseq wav2vec 2.0 encoder held in `state_dict` under `prefix`
    (keys that do not start with it are ignored) as `Wav2Vec2Model` weights, the same tensors,
    and the Wav2Vec2Config settings it has, `model_type` first (the `config` of an `ssl`
    frontend). `cfg`: fairseq's model configuration, when the checkpoint has one; each of its
    entries is optional. A ValueError names a key or setting that cannot be mapped."""
    encoder = {
        key[len(prefix) :]: value for key, value in state_dict.items() if key.startswith(prefix)
    }
    if not encoder:
        raise ValueError(f"no key of the state dict starts with {prefix!r}")
    weights = {}
    for key, value in encoder.items():
        if key.startswith(PRETRAINING_ONLY):
            continue
        weights[_transformers_key(prefix + key, key)] = value
    return weights, infer_config(encoder, cfg)


def _transformers_key(full_name: str, key: str) -> str:
    for pattern, target in _COMPILED:
        if pattern.fullmatch(key):
            return pattern.sub(target, key)
    raise ValueError(
        f"{full_name} is not a key of a fairseq wav2vec 2.0 encoder (adapters and other "
        "models are not supported)"
    )


def infer_config(
    encoder: Mapping[str, torch.Tensor], cfg: Mapping[str, Any] | Namespace | None = None
) -> dict[str, Any]:
    """The Wav2Vec2Config settings of a fairseq encoder's state dict (keys without a prefix)."""
    cfg = dict(vars(cfg) if isinstance(cfg, Namespace) else cfg or {})
    conv = _conv_layers(encoder)
    conv_dim = [int(encoder[f"{key}.0.weight"].shape[0]) for key in conv]
    conv_kernel = [int(encoder[f"{key}.0.weight"].shape[2]) for key in conv]
    biases = [f"{key}.0.bias" in encoder for key in conv]
    if len(set(biases)) > 1:
        raise ValueError("some convolutions of the feature encoder have a bias and some do not")
    if all(f"{key}.2.1.weight" in encoder for key in conv):
        norm = "layer"
    elif f"{conv[0]}.2.weight" in encoder and not any(
        f"{key}.2.1.weight" in encoder for key in conv
    ):
        norm = "group"
    else:
        raise ValueError(
            "the feature encoder has neither a layer norm in every layer nor a group norm"
        )
    conv_stride = _strides(cfg, conv_dim, conv_kernel)

    if "post_extract_proj.weight" not in encoder:
        raise ValueError(
            "no post_extract_proj: transformers' Wav2Vec2 always projects the features"
        )
    hidden = int(encoder["post_extract_proj.weight"].shape[0])
    layers = len(
        {int(m.group(1)) for key in encoder if (m := re.match(r"encoder\.layers\.(\d+)\.", key))}
    )
    positional = encoder.get("encoder.pos_conv.0.weight_v")
    if positional is None:
        positional = encoder["encoder.pos_conv.0.parametrizations.weight.original1"]
    heads = cfg.get("encoder_attention_heads", RELEASED_HEADS.get(hidden))
    if heads is None:
        raise ValueError(
            f"the weights do not say how many attention heads an encoder of width {hidden} has, "
            "and no released one has that width: give cfg['encoder_attention_heads']"
        )
    settings = {**FAIRSEQ_DEFAULTS, **cfg}
    return {
        "model_type": "wav2vec2",
        "hidden_size": hidden,
        "num_hidden_layers": layers,
        "num_attention_heads": int(heads),
        "intermediate_size": int(encoder["encoder.layers.0.fc1.weight"].shape[0]),
        "hidden_act": settings["activation_fn"],
        "conv_dim": conv_dim,
        "conv_kernel": conv_kernel,
        "conv_stride": conv_stride,
        "conv_bias": biases[0],
        "feat_extract_norm": norm,
        "do_stable_layer_norm": bool(cfg.get("layer_norm_first", norm == "layer")),
        "num_conv_pos_embeddings": int(positional.shape[2]),
        "num_conv_pos_embedding_groups": hidden // int(positional.shape[1]),
        "hidden_dropout": settings["dropout"],
        "attention_dropout": settings["attention_dropout"],
        "activation_dropout": settings["activation_dropout"],
        "feat_proj_dropout": settings["dropout_input"],
        "layerdrop": settings["encoder_layerdrop"],
        "layer_norm_eps": 1e-5,  # torch's LayerNorm default, which fairseq uses
    }


def _conv_layers(encoder: Mapping[str, torch.Tensor]) -> list[str]:
    indices = sorted(
        int(m.group(1))
        for key in encoder
        if (m := re.fullmatch(r"feature_extractor\.conv_layers\.(\d+)\.0\.weight", key))
    )
    if not indices or indices != list(range(len(indices))):
        raise ValueError(f"the feature encoder's convolutions are not numbered 0..n-1: {indices}")
    return [f"feature_extractor.conv_layers.{i}" for i in indices]


def _strides(cfg: Mapping[str, Any], conv_dim: list[int], conv_kernel: list[int]) -> list[int]:
    """The strides of the feature encoder: from `conv_feature_layers` when given (checked against
    the weights), else the defaults for the default kernels."""
    text = cfg.get("conv_feature_layers")
    if text is None:
        if tuple(conv_kernel) != DEFAULT_KERNELS:
            raise ValueError(
                f"the feature encoder's kernels {conv_kernel} are not the default ones and the "
                "weights do not hold strides: give cfg['conv_feature_layers']"
            )
        return list(DEFAULT_STRIDES)
    layers = parse_conv_feature_layers(text)
    if [(dim, kernel) for dim, kernel, _ in layers] != list(
        zip(conv_dim, conv_kernel, strict=True)
    ):
        raise ValueError(
            f"cfg['conv_feature_layers'] {text!r} does not match the weights' convolutions "
            f"(channels {conv_dim}, kernels {conv_kernel})"
        )
    return [stride for _, _, stride in layers]


def parse_conv_feature_layers(text: str) -> list[tuple[int, int, int]]:
    """fairseq's `conv_feature_layers`, e.g. `[(512, 10, 5)] + [(512, 3, 2)] * 4 + [(512,2,2)] * 2`,
    as (channels, kernel, stride) per layer. fairseq evaluates it with `eval`; this reads only
    lists of integer triples joined by `+` and repeated by `*`."""

    def value(node: ast.AST) -> Any:
        if isinstance(node, ast.Constant) and type(node.value) is int:
            return node.value
        if isinstance(node, ast.Tuple):
            return tuple(value(item) for item in node.elts)
        if isinstance(node, ast.List):
            return [value(item) for item in node.elts]
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Mult):
            left, right = value(node.left), value(node.right)
            return left + right if isinstance(node.op, ast.Add) else left * right
        raise ValueError(f"conv_feature_layers {text!r} is not a list of (dim, kernel, stride)")

    try:
        layers = value(ast.parse(text, mode="eval").body)
    except (SyntaxError, TypeError) as err:
        raise ValueError(
            f"conv_feature_layers {text!r} is not a list of (dim, kernel, stride)"
        ) from err
    if not isinstance(layers, list) or not all(
        isinstance(layer, tuple) and len(layer) == 3 and all(type(v) is int for v in layer)
        for layer in layers
    ):
        raise ValueError(f"conv_feature_layers {text!r} is not a list of (dim, kernel, stride)")
    return layers

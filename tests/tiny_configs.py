"""Tiny configurations shared by the tests: they train in seconds on a CPU and need no download."""

from pathlib import Path
from typing import Any

import torch

from antispoof.frontends.ssl import RELEASED_SIZES
from antispoof.frontends.whisper import RELEASED_WIDTHS

REPO = Path(__file__).resolve().parents[1]
MINI_OCSOFTMAX = REPO / "egs/mini/conf/lfcc_resnet18_ocsoftmax.yaml"

# XLS-R's architecture in miniature, randomly initialised: layer-normalised convolutions and
# stable layer norm, an attention mask; 2 conv layers with hop 5 * 2 = 10 and receptive field
# 10 + 2 * 5 = 20 samples. No dropout, so that train-mode outputs can be compared.
TINY_WAV2VEC2 = {
    "hidden_size": 16,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 32,
    "conv_dim": [8, 8],
    "conv_kernel": [10, 3],
    "conv_stride": [5, 2],
    "num_conv_pos_embeddings": 16,
    "num_conv_pos_embedding_groups": 2,
    "feat_extract_norm": "layer",
    "do_stable_layer_norm": True,
    "hidden_dropout": 0.0,
    "attention_dropout": 0.0,
    "activation_dropout": 0.0,
    "feat_proj_dropout": 0.0,
}

# XLS-R's layout in miniature for released wav2vec2 encoders that cannot be downloaded here: its
# seven-layer conv stack at 8 channels (hop 320, 20 ms frames, as XLS-R's), width 16.
TINY_XLSR_LAYOUT = {
    **TINY_WAV2VEC2,
    "conv_dim": [8] * 7,
    "conv_kernel": [10, 3, 3, 3, 3, 2, 2],
    "conv_stride": [5, 2, 2, 2, 2, 2, 2],
}


def tiny_ssl(model_type: str, norm: str = "layer", **settings: Any) -> dict[str, Any]:
    """The `config` of a tiny random `ssl` encoder of family `model_type`, TINY_WAV2VEC2's sizes
    (`settings` override them). `norm: layer`: layer-normalised convolutions and pre-norm layers
    (XLS-R, the Large models); `group`: a group-normalised first convolution and post-norm layers
    (the Base models). data2vec-audio has one architecture, layer-normalised convolutions and
    post-norm layers, and a stack of positional convolutions (2 of kernel 5 here) instead of one."""
    config = {"model_type": model_type, **TINY_WAV2VEC2}
    if model_type == "data2vec-audio":
        del config["feat_extract_norm"], config["do_stable_layer_norm"]
        config |= {"num_conv_pos_embeddings": 2, "conv_pos_kernel_size": 5}
    elif norm == "group":
        config |= {"feat_extract_norm": "group", "do_stable_layer_norm": False}
    return {**config, **settings}


# A fairseq wav2vec 2.0 pre-training model of XLS-R's layout in miniature, as fairseq's model
# configuration (a checkpoint's `cfg["model"]`) gives it: TINY_XLSR_LAYOUT's seven layer-normalised
# convolutions with biases, pre-norm transformer layers (`layer_norm_first`), the positional
# convolution, and the quantizer and projections of pre-training (2 groups of 4 codewords).
TINY_FAIRSEQ_XLSR = {
    "extractor_mode": "layer_norm",
    "conv_feature_layers": "[(8, 10, 5)] + [(8, 3, 2)] * 4 + [(8, 2, 2)] * 2",
    "conv_bias": True,
    "encoder_layers": 2,
    "encoder_embed_dim": 16,
    "encoder_ffn_embed_dim": 32,
    "encoder_attention_heads": 2,
    "layer_norm_first": True,
    "conv_pos": 16,
    "conv_pos_groups": 2,
    "latent_vars": 4,
    "latent_groups": 2,
    "final_dim": 12,
    "dropout": 0.0,
    "attention_dropout": 0.0,
    "activation_dropout": 0.0,
    "dropout_input": 0.0,
}

# wav2vec 2.0 Base's layout instead (fairseq's defaults): group norm in the first convolution only,
# no convolution biases, post-norm transformer layers.
TINY_FAIRSEQ_BASE = {
    **TINY_FAIRSEQ_XLSR,
    "extractor_mode": "default",
    "conv_bias": False,
    "layer_norm_first": False,
}


def fairseq_state_dict(
    cfg: dict[str, Any] = TINY_FAIRSEQ_XLSR,
    conv_layers: list[tuple[int, int, int]] | None = None,
    seed: int = 0,
    device: str = "cpu",
) -> dict[str, torch.Tensor]:
    """The state dict of fairseq's `Wav2Vec2Model` built with `cfg` (its keys, shapes and order),
    every tensor drawn at random, so that no two are alike. `conv_layers`: the (dim, kernel,
    stride) of `cfg`'s `conv_feature_layers`, TINY_XLSR_LAYOUT's by default. On the `meta` device
    it holds shapes only (a full-size encoder without its memory)."""
    if conv_layers is None:
        stack = TINY_XLSR_LAYOUT
        conv_layers = list(
            zip(stack["conv_dim"], stack["conv_kernel"], stack["conv_stride"], strict=True)
        )
    generator = torch.Generator().manual_seed(seed)

    def draw(*shape: int) -> torch.Tensor:
        if device == "meta":
            return torch.empty(shape, device="meta")
        return torch.randn(shape, generator=generator)

    width, ffn = cfg["encoder_embed_dim"], cfg["encoder_ffn_embed_dim"]
    groups, codewords, final = cfg["latent_groups"], cfg["latent_vars"], cfg["final_dim"]
    layer_norm = cfg.get("extractor_mode", "default") == "layer_norm"
    state = {"mask_emb": draw(width)}
    channels = 1
    for i, (dim, kernel, _) in enumerate(conv_layers):
        conv = f"feature_extractor.conv_layers.{i}"
        state[f"{conv}.0.weight"] = draw(dim, channels, kernel)
        if cfg.get("conv_bias", False):
            state[f"{conv}.0.bias"] = draw(dim)
        if layer_norm:  # Sequential(TransposeLast, LayerNorm, TransposeLast) at index 2
            state[f"{conv}.2.1.weight"], state[f"{conv}.2.1.bias"] = draw(dim), draw(dim)
        elif i == 0:  # the group norm of the first layer
            state[f"{conv}.2.weight"], state[f"{conv}.2.bias"] = draw(dim), draw(dim)
        channels = dim
    state["post_extract_proj.weight"] = draw(width, channels)
    state["post_extract_proj.bias"] = draw(width)
    state["quantizer.vars"] = draw(1, groups * codewords, final // groups)
    state["quantizer.weight_proj.weight"] = draw(groups * codewords, channels)
    state["quantizer.weight_proj.bias"] = draw(groups * codewords)
    state["project_q.weight"], state["project_q.bias"] = draw(final, final), draw(final)
    state["encoder.pos_conv.0.bias"] = draw(width)
    state["encoder.pos_conv.0.weight_g"] = draw(1, 1, cfg["conv_pos"])
    state["encoder.pos_conv.0.weight_v"] = draw(
        width, width // cfg["conv_pos_groups"], cfg["conv_pos"]
    )
    for i in range(cfg["encoder_layers"]):
        layer = f"encoder.layers.{i}"
        for projection in ("k_proj", "v_proj", "q_proj", "out_proj"):
            state[f"{layer}.self_attn.{projection}.weight"] = draw(width, width)
            state[f"{layer}.self_attn.{projection}.bias"] = draw(width)
        state[f"{layer}.self_attn_layer_norm.weight"] = draw(width)
        state[f"{layer}.self_attn_layer_norm.bias"] = draw(width)
        state[f"{layer}.fc1.weight"], state[f"{layer}.fc1.bias"] = draw(ffn, width), draw(ffn)
        state[f"{layer}.fc2.weight"], state[f"{layer}.fc2.bias"] = draw(width, ffn), draw(width)
        state[f"{layer}.final_layer_norm.weight"] = draw(width)
        state[f"{layer}.final_layer_norm.bias"] = draw(width)
    state["encoder.layer_norm.weight"], state["encoder.layer_norm.bias"] = draw(width), draw(width)
    state["layer_norm.weight"], state["layer_norm.bias"] = draw(channels), draw(channels)
    state["final_proj.weight"], state["final_proj.bias"] = draw(final, width), draw(final)
    return state


# Whisper's encoder in miniature, randomly initialised: 80 mels, 2 layers of width 16, and a
# 3 s window (150 encoder frames of 320 samples, 48,000 samples) instead of 30 s, so that it
# runs in milliseconds and encodes every toy utterance (0.5-2 s). The decoder, which the frontend
# drops, is as small as WhisperModel allows, its special tokens inside its vocabulary.
TINY_WHISPER = {
    "d_model": 16,
    "encoder_layers": 2,
    "encoder_attention_heads": 2,
    "encoder_ffn_dim": 32,
    "max_source_positions": 150,
    "decoder_layers": 1,
    "decoder_attention_heads": 2,
    "decoder_ffn_dim": 32,
    "max_target_positions": 8,
    "vocab_size": 8,
    "pad_token_id": 1,
    "bos_token_id": 2,
    "eos_token_id": 2,
    "decoder_start_token_id": 3,
}

# The mini recipe's ResNet18, narrower still.
SMALL_RESNET = {"channels": [8, 8, 16, 16], "pooling_channels": 16, "embedding_dim": 16}


def tiny_detector(**train: object) -> dict:
    """The mini recipe's LFCC-ResNet18 with OC-Softmax, tiny, with these `train` settings."""
    return {
        "extends": [str(MINI_OCSOFTMAX)],
        "model_conf": SMALL_RESNET,
        "train": {"batch_size": 8, "num_workers": 0, **train},
        "optim_conf": {"lr": 0.003},
    }


def offline(node: Any) -> Any:
    """`node` with each released encoder replaced by a random one: a Whisper encoder of its width
    and its 30 s window (one layer: the shapes are what is checked); a wav2vec2 or ssl encoder of
    its family, XLS-R's frame rate and as many layers as the chosen ones need (all of them for
    `layers: all`), but of width 16 instead of 1024 (24 layers of 1024 would take minutes to
    build), which the models take from its FeatureSpec."""
    if isinstance(node, list):
        return [offline(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: offline(value) for key, value in node.items()}
    conf = node.get("frontend_conf")
    if node.get("frontend") == "whisper" and conf["config"] is None:
        width = RELEASED_WIDTHS[conf["model"]]
        random = {
            **TINY_WHISPER,
            "d_model": width,
            "max_source_positions": 1500,
            "encoder_layers": 1,
        }
        node["frontend_conf"] = {**conf, "config": random}
    if node.get("frontend") == "wav2vec2" and conf["config"] is None:
        random = {**TINY_XLSR_LAYOUT, "num_hidden_layers": max(conf["layers"])}
        node["frontend_conf"] = {**conf, "config": random}
    if node.get("frontend") == "ssl" and conf["config"] is None:
        model_type, _, layers = RELEASED_SIZES[conf["model"]]
        stack = {key: TINY_XLSR_LAYOUT[key] for key in ("conv_dim", "conv_kernel", "conv_stride")}
        depth = layers if conf["layers"] == "all" else max(conf["layers"])
        random = tiny_ssl(model_type, num_hidden_layers=depth, **stack)
        node["frontend_conf"] = {**conf, "config": random}
    if node.get("model") == "nes2net_x":
        # Nes2Net-X splits the encoder's channels into groups and slices (8 x 8 at full size):
        # the random encoder gets as many channels as that takes.
        outer, inner = node["model_conf"]["nes_ratio"]
        for branch in node["inputs"].values():
            settings = branch["frontend_conf"].get("config")
            if branch["frontend"] in ("wav2vec2", "ssl") and settings is not None:
                settings["hidden_size"] = max(settings["hidden_size"], outer * inner)
    return node

"""Tiny configurations shared by the tests: they train in seconds on a CPU and need no download."""

from pathlib import Path
from typing import Any

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
    and its 30 s window (one layer: the shapes are what is checked); a wav2vec2 encoder of XLS-R's
    frame rate and as many layers as the chosen ones need, but of width 16 instead of 1024 (24
    layers of 1024 would take minutes to build), which the models take from its FeatureSpec."""
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
    if node.get("model") == "nes2net_x":
        # Nes2Net-X splits the encoder's channels into groups and slices (8 x 8 at full size):
        # the random encoder gets as many channels as that takes.
        outer, inner = node["model_conf"]["nes_ratio"]
        for branch in node["inputs"].values():
            settings = branch["frontend_conf"].get("config")
            if branch["frontend"] == "wav2vec2" and settings is not None:
                settings["hidden_size"] = max(settings["hidden_size"], outer * inner)
    return node

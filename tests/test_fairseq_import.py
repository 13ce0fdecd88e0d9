"""fairseq wav2vec 2.0 weights as transformers' Wav2Vec2Model without fairseq: the same tensors
where transformers' own conversion puts them (tests/reference/fairseq_wav2vec2_to_transformers
.json, recorded from its `recursively_load_weights`), for XLS-R's layout and Base's; the
configuration inferred from the shapes and fairseq's settings, down to XLS-R 300M's released
one; a detector's prefix; and the layouts that are refused."""

import json
from pathlib import Path

import pytest
import torch
from transformers import Wav2Vec2Config, Wav2Vec2Model

from antispoof.frontends import FRONTENDS
from antispoof.frontends.fairseq_import import fairseq_to_transformers, parse_conv_feature_layers
from tiny_configs import TINY_FAIRSEQ_BASE, TINY_FAIRSEQ_XLSR, fairseq_state_dict

REFERENCE = json.loads(
    (Path(__file__).parent / "reference/fairseq_wav2vec2_to_transformers.json").read_text()
)
XLSR_CONV_FEATURE_LAYERS = "[(512, 10, 5)] + [(512, 3, 2)] * 4 + [(512,2,2)] + [(512,2,2)]"


def transformers_model(config: dict) -> Wav2Vec2Model:
    settings = {key: value for key, value in config.items() if key != "model_type"}
    return Wav2Vec2Model(Wav2Vec2Config(**settings))


@pytest.mark.parametrize(
    ("layout", "cfg"), [("xlsr", TINY_FAIRSEQ_XLSR), ("base", TINY_FAIRSEQ_BASE)]
)
def test_every_tensor_goes_where_transformers_conversion_puts_it(layout, cfg):
    fairseq = fairseq_state_dict(cfg)
    weights, _ = fairseq_to_transformers(fairseq, cfg)
    expected = REFERENCE[layout]["encoder"]
    assert sorted(weights) == sorted(expected)
    for key, source in expected.items():
        assert torch.equal(weights[key], fairseq[source]), key
    # What is left out is what transformers puts outside the encoder (the pre-training heads).
    left_out = set(fairseq) - set(expected.values())
    assert left_out == set(REFERENCE[layout]["pretraining_heads"].values())


@pytest.mark.parametrize("cfg", [TINY_FAIRSEQ_XLSR, TINY_FAIRSEQ_BASE], ids=["xlsr", "base"])
def test_the_inferred_configuration_loads_every_weight_strictly(cfg):
    weights, config = fairseq_to_transformers(fairseq_state_dict(cfg), cfg)
    model = transformers_model(config)
    model.load_state_dict(weights, strict=True)
    layer_norm = cfg is TINY_FAIRSEQ_XLSR
    assert config["feat_extract_norm"] == ("layer" if layer_norm else "group")
    assert config["do_stable_layer_norm"] is layer_norm and config["conv_bias"] is layer_norm
    assert (config["hidden_size"], config["num_hidden_layers"], config["intermediate_size"]) == (
        16,
        2,
        32,
    )
    assert (config["num_conv_pos_embeddings"], config["num_conv_pos_embedding_groups"]) == (16, 2)
    assert config["conv_stride"] == [5, 2, 2, 2, 2, 2, 2]
    assert config["num_attention_heads"] == 2
    # Loaded, the model computes with the checkpoint's tensors.
    torch.testing.assert_close(
        model.encoder.layers[1].feed_forward.output_dense.weight,
        fairseq_state_dict(cfg)["encoder.layers.1.fc2.weight"],
    )


def test_the_ssl_frontend_takes_the_configuration_and_the_weights():
    weights, config = fairseq_to_transformers(fairseq_state_dict(), TINY_FAIRSEQ_XLSR)
    settings = {"config": config, "layers": [2], "weighted_sum": False, "normalize": False}
    frontend = FRONTENDS.build("ssl", settings).eval()
    model = transformers_model(config).eval()
    model.load_state_dict(weights, strict=True)
    # The frontend drops SpecAugment's mask vector, which it never uses.
    frontend.encoder.load_state_dict(
        {key: value for key, value in weights.items() if key != "masked_spec_embed"}, strict=True
    )
    wav = 0.1 * torch.randn(1, 3200, generator=torch.Generator().manual_seed(0))
    feats, frame_lengths = frontend(wav, torch.tensor([3200]))
    assert feats.shape == (1, 1, 9, 16) and frame_lengths.tolist() == [9]
    with torch.no_grad():
        torch.testing.assert_close(feats[0, 0], model(wav).last_hidden_state[0])


def test_a_detector_prefix_is_stripped_and_the_rest_of_the_detector_ignored():
    fairseq = fairseq_state_dict()
    detector = {f"ssl_model.model.{key}": value for key, value in fairseq.items()}
    detector |= {"LL.weight": torch.zeros(128, 1024), "out_layer.bias": torch.zeros(2)}
    weights, config = fairseq_to_transformers(
        detector, TINY_FAIRSEQ_XLSR, prefix="ssl_model.model."
    )
    expected, expected_config = fairseq_to_transformers(fairseq, TINY_FAIRSEQ_XLSR)
    assert config == expected_config
    assert weights.keys() == expected.keys()
    assert all(weights[key] is expected[key] for key in weights)
    with pytest.raises(ValueError, match=r"no key of the state dict starts with 'm_ssl\.model\.'"):
        fairseq_to_transformers(detector, prefix="m_ssl.model.")


def test_the_newer_weight_norm_parametrization_maps_as_weight_g_and_weight_v():
    fairseq = fairseq_state_dict()
    renamed = {
        key.replace("weight_g", "parametrizations.weight.original0").replace(
            "weight_v", "parametrizations.weight.original1"
        ): value
        for key, value in fairseq.items()
    }
    weights, config = fairseq_to_transformers(renamed, TINY_FAIRSEQ_XLSR)
    expected, expected_config = fairseq_to_transformers(fairseq, TINY_FAIRSEQ_XLSR)
    assert config == expected_config
    assert all(weights[key] is expected[key] for key in expected)


def test_without_fairseq_settings_the_released_conventions_are_inferred():
    fairseq = fairseq_state_dict()
    _, full = fairseq_to_transformers(fairseq, TINY_FAIRSEQ_XLSR)
    # Only the heads, which the weights do not hold; the rest from the shapes, pre-norm from the
    # layer-normalised convolutions, fairseq's default dropouts.
    _, inferred = fairseq_to_transformers(fairseq, {"encoder_attention_heads": 2})
    dropouts = {"hidden_dropout": 0.1, "attention_dropout": 0.1, "activation_dropout": 0.0}
    assert inferred == {**full, **dropouts}
    _, base = fairseq_to_transformers(
        fairseq_state_dict(TINY_FAIRSEQ_BASE), {"encoder_attention_heads": 2}
    )
    assert base["feat_extract_norm"] == "group" and base["do_stable_layer_norm"] is False
    with pytest.raises(ValueError, match=r"attention heads.*width 16.*encoder_attention_heads"):
        fairseq_to_transformers(fairseq)


def test_xlsr_300m_layout_gives_its_released_configuration():
    """A state dict of XLS-R 300M's shapes (on the meta device: no memory), with no fairseq
    settings, gives the architecture of facebook/wav2vec2-xls-r-300m's config.json."""
    cfg = {
        "extractor_mode": "layer_norm",
        "conv_bias": True,
        "encoder_layers": 24,
        "encoder_embed_dim": 1024,
        "encoder_ffn_embed_dim": 4096,
        "conv_pos": 128,
        "conv_pos_groups": 16,
        "latent_vars": 320,
        "latent_groups": 2,
        "final_dim": 768,
    }
    conv_layers = parse_conv_feature_layers(XLSR_CONV_FEATURE_LAYERS)
    shapes = fairseq_state_dict(cfg, conv_layers, device="meta")
    _, config = fairseq_to_transformers(shapes)
    released = {
        "hidden_size": 1024,
        "num_hidden_layers": 24,
        "num_attention_heads": 16,
        "intermediate_size": 4096,
        "conv_dim": [512] * 7,
        "conv_kernel": [10, 3, 3, 3, 3, 2, 2],
        "conv_stride": [5, 2, 2, 2, 2, 2, 2],
        "conv_bias": True,
        "feat_extract_norm": "layer",
        "do_stable_layer_norm": True,
        "num_conv_pos_embeddings": 128,
        "num_conv_pos_embedding_groups": 16,
    }
    assert {key: config[key] for key in released} == released


def test_conv_feature_layers_is_read_without_eval():
    assert parse_conv_feature_layers(XLSR_CONV_FEATURE_LAYERS) == (
        [(512, 10, 5)] + [(512, 3, 2)] * 4 + [(512, 2, 2)] * 2
    )
    for text in ("__import__('os').getcwd()", "[(512, 10)]", "[(512, 10, 5.0)]", "[(1, 2, 3)"):
        with pytest.raises(ValueError, match="is not a list of"):
            parse_conv_feature_layers(text)


def test_layouts_that_cannot_be_mapped_are_refused():
    fairseq = fairseq_state_dict()
    with pytest.raises(ValueError, match=r"m\.encoder\.layers\.0\.adapter_layer\.W_a is not a key"):
        fairseq_to_transformers(
            {
                f"m.{k}": v
                for k, v in {**fairseq, "encoder.layers.0.adapter_layer.W_a": torch.ones(1)}.items()
            },
            TINY_FAIRSEQ_XLSR,
            prefix="m.",
        )
    wrong = {**TINY_FAIRSEQ_XLSR, "conv_feature_layers": "[(8, 10, 5)] + [(8, 3, 2)] * 6"}
    with pytest.raises(ValueError, match="does not match the weights' convolutions"):
        fairseq_to_transformers(fairseq, wrong)
    odd_kernels = fairseq_state_dict(conv_layers=[(8, 10, 5), (8, 8, 4)])
    with pytest.raises(ValueError, match=r"kernels \[10, 8\] are not the default"):
        fairseq_to_transformers(odd_kernels, {"encoder_attention_heads": 2})
    _, config = fairseq_to_transformers(
        odd_kernels,
        {"encoder_attention_heads": 2, "conv_feature_layers": "[(8, 10, 5), (8, 8, 4)]"},
    )
    assert config["conv_stride"] == [5, 4]

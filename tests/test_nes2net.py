"""The `nes2net_x` model (Nes2Net-X, Liu et al., IEEE T-IFS 2025): the official outputs and
parameter count on deterministic weights through the key mapping, settings, and a tiny detector
that trains."""

import math

import pytest
import torch

from antispoof.config import resolve
from antispoof.detector import build_detector
from antispoof.frontends.base import FeatureSpec
from antispoof.losses import LOSSES
from antispoof.models import MODELS
from antispoof.models.nes2net import official_backend_state_dict
from antispoof.registry import ConfigError
from tiny_configs import TINY_WAV2VEC2
from zoo_weights import zoo_weight


def ssl_spec(dim: int = 1024, channels: int = 1) -> dict[str, FeatureSpec]:
    return {"ssl": FeatureSpec(channels=channels, dim=dim, hop_length=320, frame_length=400)}


def official_layout(pool: str = "mean", dim: int = 1024, outer: int = 8, inner: int = 8):
    """The keys and shapes of the official back end (`Nested_Res2Net_TDNN.*`), SE ratio 1."""
    group = dim // outer
    width = group // inner
    layout = []
    for index in range(outer - 1):
        block = f"Nested_Res2Net_TDNN.Build_in_Res2Nets.{index}"
        layout += [
            (f"{block}.weighted_sum.{step}", (1, 1, 1, step + 2)) for step in range(inner - 1)
        ]
        layout += [
            (f"{block}.conv1.weight", (width * inner, group, 1)),
            (f"{block}.conv1.bias", (width * inner,)),
        ]
        layout += bn(f"{block}.bn1", width * inner)
        for step in range(inner - 1):
            layout += [
                (f"{block}.convs.{step}.weight", (width, width, 3, 1)),
                (f"{block}.convs.{step}.bias", (width,)),
            ]
        for step in range(inner - 1):
            layout += bn(f"{block}.bns.{step}", width)
        layout += [
            (f"{block}.conv3.weight", (group, width * inner, 1)),
            (f"{block}.conv3.bias", (group,)),
        ]
        layout += bn(f"{block}.bn3", group)
        for part in ("se.se.1", "se.se.3"):
            layout += [
                (f"{block}.{part}.weight", (group, group, 1)),
                (f"{block}.{part}.bias", (group,)),
            ]
    for index in range(outer - 1):
        layout += bn(f"Nested_Res2Net_TDNN.bns.{index}", group)
    layout += bn("Nested_Res2Net_TDNN.bn", dim)
    if pool == "astp":
        layout += [
            ("Nested_Res2Net_TDNN.pooling.linear1.weight", (128, dim, 1)),
            ("Nested_Res2Net_TDNN.pooling.linear1.bias", (128,)),
        ]
        layout += [
            ("Nested_Res2Net_TDNN.pooling.linear2.weight", (dim, 128, 1)),
            ("Nested_Res2Net_TDNN.pooling.linear2.bias", (dim,)),
        ]
    width_out = dim * (2 if pool == "astp" else 1)
    layout += [
        ("Nested_Res2Net_TDNN.fc.weight", (2, width_out)),
        ("Nested_Res2Net_TDNN.fc.bias", (2,)),
    ]
    return layout


def bn(name: str, channels: int) -> list:
    stats = [
        (f"{name}.{part}", (channels,))
        for part in ("weight", "bias", "running_mean", "running_var")
    ]
    return [*stats, (f"{name}.num_batches_tracked", ())]


# Golden outputs of the official back end: model_scripts/wav2vec2_Nes2Net_X.py of
# Liu-Tianchi/Nes2Net_ASVspoof_ITW (commit 43d01b9) run outside this repository with torch 2.11
# on a CPU, fairseq replaced by a stub whose SSL model returns the given hidden states,
# `wav2vec2_Nes2Net_no_Res_w_allT(args)` with n_output_logits 2, Nes_ratio [8, 8], dilation 2,
# SE_ratio [1] and pool_func `mean` (the released model) or `ASTP`, every tensor of its
# state_dict set to `zoo_weight(official key, shape)` (tests/zoo_weights.py), eval mode,
# `torch.no_grad()`. Input: hidden states `torch.randn((B, T, 1024),
# generator=torch.Generator().manual_seed(seed))`. `logits`: the official `[spoof, bona fide]`
# output; `embedding_every_128th`: the input of `fc`, `[:, ::128]`; `parameters`: the official
# back end's count (fc included; README: 511k).
GOLDEN = {
    "mean": {
        "parameters": 512039,
        "cases": {
            ((2, 201), 32): {
                "logits": [[-0.950971, 2.010518], [-0.77481, 2.200637]],
                "embedding_every_128th": [
                    [
                        0.140691,
                        0.594122,
                        1.898936,
                        2.838777,
                        3.395057,
                        5.022357,
                        6.578595,
                        0.289153,
                    ],
                    [0.14996, 0.661809, 1.952643, 3.00051, 3.510002, 4.948388, 6.500907, 0.353459],
                ],
                "embedding_sum": [1588.0349, 1586.9664],
            },
            ((1, 9), 4): {
                "logits": [[0.067998, 1.894553]],
                "embedding_every_128th": [
                    [0.224031, 0.534262, 1.974116, 2.760695, 3.221231, 4.661622, 6.233648, 0.298873]
                ],
                "embedding_sum": [1536.7572],
            },
        },
    },
    "astp": {
        "parameters": 777383,
        "cases": {
            ((2, 50), 5): {
                "logits": [[0.256127, 1.167022], [0.611467, 0.941832]],
                "embedding_every_128th": [
                    [
                        0.088798,
                        0.671003,
                        1.608375,
                        2.680903,
                        3.142109,
                        4.424653,
                        6.449173,
                        0.294151,
                        0.229622,
                        0.808485,
                        1.322791,
                        1.936922,
                        2.280793,
                        2.844762,
                        4.256177,
                        0.437552,
                    ],
                    [
                        0.176376,
                        0.665131,
                        2.068748,
                        2.897035,
                        3.133943,
                        4.023641,
                        5.893199,
                        0.188107,
                        0.31227,
                        0.575616,
                        1.389297,
                        1.584461,
                        1.889033,
                        2.7752,
                        3.697504,
                        0.414936,
                    ],
                ],
                "embedding_sum": [2946.8442, 2947.6528],
            },
        },
    },
}


def loaded(pool: str):
    model = MODELS.build("nes2net_x", {"pool": pool}, inputs=ssl_spec())
    head = LOSSES.build("softmax", {}, embedding_dim=model.embedding_dim)
    official = {name: zoo_weight(name, shape) for name, shape in official_layout(pool)}
    mapped = official_backend_state_dict(official)
    model.load_state_dict(
        {k.removeprefix("model."): v for k, v in mapped.items() if k.startswith("model.")}
    )
    head.load_state_dict(
        {k.removeprefix("loss."): v for k, v in mapped.items() if k.startswith("loss.")}
    )
    return model.eval(), head.eval()


@pytest.mark.parametrize("pool", sorted(GOLDEN))
def test_deterministic_weights_give_the_official_outputs(pool):
    model, head = loaded(pool)
    golden = GOLDEN[pool]
    assert sum(p.numel() for m in (model, head) for p in m.parameters()) == golden["parameters"]
    for (shape, seed), expected in golden["cases"].items():
        hidden = torch.randn((*shape, 1024), generator=torch.Generator().manual_seed(seed))
        with torch.no_grad():
            embedding = model({"ssl": hidden[:, None]})
            logits = head.logits(embedding)
        official = torch.tensor(expected["logits"])
        assert torch.allclose(logits, official.flip(1), atol=1e-4), (shape, logits)
        every_128th = torch.tensor(expected["embedding_every_128th"])
        assert torch.allclose(embedding[:, ::128], every_128th, atol=1e-4)
        sums = torch.tensor(expected["embedding_sum"])
        assert torch.allclose(embedding.sum(1), sums, rtol=1e-5, atol=1e-2)


def test_an_unknown_official_key_is_an_error():
    with pytest.raises(KeyError, match="Nes2Net-X"):
        official_backend_state_dict({"Nested_Res2Net_TDNN.proj.weight": torch.ones(1)})
    with pytest.raises(KeyError, match="Nes2Net-X"):
        official_backend_state_dict({"LL.weight": torch.ones(1)})


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"nes_ratio": [3, 8]}, "nes_ratio"),
        ({"nes_ratio": [8, 1]}, "nes_ratio"),
        ({"pool": "max"}, "pool"),
        ({"dilation": 0}, "dilation"),
    ],
)
def test_bad_settings_are_errors(settings, message):
    with pytest.raises(ConfigError, match=message):
        MODELS.build("nes2net_x", settings, inputs=ssl_spec())


def test_other_widths_and_lengths():
    model = MODELS.build("nes2net_x", {"nes_ratio": [4, 2]}, inputs=ssl_spec(dim=16)).eval()
    with torch.no_grad():
        for frames in (1, 3, 40):
            assert model({"ssl": torch.randn(2, 1, frames, 16)}).shape == (2, 16)


def test_a_tiny_wav2vec2_detector_trains_every_parameter():
    torch.manual_seed(0)
    config = {
        "inputs": {
            "ssl": {
                "frontend": "wav2vec2",
                "frontend_conf": {"config": TINY_WAV2VEC2, "layers": [2]},
            }
        },
        "model": "nes2net_x",
        "model_conf": {"nes_ratio": [4, 2], "pool": "astp"},
        "loss": "softmax",
        "optim": "adam",
    }
    detector = build_detector(resolve(config))
    feats = {"ssl": torch.randn(4, 1, 30, 16)}
    target = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    value, _ = detector.loss(detector.model(feats), target)
    value.backward()
    missing = [
        n for n, p in detector.named_parameters() if p.grad is None and not n.startswith("inputs.")
    ]
    assert not missing, f"no gradient reaches {missing}"
    assert math.isfinite(value.item())

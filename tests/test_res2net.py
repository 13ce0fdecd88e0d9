"""The `se_res2net` model (Res2Net50 / SE-Res2Net50 of Li et al., ICASSP 2021): the published
parameter counts, the published outputs on deterministic weights, shapes, `se_reduction: null`,
a subclass's block attention, and building through the configs."""

from pathlib import Path

import pytest
import torch
import yaml
from torch import nn

from antispoof.config import resolve, resolve_file
from antispoof.detector import build_detector
from antispoof.frontends.base import FeatureSpec
from antispoof.losses import LOSSES
from antispoof.models import MODELS
from antispoof.models.res2net import Bottle2neck, Res2Net, SqueezeExcitation
from antispoof.registry import ConfigError

# The parameter counts (every trainable parameter, the 2-class output layer included) of the
# published models, printed by running lixucuhk/ASV-anti-spoofing-with-Res2Net
# `src/resnet_models.py` (commit 4f88dba; `res2net50_v1b`, `se_res2net50_v1b`,
# `se_res2net50_v1b_14w_8s`, `se_res2net50_v1b_26w_8s`, `res2net50_v1b_14w_8s`,
# `res2net50_v1b_26w_8s` with num_classes=2) outside this repository, with torch 2.11.
OFFICIAL_PARAMETERS = {
    "res2net50_26w_4s": ({"se_reduction": None}, 883_806),
    "se_res2net50_26w_4s": ({}, 923_102),
    "se_res2net50_14w_8s": ({"base_width": 14, "scale": 8}, 846_737),
    "se_res2net50_26w_8s": ({"scale": 8}, 1_870_622),
    "res2net50_14w_8s": ({"base_width": 14, "scale": 8, "se_reduction": None}, 807_441),
    "res2net50_26w_8s": ({"scale": 8, "se_reduction": None}, 1_831_326),
}

# Golden outputs of the published code (the same files and run): `official_weights()` below,
# written into our detector's state_dict and carried to the published model's by renaming keys
# (stem.{0,1,3,4,6} -> conv1.*, stem.7 -> bn1, stages.i -> layer{i+1}, shortcut -> downsample,
# attention -> se, loss.output -> cls_layer; a strict load), in eval mode on a CPU under
# `torch.no_grad()`. Inputs in the published `(B, 1, F, T)` layout:
# `torch.randn(shape, generator=torch.Generator().manual_seed(seed))`. `log_probs` is the
# published output (log_softmax of the logits); `embedding` its `extract()`, the 256-d pooled
# vector, `embedding_every_32nd` being `embedding[:, ::32]`. Our model gave the same values to
# the last bit, in training mode (batch statistics, gradients) as well.
GOLDEN = {
    ("se_res2net50_26w_4s", (2, 1, 60, 32), 0): {
        "log_probs": [[-0.484636515, -0.956907153], [-0.488105923, -0.951368332]],
        "embedding_every_32nd": [
            [0.030595, 0.410169, 0.081881, 0.169781, 0.072857, 0.229888, 0.148439, 0.279983],
            [0.031258, 0.417385, 0.081734, 0.167099, 0.068118, 0.221319, 0.149868, 0.280996],
        ],
        "embedding_sum": [58.006473541, 57.574062347],
    },
    # Odd sizes: the strided stages' ceil-mode shortcut pools keep the last row and column.
    ("se_res2net50_26w_4s", (2, 1, 61, 37), 1): {
        "log_probs": [[-0.473026454, -0.975811481], [-0.479964107, -0.964445949]],
        "embedding_every_32nd": [
            [0.036561, 0.408284, 0.058553, 0.163283, 0.063003, 0.249128, 0.15277, 0.295228],
            [0.03167, 0.413447, 0.061511, 0.158452, 0.058005, 0.241513, 0.152785, 0.292799],
        ],
        "embedding_sum": [58.387489319, 57.135433197],
    },
    ("res2net50_26w_4s", (2, 1, 60, 32), 0): {
        "log_probs": [[-0.298332751, -1.355006456], [-0.297010541, -1.358819843]],
        "embedding_every_32nd": [
            [2.5913, 1.097691, 0.49974, 0.342667, 2.241347, 0.000467, 0.056065, 0.025283],
            [2.55561, 1.100258, 0.49316, 0.330762, 2.245446, 0.0, 0.059596, 0.037933],
        ],
        "embedding_sum": [344.438385010, 338.177185059],
    },
}


def specs(dim: int = 60, channels: int = 1) -> dict[str, FeatureSpec]:
    return {"feats": FeatureSpec(channels=channels, dim=dim, hop_length=160, frame_length=320)}


def count(*modules: nn.Module) -> int:
    return sum(p.numel() for module in modules for p in module.parameters())


def official_weights(shapes: list[tuple[str, torch.Size]]) -> dict[str, torch.Tensor]:
    """Deterministic weights of the scale of a trained network (BN statistics that are not the
    identity), the `k`-th tensor of the detector's state_dict (model then loss) drawn from
    generator seed `k`. The same function produced the golden values."""
    weights: dict[str, torch.Tensor] = {}
    for index, (name, shape) in enumerate(shapes):
        generator = torch.Generator().manual_seed(index)
        if name.endswith("num_batches_tracked"):
            weights[name] = torch.tensor(0)
        elif name.endswith("running_var"):
            weights[name] = 0.5 + torch.rand(shape, generator=generator)
        elif name.endswith(("running_mean", "bias")):
            weights[name] = 0.1 * torch.randn(shape, generator=generator)
        elif len(shape) == 1:
            weights[name] = 1 + 0.1 * torch.randn(shape, generator=generator)
        else:
            fan_in = torch.Size(shape[1:]).numel()
            weights[name] = torch.randn(shape, generator=generator) * fan_in**-0.5
    return weights


# ---------------------------------------------------------------------------------------------
# the published network


@pytest.mark.parametrize("name", sorted(OFFICIAL_PARAMETERS))
def test_published_parameter_counts_with_a_two_class_output_layer(name):
    settings, expected = OFFICIAL_PARAMETERS[name]
    model = MODELS.build("se_res2net", settings, inputs=specs())
    head = LOSSES.build("softmax", {}, embedding_dim=model.embedding_dim)
    assert model.embedding_dim == 256
    assert count(model, head) == expected


@pytest.mark.parametrize(("name", "shape", "seed"), sorted(GOLDEN))
def test_deterministic_weights_give_the_published_outputs(name, shape, seed):
    golden = GOLDEN[(name, shape, seed)]
    model = MODELS.build("se_res2net", OFFICIAL_PARAMETERS[name][0], inputs=specs(shape[2]))
    head = LOSSES.build("softmax", {}, embedding_dim=model.embedding_dim)
    state = {f"model.{k}": v for k, v in model.state_dict().items()}
    state |= {f"loss.{k}": v for k, v in head.state_dict().items()}
    weights = official_weights([(k, v.shape) for k, v in state.items()])
    for prefix, module in (("model.", model), ("loss.", head)):
        module.load_state_dict(
            {k.removeprefix(prefix): v for k, v in weights.items() if k.startswith(prefix)}
        )
        module.eval()
    published_layout = torch.randn(shape, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        embedding = model({"feats": published_layout.transpose(2, 3)})  # ours is (B, C, T, F)
        log_probs = torch.log_softmax(head.logits(embedding), dim=1)
        score = head.score(embedding)
    expected = torch.tensor(golden["log_probs"])
    assert torch.allclose(log_probs, expected, rtol=0, atol=1e-5)
    # The `logodds` score is the difference of the published log-probabilities.
    assert torch.allclose(score, expected[:, 0] - expected[:, 1], rtol=0, atol=1e-5)
    assert embedding.shape == (2, 256)
    every_32nd = torch.tensor(golden["embedding_every_32nd"])
    assert torch.allclose(embedding[:, ::32], every_32nd, rtol=0, atol=1e-5)
    assert torch.allclose(embedding.sum(1), torch.tensor(golden["embedding_sum"]), atol=1e-3)


def test_the_published_block_layout():
    model = MODELS.build("se_res2net", {}, inputs=specs())
    stages = list(model.stages)
    assert [len(stage) for stage in stages] == [3, 4, 6, 3]
    # floor(planes * 26 / 64) channels a split: 6, 13, 26, 52.
    assert [stage[0].width for stage in stages] == [6, 13, 26, 52]
    for stage, stride in zip(stages, (1, 2, 2, 2), strict=True):
        first, *rest = stage
        assert first.first and first.pool is not None and first.shortcut is not None
        assert first.convs[0].stride == (stride, stride)
        assert isinstance(first.shortcut[0], nn.Identity if stride == 1 else nn.AvgPool2d)
        assert all(not block.first and block.pool is None for block in rest)
        assert all(block.shortcut is None for block in rest)
        assert all(isinstance(block.attention, SqueezeExcitation) for block in stage)
    assert stages[-1][-1].attention.fc[0].out_features == 256 // 16


# ---------------------------------------------------------------------------------------------
# shapes and settings


@pytest.mark.parametrize(("frames", "dim", "channels"), [(32, 60, 1), (17, 23, 2), (5, 3, 1)])
def test_embedding_shape_for_any_input_size(frames, dim, channels):
    model = MODELS.build(
        "se_res2net", {"planes": [8, 16, 16, 32]}, inputs=specs(dim, channels)
    ).eval()
    with torch.no_grad():
        assert model({"feats": torch.randn(3, channels, frames, dim)}).shape == (3, 64)
    assert model.embedding_dim == 64


def test_null_se_reduction_removes_squeeze_excitation():
    plain = MODELS.build("se_res2net", {"se_reduction": None}, inputs=specs())
    se = MODELS.build("se_res2net", {}, inputs=specs())
    blocks = [m for m in plain.modules() if isinstance(m, Bottle2neck)]
    assert len(blocks) == 16 and all(block.attention is None for block in blocks)
    assert not any(isinstance(m, SqueezeExcitation) for m in plain.modules())
    # Each SE block has two bias-free linear layers, C x C/16 each way.
    se_parameters = sum(2 * c * (c // 16) for c in [32] * 3 + [64] * 4 + [128] * 6 + [256] * 3)
    assert count(se) - count(plain) == se_parameters == 923_102 - 883_806


def test_scoring_mode_is_deterministic_and_frames_and_dims_are_not_interchangeable():
    torch.manual_seed(0)
    model = MODELS.build("se_res2net", {"planes": [8, 16, 16, 32]}, inputs=specs()).eval()
    feats = torch.randn(2, 1, 32, 60)
    with torch.no_grad():
        assert torch.equal(model({"feats": feats}), model({"feats": feats}))
        # Square input: transposing it changes the output (height is frequency, width time).
        square = torch.randn(2, 1, 24, 24)
        assert not torch.allclose(
            model({"feats": square}), model({"feats": square.transpose(2, 3)})
        )


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"blocks": [3, 4, 6]}, "differ in length"),
        ({"se_reduction": 0}, "se_reduction must be positive"),
        ({"se_reduction": 64}, "leaves no hidden unit"),
        ({"base_width": 2}, "splits of no channel"),
        ({"scale": 0}, "must be positive"),
        ({"channels": [1, 2]}, "has no setting 'channels'"),
        ({"planes": 16}, "must be a list"),
    ],
)
def test_bad_settings_are_errors(settings, message):
    with pytest.raises(ConfigError, match=message):
        MODELS.build("se_res2net", settings, inputs=specs())


def test_one_split_is_a_plain_bottleneck_without_a_pass_through():
    model = MODELS.build(
        "se_res2net", {"scale": 1, "planes": [8, 16, 16, 32]}, inputs=specs()
    ).eval()
    first = model.stages[0][0]
    assert len(first.convs) == 1 and first.pool is None
    with torch.no_grad():
        assert model({"feats": torch.randn(2, 1, 20, 30)}).shape == (2, 64)


# ---------------------------------------------------------------------------------------------
# a block attention plugged in by a subclass


class Recorder(nn.Module):
    """Records the shape of each map it sees and scales it by a learnable factor."""

    def __init__(self, channels: int, seen: list[tuple[int, ...]]) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.full((channels,), 0.5))
        self.seen = seen

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen.append(tuple(x.shape))
        return x * self.scale[:, None, None]


class RecordingRes2Net(Res2Net):
    def __init__(self, *args, **kwargs) -> None:
        # Set before super().__init__, which calls block_attention.
        self.requested: list[int] = []
        self.seen: list[tuple[int, ...]] = []
        super().__init__(*args, **kwargs)

    def block_attention(self, channels: int) -> nn.Module | None:
        self.requested.append(channels)
        return Recorder(channels, self.seen)


def test_a_subclass_attention_is_called_in_every_block_after_bn3():
    settings = {"planes": [4, 8, 8, 16], "blocks": [2, 1, 1, 2]}
    model = RecordingRes2Net(specs(), **settings).eval()
    assert model.requested == [8, 8, 16, 16, 32, 32]
    assert not any(isinstance(m, SqueezeExcitation) for m in model.modules())
    # The attention's own initialisation is kept (convs and BN only are re-initialised).
    recorders = [m for m in model.modules() if isinstance(m, Recorder)]
    assert len(recorders) == 6 and all(torch.all(r.scale == 0.5) for r in recorders)
    with torch.no_grad():
        model({"feats": torch.randn(2, 1, 16, 20)})
    # (B, C, F, T) maps: 20 x 16 in the first stage, halved (rounding up) at each stride 2.
    assert model.seen == [
        (2, 8, 20, 16),
        (2, 8, 20, 16),
        (2, 16, 10, 8),
        (2, 16, 5, 4),
        (2, 32, 3, 2),
        (2, 32, 3, 2),
    ]
    # It is where SE is: on bn3's output, before the shortcut is added.
    block = model.stages[0][1]
    x = torch.randn(2, 8, 6, 5)
    with torch.no_grad():
        splits = torch.split(torch.relu(block.bn1(block.conv1(x))), block.width, dim=1)
        outputs, previous = [], None
        for index, (conv, bn) in enumerate(zip(block.convs, block.bns, strict=True)):
            split = splits[index] if previous is None else splits[index] + previous
            previous = torch.relu(bn(conv(split)))
            outputs.append(previous)
        bn3 = block.bn3(block.conv3(torch.cat([*outputs, splits[-1]], dim=1)))
        assert torch.allclose(block(x), torch.relu(0.5 * bn3 + x), atol=1e-6)


# ---------------------------------------------------------------------------------------------
# configs


@pytest.mark.parametrize(("base", "expected"), [("se_res2net50", 923_102), ("res2net50", 883_806)])
def test_the_base_configs_resolve_and_build(tmp_path: Path, base, expected):
    path = tmp_path / "c.yaml"
    extends = ["frontend/lfcc", f"model/{base}", "train/ocsoftmax_paper"]
    path.write_text(yaml.safe_dump({"extends": extends, "loss": "softmax"}))
    config = resolve_file(path)
    assert config["model"] == "se_res2net"
    assert resolve(yaml.safe_load(yaml.safe_dump(config))) == config
    detector = build_detector(config)
    assert detector.num_parameters() == expected


def test_a_config_without_settings_completes_them_with_the_defaults(tmp_path: Path):
    path = tmp_path / "c.yaml"
    path.write_text(
        yaml.safe_dump(
            {"extends": ["frontend/lfcc", "train/ocsoftmax_paper"], "model": "se_res2net"}
            | {"loss": "softmax"}
        )
    )
    config = resolve_file(path)
    assert config["model_conf"]["se_reduction"] == 16
    assert list(config["model_conf"]["blocks"]) == [3, 4, 6, 3]
    assert resolve(yaml.safe_load(yaml.safe_dump(config))) == config
    assert build_detector(config).num_parameters() == 923_102

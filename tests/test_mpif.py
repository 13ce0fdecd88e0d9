"""The MPIF attention block (`antispoof.models.mpif`): shapes for odd sizes, each perspective
switchable and reducing to a gate over its own axis, the fusions, the settings' errors, gradients
and the parameter count."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from antispoof.models.mpif import PERSPECTIVES, MPIFAttention
from antispoof.registry import ConfigError

B, C, H, W = 2, 13, 9, 11  # odd everywhere, and H != W so that a swapped axis would fail


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


def feature_map(channels: int = C) -> torch.Tensor:
    # Strictly positive so that output / input recovers the gate everywhere.
    return torch.rand(B, channels, H, W) + 0.5


def subset_of(full: MPIFAttention, **settings: Any) -> MPIFAttention:
    """A module with `settings` carrying `full`'s weights for the gates it keeps (the fusion
    logits only where their number is the same)."""
    part = MPIFAttention(full.channels, **settings)
    theirs = full.state_dict()
    state = {
        k: theirs[k] if k in theirs and theirs[k].shape == v.shape else v
        for k, v in part.state_dict().items()
    }
    part.load_state_dict(state)
    return part


def randomise(module: torch.nn.Module) -> None:
    # Default inits leave ECA and bias terms small; spread them so that gates differ clearly.
    with torch.no_grad():
        for p in module.parameters():
            p.normal_(0.0, 0.7)


@pytest.mark.parametrize(
    "settings",
    [
        {},
        {"channel_attention": "se", "reduction": 4},
        {"fusion": "product", "residual": True},
        {"fusion": "mean", "axis_pooling": "max", "channel_pooling": "mean_max"},
        {"frequency_kernel": 1, "time_kernel": 13, "eca_kernel": 5},  # kernels wider than H, W
        {"frequency_axis": 3},
    ],
)
def test_output_shape_equals_input_shape(settings: dict[str, Any]) -> None:
    x = feature_map()
    y = MPIFAttention(C, **settings)(x)
    assert y.shape == x.shape
    assert torch.isfinite(y).all()


# For each perspective, the dims along which its gate must be constant (H frequency, W time).
CONSTANT_DIMS = {"channel": (2, 3), "frequency": (1, 3), "time": (1, 2)}


@pytest.mark.parametrize("fusion", ["product", "mean", "learned"])
@pytest.mark.parametrize("only", PERSPECTIVES)
def test_single_perspective_gates_only_its_own_axis(only: str, fusion: str) -> None:
    block = MPIFAttention(C, perspectives=[only], fusion=fusion)
    randomise(block)
    x = feature_map()
    ratio = block(x) / x
    spread = ratio.amax(dim=CONSTANT_DIMS[only]) - ratio.amin(dim=CONSTANT_DIMS[only])
    assert spread.max() < 1e-5
    # ... and it does vary along its own axis: it is a gate, not a constant.
    assert (ratio.amax() - ratio.amin()) > 1e-3
    assert ((ratio > 0) & (ratio < 1)).all()
    assert sum(p.numel() for p in block.parameters()) == parameter_count(
        C, perspectives=[only], fusion=fusion
    )


def test_frequency_axis_3_reads_a_time_major_map() -> None:
    """With `frequency_axis: 3` the map is (B, C, T, F): the frequency gate runs along W."""
    block = MPIFAttention(C, perspectives=["frequency"], frequency_axis=3)
    randomise(block)
    x = feature_map()
    ratio = block(x) / x
    assert (ratio.amax(dim=(1, 2)) - ratio.amin(dim=(1, 2))).max() < 1e-5


@pytest.mark.parametrize("fusion", ["product", "mean", "learned"])
@pytest.mark.parametrize("dropped", PERSPECTIVES)
def test_switching_a_perspective_off_changes_the_output(dropped: str, fusion: str) -> None:
    full = MPIFAttention(C, fusion=fusion)
    randomise(full)
    rest = [p for p in PERSPECTIVES if p != dropped]
    part = subset_of(full, perspectives=rest, fusion=fusion)
    assert dropped not in part.gates and len(part.gates) == 2
    x = feature_map()
    assert not torch.allclose(full(x), part(x), atol=1e-4)


def test_fusions_combine_the_single_perspective_gates() -> None:
    """`product` multiplies the single-perspective gates, `mean` averages them, `learned`
    weights them by the softmax of its logits; `residual` adds the identity."""
    x = feature_map()
    full = MPIFAttention(C, fusion="learned")
    randomise(full)
    singles = torch.stack(
        [subset_of(full, perspectives=[p])(x) / x for p in PERSPECTIVES]
    )  # (3, B, C, H, W)
    weights = torch.softmax(full.fusion_logits.detach(), dim=0)[:, None, None, None, None]
    torch.testing.assert_close(full(x) / x, (weights * singles).sum(0))
    product = subset_of(full, fusion="product")
    torch.testing.assert_close(product(x) / x, singles.prod(0))
    mean = subset_of(full, fusion="mean", residual=True)
    torch.testing.assert_close(mean(x) / x, 1 + singles.mean(0))


def test_learned_fusion_starts_as_the_mean() -> None:
    learned = MPIFAttention(C)
    mean = subset_of(learned, fusion="mean")
    x = feature_map()
    torch.testing.assert_close(learned(x), mean(x))


@pytest.mark.parametrize(
    ("settings", "key"),
    [
        ({"perspectives": []}, "perspectives"),
        ({"perspectives": ["channel", "space"]}, "perspectives"),
        ({"perspectives": ["time", "time"]}, "perspectives"),
        ({"perspectives": "time"}, "perspectives"),
        ({"channel_attention": "cbam"}, "channel_attention"),
        ({"reduction": 0}, "reduction"),
        ({"channel_attention": "se", "reduction": 16}, "reduction"),  # 13 // 16 == 0 units
        ({"eca_kernel": 4}, "eca_kernel"),
        ({"eca_kernel": 0}, "eca_kernel"),
        ({"channel_pooling": "median"}, "channel_pooling"),
        ({"axis_pooling": "sum"}, "axis_pooling"),
        ({"frequency_kernel": 6}, "frequency_kernel"),
        ({"time_kernel": -3}, "time_kernel"),
        ({"time_kernel": 7.0}, "time_kernel"),
        ({"fusion": "concat"}, "fusion"),
        ({"residual": "yes"}, "residual"),
        ({"frequency_axis": 1}, "frequency_axis"),
    ],
)
def test_invalid_settings_name_the_key(settings: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError, match=key):
        MPIFAttention(C, **settings)


def test_invalid_channels_and_input() -> None:
    with pytest.raises(ConfigError, match="channels"):
        MPIFAttention(0)
    with pytest.raises(ValueError, match=r"\(B, 13, H, W\)"):
        MPIFAttention(C)(torch.rand(B, C + 1, H, W))
    with pytest.raises(ValueError, match=r"\(B, 13, H, W\)"):
        MPIFAttention(C)(torch.rand(C, H, W))
    with pytest.raises(TypeError, match="fusoin"):
        MPIFAttention(C, fusoin="mean")  # type: ignore[call-arg]


@pytest.mark.parametrize(
    "settings",
    [
        {},
        {"channel_attention": "se", "fusion": "product", "residual": True},
        {"channel_attention": "se", "channel_pooling": "mean_max", "fusion": "mean"},
        {"perspectives": ["frequency", "time"], "axis_pooling": "max"},
    ],
)
def test_gradients_reach_every_parameter(settings: dict[str, Any]) -> None:
    # 64 channels, r = 4: 16 SE hidden units, so that not every ReLU is dead for this input (a
    # 1-unit SE bottleneck can be).
    channels = 64
    block = MPIFAttention(channels, reduction=4, **settings)
    x = feature_map(channels).requires_grad_()
    (block(x) * torch.randn(B, channels, H, W)).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    for name, p in block.named_parameters():
        assert p.grad is not None, name
        assert p.grad.abs().sum() > 0, name


def parameter_count(
    channels: int,
    perspectives: list[str] = list(PERSPECTIVES),  # noqa: B006 (never mutated)
    channel_attention: str = "eca",
    reduction: int = 16,
    eca_kernel: int = 3,
    channel_pooling: str = "mean",
    axis_pooling: str = "mean_max",
    frequency_kernel: int = 7,
    time_kernel: int = 7,
    fusion: str = "learned",
) -> int:
    """The formula of the module docstring, written out independently of the module."""
    stats = {"mean": 1, "max": 1, "mean_max": 2}
    total = 0
    if "channel" in perspectives:
        if channel_attention == "eca":
            total += stats[channel_pooling] * eca_kernel  # Conv1d(Pc, 1, k), no bias
        else:
            hidden = channels // reduction
            total += 2 * channels * hidden + hidden + channels  # two Linears with biases
    if "frequency" in perspectives:
        total += stats[axis_pooling] * frequency_kernel + 1  # Conv1d(Pa, 1, k) with bias
    if "time" in perspectives:
        total += stats[axis_pooling] * time_kernel + 1
    if fusion == "learned" and len(perspectives) > 1:
        total += len(perspectives)  # one softmax logit per perspective
    return total


@pytest.mark.parametrize(
    ("channels", "settings"),
    [
        (256, {}),
        (32, {}),
        (256, {"channel_attention": "se"}),
        (32, {"channel_attention": "se", "reduction": 32}),  # one hidden unit
        (64, {"channel_pooling": "mean_max", "axis_pooling": "mean", "eca_kernel": 5}),
        (64, {"perspectives": ["channel", "time"], "fusion": "product", "time_kernel": 9}),
        (128, {"perspectives": ["frequency"]}),
    ],
)
def test_parameter_count_follows_the_formula(channels: int, settings: dict[str, Any]) -> None:
    block = MPIFAttention(channels, **settings)
    assert sum(p.numel() for p in block.parameters()) == parameter_count(channels, **settings)


def test_default_costs_no_more_than_se() -> None:
    """The defaults cost 36 parameters at any width; SE (r = 16) costs 8,464 at C = 256."""
    assert parameter_count(256) == 36
    for channels in (32, 64, 128, 256):  # SE-Res2Net50's block output widths
        ours = sum(p.numel() for p in MPIFAttention(channels).parameters())
        se = parameter_count(channels, perspectives=["channel"], channel_attention="se")
        assert ours == 36 <= se

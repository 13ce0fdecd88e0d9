"""The WaveSpec model (`antispoof.models.wavespec`): shapes through every scale, CMFF time
alignment of mismatched frame rates, the ablations and their errors, gradients into both paths,
the registry, and a training step with the `sum` of softmax and single_center."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from antispoof.config import resolve_file
from antispoof.frontends.base import FeatureSpec
from antispoof.losses import LOSSES
from antispoof.models.base import MODELS
from antispoof.models.wavespec import CMFFGate, WaveSpec, align
from antispoof.registry import ConfigError
from antispoof.training.trainer import Trainer, TrainingData
from toy_data import make_toy_data_dir

B = 2
WAVE_DIM, CQT_BINS = 16, 48
SMALL: dict[str, Any] = {
    "fusion_dim": 24,
    "unet_channels": [4, 8, 8],
    "head_channels": [16],
    "embedding_dim": 12,
}
WAVESPEC_SUM = {
    "terms": {
        "ce": {"loss": "softmax", "weight": 1.0},
        "scl": {"loss": "single_center", "loss_conf": {"margin": 0.3}, "weight": 0.5},
    },
    "scorer": "ce",
}


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


def wave_spec(channels: int = 3) -> FeatureSpec:
    return FeatureSpec(channels=channels, dim=WAVE_DIM, hop_length=320, frame_length=400)


def cqt_spec(channels: int = 2) -> FeatureSpec:
    return FeatureSpec(
        channels=channels, dim=CQT_BINS, hop_length=256, frame_length=1, framing="center"
    )


def specs(wave_channels: int = 3, cqt_channels: int = 2) -> dict[str, FeatureSpec]:
    return {"ssl": wave_spec(wave_channels), "cqt": cqt_spec(cqt_channels)}


def features(
    wave_frames: int = 50,
    spec_frames: int = 64,
    wave_channels: int = 3,
    cqt_channels: int = 2,
) -> dict[str, torch.Tensor]:
    return {
        "ssl": torch.randn(B, wave_channels, wave_frames, WAVE_DIM),
        "cqt": torch.randn(B, cqt_channels, spec_frames, CQT_BINS),
    }


def model(inputs: dict[str, FeatureSpec] | None = None, **settings: Any) -> WaveSpec:
    return WaveSpec(specs() if inputs is None else inputs, **{**SMALL, **settings})


def halvings(frames: int) -> list[int]:
    """Frames of the three U-Net stages (2x max-pool in ceil mode between them)."""
    return [frames, -(-frames // 2), -(-frames // 4)]


def test_shapes_through_every_scale_and_the_embedding() -> None:
    net = model()
    feats = features()
    outputs = net.scale_outputs(feats)
    assert [tuple(out.shape) for out in outputs] == [(B, 24, 50)] * 3
    assert net(feats).shape == (B, 12)
    assert net.embedding_dim == 12


def test_align_to_spec_gives_a_time_pyramid() -> None:
    net = model(align_to="spec")
    outputs = net.scale_outputs(features(wave_frames=50, spec_frames=64))
    assert [out.shape[-1] for out in outputs] == halvings(64)
    assert net(features()).shape == (B, 12)


@pytest.mark.parametrize(
    ("before", "after"), [(201, 250), (250, 201), (13, 201), (201, 13), (1, 7), (7, 1), (9, 9)]
)
def test_align_resamples_any_pair_of_frame_counts(before: int, after: int) -> None:
    x = torch.randn(B, 5, before)
    out = align(x, after)
    assert out.shape == (B, 5, after)
    # A constant sequence stays that constant, whichever way it is resampled.
    constant = torch.full((B, 5, before), 3.0)
    torch.testing.assert_close(align(constant, after), torch.full((B, 5, after), 3.0))


@pytest.mark.parametrize(
    ("wave_frames", "spec_frames"),
    [(50, 64), (50, 13), (13, 250), (201, 250), (250, 201), (5, 1), (1, 9)],
)
@pytest.mark.parametrize("align_to", ["wave", "spec"])
def test_cmff_aligns_mismatched_frame_rates(
    wave_frames: int, spec_frames: int, align_to: str
) -> None:
    net = model(align_to=align_to).eval()
    feats = features(wave_frames, spec_frames)
    outputs = net.scale_outputs(feats)
    expected = [wave_frames] * 3 if align_to == "wave" else halvings(spec_frames)
    assert [out.shape[-1] for out in outputs] == expected
    assert all(out.shape[:2] == (B, 24) for out in outputs)
    if expected[-1] > 1:
        embedding = net(feats)
        assert embedding.shape == (B, 12) and torch.isfinite(embedding).all()
    else:  # the attentive pooling's standard deviation over a single frame is undefined
        with pytest.warns(UserWarning, match="degrees of freedom"):
            assert net(feats).shape == (B, 12)


def test_gate_of_equal_inputs_returns_them_and_lies_in_0_1() -> None:
    gate = CMFFGate(8, reduction=4, kernel=3).eval()
    a, b = torch.randn(B, 8, 11), torch.randn(B, 8, 11)
    torch.testing.assert_close(gate(a, a), a)
    g = gate.gate(a, b)
    assert g.shape == a.shape and ((g > 0) & (g < 1)).all()
    torch.testing.assert_close(gate(a, b), g * a + (1 - g) * b)


@pytest.mark.parametrize(
    "settings",
    [
        {"fusion": "concat"},
        {"carry_into": "fused"},
        {"frequency_pooling": "mean"},
        {"frequency_pooling": "max"},
        {"spec_norm": False, "wave_norm": False},
        {"local_kernel": 1, "attention_reduction": 64},  # reduction wider than fusion_dim
        {"head_channels": []},
        {"fusion": "concat", "align_to": "spec", "scales": 1},
    ],
)
def test_variants_build_and_run(settings: dict[str, Any]) -> None:
    net = model(**settings)
    assert net(features()).shape == (B, 12)


def test_magnitude_only_cqt() -> None:
    net = model(specs(cqt_channels=1))
    assert net(features(cqt_channels=1)).shape == (B, 12)


def test_wave_only_reads_only_the_wave_branch() -> None:
    # The spectrogram branch is absent and spec_input names nothing.
    net = model({"ssl": wave_spec()}, branches="wave", spec_input="nowhere").eval()
    assert net.spec_encoder is None and net.fusions is None
    feats = {"ssl": torch.randn(B, 3, 50, WAVE_DIM)}
    assert [out.shape for out in net.scale_outputs(feats)] == [(B, 24, 50)] * 3
    assert net(feats).shape == (B, 12)


def test_spec_only_reads_only_the_spectrogram_branch() -> None:
    net = model({"cqt": cqt_spec()}, branches="spec", wave_input="nowhere").eval()
    assert net.wave_projections is None and net.fusions is None
    feats = {"cqt": torch.randn(B, 2, 64, CQT_BINS)}
    assert [out.shape[-1] for out in net.scale_outputs(feats)] == halvings(64)
    assert net(feats).shape == (B, 12)


def test_one_scale_reads_the_deepest_wave_channel_only() -> None:
    net = model(scales=1).eval()
    assert len(net.carries) == 0 and len(net.fusions or []) == 1
    feats = features()
    changed = {**feats, "ssl": feats["ssl"].clone()}
    changed["ssl"][:, :2] = torch.randn(B, 2, 50, WAVE_DIM)  # shallow and medium channels
    torch.testing.assert_close(net(changed), net(feats))
    changed["ssl"][:, 2] = torch.randn(B, 50, WAVE_DIM)  # (a shift would be normalised away)
    assert not torch.allclose(net(changed), net(feats))


def test_one_scale_with_a_single_wave_channel() -> None:
    net = model(specs(wave_channels=1), scales=1)
    assert net(features(wave_channels=1)).shape == (B, 12)


@pytest.mark.parametrize(
    ("inputs", "settings", "key"),
    [
        ({"cqt": cqt_spec()}, {}, "wave_input"),
        ({"ssl": wave_spec()}, {}, "spec_input"),
        (specs(), {"wave_input": "xlsr"}, "wave_input"),
        ({"ssl": wave_spec()}, {"branches": "spec"}, "spec_input"),
        (specs(wave_channels=1), {}, "scales"),
        (specs(wave_channels=4), {"scales": 3}, "scales"),
        (specs(), {"scales": 2}, "scales"),
        (specs(), {"branches": "none"}, "branches"),
        (specs(), {"fusion": "sum"}, "fusion"),
        (specs(), {"align_to": "both"}, "align_to"),
        (specs(), {"carry_into": "wave"}, "carry_into"),
        (specs(), {"frequency_pooling": "median"}, "frequency_pooling"),
        (specs(), {"unet_channels": [4, 8]}, "unet_channels"),
        (specs(), {"unet_channels": [4, 0, 8]}, "unet_channels"),
        (specs(), {"fusion_dim": 0}, "fusion_dim"),
        (specs(), {"local_kernel": 2}, "local_kernel"),
    ],
)
def test_bad_settings_name_the_key(
    inputs: dict[str, FeatureSpec], settings: dict[str, Any], key: str
) -> None:
    with pytest.raises(ValueError, match=key):
        model(inputs, **settings)


def test_gradients_reach_both_paths() -> None:
    net = model()
    net(features()).pow(2).sum().backward()
    assert net.wave_projections is not None and net.spec_encoder is not None
    assert net.fusions is not None
    for name, module in [
        ("wave", net.wave_projections),
        ("unet", net.spec_encoder.stages[0]),
        ("spec projection", net.spec_projections),
        ("fusion", net.fusions),
        ("carry", net.carries),
    ]:
        for parameter_name, parameter in module.named_parameters():
            assert parameter.grad is not None, f"{name}.{parameter_name}"
            assert parameter.grad.abs().sum() > 0, f"{name}.{parameter_name}"


def test_registry_build_and_resolved_settings() -> None:
    net = MODELS.build("wavespec", {**SMALL, "fusion": "concat"}, inputs=specs())
    assert isinstance(net, WaveSpec) and net.fusion == "concat"
    assert net(features()).shape == (B, 12)
    resolved = WaveSpec.resolved_settings("wavespec", {"scales": 1}, "model_conf")
    assert resolved["scales"] == 1 and resolved["fusion_dim"] == 256
    assert resolved["wave_input"] == "ssl" and resolved["spec_input"] == "cqt"
    assert "inputs" not in resolved


@pytest.mark.parametrize(
    ("conf", "message"),
    [
        ({"fusion": "attention"}, "model_conf.fusion"),
        ({"scales": 2}, "model_conf.scales"),
        ({"spec_input": "lfcc"}, "spec_input"),
    ],
)
def test_registry_errors_name_the_key(conf: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        MODELS.build("wavespec", conf, inputs=specs())


def test_a_training_step_with_softmax_plus_single_center() -> None:
    net = model()
    loss = LOSSES.build("sum", WAVESPEC_SUM, embedding_dim=net.embedding_dim)
    parameters = [*net.parameters(), *loss.parameters()]
    optimizer = torch.optim.Adam(parameters, lr=1e-3)
    feats = features()
    target = torch.tensor([[1.0, 0.0], [0.0, 1.0]])  # one bona fide, one spoof
    before = [p.detach().clone() for p in parameters]
    value, stats = loss(net(feats), target)
    assert torch.isfinite(value) and stats.keys() == {"ce", "scl"}
    optimizer.zero_grad()
    value.backward()
    assert net.spec_encoder is not None and net.wave_projections is not None
    assert net.spec_encoder.stages[0][0].weight.grad is not None
    assert loss.terms["scl"].centre.grad is not None
    optimizer.step()
    changed = sum(not torch.equal(p, b) for p, b in zip(parameters, before, strict=True))
    assert changed > 0.9 * len(parameters)
    net.eval()
    with torch.no_grad():
        assert loss.score(net(feats)).shape == (B,)


def test_the_mini_config_freezes_the_encoder_for_an_epoch_then_fine_tunes_it(tmp_path):
    """egs/mini/conf/wavespec_small.yaml (the full config's schedule, a small random encoder):
    epoch 1 leaves every encoder weight as it was and trains the rest; epoch 2 tunes it."""
    repo = Path(__file__).resolve().parents[1]
    overrides = ["train.batch_size=4", "train.crop_seconds=0.5", "train.num_workers=0"]
    config = resolve_file(repo / "egs/mini/conf/wavespec_small.yaml", overrides)
    assert config["train"]["freeze"] == {"ssl": 1}
    data = TrainingData(
        make_toy_data_dir(tmp_path, "train", 4, 0), make_toy_data_dir(tmp_path, "dev", 2, 1)
    )
    trainer = Trainer(tmp_path / "exp", config, data, torch.device("cpu"))
    start = {k: v.clone() for k, v in trainer.detector.state_dict().items()}
    snapshots = []
    for epoch in (1, 2):
        trainer._train_epoch(epoch, None)
        snapshots.append({k: v.clone() for k, v in trainer.detector.state_dict().items()})

    def changed(before, after, prefix):
        return [k for k in after if k.startswith(prefix) and not torch.equal(before[k], after[k])]

    assert changed(start, snapshots[0], "inputs.ssl.") == []
    assert changed(start, snapshots[0], "model.")
    assert changed(snapshots[0], snapshots[1], "inputs.ssl.")

"""The `mesonet` model (MesoInception4 of Kawa et al.): KAWA's weights give KAWA's outputs through
the key mapping, the parameter counts, shapes for any number of frames, both heads, training
with `softmax` and `ocsoftmax`, and the settings."""

import pytest
import torch

from antispoof.frontends.base import FeatureSpec
from antispoof.labels import BONAFIDE, SPOOF, one_hot
from antispoof.losses import LOSSES
from antispoof.models import MODELS
from antispoof.models.mesonet import official_state_dict
from antispoof.registry import ConfigError

# Whisper + MFCC stacked as two channels of 384 dims (KAWA's input, 3000 frames).
STACKED = {"feats": FeatureSpec(channels=2, dim=384, hop_length=160, frame_length=400)}

# The official state_dict: names and shapes of `MesoInception4(input_channels=2, fc1_dim=1024)`
# of github.com/piotrkawa/deepfake-whisper-features `src/models/meso_net.py` (commit 59da498),
# printed by running that file (with a stub `src.frontends`) outside this repository.
OFFICIAL_SHAPES = (
    ("Incption1_conv1.weight", (1, 2, 1, 1)),
    ("Incption1_conv2_1.weight", (4, 2, 1, 1)),
    ("Incption1_conv2_2.weight", (4, 4, 3, 3)),
    ("Incption1_conv3_1.weight", (4, 2, 1, 1)),
    ("Incption1_conv3_2.weight", (4, 4, 3, 3)),
    ("Incption1_conv4_1.weight", (2, 2, 1, 1)),
    ("Incption1_conv4_2.weight", (2, 2, 3, 3)),
    ("Incption1_bn.weight", (11,)),
    ("Incption1_bn.bias", (11,)),
    ("Incption1_bn.running_mean", (11,)),
    ("Incption1_bn.running_var", (11,)),
    ("Incption1_bn.num_batches_tracked", ()),
    ("Incption2_conv1.weight", (2, 11, 1, 1)),
    ("Incption2_conv2_1.weight", (4, 11, 1, 1)),
    ("Incption2_conv2_2.weight", (4, 4, 3, 3)),
    ("Incption2_conv3_1.weight", (4, 11, 1, 1)),
    ("Incption2_conv3_2.weight", (4, 4, 3, 3)),
    ("Incption2_conv4_1.weight", (2, 11, 1, 1)),
    ("Incption2_conv4_2.weight", (2, 2, 3, 3)),
    ("Incption2_bn.weight", (12,)),
    ("Incption2_bn.bias", (12,)),
    ("Incption2_bn.running_mean", (12,)),
    ("Incption2_bn.running_var", (12,)),
    ("Incption2_bn.num_batches_tracked", ()),
    ("conv1.weight", (16, 12, 5, 5)),
    ("bn1.weight", (16,)),
    ("bn1.bias", (16,)),
    ("bn1.running_mean", (16,)),
    ("bn1.running_var", (16,)),
    ("bn1.num_batches_tracked", ()),
    ("conv2.weight", (16, 16, 5, 5)),
    ("fc1.weight", (16, 1024)),
    ("fc1.bias", (16,)),
    ("fc2.weight", (1, 16)),
    ("fc2.bias", (1,)),
)
# `count_parameters` of the official file's __main__ for input_channels=2, fc1_dim=1024 (every
# trainable parameter; fc2 has one output).
OFFICIAL_PARAMETERS = 28_497
OFFICIAL_FC2_PARAMETERS = 17

# Golden outputs of the official code: the files above and chihyi-lin/Whisper-ocsoftmax
# `src/models/meso_net.py` (commit 69b384b; the same network returning `(feat, logit)`, `feat`
# being the 1024-d pooled vector it feeds OC-Softmax), written to a directory outside this
# repository, loaded with `official_weights()` below, in eval mode on a CPU (torch 2.11) under
# `torch.no_grad()`. Both files gave the same logits. Inputs in the official `(B, C, F, T)`
# layout: `torch.randn(shape, generator=torch.Generator().manual_seed(seed))`.
# `feat_every_128th` is `feat[:, ::128]`.
GOLDEN = {
    "full": {
        "shape": (2, 2, 384, 3000),
        "seed": 0,
        "logit": [0.21343263983726501, 0.23353061079978943],
        "feat_every_128th": [
            [0.336409, 0.523342, 0.18873, 0.333852, 1.013642, 0.287423, 0.154876, 0.37444],
            [0.309436, 0.568538, 0.186043, 0.340423, 0.919099, 0.282967, 0.175065, 0.313456],
        ],
        "feat_sum": [595.126708984375, 595.5806884765625],
    },
    "small": {
        "shape": (2, 2, 64, 200),
        "seed": 1,
        "logit": [0.14646020531654358, 0.18635441362857819],
        "feat_every_128th": [
            [0.350928, 0.381988, 0.184581, 0.401414, 0.852815, 0.515962, 0.139446, 0.130294],
            [0.367464, 0.482359, 0.184581, 0.375159, 0.758501, 0.585843, 0.230523, 0.440762],
        ],
        "feat_sum": [673.1312255859375, 701.9705200195312],
    },
}


def official_weights() -> dict[str, torch.Tensor]:
    """Deterministic weights in the official layout, of the scale of a trained network (and
    BN statistics that are not the identity), the `k`-th tensor drawn from generator seed `k`.
    The same function produced the golden values."""
    weights: dict[str, torch.Tensor] = {}
    for index, (name, shape) in enumerate(OFFICIAL_SHAPES):
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


def split(state: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {
        key.removeprefix(prefix): value for key, value in state.items() if key.startswith(prefix)
    }


def specs(channels: int = 2, dim: int = 64) -> dict[str, FeatureSpec]:
    return {"feats": FeatureSpec(channels=channels, dim=dim, hop_length=160, frame_length=400)}


def count(*modules: torch.nn.Module) -> int:
    return sum(p.numel() for module in modules for p in module.parameters())


# ---------------------------------------------------------------------------------------------
# the official network


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_official_weights_give_the_official_outputs(name):
    golden = GOLDEN[name]
    inputs = specs(dim=golden["shape"][2])
    kawa = MODELS.build("mesonet", {"head": "kawa"}, inputs=inputs)
    softmax = LOSSES.build("softmax", {}, embedding_dim=kawa.embedding_dim)
    pooled = MODELS.build("mesonet", {}, inputs=inputs)
    state = official_state_dict(official_weights(), head="kawa")
    kawa.load_state_dict(split(state, "model."))
    softmax.load_state_dict(split(state, "loss."))
    pooled.load_state_dict(split(official_state_dict(official_weights(), head="none"), "model."))
    generator = torch.Generator().manual_seed(golden["seed"])
    official_layout = torch.randn(golden["shape"], generator=generator)
    feats = {"feats": official_layout.transpose(2, 3)}  # ours is (B, C, T, F)
    for module in (kawa, softmax, pooled):
        module.eval()
    with torch.no_grad():
        score = softmax.score(kawa(feats))
        feat = pooled(feats)
    assert torch.allclose(score, torch.tensor(golden["logit"]), rtol=0, atol=1e-4)
    expected = torch.tensor(golden["feat_every_128th"])
    assert feat.shape == (2, 1024)
    assert torch.allclose(feat[:, ::128], expected, rtol=0, atol=1e-4)
    # A sum of 1024 float32 values of ~0.6: its rounding error is ~1e-4 alone.
    assert torch.allclose(feat.sum(1), torch.tensor(golden["feat_sum"]), rtol=0, atol=1e-3)


def test_the_official_logit_is_the_bonafide_row_of_the_output_layer():
    state = official_state_dict(official_weights(), head="kawa")
    fc2 = official_weights()
    assert torch.equal(state["loss.output.weight"][BONAFIDE], fc2["fc2.weight"][0])
    assert torch.equal(state["loss.output.weight"][SPOOF], torch.zeros(16))
    assert torch.equal(
        state["loss.output.bias"], torch.stack([fc2["fc2.bias"][0], torch.tensor(0.0)])
    )


def test_without_the_kawa_head_the_official_head_is_left_out():
    state = official_state_dict(official_weights(), head="none")
    assert not any(key.startswith(("loss.", "model.hidden")) for key in state)
    model = MODELS.build("mesonet", {}, inputs=STACKED)
    model.load_state_dict(split(state, "model."))  # strict: every parameter is loaded


def test_other_weights_are_refused(tmp_path):
    weights = {**official_weights(), "whisper_model.encoder.conv1.weight": torch.zeros(1)}
    with pytest.raises(ValueError, match=r"unknown keys: whisper_model\.encoder\.conv1\.weight"):
        official_state_dict(weights, head="none")
    path = tmp_path / "meso.pth"
    torch.save(official_weights(), path)
    assert official_state_dict(path, head="none").keys() == (
        official_state_dict(official_weights(), head="none").keys()
    )


def test_parameter_counts():
    pooled = MODELS.build("mesonet", {}, inputs=STACKED)
    kawa = MODELS.build("mesonet", {"head": "kawa"}, inputs=STACKED)
    softmax = LOSSES.build("softmax", {}, embedding_dim=kawa.embedding_dim)
    assert count(pooled) == 12_080
    assert count(kawa) == 28_480
    # The official count holds a 1-output fc2; the softmax loss's layer has two outputs.
    assert count(kawa) + OFFICIAL_FC2_PARAMETERS == OFFICIAL_PARAMETERS
    assert count(softmax) == 2 * OFFICIAL_FC2_PARAMETERS
    # The official fc1 (1024 x 16 + 16) is what `head: kawa` adds.
    assert count(kawa) - count(pooled) == 1024 * 16 + 16


# ---------------------------------------------------------------------------------------------
# shapes and settings


@pytest.mark.parametrize("frames", [32, 33, 200, 517])
@pytest.mark.parametrize(("head", "dim"), [("none", 1024), ("kawa", 16)])
def test_any_number_of_frames_gives_the_embedding_size(frames, head, dim):
    model = MODELS.build("mesonet", {"head": head}, inputs=specs(channels=1, dim=80))
    assert model.embedding_dim == dim
    assert model({"feats": torch.randn(3, 1, frames, 80)}).shape == (3, dim)


def test_too_few_frames_or_feature_dims_are_errors():
    model = MODELS.build("mesonet", {}, inputs=specs())
    with pytest.raises(ValueError, match="at least 32 frames"):
        model({"feats": torch.randn(2, 2, 31, 64)})
    with pytest.raises(ConfigError, match="has 31 feature dims; mesonet needs at least 32"):
        MODELS.build("mesonet", {}, inputs=specs(dim=31))


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"head": "linear"}, "head"),
        ({"pooled_dim": 0}, "pooled_dim must be positive"),
        ({"hidden_dim": 0}, "hidden_dim must be positive"),
        ({"dropout": 1.0}, r"dropout must be in \[0, 1\)"),
        ({"fc1_dim": 1024}, "fc1_dim"),
    ],
)
def test_bad_settings_are_errors(settings, message):
    with pytest.raises(ConfigError, match=message):
        MODELS.build("mesonet", settings, inputs=specs())


def test_one_bn_normalises_both_convs():
    model = MODELS.build("mesonet", {}, inputs=specs())
    model({"feats": torch.randn(2, 2, 64, 64)})
    # Updated once after each conv per training step.
    assert model.bn.num_batches_tracked.item() == 2


def test_dropout_is_active_in_training_only():
    model = MODELS.build("mesonet", {"head": "kawa"}, inputs=specs())
    feats = {"feats": torch.randn(2, 2, 64, 64)}
    torch.manual_seed(0)
    assert not torch.equal(model(feats), model(feats))
    model.eval()
    with torch.no_grad():
        assert torch.equal(model(feats), model(feats))
    off = MODELS.build("mesonet", {"head": "kawa", "dropout": 0.0}, inputs=specs())
    assert torch.equal(off(feats), off(feats))


@pytest.mark.parametrize(("loss_name", "head"), [("softmax", "kawa"), ("ocsoftmax", "none")])
def test_one_training_step_with_each_loss(loss_name, head):
    torch.manual_seed(0)
    model = MODELS.build("mesonet", {"head": head}, inputs=specs())
    loss = LOSSES.build(loss_name, {}, embedding_dim=model.embedding_dim)
    parameters = [*model.parameters(), *loss.parameters()]
    optimizer = torch.optim.Adam(parameters, lr=1e-3)
    feats = {"feats": torch.randn(4, 2, 96, 64)}
    target = one_hot(torch.tensor([BONAFIDE, SPOOF, BONAFIDE, SPOOF]))
    value, _ = loss(model(feats), target)
    optimizer.zero_grad()
    value.backward()
    missing = [name for name, p in model.named_parameters() if p.grad is None]
    assert not missing, f"no gradient reaches {missing}"
    assert all(torch.isfinite(p.grad).all() for p in parameters)
    before = [p.detach().clone() for p in model.parameters()]
    optimizer.step()
    assert all(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
    model.eval()
    with torch.no_grad():
        assert torch.isfinite(loss.score(model(feats))).all()

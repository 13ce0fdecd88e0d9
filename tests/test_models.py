"""ResNet18 of the OC-Softmax paper: parameter count, shapes, frequency collapse, determinism."""

import pytest
import torch

from antispoof.frontends.base import FeatureSpec
from antispoof.losses import LOSSES
from antispoof.models import MODELS
from antispoof.registry import ConfigError


def lfcc_like(dim: int, channels: int = 1) -> dict[str, FeatureSpec]:
    return {"feats": FeatureSpec(channels=channels, dim=dim, hop_length=160, frame_length=320)}


def test_published_parameter_count_with_a_two_class_output_layer():
    model = MODELS.build("resnet18", {}, inputs=lfcc_like(60))
    head = LOSSES.build("softmax", {}, embedding_dim=model.embedding_dim)
    count = sum(p.numel() for m in (model, head) for p in m.parameters())
    assert count == 12_450_290


@pytest.mark.parametrize(("input_dim", "channels"), [(60, 1), (20, 1), (384, 1), (60, 2)])
def test_embedding_shape_for_any_feature_size(input_dim, channels):
    model = MODELS.build(
        "resnet18",
        {"channels": [8, 16, 16, 32], "pooling_channels": 16, "embedding_dim": 12},
        inputs=lfcc_like(input_dim, channels),
    )
    assert model({"feats": torch.randn(3, channels, 50, input_dim)}).shape == (3, 12)


def test_a_single_input_model_reads_the_branch_it_is_told():
    specs = {**lfcc_like(60), "other": FeatureSpec(1, 20, 160, 320)}
    with pytest.raises(ConfigError, match="reads one input branch; name it with `input`"):
        MODELS.build("resnet18", {}, inputs=specs)
    model = MODELS.build("resnet18", {"input": "other"}, inputs=specs)
    assert model({"other": torch.randn(2, 1, 40, 20), "feats": None}).shape == (2, 256)


def test_scoring_mode_is_deterministic_and_training_mode_adds_noise_only_to_the_std():
    torch.manual_seed(0)
    model = MODELS.build(
        "resnet18", {"channels": [8, 8, 8, 8], "pooling_channels": 8}, inputs=lfcc_like(60)
    )
    feats = {"feats": torch.randn(2, 1, 40, 60)}
    model.eval()
    assert torch.equal(model(feats), model(feats))


def test_input_size_is_derived_not_configured():
    with pytest.raises(ConfigError, match="derived by the pipeline"):
        MODELS.build("resnet18", {"inputs": {}}, inputs=lfcc_like(60))
    with pytest.raises(ConfigError, match="unknown model 'resnet19'"):
        MODELS.build("resnet19", {}, inputs=lfcc_like(60))


# ---------------------------------------------------------------------------------------------
# `frequency_reduction: first_row`: the AIR network on 384-dim features as Chih-Yi Lin's study
# runs it (chihyi-lin/AIR-ASVspoof `resnet.py`: num_nodes 3, only row 0 kept)

SMALL = {"channels": [8, 16, 16, 32], "pooling_channels": 16, "embedding_dim": 12}


def test_first_row_on_384_dims_has_the_published_parameter_count_and_shapes():
    model = MODELS.build("resnet18", {"frequency_reduction": "first_row"}, inputs=lfcc_like(384))
    head = LOSSES.build("softmax", {}, embedding_dim=model.embedding_dim)
    assert sum(p.numel() for m in (model, head) for p in m.parameters()) == 12_450_290
    # 384 -> 126 rows after the stem, 16 after the stages; the 3-row conv leaves 14.
    assert model.collapse[0].kernel_size == (3, 3)
    model.eval()
    with torch.no_grad():
        assert model({"feats": torch.randn(2, 1, 40, 384)}).shape == (2, 256)


def test_the_default_collapses_every_row_and_is_unchanged_by_the_setting():
    torch.manual_seed(0)
    default = MODELS.build("resnet18", SMALL, inputs=lfcc_like(384))
    torch.manual_seed(0)
    explicit = MODELS.build(
        "resnet18",
        {**SMALL, "frequency_reduction": "collapse", "num_nodes": 16},
        inputs=lfcc_like(384),
    )
    assert default.collapse[0].kernel_size == (16, 3)
    feats = {"feats": torch.randn(2, 1, 30, 384)}
    default.eval()
    explicit.eval()
    with torch.no_grad():
        # One row: keeping row 0 is the squeeze the model did before the setting existed.
        x = feats["feats"].transpose(2, 3)
        assert default.collapse(default.stages(default.stem(x))).shape[2] == 1
        assert torch.equal(default(feats), explicit(feats))
        # Every frequency reaches the embedding.
        changed = {"feats": feats["feats"].clone()}
        changed["feats"][..., 300:] += 1.0
        assert not torch.allclose(default(feats), default(changed))


def test_first_row_ignores_the_upper_frequencies():
    torch.manual_seed(0)
    model = MODELS.build(
        "resnet18", {**SMALL, "frequency_reduction": "first_row"}, inputs=lfcc_like(384)
    ).eval()
    feats = torch.randn(2, 1, 30, 384)
    upper = feats.clone()
    upper[..., 300:] += 1.0
    lower = feats.clone()
    lower[..., :20] += 1.0
    with torch.no_grad():
        reference = model({"feats": feats})
        assert torch.equal(model({"feats": upper}), reference)
        assert not torch.allclose(model({"feats": lower}), reference)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"frequency_reduction": "mean"}, "frequency_reduction"),
        ({"num_nodes": 3}, "num_nodes 3: under frequency_reduction collapse"),
        ({"frequency_reduction": "first_row", "num_nodes": 17}, "between 1 and the 16"),
    ],
)
def test_bad_frequency_reduction_settings_are_errors(settings, message):
    with pytest.raises(ConfigError, match=message):
        MODELS.build("resnet18", {**SMALL, **settings}, inputs=lfcc_like(384))

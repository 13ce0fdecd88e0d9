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

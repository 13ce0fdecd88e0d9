"""ResNet18 of the OC-Softmax paper: parameter count, shapes, frequency collapse, determinism."""

import pytest
import torch

from antispoof.losses import LOSSES
from antispoof.models import MODELS
from antispoof.registry import ConfigError


def test_published_parameter_count_with_a_two_class_output_layer():
    model = MODELS.build("resnet18", {}, input_dim=60)
    head = LOSSES.build("softmax", {}, embedding_dim=model.embedding_dim)
    count = sum(p.numel() for m in (model, head) for p in m.parameters())
    assert count == 12_450_290


@pytest.mark.parametrize("input_dim", [60, 20, 384])
def test_embedding_shape_for_any_feature_size(input_dim):
    model = MODELS.build(
        "resnet18",
        {"channels": [8, 16, 16, 32], "pooling_channels": 16, "embedding_dim": 12},
        input_dim=input_dim,
    )
    assert model(torch.randn(3, 50, input_dim)).shape == (3, 12)


def test_scoring_mode_is_deterministic_and_training_mode_adds_noise_only_to_the_std():
    torch.manual_seed(0)
    model = MODELS.build(
        "resnet18", {"channels": [8, 8, 8, 8], "pooling_channels": 8}, input_dim=60
    )
    feats = torch.randn(2, 40, 60)
    model.eval()
    assert torch.equal(model(feats), model(feats))


def test_input_size_is_derived_not_configured():
    with pytest.raises(ConfigError, match="derived by the pipeline"):
        MODELS.build("resnet18", {"input_dim": 60}, input_dim=60)
    with pytest.raises(ConfigError, match="unknown model 'resnet19'"):
        MODELS.build("resnet19", {}, input_dim=60)

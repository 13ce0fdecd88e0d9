"""Softmax and OC-Softmax: values checked by hand, score polarity (higher = bona fide)."""

import math

import pytest
import torch

from antispoof.losses import BONAFIDE, LOSSES, SPOOF
from antispoof.registry import ConfigError


def softplus(x: float) -> float:
    return math.log1p(math.exp(x))


def test_ocsoftmax_value_and_score_by_hand():
    loss = LOSSES.build("ocsoftmax", {}, embedding_dim=2)
    with torch.no_grad():
        loss.centre.copy_(torch.tensor([[2.0, 0.0]]))  # normalised to (1, 0)
    # cosines to the centre: 1.0 (bona fide), 0.6 (spoof), 0.0 (bona fide)
    embeddings = torch.tensor([[3.0, 0.0], [0.6, 0.8], [0.0, 5.0]])
    labels = torch.tensor([BONAFIDE, SPOOF, BONAFIDE])
    expected = (
        softplus(20 * (0.9 - 1.0)) + softplus(20 * (0.6 - 0.2)) + softplus(20 * (0.9 - 0.0))
    ) / 3
    assert loss(embeddings, labels).item() == pytest.approx(expected, rel=1e-6)
    assert loss.score(embeddings).tolist() == pytest.approx([1.0, 0.6, 0.0], abs=1e-6)


def test_ocsoftmax_training_pulls_bonafide_to_the_centre():
    torch.manual_seed(0)
    loss = LOSSES.build("ocsoftmax", {}, embedding_dim=4)
    embeddings = torch.randn(8, 4, requires_grad=True)
    labels = torch.tensor([BONAFIDE, SPOOF] * 4)
    optimizer = torch.optim.SGD([embeddings, *loss.parameters()], lr=0.05)
    for _ in range(200):
        optimizer.zero_grad()
        loss(embeddings, labels).backward()
        optimizer.step()
    scores = loss.score(embeddings)
    assert scores[labels == BONAFIDE].min() > scores[labels == SPOOF].max()


def test_softmax_is_cross_entropy_and_scores_log_odds():
    loss = LOSSES.build("softmax", {}, embedding_dim=2)
    with torch.no_grad():
        loss.output.weight.copy_(torch.eye(2))
        loss.output.bias.zero_()
    embeddings = torch.tensor([[2.0, 0.0], [0.0, 1.0]])  # logits equal the embedding
    labels = torch.tensor([BONAFIDE, SPOOF])
    expected = (-math.log(math.exp(2) / (math.exp(2) + 1)) - math.log(math.e / (1 + math.e))) / 2
    assert loss(embeddings, labels).item() == pytest.approx(expected, rel=1e-6)
    assert loss.score(embeddings).tolist() == pytest.approx([2.0, -1.0])


def test_invalid_margins_are_refused():
    with pytest.raises(ConfigError, match="margin"):
        LOSSES.build("ocsoftmax", {"margin_bonafide": 0.2, "margin_spoof": 0.9}, embedding_dim=4)

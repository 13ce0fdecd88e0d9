"""The losses under the soft-target contract: values by hand, the published hard-label values for
one-hot targets, score polarity (higher = bona fide), and the `sum` composite's settings."""

import math

import pytest
import torch
import torch.nn.functional as F

from antispoof.labels import BONAFIDE, SPOOF, one_hot
from antispoof.losses import LOSSES, Objective, resolved_loss_conf
from antispoof.losses.single_center import MIN_CLASS_MASS
from antispoof.registry import ConfigError

WAVESPEC_SUM = {
    "terms": {
        "ce": {"loss": "softmax", "weight": 1.0},
        "scl": {"loss": "single_center", "loss_conf": {"margin": 0.3}, "weight": 0.5},
    },
    "scorer": "ce",
}


def softplus(x: float) -> float:
    return math.log1p(math.exp(x))


def soft(bonafide: float) -> list[float]:
    """A target row with probability `bonafide` of bona fide."""
    return [bonafide, 1.0 - bonafide]


def identity_softmax() -> Objective:
    """A 2-d softmax whose logits equal the embedding."""
    loss = LOSSES.build("softmax", {}, embedding_dim=2)
    with torch.no_grad():
        loss.output.weight.copy_(torch.eye(2))
        loss.output.bias.zero_()
    return loss


def centred_single_center(embedding_dim: int, margin: float) -> Objective:
    loss = LOSSES.build("single_center", {"margin": margin}, embedding_dim=embedding_dim)
    with torch.no_grad():
        loss.centre.zero_()
    return loss


def at_distances(*distances: float, dim: int = 4) -> torch.Tensor:
    """Embeddings at the given distances from the origin, each along its own axis."""
    embeddings = torch.zeros(len(distances), dim)
    for row, distance in enumerate(distances):
        embeddings[row, row % dim] = distance
    return embeddings


# ---------------------------------------------------------------------------------------------
# softmax


def test_softmax_is_soft_cross_entropy_and_scores_log_odds():
    loss = identity_softmax()
    embeddings = torch.tensor([[2.0, 0.0], [0.0, 1.0]])  # logits equal the embedding
    target = torch.tensor([soft(1.0), soft(0.25)])
    log_p_first = [2 - math.log(math.exp(2) + 1), -math.log(math.exp(2) + 1)]
    log_p_second = [-math.log(1 + math.e), 1 - math.log(1 + math.e)]
    expected = (-log_p_first[0] - (0.25 * log_p_second[0] + 0.75 * log_p_second[1])) / 2
    value, stats = loss(embeddings, target)
    assert value.item() == pytest.approx(expected, rel=1e-6)
    assert stats == {}
    assert loss.score(embeddings).tolist() == pytest.approx([2.0, -1.0])


def test_softmax_with_one_hot_targets_is_the_hard_label_cross_entropy_exactly():
    torch.manual_seed(0)
    loss = LOSSES.build("softmax", {}, embedding_dim=8)
    embeddings = torch.randn(16, 8)
    classes = torch.randint(0, 2, (16,))
    value, _ = loss(embeddings, one_hot(classes))
    assert torch.equal(value, F.cross_entropy(loss.logits(embeddings), classes))


def test_softmax_keeps_its_checkpoint_keys():
    loss = LOSSES.build("softmax", {}, embedding_dim=8)
    shapes = {key: tuple(tensor.shape) for key, tensor in loss.state_dict().items()}
    assert shapes == {"output.weight": (2, 8), "output.bias": (2,)}


# ---------------------------------------------------------------------------------------------
# OC-Softmax


def hard_label_ocsoftmax(loss, embeddings: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
    """The published loss of class indices, as this repository computed it before soft targets."""
    cosine = loss.score(embeddings)
    violation = torch.where(
        classes == BONAFIDE, loss.margin_bonafide - cosine, cosine - loss.margin_spoof
    )
    return F.softplus(loss.alpha * violation).mean()


def test_ocsoftmax_value_and_score_by_hand():
    loss = LOSSES.build("ocsoftmax", {}, embedding_dim=2)
    with torch.no_grad():
        loss.centre.copy_(torch.tensor([[2.0, 0.0]]))  # normalised to (1, 0)
    # cosines to the centre: 1.0 (bona fide), 0.6 (spoof), 0.0 (bona fide)
    embeddings = torch.tensor([[3.0, 0.0], [0.6, 0.8], [0.0, 5.0]])
    target = one_hot(torch.tensor([BONAFIDE, SPOOF, BONAFIDE]))
    expected = (
        softplus(20 * (0.9 - 1.0)) + softplus(20 * (0.6 - 0.2)) + softplus(20 * (0.9 - 0.0))
    ) / 3
    value, stats = loss(embeddings, target)
    assert value.item() == pytest.approx(expected, rel=1e-6)
    assert stats == {}
    assert loss.score(embeddings).tolist() == pytest.approx([1.0, 0.6, 0.0], abs=1e-6)


def test_ocsoftmax_weighs_both_margins_by_a_soft_target():
    loss = LOSSES.build("ocsoftmax", {"alpha": 10.0}, embedding_dim=2)
    with torch.no_grad():
        loss.centre.copy_(torch.tensor([[1.0, 0.0]]))
    embeddings = torch.tensor([[0.6, 0.8], [1.0, 0.0]])  # cosines 0.6 and 1.0
    target = torch.tensor([soft(0.25), soft(1.0)])
    first = 0.25 * softplus(10 * (0.9 - 0.6)) + 0.75 * softplus(10 * (0.6 - 0.2))
    second = softplus(10 * (0.9 - 1.0))
    value, _ = loss(embeddings, target)
    assert value.item() == pytest.approx((first + second) / 2, rel=1e-6)


def test_ocsoftmax_with_one_hot_targets_is_the_hard_label_loss_exactly():
    torch.manual_seed(0)
    loss = LOSSES.build("ocsoftmax", {}, embedding_dim=8)
    embeddings = torch.randn(16, 8)
    classes = torch.randint(0, 2, (16,))
    value, _ = loss(embeddings, one_hot(classes))
    assert torch.equal(value, hard_label_ocsoftmax(loss, embeddings, classes))


def test_ocsoftmax_training_pulls_bonafide_to_the_centre():
    torch.manual_seed(0)
    loss = LOSSES.build("ocsoftmax", {}, embedding_dim=4)
    embeddings = torch.randn(8, 4, requires_grad=True)
    classes = torch.tensor([BONAFIDE, SPOOF] * 4)
    optimizer = torch.optim.SGD([embeddings, *loss.parameters()], lr=0.05)
    for _ in range(200):
        optimizer.zero_grad()
        loss(embeddings, one_hot(classes))[0].backward()
        optimizer.step()
    scores = loss.score(embeddings)
    assert scores[classes == BONAFIDE].min() > scores[classes == SPOOF].max()


def test_ocsoftmax_keeps_its_checkpoint_keys():
    loss = LOSSES.build("ocsoftmax", {}, embedding_dim=8)
    assert {key: tuple(t.shape) for key, t in loss.state_dict().items()} == {"centre": (1, 8)}


def test_invalid_margins_are_refused():
    with pytest.raises(ConfigError, match="margin"):
        LOSSES.build("ocsoftmax", {"margin_bonafide": 0.2, "margin_spoof": 0.9}, embedding_dim=4)


# ---------------------------------------------------------------------------------------------
# Single Center Loss


def test_single_center_value_by_hand():
    # D = 4, so m * sqrt(D) = 2m. Bona fide at distances 1 and 3 (M_nat = 2), spoof at 2 and 4
    # (M_man = 3).
    embeddings = at_distances(1.0, 3.0, 2.0, 4.0)
    target = one_hot(torch.tensor([BONAFIDE, BONAFIDE, SPOOF, SPOOF]))
    satisfied = centred_single_center(4, margin=0.5)  # hinge max(2 - 3 + 1, 0) = 0
    value, stats = satisfied(embeddings, target)
    assert value.item() == pytest.approx(2.0)
    assert stats == {}
    violated = centred_single_center(4, margin=1.0)  # hinge max(2 - 3 + 2, 0) = 1
    assert violated(embeddings, target)[0].item() == pytest.approx(3.0)


def test_single_center_default_margin_scales_with_the_square_root_of_the_dimension():
    loss = centred_single_center(16, margin=0.3)  # the margin distance is 0.3 * 4 = 1.2
    assert LOSSES.resolved_conf("single_center", {}, "embedding_dim") == {"margin": 0.3}
    embeddings = at_distances(1.0, 1.5, dim=16)
    target = one_hot(torch.tensor([BONAFIDE, SPOOF]))
    assert loss(embeddings, target)[0].item() == pytest.approx(1.0 + (1.0 - 1.5 + 1.2))


def test_single_center_weighs_the_class_means_by_the_soft_targets():
    loss = centred_single_center(4, margin=1.0)  # margin distance 2
    embeddings = at_distances(1.0, 3.0)
    target = torch.tensor([soft(1.0), soft(0.5)])
    natural = (1.0 * 1.0 + 0.5 * 3.0) / 1.5
    manipulated = (0.5 * 3.0) / 0.5
    expected = natural + max(natural - manipulated + 2.0, 0.0)
    assert loss(embeddings, target)[0].item() == pytest.approx(expected, rel=1e-6)


def test_single_center_without_spoof_only_pulls_bonafide_in():
    loss = centred_single_center(4, margin=1.0)
    embeddings = at_distances(1.0, 3.0).requires_grad_()
    value, _ = loss(embeddings, one_hot(torch.tensor([BONAFIDE, BONAFIDE])))
    assert value.item() == pytest.approx(2.0)  # M_nat; no hinge, whatever the margin
    value.backward()
    assert torch.isfinite(loss.centre.grad).all()


def test_single_center_without_bonafide_keeps_spoof_out_of_the_margin_radius():
    loss = centred_single_center(4, margin=1.0)  # margin distance 2
    spoof = one_hot(torch.tensor([SPOOF, SPOOF]))
    # M_nat taken at its lower bound 0: max(0 - M_man + 2, 0).
    assert loss(at_distances(0.5, 1.5), spoof)[0].item() == pytest.approx(1.0)
    assert loss(at_distances(2.0, 4.0), spoof)[0].item() == 0.0


def test_single_center_treats_rounding_mass_as_an_absent_class():
    loss = centred_single_center(4, margin=1.0)
    embeddings = at_distances(1.0, 3.0)
    target = torch.tensor([soft(1.0), soft(1.0 - MIN_CLASS_MASS / 10)])
    # The spoof column holds only rounding: the value is M_nat, within that rounding.
    assert loss(embeddings, target)[0].item() == pytest.approx(2.0, rel=1e-5)


def test_single_center_never_gives_nan():
    loss = LOSSES.build("single_center", {}, embedding_dim=4)
    empty = torch.zeros(0, 4, requires_grad=True)
    value, _ = loss(empty, torch.zeros(0, 2))
    assert value.item() == 0.0
    value.backward()
    assert torch.isfinite(loss.centre.grad).all()
    # An embedding exactly at the centre: the distance has no gradient there, but no NaN.
    loss.centre.grad = None
    embeddings = torch.stack([loss.centre.detach().clone(), torch.ones(4)]).requires_grad_()
    value, _ = loss(embeddings, one_hot(torch.tensor([BONAFIDE, SPOOF])))
    value.backward()
    assert torch.isfinite(embeddings.grad).all() and torch.isfinite(loss.centre.grad).all()


def test_single_center_scores_the_negative_distance_and_training_separates_the_classes():
    loss = centred_single_center(4, margin=0.3)
    assert loss.score(at_distances(1.0, 2.5)).tolist() == pytest.approx([-1.0, -2.5])
    torch.manual_seed(0)
    embeddings = torch.randn(8, 4, requires_grad=True)
    classes = torch.tensor([BONAFIDE, SPOOF] * 4)
    optimizer = torch.optim.SGD([embeddings, *loss.parameters()], lr=0.05)
    for _ in range(300):
        optimizer.zero_grad()
        loss(embeddings, one_hot(classes))[0].backward()
        optimizer.step()
    scores = loss.score(embeddings)
    assert scores[classes == BONAFIDE].min() > scores[classes == SPOOF].max()


def test_single_center_settings():
    loss = LOSSES.build("single_center", {}, embedding_dim=8)
    assert {key: tuple(t.shape) for key, t in loss.state_dict().items()} == {"centre": (8,)}
    with pytest.raises(ConfigError, match="margin must be >= 0"):
        LOSSES.build("single_center", {"margin": -0.1}, embedding_dim=8)


# ---------------------------------------------------------------------------------------------
# the target contract


@pytest.mark.parametrize("name", ["softmax", "ocsoftmax", "single_center"])
def test_class_indices_are_refused_for_soft_targets(name):
    loss = LOSSES.build(name, {}, embedding_dim=4)
    with pytest.raises(ValueError, match=r"soft targets \(B, 2\)"):
        loss(torch.randn(3, 4), torch.tensor([0, 1, 1]))
    with pytest.raises(ValueError, match="class probabilities"):
        loss(torch.randn(3, 4), torch.tensor([[1, 0], [0, 1], [0, 1]]))


# ---------------------------------------------------------------------------------------------
# sum


def test_sum_is_the_weighted_sum_of_its_terms_and_logs_each_unweighted():
    torch.manual_seed(0)
    loss = LOSSES.build("sum", WAVESPEC_SUM, embedding_dim=8)
    embeddings = torch.randn(6, 8, requires_grad=True)
    target = torch.tensor([soft(1.0), soft(0.0), soft(0.7), soft(0.0), soft(1.0), soft(0.2)])
    value, stats = loss(embeddings, target)
    ce, _ = loss.terms["ce"](embeddings, target)
    scl, _ = loss.terms["scl"](embeddings, target)
    assert value.item() == pytest.approx(ce.item() + 0.5 * scl.item(), rel=1e-6)
    assert stats.keys() == {"ce", "scl"}
    assert stats["ce"].item() == pytest.approx(ce.item())
    assert stats["scl"].item() == pytest.approx(scl.item())
    assert not any(stat.requires_grad for stat in stats.values())
    value.backward()
    for name, parameter in loss.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name
    assert torch.equal(loss.score(embeddings), loss.terms["ce"].score(embeddings))


def test_sum_state_dict_is_keyed_by_term():
    loss = LOSSES.build("sum", WAVESPEC_SUM, embedding_dim=8)
    assert set(loss.state_dict()) == {
        "terms.ce.output.weight",
        "terms.ce.output.bias",
        "terms.scl.centre",
    }


def test_sum_of_one_term_scores_with_it_and_keeps_its_stats(monkeypatch):
    class WithStats(Objective):
        """A loss that reports a statistic of its own."""

        def __init__(self, embedding_dim: int) -> None:
            super().__init__()
            self.scale = torch.nn.Parameter(torch.ones(()))

        def forward(self, embeddings, target):
            value = self.scale * embeddings.pow(2).mean()
            return value, {"norm": embeddings.norm(dim=1).mean().detach()}

        def score(self, embeddings):
            return embeddings.sum(dim=1)

    monkeypatch.setitem(LOSSES._entries, "with_stats", WithStats)
    loss = LOSSES.build("sum", {"terms": {"only": {"loss": "with_stats"}}}, embedding_dim=2)
    embeddings = torch.tensor([[3.0, 4.0], [0.0, 0.0]])
    value, stats = loss(embeddings, one_hot(torch.tensor([BONAFIDE, SPOOF])))
    assert value.item() == pytest.approx(25 / 4)  # weight 1.0 by default
    assert {key: stat.item() for key, stat in stats.items()} == pytest.approx(
        {"only": 25 / 4, "only.norm": 2.5}
    )
    assert loss.score(embeddings).tolist() == [7.0, 0.0]


def test_sum_resolves_every_term_completely():
    resolved = resolved_loss_conf("sum", WAVESPEC_SUM)
    assert resolved == {
        "terms": {
            "ce": {
                "loss": "softmax",
                "loss_conf": {"num_classes": 2, "score": "logodds", "class_weights": None},
                "weight": 1.0,
            },
            "scl": {"loss": "single_center", "loss_conf": {"margin": 0.3}, "weight": 0.5},
        },
        "scorer": "ce",
    }
    assert resolved_loss_conf("sum", resolved) == resolved
    rebuilt = LOSSES.build("sum", resolved, embedding_dim=8)
    assert set(rebuilt.state_dict()) == set(
        LOSSES.build("sum", WAVESPEC_SUM, embedding_dim=8).state_dict()
    )


def test_sum_fills_in_the_scorer_and_the_weight_of_a_single_term():
    assert resolved_loss_conf(
        "sum", {"terms": {"oc": {"loss": "ocsoftmax", "weight": "5e-1"}}}
    ) == {
        "terms": {
            "oc": {
                "loss": "ocsoftmax",
                "loss_conf": {"alpha": 20.0, "margin_bonafide": 0.9, "margin_spoof": 0.2},
                "weight": 0.5,
            }
        },
        "scorer": "oc",
    }
    assert (
        resolved_loss_conf("sum", {"terms": {"ce": {"loss": "softmax"}}})["terms"]["ce"]["weight"]
        == 1.0
    )


def test_other_losses_resolve_as_the_registry_does():
    assert resolved_loss_conf("ocsoftmax", {"alpha": 10}) == {
        "alpha": 10,
        "margin_bonafide": 0.9,
        "margin_spoof": 0.2,
    }
    with pytest.raises(ConfigError, match="'embedding_dim' is derived by the pipeline"):
        resolved_loss_conf("softmax", {"embedding_dim": 4})


def with_term(name: str, **settings) -> dict:
    """WAVESPEC_SUM with the settings of term `name` replaced."""
    return {**WAVESPEC_SUM, "terms": {**WAVESPEC_SUM["terms"], name: settings}}


@pytest.mark.parametrize(
    ("conf", "message"),
    [
        (
            {**WAVESPEC_SUM, "scorer": "oc"},
            r"loss_conf.scorer 'oc' is not a term; the terms are: ce, scl",
        ),
        (
            {"terms": WAVESPEC_SUM["terms"]},
            r"loss_conf.scorer must name the term .* \(one of: ce, scl\)",
        ),
        ({"terms": {}}, r"loss_conf.terms must name at least one term"),
        ({"scorer": "ce"}, r"(needs terms|'terms')"),
        ({**WAVESPEC_SUM, "scorers": "ce"}, r"has no setting 'scorers'"),
        (
            with_term("scl", loss="single_center", wieght=0.5),
            r"loss_conf.terms.scl has no setting 'wieght'",
        ),
        (with_term("scl", weight=0.5), r"loss_conf.terms.scl needs `loss`"),
        (
            with_term("scl", loss="single_centre"),
            r"loss_conf.terms.scl.loss: unknown loss 'single_centre'",
        ),
        (with_term("scl", loss=3), r"loss_conf.terms.scl.loss must be a string"),
        (
            with_term("scl", loss="sum", loss_conf={}),
            r"loss_conf.terms.scl.loss: a sum cannot be a term",
        ),
        (
            with_term("scl", loss="single_center", weight=0),
            r"loss_conf.terms.scl.weight must be a positive number, not 0",
        ),
        (
            with_term("scl", loss="single_center", weight=-0.5),
            r"loss_conf.terms.scl.weight must be a positive number",
        ),
        (
            with_term("scl", loss="single_center", weight=float("nan")),
            r"loss_conf.terms.scl.weight must be a positive",
        ),
        (
            with_term("scl", loss="single_center", weight=float("inf")),
            r"loss_conf.terms.scl.weight must be a positive",
        ),
        (
            with_term("scl", loss="single_center", weight="heavy"),
            r"loss_conf.terms.scl.weight must be a float",
        ),
        (
            with_term("scl", loss="single_center", weight=True),
            r"loss_conf.terms.scl.weight must be a float",
        ),
        (
            with_term("scl", loss="single_center", loss_conf={"margin": "wide"}),
            r"term 'scl': loss_conf.terms.scl.loss_conf.margin must be a float",
        ),
        (
            with_term("scl", loss="single_center", loss_conf={"margine": 0.3}),
            r"term 'scl': loss 'single_center' has no setting 'margine'",
        ),
        (
            with_term("scl", loss="single_center", loss_conf={"embedding_dim": 4}),
            r"term 'scl': .*'embedding_dim' is derived by the pipeline",
        ),
        ({"terms": {"a.b": {"loss": "softmax"}}}, r"loss_conf.terms: 'a.b' cannot name a term"),
        ({"terms": {"keys": {"loss": "softmax"}}}, r"loss_conf.terms: 'keys' cannot name a term"),
        ({"terms": {1: {"loss": "softmax"}}}, r"loss_conf.terms: 1 cannot name a term"),
        ({"terms": {"ce": "softmax"}}, r"loss_conf.terms must be a mapping"),
    ],
)
def test_sum_settings_errors_name_the_key(conf, message):
    with pytest.raises(ConfigError, match=message):
        LOSSES.build("sum", conf, embedding_dim=8)
    with pytest.raises(ConfigError, match=message):
        resolved_loss_conf("sum", conf)


def test_the_bonafide_log_posterior_score_ranks_as_the_log_odds():
    loss = LOSSES.build("softmax", {"score": "bonafide_log_posterior"}, embedding_dim=8)
    embeddings = torch.randn(50, 8)
    logits = loss.logits(embeddings)
    scores = loss.score(embeddings)
    torch.testing.assert_close(scores, torch.log_softmax(logits, dim=1)[:, 0])
    assert (scores <= 0).all()
    assert torch.equal(scores.argsort(), (logits[:, 0] - logits[:, 1]).argsort())

"""Batch augmentations: random_specmix pastes frequency bands between examples of a batch and mixes
their targets by the pasted fraction."""

from __future__ import annotations

import pytest
import torch

from antispoof.augment import AUGMENTATIONS, BatchAugmentation, RandomSpecMix
from antispoof.registry import ConfigError

B, C, T, F = 8, 2, 5, 40


def batch(
    b: int = B, f: int = F, dtype: torch.dtype = torch.float32, device: str = "cpu"
) -> tuple[torch.Tensor, torch.Tensor]:
    """Features where every value differs from every other example's (so every pasted bin shows),
    and distinct soft targets (so every partner's share shows)."""
    x = torch.randn(b, C, T, f, dtype=torch.float64).to(dtype=dtype, device=device)
    target = torch.softmax(torch.randn(b, 2, dtype=torch.float64), dim=1).float().to(device)
    return x, target


def changed_bins(out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """(B, F): the bins where any channel or frame of an example changed."""
    return (out != x).any(dim=1).any(dim=1)


def partners(out: torch.Tensor, x: torch.Tensor) -> dict[int, int]:
    """Each changed example's partner: the one other example whose bins it now holds."""
    found = {}
    for i, bins in enumerate(changed_bins(out, x)):
        if bins.any():
            holders = [
                j
                for j in range(len(x))
                if j != i and torch.equal(out[i][..., bins], x[j][..., bins])
            ]
            assert len(holders) == 1, f"example {i}: changed bins match examples {holders}"
            found[i] = holders[0]
    return found


def runs(bins: torch.Tensor) -> list[int]:
    """Widths of the contiguous runs of True in a (F,) mask."""
    widths, width = [], 0
    for value in bins.tolist():
        if value:
            width += 1
        elif width:
            widths.append(width)
            width = 0
    return [*widths, width] if width else widths


def test_registered_on_import_of_the_package() -> None:
    assert "random_specmix" in AUGMENTATIONS.names()
    assert AUGMENTATIONS.get("random_specmix") is RandomSpecMix
    assert issubclass(RandomSpecMix, BatchAugmentation)


def test_build_from_a_config_block() -> None:
    aug = AUGMENTATIONS.build("random_specmix", {"p": 0.5})
    assert isinstance(aug, RandomSpecMix)
    assert (aug.p, aug.max_bands, aug.gamma, aug.input) == (0.5, 3, 0.3, None)
    conf = AUGMENTATIONS.resolved_conf(
        "random_specmix", {"gamma": 1}, where="augment.random_specmix"
    )
    assert conf == {"p": 0.5, "max_bands": 3, "gamma": 1, "input": None}
    assert AUGMENTATIONS.build("random_specmix", {"input": "lfcc", "max_bands": 1}).input == "lfcc"


@pytest.mark.parametrize(
    ("conf", "key"),
    [
        ({"p": 1.5}, "p"),
        ({"p": -0.1}, "p"),
        ({"max_bands": 0}, "max_bands"),
        ({"gamma": 0.0}, "gamma"),
        ({"gamma": 1.2}, "gamma"),
        ({"max_bands": 2.5}, "max_bands"),
        ({"p": "often"}, "p"),
        ({"input": 3}, "input"),
        ({"width": 3}, "width"),
    ],
)
def test_bad_settings_are_errors_naming_the_key(conf: dict, key: str) -> None:
    with pytest.raises(ConfigError, match=rf"\b{key}\b"):
        AUGMENTATIONS.build("random_specmix", conf, where="augment.random_specmix")


def test_only_frequency_bins_of_chosen_examples_change_and_come_from_a_partner() -> None:
    torch.manual_seed(0)
    aug = RandomSpecMix(p=0.5)
    seen_unchanged = seen_changed = 0
    for _ in range(20):
        x, target = batch()
        feats, new_target = aug({"spec": x}, target)
        out = feats["spec"]
        bins = changed_bins(out, x)
        for i in range(B):
            if bins[i].any():
                seen_changed += 1
                # Whole frequency bins change: every channel and frame of a changed bin.
                assert (out[i][..., bins[i]] != x[i][..., bins[i]]).all()
                assert torch.equal(out[i][..., ~bins[i]], x[i][..., ~bins[i]])
            else:
                seen_unchanged += 1
                assert torch.equal(out[i], x[i])
                assert torch.equal(new_target[i], target[i])
        partners(out, x)  # every changed example holds the bins of exactly one other example
    assert seen_changed > 0 and seen_unchanged > 0


def test_targets_are_mixed_by_the_fraction_of_bins_pasted() -> None:
    torch.manual_seed(1)
    aug = RandomSpecMix(p=1.0, max_bands=3, gamma=0.3)
    for _ in range(20):
        x, target = batch()
        feats, new_target = aug({"spec": x}, target)
        out = feats["spec"]
        torch.testing.assert_close(new_target.sum(dim=1), torch.ones(B))
        lam = changed_bins(out, x).sum(dim=1) / F
        for i, j in partners(out, x).items():
            expected = (1 - lam[i]) * target[i] + lam[i] * target[j]
            torch.testing.assert_close(new_target[i], expected)


def test_p_zero_changes_nothing() -> None:
    torch.manual_seed(2)
    x, target = batch()
    other = torch.randn(B, 1, T, 7)
    feats, new_target = RandomSpecMix(p=0.0, input="spec")({"spec": x, "other": other}, target)
    assert torch.equal(feats["spec"], x)
    assert torch.equal(feats["other"], other)
    assert torch.equal(new_target, target)


@pytest.mark.parametrize("b", [2, 3, 8])
def test_p_one_changes_every_example_with_a_permutation_of_partners(b: int) -> None:
    torch.manual_seed(3)
    for _ in range(10):
        x, target = batch(b)
        feats, new_target = RandomSpecMix(p=1.0)({"spec": x}, target)
        found = partners(feats["spec"], x)
        assert sorted(found) == list(range(b))  # every example changed
        assert sorted(found.values()) == list(range(b))  # each one gave its bins once
        assert all(i != j for i, j in found.items())
        assert not torch.equal(new_target, target)


def test_a_batch_of_one_has_no_partner_and_is_left_alone() -> None:
    x, target = batch(1)
    feats, new_target = RandomSpecMix(p=1.0)({"spec": x}, target)
    assert torch.equal(feats["spec"], x) and torch.equal(new_target, target)


@pytest.mark.parametrize(("max_bands", "gamma", "f"), [(1, 0.25, 40), (3, 0.1, 60), (2, 1.0, 9)])
def test_band_count_and_width_are_bounded_by_the_settings(
    max_bands: int, gamma: float, f: int
) -> None:
    torch.manual_seed(4)
    aug = RandomSpecMix(p=1.0, max_bands=max_bands, gamma=gamma)
    max_width = int(gamma * f)
    widths, counts, covered = set(), set(), torch.zeros(f, dtype=torch.bool)
    for _ in range(100):
        x, target = batch(f=f)
        feats, _ = aug({"spec": x}, target)
        for bins in changed_bins(feats["spec"], x):
            assert 1 <= bins.sum() <= max_bands * max_width
            found = runs(bins)
            assert 1 <= len(found) <= max_bands
            if max_bands == 1:
                widths.add(found[0])
            counts.add(len(found))
            covered |= bins
    if max_bands == 1:  # one band: its width is exactly the run, and all of 1..max occur
        assert widths == set(range(1, max_width + 1))
    if gamma * f * max_bands < f / 2:  # narrow bands rarely touch: every count occurs
        assert counts == set(range(1, max_bands + 1))
    assert covered.all()  # starts are uniform over the whole axis, edges included


def test_gamma_too_small_for_the_axis_still_pastes_one_bin() -> None:
    torch.manual_seed(5)
    x, target = batch(f=3)
    feats, _ = RandomSpecMix(p=1.0, max_bands=1, gamma=0.1)({"spec": x}, target)
    assert (changed_bins(feats["spec"], x).sum(dim=1) == 1).all()


def test_mixes_only_the_named_input_branch() -> None:
    torch.manual_seed(6)
    x, target = batch()
    other = torch.randn(B, 1, T, 7)
    feats, _ = RandomSpecMix(p=1.0, input="spec")({"other": other, "spec": x}, target)
    assert torch.equal(feats["other"], other)
    assert changed_bins(feats["spec"], x).any(dim=1).all()


def test_several_inputs_need_a_named_branch() -> None:
    x, target = batch()
    feats = {"lfcc": x, "wav2vec2": torch.randn(B, 1, T, 16)}
    with pytest.raises(ConfigError, match=r"input.*lfcc, wav2vec2"):
        RandomSpecMix()(feats, target)
    with pytest.raises(ConfigError, match=r"'cqt'.*lfcc, wav2vec2"):
        RandomSpecMix(input="cqt")(feats, target)


def test_seeded_global_generator_makes_it_reproducible() -> None:
    x, target = batch()
    torch.manual_seed(7)
    first = RandomSpecMix()({"spec": x}, target)
    torch.manual_seed(7)
    second = RandomSpecMix()({"spec": x}, target)
    assert torch.equal(first[0]["spec"], second[0]["spec"]) and torch.equal(first[1], second[1])


@pytest.mark.parametrize("dtype", [torch.float64, torch.float16, torch.bfloat16])
def test_keeps_the_feature_dtype(dtype: torch.dtype) -> None:
    torch.manual_seed(8)
    x, target = batch(dtype=dtype)
    feats, new_target = RandomSpecMix(p=1.0)({"spec": x}, target)
    assert feats["spec"].dtype == dtype and new_target.dtype == target.dtype
    assert changed_bins(feats["spec"], x).any(dim=1).all()


def test_works_under_autocast_and_inference_mode() -> None:
    torch.manual_seed(9)
    x, target = batch(dtype=torch.bfloat16)
    with torch.autocast("cpu", dtype=torch.bfloat16), torch.inference_mode():
        feats, new_target = RandomSpecMix(p=1.0)({"spec": x}, target)
    assert feats["spec"].dtype == torch.bfloat16
    torch.testing.assert_close(new_target.sum(dim=1), torch.ones(B))


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_on_cuda_with_the_device_generator() -> None:
    torch.manual_seed(10)
    x, target = batch(device="cuda", dtype=torch.bfloat16)
    torch.cuda.manual_seed(10)
    with torch.autocast("cuda", dtype=torch.bfloat16):
        feats, new_target = RandomSpecMix(p=1.0)({"spec": x}, target)
    out = feats["spec"]
    assert out.device.type == "cuda" and out.dtype == torch.bfloat16
    found = partners(out.cpu(), x.cpu())
    assert sorted(found) == list(range(B))
    lam = changed_bins(out, x).sum(dim=1) / F
    for i, j in found.items():
        expected = (1 - lam[i]) * target[i] + lam[i] * target[j]
        torch.testing.assert_close(new_target[i], expected)
    torch.cuda.manual_seed(10)
    again, _ = RandomSpecMix(p=1.0)({"spec": x}, target)
    assert torch.equal(again["spec"], out)

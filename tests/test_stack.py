"""stack frontend: branches resized bilinearly over each utterance's own frames to the reference
and stacked as channels; its spec from the settings; composition of trainable/deterministic."""

import pytest
import torch
import torch.nn.functional as F

from antispoof.frontends import FRONTENDS
from antispoof.frontends.base import FeatureSpec
from antispoof.frontends.common import WHOLE_INPUT
from antispoof.frontends.stack import resize_frames
from antispoof.registry import ConfigError
from tiny_configs import TINY_WAV2VEC2

# Two LFCCs of different frame rates and dims: 60 dims every 10 ms, 39 dims every 20 ms.
TWO_RATES = {
    "fine": {"frontend": "lfcc"},
    "coarse": {"frontend": "lfcc", "frontend_conf": {"hop_length": 320, "n_ceps": 13}},
}
# The same frames, different dims: with and without deltas.
SAME_GRID = {
    "full": {"frontend": "lfcc"},
    "static": {"frontend": "lfcc", "frontend_conf": {"with_deltas": False, "n_ceps": 13}},
}
LENGTHS = [100, 320, 321, 799, 4000, 16000]


def stack(branches, **settings):
    return FRONTENDS.build("stack", {"branches": branches, **settings})


def batch(lengths, seed=0):
    generator = torch.Generator().manual_seed(seed)
    wav = torch.randn(len(lengths), max(lengths) + 50, generator=generator)
    for i, length in enumerate(lengths):
        wav[i, length:] = 40 * torch.randn(wav.shape[1] - length, generator=generator)
    return wav, torch.tensor(lengths)


def test_branches_are_resized_to_the_reference_and_stacked():
    frontend = stack(TWO_RATES)
    assert frontend.spec == FeatureSpec(
        channels=2, dim=60, hop_length=160, frame_length=320, framing="pad_end", context=WHOLE_INPUT
    )
    settings = FRONTENDS.resolved_conf("stack", {"branches": TWO_RATES})
    assert FRONTENDS.get("stack").feature_spec(**settings) == frontend.spec
    wav, lengths = batch(LENGTHS)
    feats, frame_lengths = frontend(wav, lengths)
    fine, fine_lengths = frontend.branches["fine"](wav, lengths)
    coarse, coarse_lengths = frontend.branches["coarse"](wav, lengths)
    assert torch.equal(frame_lengths, fine_lengths)
    assert frame_lengths.tolist() == frontend.spec.num_frames(lengths).tolist()
    assert feats.shape == (6, 2, 99, 60)
    assert torch.equal(feats[:, :1], fine)
    for i in range(len(LENGTHS)):
        own = coarse[i : i + 1, :, : coarse_lengths[i]]
        expected = F.interpolate(
            own, size=(int(frame_lengths[i]), 60), mode="bilinear", align_corners=False
        )
        torch.testing.assert_close(feats[i, 1:, : frame_lengths[i]], expected[0])
        assert torch.all(feats[i, :, frame_lengths[i] :] == 0)


def test_padding_does_not_leak_into_a_shorter_utterance():
    frontend = stack(TWO_RATES)
    wav, lengths = batch(LENGTHS)
    feats, frame_lengths = frontend(wav, lengths)
    for i, length in enumerate(LENGTHS):
        alone, alone_lengths = frontend(wav[i : i + 1, :length], lengths[i : i + 1])
        assert alone_lengths[0] == frame_lengths[i]
        torch.testing.assert_close(feats[i, :, : frame_lengths[i]], alone[0], atol=1e-4, rtol=0)


def test_the_reference_sets_frames_and_dim():
    frontend = stack(TWO_RATES, reference="coarse")
    assert (frontend.spec.hop_length, frontend.spec.dim) == (320, 39)
    wav, lengths = batch(LENGTHS)
    feats, frame_lengths = frontend(wav, lengths)
    assert frame_lengths.tolist() == frontend.spec.num_frames(lengths).tolist()
    assert feats.shape == (6, 2, int(frame_lengths.max()), 39)


def test_resize_frames_matches_interpolate_per_utterance():
    generator = torch.Generator().manual_seed(1)
    feats = torch.randn(4, 3, 17, 11, generator=generator)
    lengths = torch.tensor([1, 5, 17, 9])
    targets = torch.tensor([7, 2, 30, 9])
    out = resize_frames(feats, lengths, targets, 30, 6)
    assert out.shape == (4, 3, 30, 6)
    for i in range(4):
        expected = F.interpolate(
            feats[i : i + 1, :, : lengths[i]],
            size=(int(targets[i]), 6),
            mode="bilinear",
            align_corners=False,
        )
        torch.testing.assert_close(out[i, :, : targets[i]], expected[0])
        assert torch.all(out[i, :, targets[i] :] == 0)


def test_branches_on_the_reference_grid_keep_the_window_property():
    # Frames on the same grid are resized only in dim, so the context carries over and a window
    # with that much margin gives the whole utterance's frames (as for LFCC itself).
    frontend = stack(SAME_GRID).double()
    spec = frontend.spec
    assert spec.context == 2 * 160 + 1 and spec.channels == 2 and spec.dim == 60
    wav = torch.randn(9001, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    whole, _ = frontend(wav[None], torch.tensor([9001]))
    start, end = 8 * 160, 7000
    part, part_frames = frontend(wav[None, start:end], torch.tensor([end - start]))
    compared = 0
    for k in range(int(part_frames[0])):
        span_start = start + k * 160
        if span_start - start >= spec.context and end - (span_start + 320) >= spec.context:
            torch.testing.assert_close(part[0, :, k], whole[0, :, 8 + k], atol=1e-9, rtol=0)
            compared += 1
    assert compared >= 25


def test_trainable_and_deterministic_compose():
    tiny = {**TINY_WAV2VEC2, "num_hidden_layers": 1}
    frozen = stack({"lfcc": {"frontend": "lfcc"}, "raw": {"frontend": "raw"}})
    assert not frozen.trainable and frozen.cacheable
    with_encoder = stack(
        {
            "lfcc": {"frontend": "lfcc"},
            "ssl": {"frontend": "wav2vec2", "frontend_conf": {"config": tiny, "layers": [1]}},
        }
    )
    assert with_encoder.trainable and not with_encoder.cacheable
    feats, _ = with_encoder(*batch([4000, 2000]))
    assert feats.shape == (2, 2, 24, 60)
    feats.sum().backward()
    assert all(p.grad is not None for p in with_encoder.branches["ssl"].parameters())


def test_settings_are_checked_down_to_the_branches():
    with pytest.raises(
        ConfigError, match=r"branches\.coarse\.frontend_conf\.n_ceps must be an int"
    ):
        stack({"coarse": {"frontend": "lfcc", "frontend_conf": {"n_ceps": "13"}}})
    with pytest.raises(ConfigError, match=r"branches\.a has keys \['conf'\]"):
        stack({"a": {"frontend": "lfcc", "conf": {}}})
    with pytest.raises(ConfigError, match="reference 'b' is not a branch"):
        stack({"a": {"frontend": "lfcc"}}, reference="b")
    with pytest.raises(ConfigError, match="unknown frontend 'lfc'"):
        FRONTENDS.get("stack").feature_spec(branches={"a": {"frontend": "lfc"}})
    with pytest.raises(ConfigError, match="disagree on the sample rate"):
        stack(
            {
                "a": {"frontend": "lfcc"},
                "b": {"frontend": "raw", "frontend_conf": {"sample_rate": 8000}},
            }
        )

"""LFCC and raw frontends under the batched contract: the MATLAB algorithm (framing, filters, DCT,
deltas), batched equal to per-utterance, specs equal to outputs, and the crop-window property."""

import math

import pytest
import torch

from antispoof.frontends import FRONTENDS
from antispoof.frontends.base import FeatureSpec
from antispoof.frontends.lfcc import matlab_deltas, orthonormal_dct_matrix
from antispoof.registry import ConfigError

# Lengths around the framing's edges (hop 160, window 320): shorter than the hop and than one
# window, exactly one window, one sample more, not multiples of the hop, a second.
EDGE_LENGTHS = [1, 100, 159, 160, 161, 319, 320, 321, 479, 480, 481, 799, 12345, 16000]


def lfcc(**conf):
    return FRONTENDS.build("lfcc", conf)


def padded_batch(lengths, generator, noise_past_end=True):
    """`(B, max + 37)` utterances of `lengths` samples (noise with a silent stretch, so that
    log10(0 + eps) frames occur), their padding loud noise: a leak of padding would show."""
    wav = torch.randn(len(lengths), max(lengths) + 37, generator=generator)
    wav *= torch.linspace(0.1, 3.0, len(lengths))[:, None]
    for i, length in enumerate(lengths):
        wav[i, length // 3 : length // 3 + 700] = 0.0
        if noise_past_end:
            wav[i, length:] = 50 * torch.randn(wav.shape[1] - length, generator=generator)
        else:
            wav[i, length:] = 0.0
    return wav


def test_all_frontends_are_registered():
    assert {"lfcc", "raw", "stack", "wav2vec2"} <= set(FRONTENDS.names())


@pytest.mark.parametrize(
    ("conf", "dim"), [({}, 60), ({"with_deltas": False}, 20), ({"n_ceps": 13, "n_filters": 30}, 39)]
)
def test_spec_dim_matches_features(conf, dim):
    frontend = lfcc(**conf)
    feats, lengths = frontend(torch.randn(1, 16000), torch.tensor([16000]))
    assert frontend.spec.dim == dim
    assert feats.shape == (1, 1, 99, dim)
    assert lengths.tolist() == [99]
    assert not frontend.trainable and frontend.cacheable


def test_frame_count_follows_matlab_buffer_nodelay():
    # buffer(x, 320, 160, 'nodelay'): frames start every 160 samples while any sample is left
    # after the 160-sample overlap; the last frame is zero-padded. 1 s -> 99 frames.
    frontend = lfcc()
    samples = torch.tensor([100, 320, 321, 480, 481, 16000])
    assert frontend.spec.num_frames(samples).tolist() == [1, 1, 2, 2, 3, 99]
    feats, lengths = frontend(torch.randn(2, 16000), torch.tensor([16000, 481]))
    assert lengths.tolist() == [99, 3]
    assert feats.shape == (2, 1, 99, 60)


@pytest.mark.parametrize(
    "conf",
    [
        {},
        {"with_deltas": False, "pre_emphasis": 0.0},
        {"delta_window": 5},
        {"hop_length": 320, "n_ceps": 13},
        {"win_length": 400, "hop_length": 240, "n_fft": 512},
    ],
)
def test_spec_is_known_from_settings_and_matches_the_frames_given(conf):
    frontend = lfcc(**conf)
    spec = FRONTENDS.get("lfcc").feature_spec(**FRONTENDS.resolved_conf("lfcc", conf))
    assert spec == frontend.spec
    hop = conf.get("hop_length", 160)
    reach = 2 * (conf.get("delta_window", 3) // 2) * hop if conf.get("with_deltas", True) else 0
    assert spec == FeatureSpec(
        channels=1,
        dim=conf.get("n_ceps", 20) * (3 if conf.get("with_deltas", True) else 1),
        hop_length=hop,
        frame_length=conf.get("win_length", 320),
        framing="pad_end",
        context=reach + (1 if conf.get("pre_emphasis", 0.97) else 0),
    )
    lengths = [*range(1, 1400, 13), *EDGE_LENGTHS, 16001, 16159]
    wav = padded_batch(lengths, torch.Generator().manual_seed(3))
    feats, frame_lengths = frontend(wav, torch.tensor(lengths))
    for i, length in enumerate(lengths):
        frames = frontend.single(wav[i, :length]).shape[0]
        assert frames == spec.num_frames(length) == frame_lengths[i], length
    assert feats.shape[2] == max(frame_lengths)


@pytest.mark.parametrize("conf", [{}, {"delta_window": 5}, {"hop_length": 320, "n_ceps": 13}])
def test_batched_equals_per_utterance_matlab_steps(conf):
    """Each utterance of a padded batch (lengths shorter than a window, exactly a window, not
    multiples of the hop; loud noise in the padding) gets its `single` features, the MATLAB steps
    on the utterance alone; frames past its length are zero.

    float64: equal to 1e-9 (the same arithmetic). float32: within atol 1e-4, for values up to
    ~70 in magnitude (c0 of a silent frame is 20 * log10(eps) / sqrt(20) ~ -70; float32 spacing
    there is 8e-6 and the batched FFT, filterbank and DCT round differently)."""
    frontend = lfcc(**conf)
    wav = padded_batch(EDGE_LENGTHS, torch.Generator().manual_seed(0))
    lengths = torch.tensor(EDGE_LENGTHS)
    for dtype, atol in ((torch.float64, 1e-9), (torch.float32, 1e-4)):
        frontend = frontend.to(dtype)
        feats, frame_lengths = frontend(wav.to(dtype), lengths)
        assert feats.dtype == dtype
        for i, length in enumerate(EDGE_LENGTHS):
            reference = frontend.single(wav[i, :length].to(dtype))
            frames = reference.shape[0]
            assert frame_lengths[i] == frames
            torch.testing.assert_close(feats[i, 0, :frames], reference, atol=atol, rtol=0)
            assert torch.all(feats[i, :, frames:] == 0)


def test_batch_padding_does_not_change_an_utterance():
    frontend = lfcc()
    wav = torch.randn(12345)
    alone, _ = frontend(wav.unsqueeze(0), torch.tensor([12345]))
    padded = torch.cat([wav, torch.randn(3000)]).unsqueeze(0)
    in_batch, lengths = frontend(
        torch.cat([padded, torch.randn(1, 15345)]), torch.tensor([12345, 15345])
    )
    assert torch.allclose(in_batch[0, :, : lengths[0]], alone[0], atol=1e-5)


def test_deltas_replicate_each_utterances_own_last_frame():
    # An utterance whose padding is silence and one whose padding is noise give the same
    # features: the Δ at its last frame must not read the next (padding) frame.
    frontend = lfcc()
    generator = torch.Generator().manual_seed(5)
    quiet = padded_batch([4000, 4800], generator, noise_past_end=False)
    loud = quiet.clone()
    loud[0, 4000:] = 10 * torch.randn(loud.shape[1] - 4000, generator=generator)
    lengths = torch.tensor([4000, 4800])
    torch.testing.assert_close(frontend(quiet, lengths)[0], frontend(loud, lengths)[0])
    last = int(frontend.spec.num_frames(4000)) - 1
    alone = frontend.single(quiet[0, :4000])
    torch.testing.assert_close(alone[last, 20:40], alone[last][:20] - alone[last - 1, :20])


def window_frames_match(frontend, wav, start, end, bound):
    """Frames of `frontend` on wav[start:end] against those of the whole `wav`: every frame whose
    span keeps `bound` samples from each window boundary that is not an edge of `wav` must equal
    frame start / hop + k of the whole. Returns how many frames were compared."""
    spec = frontend.spec
    whole, whole_frames = frontend(wav[None], torch.tensor([wav.numel()]))
    part, part_frames = frontend(wav[None, start:end], torch.tensor([end - start]))
    first = start // spec.hop_length
    compared = 0
    for k in range(int(part_frames[0])):
        span_start = start + k * spec.hop_length
        span_end = span_start + spec.frame_length
        left_ok = start == 0 or span_start - start >= bound
        right_ok = end == wav.numel() or end - span_end >= bound
        if left_ok and right_ok:
            assert first + k < whole_frames[0]
            torch.testing.assert_close(
                part[0, :, k], whole[0, :, first + k], atol=1e-9, rtol=0, msg=f"frame {k}"
            )
            compared += 1
    return compared


@pytest.mark.parametrize("conf", [{}, {"delta_window": 5}, {"hop_length": 320, "n_ceps": 13}])
def test_a_window_with_margin_gives_the_frames_of_the_whole_utterance(conf):
    """What crops rely on (FeatureSpec): LFCC of wav[a:b], a a multiple of the hop, equals the
    whole utterance's LFCC from frame a / hop wherever a frame keeps `context` (hence `margin`)
    samples from a boundary that is not the utterance's own edge; at its own edges exactly."""
    frontend = lfcc(**conf).double()
    spec = frontend.spec
    hop = spec.hop_length
    wav = torch.randn(9001, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    total = wav.numel()
    windows = [(0, total), (0, 5000), (0, 5000 + 77), (10 * hop, total), (3 * hop, total)]
    windows += [(a * hop, b) for a in (1, 4, 9) for b in (4000, 4000 + 1, 4000 + hop - 1, 7777)]
    windows += [
        (a * hop, a * hop + spec.margin * 2 + hop * extra) for a in (2, 7) for extra in (0, 3)
    ]
    for start, end in windows:
        for bound in (spec.context, spec.margin):
            compared = window_frames_match(frontend, wav, start, end, bound)
            inner = end - start - 2 * bound - spec.frame_length
            assert compared > 0 or inner < 0, (start, end)
    assert spec.margin == spec.frame_length + spec.context


def test_pre_emphasis_makes_the_context_one_sample_longer_than_the_deltas_reach():
    # ΔΔ at frame 2 of a window reads the static coefficients of its frame 0, whose first
    # pre-emphasised sample is x[a] - 0.97 x[a-1] in the whole utterance but x[a] in the window:
    # a frame 2 * hop from the window's start (the deltas' reach) still differs; context is
    # 2 * hop + 1.
    frontend = lfcc().double()
    hop = frontend.spec.hop_length
    assert frontend.spec.context == 2 * hop + 1
    wav = torch.randn(6000, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    start = 10 * hop
    wav[start - 1] = 100.0  # a loud sample just before the window makes the difference large
    whole, _ = frontend(wav[None], torch.tensor([6000]))
    part, _ = frontend(wav[None, start:], torch.tensor([6000 - start]))
    first = start // hop
    assert (part[0, 0, 2] - whole[0, 0, first + 2]).abs().max() > 1e-3
    torch.testing.assert_close(part[0, 0, 3:], whole[0, 0, first + 3 :], atol=1e-9, rtol=0)


def test_tone_peaks_in_its_linear_filter():
    # A 2 kHz tone: the filters are 8000/21 Hz apart, so its energy peaks in filter 5
    # (centre 5 * 380.95 = 1905 Hz, 0-based index 4) or 6; inverting the orthonormal DCT of the
    # static coefficients recovers the log filterbank energies.
    frontend = lfcc(with_deltas=False)
    t = torch.arange(16000) / 16000
    feats, _ = frontend(torch.sin(2 * math.pi * 2000 * t).unsqueeze(0), torch.tensor([16000]))
    log_energies = feats[0, 0, 10:-10] @ orthonormal_dct_matrix(20).float()
    peak = log_energies.mean(0).argmax().item()
    assert peak in (4, 5)


def test_orthonormal_dct_is_orthogonal():
    dct = orthonormal_dct_matrix(20)
    assert torch.allclose(dct @ dct.T, torch.eye(20, dtype=dct.dtype), atol=1e-12)


def test_matlab_deltas_are_unscaled_centred_differences_with_replicated_edges():
    x = torch.tensor([[1.0], [4.0], [9.0], [16.0]])
    # deltas.m with w=3: d[t] = x[t+1] - x[t-1]; edges replicate x[0] and x[-1].
    assert matlab_deltas(x, 3).flatten().tolist() == [3.0, 8.0, 12.0, 7.0]


def test_unknown_setting_is_an_error_naming_the_valid_ones():
    with pytest.raises(ConfigError, match=r"no setting 'n_cepstra'.*n_ceps"):
        lfcc(n_cepstra=20)
    with pytest.raises(ConfigError, match="cannot exceed"):
        lfcc(n_ceps=30)
    with pytest.raises(ValueError, match="cannot exceed"):
        FRONTENDS.get("lfcc").feature_spec(n_ceps=30)
    with pytest.raises(ConfigError, match="delta_window must be odd"):
        lfcc(delta_window=4)


def test_lfcc_keeps_float32_under_autocast():
    frontend = lfcc()
    wav = torch.randn(2, 8000)
    lengths = torch.tensor([8000, 5000])
    expected, _ = frontend(wav, lengths)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        feats, _ = frontend(wav, lengths)
    assert feats.dtype == torch.float32
    torch.testing.assert_close(feats, expected)


def test_raw_is_the_waveform_with_zero_padding():
    frontend = FRONTENDS.build("raw", {})
    assert frontend.spec == FeatureSpec(1, 1, 1, 1, framing="valid", context=0)
    assert FRONTENDS.get("raw").feature_spec(sample_rate=16000) == frontend.spec
    wav = torch.randn(3, 1200)
    lengths = torch.tensor([1000, 1, 700])
    feats, frame_lengths = frontend(wav, lengths)
    assert feats.shape == (3, 1, 1000, 1)
    assert torch.equal(frame_lengths, lengths)
    for i, length in enumerate(lengths.tolist()):
        assert torch.equal(feats[i, 0, :length, 0], wav[i, :length])
        assert torch.all(feats[i, 0, length:] == 0)
        assert frontend.spec.num_frames(length) == length
    # Frozen, yet never cached: a cache would be a copy of the audio.
    assert not frontend.cacheable and not FRONTENDS.get("raw").cacheable_with()


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_lfcc_on_cuda_equals_the_per_utterance_reference():
    frontend = lfcc()
    wav = padded_batch(EDGE_LENGTHS, torch.Generator().manual_seed(0))
    feats, frame_lengths = frontend.cuda()(wav.cuda(), torch.tensor(EDGE_LENGTHS).cuda())
    frontend = frontend.cpu()
    for i, length in enumerate(EDGE_LENGTHS):
        reference = frontend.single(wav[i, :length])
        assert frame_lengths[i] == reference.shape[0]
        torch.testing.assert_close(
            feats[i, 0, : reference.shape[0]].cpu(), reference, atol=1e-4, rtol=0
        )

"""mfcc and lfcc_torchaudio frontends: equal, utterance by utterance, to torchaudio's MFCC / LFCC
followed by ComputeDeltas twice (what Kawa et al.'s `src/frontends.py` computes), batched over
padded utterances of different lengths; the spec, KAWA's 3001 frames for 30 s, the dB floor
per utterance, the window property without it, and the settings' errors."""

import pytest
import torch
import torchaudio

from antispoof.frontends import FRONTENDS
from antispoof.frontends.base import FeatureSpec
from antispoof.frontends.common import WHOLE_INPUT
from antispoof.registry import ConfigError

# KAWA's STFT settings (`src/frontends.py`): 25 ms window in a 512-point FFT, 10 ms hop.
STFT = {"n_fft": 512, "win_length": 400, "hop_length": 160}
LENGTHS = [300, 1000, 4001, 16000]


def torchaudio_reference(frontend: str, wav: torch.Tensor, delta_win_length: int = 400):
    """`(T, 3 * n)` of one utterance `(N,)` as KAWA computes it: the transform on `(1, 1, N)`
    (one cut-off per utterance), ComputeDeltas twice, `[c, Δ, ΔΔ]` on the coefficient axis."""
    if frontend == "mfcc":
        transform = torchaudio.transforms.MFCC(sample_rate=16000, n_mfcc=128, melkwargs=STFT)
    else:
        transform = torchaudio.transforms.LFCC(sample_rate=16000, n_lfcc=128, speckwargs=STFT)
    deltas = torchaudio.transforms.ComputeDeltas(win_length=delta_win_length, mode="replicate")
    ceps = transform(wav[None, None])
    delta = deltas(ceps)
    return torch.cat([ceps, delta, deltas(delta)], dim=2)[0, 0].T


def padded_batch(lengths, seed=0):
    """Noise with loud noise in the padding (a leak would show) and a stretch of digital silence
    in the longest utterance, which the 80 dB floor reaches."""
    generator = torch.Generator().manual_seed(seed)
    wav = 0.1 * torch.randn(len(lengths), max(lengths) + 77, generator=generator)
    for i, length in enumerate(lengths):
        wav[i, length:] = 50 * torch.randn(wav.shape[1] - length, generator=generator)
    wav[lengths.index(max(lengths)), 2000:6000] = 0.0
    return wav, torch.tensor(lengths)


def test_all_are_registered_and_the_base_configs_resolve():
    assert {"mfcc", "lfcc_torchaudio"} <= set(FRONTENDS.names())
    for name in ("mfcc", "lfcc_torchaudio"):
        assert FRONTENDS.build(name, {}).spec == FeatureSpec(
            channels=1, dim=384, hop_length=160, frame_length=512, framing="center",
            context=WHOLE_INPUT,
        )  # fmt: skip


def test_spec_comes_from_the_settings_and_the_deltas_set_the_context():
    spec = FRONTENDS.get("mfcc").feature_spec(top_db=None)
    # The centred window reaches 256 samples before a frame's start; each Δ 199 frames of 160.
    assert spec.context == 256 + 2 * 199 * 160
    assert FRONTENDS.get("mfcc").feature_spec(top_db=None, with_deltas=False).context == 256
    short = FRONTENDS.get("lfcc_torchaudio").feature_spec(n_lfcc=20, n_filter=20, top_db=None)
    assert (short.dim, short.context) == (60, 256 + 2 * 199 * 160)
    assert FRONTENDS.get("mfcc").feature_spec(n_mfcc=13, with_deltas=False).dim == 13


@pytest.mark.parametrize("frontend", ["mfcc", "lfcc_torchaudio"])
def test_batched_equals_torchaudio_per_utterance(frontend):
    module = FRONTENDS.build(frontend, {})
    wav, lengths = padded_batch(LENGTHS)
    feats, frame_lengths = module(wav, lengths)
    assert frame_lengths.tolist() == [n // 160 + 1 for n in LENGTHS]
    assert frame_lengths.tolist() == module.spec.num_frames(lengths).tolist()
    assert feats.shape == (4, 1, int(frame_lengths.max()), 384)
    for i, length in enumerate(LENGTHS):
        expected = torchaudio_reference(frontend, wav[i, :length])
        assert expected.shape[0] == frame_lengths[i]
        scale = expected.abs().amax()
        torch.testing.assert_close(feats[i, 0, : frame_lengths[i]] / scale, expected / scale)
        assert torch.all(feats[i, :, frame_lengths[i] :] == 0)


def test_kawa_gets_3001_frames_for_30_s_and_keeps_3000():
    wav = 0.1 * torch.randn(1, 480000, generator=torch.Generator().manual_seed(3))
    module = FRONTENDS.build("mfcc", {})
    feats, frame_lengths = module(wav, torch.tensor([480000]))
    assert module.spec.num_frames(480000) == 3001 == frame_lengths.item()
    # KAWA's prepare_mfcc_double_delta: (B, 1, 384, 3001) cut to 3000 frames.
    kawa = torchaudio_reference("mfcc", wav[0])[:3000]
    torch.testing.assert_close(feats[0, 0, :3000], kawa, atol=1e-3, rtol=1e-4)


def test_short_utterances_batched_equal_alone_and_deterministic():
    # Below n_fft // 2 samples torch's reflect padding refuses; the mirror is repeated instead.
    lengths = [1, 2, 100, 257, 700]
    module = FRONTENDS.build("mfcc", {"delta_win_length": 9})
    wav, lengths_t = padded_batch(lengths, seed=1)
    feats, frame_lengths = module(wav, lengths_t)
    assert torch.equal(feats, module(wav, lengths_t)[0])
    assert torch.isfinite(feats).all()
    for i, length in enumerate(lengths):
        alone, alone_lengths = module(wav[i : i + 1, :length], lengths_t[i : i + 1])
        assert alone_lengths[0] == frame_lengths[i]
        torch.testing.assert_close(feats[i, :, : frame_lengths[i]], alone[0], atol=1e-3, rtol=1e-4)


def test_the_db_floor_is_each_utterances_own():
    # torchaudio floors a 3-D batch at 80 dB below the loudest utterance of the batch; KAWA's
    # 4-D input, and this frontend, floor each utterance below its own maximum.
    module = FRONTENDS.build("mfcc", {"with_deltas": False})
    wav, lengths = padded_batch([16000, 16000])
    wav[:, 4000:8000] = 0.0  # digital silence, which the floor lifts
    wav[1] = 1000 * wav[0]
    feats, _ = module(wav, lengths)
    for i in range(2):
        torch.testing.assert_close(feats[i], module(wav[i : i + 1], lengths[:1])[0][0])
    unfloored, _ = FRONTENDS.build("mfcc", {"with_deltas": False, "top_db": None})(wav, lengths)
    silent = slice(4000 // 160 + 2, 8000 // 160 - 2)
    assert not torch.allclose(feats[0, 0, silent], unfloored[0, 0, silent], atol=1.0)


def test_without_the_floor_a_window_with_margin_gives_the_utterances_frames():
    module = FRONTENDS.build("mfcc", {"top_db": None, "delta_win_length": 9}).double()
    spec = module.spec
    wav = torch.randn(20000, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    whole, _ = module(wav[None], torch.tensor([20000]))
    start, end = 10 * 160, 18000
    part, part_frames = module(wav[None, start:end], torch.tensor([end - start]))
    compared = 0
    for k in range(int(part_frames[0])):
        span_start = start + k * 160
        if span_start - start >= spec.context and end - (span_start + 512) >= spec.context:
            torch.testing.assert_close(part[0, :, k], whole[0, :, 10 + k], atol=1e-8, rtol=1e-9)
            compared += 1
    assert compared >= 50


def test_stays_float32_under_autocast():
    module = FRONTENDS.build("mfcc", {"delta_win_length": 5})
    wav, lengths = padded_batch([4000, 3000])
    expected, _ = module(wav, lengths)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        feats, _ = module(wav, lengths)
    assert feats.dtype == torch.float32
    torch.testing.assert_close(feats, expected)


def test_settings_are_checked():
    with pytest.raises(ConfigError, match=r"n_mfcc \(40\) cannot exceed n_mels \(20\)"):
        FRONTENDS.build("mfcc", {"n_mfcc": 40, "n_mels": 20})
    with pytest.raises(ConfigError, match=r"n_lfcc \(40\) cannot exceed n_filter \(20\)"):
        FRONTENDS.build("lfcc_torchaudio", {"n_lfcc": 40, "n_filter": 20})
    with pytest.raises(ConfigError, match=r"win_length \(600\) cannot exceed n_fft"):
        FRONTENDS.build("mfcc", {"win_length": 600})
    with pytest.raises(ConfigError, match="delta_win_length must be >= 3"):
        FRONTENDS.build("mfcc", {"delta_win_length": 2})
    with pytest.raises(ConfigError, match="top_db must be >= 0"):
        FRONTENDS.build("mfcc", {"top_db": -1.0})
    with pytest.raises(ConfigError, match="n_lfcc"):
        FRONTENDS.build("mfcc", {"n_lfcc": 20})


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_batched_equals_torchaudio_on_cuda():
    module = FRONTENDS.build("mfcc", {}).cuda()
    wav, lengths = padded_batch(LENGTHS)
    feats, frame_lengths = module(wav.cuda(), lengths.cuda())
    for i, length in enumerate(LENGTHS):
        expected = torchaudio_reference("mfcc", wav[i, :length])
        scale = expected.abs().amax()
        torch.testing.assert_close(
            feats[i, 0, : frame_lengths[i]].cpu() / scale, expected / scale, atol=1e-4, rtol=1e-3
        )

"""spectrogram frontend: Li et al.'s Kaldi spectrogram equal to torchaudio's Kaldi-compliant one,
SRLA's F0 subband equal to torch.stft's, the frame counts of each framing, batched equal to
per-utterance over padded utterances, a window with the margin gives the whole utterance's
frames, and the settings' errors."""

from pathlib import Path

import pytest
import torch
import torchaudio
import yaml

from antispoof.frontends import FRONTENDS
from antispoof.frontends.base import FeatureSpec
from antispoof.registry import ConfigError

CONF = Path(__file__).parents[1] / "conf" / "frontend"
LI = yaml.safe_load((CONF / "spectrogram.yaml").read_text())["frontend_conf"]
SRLA = yaml.safe_load((CONF / "f0_subband.yaml").read_text())["frontend_conf"]
VALID = {"framing": "valid", "window": "hamming", "log": "magnitude", "energy_bin": False}
CENTER_REFLECT = {**SRLA, "pad_mode": "reflect", "n_fft": 512, "win_length": 400, "hop_length": 160}


def padded_batch(lengths, seed=0, dtype=torch.float32):
    """Noise with a silent stretch (floored log values), loud noise in the padding."""
    generator = torch.Generator().manual_seed(seed)
    wav = 0.1 * torch.randn(len(lengths), max(lengths) + 211, generator=generator, dtype=dtype)
    for i, length in enumerate(lengths):
        wav[i, length // 3 : length // 3 + 900] = 0.0
        wav[i, length:] = 50 * torch.randn(wav.shape[1] - length, generator=generator, dtype=dtype)
    return wav, torch.tensor(lengths)


def kaldi_reference(wav):
    """Kaldi's compute-spectrogram-feats with Li et al.'s spec.conf, dither off; energy_floor 0
    is Kaldi's default (torchaudio's is 1.0)."""
    return torchaudio.compliance.kaldi.spectrogram(
        wav[None], sample_frequency=16000, frame_length=25, frame_shift=10, snip_edges=False,
        dither=0.0, energy_floor=0.0,
    )  # fmt: skip


def srla_reference(wav):
    """SRLA's feature_extract.py with torch.stft for librosa.stft (center, zero padding)."""
    emphasised = torch.cat([wav[:1], wav[1:] - 0.97 * wav[:-1]])
    window = torch.blackman_window(1728, periodic=False, dtype=wav.dtype)
    stft = torch.stft(
        emphasised, 1728, 130, 1728, window, center=True, pad_mode="constant", return_complex=True
    )
    return torch.log(stft.abs() + torch.exp(torch.tensor(-80.0, dtype=wav.dtype)))[:45].T


def test_configs_and_specs():
    assert "spectrogram" in FRONTENDS.names()
    assert FRONTENDS.build("spectrogram", LI).spec == FRONTENDS.build("spectrogram", {}).spec
    # Kaldi's (N + 80) // 160 frames as pad_end framing: 2 * 160 - 1 - 80 = 239; the 400-sample
    # frame starts 120 samples before that span.
    assert FRONTENDS.build("spectrogram", LI).spec == FeatureSpec(
        channels=1, dim=257, hop_length=160, frame_length=239, framing="pad_end", context=120
    )
    assert FRONTENDS.build("spectrogram", SRLA).spec == FeatureSpec(
        channels=1, dim=45, hop_length=130, frame_length=1728, framing="center", context=865
    )
    valid = FRONTENDS.get("spectrogram").feature_spec(**VALID)
    assert (valid.framing, valid.frame_length, valid.context) == ("valid", 400, 0)


def test_frame_counts_follow_each_framing():
    samples = torch.tensor([80, 159, 160, 239, 240, 400, 401, 16000, 16079, 16080])
    kaldi = FRONTENDS.build("spectrogram", LI)
    assert kaldi.spec.num_frames(samples).tolist() == [(n + 80) // 160 for n in samples.tolist()]
    valid = FRONTENDS.build("spectrogram", VALID)
    assert valid.spec.num_frames(samples[5:]).tolist() == [
        (n - 400) // 160 + 1 for n in samples[5:].tolist()
    ]
    assert FRONTENDS.build("spectrogram", SRLA).spec.num_frames(16000) == 16000 // 130 + 1


def test_li_spectrogram_equals_kaldi():
    """torchaudio.compliance.kaldi.spectrogram is the golden (it matches Kaldi's binary). float64:
    within 1e-4 (the window is a float32 buffer; a relative 6e-8 rounding moves ln|X|^2 by more
    only in bins near a spectral zero). float32: within 5e-3 on values up to ~20 in magnitude
    (float32 FFTs of 512 points, same effect)."""
    for dtype, atol in ((torch.float64, 1e-4), (torch.float32, 5e-3)):
        module = FRONTENDS.build("spectrogram", LI).to(dtype)
        lengths = [400, 401, 1234, 16000]
        wav, lengths_t = padded_batch(lengths, seed=3, dtype=dtype)
        feats, frame_lengths = module(wav, lengths_t)
        assert feats.dtype == dtype
        for i, length in enumerate(lengths):
            reference = kaldi_reference(wav[i, :length])
            assert reference.shape[0] == frame_lengths[i]
            torch.testing.assert_close(
                feats[i, 0, : frame_lengths[i]], reference, atol=atol, rtol=0
            )


def test_srla_f0_subband_equals_torch_stft():
    """torch.stft with SRLA's settings is an independent implementation of librosa.stft's
    centred, zero-padded frames. float64 within 1e-4 (the window is a float32 buffer, as for
    Kaldi's), float32 within 1e-3 (ln of magnitudes of 1728-point float32 FFTs)."""
    for dtype, atol in ((torch.float64, 1e-4), (torch.float32, 1e-3)):
        module = FRONTENDS.build("spectrogram", SRLA).to(dtype)
        lengths = [1000, 5000]
        wav, lengths_t = padded_batch(lengths, seed=4, dtype=dtype)
        feats, frame_lengths = module(wav, lengths_t)
        for i, length in enumerate(lengths):
            reference = srla_reference(wav[i, :length])
            assert reference.shape == (frame_lengths[i], 45)
            torch.testing.assert_close(
                feats[i, 0, : frame_lengths[i]], reference, atol=atol, rtol=0
            )


@pytest.mark.parametrize(
    "conf", [LI, SRLA, VALID, CENTER_REFLECT], ids=["li", "srla", "valid", "reflect"]
)
def test_batched_equals_per_utterance(conf):
    module = FRONTENDS.build("spectrogram", conf).double()
    lengths = [1, 100, 399, 400, 401, 1729, 5000]
    wav, lengths_t = padded_batch(lengths, seed=5, dtype=torch.float64)
    feats, frame_lengths = module(wav, lengths_t)
    assert frame_lengths.tolist() == module.spec.num_frames(lengths_t).tolist()
    assert torch.isfinite(feats).all()
    for i, length in enumerate(lengths):
        alone, alone_frames = module(wav[i : i + 1, :length], lengths_t[i : i + 1])
        assert alone_frames[0] == frame_lengths[i]
        torch.testing.assert_close(feats[i, :, : frame_lengths[i]], alone[0], atol=1e-9, rtol=0)
        assert torch.all(feats[i, :, frame_lengths[i] :] == 0)


@pytest.mark.parametrize(
    "conf", [LI, SRLA, VALID, CENTER_REFLECT], ids=["li", "srla", "valid", "reflect"]
)
def test_a_window_with_margin_gives_the_frames_of_the_whole_utterance(conf):
    module = FRONTENDS.build("spectrogram", conf).double()
    spec = module.spec
    hop = spec.hop_length
    total = 2 * spec.margin + 30 * hop + 57
    wav = torch.randn(total, generator=torch.Generator().manual_seed(6), dtype=torch.float64)
    whole, _ = module(wav[None], torch.tensor([total]))
    for start, end in [(0, total - 33), (3 * hop, total), (5 * hop, total - 101)]:
        part, part_frames = module(wav[None, start:end], torch.tensor([end - start]))
        compared = 0
        for k in range(int(part_frames[0])):
            span = start + k * hop
            left_ok = start == 0 or span - start >= spec.context
            right_ok = end == total or end - span >= spec.margin
            if left_ok and right_ok:
                torch.testing.assert_close(
                    part[0, :, k], whole[0, :, start // hop + k], atol=1e-9, rtol=0
                )
                compared += 1
        assert compared >= 20, (start, end)


def test_stays_float32_under_autocast():
    module = FRONTENDS.build("spectrogram", LI)
    wav, lengths = padded_batch([4000, 3000])
    expected, _ = module(wav, lengths)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        feats, _ = module(wav, lengths)
    assert feats.dtype == torch.float32
    torch.testing.assert_close(feats, expected)


def test_settings_are_checked():
    with pytest.raises(ConfigError, match="window must be one of"):
        FRONTENDS.build("spectrogram", {"window": "kaiser"})
    with pytest.raises(ConfigError, match="framing must be one of"):
        FRONTENDS.build("spectrogram", {"framing": "same"})
    with pytest.raises(ConfigError, match=r"win_length \(600\) cannot exceed n_fft"):
        FRONTENDS.build("spectrogram", {"win_length": 600})
    with pytest.raises(ConfigError, match="last_bin"):
        FRONTENDS.build("spectrogram", {"last_bin": 300})
    with pytest.raises(ConfigError, match="energy_bin replaces bin 0"):
        FRONTENDS.build("spectrogram", {"first_bin": 3})
    with pytest.raises(ConfigError, match="log_floor and log_offset"):
        FRONTENDS.build("spectrogram", {"log_floor": 0.0})


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_on_cuda_equals_kaldi():
    module = FRONTENDS.build("spectrogram", LI).cuda()
    lengths = [16000, 4001, 400]
    wav, lengths_t = padded_batch(lengths, seed=7)
    feats, frame_lengths = module(wav.cuda(), lengths_t.cuda())
    for i, length in enumerate(lengths):
        reference = kaldi_reference(wav[i, :length])
        torch.testing.assert_close(
            feats[i, 0, : frame_lengths[i]].cpu(), reference, atol=5e-3, rtol=0
        )

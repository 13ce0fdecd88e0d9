"""cqt frontend: Li et al.'s log-power CQT against librosa's own output (a golden file), batched
equal to per-utterance over padded utterances of mixed lengths, the blocked computation equal to
the whole-signal one it replaced (long inputs, lengths straddling block edges), the spec and its
context (a window with the margin gives the whole utterance's frames), the phase channel, and
the errors."""

import functools
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from antispoof.frontends import FRONTENDS
from antispoof.frontends.base import FeatureSpec
from antispoof.frontends.cqt import (
    CPU_BLOCK_SAMPLES,
    halving_filter,
    halving_matrix,
    octave_basis,
    reflected,
)
from antispoof.frontends.mfcc import reflect_indices
from antispoof.registry import ConfigError

REFERENCE = Path(__file__).parent / "reference" / "li_cqt_chirp_noise.npy"
# A smaller CQT (4 octaves from 250 Hz, hop 64) whose context is short: fast window tests.
SMALL = {"fmin": 250.0, "n_bins": 192, "hop_length": 64}


def chirp_noise(n: int = 16000, sample_rate: int = 16000) -> torch.Tensor:
    """The golden file's signal (tests/reference/make_li_cqt_reference.py): a log chirp
    30 Hz -> 7.5 kHz, a 440 Hz tone and LCG noise, float32."""
    t = np.arange(n, dtype=np.float64) / sample_rate
    rate = np.log(7500.0 / 30.0) / (n / sample_rate)
    chirp = np.sin(2 * np.pi * 30.0 * (np.exp(rate * t) - 1) / rate)
    tone = np.sin(2 * np.pi * 440.0 * t)
    state, values = 12345, np.empty(n)
    for i in range(n):
        state = (state * 6364136223846793005 + 1442695040888963407) % 2**64
        values[i] = (state >> 40) / 2**24 - 0.5
    return torch.from_numpy((0.5 * chirp + 0.2 * tone + 0.3 * values).astype(np.float32))


def padded_batch(lengths, seed=0, dtype=torch.float32):
    """Noise (with a silent stretch) whose padding is loud noise: a leak would show."""
    generator = torch.Generator().manual_seed(seed)
    wav = 0.1 * torch.randn(len(lengths), max(lengths) + 300, generator=generator, dtype=dtype)
    for i, length in enumerate(lengths):
        wav[i, length // 3 : length // 3 + 500] = 0.0
        wav[i, length:] = 50 * torch.randn(wav.shape[1] - length, generator=generator, dtype=dtype)
    return wav, torch.tensor(lengths)


def test_registered_with_li_et_al_defaults_and_spec():
    assert "cqt" in FRONTENDS.names()
    module = FRONTENDS.build("cqt", {})
    # The lowest octave (15 .. 29.6 Hz) is taken after 7 halvings, at 125 Hz: its 15 Hz filter
    # is Q * 125 / 15 = 573 samples, a 1024-point frame reaching 512 samples of that rate from
    # the centre; each halving's 95-tap filter reaches 47 samples of its input rate; one sample
    # for the pre-emphasis.
    context = 2**7 * 1024 // 2 + 47 * (2**7 - 1) + 1
    assert module.spec == FeatureSpec(
        channels=1, dim=432, hop_length=256, frame_length=256, framing="center", context=context
    )
    assert FRONTENDS.get("cqt").feature_spec(**FRONTENDS.resolved_conf("cqt", {})) == module.spec
    phase = FRONTENDS.get("cqt").feature_spec(phase="frame_delta")
    assert (phase.channels, phase.context) == (2, context + 256)
    assert FRONTENDS.get("cqt").feature_spec(phase="angle").channels == 2
    assert module.cacheable and not module.trainable


def test_equals_li_et_als_librosa_feature():
    """The golden file is librosa 0.8.1's output for Li et al.'s code path (see
    tests/reference/li_cqt_chirp_noise.md). float64: within 2e-3 dB (the filter bases are kept
    as float32 buffers, so ~1e-7 relative error on each bin, large in dB only for bins ~80 dB
    below the loudest of their frame). float32: within 0.05 dB everywhere and 1e-3 dB on average
    (float32 FFTs and products, same effect)."""
    reference = torch.from_numpy(np.load(REFERENCE)).double()
    wav = chirp_noise()[None]
    for dtype, atol, mean in ((torch.float64, 2e-3, 1e-5), (torch.float32, 0.05, 1e-3)):
        module = FRONTENDS.build("cqt", {}).to(dtype)
        feats, frame_lengths = module(wav.to(dtype), torch.tensor([16000]))
        assert feats.dtype == dtype
        assert feats.shape == (1, 1, 63, 432) and frame_lengths.tolist() == [63]
        error = (feats[0, 0].double() - reference).abs()
        assert error.max() < atol, (dtype, error.max())
        assert error.mean() < mean, (dtype, error.mean())


@pytest.mark.parametrize("conf", [{}, {"phase": "angle"}, {**SMALL, "phase": "frame_delta"}])
def test_batched_equals_per_utterance(conf):
    module = FRONTENDS.build("cqt", conf).double()
    hop = module.spec.hop_length
    lengths = [1, 100, hop - 1, hop, hop + 1, 3001, 8000]
    wav, lengths_t = padded_batch(lengths, dtype=torch.float64)
    feats, frame_lengths = module(wav, lengths_t)
    assert frame_lengths.tolist() == [n // hop + 1 for n in lengths]
    assert feats.shape == (len(lengths), module.spec.channels, max(frame_lengths), module.spec.dim)
    assert torch.isfinite(feats).all()
    for i, length in enumerate(lengths):
        alone, alone_frames = module(wav[i : i + 1, :length], lengths_t[i : i + 1])
        assert alone_frames[0] == frame_lengths[i]
        torch.testing.assert_close(feats[i, :, : frame_lengths[i]], alone[0], atol=1e-7, rtol=0)
        assert torch.all(feats[i, :, frame_lengths[i] :] == 0)


@functools.cache
def whole_signal_filters(conf_items: tuple) -> tuple:
    """What `whole_signal_cqt` needs of a conf (given as sorted items): the frontend's octave
    plan and the float32 filters it held (basis real and imaginary parts times sqrt(2^level),
    the bin scale, the halving taps), in float64."""
    module = FRONTENDS.build("cqt", dict(conf_items))
    settings = FRONTENDS.resolved_conf("cqt", dict(conf_items))
    sample_rate, per_octave = settings["sample_rate"], settings["bins_per_octave"]
    q = 1.0 / (2.0 ** (1.0 / per_octave) - 1.0)
    freqs = settings["fmin"] * 2.0 ** (
        torch.arange(settings["n_bins"], dtype=torch.float64) / per_octave
    )
    bases = []
    for (start, stop), level in zip(module.octave_bins, module.levels, strict=True):
        basis, n_fft = octave_basis(
            sample_rate / 2**level, freqs[start:stop], q, settings["sparsity"]
        )
        basis = basis * math.sqrt(2.0**level)
        bases.append((basis.real.float().double(), basis.imag.float().double(), n_fft))
    scale = torch.rsqrt(q * sample_rate / freqs).float().double()
    return module, settings, bases, scale, halving_filter().float().double()


def whole_signal_cqt(conf: dict, wav: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """The complex CQT `(B, frames, n_bins)` as the frontend computed it before it worked in
    blocks (commit 1970243), in float64: each octave's frames of the whole signal gathered by
    reflect indices and multiplied with the full FFT basis, the rate halved by one strided
    `conv1d`, each bin scaled after the products. The blocked frontend must equal it."""
    module, settings, bases, scale, taps = whole_signal_filters(tuple(sorted(conf.items())))
    frames = int(module.spec.num_frames(lengths).max())
    signal = wav.double()
    if settings["pre_emphasis"]:
        signal = torch.cat(
            [signal[:, :1], signal[:, 1:] - settings["pre_emphasis"] * signal[:, :-1]], dim=1
        )
    signal = signal.masked_fill(torch.arange(signal.shape[1]) >= lengths[:, None], 0.0)
    level_lengths, level, octaves = lengths, 0, []
    for (basis_real, basis_imag, n_fft), target in zip(bases, module.levels, strict=True):
        while level < target:
            halved = torch.nn.functional.conv1d(
                signal[:, None], taps[None, None], padding=47, stride=2
            )[:, 0]
            kept = torch.arange(halved.shape[1]) < (level_lengths // 2)[:, None]
            signal = halved.masked_fill(~kept, 0.0) * math.sqrt(2.0)
            level_lengths, level = (level_lengths + 1) // 2, level + 1
        hop = settings["hop_length"] // 2**level
        indices = reflect_indices(level_lengths, -(n_fft // 2), (frames - 1) * hop + n_fft // 2)
        spectrum = torch.fft.rfft(signal.gather(1, indices).unfold(1, n_fft, hop))
        real = spectrum.real @ basis_real.T - spectrum.imag @ basis_imag.T
        imag = spectrum.real @ basis_imag.T + spectrum.imag @ basis_real.T
        octaves.append(torch.complex(real, imag))
    return torch.cat(octaves[::-1], dim=-1) * scale


def assert_equals_whole_signal(module, conf, wav, lengths):
    """The frontend's frames (log power, and the phase for `angle`) against `whole_signal_cqt`,
    in float64: within 1e-8 dB, and 1e-9 rad where the power is within 200 dB of its frame's
    loudest bin (deeper, the float64 rounding of the sums is the value)."""
    feats, frame_lengths = module(wav, lengths)
    expected = whole_signal_cqt(conf, wav, lengths)
    power = 10 * torch.log10(torch.clamp(expected.abs().square(), min=1e-30))
    for i, count in enumerate(frame_lengths.tolist()):
        torch.testing.assert_close(feats[i, 0, :count], power[i, :count], atol=1e-8, rtol=0)
        if module.phase == "angle":
            loud = power[i, :count] > power[i, :count].amax(-1, keepdim=True) - 200
            error = torch.remainder(
                feats[i, 1, :count] - expected[i, :count].angle() + math.pi, 2 * math.pi
            )
            assert (error - math.pi)[loud].abs().max() < 1e-9
    return feats, frame_lengths


def test_a_long_input_equals_the_whole_signal_computation():
    """60 s, many blocks of frames on a CPU: the same frames as the whole-signal computation."""
    module = FRONTENDS.build("cqt", {}).double()
    wav = chirp_noise(16000)[None].double().repeat(1, 60) * torch.linspace(0.01, 1.0, 960000)
    assert module.spec.num_frames(960000) > 10 * CPU_BLOCK_SAMPLES // 1024
    feats, _ = assert_equals_whole_signal(module, {}, wav, torch.tensor([960000]))
    assert feats.shape == (1, 1, 3751, 432)


@pytest.mark.parametrize("conf", [{}, {**SMALL, "phase": "angle"}])
def test_lengths_straddling_block_edges_equal_the_whole_signal_computation(conf):
    """Blocks of 3 frames in the octaves of 1024-point FFTs (6 in those of 512) for one
    utterance, of one frame for a batch of five: lengths whose last frame ends a block, starts
    one, or lies a hop either side."""
    module = FRONTENDS.build("cqt", conf).double()
    module.block_samples = 3 * 1024
    hop = module.spec.hop_length
    # edge - 1 samples give 12 frames, four whole blocks; edge samples a 13th, in a fifth block.
    edge = 12 * hop
    for length in (edge - hop, edge - 1, edge, edge + 1, edge + hop):
        wav, lengths = padded_batch([length], dtype=torch.float64)
        assert_equals_whole_signal(module, conf, wav, lengths)
    wav, lengths = padded_batch([edge - 1, edge, edge + hop, 2 * edge + 1, 7], dtype=torch.float64)
    assert_equals_whole_signal(module, conf, wav, lengths)


def test_the_halving_product_equals_the_strided_filter():
    taps = halving_filter().float().double()
    module = FRONTENDS.build("cqt", {}).double()
    generator = torch.Generator().manual_seed(2)
    for total in (1, 2, 47, 64, 95, 1001, 4096):
        signal = torch.randn(3, total, generator=generator, dtype=torch.float64)
        expected = torch.nn.functional.conv1d(
            signal[:, None], taps[None, None], padding=47, stride=2
        )[:, 0]
        halved, halved_lengths = module._halve(signal, torch.full((3,), total))
        # librosa keeps resampy's `total // 2` samples and pads them with zeros.
        assert halved.shape == expected.shape and halved_lengths.tolist() == [(total + 1) // 2] * 3
        kept = total // 2
        torch.testing.assert_close(
            halved[:, :kept], expected[:, :kept] * math.sqrt(2.0), atol=1e-14, rtol=0
        )
        assert torch.all(halved[:, kept:] == 0)
    with pytest.raises(ValueError, match="too short"):
        halving_matrix(taps, 23)


def test_reflected_equals_the_gather_of_reflect_indices():
    signal = torch.randn(4, 900, generator=torch.Generator().manual_seed(3))
    for lengths in ([900, 1, 37, 600], [900, 700, 800, 750]):
        lengths = torch.tensor(lengths)
        for start, stop in ((-512, 1400), (-3, 10), (0, 900), (-700, 2), (-40, 720)):
            expected = signal.gather(1, reflect_indices(lengths, start, stop))
            assert torch.equal(reflected(signal, lengths, start, stop), expected)


def window_frames_match(module, wav, start, end):
    """Frames of wav[start:end] against the whole utterance's: every frame whose centre keeps
    `context` samples from a window boundary that is not an edge of `wav` (and its hop-long
    span, `margin`, from the right one) equals frame start / hop + k of the whole. Returns how
    many frames were compared."""
    spec = module.spec
    whole, _ = module(wav[None], torch.tensor([wav.numel()]))
    part, part_frames = module(wav[None, start:end], torch.tensor([end - start]))
    compared = 0
    for k in range(int(part_frames[0])):
        centre = start + k * spec.hop_length
        left_ok = start == 0 or centre - start >= spec.context
        right_ok = end == wav.numel() or end - centre >= spec.margin
        if left_ok and right_ok:
            torch.testing.assert_close(
                part[0, :, k], whole[0, :, start // spec.hop_length + k], atol=1e-7, rtol=0
            )
            compared += 1
    return compared


@pytest.mark.parametrize(
    "conf", [{}, {**SMALL, "phase": "angle"}, {**SMALL, "phase": "frame_delta"}]
)
def test_a_window_with_margin_gives_the_frames_of_the_whole_utterance(conf):
    module = FRONTENDS.build("cqt", conf).double()
    spec = module.spec
    hop = spec.hop_length
    total = 2 * spec.margin + 40 * hop + 123
    generator = torch.Generator().manual_seed(1)
    wav = 0.1 * torch.randn(total, generator=generator, dtype=torch.float64)
    for start, end in [(3 * hop, total), (0, total - 77), (hop * 2, total - 5)]:
        assert window_frames_match(module, wav, start, end) >= 30
    # A frame closer to the window's start than the context differs: the context is needed.
    start = 4 * hop
    whole, _ = module(wav[None], torch.tensor([total]))
    part, _ = module(wav[None, start:], torch.tensor([total - start]))
    assert (part[0, 0, 0] - whole[0, 0, 4]).abs().max() > 1e-3


def test_frame_delta_is_the_phase_advance_less_that_of_the_bin_frequency():
    # A steady tone exactly at a bin's frequency: its frame_delta there is ~0 once the filters
    # are inside the signal, while the raw angle moves by 2 pi f hop / sr per frame.
    module = FRONTENDS.build("cqt", {**SMALL, "phase": "frame_delta"}).double()
    angle = FRONTENDS.build("cqt", {**SMALL, "phase": "angle"}).double()
    freq = 250.0 * 2 ** (100 / 48)
    t = torch.arange(16000, dtype=torch.float64) / 16000
    wav = torch.sin(2 * torch.pi * freq * t)[None]
    delta, _ = module(wav, torch.tensor([16000]))
    raw, _ = angle(wav, torch.tensor([16000]))
    steady = slice(40, 200)
    assert delta[0, 1, steady, 100].abs().max() < 1e-3
    step = torch.remainder(raw[0, 1, 41, 100] - raw[0, 1, 40, 100], 2 * torch.pi)
    expected = torch.remainder(torch.tensor(2 * torch.pi * freq * 64 / 16000), 2 * torch.pi)
    torch.testing.assert_close(step, expected.double(), atol=1e-3, rtol=0)
    torch.testing.assert_close(delta[0, 0], raw[0, 0])


def test_stays_in_the_buffers_dtype_under_autocast():
    module = FRONTENDS.build("cqt", SMALL)
    wav, lengths = padded_batch([4000, 3000])
    expected, _ = module(wav, lengths)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        feats, _ = module(wav, lengths)
    assert feats.dtype == torch.float32
    torch.testing.assert_close(feats, expected)


def test_settings_are_checked():
    with pytest.raises(ConfigError, match="phase must be one of"):
        FRONTENDS.build("cqt", {"phase": "cos"})
    with pytest.raises(ConfigError, match="exceed the Nyquist"):
        FRONTENDS.build("cqt", {"n_bins": 480})
    with pytest.raises(ConfigError, match=r"hop_length \(200\) must be a multiple of 2\^7"):
        FRONTENDS.build("cqt", {"hop_length": 200})
    with pytest.raises(ConfigError, match="downsample early"):
        FRONTENDS.build("cqt", {"fmin": 15.0, "n_bins": 96, "hop_length": 512})
    with pytest.raises(ConfigError, match="no setting 'bins'"):
        FRONTENDS.build("cqt", {"bins": 84})


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_on_cuda_equals_the_cpu_result():
    module = FRONTENDS.build("cqt", {"phase": "angle"})
    wav, lengths = padded_batch([16000, 3001, 100])
    expected, expected_frames = module(wav, lengths)
    feats, frame_lengths = module.cuda()(wav.cuda(), lengths.cuda())
    assert frame_lengths.cpu().tolist() == expected_frames.tolist()
    # The log power to 0.05 dB (float32 FFTs differ between the devices, which shows only in
    # deep dips); the phase where the power is within 60 dB of the frame's loudest bin.
    torch.testing.assert_close(feats[:, 0].cpu(), expected[:, 0], atol=0.05, rtol=0)
    loud = expected[:, 0] > expected[:, 0].amax(-1, keepdim=True) - 60
    phase_error = torch.remainder(feats[:, 1].cpu() - expected[:, 1] + torch.pi, 2 * torch.pi)
    assert (phase_error - torch.pi)[loud].abs().max() < 1e-2

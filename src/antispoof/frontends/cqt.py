"""The log-power constant-Q transform of Li et al. (ICASSP 2021, SE-Res2Net; official code
`lixucuhk/ASV-anti-spoofing-with-Res2Net`, `feats_extraction/logpowerspec.py: logpowcqt` with
`conf/feats/cqt_48bpo_fmin15.json`), optionally with the CQT phase as a second channel.

Their feature, per utterance: pre-emphasis 0.97 (`scipy.signal.lfilter([1, -0.97], [1], x)`),
`librosa.cqt(y, sr=16000, hop_length=256, fmin=15, n_bins=432, bins_per_octave=48,
window="hann")` with librosa 0.8's defaults (tuning 0, filter_scale 1, L1-normalised filters,
sparsity 0.01, scale=True, pad_mode="reflect", res_type=None), then
`librosa.power_to_db(|C|^2, ref=1.0, amin=1e-30, top_db=None)` = `10 log10(max(|C|^2, 1e-30))`,
stored as `(frames, bins)`, lowest bin first: 432 bins from 15 Hz to 7.57 kHz, frames centred on
`k * 256` (`N // 256 + 1` of them).

librosa 0.8 computes the CQT by octaves: the top octave, whose filters reach past 0.85 of the
Nyquist frequency, at the full rate, then the next octave at the full rate too, then one more
octave after each halving of the sample rate (resampy's `kaiser_fast` filter, the signal's own
zeros past its ends, the result `ceil(L / 2)` samples long and scaled by sqrt 2). Each octave is
`rfft(frame) . fft_basis`: frames of that octave's FFT size centred on the hop grid of its rate
(the signal reflected at its own ends), the basis the FFT of 48 Hann-windowed complex exponentials
of length `2 * floor(l / 2) + 1` (l = Q sr / f), L1-normalised, scaled by `l / n_fft`, centred in
`n_fft` samples and sparsified (per filter, the smallest FFT coefficients that together hold 1 %
of its L1 mass are dropped), the filters rescaled by sqrt(2^level); the result is divided by
sqrt(Q sr / f) of each bin. This module does exactly that, batched: every utterance is filtered,
halved and reflected at its own length at every level, so padding never reaches its frames.

Against librosa 0.8.1 itself (tests/reference/li_cqt_chirp_noise.npy) it agrees to within
1e-4 dB in float64 (float32: see the test). nnAudio was measured and not used: its CQT2010v2
differs from this feature by 1.8 dB on average (54 dB at worst; its 256-tap half-band filter
shifts each octave by half a sample and it computes every octave next to its rate's Nyquist
frequency), its kernels are `ceil(l)` long where librosa's are odd, and it pads a padded batch at
the batch's end, not at each utterance's.

Settings whose top octave lies below ~0.4 of the Nyquist frequency would make librosa downsample
early ("early downsampling"), which this module does not reproduce: it refuses them.

`phase` adds a second channel (`(B, 2, T, n_bins)`) for cross-modal models:
- `none` (default): Li et al.'s one-channel feature;
- `angle`: the CQT's phase in radians, (-pi, pi], referenced to each frame's centre (so a crop
  starting on the hop grid sees the same angles);
- `frame_delta`: the phase advance from the previous frame minus the advance `2 pi f hop / sr` of
  a steady sinusoid at the bin's frequency, wrapped to (-pi, pi] (the deviation of the
  instantaneous frequency; 0 on the first frame). The raw angle of a steady partial spins by
  `2 pi f hop / sr` per frame and looks like noise across frames; this difference is near 0 for
  it and smooth over time, at the cost of one more hop of context.
The default is `none` because it is the published feature; the phase of near-silent bins is noise
either way, so phase channels are for experiments.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from antispoof.frontends.base import FRONTENDS, FeatureSpec, Frontend
from antispoof.frontends.common import batch_extent, resolve_settings
from antispoof.frontends.mfcc import reflect_indices

PHASES = ("none", "angle", "frame_delta")

# scipy's equivalent noise bandwidth of the Hann window in bins (librosa's
# `filters.window_bandwidth("hann")`): where a filter's band ends, which decides whether the top
# octave is taken before the first halving.
HANN_BANDWIDTH = 1.50018310546875
# librosa 0.8 takes the top octave at the full rate when its filters reach past this fraction of
# the Nyquist frequency (resampy's `kaiser_fast` pass band, librosa's `BW_FASTEST`).
FAST_PASSBAND = 0.85
# resampy 0.4's `kaiser_fast` interpolation filter, which librosa 0.8 halves the rate with: a
# Kaiser-windowed sinc of 24 zero crossings, roll-off and beta as resampy's stored table (which
# this formula reproduces to 1e-15).
KAISER_FAST_ZEROS = 24
KAISER_FAST_ROLLOFF = 0.8682120388377784
KAISER_FAST_BETA = 9.90322441645481


def halving_filter() -> torch.Tensor:
    """The `(95,)` symmetric FIR with which resampy's `kaiser_fast` halves the sample rate: taps
    at every half zero crossing of its sinc table, scaled by the ratio 1/2 (gain 1 in the pass
    band)."""
    taps = torch.arange(-(2 * KAISER_FAST_ZEROS - 1), 2 * KAISER_FAST_ZEROS, dtype=torch.float64)
    crossings = taps.abs() / 2
    taper = torch.special.i0(
        KAISER_FAST_BETA * torch.sqrt(1 - (crossings / KAISER_FAST_ZEROS) ** 2)
    ) / torch.special.i0(torch.tensor(KAISER_FAST_BETA, dtype=torch.float64))
    return 0.5 * KAISER_FAST_ROLLOFF * torch.sinc(KAISER_FAST_ROLLOFF * crossings) * taper


def octave_basis(
    sample_rate: float, freqs: torch.Tensor, q: float, sparsity: float
) -> tuple[torch.Tensor, int]:
    """`(len(freqs), n_fft // 2 + 1)` complex FFT basis of one octave's filters at `sample_rate`,
    as librosa 0.8's `__cqt_filter_fft` builds it, and its FFT size."""
    lengths = q * sample_rate / freqs
    n_fft = 2 ** math.ceil(math.log2(float(lengths.max())))
    basis = torch.zeros(len(freqs), n_fft, dtype=torch.complex128)
    for row, (length, freq) in enumerate(zip(lengths.tolist(), freqs.tolist(), strict=True)):
        # librosa's `np.arange(-l // 2, l // 2)` for a fractional l: an odd number of samples.
        times = torch.arange(math.floor(-length / 2), math.floor(length / 2), dtype=torch.float64)
        window = torch.hann_window(len(times), periodic=True, dtype=torch.float64)
        filt = window * torch.exp(2j * math.pi * freq / sample_rate * times)
        filt = filt / filt.abs().sum()
        start = (n_fft - len(times)) // 2
        basis[row, start : start + len(times)] = filt * (length / n_fft)
    spectrum = torch.fft.fft(basis)[:, : n_fft // 2 + 1]
    if sparsity > 0:
        # Drop the smallest coefficients holding `sparsity` of each filter's L1 mass
        # (librosa's `util.sparsify_rows`): keep from the first sorted one where the cumulative
        # share reaches it.
        mags = spectrum.abs()
        ordered, _ = mags.sort(dim=1)
        share = torch.cumsum(ordered / mags.sum(1, keepdim=True), dim=1)
        first_kept = torch.searchsorted(
            share, torch.full((len(freqs), 1), sparsity, dtype=share.dtype)
        )
        threshold = ordered.gather(1, first_kept.clamp(max=mags.shape[1] - 1))
        spectrum = torch.where(mags >= threshold, spectrum, 0)
    return spectrum, n_fft


@FRONTENDS.register("cqt")
class CQT(Frontend):
    """Log-power CQT `(B, C, T, n_bins)`, lowest bin first: C = 1, or 2 with a `phase` channel.
    The defaults are Li et al.'s (432 bins, 48 per octave from 15 Hz, hop 256 at 16 kHz)."""

    def __init__(
        self,
        sample_rate: int = 16000,
        n_bins: int = 432,
        bins_per_octave: int = 48,
        fmin: float = 15.0,
        hop_length: int = 256,
        pre_emphasis: float = 0.97,
        sparsity: float = 0.01,
        log_floor: float = 1e-30,
        phase: str = "none",
    ) -> None:
        super().__init__()
        settings = {
            "sample_rate": sample_rate,
            "n_bins": n_bins,
            "bins_per_octave": bins_per_octave,
            "fmin": fmin,
            "hop_length": hop_length,
            "pre_emphasis": pre_emphasis,
            "sparsity": sparsity,
            "log_floor": log_floor,
            "phase": phase,
        }
        self._spec = self.feature_spec(**settings)
        self.hop_length = hop_length
        self.pre_emphasis = pre_emphasis
        self.log_floor = log_floor
        self.phase = phase
        q = 1.0 / (2.0 ** (1.0 / bins_per_octave) - 1.0)
        freqs = fmin * 2.0 ** (torch.arange(n_bins, dtype=torch.float64) / bins_per_octave)
        self.levels = octave_levels(sample_rate, n_bins, bins_per_octave, fmin, hop_length)
        self.n_ffts: list[int] = []
        self.octave_bins: list[tuple[int, int]] = []
        # Octave 0 is the top one; its bins are the highest `bins_per_octave` (the lowest octave
        # may be partial, as librosa trims it).
        for octave, level in enumerate(self.levels):
            stop = n_bins - octave * bins_per_octave
            start = max(0, stop - bins_per_octave)
            basis, n_fft = octave_basis(sample_rate / 2**level, freqs[start:stop], q, sparsity)
            # librosa rescales the filters of a halved signal by sqrt(2^level).
            basis = basis * math.sqrt(2.0**level)
            # Real and imaginary parts as float buffers: `.double()` and `.to(dtype)` convert
            # them with the module (complex buffers would stay complex64).
            self.register_buffer(f"basis_real_{octave}", basis.real.float(), persistent=False)
            self.register_buffer(f"basis_imag_{octave}", basis.imag.float(), persistent=False)
            self.n_ffts.append(n_fft)
            self.octave_bins.append((start, stop))
        scale = torch.rsqrt(q * sample_rate / freqs)
        self.register_buffer("scale", scale.float(), persistent=False)
        self.register_buffer("halving", halving_filter().float(), persistent=False)
        # Phase advance of a steady sinusoid over one hop, for `frame_delta`.
        advance = 2 * math.pi * freqs * hop_length / sample_rate
        self.register_buffer(
            "advance", torch.remainder(advance, 2 * math.pi).float(), persistent=False
        )

    @classmethod
    def feature_spec(cls, **settings: Any) -> FeatureSpec:
        """`center` framing every `hop_length` samples (frame k centred on sample k * hop, one
        hop spanned). `context`: the farthest sample any bin of a frame reads, from its centre:
        at octave level v (rate halved v times), half that octave's FFT frame, 2^v * n_fft / 2
        samples, plus 47 taps per halving at each halving's input rate, 47 * (2^v - 1); one more
        for the pre-emphasis and one hop more for `frame_delta`."""
        conf = resolve_settings(cls, settings)
        if conf["phase"] not in PHASES:
            raise ValueError(f"phase must be one of {PHASES}, not {conf['phase']!r}")
        for name in ("n_bins", "bins_per_octave", "hop_length", "sample_rate"):
            if conf[name] < 1:
                raise ValueError(f"{name} must be positive, not {conf[name]}")
        if not 0 <= conf["sparsity"] < 1:
            raise ValueError(f"sparsity must be in [0, 1), not {conf['sparsity']}")
        if conf["log_floor"] <= 0:
            raise ValueError(f"log_floor must be positive, not {conf['log_floor']}")
        levels = octave_levels(
            conf["sample_rate"],
            conf["n_bins"],
            conf["bins_per_octave"],
            conf["fmin"],
            conf["hop_length"],
        )
        if conf["hop_length"] % 2 ** levels[-1]:
            raise ValueError(
                f"hop_length ({conf['hop_length']}) must be a multiple of 2^{levels[-1]} for "
                f"{len(levels)} octaves (librosa's condition)"
            )
        q = 1.0 / (2.0 ** (1.0 / conf["bins_per_octave"]) - 1.0)
        reach = 0
        for octave, level in enumerate(levels):
            # An octave's lowest filter is its longest, in samples of its own rate.
            low = octave_low_bin(conf["n_bins"], conf["bins_per_octave"], octave)
            freq = conf["fmin"] * 2.0 ** (low / conf["bins_per_octave"])
            n_fft = 2 ** math.ceil(math.log2(q * conf["sample_rate"] / 2**level / freq))
            reach = max(reach, 2**level * n_fft // 2 + 47 * (2**level - 1))
        reach += 1 if conf["pre_emphasis"] else 0
        reach += conf["hop_length"] if conf["phase"] == "frame_delta" else 0
        return FeatureSpec(
            channels=1 if conf["phase"] == "none" else 2,
            dim=conf["n_bins"],
            hop_length=conf["hop_length"],
            frame_length=conf["hop_length"],
            framing="center",
            context=reach,
            sample_rate=conf["sample_rate"],
        )

    @property
    def spec(self) -> FeatureSpec:
        return self._spec

    def forward(
        self, wav: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        lengths = lengths.to(device=wav.device, dtype=torch.long)
        frame_lengths = self.spec.num_frames(lengths)
        frames = batch_extent(frame_lengths, int(self.spec.num_frames(wav.shape[1])))
        # Half precision would lose the 100 dB range of the log power; the CQT stays in the
        # buffers' dtype.
        with torch.autocast(wav.device.type, enabled=False):
            signal = wav.to(self.scale.dtype)
            inside = torch.arange(signal.shape[1], device=wav.device) < lengths[:, None]
            if self.pre_emphasis:
                signal = torch.cat(
                    [signal[:, :1], signal[:, 1:] - self.pre_emphasis * signal[:, :-1]], dim=1
                )
            signal = signal.masked_fill(~inside, 0.0)
            level_lengths, level = lengths, 0
            octaves = []
            for octave, target in enumerate(self.levels):
                while level < target:
                    signal, level_lengths = self._halve(signal, level_lengths)
                    level += 1
                octaves.append(self._octave(signal, level_lengths, octave, level, frames))
            # Lowest octave first, as librosa stacks them.
            real = torch.cat([part[0] for part in reversed(octaves)], dim=-1) * self.scale
            imag = torch.cat([part[1] for part in reversed(octaves)], dim=-1) * self.scale
            power = real.square() + imag.square()
            channels = [10.0 * torch.log10(torch.clamp(power, min=self.log_floor))]
            if self.phase != "none":
                channels.append(self._phase(real, imag))
            feats = torch.stack(channels, dim=1)
            valid = torch.arange(frames, device=wav.device) < frame_lengths[:, None]
            feats = feats.masked_fill(~valid[:, None, :, None], 0.0)
        return feats, frame_lengths

    def _halve(
        self, signal: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Each utterance at half the rate as librosa 0.8 resamples it: resampy's output keeps
        `L // 2` samples, librosa pads it with zeros to `ceil(L / 2)` and scales by sqrt 2."""
        reach = (self.halving.numel() - 1) // 2
        halved = torch.nn.functional.conv1d(
            signal[:, None], self.halving[None, None], padding=reach, stride=2
        )[:, 0]
        kept = torch.arange(halved.shape[1], device=signal.device) < (lengths // 2)[:, None]
        return halved.masked_fill(~kept, 0.0) * math.sqrt(2.0), (lengths + 1) // 2

    def _octave(
        self, signal: torch.Tensor, lengths: torch.Tensor, octave: int, level: int, frames: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Real and imaginary `(B, frames, bins)` of one octave: frames of its FFT size centred
        every `hop / 2^level` samples, each utterance reflected at its own ends."""
        n_fft = self.n_ffts[octave]
        hop = self.hop_length // 2**level
        indices = reflect_indices(lengths, -(n_fft // 2), (frames - 1) * hop + n_fft // 2)
        framed = signal.gather(1, indices).unfold(1, n_fft, hop)
        spectrum = torch.fft.rfft(framed)
        basis_real = getattr(self, f"basis_real_{octave}")
        basis_imag = getattr(self, f"basis_imag_{octave}")
        # (a + ib)(c + id) summed over the FFT bins, as librosa's `fft_basis.dot(D)`.
        real = spectrum.real @ basis_real.T - spectrum.imag @ basis_imag.T
        imag = spectrum.real @ basis_imag.T + spectrum.imag @ basis_real.T
        return real, imag

    def _phase(self, real: torch.Tensor, imag: torch.Tensor) -> torch.Tensor:
        angle = torch.atan2(imag, real)
        if self.phase == "angle":
            return angle
        step = angle[:, 1:] - angle[:, :-1] - self.advance
        # Wrapped to (-pi, pi]: pi - ((pi - x) mod 2 pi).
        step = math.pi - torch.remainder(math.pi - step, 2 * math.pi)
        return torch.cat([torch.zeros_like(angle[:, :1]), step], dim=1)


def octave_low_bin(n_bins: int, bins_per_octave: int, octave: int) -> int:
    """Index of the lowest bin of `octave` (0 = the top octave)."""
    return max(0, n_bins - (octave + 1) * bins_per_octave)


def octave_levels(
    sample_rate: int, n_bins: int, bins_per_octave: int, fmin: float, hop_length: int
) -> list[int]:
    """How many times the rate is halved before each octave (top octave first), as librosa 0.8
    chooses: when the top octave's filters reach past FAST_PASSBAND of the Nyquist frequency it
    is taken at the full rate and so is the next one; otherwise octave i after i halvings."""
    n_octaves = math.ceil(n_bins / bins_per_octave)
    q = 1.0 / (2.0 ** (1.0 / bins_per_octave) - 1.0)
    top = fmin * 2.0 ** ((n_bins - 1) / bins_per_octave)
    if top * (1 + 0.5 * HANN_BANDWIDTH / q) > sample_rate / 2:
        raise ValueError(
            f"the top bin ({top:.1f} Hz) and its band exceed the Nyquist frequency; "
            "use fewer bins or a higher sample rate"
        )
    cutoff = top * (1 + 0.5 * HANN_BANDWIDTH / q)
    nyquist = sample_rate / 2
    if cutoff >= FAST_PASSBAND * nyquist:
        return [0, *range(n_octaves - 1)]
    # librosa's `__early_downsample` count: limited by the pass band and by the hop's factors 2.
    by_band = int(math.ceil(math.log2(FAST_PASSBAND * nyquist / cutoff)) - 1) - 1
    twos = (hop_length & -hop_length).bit_length() - 1
    if min(by_band, twos - n_octaves + 1) > 0:
        raise ValueError(
            f"the top bin ({top:.1f} Hz) is low enough that librosa would downsample early, "
            "which this frontend does not reproduce; use a lower sample rate"
        )
    return list(range(n_octaves))

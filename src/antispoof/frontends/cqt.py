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

The arithmetic is arranged so that the cost is linear in length, with the same result (the tests
compare it with the whole-signal computation in float64): the halving filter is a banded matrix
product over rows of the signal; each octave's frames are transformed a block at a time; the
product with the basis covers only the FFT bins where the octave's filters are nonzero (138 of
513 at the defaults); only the samples past an utterance's ends are gathered for the reflection.
On one CPU thread, beside librosa 0.11's `cqt` with the same settings (`benchmarks/cqt_speed.py`,
commit 3a9e1ae, a 2-core machine shared with other jobs): 8.0 ms per second of audio at 4 s and
4.6 ms at 60 s, 8.2 and 2.7 times librosa's speed; the cost per second at 60 s is 0.58 of that at
4 s (the fixed cost of a call spread over more audio).

Against librosa 0.8.1 itself (tests/reference/li_cqt_chirp_noise.npy) it agrees to within
1.2e-3 dB in float64, 2e-6 dB on average (the filters are float32 buffers; float32: see the
test). nnAudio was measured and not used: its CQT2010v2
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
from antispoof.frontends.common import batch_extent, batch_shortest, resolve_settings
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
# Output samples of the halving filter per row of its matrix product (see `CQT._halve`): more
# than half the filter's reach, so that a row's outputs read only it and its two neighbours.
HALVING_ROW = 32
# Each octave's frames are transformed in blocks of about this many samples (frames x FFT
# size). On a CPU, 1 MB of float32 frames, whose spectrum and products stay in a core's cache:
# frames of the whole signal at once cost 1.3 to 2 times as much per second of a 10-minute input
# as blocks did (one thread, a shared machine). Elsewhere a block only bounds the memory the
# frames take.
CPU_BLOCK_SAMPLES = 2**18
DEVICE_BLOCK_SAMPLES = 2**24


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


def halving_matrix(taps: torch.Tensor, width: int) -> torch.Tensor:
    """`(6 * width, width)`: output c of a row of `width` outputs at half the rate is
    `sum_t taps[t] x[2 c + t - reach]` (`conv1d(padding=reach, stride=2)`), x the row's
    `2 * width` input samples preceded and followed by those of its neighbours."""
    reach = (taps.numel() - 1) // 2
    if 2 * width < reach:
        raise ValueError(f"rows of {width} outputs are too short for a reach of {reach}")
    inputs = torch.arange(6 * width)[:, None]
    outputs = torch.arange(width)[None]
    tap = inputs - 2 * width - 2 * outputs + reach
    inside = (tap >= 0) & (tap < taps.numel())
    return torch.where(inside, taps[tap.clamp(0, taps.numel() - 1)], 0.0)


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
        # The FFT bins `[low, high)` outside which every filter of the octave is zero.
        self.bands: list[tuple[int, int]] = []
        # Framed samples transformed at a time (`None`: `block_samples` of the device); the
        # result does not depend on it.
        self.block_samples: int | None = None
        # Octave 0 is the top one; its bins are the highest `bins_per_octave` (the lowest octave
        # may be partial, as librosa trims it).
        for octave, level in enumerate(self.levels):
            stop = n_bins - octave * bins_per_octave
            start = max(0, stop - bins_per_octave)
            basis, n_fft = octave_basis(sample_rate / 2**level, freqs[start:stop], q, sparsity)
            # librosa rescales the filters of a halved signal by sqrt(2^level).
            basis = basis * math.sqrt(2.0**level)
            kernel, band = interleaved_kernel(basis)
            # A float buffer: `.double()` and `.to(dtype)` convert it with the module (a complex
            # one would stay complex64).
            self.register_buffer(f"kernel_{octave}", kernel.float(), persistent=False)
            self.n_ffts.append(n_fft)
            self.octave_bins.append((start, stop))
            self.bands.append(band)
        scale = torch.rsqrt(q * sample_rate / freqs)
        self.register_buffer("scale", scale.float(), persistent=False)
        self.register_buffer(
            "halving", halving_matrix(halving_filter(), HALVING_ROW).float(), persistent=False
        )
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
            signal = wav.to(self.halving.dtype)
            inside = torch.arange(signal.shape[1], device=wav.device) < lengths[:, None]
            if self.pre_emphasis:
                signal = torch.cat(
                    [signal[:, :1], signal[:, 1:] - self.pre_emphasis * signal[:, :-1]], dim=1
                )
            signal = signal.masked_fill(~inside, 0.0)
            # Real and imaginary parts of every bin, lowest first, as librosa stacks the octaves.
            cqt = signal.new_empty(signal.shape[0], frames, 2, self.spec.dim)
            level_lengths, level = lengths, 0
            for octave, target in enumerate(self.levels):
                while level < target:
                    signal, level_lengths = self._halve(signal, level_lengths)
                    level += 1
                self._octave(signal, level_lengths, octave, level, cqt)
            # In place from here on: a long utterance's frames are the largest tensors.
            real, imag = cqt.mul_(self.scale).unbind(2)
            power = real.square() + imag.square()
            feats = power.clamp_(min=self.log_floor).log10_().mul_(10.0)[:, None]
            if self.phase != "none":
                feats = torch.cat([feats, self._phase(real, imag)[:, None]], dim=1)
            valid = torch.arange(frames, device=wav.device) < frame_lengths[:, None]
            feats = feats.masked_fill_(~valid[:, None, :, None], 0.0)
        return feats, frame_lengths

    def _halve(
        self, signal: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Each utterance at half the rate as librosa 0.8 resamples it: resampy's output keeps
        `L // 2` samples, librosa pads it with zeros to `ceil(L / 2)` and scales by sqrt 2.

        The filter is a matrix product: the signal cut into rows of 2 HALVING_ROW samples, the
        HALVING_ROW outputs of a row the product of it and its two neighbours with the banded
        `halving_matrix`. A strided single-channel `conv1d` gives the same samples but was 15
        to 40 times slower on a CPU core (4 s and 60 s inputs)."""
        width = self.halving.shape[1]
        total = signal.shape[1]
        halved_length = (total + 1) // 2
        rows = -(-halved_length // width)
        # A row of zeros before the signal and at least one after it, as conv1d's zero padding
        # (the masks below keep each utterance's own zeros).
        padded = torch.nn.functional.pad(signal, (2 * width, 2 * width * (rows + 1) - total))
        cut = padded.reshape(signal.shape[0], rows + 2, 2 * width)
        previous, current, following = self.halving.split(2 * width)
        halved = cut[:, :-2] @ previous + cut[:, 1:-1] @ current + cut[:, 2:] @ following
        halved = halved.reshape(signal.shape[0], rows * width)[:, :halved_length]
        kept = torch.arange(halved_length, device=signal.device) < (lengths // 2)[:, None]
        return halved.masked_fill(~kept, 0.0) * math.sqrt(2.0), (lengths + 1) // 2

    def _octave(
        self,
        signal: torch.Tensor,
        lengths: torch.Tensor,
        octave: int,
        level: int,
        cqt: torch.Tensor,
    ) -> None:
        """Writes one octave's bins of `cqt` `(B, frames, 2, n_bins)`: frames of its FFT size
        centred every `hop / 2^level` samples, each utterance reflected at its own ends, taken a
        block of frames at a time."""
        n_fft = self.n_ffts[octave]
        hop = self.hop_length // 2**level
        frames = cqt.shape[1]
        extended = reflected(signal, lengths, -(n_fft // 2), (frames - 1) * hop + n_fft // 2)
        framed = extended.unfold(1, n_fft, hop)
        low, high = self.bands[octave]
        start, stop = self.octave_bins[octave]
        kernel = getattr(self, f"kernel_{octave}")
        block = self.block_samples or block_samples(signal.device)
        # An exported graph's batch axis is dynamic: blocks sized by the traced batch would fix
        # it, so a graph takes a window's frames in one block.
        if torch.compiler.is_exporting() or torch.jit.is_tracing():
            step = frames
        else:
            step = max(1, block // (len(signal) * n_fft))
        for first in range(0, frames, step):
            spectrum = torch.fft.rfft(framed[:, first : first + step])[..., low:high]
            # (a + ib)(c + id) summed over the band's FFT bins, as librosa's
            # `fft_basis.dot(D)`: one product of the interleaved real and imaginary parts.
            products = torch.view_as_real(spectrum).flatten(-2) @ kernel
            cqt[:, first : first + step, :, start:stop] = products.unflatten(-1, (2, -1))

    def _phase(self, real: torch.Tensor, imag: torch.Tensor) -> torch.Tensor:
        angle = torch.atan2(imag, real)
        if self.phase == "angle":
            return angle
        step = angle[:, 1:] - angle[:, :-1] - self.advance
        # Wrapped to (-pi, pi]: pi - ((pi - x) mod 2 pi).
        step = math.pi - torch.remainder(math.pi - step, 2 * math.pi)
        return torch.cat([torch.zeros_like(angle[:, :1]), step], dim=1)


def interleaved_kernel(basis: torch.Tensor) -> tuple[torch.Tensor, tuple[int, int]]:
    """`basis` `(bins, n_fft // 2 + 1)` complex as a real `(2 * (high - low), 2 * bins)` matrix
    over the band `[low, high)` of FFT bins outside which every filter is zero (a sparsified
    CQT filter holds a few dozen bins around its frequency): a spectrum's band, its real and
    imaginary parts interleaved (`view_as_real`), times it gives the real parts of the
    products in the first `bins` columns and the imaginary parts in the last."""
    used = (basis != 0).any(dim=0).nonzero()[:, 0]
    low, high = int(used.min()), int(used.max()) + 1
    band = basis[:, low:high].T
    kernel = torch.empty(high - low, 2, 2, len(basis), dtype=band.real.dtype)
    # Row a (real part of the spectrum) meets c + id, row b (imaginary part) meets -d + ic.
    kernel[:, 0, 0], kernel[:, 0, 1] = band.real, band.imag
    kernel[:, 1, 0], kernel[:, 1, 1] = -band.imag, band.real
    return kernel.reshape(2 * (high - low), 2 * len(basis)), (low, high)


def reflected(signal: torch.Tensor, lengths: torch.Tensor, start: int, stop: int) -> torch.Tensor:
    """Positions `start .. stop - 1` (start <= 0) of each utterance of `signal` `(B, N)` extended
    by mirror reflection at its own ends (`reflect_indices`). Only the stretches that lie
    outside some utterance are gathered: the samples before the shortest one's end are taken as
    they are (index arithmetic over the whole signal cost more than the CQT's FFTs)."""
    inner = min(max(batch_shortest(lengths, signal.shape[1]), 0), stop)
    left = signal.gather(1, reflect_indices(lengths, start, 0))
    right = signal.gather(1, reflect_indices(lengths, inner, stop))
    return torch.cat([left, signal[:, :inner], right], dim=1)


def block_samples(device: torch.device) -> int:
    """Framed samples transformed at a time on `device`: on a CPU few enough that a block's
    frames, spectrum and products stay in a core's cache, elsewhere only a bound on memory."""
    return CPU_BLOCK_SAMPLES if device.type == "cpu" else DEVICE_BLOCK_SAMPLES


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

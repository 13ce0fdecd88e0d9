"""LFCC exactly as the ASVspoof 2019 organisers' `extract_lfcc.m` (used by the OC-Softmax paper).

`extract_lfcc(x, fs, 20, 512, 20)`: pre-emphasis 0.97; `buffer(x, 320, 160, 'nodelay')` framing
(20 ms Hamming window, 10 ms hop, the last frame zero-padded); |FFT(512)|^2; 20 linear triangular
filters with edges `linspace(0, fs/2, 22)`; log10(. + eps); orthonormal DCT-II keeping all 20
coefficients (c0 included); Δ and ΔΔ from `deltas.m` with w = 3, i.e. x[t+1] - x[t-1] with the
edge frames replicated. Output: 60 dimensions per frame.

`LFCC.single` follows the MATLAB steps on one utterance and is the reference; `forward` computes
a padded batch at once (masks for the pre-emphasis and the zero-padded last frame, clamped
gathers for the Δ edge replication at each utterance's own last frame) with the same result.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from antispoof.frontends.base import FRONTENDS, FeatureSpec, Frontend
from antispoof.frontends.common import batch_extent, resolve_settings

# MATLAB's eps (2^-52), added before the log exactly as extract_lfcc.m does.
MATLAB_EPS = 2.220446049250313e-16


def linear_triangular_filterbank(n_filters: int, n_fft: int, sample_rate: int) -> torch.Tensor:
    """`(n_fft//2 + 1, n_filters)` weights of MATLAB `trimf` filters on linearly spaced edges."""
    freqs = torch.linspace(0.0, sample_rate / 2, n_fft // 2 + 1, dtype=torch.float64)
    edges = torch.linspace(0.0, sample_rate / 2, n_filters + 2, dtype=torch.float64)
    left, centre, right = edges[:-2], edges[1:-1], edges[2:]
    rising = (freqs[:, None] - left) / (centre - left)
    falling = (right - freqs[:, None]) / (right - centre)
    return torch.clamp(torch.minimum(rising, falling), min=0.0)


def orthonormal_dct_matrix(n: int) -> torch.Tensor:
    """`(n, n)` matrix D with `D @ x` equal to MATLAB's `dct(x)` (orthonormal DCT-II)."""
    k = torch.arange(n, dtype=torch.float64)[:, None]
    i = torch.arange(n, dtype=torch.float64)[None, :]
    matrix = torch.cos(math.pi * (2 * i + 1) * k / (2 * n)) * math.sqrt(2.0 / n)
    matrix[0] /= math.sqrt(2.0)
    return matrix


def matlab_deltas(feats: torch.Tensor, window: int = 3) -> torch.Tensor:
    """`deltas.m` over the time axis of `(T, D)`: sum_k k * (x[t+k] - x[t-k]), unscaled."""
    half = window // 2
    padded = torch.cat(
        [feats[..., :1, :].expand(half, -1), feats, feats[..., -1:, :].expand(half, -1)], dim=-2
    )
    frames = feats.shape[-2]
    delta = torch.zeros_like(feats)
    for k in range(1, half + 1):
        delta = delta + k * (
            padded[half + k : half + k + frames] - padded[half - k : half - k + frames]
        )
    return delta


def batched_deltas(feats: torch.Tensor, frame_lengths: torch.Tensor, window: int) -> torch.Tensor:
    """`matlab_deltas` of each utterance of `(B, T, D)` over its own `frame_lengths` frames: the
    neighbours past an utterance's last frame are that frame, never the batch's padding. Frames
    from `frame_lengths` on hold values that the caller masks."""
    half = window // 2
    steps = torch.arange(feats.shape[1], device=feats.device)
    last = (frame_lengths - 1)[:, None]
    dim = feats.shape[2]
    delta = torch.zeros_like(feats)
    for k in range(1, half + 1):
        ahead = torch.minimum(steps + k, last)[..., None].expand(-1, -1, dim)
        behind = torch.clamp(steps - k, min=0)
        delta = delta + k * (feats.gather(1, ahead) - feats[:, behind])
    return delta


@FRONTENDS.register("lfcc")
class LFCC(Frontend):
    """Linear-frequency cepstral coefficients with Δ and ΔΔ (the 2019 LA baseline's LFCC):
    `(B, 1, T, n_ceps * 3)` (`n_ceps` without deltas)."""

    def __init__(
        self,
        sample_rate: int = 16000,
        win_length: int = 320,
        hop_length: int = 160,
        n_fft: int = 512,
        n_filters: int = 20,
        n_ceps: int = 20,
        pre_emphasis: float = 0.97,
        delta_window: int = 3,
        with_deltas: bool = True,
    ) -> None:
        super().__init__()
        self._spec = self.feature_spec(
            sample_rate=sample_rate,
            win_length=win_length,
            hop_length=hop_length,
            n_fft=n_fft,
            n_filters=n_filters,
            n_ceps=n_ceps,
            pre_emphasis=pre_emphasis,
            delta_window=delta_window,
            with_deltas=with_deltas,
        )
        self.win_length = win_length
        self.hop_length = hop_length
        self.n_fft = n_fft
        self.pre_emphasis = pre_emphasis
        self.delta_window = delta_window
        self.with_deltas = with_deltas
        # MATLAB's hamming(N) is the symmetric window.
        self.register_buffer("window", torch.hamming_window(win_length, periodic=False))
        filterbank = linear_triangular_filterbank(n_filters, n_fft, sample_rate)
        self.register_buffer("filterbank", filterbank.float())
        self.register_buffer("dct", orthonormal_dct_matrix(n_filters)[:n_ceps].float())

    @classmethod
    def feature_spec(cls, **settings: Any) -> FeatureSpec:
        """One channel of `n_ceps` (x3 with deltas) coefficients per `buffer ... 'nodelay'`
        frame. `context`: ΔΔ reaches `2 * (delta_window // 2)` frames either side, and the
        pre-emphasis of a frame's first sample reads the sample before it."""
        conf = resolve_settings(cls, settings)
        if conf["n_ceps"] > conf["n_filters"]:
            raise ValueError(
                f"n_ceps ({conf['n_ceps']}) cannot exceed n_filters ({conf['n_filters']})"
            )
        if conf["win_length"] > conf["n_fft"]:
            raise ValueError(
                f"win_length ({conf['win_length']}) cannot exceed n_fft ({conf['n_fft']})"
            )
        if conf["with_deltas"] and (conf["delta_window"] < 3 or conf["delta_window"] % 2 == 0):
            raise ValueError(f"delta_window must be odd and >= 3, not {conf['delta_window']}")
        reach = 2 * (conf["delta_window"] // 2) * conf["hop_length"] if conf["with_deltas"] else 0
        return FeatureSpec(
            channels=1,
            dim=conf["n_ceps"] * (3 if conf["with_deltas"] else 1),
            hop_length=conf["hop_length"],
            frame_length=conf["win_length"],
            framing="pad_end",
            context=reach + (1 if conf["pre_emphasis"] else 0),
            sample_rate=conf["sample_rate"],
        )

    @property
    def spec(self) -> FeatureSpec:
        return self._spec

    def single(self, wav: torch.Tensor) -> torch.Tensor:
        """`(T, dim)` LFCC of one utterance `(N,)`, step by step as extract_lfcc.m: the reference
        that the batched `forward` equals."""
        emphasised = torch.cat([wav[:1], wav[1:] - self.pre_emphasis * wav[:-1]])
        frames = int(self.spec.num_frames(wav.numel()))
        needed = (frames - 1) * self.hop_length + self.win_length
        emphasised = torch.nn.functional.pad(emphasised, (0, max(0, needed - emphasised.numel())))
        framed = emphasised.unfold(0, self.win_length, self.hop_length)[:frames] * self.window
        power = torch.fft.rfft(framed, n=self.n_fft).abs().pow(2)
        log_energies = torch.log10(power @ self.filterbank + MATLAB_EPS)
        ceps = log_energies @ self.dct.T
        if not self.with_deltas:
            return ceps
        delta = matlab_deltas(ceps, self.delta_window)
        return torch.cat([ceps, delta, matlab_deltas(delta, self.delta_window)], dim=-1)

    def forward(
        self, wav: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        lengths = lengths.to(device=wav.device, dtype=torch.long)
        frame_lengths = self.spec.num_frames(lengths)
        frames = batch_extent(frame_lengths, int(self.spec.num_frames(wav.shape[1])))
        # Autocast would run the filterbank product in half precision, where |FFT|^2 of a loud
        # frame overflows; LFCC is a small part of the work, so it stays in the buffers' dtype.
        with torch.autocast(wav.device.type, enabled=False):
            wav = wav.to(self.window.dtype)
            inside = torch.arange(wav.shape[1], device=wav.device) < lengths[:, None]
            emphasised = torch.cat([wav[:, :1], wav[:, 1:] - self.pre_emphasis * wav[:, :-1]], 1)
            # Past its length an utterance is zeros, as the padding of its last frame must be.
            emphasised = emphasised.masked_fill(~inside, 0.0)
            # Frames n_fft wide times the window zero-padded to n_fft: each frame comes out
            # zero-padded for the FFT in one product, without a padded copy of the batch.
            needed = (frames - 1) * self.hop_length + self.n_fft
            emphasised = torch.nn.functional.pad(
                emphasised[:, :needed], (0, max(0, needed - emphasised.shape[1]))
            )
            window = torch.nn.functional.pad(self.window, (0, self.n_fft - self.win_length))
            framed = emphasised.unfold(1, self.n_fft, self.hop_length) * window
            # Flat frames and re^2 + im^2: a 3-D FFT and the complex abs are several times slower
            # on the CPU.
            spectrum = torch.fft.rfft(framed.flatten(0, 1))
            power = (spectrum.real.square() + spectrum.imag.square()).unflatten(0, framed.shape[:2])
            ceps = torch.log10(power @ self.filterbank + MATLAB_EPS) @ self.dct.T
            if self.with_deltas:
                delta = batched_deltas(ceps, frame_lengths, self.delta_window)
                delta2 = batched_deltas(delta, frame_lengths, self.delta_window)
                ceps = torch.cat([ceps, delta, delta2], dim=-1)
            valid = torch.arange(frames, device=wav.device) < frame_lengths[:, None]
            feats = ceps.masked_fill(~valid[..., None], 0.0)
        return feats.unsqueeze(1), frame_lengths

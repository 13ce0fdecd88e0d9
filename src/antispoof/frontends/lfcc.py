"""LFCC exactly as the ASVspoof 2019 organisers' `extract_lfcc.m` (used by the OC-Softmax paper).

`extract_lfcc(x, fs, 20, 512, 20)`: pre-emphasis 0.97; `buffer(x, 320, 160, 'nodelay')` framing
(20 ms Hamming window, 10 ms hop, the last frame zero-padded); |FFT(512)|^2; 20 linear triangular
filters with edges `linspace(0, fs/2, 22)`; log10(. + eps); orthonormal DCT-II keeping all 20
coefficients (c0 included); Δ and ΔΔ from `deltas.m` with w = 3, i.e. x[t+1] - x[t-1] with the
edge frames replicated. Output: 60 dimensions per frame.
"""

from __future__ import annotations

import math

import torch

from antispoof.frontends.base import FRONTENDS, Frontend

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
    """`deltas.m` over the time axis (dim -2) of `(T, D)`: sum_k k * (x[t+k] - x[t-k]), unscaled."""
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


@FRONTENDS.register("lfcc")
class LFCC(Frontend):
    """Linear-frequency cepstral coefficients with Δ and ΔΔ (the 2019 LA baseline's LFCC)."""

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
        if n_ceps > n_filters:
            raise ValueError(f"n_ceps ({n_ceps}) cannot exceed n_filters ({n_filters})")
        if win_length > n_fft:
            raise ValueError(f"win_length ({win_length}) cannot exceed n_fft ({n_fft})")
        self.sample_rate = sample_rate
        self.win_length = win_length
        self.hop_length = hop_length
        self.n_fft = n_fft
        self.n_ceps = n_ceps
        self.pre_emphasis = pre_emphasis
        self.delta_window = delta_window
        self.with_deltas = with_deltas
        # MATLAB's hamming(N) is the symmetric window.
        self.register_buffer("window", torch.hamming_window(win_length, periodic=False))
        filterbank = linear_triangular_filterbank(n_filters, n_fft, sample_rate)
        self.register_buffer("filterbank", filterbank.float())
        self.register_buffer("dct", orthonormal_dct_matrix(n_filters)[:n_ceps].float())

    @property
    def output_dim(self) -> int:
        return self.n_ceps * (3 if self.with_deltas else 1)

    def num_frames(self, num_samples: torch.Tensor) -> torch.Tensor:
        """Frames that `buffer(x, win, win - hop, 'nodelay')` yields: the last one zero-padded."""
        overlap = self.win_length - self.hop_length
        frames = torch.div(
            num_samples - overlap + self.hop_length - 1, self.hop_length, rounding_mode="floor"
        )
        return torch.clamp(frames, min=1)

    def _single(self, wav: torch.Tensor) -> torch.Tensor:
        emphasised = torch.cat([wav[:1], wav[1:] - self.pre_emphasis * wav[:-1]])
        frames = int(self.num_frames(torch.tensor(wav.numel())))
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
        # Utterance by utterance: the Δ edge replication and the zero-padded last frame must see
        # each utterance's true end, not the padding of a batch.
        feats = [self._single(wav[i, : int(lengths[i])].float()) for i in range(wav.shape[0])]
        frame_lengths = torch.tensor([f.shape[0] for f in feats], dtype=torch.long)
        return torch.nn.utils.rnn.pad_sequence(feats, batch_first=True), frame_lengths

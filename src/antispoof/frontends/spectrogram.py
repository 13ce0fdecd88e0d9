"""Log-power or log-magnitude STFT spectrograms, Kaldi- or librosa-style, over a kept range of
frequency bins.

Per utterance and frame: the frame's samples (framing below), optionally its mean removed
(Kaldi's `remove-dc-offset`), its raw log energy taken (Kaldi puts it in bin 0), the pre-emphasis
(`pre_emphasis_per_frame`: inside each frame, its first sample against itself, as Kaldi; else
`lfilter([1, -c], [1])` over the utterance before framing, as the librosa recipes), the window,
`rfft(n_fft)`, `|X|^2` (`log: power`) or `|X|` (`log: magnitude`), then
`ln(max(v, log_floor) + log_offset)`, bins `first_bin .. last_bin` kept.

Framing (`framing`):
- `kaldi`: Kaldi's `--snip-edges=false`: `(N + hop // 2) // hop` frames of `win_length` samples,
  frame m starting at `m * hop + hop // 2 - win_length // 2`, the utterance mirrored (edge sample
  repeated) past its ends; the window at the start of an `n_fft` frame;
- `valid`: Kaldi's `--snip-edges=true`, the frames that fit (an utterance shorter than the
  window, which Kaldi rejects, gives one frame with its last sample repeated);
- `center`: `torch.stft` / `librosa.stft(center=True)`: frames of `n_fft` centred on `k * hop`,
  the `win_length` window centred in them, the utterance reflected (`pad_mode: reflect`) or
  zero-padded (`constant`) past its ends.

Two documented configurations:
- Li et al.'s 257-bin spectrogram (ICASSP 2021, `lixucuhk/ASV-anti-spoofing-with-Res2Net`,
  `conf/feats/spec.conf` run by `make_spectrogram.sh`): Kaldi `compute-spectrogram-feats` with
  25 ms / 10 ms frames and `--snip-edges=false`, Kaldi's defaults otherwise (Povey window, DC
  removal, pre-emphasis 0.97 per frame, 512-point FFT, raw log energy in bin 0, floor
  FLT_EPSILON); their dither (Kaldi's default 1.0, random) is left out: the frontend is
  deterministic (equal to `torchaudio.compliance.kaldi.spectrogram(dither=0, energy_floor=0)`,
  Kaldi's energy floor; torchaudio's default is 1). Their `copy-feats --compress=true` (lossy
  storage) is not reproduced either;
- SRLA's F0 subband (Fan, Xue et al., Neural Networks 2024, `JunXue-tech/SRLARes2NetF0Subband`,
  `feature_extract.py`): `librosa.stft(lfilter([1, -0.97], [1], y), n_fft=1728, hop_length=130,
  win_length=1728, window=scipy.signal.windows.blackman)` (a symmetric Blackman), then
  `ln(|D| + e^-80)`, the first 45 bins (0 .. 407 Hz at 16 kHz: the F0 region). Their
  cut to 5 s and tiling to 600 frames belong to the data pipeline, not to this frontend.
"""

from __future__ import annotations

from typing import Any

import torch

from antispoof.frontends.base import FRONTENDS, FeatureSpec, Frontend
from antispoof.frontends.common import batch_extent, resolve_settings
from antispoof.frontends.mfcc import reflect_indices

WINDOWS = ("hann", "hamming", "blackman", "povey", "rectangular")
FRAMINGS = ("kaldi", "valid", "center")
PAD_MODES = ("reflect", "constant")
LOGS = ("power", "magnitude")
# Kaldi's floor under the power and the energy: FLT_EPSILON.
KALDI_EPSILON = float(torch.finfo(torch.float32).eps)


def window_function(kind: str, length: int, periodic: bool) -> torch.Tensor:
    """`(length,)` float64 window; symmetric (Kaldi, MATLAB, scipy's `sym=True`) or periodic
    (`torch.stft`, librosa's string windows)."""
    if kind == "rectangular":
        return torch.ones(length, dtype=torch.float64)
    if kind == "hamming":
        return torch.hamming_window(length, periodic=periodic, dtype=torch.float64)
    if kind == "blackman":
        # 0.42 - 0.5 cos + 0.08 cos 2x: torch's, scipy's and Kaldi's (blackman-coeff 0.42).
        return torch.blackman_window(length, periodic=periodic, dtype=torch.float64)
    hann = torch.hann_window(length, periodic=periodic, dtype=torch.float64)
    # Kaldi's Povey window: a Hann raised to 0.85.
    return hann.pow(0.85) if kind == "povey" else hann


def symmetric_indices(lengths: torch.Tensor, start: int, stop: int) -> torch.Tensor:
    """`(B, stop - start)` indices of positions `start .. stop - 1` of each utterance mirrored at
    its own ends with the edge sample repeated (Kaldi's `snip-edges=false` padding, repeated
    for paddings longer than the utterance)."""
    positions = torch.arange(start, stop, device=lengths.device)[None]
    period = (2 * lengths)[:, None]
    folded = torch.remainder(positions, period)
    return torch.where(folded < lengths[:, None], folded, period - 1 - folded)


@FRONTENDS.register("spectrogram")
class Spectrogram(Frontend):
    """`(B, 1, T, last_bin - first_bin + 1)` log spectrogram; the defaults are Li et al.'s Kaldi
    spectrogram (257 bins, 25 ms / 10 ms)."""

    def __init__(
        self,
        sample_rate: int = 16000,
        n_fft: int = 512,
        win_length: int = 400,
        hop_length: int = 160,
        window: str = "povey",
        periodic_window: bool = False,
        framing: str = "kaldi",
        pad_mode: str = "reflect",
        remove_dc: bool = True,
        pre_emphasis: float = 0.97,
        pre_emphasis_per_frame: bool = True,
        log: str = "power",
        log_floor: float = KALDI_EPSILON,
        log_offset: float = 0.0,
        energy_bin: bool = True,
        first_bin: int = 0,
        last_bin: int | None = None,
    ) -> None:
        super().__init__()
        settings = {
            "sample_rate": sample_rate,
            "n_fft": n_fft,
            "win_length": win_length,
            "hop_length": hop_length,
            "window": window,
            "periodic_window": periodic_window,
            "framing": framing,
            "pad_mode": pad_mode,
            "remove_dc": remove_dc,
            "pre_emphasis": pre_emphasis,
            "pre_emphasis_per_frame": pre_emphasis_per_frame,
            "log": log,
            "log_floor": log_floor,
            "log_offset": log_offset,
            "energy_bin": energy_bin,
            "first_bin": first_bin,
            "last_bin": last_bin,
        }
        self._spec = self.feature_spec(**settings)
        self.conf = settings
        self.last_bin = n_fft // 2 if last_bin is None else last_bin
        function = window_function(window, win_length, periodic_window)
        if framing == "center":
            # torch.stft and librosa centre a shorter window in the n_fft frame.
            left = (n_fft - win_length) // 2
            function = torch.nn.functional.pad(function, (left, n_fft - win_length - left))
        self.register_buffer("window", function.float(), persistent=False)

    @classmethod
    def feature_spec(cls, **settings: Any) -> FeatureSpec:
        """One channel of `last_bin - first_bin + 1` bins. `kaldi` framing counts
        `(N + hop // 2) // hop` frames, which is `pad_end` framing with a frame length of
        `2 hop - 1 - hop // 2` (239 for hop 160); its frames start `win // 2 - hop // 2` samples
        before that span and end within `context` after it. `valid`: the window's span.
        `center`: a span of `n_fft` from `k * hop`, the frame reaching `n_fft // 2` before it.
        Pre-emphasis over the utterance reads one sample more before a frame."""
        conf = resolve_settings(cls, settings)
        for name, allowed in (
            ("window", WINDOWS),
            ("framing", FRAMINGS),
            ("pad_mode", PAD_MODES),
            ("log", LOGS),
        ):
            if conf[name] not in allowed:
                raise ValueError(f"{name} must be one of {allowed}, not {conf[name]!r}")
        win, hop, n_fft = conf["win_length"], conf["hop_length"], conf["n_fft"]
        if min(win, hop, n_fft) < 1:
            raise ValueError("win_length, hop_length and n_fft must be positive")
        if win > n_fft:
            raise ValueError(f"win_length ({win}) cannot exceed n_fft ({n_fft})")
        last = n_fft // 2 if conf["last_bin"] is None else conf["last_bin"]
        if not 0 <= conf["first_bin"] <= last <= n_fft // 2:
            raise ValueError(
                f"bins must satisfy 0 <= first_bin ({conf['first_bin']}) <= last_bin ({last}) "
                f"<= n_fft // 2 ({n_fft // 2})"
            )
        if (
            conf["log_floor"] < 0
            or conf["log_offset"] < 0
            or conf["log_floor"] + conf["log_offset"] <= 0
        ):
            raise ValueError("log_floor and log_offset must be >= 0, one of them positive")
        if conf["energy_bin"] and conf["first_bin"] != 0:
            raise ValueError("energy_bin replaces bin 0, which first_bin must then keep")
        emphasis = 1 if conf["pre_emphasis"] and not conf["pre_emphasis_per_frame"] else 0
        if conf["framing"] == "kaldi":
            frame_length = 2 * hop - 1 - hop // 2
            before = win // 2 - hop // 2
            context = max(before, win - before - frame_length, 0) + emphasis
            framing = "pad_end"
        elif conf["framing"] == "valid":
            frame_length, context, framing = win, emphasis, "valid"
        else:
            frame_length, context, framing = n_fft, n_fft // 2 + emphasis, "center"
        return FeatureSpec(
            channels=1,
            dim=last - conf["first_bin"] + 1,
            hop_length=hop,
            frame_length=frame_length,
            framing=framing,
            context=context,
            sample_rate=conf["sample_rate"],
        )

    @property
    def spec(self) -> FeatureSpec:
        return self._spec

    def forward(
        self, wav: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        conf = self.conf
        lengths = lengths.to(device=wav.device, dtype=torch.long)
        frame_lengths = self.spec.num_frames(lengths)
        frames = batch_extent(frame_lengths, int(self.spec.num_frames(wav.shape[1])))
        hop, win, n_fft = conf["hop_length"], conf["win_length"], conf["n_fft"]
        coefficient = conf["pre_emphasis"]
        # The power of a loud frame overflows half precision.
        with torch.autocast(wav.device.type, enabled=False):
            signal = wav.to(self.window.dtype)
            if coefficient and not conf["pre_emphasis_per_frame"]:
                signal = torch.cat([signal[:, :1], signal[:, 1:] - coefficient * signal[:, :-1]], 1)
            # Each utterance's own samples, extended past its ends as the framing says.
            if conf["framing"] == "kaldi":
                first = hop // 2 - win // 2
                indices = symmetric_indices(lengths, first, first + (frames - 1) * hop + win)
                size = win
            elif conf["framing"] == "center":
                first = -(n_fft // 2)
                indices = reflect_indices(lengths, first, first + (frames - 1) * hop + n_fft)
                size = n_fft
            else:
                first = 0
                indices = torch.arange((frames - 1) * hop + win, device=wav.device)[None]
                indices = torch.minimum(indices, (lengths - 1)[:, None])
                size = win
            padded = signal.gather(1, indices.expand(signal.shape[0], -1))
            if conf["framing"] == "center" and conf["pad_mode"] == "constant":
                positions = torch.arange(indices.shape[1], device=wav.device) + first
                inside = (positions >= 0) & (positions < lengths[:, None])
                padded = padded.masked_fill(~inside, 0.0)
            framed = padded.unfold(1, size, hop)
            if conf["remove_dc"]:
                framed = framed - framed.mean(dim=-1, keepdim=True)
            if conf["energy_bin"]:
                energy = torch.clamp(framed.square().sum(-1), min=conf["log_floor"]).log()
            if coefficient and conf["pre_emphasis_per_frame"]:
                previous = torch.cat([framed[..., :1], framed[..., :-1]], dim=-1)
                framed = framed - coefficient * previous
            spectrum = torch.fft.rfft(framed * self.window, n=n_fft)
            spectrum = spectrum[..., conf["first_bin"] : self.last_bin + 1]
            values = spectrum.real.square() + spectrum.imag.square()
            if conf["log"] == "magnitude":
                values = values.sqrt()
            feats = (torch.clamp(values, min=conf["log_floor"]) + conf["log_offset"]).log()
            if conf["energy_bin"]:
                feats = torch.cat([energy[..., None], feats[..., 1:]], dim=-1)
            valid = torch.arange(frames, device=wav.device) < frame_lengths[:, None]
            feats = feats.masked_fill(~valid[..., None], 0.0)
        return feats.unsqueeze(1), frame_lengths

"""MFCC and LFCC as torchaudio computes them, with Δ and ΔΔ from torchaudio's ComputeDeltas: the
cepstral features of Kawa et al.'s Whisper paper code (`piotrkawa/deepfake-whisper-features`,
`src/frontends.py`) and of the OC-Softmax poster's ASVspoof 2021 DF rows, which reuse it.

Per utterance, as `torchaudio.transforms.MFCC` (or `LFCC`) on `(1, N)` followed by
`ComputeDeltas(win_length=delta_win_length, mode="replicate")` twice: frames centred on
`k * hop_length` (`torch.stft(center=True)`, reflect padding), a periodic Hann window of
`win_length` samples centred in `n_fft`, the power spectrum, a mel (HTK scale, no filter
normalisation) or linear filterbank over 0 .. sample_rate / 2, `10 log10(max(x, 1e-10))` floored
at `top_db` below the utterance's maximum, an orthonormal DCT-II keeping the first `n_mfcc`
(`n_lfcc`) coefficients, then `[c, Δ, ΔΔ]` on the feature axis. N samples give `N // hop + 1`
frames: 3001 for the 480,000 samples of a 30 s crop (KAWA keeps the first 3000).

`forward` computes a padded batch at once with the same result: each utterance is reflected at
its own ends, its dB floor comes from its own frames, and its deltas replicate its own last frame.
The `lfcc` frontend is the different, MATLAB-faithful LFCC of the ASVspoof 2019 baseline;
`lfcc_torchaudio` here is the one of the 2021 DF studies.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
import torchaudio

from antispoof.frontends.base import FRONTENDS, FeatureSpec, Frontend
from antispoof.frontends.common import WHOLE_INPUT, batch_extent, resolve_settings

# torchaudio's AmplitudeToDB floor under the power before the log.
POWER_FLOOR = 1e-10


def reflect_indices(lengths: torch.Tensor, start: int, stop: int) -> torch.Tensor:
    """`(B, stop - start)` sample indices of positions `start .. stop - 1` of each utterance
    extended by mirror reflection at its own ends (`torch.nn.functional.pad(mode="reflect")`,
    repeated where the padding exceeds the utterance, where torch would refuse)."""
    positions = torch.arange(start, stop, device=lengths.device)[None]
    period = (2 * (lengths - 1)).clamp(min=1)[:, None]
    folded = torch.remainder(positions, period)
    return torch.where(folded < lengths[:, None], folded, period - folded)


def replicate_deltas(feats: torch.Tensor, frame_lengths: torch.Tensor, window: int) -> torch.Tensor:
    """`torchaudio.functional.compute_deltas(mode="replicate")` over the time axis of `(B, T, D)`,
    each utterance over its own `frame_lengths` frames (its last frame replicated, never the
    batch's padding). Frames from `frame_lengths` on hold values the caller masks."""
    reach = (window - 1) // 2
    frames, dim = feats.shape[1], feats.shape[2]
    by_dim = feats.transpose(1, 2)
    padded = torch.nn.functional.pad(by_dim, (reach, reach), mode="replicate")
    last = by_dim.gather(2, (frame_lengths - 1)[:, None, None].expand(-1, dim, 1))
    steps = torch.arange(-reach, frames + reach, device=feats.device)
    padded = torch.where(steps[None, None] >= frame_lengths[:, None, None], last, padded)
    kernel = torch.arange(-reach, reach + 1, device=feats.device, dtype=feats.dtype)
    denominator = reach * (reach + 1) * (2 * reach + 1) / 3
    # One filter per feature dimension, as ComputeDeltas convolves them.
    delta = torch.nn.functional.conv1d(padded, kernel.expand(dim, 1, -1), groups=dim)
    return (delta / denominator).transpose(1, 2)


class TorchaudioCepstra(Frontend):
    """`(B, 1, T, n_ceps * 3)` (`n_ceps` without deltas) torchaudio cepstral coefficients; the
    registered subclasses name their settings as torchaudio does and choose the filterbank."""

    # The subclass's setting names for the number of coefficients and of filters.
    ceps_key: ClassVar[str]
    filters_key: ClassVar[str]

    def __init__(self, filterbank: torch.Tensor, settings: dict[str, Any]) -> None:
        super().__init__()
        self._spec = self.feature_spec(**settings)
        self.n_fft = settings["n_fft"]
        self.hop_length = settings["hop_length"]
        self.top_db = settings["top_db"]
        self.delta_win_length = settings["delta_win_length"]
        self.with_deltas = settings["with_deltas"]
        # torch.stft centres a shorter window in the n_fft frame.
        left = (self.n_fft - settings["win_length"]) // 2
        window = torch.hann_window(settings["win_length"])
        window = torch.nn.functional.pad(window, (left, self.n_fft - settings["win_length"] - left))
        self.register_buffer("window", window, persistent=False)
        self.register_buffer("filterbank", filterbank.float(), persistent=False)
        dct = torchaudio.functional.create_dct(
            settings[self.ceps_key], settings[self.filters_key], "ortho"
        )
        self.register_buffer("dct", dct, persistent=False)

    @classmethod
    def feature_spec(cls, **settings: Any) -> FeatureSpec:
        """One channel, `center` framing every `hop_length` samples; a frame spans `n_fft`
        samples and its centred window reaches `n_fft // 2` before its start. Each Δ reaches
        `(delta_win_length - 1) // 2` frames either side. With `top_db` every frame depends on
        the utterance's loudest frame: WHOLE_INPUT."""
        conf = resolve_settings(cls, settings)
        n_ceps, n_filters = conf[cls.ceps_key], conf[cls.filters_key]
        if n_ceps > n_filters:
            raise ValueError(
                f"{cls.ceps_key} ({n_ceps}) cannot exceed {cls.filters_key} ({n_filters})"
            )
        if conf["win_length"] > conf["n_fft"]:
            raise ValueError(
                f"win_length ({conf['win_length']}) cannot exceed n_fft ({conf['n_fft']})"
            )
        if conf["with_deltas"] and conf["delta_win_length"] < 3:
            raise ValueError(f"delta_win_length must be >= 3, not {conf['delta_win_length']}")
        if conf["top_db"] is not None and conf["top_db"] < 0:
            raise ValueError(f"top_db must be >= 0 or null, not {conf['top_db']}")
        reach = 0
        if conf["with_deltas"]:
            reach = 2 * ((conf["delta_win_length"] - 1) // 2) * conf["hop_length"]
        local = conf["n_fft"] // 2 + reach
        return FeatureSpec(
            channels=1,
            dim=n_ceps * (3 if conf["with_deltas"] else 1),
            hop_length=conf["hop_length"],
            frame_length=conf["n_fft"],
            framing="center",
            context=local if conf["top_db"] is None else WHOLE_INPUT,
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
        half = self.n_fft // 2
        # Half precision would overflow the power of a loud frame; the features are cheap.
        with torch.autocast(wav.device.type, enabled=False):
            indices = reflect_indices(lengths, -half, (frames - 1) * self.hop_length + half)
            signal = wav.to(self.window.dtype).gather(1, indices)
            framed = signal.unfold(1, self.n_fft, self.hop_length) * self.window
            spectrum = torch.fft.rfft(framed)
            power = spectrum.real.square() + spectrum.imag.square()
            decibels = 10.0 * torch.log10(torch.clamp(power @ self.filterbank, min=POWER_FLOOR))
            valid = torch.arange(frames, device=wav.device) < frame_lengths[:, None]
            if self.top_db is not None:
                loudest = decibels.masked_fill(~valid[..., None], -torch.inf).amax((1, 2))
                decibels = torch.maximum(decibels, (loudest - self.top_db)[:, None, None])
            ceps = decibels @ self.dct
            if self.with_deltas:
                delta = replicate_deltas(ceps, frame_lengths, self.delta_win_length)
                delta2 = replicate_deltas(delta, frame_lengths, self.delta_win_length)
                ceps = torch.cat([ceps, delta, delta2], dim=-1)
            feats = ceps.masked_fill(~valid[..., None], 0.0)
        return feats.unsqueeze(1), frame_lengths


@FRONTENDS.register("mfcc")
class MFCC(TorchaudioCepstra):
    """`torchaudio.transforms.MFCC(sample_rate, n_mfcc, melkwargs={n_fft, win_length,
    hop_length, n_mels})` with Δ and ΔΔ; the defaults are KAWA's (128 x 3 = 384 dims)."""

    ceps_key = "n_mfcc"
    filters_key = "n_mels"

    def __init__(
        self,
        sample_rate: int = 16000,
        n_mfcc: int = 128,
        n_mels: int = 128,
        n_fft: int = 512,
        win_length: int = 400,
        hop_length: int = 160,
        top_db: float | None = 80.0,
        # In frames, 199 either side: KAWA's value (it looks borrowed from the 400-sample STFT
        # window; 5 is torchaudio's default), kept because the DF results were obtained with it.
        delta_win_length: int = 400,
        with_deltas: bool = True,
    ) -> None:
        settings = {
            "sample_rate": sample_rate,
            "n_mfcc": n_mfcc,
            "n_mels": n_mels,
            "n_fft": n_fft,
            "win_length": win_length,
            "hop_length": hop_length,
            "top_db": top_db,
            "delta_win_length": delta_win_length,
            "with_deltas": with_deltas,
        }
        filterbank = torchaudio.functional.melscale_fbanks(
            n_fft // 2 + 1, 0.0, sample_rate / 2, n_mels, sample_rate, None, "htk"
        )
        super().__init__(filterbank, settings)


@FRONTENDS.register("lfcc_torchaudio")
class TorchaudioLFCC(TorchaudioCepstra):
    """`torchaudio.transforms.LFCC(sample_rate, n_filter, n_lfcc, speckwargs={n_fft,
    win_length, hop_length})` with Δ and ΔΔ: the LFCC of the 2021 DF rows (KAWA's defaults)."""

    ceps_key = "n_lfcc"
    filters_key = "n_filter"

    def __init__(
        self,
        sample_rate: int = 16000,
        n_lfcc: int = 128,
        n_filter: int = 128,
        n_fft: int = 512,
        win_length: int = 400,
        hop_length: int = 160,
        top_db: float | None = 80.0,
        # KAWA's value, as for MFCC.
        delta_win_length: int = 400,
        with_deltas: bool = True,
    ) -> None:
        settings = {
            "sample_rate": sample_rate,
            "n_lfcc": n_lfcc,
            "n_filter": n_filter,
            "n_fft": n_fft,
            "win_length": win_length,
            "hop_length": hop_length,
            "top_db": top_db,
            "delta_win_length": delta_win_length,
            "with_deltas": with_deltas,
        }
        filterbank = torchaudio.functional.linear_fbanks(
            n_fft // 2 + 1, 0.0, sample_rate / 2, n_filter, sample_rate
        )
        super().__init__(filterbank, settings)

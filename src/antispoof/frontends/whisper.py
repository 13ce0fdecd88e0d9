"""The encoder of a Whisper model (`openai/whisper-tiny.en` by default) as an input branch, as
Kawa et al.'s Whisper features (`piotrkawa/deepfake-whisper-features`, KAWA) use it.

Each utterance is zero-padded to Whisper's window (30 s, 480,000 samples: `max_source_positions`
encoder frames of 2 x 160 samples) and turned into Whisper's log-mel input on the device, batched,
as `WhisperFeatureExtractor` computes it: `torch.stft(n_fft=400, hop=160, center=True)` with a
periodic Hann window, the last frame dropped, power through the extractor's Slaney mel filterbank
(`num_mel_bins` filters, 0-8 kHz), `log10(max(x, 1e-10))` floored 8 below the utterance's maximum,
then `(x + 4) / 4`. The encoder (transformers' `WhisperEncoder`, loaded with `from_pretrained`
from a hub name or a local directory, or built with random weights from a `config` dict for
tests) gives `max_source_positions` frames of `d_model` features. An input longer than the window
is refused: Whisper has no frames for it.

The utterance's own frames are the first `N // 320` encoder frames (hop 320 samples; at least
one); the rest encode the padding and are dropped. `tile` repeats that sequence as a whole along
time (KAWA's `repeat(1, 1, 1, 2)`, not interleaved) up to `N // (320 / tile)` frames: for a 30 s
crop, 1500 frames twice, 3000 frames, the frame count of KAWA's MFCC (`stack` with
`resize: none` puts them side by side as KAWA does).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from antispoof.frontends.base import FRONTENDS, FeatureSpec
from antispoof.frontends.common import (
    WHOLE_INPUT,
    ModelNotFoundError,
    PretrainedEncoder,
    batch_extent,
    check_gradient_checkpointing,
    enable_gradient_checkpointing,
    locate_pretrained,
)

if TYPE_CHECKING:
    from transformers import WhisperConfig

TINY_EN = "openai/whisper-tiny.en"
SAMPLE_RATE = 16000
# WhisperFeatureExtractor's STFT (the same for every Whisper model).
N_FFT = 400
MEL_HOP = 160
# The encoder's second convolution halves the mel frame rate.
ENCODER_HOP = 2 * MEL_HOP
# The extractor's power floor before the log, and how far below its maximum a log-mel is floored.
POWER_FLOOR = 1e-10
LOG_RANGE = 8.0
# The encoder width (d_model) of OpenAI's released Whisper models, from their config.json files:
# configs naming one resolve, and get their FeatureSpec, on a machine without the model or a
# network (config resolution, dry runs, CI). Building the encoder still needs the model itself.
RELEASED_WIDTHS = {
    f"openai/whisper-{size}{suffix}": width
    for size, width in (("tiny", 384), ("base", 512), ("small", 768), ("medium", 1024))
    for suffix in ("", ".en")
} | {f"openai/whisper-large{version}": 1280 for version in ("", "-v2", "-v3", "-v3-turbo")}


def _not_found(model: str, reason: str) -> ModelNotFoundError:
    return ModelNotFoundError(
        f"whisper model {model!r} not found ({reason}). Set frontend_conf.model to a local "
        f"directory holding the model (config.json and the weights, as `hf download {TINY_EN} "
        "--local-dir DIR` writes them), or to a hub name that is in the Hugging Face cache "
        f"(HF_HOME) or can be downloaded from this machine (`hf download {TINY_EN}`)"
    )


def encoder_config(model: str, config: dict[str, Any] | None) -> WhisperConfig:
    """The model's configuration, from `config` when given, else `model`'s config.json (a small
    file; no weights are read); LayerDrop is off, so that every layer takes part in every step
    (DDP requires it)."""
    from transformers import WhisperConfig

    if config is not None:
        known = {field.name for field in dataclasses.fields(WhisperConfig)}
        unknown = sorted(set(config) - known)
        if unknown:
            # WhisperConfig would keep a misspelt key as an attribute nobody reads.
            raise ValueError(f"config has keys that WhisperConfig does not know: {unknown}")
        try:
            loaded = WhisperConfig(**config)
        except Exception as err:  # huggingface_hub's strict-dataclass errors are not ValueErrors
            raise ValueError(f"config is not a valid WhisperConfig: {err}") from err
    else:
        try:
            loaded = WhisperConfig.from_pretrained(locate_pretrained(model, _not_found))
        except OSError as err:
            raise _not_found(model, str(err).splitlines()[0]) from err
    loaded.encoder_layerdrop = 0.0
    return loaded


def window_samples(config: WhisperConfig) -> int:
    """Samples of the window every input is padded to (480,000 for every released Whisper)."""
    return config.max_source_positions * ENCODER_HOP


def _spec(d_model: int, tile: int) -> FeatureSpec:
    if tile < 1 or ENCODER_HOP % tile:
        raise ValueError(f"tile must be a positive divisor of {ENCODER_HOP}, not {tile}")
    hop = ENCODER_HOP // tile
    return FeatureSpec(
        channels=1,
        dim=d_model,
        hop_length=hop,
        frame_length=hop,
        framing="valid",
        context=WHOLE_INPUT,
        sample_rate=SAMPLE_RATE,
    )


@FRONTENDS.register("whisper")
class Whisper(PretrainedEncoder):
    """`(B, 1, T, d_model)` Whisper encoder features, `T = N // (320 / tile)`.

    `context` is WHOLE_INPUT: self-attention lets every frame see the whole window. A trainable
    encoder sees the crop itself; a frozen one computed on the device reads the whole utterance,
    as the stage-2 cache does, and gives the same frames. `trainable: false` freezes it for the
    whole run (cacheable); `train.freeze: {branch: epochs}` freezes a trainable one for its first
    epochs. The sinusoidal position table stays frozen either way, as Whisper trained it.
    """

    def __init__(
        self,
        model: str = TINY_EN,
        # KAWA's: 1500 frames twice gives the 3000 frames of its MFCC for a 30 s crop.
        tile: int = 2,
        trainable: bool = True,
        gradient_checkpointing: bool = False,
        config: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        from transformers import WhisperModel
        from transformers.audio_utils import mel_filter_bank
        from transformers.models.whisper.modeling_whisper import WhisperEncoder

        check_gradient_checkpointing(gradient_checkpointing, trainable)
        conf = encoder_config(model, config)
        self._spec = _spec(conf.d_model, tile)
        self.trainable = self.encoder_trainable = trainable
        self.window = window_samples(conf)
        if config is not None:
            encoder = WhisperEncoder(conf)
        else:
            located = locate_pretrained(model, _not_found)
            try:
                whole = WhisperModel.from_pretrained(located, config=conf, dtype=torch.float32)
            except OSError as err:
                raise _not_found(model, str(err).splitlines()[0]) from err
            encoder = whole.get_encoder()
        if gradient_checkpointing:
            enable_gradient_checkpointing(encoder)
        self.encoder = encoder
        if trainable:
            self.unfreeze()
        else:
            self.requires_grad_(False)
            encoder.eval()
        filters = mel_filter_bank(
            num_frequency_bins=N_FFT // 2 + 1,
            num_mel_filters=conf.num_mel_bins,
            min_frequency=0.0,
            max_frequency=8000.0,
            sampling_rate=SAMPLE_RATE,
            norm="slaney",
            mel_scale="slaney",
        )
        self.register_buffer("mel_filters", torch.from_numpy(filters).float(), persistent=False)
        self.register_buffer("stft_window", torch.hann_window(N_FFT), persistent=False)

    @classmethod
    def feature_spec(cls, **settings: Any) -> FeatureSpec:
        """From `config`, else the width of a released model (RELEASED_WIDTHS), else the model's
        config.json alone (a local directory or the hub cache; fetched if neither has it); a
        ModelNotFoundError says where to put a missing model."""
        conf = cls.checked_settings(settings)
        if conf["config"] is None and conf["model"] in RELEASED_WIDTHS:
            return _spec(RELEASED_WIDTHS[conf["model"]], conf["tile"])
        return _spec(encoder_config(conf["model"], conf["config"]).d_model, conf["tile"])

    @property
    def spec(self) -> FeatureSpec:
        return self._spec

    def unfreeze(self) -> None:
        self.requires_grad_(self.trainable)
        # Whisper's sinusoidal positions are a fixed table (a buffer in OpenAI's model).
        self.encoder.embed_positions.requires_grad_(False)

    def log_mel(self, wav: torch.Tensor) -> torch.Tensor:
        """`(B, num_mel_bins, window / 160)` Whisper input of `(B, window)` padded waveforms, as
        WhisperFeatureExtractor computes it for each alone."""
        with torch.autocast(wav.device.type, enabled=False):
            spectrum = torch.stft(
                wav.float(), N_FFT, MEL_HOP, window=self.stft_window, return_complex=True
            )[..., :-1]
            power = spectrum.real.square() + spectrum.imag.square()
            log_mel = torch.log10(torch.clamp(self.mel_filters.T @ power, min=POWER_FLOOR))
            floor = log_mel.amax(dim=(1, 2), keepdim=True) - LOG_RANGE
            return (torch.maximum(log_mel, floor) + 4.0) / 4.0

    def forward(
        self, wav: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        lengths = lengths.to(device=wav.device, dtype=torch.long)
        width = wav.shape[1]
        longest = batch_extent(lengths, width)
        if longest > self.window:
            raise ValueError(
                f"whisper encodes at most {self.window / SAMPLE_RATE:g} s ({self.window} "
                f"samples) and got {longest} samples: set train.crop_seconds (and "
                "inference.segment_seconds when scoring) to at most "
                f"{self.window / SAMPLE_RATE:g}"
            )
        wav = nn.functional.pad(wav[:, : self.window], (0, max(0, self.window - wav.shape[1])))
        inside = torch.arange(self.window, device=wav.device) < lengths[:, None]
        wav = wav.masked_fill(~inside, 0.0)
        # A frozen encoder gets no gradient even where the detector enables them for a stack.
        with torch.set_grad_enabled(torch.is_grad_enabled() and self.trainable):
            hidden = self.encoder(self.log_mel(wav)).last_hidden_state
        own_frames = (lengths // ENCODER_HOP).clamp(min=1)
        frame_lengths = self.spec.num_frames(lengths)
        frames = batch_extent(frame_lengths, int(self.spec.num_frames(width)))
        # Output frame t is the utterance's encoder frame t mod its own frame count: the whole
        # sequence repeated (tile), never the padding's frames.
        source = torch.arange(frames, device=wav.device)[None] % own_frames[:, None]
        feats = hidden.gather(1, source[..., None].expand(-1, -1, hidden.shape[2]))
        valid = torch.arange(frames, device=wav.device) < frame_lengths[:, None]
        return feats.masked_fill(~valid[..., None], 0.0).unsqueeze(1), frame_lengths

"""A wav2vec 2.0 encoder (XLS-R by default) as an input branch: hidden states of chosen layers.

The encoder is transformers' `Wav2Vec2Model`, loaded with `from_pretrained(model)` from a hub
name (downloaded into the Hugging Face cache on first use) or a local directory, or built with
random weights from a `config` dict (tests; nothing is downloaded). transformers is imported
only when a wav2vec2 branch is specified or built: it takes seconds.

Hidden state 0 (in `layers`) is the input of the first transformer layer: the projected CNN
features plus the convolutional positional embedding (layer-normalised in post-norm encoders such
as wav2vec2-base). Hidden state `i >= 1` is the output of transformer layer `i`, except that the
last one is the encoder's output, after the final layer norm of stable-layer-norm encoders such
as XLS-R: the features fairseq gives and the SSL + AASIST recipes use, and what transformers 4.x's
`output_hidden_states` returned (5.x returns the last layer's output before that norm).

Two settings of the checkpoint are overridden, because the detector, not the encoder, owns
augmentation and the optimisation schedule: SpecAugment masking of the encoder's features
(`apply_spec_augment`, on by default in Wav2Vec2Config, for CTC fine-tuning) is off, and
LayerDrop (`layerdrop`, 0.1 by default) is 0, so every layer's parameters take part in every
step (DDP requires it) and a layer index always means the same layer.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from antispoof.frontends.base import FRONTENDS, FeatureSpec, Frontend
from antispoof.frontends.common import (
    WHOLE_INPUT,
    ModelNotFoundError,
    batch_extent,
    locate_pretrained,
    resolve_settings,
)

if TYPE_CHECKING:
    from transformers import Wav2Vec2Config

XLSR = "facebook/wav2vec2-xls-r-300m"
SAMPLE_RATE = 16000
# (hidden_size, num_hidden_layers) of released encoders, from their config.json files: configs
# naming one resolve, and get their FeatureSpec, on a machine without the model or a network
# (config resolution, dry runs, CI). Building the encoder still needs the model itself.
RELEASED_SIZES = {
    "facebook/wav2vec2-xls-r-300m": (1024, 24),
    "facebook/wav2vec2-large-xlsr-53": (1024, 24),
    "facebook/wav2vec2-base": (768, 12),
}
# The variance floor of Wav2Vec2FeatureExtractor's zero-mean unit-variance normalisation.
NORM_EPS = 1e-7


def _not_found(model: str, reason: str) -> ModelNotFoundError:
    return ModelNotFoundError(
        f"wav2vec2 model {model!r} not found ({reason}). Set frontend_conf.model to a local "
        "directory holding the model (config.json, preprocessor_config.json and the weights, as "
        f"`hf download {XLSR} --local-dir DIR` writes them), or to a hub name that is in the "
        "Hugging Face cache (HF_HOME) or can be downloaded from this machine "
        f"(`hf download {XLSR}`)"
    )


def encoder_config(model: str, config: dict[str, Any] | None) -> Wav2Vec2Config:
    """The encoder's configuration with this frontend's overrides: from `config` when given,
    else `model`'s config.json (a small file; no weights are read)."""
    from transformers import Wav2Vec2Config

    if config is not None:
        known = {field.name for field in dataclasses.fields(Wav2Vec2Config)}
        unknown = sorted(set(config) - known)
        if unknown:
            # Wav2Vec2Config would keep a misspelt key as an attribute nobody reads.
            raise ValueError(f"config has keys that Wav2Vec2Config does not know: {unknown}")
        try:
            loaded = Wav2Vec2Config(**config)
        except Exception as err:  # huggingface_hub's strict-dataclass errors are not ValueErrors
            raise ValueError(f"config is not a valid Wav2Vec2Config: {err}") from err
    else:
        located = locate_pretrained(model, _not_found)
        try:
            loaded = Wav2Vec2Config.from_pretrained(located)
        except OSError as err:
            raise _not_found(model, str(err).splitlines()[0]) from err
    if loaded.add_adapter:
        raise ValueError("wav2vec2 encoders with an adapter (add_adapter) are not supported")
    loaded.apply_spec_augment = False
    loaded.layerdrop = 0.0
    return loaded


def _spec(config: Wav2Vec2Config, layers: Sequence[int]) -> FeatureSpec:
    """The spec of `layers` of an encoder of this configuration; the layers are checked."""
    if not layers:
        raise ValueError("layers must name at least one hidden state")
    count = config.num_hidden_layers
    wrong = [layer for layer in layers if not 0 <= layer <= count]
    if wrong:
        raise ValueError(f"layers {wrong} out of range: this encoder has hidden states 0..{count}")
    if len(set(layers)) != len(layers):
        raise ValueError(f"layers names a hidden state twice: {list(layers)}")
    receptive, hop = 1, 1
    for kernel, stride in zip(config.conv_kernel, config.conv_stride, strict=True):
        receptive += (kernel - 1) * hop
        hop *= stride
    return FeatureSpec(
        channels=len(layers),
        dim=config.hidden_size,
        hop_length=hop,
        frame_length=receptive,
        framing="valid",
        context=WHOLE_INPUT,
        sample_rate=SAMPLE_RATE,
    )


@FRONTENDS.register("wav2vec2")
class Wav2Vec2(Frontend):
    """Hidden states `(B, len(layers), T, hidden_size)` of a wav2vec 2.0 encoder, 20 ms frames
    (hop 320, receptive field 400 samples for XLS-R).

    `context` is WHOLE_INPUT: self-attention lets every frame see the whole input, so no margin
    around a crop reproduces the frames of the whole utterance. A trainable encoder sees the
    crop itself (crops of trainable branches take no margin); a frozen one computed on the device
    then reads the whole utterance, as the stage-2 cache computes it, and gives the same frames.

    Utterances shorter than the receptive field are zero-padded to it: one frame, like every
    frontend. Encoders with layer-normalised convolutions (`feat_extract_norm: layer`, XLS-R)
    take an attention mask, so a batch gives each utterance the features it gets alone; in the
    others (wav2vec2-base) the first convolution's group norm spans the whole padded input, so
    they encode one utterance at a time.

    `normalize`: zero-mean unit-variance waveforms over each utterance's own samples, as
    Wav2Vec2FeatureExtractor's `do_normalize` (XLS-R was trained on them); None follows the
    model's preprocessor_config.json, or normalises where it has none.
    """

    def __init__(
        self,
        model: str = XLSR,
        layers: Sequence[int] = (24,),
        trainable: bool = True,
        gradient_checkpointing: bool = False,
        normalize: bool | None = None,
        config: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        from transformers import Wav2Vec2FeatureExtractor, Wav2Vec2Model

        if gradient_checkpointing and not trainable:
            raise ValueError("gradient_checkpointing needs trainable: true (no gradient otherwise)")
        conf = encoder_config(model, config)
        self._spec = _spec(conf, layers)
        self.layers = list(layers)
        self.trainable = trainable
        if config is not None:
            encoder = Wav2Vec2Model(conf)
            self.normalize = True if normalize is None else normalize
        else:
            located = locate_pretrained(model, _not_found)
            try:
                encoder = Wav2Vec2Model.from_pretrained(located, config=conf, dtype=torch.float32)
            except OSError as err:
                raise _not_found(model, str(err).splitlines()[0]) from err
            if normalize is None:
                try:
                    extractor = Wav2Vec2FeatureExtractor.from_pretrained(located)
                except OSError:  # no preprocessor_config.json: normalise, as XLS-R's does
                    normalize = True
                else:
                    normalize = bool(extractor.do_normalize)
            self.normalize = normalize
        self.uses_mask = conf.feat_extract_norm == "layer"
        # Layers past the last one asked for would only cost time and memory, and as parameters
        # without gradients they would stop DDP.
        deepest = max(self.layers)
        if deepest < conf.num_hidden_layers:
            encoder.encoder.layers = encoder.encoder.layers[:deepest]
            if conf.do_stable_layer_norm:  # the final norm applies to the full stack's output
                encoder.encoder.layer_norm = nn.Identity()
        if hasattr(encoder, "masked_spec_embed"):  # SpecAugment's mask vector, unused here
            del encoder.masked_spec_embed
        if gradient_checkpointing:
            # transformers renamed it in 5.2x; the old name warns there, and is all 5.1x has.
            enable = getattr(encoder, "activation_checkpointing_enable", None)
            (enable or encoder.gradient_checkpointing_enable)()
        if not trainable:
            encoder.requires_grad_(False)
            encoder.eval()
        self.encoder = encoder

    @classmethod
    def cacheable_with(cls, **settings: Any) -> bool:
        """A frozen encoder (`trainable: false`) is cacheable: eval mode makes it deterministic."""
        return not settings.get("trainable", True)

    @classmethod
    def feature_spec(cls, **settings: Any) -> FeatureSpec:
        """From `config`, else the sizes of a released model (RELEASED_SIZES), else the model's
        config.json alone (a local directory or the hub cache; fetched if neither has it); a
        ModelNotFoundError says where to put a missing model."""
        conf = resolve_settings(cls, settings)
        if conf["gradient_checkpointing"] and not conf["trainable"]:
            raise ValueError("gradient_checkpointing needs trainable: true (no gradient otherwise)")
        if conf["config"] is None and conf["model"] in RELEASED_SIZES:
            from transformers import Wav2Vec2Config

            hidden_size, layers = RELEASED_SIZES[conf["model"]]
            # The released models keep the default convolutional feature encoder (hop 320).
            shape = Wav2Vec2Config(hidden_size=hidden_size, num_hidden_layers=layers)
            return _spec(shape, conf["layers"])
        return _spec(encoder_config(conf["model"], conf["config"]), conf["layers"])

    @property
    def spec(self) -> FeatureSpec:
        return self._spec

    def train(self, mode: bool = True) -> Wav2Vec2:
        super().train(mode)
        # A frozen encoder gives its eval-mode features (no dropout) even inside a stack whose
        # other branches train.
        if not self.trainable:
            self.encoder.eval()
        return self

    def forward(
        self, wav: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        lengths = lengths.to(device=wav.device, dtype=torch.long)
        # A frozen encoder gets no gradient even where the detector enables them for a stack.
        with torch.set_grad_enabled(torch.is_grad_enabled() and self.trainable):
            return self._encode_batch(wav, lengths)

    def _encode_batch(
        self, wav: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        receptive = self.spec.frame_length
        samples = max(batch_extent(lengths, wav.shape[1]), receptive)
        wav = nn.functional.pad(wav[:, :samples], (0, max(0, samples - wav.shape[1])))
        inside = torch.arange(samples, device=wav.device) < lengths[:, None]
        wav = wav.float().masked_fill(~inside, 0.0)
        if self.normalize:
            count = lengths.clamp(min=1)[:, None]
            mean = wav.sum(1, keepdim=True) / count
            centred = (wav - mean).masked_fill(~inside, 0.0)
            variance = centred.square().sum(1, keepdim=True) / count
            wav = centred / torch.sqrt(variance + NORM_EPS)
        # An utterance shorter than the receptive field is zero-padded to one frame.
        extent = lengths.clamp(min=receptive)
        frame_lengths = self.encoder._get_feat_extract_output_lengths(extent).long()
        if self.uses_mask:
            mask = (torch.arange(samples, device=wav.device) < extent[:, None]).long()
            hidden = self._hidden_states(wav, mask)
            # Windows that fill the batch (export) have every frame the encoder gives.
            frames = batch_extent(frame_lengths, hidden.shape[2])
            feats = hidden[:, :, :frames]
        else:
            frames = int(frame_lengths.max())
            feats = wav.new_zeros(wav.shape[0], len(self.layers), frames, self.spec.dim)
            for i, extent_i in enumerate(extent.tolist()):
                alone = self._hidden_states(wav[i : i + 1, :extent_i], None)
                feats[i, :, : alone.shape[2]] = alone[0]
        valid = torch.arange(frames, device=wav.device) < frame_lengths[:, None]
        return feats.masked_fill(~valid[:, None, :, None], 0.0), frame_lengths

    def _hidden_states(self, wav: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """`(B, len(layers), T, hidden)`: the chosen hidden states of a batch of waveforms."""
        stack = len(self.encoder.encoder.layers)
        outputs = self.encoder(
            wav, attention_mask=mask, output_hidden_states=min(self.layers) < stack
        )
        chosen = [
            outputs.last_hidden_state if layer == stack else outputs.hidden_states[layer]
            for layer in self.layers
        ]
        return torch.stack(chosen, dim=1)

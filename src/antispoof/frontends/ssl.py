"""A self-supervised speech encoder as an input branch: wav2vec 2.0 (XLS-R, MMS), WavLM, HuBERT or
data2vec-audio, its hidden states of chosen layers as channels, or their learnable weighted sum.

The encoder is transformers' model of its family (`Wav2Vec2Model`, `WavLMModel`, `HubertModel`,
`Data2VecAudioModel`), loaded with `from_pretrained(model)` from a hub name (downloaded into the
Hugging Face cache on first use) or a local directory, its family read from its config.json; or
built with random weights from a `config` dict (tests; nothing is downloaded) whose `model_type`
names the family as transformers' AutoConfig does: `wav2vec2`, `wavlm`, `hubert` or
`data2vec-audio`. transformers is imported only when such a branch is specified or built: it
takes seconds.

The hidden states are the same in every family. Hidden state 0 (in `layers`) is the input of the
first transformer layer: the projected CNN features plus the convolutional positional embedding,
layer-normalised in post-norm encoders (wav2vec2-base, WavLM Base, HuBERT Base, every
data2vec-audio). Hidden state `i >= 1` is the output of transformer layer `i`, except that the
last one is the encoder's output, after the final layer norm of stable-layer-norm (pre-norm)
encoders (XLS-R, MMS, WavLM Large, HuBERT Large and X-Large): the features fairseq gives and the
SSL + AASIST recipes use, and what transformers 4.x's `output_hidden_states` returned (5.x returns
the last layer's output before that norm).

`layers: all` takes every hidden state, 0 to the number of layers. `weighted_sum: true` turns the
chosen hidden states into one channel, their sum weighted by the softmax of one learnable weight
per hidden state, zero at first (an average): SUPERB's convention (s3prl's `Featurizer`), where
the weights train with the encoder frozen. The weights are this branch's own parameters and train
whatever `trainable` (the encoder's setting) says, so a weighted-sum branch is never cacheable.

Two settings of the checkpoint are overridden, because the detector, not the encoder, owns
augmentation and the optimisation schedule: SpecAugment masking of the encoder's features
(`apply_spec_augment`, on by default, for CTC fine-tuning) is off, and LayerDrop (`layerdrop`,
0.1 by default) is 0, so every layer's parameters take part in every step (DDP requires it) and a
layer index always means the same layer.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal

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
    from transformers import PreTrainedConfig

XLSR = "facebook/wav2vec2-xls-r-300m"
SAMPLE_RATE = 16000
# The encoder families, by transformers' model_type: (configuration class, model class). Each one's
# hidden states follow the convention above (tests/test_ssl.py checks it for both layer-norm
# placements); other transformers audio encoders are refused rather than read differently.
FAMILIES = {
    "wav2vec2": ("Wav2Vec2Config", "Wav2Vec2Model"),
    "wavlm": ("WavLMConfig", "WavLMModel"),
    "hubert": ("HubertConfig", "HubertModel"),
    "data2vec-audio": ("Data2VecAudioConfig", "Data2VecAudioModel"),
}
# (model_type, hidden_size, num_hidden_layers) of released encoders: configs naming one resolve,
# and get their FeatureSpec, on a machine without the model or a network (config resolution, dry
# runs, CI). Building the encoder still needs the model itself. All keep their family's default
# convolutional feature encoder (7 layers, hop 320, 20 ms frames of 400 samples). From their
# config.json files on the hub, and for wav2vec 2.0, XLS-R, HuBERT and WavLM also the factory
# functions of torchaudio.models.wav2vec2.model (wav2vec2_base, wav2vec2_large(_lv60k),
# wav2vec2_xlsr_300m / _1b / _2b, hubert_base / _large / _xlarge, wavlm_base / _large); MMS
# follows XLS-R's 300M and 1B architectures (NII AntiDeepfake's models/W2V_configs.py lists its
# fairseq settings), data2vec-audio Base and Large those of wav2vec 2.0 Base and Large
# (facebook/data2vec-audio-large-960h's config.json: 1024, 24).
RELEASED_SIZES = {
    "facebook/wav2vec2-base": ("wav2vec2", 768, 12),
    "facebook/wav2vec2-large": ("wav2vec2", 1024, 24),
    "facebook/wav2vec2-large-lv60": ("wav2vec2", 1024, 24),
    "facebook/wav2vec2-large-xlsr-53": ("wav2vec2", 1024, 24),
    "facebook/wav2vec2-xls-r-300m": ("wav2vec2", 1024, 24),
    "facebook/wav2vec2-xls-r-1b": ("wav2vec2", 1280, 48),
    "facebook/wav2vec2-xls-r-2b": ("wav2vec2", 1920, 48),
    "facebook/mms-300m": ("wav2vec2", 1024, 24),
    "facebook/mms-1b": ("wav2vec2", 1280, 48),
    "microsoft/wavlm-base": ("wavlm", 768, 12),
    "microsoft/wavlm-base-plus": ("wavlm", 768, 12),
    "microsoft/wavlm-large": ("wavlm", 1024, 24),
    "facebook/hubert-base-ls960": ("hubert", 768, 12),
    "facebook/hubert-large-ll60k": ("hubert", 1024, 24),
    "facebook/hubert-xlarge-ll60k": ("hubert", 1280, 48),
    "facebook/data2vec-audio-base": ("data2vec-audio", 768, 12),
    "facebook/data2vec-audio-large": ("data2vec-audio", 1024, 24),
}
# The variance floor of Wav2Vec2FeatureExtractor's zero-mean unit-variance normalisation (the
# feature extractor of every family).
NORM_EPS = 1e-7


def _transformers(name: str) -> Any:
    import transformers

    return getattr(transformers, name)


def _family(model_type: str, where: str) -> tuple[Any, Any]:
    if model_type not in FAMILIES:
        raise ValueError(
            f"{where} is a {model_type!r} encoder; the encoder families are "
            f"{', '.join(sorted(FAMILIES))}"
        )
    config_class, model_class = FAMILIES[model_type]
    return _transformers(config_class), _transformers(model_class)


def encoder_config(
    model: str,
    config: dict[str, Any] | None,
    not_found: Callable[[str, str], ModelNotFoundError],
    family: str | None = None,
) -> PreTrainedConfig:
    """The encoder's configuration with this frontend's overrides: from `config` when given (its
    `model_type` names the family), else `model`'s config.json (a small file; no weights are
    read). `family`: the only model_type accepted (the `wav2vec2` frontend's), None for any."""
    if config is not None:
        settings = dict(config)
        model_type = settings.pop("model_type", family)
        if model_type is None:
            raise ValueError(f"config needs a model_type: one of {', '.join(sorted(FAMILIES))}")
        if family is not None and model_type != family:
            raise ValueError(f"config's model_type must be {family!r}, not {model_type!r}")
        config_class, _ = _family(model_type, "config")
        known = {field.name for field in dataclasses.fields(config_class)}
        unknown = sorted(set(settings) - known)
        if unknown:
            # The configuration would keep a misspelt key as an attribute nobody reads.
            raise ValueError(
                f"config has keys that {config_class.__name__} does not know: {unknown}"
            )
        try:
            loaded = config_class(**settings)
        except Exception as err:  # huggingface_hub's strict-dataclass errors are not ValueErrors
            raise ValueError(f"config is not a valid {config_class.__name__}: {err}") from err
    else:
        located = locate_pretrained(model, not_found)
        reader = _family(family, model)[0] if family else _transformers("AutoConfig")
        try:
            loaded = reader.from_pretrained(located)
        except OSError as err:
            raise not_found(model, str(err).splitlines()[0]) from err
        _family(loaded.model_type, model)
    if getattr(loaded, "add_adapter", False):
        raise ValueError("encoders with an adapter (add_adapter) are not supported")
    # Data2VecAudioConfig has no such field; its model reads it as an attribute all the same.
    loaded.apply_spec_augment = False
    loaded.layerdrop = 0.0
    return loaded


def hidden_states(layers: Sequence[int] | str, num_hidden_layers: int) -> list[int]:
    """The hidden-state indices `layers` names (`all`: 0..num_hidden_layers), checked."""
    chosen = list(range(num_hidden_layers + 1)) if layers == "all" else list(layers)
    if not chosen:
        raise ValueError("layers must name at least one hidden state")
    wrong = [layer for layer in chosen if not 0 <= layer <= num_hidden_layers]
    if wrong:
        raise ValueError(
            f"layers {wrong} out of range: this encoder has hidden states 0..{num_hidden_layers}"
        )
    if len(set(chosen)) != len(chosen):
        raise ValueError(f"layers names a hidden state twice: {chosen}")
    return chosen


def _spec(config: PreTrainedConfig, layers: Sequence[int] | str, weighted_sum: bool) -> FeatureSpec:
    """The spec of `layers` of an encoder of this configuration; the layers are checked."""
    chosen = hidden_states(layers, config.num_hidden_layers)
    receptive, hop = 1, 1
    for kernel, stride in zip(config.conv_kernel, config.conv_stride, strict=True):
        receptive += (kernel - 1) * hop
        hop *= stride
    return FeatureSpec(
        channels=1 if weighted_sum else len(chosen),
        dim=config.hidden_size,
        hop_length=hop,
        frame_length=receptive,
        framing="valid",
        context=WHOLE_INPUT,
        sample_rate=SAMPLE_RATE,
    )


@FRONTENDS.register("ssl")
class SSL(PretrainedEncoder):
    """Hidden states `(B, C, T, hidden_size)` of a self-supervised speech encoder, 20 ms frames
    (hop 320, receptive field 400 samples for every released one): `C = len(layers)`, or 1 with
    `weighted_sum`.

    `context` is WHOLE_INPUT: self-attention lets every frame see the whole input, so no margin
    around a crop reproduces the frames of the whole utterance. A trainable branch sees the crop
    itself (crops of trainable branches take no margin); a frozen one computed on the device then
    reads the whole utterance, as the stage-2 cache computes it, and gives the same frames.

    Utterances shorter than the receptive field are zero-padded to it: one frame, like every
    frontend. Encoders with layer-normalised convolutions (`feat_extract_norm: layer`: XLS-R, MMS,
    the Large models of wav2vec 2.0, WavLM and HuBERT) take an attention mask, so a batch gives
    each utterance the features it gets alone; the others encode one utterance at a time: in the
    Base models the first convolution's group norm spans the whole padded input, and
    data2vec-audio's stack of positional convolutions carries the padding into an utterance's
    last frames.

    `normalize`: zero-mean unit-variance waveforms over each utterance's own samples, as
    Wav2Vec2FeatureExtractor's `do_normalize`; None follows the model's preprocessor_config.json
    (XLS-R, MMS and the Large models normalise, the Base ones do not), or normalises where it has
    none. `normalize_eps`: the variance floor (Wav2Vec2FeatureExtractor's 1e-7; AntiDeepfake
    normalises with `layer_norm`'s 1e-5).
    """

    # The one family this frontend takes (None: any of FAMILIES).
    family: str | None = None

    def __init__(
        self,
        model: str = XLSR,
        layers: Sequence[int] | Literal["all"] = "all",
        weighted_sum: bool = True,
        trainable: bool = True,
        gradient_checkpointing: bool = False,
        normalize: bool | None = None,
        config: dict[str, Any] | None = None,
        normalize_eps: float = NORM_EPS,
    ) -> None:
        super().__init__()
        check_gradient_checkpointing(gradient_checkpointing, trainable)
        if normalize_eps <= 0:
            raise ValueError(f"normalize_eps must be positive, not {normalize_eps}")
        self.normalize_eps = normalize_eps
        conf = encoder_config(model, config, self._not_found, self.family)
        self._spec = _spec(conf, layers, weighted_sum)
        self.layers = hidden_states(layers, conf.num_hidden_layers)
        self.encoder_trainable = trainable
        self.trainable = trainable or weighted_sum
        _, model_class = _family(conf.model_type, model)
        if config is not None:
            encoder = model_class(conf)
            self.normalize = True if normalize is None else normalize
        else:
            located = locate_pretrained(model, self._not_found)
            try:
                encoder = model_class.from_pretrained(located, config=conf, dtype=torch.float32)
            except OSError as err:
                raise self._not_found(model, str(err).splitlines()[0]) from err
            if normalize is None:
                extractor_class = _transformers("Wav2Vec2FeatureExtractor")
                try:
                    extractor = extractor_class.from_pretrained(located)
                except OSError:  # no preprocessor_config.json: normalise, as XLS-R's does
                    normalize = True
                else:
                    normalize = bool(extractor.do_normalize)
            self.normalize = normalize
        # A batch with an attention mask gives each utterance its own features only where the
        # padding reaches no valid frame: not through a group norm over the whole input, nor
        # through data2vec-audio's stack of positional convolutions (the first one's output at
        # the zeroed padding is not zero, and the next one reads it into the last frames).
        self.uses_mask = conf.model_type != "data2vec-audio" and conf.feat_extract_norm == "layer"
        # Layers past the last one asked for would only cost time and memory, and as parameters
        # without gradients they would stop DDP.
        deepest = max(self.layers)
        if deepest < conf.num_hidden_layers:
            encoder.encoder.layers = encoder.encoder.layers[:deepest]
            if getattr(conf, "do_stable_layer_norm", False):
                # The final norm applies to the full stack's output only.
                encoder.encoder.layer_norm = nn.Identity()
        if hasattr(encoder, "masked_spec_embed"):  # SpecAugment's mask vector, unused here
            del encoder.masked_spec_embed
        if gradient_checkpointing:
            enable_gradient_checkpointing(encoder)
        if not trainable:
            encoder.requires_grad_(False)
            encoder.eval()
        self.encoder = encoder
        weights = nn.Parameter(torch.zeros(len(self.layers))) if weighted_sum else None
        self.register_parameter("layer_weights", weights)

    @classmethod
    def _not_found(cls, model: str, reason: str) -> ModelNotFoundError:
        name = "wav2vec2" if cls.family == "wav2vec2" else "ssl"
        return ModelNotFoundError(
            f"{name} model {model!r} not found ({reason}). Set frontend_conf.model to a local "
            "directory holding the model (config.json, preprocessor_config.json and the "
            f"weights, as `hf download {XLSR} --local-dir DIR` writes them), or to a hub name "
            "that is in the Hugging Face cache (HF_HOME) or can be downloaded from this machine "
            f"(`hf download {XLSR}`)"
        )

    @classmethod
    def cacheable_with(cls, **settings: Any) -> bool:
        """A frozen encoder (`trainable: false`) without a weighted sum is cacheable: eval mode
        makes it deterministic. The weighted sum's weights train."""
        return super().cacheable_with(**settings) and not settings.get("weighted_sum", False)

    @classmethod
    def feature_spec(cls, **settings: Any) -> FeatureSpec:
        """From `config`, else the sizes of a released model (RELEASED_SIZES), else the model's
        config.json alone (a local directory or the hub cache; fetched if neither has it); a
        ModelNotFoundError says where to put a missing model."""
        conf = cls.checked_settings(settings)
        weighted_sum = conf.get("weighted_sum", False)
        if conf["config"] is None and conf["model"] in RELEASED_SIZES:
            model_type, hidden_size, layers = RELEASED_SIZES[conf["model"]]
            if cls.family not in (None, model_type):
                raise ValueError(
                    f"{conf['model']} is a {model_type} encoder: use the ssl frontend for it"
                )
            config_class, _ = _family(model_type, conf["model"])
            # The released models keep the default convolutional feature encoder (hop 320).
            shape = config_class(hidden_size=hidden_size, num_hidden_layers=layers)
            return _spec(shape, conf["layers"], weighted_sum)
        loaded = encoder_config(conf["model"], conf["config"], cls._not_found, cls.family)
        return _spec(loaded, conf["layers"], weighted_sum)

    @property
    def spec(self) -> FeatureSpec:
        return self._spec

    def unfreeze(self) -> None:
        self.encoder.requires_grad_(self.encoder_trainable)
        if self.layer_weights is not None:
            self.layer_weights.requires_grad_(True)

    def forward(
        self, wav: torch.Tensor, lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        lengths = lengths.to(device=wav.device, dtype=torch.long)
        # A frozen encoder gets no gradient even where the detector enables them for a stack.
        with torch.set_grad_enabled(torch.is_grad_enabled() and self.encoder_trainable):
            feats, frame_lengths = self._encode_batch(wav, lengths)
        if self.layer_weights is not None:
            weights = torch.softmax(self.layer_weights.float(), dim=0).to(feats.dtype)
            feats = torch.einsum("bctf,c->btf", feats, weights).unsqueeze(1)
        return feats, frame_lengths

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
            wav = centred / torch.sqrt(variance + self.normalize_eps)
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

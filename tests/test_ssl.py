"""ssl frontend on tiny, randomly initialised encoders of every family (wav2vec 2.0, WavLM, HuBERT,
data2vec-audio; nothing is downloaded): the spec from the config alone, the same hidden-state
convention in each family and layer-norm placement, batched equal to one utterance at a time as
transformers computes it, the learnable weighted sum, freezing, gradient checkpointing, a local
directory of each family, the released sizes offline, a training step of each family through
the Trainer, and the wav2vec2 frontend as the same code."""

from __future__ import annotations

from pathlib import Path

import huggingface_hub.constants
import pytest
import torch
import yaml
from torch.utils.tensorboard import SummaryWriter
from transformers import (
    AutoConfig,
    Data2VecAudioModel,
    HubertModel,
    Wav2Vec2Config,
    Wav2Vec2FeatureExtractor,
    Wav2Vec2Model,
    WavLMConfig,
    WavLMModel,
)

from antispoof.config import resolve_file, save_config
from antispoof.detector import build_detector
from antispoof.frontends import FRONTENDS
from antispoof.frontends.common import ModelNotFoundError
from antispoof.frontends.ssl import FAMILIES, RELEASED_SIZES, SSL
from antispoof.frontends.wav2vec2 import Wav2Vec2
from antispoof.registry import ConfigError
from antispoof.training.trainer import Trainer, TrainingData
from tiny_configs import SMALL_RESNET, TINY_WAV2VEC2, tiny_detector, tiny_ssl
from toy_data import make_toy_data_dir

# (family, layer-norm placement): pre-norm with layer-normalised convolutions and an attention
# mask (`layer`), post-norm with a group-normalised first convolution (`group`); data2vec-audio
# has layer-normalised convolutions and post-norm layers.
CASES = [
    ("wav2vec2", "layer"),
    ("wav2vec2", "group"),
    ("wavlm", "layer"),
    ("wavlm", "group"),
    ("hubert", "layer"),
    ("hubert", "group"),
    ("data2vec-audio", "layer"),
]
IDS = [f"{family}-{norm}" for family, norm in CASES]
MODEL_CLASSES = {
    "wav2vec2": Wav2Vec2Model,
    "wavlm": WavLMModel,
    "hubert": HubertModel,
    "data2vec-audio": Data2VecAudioModel,
}
LENGTHS = [5, 19, 20, 21, 333, 1000]


def build(family="wav2vec2", norm="layer", seed=0, **settings):
    torch.manual_seed(seed)
    settings = {"weighted_sum": False, **settings}
    return FRONTENDS.build("ssl", {"config": tiny_ssl(family, norm), **settings})


def batch(lengths, seed=1):
    """Padded waveforms with loud noise in the padding, so that a leak shows."""
    generator = torch.Generator().manual_seed(seed)
    wav = 0.1 * torch.randn(len(lengths), max(lengths) + 31, generator=generator) + 0.05
    for i, length in enumerate(lengths):
        wav[i, length:] = 30 * torch.randn(wav.shape[1] - length, generator=generator)
    return wav, torch.tensor(lengths)


def transformers_alone(frontend, wav):
    """Every hidden state of one utterance as transformers computes it by itself, normalised by
    the feature extractor, zero-padded to one receptive field, no attention mask:
    `(layers + 1, T, hidden)`, the last one the encoder's output."""
    extractor = Wav2Vec2FeatureExtractor(do_normalize=True)
    values = extractor(wav.numpy(), sampling_rate=16000, return_tensors="pt").input_values
    values = torch.nn.functional.pad(values, (0, max(0, 20 - values.shape[1])))
    outputs = frontend.encoder(values, output_hidden_states=True)
    return torch.stack([*outputs.hidden_states[:-1], outputs.last_hidden_state])[:, 0]


@pytest.mark.parametrize(("family", "norm"), CASES, ids=IDS)
def test_each_family_builds_with_the_spec_its_config_gives(family, norm, monkeypatch):
    frontend = build(family, norm, layers=[0, 2]).eval()
    assert type(frontend.encoder) is MODEL_CLASSES[family]
    assert frontend.uses_mask is (norm == "layer" and family != "data2vec-audio")
    spec = frontend.spec
    assert (spec.channels, spec.dim, spec.hop_length, spec.frame_length) == (2, 16, 10, 20)
    wav, lengths = batch(LENGTHS)
    feats, frame_lengths = frontend(wav, lengths)
    assert frame_lengths.tolist() == spec.num_frames(lengths).tolist() == [1, 1, 1, 1, 32, 99]
    assert feats.shape == (6, 2, 99, 16)
    for i, frames in enumerate(frame_lengths.tolist()):
        assert torch.all(feats[i, :, frames:] == 0)
        assert feats[i, :, :frames].abs().amax(-1).gt(0).all()

    def no_weights(*args, **kwargs):
        raise AssertionError("feature_spec built an encoder")

    monkeypatch.setattr(MODEL_CLASSES[family], "__init__", no_weights)
    settings = {"config": tiny_ssl(family, norm), "layers": [0, 2], "weighted_sum": False}
    assert SSL.feature_spec(**FRONTENDS.resolved_conf("ssl", settings)) == spec


@pytest.mark.parametrize(("family", "norm"), CASES, ids=IDS)
def test_batched_equals_each_utterance_as_transformers_computes_it_alone(family, norm):
    frontend = build(family, norm, layers="all").eval()
    wav, lengths = batch(LENGTHS)
    feats, frame_lengths = frontend(wav, lengths)
    assert feats.shape[1] == 3  # hidden states 0, 1, 2
    for i, length in enumerate(LENGTHS):
        alone = transformers_alone(frontend, wav[i, :length])
        assert alone.shape[1] == frame_lengths[i]
        torch.testing.assert_close(feats[i, :, : alone.shape[1]], alone, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize(("family", "norm"), CASES, ids=IDS)
def test_the_hidden_states_mean_the_same_in_every_family(family, norm):
    """0: the first transformer layer's input; i: layer i's output; the last: the encoder's
    output, after the final layer norm of a pre-norm encoder."""
    frontend = build(family, norm, layers="all", normalize=False).eval()
    layers = frontend.encoder.encoder.layers
    seen = {}

    def keep(name):
        def hook(module, args, kwargs, output):
            inputs = kwargs.get("hidden_states", args[0] if args else None)
            seen[name] = (inputs, output[0] if isinstance(output, tuple) else output)

        return hook

    for i, layer in enumerate(layers):
        layer.register_forward_hook(keep(i), with_kwargs=True)
    wav = torch.randn(1, 400, generator=torch.Generator().manual_seed(4))
    feats = frontend(wav, torch.tensor([400]))[0][0]
    torch.testing.assert_close(feats[0], seen[0][0][0])
    torch.testing.assert_close(feats[1], seen[0][1][0])
    last = seen[len(layers) - 1][1][0]
    pre_norm = norm == "layer" and family != "data2vec-audio"
    expected = frontend.encoder.encoder.layer_norm(last) if pre_norm else last
    torch.testing.assert_close(feats[2], expected)
    if pre_norm:
        assert not torch.allclose(feats[2], last, atol=1e-3)
    # Layers past the deepest one asked for are dropped, the final norm with them; the rest
    # keep their weights.
    first_only = build(family, norm, layers=[1], normalize=False).eval()
    assert len(first_only.encoder.encoder.layers) == 1
    torch.testing.assert_close(first_only(wav, torch.tensor([400]))[0][0, 0], feats[1])


def test_the_weighted_sum_is_a_softmax_over_learnable_weights():
    wav, lengths = batch([1000, 640])
    every = build("wavlm", layers="all").eval()
    states, _ = every(wav, lengths)
    summed = build("wavlm", layers="all", weighted_sum=True).eval()
    assert summed.spec.channels == 1 and summed.layer_weights.shape == (3,)
    feats, _ = summed(wav, lengths)
    # Zero weights at first: the average of the hidden states (SUPERB's start).
    torch.testing.assert_close(feats, states.mean(1, keepdim=True))
    with torch.no_grad():
        summed.layer_weights.copy_(torch.tensor([0.5, -1.0, 2.0]))
    weights = torch.softmax(torch.tensor([0.5, -1.0, 2.0]), 0)
    expected = (states * weights[None, :, None, None]).sum(1, keepdim=True)
    torch.testing.assert_close(summed(wav, lengths)[0], expected)
    # A weighted sum of chosen layers, too.
    two = build("wavlm", layers=[0, 2], weighted_sum=True).eval()
    torch.testing.assert_close(two(wav, lengths)[0], states[:, [0, 2]].mean(1, keepdim=True))


@pytest.mark.parametrize("trainable", [True, False])
def test_the_weights_train_with_the_encoder_fine_tuned_or_frozen(trainable):
    frontend = build("hubert", layers="all", weighted_sum=True, trainable=trainable).train()
    # Trainable parameters of its own: the branch runs on every batch, never from the cache.
    assert frontend.trainable and not frontend.cacheable
    assert not SSL.cacheable_with(weighted_sum=True, trainable=trainable)
    feats, _ = frontend(*batch([1000, 640]))
    feats.square().sum().backward()
    assert frontend.layer_weights.grad is not None and frontend.layer_weights.grad.abs().sum() > 0
    encoder_grads = [p.grad is not None for p in frontend.encoder.parameters()]
    assert all(encoder_grads) if trainable else not any(encoder_grads)
    assert frontend.encoder.training is trainable


def test_a_frozen_encoder_without_weighted_sum_is_cacheable_and_stays_in_eval_mode():
    frontend = build("data2vec-audio", layers=[2], trainable=False)
    frontend.train()
    assert not frontend.encoder.training
    assert frontend.cacheable and not frontend.trainable
    assert SSL.cacheable_with(
        **FRONTENDS.resolved_conf("ssl", {"trainable": False, "weighted_sum": False})
    )
    assert not any(p.requires_grad for p in frontend.parameters())
    frontend.requires_grad_(True)  # as a detector does for a trainable stack holding it
    feats, _ = frontend(*batch([500]))
    assert feats.grad_fn is None


def ssl_detector(root: Path, frontend_conf: dict, **train) -> dict:
    """The resolved config of the mini recipe's tiny detector on an ssl branch (`frontend_conf`),
    with these `train` settings."""
    spec = {
        **tiny_detector(crop_seconds=0.5, **train),
        "frontend": "ssl",
        "frontend_conf": frontend_conf,
        "model_conf": SMALL_RESNET,
    }
    (root / "ssl.yaml").write_text(yaml.safe_dump(spec))
    return resolve_file(root / "ssl.yaml")


@pytest.mark.parametrize("trainable", [True, False])
def test_freezing_then_unfreezing_keeps_a_frozen_encoder_frozen(tmp_path, trainable):
    frontend_conf = {"config": tiny_ssl("wavlm"), "trainable": trainable}
    detector = build_detector(ssl_detector(tmp_path, frontend_conf, freeze={"ssl": 1}))
    branch = detector.inputs["ssl"]
    detector.set_epoch(1)
    detector.train()
    assert not any(p.requires_grad for p in branch.parameters()) and not branch.encoder.training
    detector.set_epoch(2)
    detector.train()
    assert branch.layer_weights.requires_grad
    assert all(p.requires_grad is trainable for p in branch.encoder.parameters())
    assert branch.encoder.training is trainable


@pytest.mark.parametrize(("family", "norm"), CASES, ids=IDS)
def test_gradient_checkpointing_gives_the_same_features_and_gradients(family, norm):
    wav, lengths = batch([1000, 640])
    results = []
    for checkpointing in (False, True):
        frontend = build(family, norm, layers="all", gradient_checkpointing=checkpointing)
        frontend.train()
        feats, _ = frontend(wav, lengths)
        feats.sum().backward()
        layer = frontend.encoder.encoder.layers[0].feed_forward.output_dense
        results.append((feats.detach(), layer.weight.grad))
    torch.testing.assert_close(results[0][0], results[1][0])
    torch.testing.assert_close(results[0][1], results[1][1])
    with pytest.raises(ConfigError, match="gradient_checkpointing needs trainable"):
        build(family, norm, trainable=False, gradient_checkpointing=True)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_a_local_directory_of_each_family_loads_with_its_normalisation(tmp_path, family):
    config = tiny_ssl(family)
    settings = {key: value for key, value in config.items() if key != "model_type"}
    torch.manual_seed(0)  # the weights that build() draws
    MODEL_CLASSES[family](AutoConfig.for_model(family, **settings)).save_pretrained(tmp_path)
    Wav2Vec2FeatureExtractor(do_normalize=False).save_pretrained(tmp_path)
    frontend = FRONTENDS.build("ssl", {"model": str(tmp_path), "layers": [1, 2]}).eval()
    assert type(frontend.encoder) is MODEL_CLASSES[family]
    assert frontend.normalize is False
    random_init = build(family, layers=[1, 2], weighted_sum=True, normalize=False).eval()
    spec = SSL.feature_spec(model=str(tmp_path), layers=[1, 2])
    assert spec == frontend.spec == random_init.spec
    wav, lengths = batch([900, 450])
    torch.testing.assert_close(frontend(wav, lengths)[0], random_init(wav, lengths)[0])


def test_released_encoders_get_their_spec_without_a_file_or_a_network(monkeypatch):
    def no_config(*args, **kwargs):
        raise AssertionError("feature_spec read a config")

    monkeypatch.setattr(AutoConfig, "from_pretrained", no_config)
    monkeypatch.setattr(Wav2Vec2Config, "from_pretrained", no_config)
    for model, (family, hidden, layers) in RELEASED_SIZES.items():
        spec = SSL.feature_spec(model=model, layers="all", weighted_sum=False)
        assert (spec.channels, spec.dim) == (layers + 1, hidden), model
        # Every one keeps the default convolutional feature encoder: 20 ms frames of 25 ms.
        assert (spec.hop_length, spec.frame_length) == (320, 400), model
        assert SSL.feature_spec(model=model).channels == 1
        if family == "wav2vec2":
            assert Wav2Vec2.feature_spec(model=model, layers=[layers]).dim == hidden
        else:
            with pytest.raises(ValueError, match=f"{model} is a {family} encoder: use the ssl"):
                Wav2Vec2.feature_spec(model=model, layers=[1])
    assert SSL.feature_spec(model="microsoft/wavlm-large", layers=[6, 12]).channels == 1
    with pytest.raises(ValueError, match=r"layers \[49\] out of range.*0\.\.48"):
        SSL.feature_spec(model="facebook/hubert-xlarge-ll60k", layers=[49])
    with pytest.raises(AssertionError, match="read a config"):
        SSL.feature_spec(model="someone/wavlm-finetuned")


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_one_training_step_of_each_family_through_the_trainer(tmp_path, family):
    data = TrainingData(
        make_toy_data_dir(tmp_path, "train", 8, 0), make_toy_data_dir(tmp_path, "dev", 4, 1)
    )
    config = ssl_detector(tmp_path, {"config": tiny_ssl(family)}, epochs=1)
    save_config(config, tmp_path / "exp/config.yaml")
    trainer = Trainer(tmp_path / "exp", config, data, torch.device("cpu"))
    branch = trainer.detector.inputs["ssl"]
    assert type(branch.encoder) is MODEL_CLASSES[family]
    before = {key: value.clone() for key, value in branch.state_dict().items()}
    trainer._train_epoch(1, SummaryWriter(str(tmp_path / "tb")))
    after = branch.state_dict()
    # One step (8 utterances, batches of 8) changed the encoder and the layer weights.
    assert not torch.equal(before["layer_weights"], after["layer_weights"])
    changed = [key for key in before if not torch.equal(before[key], after[key])]
    assert any(key.startswith("encoder.encoder.layers.1.") for key in changed)
    assert any(key.startswith("encoder.feature_extractor.") for key in changed)


def test_the_wav2vec2_frontend_is_ssl_on_a_wav2vec2_encoder():
    wav, lengths = batch(LENGTHS)
    torch.manual_seed(0)
    old = FRONTENDS.build("wav2vec2", {"config": TINY_WAV2VEC2, "layers": [0, 2]}).eval()
    new = build("wav2vec2", layers=[0, 2]).eval()
    assert old.spec == new.spec
    assert old.state_dict().keys() == new.state_dict().keys()
    torch.testing.assert_close(old(wav, lengths)[0], new(wav, lengths)[0], rtol=0, atol=0)
    # Its settings are the ones it always had: no weighted sum, no other family.
    assert "weighted_sum" not in FRONTENDS.settings("wav2vec2")
    with pytest.raises(ConfigError, match="model_type must be 'wav2vec2', not 'wavlm'"):
        FRONTENDS.build("wav2vec2", {"config": tiny_ssl("wavlm"), "layers": [1]})
    wav2vec2 = FRONTENDS.build("wav2vec2", {"config": tiny_ssl("wav2vec2"), "layers": [1]})
    assert wav2vec2.spec.channels == 1


def test_settings_are_checked():
    with pytest.raises(ConfigError, match="config needs a model_type: one of data2vec-audio"):
        FRONTENDS.build("ssl", {"config": TINY_WAV2VEC2})
    with pytest.raises(ConfigError, match="config is a 'whisper' encoder; the encoder families"):
        FRONTENDS.build("ssl", {"config": {"model_type": "whisper"}})
    with pytest.raises(ConfigError, match=r"WavLMConfig does not know: \['hiden_size'\]"):
        FRONTENDS.build("ssl", {"config": tiny_ssl("wavlm", hiden_size=8)})
    with pytest.raises(ConfigError, match=r"Data2VecAudioConfig does not know.*feat_extract_norm"):
        FRONTENDS.build("ssl", {"config": tiny_ssl("data2vec-audio", feat_extract_norm="group")})
    with pytest.raises(ConfigError, match="layers must be a list of int or one of 'all'"):
        FRONTENDS.build("ssl", {"config": tiny_ssl("hubert"), "layers": "last"})
    with pytest.raises(ConfigError, match=r"layers \[3\] out of range"):
        build("hubert", layers=[3])
    with pytest.raises(ConfigError, match="twice"):
        build("hubert", layers=[1, 1])


def test_a_missing_model_says_where_to_put_it(tmp_path, monkeypatch):
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)  # never the network
    for model in (str(tmp_path / "wavlm"), "antispoof-tests/no-such-model"):
        with pytest.raises(
            ModelNotFoundError, match=r"ssl model .*not found.*frontend_conf\.model"
        ):
            SSL.feature_spec(model=model)
    (tmp_path / "whisper").mkdir()
    WavLMConfig().save_pretrained(tmp_path / "wavlm")
    AutoConfig.for_model("whisper").save_pretrained(tmp_path / "whisper")
    with pytest.raises(ValueError, match="is a 'whisper' encoder"):
        SSL.feature_spec(model=str(tmp_path / "whisper"))
    assert SSL.feature_spec(model=str(tmp_path / "wavlm"), layers=[12]).dim == 768


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize(("family", "norm"), CASES, ids=IDS)
def test_batched_equals_alone_on_cuda(family, norm):
    frontend = build(family, norm, layers="all").eval()
    wav, lengths = batch(LENGTHS)
    cpu = [transformers_alone(frontend, wav[i, :n]) for i, n in enumerate(LENGTHS)]
    feats, frame_lengths = frontend.cuda()(wav.cuda(), lengths.cuda())
    for i, alone in enumerate(cpu):
        assert frame_lengths[i] == alone.shape[1]
        torch.testing.assert_close(feats[i, :, : alone.shape[1]].cpu(), alone, atol=1e-4, rtol=1e-3)

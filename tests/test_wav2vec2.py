"""wav2vec2 frontend on tiny, randomly initialised encoders (nothing is downloaded): spec from the
config alone, frame lengths from the conv stack, batched equal to one utterance at a time (as
transformers computes it alone), layer choice, gradients, where a missing model goes, and every
recipe config resolving as it did before the frontend became the ssl one on a wav2vec2 encoder."""

from pathlib import Path

import huggingface_hub.constants
import pytest
import torch
from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2Model

from antispoof.config import branch_tag, resolve_file
from antispoof.frontends import FRONTENDS
from antispoof.frontends.base import FeatureSpec
from antispoof.frontends.common import WHOLE_INPUT, ModelNotFoundError
from antispoof.frontends.wav2vec2 import Wav2Vec2
from antispoof.registry import ConfigError
from tiny_configs import TINY_WAV2VEC2

# tiny_configs.TINY_WAV2VEC2, twice as wide.
TINY = {**TINY_WAV2VEC2, "hidden_size": 32, "intermediate_size": 64}
# wav2vec2-base's architecture: group norm over the first convolution's whole input, no mask.
TINY_GROUP_NORM = {**TINY, "feat_extract_norm": "group", "do_stable_layer_norm": False}
LENGTHS = [5, 19, 20, 21, 333, 1000]
REPO = Path(__file__).resolve().parents[1]
# The cache tag (the frontend and a hash of its resolved settings) of the wav2vec2 branch of every
# recipe config, recorded at commit 16354a5, before wav2vec2 became the ssl frontend restricted to
# wav2vec2 encoders: an experiment's config.yaml, its stage-2 cache and its checkpoints stay
# valid only while its settings resolve the same.
RECIPE_BRANCH_TAGS = {
    "egs/asvspoof2019/conf/xlsr_aasist.yaml": "wav2vec2_79aba158",
    "egs/asvspoof2021_df/conf/xlsr_aasist.yaml": "wav2vec2_79aba158",
    "egs/asvspoof2021_df/conf/wavespec.yaml": "wav2vec2_b2147078",
    "egs/asvspoof2021_df/conf/wavespec_concat.yaml": "wav2vec2_b2147078",
    "egs/asvspoof2021_df/conf/wavespec_magnitude_cqt.yaml": "wav2vec2_b2147078",
    "egs/asvspoof2021_df/conf/wavespec_no_scl.yaml": "wav2vec2_b2147078",
    "egs/asvspoof2021_df/conf/wavespec_one_scale.yaml": "wav2vec2_176761d1",
    "egs/asvspoof2021_df/conf/wavespec_wave_only.yaml": "wav2vec2_b2147078",
    "egs/mini/conf/wavespec_small.yaml": "wav2vec2_75013f37",
    "egs/mini/conf/xlsr_aasist_small.yaml": "wav2vec2_4b6da44e",
}


def build(config=TINY, seed=0, **settings):
    torch.manual_seed(seed)
    return FRONTENDS.build("wav2vec2", {"config": config, **settings})


def batch(lengths, seed=1):
    """Padded waveforms with loud noise in the padding, so that a leak shows."""
    generator = torch.Generator().manual_seed(seed)
    wav = 0.1 * torch.randn(len(lengths), max(lengths) + 31, generator=generator) + 0.05
    for i, length in enumerate(lengths):
        wav[i, length:] = 30 * torch.randn(wav.shape[1] - length, generator=generator)
    return wav, torch.tensor(lengths)


def transformers_alone(frontend, wav, layers):
    """One utterance as transformers computes it by itself: normalised by the feature extractor,
    zero-padded to one receptive field, no attention mask; hidden state `num_hidden_layers` is
    the encoder's output (after the final layer norm)."""
    extractor = Wav2Vec2FeatureExtractor(do_normalize=True)
    values = extractor(wav.numpy(), sampling_rate=16000, return_tensors="pt").input_values
    values = torch.nn.functional.pad(values, (0, max(0, 20 - values.shape[1])))
    outputs = frontend.encoder(values, output_hidden_states=True)
    count = len(frontend.encoder.encoder.layers)
    states = [
        outputs.last_hidden_state if layer == count else outputs.hidden_states[layer]
        for layer in layers
    ]
    return torch.stack(states, dim=1)[0]


def test_spec_comes_from_the_config_without_building_the_encoder(monkeypatch):
    built = build(layers=[0, 2])
    assert built.spec == FeatureSpec(
        channels=2, dim=32, hop_length=10, frame_length=20, framing="valid", context=WHOLE_INPUT
    )

    def no_weights(*args, **kwargs):
        raise AssertionError("feature_spec built an encoder")

    monkeypatch.setattr(Wav2Vec2Model, "__init__", no_weights)
    settings = FRONTENDS.resolved_conf("wav2vec2", {"config": TINY, "layers": [0, 2]})
    assert FRONTENDS.get("wav2vec2").feature_spec(**settings) == built.spec


def test_released_models_get_their_spec_without_a_file_or_a_network(monkeypatch):
    def no_config(*args, **kwargs):
        raise AssertionError("feature_spec read a config")

    monkeypatch.setattr(Wav2Vec2Config, "from_pretrained", no_config)
    spec = Wav2Vec2.feature_spec(model="facebook/wav2vec2-xls-r-300m", layers=[8, 16, 24])
    assert (spec.channels, spec.dim, spec.hop_length, spec.frame_length) == (3, 1024, 320, 400)
    with pytest.raises(ValueError, match=r"layers \[13\] out of range"):
        Wav2Vec2.feature_spec(model="facebook/wav2vec2-base", layers=[13])
    # Anything else still reads its config.json.
    with pytest.raises(AssertionError, match="read a config"):
        Wav2Vec2.feature_spec(model="someone/wav2vec2-finetuned", layers=[1])


def test_xlsr_architecture_gives_20_ms_frames_of_400_samples():
    xlsr = {"hidden_size": 1024, "num_hidden_layers": 24, "num_attention_heads": 16}
    spec = Wav2Vec2.feature_spec(config=xlsr)
    assert (spec.channels, spec.dim, spec.hop_length, spec.frame_length) == (1, 1024, 320, 400)
    assert Wav2Vec2.feature_spec(config=xlsr, layers=[0, 12, 24]).channels == 3
    with pytest.raises(ValueError, match=r"layers \[25\] out of range.*0\.\.24"):
        Wav2Vec2.feature_spec(config=xlsr, layers=[25])


def test_shapes_frame_lengths_and_zero_padding():
    frontend = build(layers=[0, 1, 2]).eval()
    wav, lengths = batch(LENGTHS)
    feats, frame_lengths = frontend(wav, lengths)
    spec = frontend.spec
    assert frame_lengths.tolist() == spec.num_frames(lengths).tolist() == [1, 1, 1, 1, 32, 99]
    long_enough = lengths >= spec.frame_length
    conv_frames = frontend.encoder._get_feat_extract_output_lengths(lengths[long_enough])
    assert frame_lengths[long_enough].tolist() == conv_frames.tolist()
    assert feats.shape == (6, 3, 99, 32)
    for i, frames in enumerate(frame_lengths.tolist()):
        assert torch.all(feats[i, :, frames:] == 0)
        assert feats[i, :, :frames].abs().amax(-1).gt(0).all()


@pytest.mark.parametrize("config", [TINY, TINY_GROUP_NORM], ids=["layer_norm", "group_norm"])
def test_batched_equals_each_utterance_as_transformers_computes_it_alone(config):
    frontend = build(config, layers=[0, 1, 2]).eval()
    wav, lengths = batch(LENGTHS)
    feats, frame_lengths = frontend(wav, lengths)
    for i, length in enumerate(LENGTHS):
        alone = transformers_alone(frontend, wav[i, :length], [0, 1, 2])
        assert alone.shape[1] == frame_lengths[i]
        torch.testing.assert_close(feats[i, :, : alone.shape[1]], alone, atol=1e-5, rtol=1e-4)


def test_layers_are_hidden_states_and_unused_layers_are_dropped():
    full = build(layers=[0, 1, 2], normalize=False).eval()
    wav = torch.randn(1, 400, generator=torch.Generator().manual_seed(4))
    feats, _ = full(wav, torch.tensor([400]))
    outputs = full.encoder(wav, output_hidden_states=True)
    torch.testing.assert_close(feats[0, 0], outputs.hidden_states[0][0])
    torch.testing.assert_close(feats[0, 1], outputs.hidden_states[1][0])
    # The last entry is the encoder's output, after XLS-R's final layer norm, which
    # transformers 5's last hidden state lacks.
    torch.testing.assert_close(feats[0, 2], outputs.last_hidden_state[0])
    final_norm = full.encoder.encoder.layer_norm
    torch.testing.assert_close(feats[0, 2], final_norm(outputs.hidden_states[2][0]))
    assert not torch.allclose(feats[0, 2], outputs.hidden_states[2][0], atol=1e-3)
    # Layers past the deepest one asked for are dropped; the rest keep their weights.
    first_only = build(layers=[1], normalize=False).eval()
    assert len(first_only.encoder.encoder.layers) == 1
    torch.testing.assert_close(first_only(wav, torch.tensor([400]))[0][:, 0], feats[:, 1])


def test_normalisation_follows_the_setting():
    wav, lengths = batch([800])
    plain = build(layers=[2], normalize=False).eval()
    normed = build(layers=[2]).eval()
    scaled = build(layers=[2]).eval()
    assert not torch.allclose(plain(wav, lengths)[0], normed(wav, lengths)[0])
    # Normalised input: a louder copy with an offset gives the same features.
    torch.testing.assert_close(
        scaled(3 * wav + 0.2, lengths)[0], normed(wav, lengths)[0], atol=1e-4, rtol=1e-4
    )


def test_trainable_encoder_gets_gradients_in_every_parameter():
    # Every parameter takes part (DDP needs it): the unused layers past the deepest one asked
    # for, the final norm they would feed and SpecAugment's mask vector are dropped.
    for layers in ([2], [1], [0, 2]):
        frontend = build(layers=layers).train()
        assert frontend.trainable and not frontend.cacheable
        wav, lengths = batch([1000, 640])
        feats, _ = frontend(wav, lengths)
        feats.square().sum().backward()
        missing = [name for name, p in frontend.named_parameters() if p.grad is None]
        assert not missing, (layers, missing)


def test_gradient_checkpointing_gives_the_same_features_and_gradients():
    wav, lengths = batch([1000, 640])
    results = []
    for checkpointing in (False, True):
        frontend = build(layers=[1, 2], gradient_checkpointing=checkpointing).train()
        feats, _ = frontend(wav, lengths)
        feats.sum().backward()
        results.append((feats.detach(), frontend.encoder.encoder.layers[0].feed_forward))
    torch.testing.assert_close(results[0][0], results[1][0])
    first, second = (r[1].output_dense.weight.grad for r in results)
    torch.testing.assert_close(first, second)
    with pytest.raises(ConfigError, match="gradient_checkpointing needs trainable"):
        build(layers=[2], trainable=False, gradient_checkpointing=True)


def test_frozen_encoder_is_cacheable_and_stays_in_eval_mode():
    frontend = build(layers=[2], trainable=False)
    frontend.train()
    assert not frontend.encoder.training
    assert frontend.cacheable
    assert not any(p.requires_grad for p in frontend.parameters())
    frontend.requires_grad_(True)  # as a detector does for a trainable stack holding it
    feats, _ = frontend(*batch([500]))
    assert feats.grad_fn is None


def test_a_local_directory_loads_its_weights_and_its_normalisation(tmp_path):
    torch.manual_seed(0)  # the weights that build() draws
    Wav2Vec2Model(Wav2Vec2Config(**TINY)).save_pretrained(tmp_path / "model")
    Wav2Vec2FeatureExtractor(do_normalize=False).save_pretrained(tmp_path / "model")
    model = str(tmp_path / "model")
    frontend = FRONTENDS.build("wav2vec2", {"model": model, "layers": [1, 2]}).eval()
    assert frontend.normalize is False
    random_init = build(layers=[1, 2], normalize=False).eval()
    assert Wav2Vec2.feature_spec(model=model, layers=[1, 2]) == frontend.spec == random_init.spec
    wav, lengths = batch([900, 450])
    torch.testing.assert_close(frontend(wav, lengths)[0], random_init(wav, lengths)[0])


def test_a_missing_model_says_where_to_put_it(tmp_path, monkeypatch):
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)  # never the network
    missing = tmp_path / "xls-r"
    for model in (str(missing), "./no/such/model", "antispoof-tests/no-such-model"):
        with pytest.raises(ModelNotFoundError, match=r"frontend_conf\.model.*hf download"):
            Wav2Vec2.feature_spec(model=model)
        with pytest.raises(ModelNotFoundError, match="not found"):
            FRONTENDS.build("wav2vec2", {"model": model})
    missing.mkdir()
    with pytest.raises(ModelNotFoundError, match=r"holds no config\.json"):
        Wav2Vec2.feature_spec(model=str(missing))


def test_settings_are_checked():
    with pytest.raises(ConfigError, match="layers must be a list of int"):
        FRONTENDS.build("wav2vec2", {"config": TINY, "layers": 2})
    with pytest.raises(ConfigError, match="out of range"):
        build(layers=[3])
    with pytest.raises(ConfigError, match="twice"):
        build(layers=[1, 1])
    with pytest.raises(ConfigError, match=r"does not know: \['hiden_size'\]"):
        build({**TINY, "hiden_size": 8}, layers=[1])
    with pytest.raises(ValueError, match="not a valid Wav2Vec2Config"):
        Wav2Vec2.feature_spec(config={**TINY, "conv_dim": [8]}, layers=[1])


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_batched_equals_alone_on_cuda():
    frontend = build(layers=[0, 1, 2]).eval()
    wav, lengths = batch(LENGTHS)
    cpu = [transformers_alone(frontend, wav[i, :n], [0, 1, 2]) for i, n in enumerate(LENGTHS)]
    feats, frame_lengths = frontend.cuda()(wav.cuda(), lengths.cuda())
    for i, alone in enumerate(cpu):
        assert frame_lengths[i] == alone.shape[1]
        torch.testing.assert_close(feats[i, :, : alone.shape[1]].cpu(), alone, atol=1e-4, rtol=1e-3)


def test_recipe_configs_resolve_as_they_did():
    for path, tag in RECIPE_BRANCH_TAGS.items():
        branch = resolve_file(REPO / path)["inputs"]["ssl"]
        assert branch["frontend"] == "wav2vec2"
        assert branch_tag(branch) == tag, path
    settings = resolve_file(REPO / "egs/asvspoof2019/conf/xlsr_aasist.yaml")["inputs"]["ssl"]
    assert settings["frontend_conf"] == {
        "model": "facebook/wav2vec2-xls-r-300m",
        "layers": [24],
        "trainable": True,
        "gradient_checkpointing": False,
        "normalize": False,
        "config": None,
    }

"""whisper frontend on tiny, randomly initialised Whisper encoders (nothing is downloaded): the
log-mel equals WhisperFeatureExtractor's, the frames equal the encoder's output for each
utterance alone, tiled as KAWA tiles it; the spec without weights, a local directory, a missing
model, freezing and fine-tuning, the stage-2 cache, and KAWA's Whisper + MFCC stack."""

from __future__ import annotations

from pathlib import Path

import huggingface_hub.constants
import pytest
import torch
import torchaudio
import yaml
from torch.utils.tensorboard import SummaryWriter
from transformers import WhisperConfig, WhisperFeatureExtractor, WhisperModel
from transformers.models.whisper.modeling_whisper import WhisperEncoder

from antispoof.bin import make_feats
from antispoof.config import resolve_file, save_config
from antispoof.data.dataset import ExampleReader, TrainingExamples, read_labels
from antispoof.detector import build_detector
from antispoof.frontends import FRONTENDS
from antispoof.frontends.base import FeatureSpec
from antispoof.frontends.common import WHOLE_INPUT, ModelNotFoundError
from antispoof.frontends.whisper import Whisper
from antispoof.registry import ConfigError
from antispoof.training.trainer import Trainer, TrainingData, build_optimizers
from tiny_configs import SMALL_RESNET, TINY_WHISPER, tiny_detector
from toy_data import make_toy_data_dir

WINDOW = 48000  # TINY_WHISPER's 150 encoder frames of 320 samples
# The released models' 30 s window, with KAWA's tiny.en width (384), one layer.
TINY_30S = {**TINY_WHISPER, "max_source_positions": 1500, "d_model": 384, "encoder_layers": 1}
LENGTHS = [100, 320, 481, 7000, 48000]


def build(config=TINY_WHISPER, seed=0, **settings):
    torch.manual_seed(seed)
    return FRONTENDS.build("whisper", {"config": config, **settings})


def batch(lengths, seed=1):
    """Padded waveforms with loud noise in the padding, so that a leak shows."""
    generator = torch.Generator().manual_seed(seed)
    wav = 0.1 * torch.randn(len(lengths), max(lengths) + 31, generator=generator)
    for i, length in enumerate(lengths):
        wav[i, length:] = 30 * torch.randn(wav.shape[1] - length, generator=generator)
    return wav, torch.tensor(lengths)


def extractor_features(wav: torch.Tensor, seconds: int) -> torch.Tensor:
    """`(1, 80, seconds * 100)`: WhisperFeatureExtractor's input features of one utterance."""
    extractor = WhisperFeatureExtractor(chunk_length=seconds)
    return extractor(wav.numpy(), sampling_rate=16000, return_tensors="pt").input_features


def encoded_alone(frontend: Whisper, wav: torch.Tensor, seconds: int) -> torch.Tensor:
    """`(max_source_positions, d_model)`: the encoder on the extractor's features of one
    utterance, as transformers computes it by itself."""
    return frontend.encoder(extractor_features(wav, seconds)).last_hidden_state[0]


def test_spec_comes_from_the_config_without_building_the_encoder(monkeypatch):
    built = build(tile=1)
    assert built.spec == FeatureSpec(1, 16, 320, 320, "valid", context=WHOLE_INPUT)
    assert build().spec.hop_length == 160  # tile 2: 1500 encoder frames give 3000

    def no_weights(*args, **kwargs):
        raise AssertionError("feature_spec built an encoder")

    monkeypatch.setattr(WhisperEncoder, "__init__", no_weights)
    settings = FRONTENDS.resolved_conf("whisper", {"config": TINY_WHISPER, "tile": 1})
    assert FRONTENDS.get("whisper").feature_spec(**settings) == built.spec


def test_tiny_en_architecture_gives_3000_frames_of_384_for_30_s():
    tiny_en = {"d_model": 384, "encoder_layers": 4, "encoder_attention_heads": 6}
    spec = Whisper.feature_spec(config=tiny_en)
    assert (spec.dim, spec.hop_length, spec.num_frames(480000)) == (384, 160, 3000)
    assert Whisper.feature_spec(config=tiny_en, tile=1).num_frames(480000) == 1500


def test_released_models_get_their_spec_without_a_file_or_a_network(monkeypatch):
    def no_config(*args, **kwargs):
        raise AssertionError("feature_spec read a config.json")

    monkeypatch.setattr(WhisperConfig, "from_pretrained", no_config)
    spec = Whisper.feature_spec(model="openai/whisper-tiny.en")
    assert (spec.dim, spec.hop_length, spec.num_frames(480000)) == (384, 160, 3000)
    assert Whisper.feature_spec(model="openai/whisper-large-v3", tile=1).dim == 1280
    # Anything else still reads its config.json.
    with pytest.raises(AssertionError, match="read a config"):
        Whisper.feature_spec(model="someone/whisper-finetuned")


@pytest.mark.parametrize("length", [1, 400, 10000, 480000])
def test_log_mel_equals_the_feature_extractor(length):
    frontend = build(TINY_30S)
    wav = torch.randn(length, generator=torch.Generator().manual_seed(length))
    padded = torch.nn.functional.pad(wav, (0, 480000 - length))[None]
    expected = extractor_features(wav, 30)
    torch.testing.assert_close(frontend.log_mel(padded), expected, atol=2e-5, rtol=1e-5)


def test_frames_are_the_encoder_output_alone_tiled_as_a_whole():
    frontend = build(tile=2).eval()
    wav, lengths = batch(LENGTHS)
    feats, frame_lengths = frontend(wav, lengths)
    assert frame_lengths.tolist() == frontend.spec.num_frames(lengths).tolist()
    assert frame_lengths.tolist() == [1, 2, 3, 7000 // 160, 300]
    assert feats.shape == (5, 1, 300, 16)
    for i, length in enumerate(LENGTHS):
        alone = encoded_alone(frontend, wav[i, :length], 3)
        own = max(1, length // 320)
        # KAWA's repeat(1, 1, 1, 2): the whole sequence, then the whole sequence again.
        expected = alone[:own].repeat(3, 1)[: frame_lengths[i]]
        torch.testing.assert_close(feats[i, 0, : frame_lengths[i]], expected, atol=1e-5, rtol=1e-4)
        assert torch.all(feats[i, :, frame_lengths[i] :] == 0)
    untiled, untiled_lengths = build(tile=1).eval()(wav, lengths)
    assert untiled_lengths.tolist() == [1, 1, 1, 21, 150]
    torch.testing.assert_close(feats[4, 0], untiled[4, 0].repeat(2, 1))


def test_batched_equals_alone_and_is_deterministic():
    frontend = build().eval()
    wav, lengths = batch(LENGTHS)
    feats, frame_lengths = frontend(wav, lengths)
    assert torch.equal(feats, frontend(wav, lengths)[0])
    for i, length in enumerate(LENGTHS):
        alone, alone_lengths = frontend(wav[i : i + 1, :length], lengths[i : i + 1])
        assert alone_lengths[0] == frame_lengths[i]
        torch.testing.assert_close(feats[i, :, : frame_lengths[i]], alone[0], atol=1e-5, rtol=1e-4)


def test_an_input_longer_than_the_window_is_refused():
    frontend = build()
    with pytest.raises(ValueError, match=r"at most 3 s \(48000 samples\).*train\.crop_seconds"):
        frontend(torch.zeros(1, WINDOW + 1), torch.tensor([WINDOW + 1]))


def test_trainable_encoder_gets_gradients_except_in_the_position_table():
    frontend = build().train()
    assert frontend.trainable and not frontend.cacheable
    feats, _ = frontend(*batch([7000, 48000]))
    feats.square().sum().backward()
    missing = [name for name, p in frontend.named_parameters() if p.grad is None]
    assert missing == ["encoder.embed_positions.weight"]
    frontend.requires_grad_(False)  # as the detector freezes it, then ends the freeze
    frontend.unfreeze()
    frozen = [name for name, p in frontend.named_parameters() if not p.requires_grad]
    assert frozen == ["encoder.embed_positions.weight"]


def test_gradient_checkpointing_gives_the_same_features_and_gradients():
    wav, lengths = batch([7000, 4000])
    results = []
    for checkpointing in (False, True):
        frontend = build(gradient_checkpointing=checkpointing).train()
        feats, _ = frontend(wav, lengths)
        feats.sum().backward()
        results.append((feats.detach(), frontend.encoder.layers[0].fc1.weight.grad))
    torch.testing.assert_close(results[0][0], results[1][0])
    torch.testing.assert_close(results[0][1], results[1][1])
    with pytest.raises(ConfigError, match="gradient_checkpointing needs trainable"):
        build(trainable=False, gradient_checkpointing=True)


def test_frozen_encoder_is_cacheable_and_stays_in_eval_mode():
    frontend = build(trainable=False)
    frontend.train()
    assert not frontend.encoder.training and frontend.cacheable
    assert FRONTENDS.get("whisper").cacheable_with(trainable=False)
    assert not any(p.requires_grad for p in frontend.parameters())
    frontend.requires_grad_(True)  # as a detector does for a trainable stack holding it
    feats, _ = frontend(*batch([500]))
    assert feats.grad_fn is None


def test_a_local_directory_loads_the_encoder_of_a_saved_model(tmp_path):
    torch.manual_seed(0)
    saved = WhisperModel(WhisperConfig(**TINY_WHISPER)).eval()
    saved.save_pretrained(tmp_path / "model")
    model = str(tmp_path / "model")
    frontend = FRONTENDS.build("whisper", {"model": model, "tile": 1}).eval()
    assert Whisper.feature_spec(model=model, tile=1) == frontend.spec
    assert not hasattr(frontend, "decoder") and not hasattr(frontend.encoder, "decoder")
    wav, lengths = batch([7000, 4000])
    feats, _ = frontend(wav, lengths)
    for i, length in enumerate([7000, 4000]):
        features = extractor_features(wav[i, :length], 3)
        expected = saved.encoder(features).last_hidden_state[0, : length // 320]
        torch.testing.assert_close(feats[i, 0, : length // 320], expected, atol=1e-5, rtol=1e-4)


def test_a_missing_model_says_where_to_put_it(tmp_path, monkeypatch):
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)  # never the network
    missing = tmp_path / "whisper-tiny.en"
    for model in (str(missing), "./no/such/model", "antispoof-tests/no-such-model"):
        with pytest.raises(ModelNotFoundError, match=r"frontend_conf\.model.*hf download"):
            Whisper.feature_spec(model=model)
        with pytest.raises(ModelNotFoundError, match=r"whisper model .* not found"):
            FRONTENDS.build("whisper", {"model": model})
    missing.mkdir()
    with pytest.raises(ModelNotFoundError, match=r"holds no config\.json"):
        Whisper.feature_spec(model=str(missing))


def test_settings_are_checked():
    with pytest.raises(ConfigError, match="tile must be a positive divisor of 320, not 3"):
        build(tile=3)
    with pytest.raises(ConfigError, match=r"does not know: \['dmodel'\]"):
        build({**TINY_WHISPER, "dmodel": 8})
    with pytest.raises(ConfigError, match="tile must be an int"):
        FRONTENDS.build("whisper", {"config": TINY_WHISPER, "tile": "2"})


def test_kawa_whisper_and_mfcc_stack_exactly():
    # KAWA's WhisperMultiFrontMesoNet on a 30 s input: the encoder output (B, 1500, 384)
    # permuted to (B, 1, 384, 1500) and repeat(1, 1, 1, 2), then torch.cat with the MFCC of
    # prepare_mfcc_double_delta ((B, 1, 384, 3001) cut to 3000) on the channel axis.
    torch.manual_seed(0)
    branches = {
        "whisper": {"frontend": "whisper", "frontend_conf": {"config": TINY_30S}},
        "mfcc": {"frontend": "mfcc"},
    }
    stack = FRONTENDS.build("stack", {"branches": branches, "resize": "none"}).eval()
    assert stack.spec.num_frames(480000) == 3000 and stack.spec.dim == 384
    wav = 0.1 * torch.randn(2, 480000, generator=torch.Generator().manual_seed(5))
    feats, frame_lengths = stack(wav, torch.tensor([480000, 480000]))
    assert feats.shape == (2, 2, 3000, 384) and frame_lengths.tolist() == [3000, 3000]

    encoder = stack.branches["whisper"].encoder
    mel = torch.cat([extractor_features(w, 30) for w in wav])
    whisper = encoder(mel).last_hidden_state.permute(0, 2, 1).unsqueeze(1).repeat(1, 1, 1, 2)
    mfcc_fn = torchaudio.transforms.MFCC(
        sample_rate=16000,
        n_mfcc=128,
        melkwargs={"n_fft": 512, "win_length": 400, "hop_length": 160},
    )
    deltas = torchaudio.transforms.ComputeDeltas(win_length=400, mode="replicate")
    mfcc = mfcc_fn(wav.unsqueeze(1))
    delta = deltas(mfcc)
    mfcc = torch.cat([mfcc, delta, deltas(delta)], dim=2)[:, :, :, :3000]
    kawa = torch.cat([whisper, mfcc], dim=1)
    torch.testing.assert_close(feats.transpose(2, 3), kawa, atol=1e-3, rtol=1e-4)
    # The bilinear stack would instead stretch the 3000 Whisper frames to MFCC's 3001.
    stretched = FRONTENDS.get("stack").feature_spec(
        branches={"mfcc": branches["mfcc"], "whisper": branches["whisper"]}
    )
    assert stretched.num_frames(480000) == 3001


def test_stacking_without_resize_needs_the_references_hop_dim_and_frames():
    whisper = {"frontend": "whisper", "frontend_conf": {"config": TINY_WHISPER}}
    with pytest.raises(ConfigError, match=r"reference's hop and dim \(160, 16\).*'mfcc'"):
        FRONTENDS.build(
            "stack", {"branches": {"w": whisper, "mfcc": {"frontend": "mfcc"}}, "resize": "none"}
        )
    with pytest.raises(ConfigError, match="resize must be one of"):
        FRONTENDS.build("stack", {"branches": {"w": whisper}, "resize": "nearest"})
    # MFCC as the reference has one frame more than Whisper (N // 160 + 1): refused.
    mfcc = {"frontend": "mfcc", "frontend_conf": {"n_mfcc": 16, "n_mels": 16}}
    mfcc["frontend_conf"]["with_deltas"] = False
    stack = FRONTENDS.build("stack", {"branches": {"m": mfcc, "w": whisper}, "resize": "none"})
    with pytest.raises(ValueError, match=r"branch 'w' gives fewer frames than the reference"):
        stack(*batch([4000]))


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    root = tmp_path_factory.mktemp("whisper")
    data = TrainingData(
        make_toy_data_dir(root, "train", 16, 0), make_toy_data_dir(root, "dev", 8, 1)
    )
    return root, data


def whisper_detector(
    root: Path, name: str, frontend_conf: dict, extra: dict | None = None, **train
) -> dict:
    spec = {
        **tiny_detector(crop_seconds=0.5, epochs=2, **train),
        "frontend": "whisper",
        "frontend_conf": {"config": TINY_WHISPER, **frontend_conf},
        "model_conf": SMALL_RESNET,
        **(extra or {}),
    }
    (root / f"{name}.yaml").write_text(yaml.safe_dump(spec))
    return resolve_file(root / f"{name}.yaml")


def test_a_frozen_encoder_gives_the_same_features_from_the_stage_2_cache(toy):
    root, data = toy
    # Stage 2 builds the branch anew: a saved model, not a random draw, gives it the same weights.
    torch.manual_seed(0)
    WhisperModel(WhisperConfig(**TINY_WHISPER)).save_pretrained(root / "model")
    frozen = {"model": str(root / "model"), "config": None, "trainable": False}
    config = whisper_detector(root, "frozen", frozen)
    save_config(config, root / "exp/frozen/config.yaml")
    detector = build_detector(config).eval()
    assert detector.cacheable() == ["whisper"]
    out = root / "dump/whisper/feats.1"
    options = ["--config", str(root / "exp/frozen/config.yaml"), "--branch", "whisper"]
    make_feats.main([*options, "--ngpu", "0", "--data_dir", str(data.train_dir), "--out", str(out)])
    plan = detector.crop_plan(0.5)
    labels = read_labels(data.train_dir)
    scp = out.with_name("feats.1.scp")
    cached = TrainingExamples(ExampleReader(data.train_dir, plan, {"whisper": scp}), labels, seed=5)
    computed = TrainingExamples(ExampleReader(data.train_dir, plan), labels, seed=5)
    indices = list(range(len(cached)))
    with_cache = cached.collate([cached[i] for i in indices])
    without = computed.collate([computed[i] for i in indices])
    assert "whisper" in with_cache.cached and not without.cached
    torch.testing.assert_close(
        detector.features(with_cache)["whisper"],
        detector.features(without)["whisper"],
        rtol=1e-4,
        atol=1e-5,
    )


def test_freezing_then_fine_tuning_with_its_own_learning_rate(toy):
    root, data = toy
    groups = {"optim_groups": {"inputs.whisper": {"lr_scale": 0.1}}}
    config = whisper_detector(root, "schedule", {"tile": 1}, groups, freeze={"whisper": 1})
    save_config(config, root / "exp/schedule/config.yaml")
    trainer = Trainer(root / "exp/schedule", config, data, torch.device("cpu"))
    assert trainer.detector.cacheable() == []  # trainable: computed in the detector
    groups = build_optimizers(trainer.detector, config)[0].param_groups
    lrs = {group["name"]: group["lr"] for group in groups}
    assert lrs["inputs.whisper"] == pytest.approx(0.1 * lrs["model"])
    encoder = trainer.detector.inputs["whisper"]
    before = {k: v.clone() for k, v in encoder.state_dict().items()}
    writer = SummaryWriter(str(root / "tb"))
    trainer._train_epoch(1, writer)
    assert all(p.grad is None and not p.requires_grad for p in encoder.parameters())
    assert all(torch.equal(before[k], v) for k, v in encoder.state_dict().items())
    trainer._train_epoch(2, writer)
    after = encoder.state_dict()
    assert not torch.equal(before["encoder.conv1.weight"], after["encoder.conv1.weight"])
    assert torch.equal(
        before["encoder.embed_positions.weight"], after["encoder.embed_positions.weight"]
    )


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_batched_equals_alone_on_cuda():
    frontend = build().eval()
    wav, lengths = batch(LENGTHS)
    cpu = [frontend(wav[i : i + 1, :n], lengths[i : i + 1])[0][0] for i, n in enumerate(LENGTHS)]
    feats, frame_lengths = frontend.cuda()(wav.cuda(), lengths.cuda())
    for i, alone in enumerate(cpu):
        frames = int(frame_lengths[i])
        torch.testing.assert_close(feats[i, :, :frames].cpu(), alone, atol=1e-4, rtol=1e-3)

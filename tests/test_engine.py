"""The detector engine: crops in seconds, the stage-2 cache as a pure optimisation (same batch
tensors with and without it), batched stage 2, optimizer groups."""

from __future__ import annotations

import itertools
import math

import kaldiio
import numpy as np
import pytest
import torch
import yaml

from antispoof.bin import make_feats
from antispoof.config import ConfigError, resolve_file, save_config
from antispoof.data.batch import Batch
from antispoof.data.crops import CropPlan
from antispoof.data.dataset import (
    AudioTable,
    ExampleReader,
    ScoringExamples,
    SegmentTrainingExamples,
    TrainingExamples,
    read_labels,
)
from antispoof.detector import build_detector
from antispoof.frontends.base import FeatureSpec
from antispoof.scoring import score_utterances, scoring_reader
from antispoof.training.trainer import build_optimizers
from tiny_configs import tiny_detector
from toy_data import make_toy_data_dir

TINY = tiny_detector(crop_seconds=1.0, epochs=1)
CROP = 1.0  # seconds: the toy utterances last 0.5 to 2 s, so some are shorter than a crop


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    root = tmp_path_factory.mktemp("engine")
    data_dir = make_toy_data_dir(root, "train", 24, 3)
    (root / "tiny.yaml").write_text(yaml.safe_dump(TINY))
    config = resolve_file(root / "tiny.yaml")
    save_config(config, root / "exp" / "config.yaml")
    out = root / "dump" / "feats.1"
    options = ["--config", str(root / "exp/config.yaml"), "--branch", "lfcc", "--ngpu", "0"]
    make_feats.main(
        [*options, "--data_dir", str(data_dir), "--out", str(out), "--batch_seconds", "5"]
    )
    return root, data_dir, config, root / "dump" / "feats.1.scp"


def lfcc_spec(hop: int = 160) -> FeatureSpec:
    return FeatureSpec(1, 60, hop, 2 * hop, "pad_end", context=2 * hop)


def test_crop_starts_lie_on_every_branch_grid_and_fit_every_branch():
    specs = {"a": lfcc_spec(160), "b": FeatureSpec(2, 32, 320, 400, "valid")}
    plan = CropPlan(specs, {"a": False, "b": True}, samples=16000)
    assert plan.grid == 320
    assert plan.margin == 640  # LFCC: a frame's 320 samples plus 320 of delta context
    assert plan.frames("a") == 100  # a frozen branch: N // hop frames of the whole utterance
    assert plan.frames("b") == 49  # a trainable branch: what the encoder gives for N samples
    lengths = plan.utterance_lengths(40000)
    last = plan.last_start(lengths)
    assert last % 320 == 0 and last + 16000 <= 40000
    # Frame-wise, the frozen branch still has its 100 frames from the last start.
    assert last // 160 + 100 <= lengths["a"]
    assert plan.last_start(plan.utterance_lengths(12000)) < 0  # too short: repeat-padded
    starts = plan.segment_starts(lengths, 8000)
    assert starts[0] == 0 and starts[-1] == last
    assert all(b - a <= 8000 for a, b in itertools.pairwise(starts))
    assert plan.crop(640, 40000).window_start == 0
    assert plan.crop(9600, 40000).window_end == 9600 + 16000 + 640
    with pytest.raises(ValueError, match="not a multiple of the grid"):
        plan.crop(100, 40000)


def test_training_batches_are_the_same_with_and_without_the_cache(toy):
    _, data_dir, config, scp = toy
    detector = build_detector(config).eval()
    plan = detector.crop_plan(CROP)
    labels = read_labels(data_dir)
    cached = TrainingExamples(ExampleReader(data_dir, plan, {"lfcc": scp}), labels, seed=5)
    computed = TrainingExamples(ExampleReader(data_dir, plan), labels, seed=5)
    assert not cached.reader.needs_audio  # the cache spares reading the audio at all
    lengths = [len(wav) for wav in map(AudioTable(data_dir, 16000).read, cached.utts)]
    assert min(lengths) < plan.samples < max(lengths)  # short and long utterances both
    for epoch in (1, 2):
        cached.set_epoch(epoch)
        computed.set_epoch(epoch)
        indices = list(range(len(cached)))
        with_cache = cached.collate([cached[i] for i in indices])
        without = computed.collate([computed[i] for i in indices])
        assert "lfcc" in with_cache.cached and not without.cached
        torch.testing.assert_close(
            detector.features(with_cache)["lfcc"],
            detector.features(without)["lfcc"],
            rtol=0,
            atol=1e-4,
        )
        assert torch.equal(with_cache.target, without.target)


def test_crops_change_with_the_epoch_and_repeat_for_the_same_epoch(toy):
    _, data_dir, config, _ = toy
    detector = build_detector(config).eval()
    examples = TrainingExamples(
        ExampleReader(data_dir, detector.crop_plan(CROP)), read_labels(data_dir), seed=5
    )
    long = max(range(len(examples)), key=lambda i: len(examples[i]["wav"]))
    offsets = []
    for epoch in (1, 2, 3, 1):
        examples.set_epoch(epoch)
        example = examples[long]
        offsets.append((example["wav"][example["offset"] :][:100]).sum().item())
    assert offsets[0] == offsets[3]
    assert len(set(offsets[:3])) > 1


def test_segment_training_takes_every_scoring_segment_of_every_utterance(toy):
    _, data_dir, config, scp = toy
    detector = build_detector(config).eval()
    plan = detector.crop_plan(CROP)
    labels = read_labels(data_dir)
    hop = 4800
    training = SegmentTrainingExamples(ExampleReader(data_dir, plan, {"lfcc": scp}), labels, 5, hop)
    scoring = ScoringExamples(ExampleReader(data_dir, plan), training.utts, hop)
    expected = [segment for index in range(len(scoring)) for segment in scoring[index]]
    assert len(training) == len(expected) > len(training.utts)  # long utterances give several
    for index, scored in enumerate(expected):
        example = training[index]
        assert example["utt"] == scored["utt"]
        assert example["label"] == labels[example["utt"]]
        torch.testing.assert_close(
            example["cached"]["lfcc"],
            detector.features(ScoringExamples.collate([[scored]]))["lfcc"][0],
            rtol=0,
            atol=1e-4,
        )


def test_segment_training_settings_are_checked(toy):
    tiny = toy[0] / "tiny.yaml"
    with pytest.raises(ConfigError, match="crops must be one of random, segments"):
        resolve_file(tiny, ["train.crops=all"])
    with pytest.raises(ConfigError, match="segment_hop_seconds applies only"):
        resolve_file(tiny, ["train.segment_hop_seconds=0.5"])
    assert resolve_file(tiny, ["train.crops=segments"])["train"]["segment_hop_seconds"] is None


@pytest.mark.parametrize("mode", ["segments", "full"])
def test_scores_are_the_same_with_and_without_the_cache(toy, mode):
    _, data_dir, config, scp = toy
    detector = build_detector(config).eval()
    inference = {**config["inference"], "mode": mode}
    utts = sorted(AudioTable(data_dir, 16000).paths)
    cpu = torch.device("cpu")
    scores = [
        score_utterances(
            detector,
            scoring_reader(detector, data_dir, inference, caches),
            utts,
            inference,
            cpu,
        )
        for caches in ({"lfcc": scp}, None)
    ]
    assert scores[0] == pytest.approx(scores[1], abs=1e-4)


def test_scoring_segments_cover_each_utterance(toy):
    _, data_dir, config, _ = toy
    detector = build_detector(config)
    reader = scoring_reader(detector, data_dir, config["inference"])
    utts = sorted(AudioTable(data_dir, 16000).paths)
    dataset = ScoringExamples(reader, utts, hop_samples=4800)
    for index, utt in enumerate(utts):
        length = len(AudioTable(data_dir, 16000).read(utt))
        segments = dataset[index]
        expected = max(1, math.ceil((length - 320 - 16000) / 4800) + 1)
        assert len(segments) in (expected, expected + 1)
        assert all(segment["utt_index"] == index for segment in segments)


def test_stage_2_batches_by_length_and_equals_one_utterance_at_a_time(toy):
    _, data_dir, config, scp = toy
    detector = build_detector(config).eval()
    frontend = detector.inputs["lfcc"]
    audio = AudioTable(data_dir, 16000)
    stored = kaldiio.load_scp(str(scp))
    for utt in audio.paths:
        wav = torch.from_numpy(audio.read(utt))
        with torch.no_grad():
            alone, frames = frontend(wav[None], torch.tensor([len(wav)]))
        cached = np.asarray(stored[utt])
        assert cached.shape == (int(frames[0]), 1, 60)
        np.testing.assert_allclose(cached, alone[0].permute(1, 0, 2).numpy(), atol=1e-4)
    assert make_feats.length_sorted_batches([5, 1, 9, 3], budget=10) == [[2], [0, 3], [1]]


def test_optimizer_groups_scale_learning_rates_and_give_parts_their_own(toy):
    root, _, _, _ = toy
    spec = {
        **TINY,
        "optim_groups": {"model": {"lr_scale": 0.5}, "loss": {"optim": "sgd"}},
        "optim_conf": {"lr": 0.002},
    }
    (root / "groups.yaml").write_text(yaml.safe_dump(spec))
    config = resolve_file(root / "groups.yaml")
    optimizers = build_optimizers(build_detector(config), config)
    assert [type(o).__name__ for o in optimizers] == ["Adam", "SGD"]
    assert [(g["name"], g["lr"]) for g in optimizers[0].param_groups] == [("model", 0.001)]
    assert optimizers[1].param_groups[0]["lr"] == pytest.approx(0.0003)  # the inherited one


def test_batch_augmentation_acts_in_training_only(toy):
    root, data_dir, _, _ = toy
    spec = {**TINY, "augment": {"random_specmix": {"p": 1.0, "max_bands": 3, "gamma": 0.3}}}
    (root / "mixed.yaml").write_text(yaml.safe_dump(spec))
    config = resolve_file(root / "mixed.yaml")
    torch.manual_seed(0)
    detector = build_detector(config)
    reader = scoring_reader(detector, data_dir, config["inference"])
    utts = sorted(AudioTable(data_dir, 16000).paths)
    cpu = torch.device("cpu")
    first = score_utterances(detector, reader, utts, config["inference"], cpu)
    again = score_utterances(detector, reader, utts, config["inference"], cpu)
    assert first == again  # scoring never mixes examples
    batch = TrainingExamples(
        ExampleReader(data_dir, detector.crop_plan(CROP)), read_labels(data_dir), 0
    )
    examples = batch.collate([batch[i] for i in range(8)])
    detector.train()
    torch.manual_seed(1)
    mixed_loss, _ = detector(examples)
    detector.augmentations = torch.nn.ModuleList()
    torch.manual_seed(1)
    plain_loss, _ = detector(examples)
    assert not torch.equal(mixed_loss, plain_loss)  # in training, p = 1 mixes every example


def test_a_pinning_data_loader_pins_every_tensor_a_batch_moves(monkeypatch):
    """DataLoader(pin_memory=True) hands each batch to torch's `pin_memory`, which pins a type
    of its own only through that type's `pin_memory()` and lets a dataclass through as it is.
    Pinning takes a GPU, so here each pinned tensor is a marked copy (test_gpu.py pins on CUDA)."""
    pinned: list[torch.Tensor] = []

    def pin(tensor: torch.Tensor) -> torch.Tensor:
        pinned.append(tensor.clone())
        return pinned[-1]

    monkeypatch.setattr(torch.Tensor, "pin_memory", pin)
    batch = Batch(
        utts=["a", "b"],
        wav=torch.randn(2, 320),
        lengths=torch.tensor([320, 300]),
        offsets=torch.tensor([0, 160]),
        crop_samples=160,
        frames={"cqt": 1},
        target=torch.tensor([[1.0, 0.0], [0.0, 1.0]]),
        cached={"cqt": torch.randn(2, 2, 1, 84)},
        utt_index=torch.tensor([0, 1]),
    )
    result = torch.utils.data._utils.pin_memory.pin_memory(batch)
    assert isinstance(result, Batch)
    moved = [result.wav, result.lengths, result.offsets, result.target, result.cached["cqt"]]
    assert len(pinned) == len(moved)
    for tensor, original in zip(
        moved,
        [batch.wav, batch.lengths, batch.offsets, batch.target, batch.cached["cqt"]],
        strict=True,
    ):
        assert any(tensor is copy for copy in pinned)
        assert torch.equal(tensor, original)
    assert result.utts == batch.utts and result.utt_index is batch.utt_index  # stays on the host

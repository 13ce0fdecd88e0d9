"""The engine on a CUDA device: training in bf16 autocast, cache against on-device features,
scores against the CPU's and in each train.precision against float32, pinned batches. Skipped
without a GPU (the device tool runs them); benchmarks/precision.py measures speed and memory."""

from __future__ import annotations

import copy

import pytest
import torch
import yaml
from torch.utils.data import DataLoader

from antispoof.bin import make_feats
from antispoof.config import resolve_file, save_config
from antispoof.data.dataset import AudioTable, ExampleReader, TrainingExamples, read_labels
from antispoof.detector import build_detector
from antispoof.scoring import score_utterances, scoring_reader
from antispoof.training.device import autocast_dtype
from antispoof.training.trainer import Trainer, TrainingData
from tiny_configs import tiny_detector
from toy_data import make_toy_data_dir

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]

TINY = tiny_detector(crop_seconds=1.0, epochs=2)


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    root = tmp_path_factory.mktemp("gpu")
    (root / "tiny.yaml").write_text(yaml.safe_dump(TINY))
    config = resolve_file(root / "tiny.yaml")
    save_config(config, root / "exp" / "config.yaml")
    train = make_toy_data_dir(root, "train", 32, 0)
    dev = make_toy_data_dir(root, "dev", 16, 1)
    out = root / "dump" / "feats"
    options = ["--config", str(root / "exp/config.yaml"), "--branch", "lfcc", "--ngpu", "1"]
    make_feats.main([*options, "--data_dir", str(train), "--out", str(out)])
    return root, config, train, dev, root / "dump" / "feats.scp"


def test_training_in_bf16_on_the_gpu_gives_finite_losses_and_a_useful_model(toy):
    root, config, train, dev, _ = toy
    summary = Trainer(root / "exp", config, TrainingData(train, dev), torch.device("cuda")).run()
    assert all(torch.isfinite(torch.tensor(r["train_loss"])) for r in summary["history"])
    assert summary["best_dev_eer"] < 0.5


def test_gpu_features_equal_the_cache_made_on_the_gpu(toy):
    _, config, train, _, scp = toy
    detector = build_detector(config).cuda().eval()
    plan = detector.crop_plan(1.0)
    labels = read_labels(train)
    cached = TrainingExamples(ExampleReader(train, plan, {"lfcc": scp}), labels, seed=1)
    computed = TrainingExamples(ExampleReader(train, plan), labels, seed=1)
    indices = list(range(len(cached)))
    with_cache = cached.collate([cached[i] for i in indices]).to("cuda")
    without = computed.collate([computed[i] for i in indices]).to("cuda")
    torch.testing.assert_close(
        detector.features(with_cache)["lfcc"], detector.features(without)["lfcc"], rtol=0, atol=1e-3
    )


def test_scores_on_the_gpu_match_the_cpu(toy):
    _, config, _, dev, _ = toy
    torch.manual_seed(0)
    detector = build_detector(config).eval()
    utts = sorted(AudioTable(dev, 16000).paths)
    reader = scoring_reader(detector, dev, config["inference"])
    on_cpu = score_utterances(detector, reader, utts, config["inference"], torch.device("cpu"))
    detector.cuda()
    on_gpu = score_utterances(detector, reader, utts, config["inference"], torch.device("cuda"))
    assert on_gpu == pytest.approx(on_cpu, abs=2e-3)


def test_scores_in_every_precision_keep_float32_resolution(toy):
    """The branches and model in bf16 (or auto's choice), the score head in float32: as many
    distinct scores as in float32, within the model's own bfloat16 rounding."""
    _, config, _, dev, _ = toy
    utts = sorted(AudioTable(dev, 16000).paths)
    scores = {}
    for precision in ("fp32", "bf16", "auto"):
        settings = copy.deepcopy(config)
        settings["train"]["precision"] = precision
        torch.manual_seed(0)
        detector = build_detector(settings).cuda().eval()
        reader = scoring_reader(detector, dev, settings["inference"])
        cuda = torch.device("cuda", torch.cuda.current_device())
        scores[precision] = score_utterances(detector, reader, utts, settings["inference"], cuda)
    for precision in ("bf16", "auto"):
        assert len(set(scores[precision].values())) == len(set(scores["fp32"].values()))
        assert scores[precision] == pytest.approx(scores["fp32"], abs=2e-2)


def test_auto_precision_is_bf16_where_the_gpu_has_it_else_fp16():
    cuda = torch.device("cuda", torch.cuda.current_device())
    native = torch.cuda.get_device_capability(cuda)[0] >= 8
    assert autocast_dtype(cuda, "auto") == (torch.bfloat16 if native else torch.float16)
    assert autocast_dtype(cuda, "bf16") == (torch.bfloat16 if native else None)


def test_a_pinning_loader_gives_pinned_batches(toy):
    _, config, train, _, scp = toy
    plan = build_detector(config).crop_plan(1.0)
    labels = read_labels(train)
    for caches in ({}, {"lfcc": scp}):
        examples = TrainingExamples(ExampleReader(train, plan, caches), labels, seed=1)
        loader = DataLoader(examples, batch_size=4, collate_fn=examples.collate, pin_memory=True)
        batch = next(iter(loader))
        moved = [batch.target, batch.offsets, *batch.cached.values()]
        if not caches:
            moved.append(batch.wav)
        assert all(tensor.is_pinned() for tensor in moved)

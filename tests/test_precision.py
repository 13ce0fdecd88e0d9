"""Precision: the input branches and the model run under the autocast of `train.precision`, the
loss and score heads in float32 (antispoof.detector); the precision each device gets
(antispoof.training.device.autocast_dtype); float16 training with scaled gradients.

bfloat16 and float16 autocast run on a CPU too, so these tests run here with the GPU's choice
patched in for the CPU (`gpu_policy`); tests/test_gpu.py compares the scores on CUDA.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch
import yaml

import antispoof.detector
from antispoof.checkpoint import load_checkpoint, save_checkpoint
from antispoof.config import resolve_file, save_config
from antispoof.data.dataset import AudioTable, ExampleReader, TrainingExamples, read_labels
from antispoof.detector import build_detector
from antispoof.registry import ConfigError
from antispoof.scoring import score_utterances, scoring_reader
from antispoof.training import device as device_module
from antispoof.training.device import autocast_dtype
from antispoof.training.trainer import Trainer, TrainingData
from tiny_configs import tiny_detector
from toy_data import make_toy_data_dir

CPU = torch.device("cpu")
# The size of the ASVspoof 2019 LA evaluation set: in bfloat16 its scores took ~1,300 values.
NUM_TRIALS = 71_237
LOSSES = {
    "ocsoftmax": {"loss": "ocsoftmax"},
    "softmax": {"loss": "softmax"},
    "single_center": {"loss": "single_center"},
    "sum": {
        "loss": "sum",
        "loss_conf": {
            "terms": {"ce": {"loss": "softmax"}, "sc": {"loss": "single_center"}},
            "scorer": "ce",
        },
    },
}


def tiny_config(root: Path, name: str, **settings: object) -> dict:
    (root / f"{name}.yaml").write_text(yaml.safe_dump({**tiny_detector(), **settings}))
    return resolve_file(root / f"{name}.yaml")


@pytest.fixture
def gpu_policy(monkeypatch: pytest.MonkeyPatch):
    """Make the CPU compute as a GPU would under `train.precision` (bf16 native): returns a
    function that sets the autocast dtype every detector takes from then on."""

    def use(dtype: torch.dtype | None) -> None:
        monkeypatch.setattr(antispoof.detector, "autocast_dtype", lambda device, precision: dtype)

    return use


@pytest.fixture(scope="module")
def toy(tmp_path_factory) -> tuple[Path, Path, Path]:
    root = tmp_path_factory.mktemp("precision")
    return root, make_toy_data_dir(root, "train", 16, 0), make_toy_data_dir(root, "dev", 48, 1)


@pytest.mark.parametrize("loss", sorted(LOSSES))
def test_scores_of_bf16_embeddings_keep_float32_resolution(tmp_path: Path, loss: str) -> None:
    torch.manual_seed(0)
    detector = build_detector(tiny_config(tmp_path, loss, **LOSSES[loss])).eval()
    dim = detector.model.embedding_dim
    # What a bfloat16 model gives the head: embeddings in bfloat16, around a class centre.
    centre = torch.randn(dim)
    embeddings = (centre + 0.8 * torch.randn(NUM_TRIALS, dim)).bfloat16()
    with torch.no_grad():
        float32 = detector.score_embeddings(embeddings.float())
        with torch.autocast("cpu", dtype=torch.bfloat16):  # a caller's autocast stays out
            under_autocast = detector.score_embeddings(embeddings)
            unguarded = detector.loss.score(embeddings)  # what the heads computed before
    assert under_autocast.dtype == torch.float32
    torch.testing.assert_close(under_autocast, float32, rtol=1e-4, atol=0)
    distinct = float32.unique().numel()
    assert under_autocast.unique().numel() == distinct
    assert distinct > 0.99 * NUM_TRIALS  # bfloat16 embeddings still give distinct scores
    if loss in ("ocsoftmax", "softmax", "sum"):  # cosine and logits go to bfloat16 unguarded
        assert unguarded.unique().numel() < distinct / 20


@pytest.mark.parametrize("loss", sorted(LOSSES))
def test_the_model_runs_in_bf16_and_the_heads_in_float32(
    tmp_path: Path, toy: tuple[Path, Path, Path], gpu_policy, loss: str
) -> None:
    _, train_dir, _ = toy
    gpu_policy(torch.bfloat16)
    detector = build_detector(tiny_config(tmp_path, loss, **LOSSES[loss]))
    seen: list[tuple[str, torch.dtype, bool]] = []
    detector.model.register_forward_hook(
        lambda module, args, output: seen.append(
            ("model", output.dtype, torch.is_autocast_enabled("cpu"))
        )
    )

    def head(name):
        def record(embeddings: torch.Tensor, *rest: torch.Tensor):
            seen.append((name, embeddings.dtype, torch.is_autocast_enabled("cpu")))
            return getattr(type(detector.loss), name)(detector.loss, embeddings, *rest)

        return record

    detector.loss.forward = head("forward")
    detector.loss.score = head("score")
    examples = TrainingExamples(
        ExampleReader(train_dir, detector.crop_plan(1.0)), read_labels(train_dir), seed=1
    )
    batch = examples.collate([examples[i] for i in range(8)])
    loss_value, _ = detector.train()(batch)
    scores = detector.eval().score(batch)
    # (model, its output's dtype, autocast on) and (head, its input's dtype, autocast on);
    # OC-Softmax's forward calls its score too.
    assert [entry for entry in seen if entry[0] == "model"] == [("model", torch.bfloat16, True)] * 2
    heads = [entry for entry in seen if entry[0] != "model"]
    assert {name for name, _, _ in heads} == {"forward", "score"}
    assert all(dtype == torch.float32 and not autocast for _, dtype, autocast in heads), heads
    assert loss_value.dtype == scores.dtype == torch.float32


def test_bf16_scores_of_a_data_directory_are_float32_and_distinct(
    tmp_path: Path, toy: tuple[Path, Path, Path], gpu_policy
) -> None:
    _, _, dev_dir = toy
    config = tiny_config(tmp_path, "scores")
    torch.manual_seed(0)
    detector = build_detector(config).eval()
    utts = sorted(AudioTable(dev_dir, 16000).paths)
    reader = scoring_reader(detector, dev_dir, config["inference"])
    float32 = score_utterances(detector, reader, utts, config["inference"], CPU)
    gpu_policy(torch.bfloat16)
    torch.manual_seed(0)
    detector = build_detector(config).eval()  # the same weights, under the GPU's policy
    bf16 = score_utterances(detector, reader, utts, config["inference"], CPU)
    assert detector.autocast_dtype(CPU) == torch.bfloat16
    assert len(set(bf16.values())) == len(set(float32.values())) == len(utts)
    # The model's own bfloat16 rounding remains (about 3e-3 on these cosines in [-1, 1]); the
    # head adds none.
    assert bf16 == pytest.approx(float32, abs=2e-2)


def test_the_precision_each_device_gets(monkeypatch: pytest.MonkeyPatch, caplog) -> None:
    cuda = torch.device("cuda", 0)
    for precision in ("bf16", "auto", "fp32"):
        assert autocast_dtype(CPU, precision) is None  # the CPU computes in float32
    monkeypatch.setattr(device_module, "native_bf16", lambda device: True)  # A100, H100
    assert autocast_dtype(cuda, "bf16") == autocast_dtype(cuda, "auto") == torch.bfloat16
    assert autocast_dtype(cuda, "fp32") is None
    monkeypatch.setattr(device_module, "native_bf16", lambda device: False)  # T4, V100
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device: "Tesla T4")
    assert autocast_dtype(cuda, "auto") == torch.float16
    assert autocast_dtype(cuda, "fp32") is None
    with caplog.at_level(logging.WARNING, logger="antispoof.device"):
        assert autocast_dtype(cuda, "bf16") is None
    assert "Tesla T4 only emulates bfloat16" in caplog.text
    assert "computing in float32" in caplog.text


def test_a_detector_decides_its_precision_once_per_device(monkeypatch, tmp_path: Path) -> None:
    calls = []

    def policy(device: torch.device, precision: str) -> None:
        calls.append((device, precision))

    monkeypatch.setattr(antispoof.detector, "autocast_dtype", policy)
    detector = build_detector(tiny_config(tmp_path, "once", train={"precision": "auto"}))
    for _ in range(3):
        detector.autocast_dtype(CPU)
    assert calls == [(CPU, "auto")]


def test_precision_values(tmp_path: Path) -> None:
    assert tiny_config(tmp_path, "auto", train={"precision": "auto"})["train"]["precision"] == (
        "auto"
    )
    with pytest.raises(ConfigError, match=r"train\.precision must be one of bf16, auto, fp32"):
        tiny_config(tmp_path, "fp16", train={"precision": "fp16"})


def test_float16_training_scales_gradients_and_resumes(
    tmp_path: Path, toy: tuple[Path, Path, Path], gpu_policy
) -> None:
    """`auto` on a GPU without native bfloat16: float16 autocast, gradients scaled, the scaler's
    state saved in last.pt and restored on resumption."""
    _, train_dir, dev_dir = toy
    gpu_policy(torch.float16)
    config = tiny_config(tmp_path, "fp16", train={**tiny_detector()["train"], "epochs": 1})
    exp_dir = tmp_path / "exp"
    save_config(config, exp_dir / "config.yaml")
    data = TrainingData(train_dir, dev_dir)
    trainer = Trainer(exp_dir, config, data, CPU)
    assert trainer.scaler.is_enabled()
    initial_scale = trainer.scaler.get_scale()
    summary = trainer.run()
    assert torch.isfinite(torch.tensor(summary["history"][0]["train_loss"]))
    # The first steps' scaled float16 gradients overflow: the scaler skipped them and lowered
    # its scale, where unscaled steps would have written infinities into the weights.
    assert trainer.scaler.get_scale() < initial_scale
    assert all(torch.isfinite(p).all() for p in trainer.detector.parameters())
    last = exp_dir / "checkpoints" / "last.pt"
    assert load_checkpoint(last)["scaler"]["scale"] == trainer.scaler.get_scale()
    # A scale that only the checkpoint holds comes back on resumption.
    state = load_checkpoint(last)
    state["scaler"]["scale"] = 1024.0
    save_checkpoint(state, last)
    resumed = Trainer(exp_dir, config, data, CPU)
    resumed.resume_if_possible()
    assert resumed.scaler.get_scale() == 1024.0


@pytest.mark.parametrize("dtype", [None, torch.bfloat16])
def test_float32_and_bfloat16_training_do_not_scale(
    tmp_path: Path, toy: tuple[Path, Path, Path], gpu_policy, dtype: torch.dtype | None
) -> None:
    _, train_dir, dev_dir = toy
    gpu_policy(dtype)
    trainer = Trainer(
        tmp_path, tiny_config(tmp_path, "plain"), TrainingData(train_dir, dev_dir), CPU
    )
    assert not trainer.scaler.is_enabled()

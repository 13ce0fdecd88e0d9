"""Export (antispoof.export, bin/export): every registered architecture, with the frontends egs/
uses it with, exported to ONNX (run by ONNX Runtime) and to TorchScript, scores the same windows
as torch within TOLERANCE; the exported wrapper scores as `Detector.score` scores full windows;
the files carry their metadata; what cannot be exported is refused with its reason; the
published AASIST, real weights, goes through the command end to end.

The tolerance is absolute, 1e-4 on every output (antispoof.export.TOLERANCE): a score decides by
its distance to a threshold, and a relative error means nothing near 0, where decisions are
made. So that the comparison can fail, every case's outputs spread over the test windows by far
more than the tolerance."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from antispoof import __version__
from antispoof.bin import detect
from antispoof.bin import export as export_command
from antispoof.config import load_config, merge, resolve, resolve_file
from antispoof.decision import NATURAL
from antispoof.detector import Detector, build_detector
from antispoof.export import (
    FORMATS,
    LOG_ODDS,
    SCORE,
    TOLERANCE,
    ExportError,
    OnnxDetector,
    WindowScorer,
    export_detector,
    load_torchscript,
    weights_digest,
    window_seconds,
)
from antispoof.frontends import FRONTENDS
from antispoof.inference import TorchWindowScorer, load_model
from antispoof.markers import settings_digest
from antispoof.models import MODELS
from tiny_configs import SMALL_RESNET, TINY_WAV2VEC2

pytestmark = pytest.mark.long

REPO = Path(__file__).resolve().parents[1]
MINI = REPO / "egs/mini/conf"
CPU = torch.device("cpu")


def mini(name: str, changes: dict[str, Any] | None = None) -> dict[str, Any]:
    """A mini recipe config with `changes` merged over it, resolved."""
    return resolve(merge(load_config(MINI / name), changes or {}))


# Tiny configs of every registered architecture with the frontends egs/ uses it with, on windows
# of about a second (the graph is the same at any window; only the export takes longer). Export
# time grows with the graph: where a model repeats a block, the cases keep the fewest repeats
# that still have every kind of op (the CQT's three top octaves: two at the full rate, one after a
# halving; one live Mamba block per column).
CQT_THREE_OCTAVES = {"n_bins": 144, "fmin": 950.0}
# The mini configs' wav2vec 2.0 with one transformer layer of its three (each costs the export
# about a second).
ONE_SSL_LAYER = {"ssl": {"frontend_conf": {"layers": [1], "config": {"num_hidden_layers": 1}}}}
CASES: dict[str, Callable[[], dict[str, Any]]] = {
    "aasist-raw": lambda: mini("aasist_small.yaml", {"train": {"crop_seconds": 1.0}}),
    "resnet18-lfcc": lambda: mini("lfcc_resnet18_ocsoftmax.yaml", {"train": {"crop_seconds": 1.0}}),
    # The 2021 DF poster's 128-coefficient torchaudio LFCC, the mini recipe's ResNet width.
    "resnet18-lfcc_torchaudio": lambda: resolve_file(
        REPO / "egs/asvspoof2021_df/conf/lfcc128_resnet18_softmax.yaml",
        [f"model_conf.{key}={value}" for key, value in SMALL_RESNET.items()]
        + ["train.crop_seconds=1.0"],
    ),
    # MesoNet on the MFCC alone (the poster's MFCC row), and on the Whisper + MFCC stack.
    "mesonet-mfcc": lambda: mini(
        "mfcc_whisper_mesonet_softmax.yaml",
        {
            "inputs": {"whisper_mfcc": None, "mfcc": {"frontend": "mfcc"}},
            "train": {"crop_seconds": 1.0, "freeze": None},
        },
    ),
    "mesonet-whisper+mfcc": lambda: mini(
        "mfcc_whisper_mesonet_softmax.yaml", {"train": {"crop_seconds": 1.0}}
    ),
    "se_res2net-lfcc": lambda: mini("lfcc_se_res2net.yaml", {"train": {"crop_seconds": 1.0}}),
    "se_res2net-cqt": lambda: mini(
        "cqt_se_res2net.yaml",
        {"frontend_conf": CQT_THREE_OCTAVES, "train": {"crop_seconds": 1.024}},
    ),
    "mpif_res2net-spectrogram": lambda: mini(
        "mpif_res2net.yaml", {"train": {"crop_seconds": 1.04}}
    ),
    "xlsr_aasist-wav2vec2": lambda: mini(
        "xlsr_aasist_small.yaml", {"inputs": ONE_SSL_LAYER, "train": {"crop_seconds": 1.0}}
    ),
    # Two blocks per column, of which the first is live (antispoof.models.xlsr_mamba); an eighth
    # of a second (6 frames): the selective scan is a loop over frames, unrolled in the graph.
    "xlsr_mamba-wav2vec2": lambda: mini(
        "xlsr_mamba_small.yaml",
        {"inputs": ONE_SSL_LAYER, "model_conf": {"n_layers": 2}, "train": {"crop_seconds": 0.125}},
    ),
    "nes2net_x-wav2vec2": lambda: mini(
        "nes2net_x_small.yaml", {"inputs": ONE_SSL_LAYER, "train": {"crop_seconds": 1.0}}
    ),
    # AntiDeepfake scores whole files (inference.mode full); exported, it scores windows.
    "mean_pool-ssl": lambda: mini(
        "antideepfake_small.yaml",
        {"inputs": ONE_SSL_LAYER, "train": {"crop_seconds": 1.0}, "inference": {"mode": "first"}},
    ),
    "wavespec-wav2vec2+cqt": lambda: mini(
        "wavespec_small.yaml",
        {
            "inputs": {"cqt": {"frontend_conf": CQT_THREE_OCTAVES}},
            "train": {"crop_seconds": 1.024},
            "inference": {"segment_seconds": 1.024},
        },
    ),
    "late_fusion-lfcc+wav2vec2": lambda: resolve(
        {
            "inputs": {
                "lfcc": {"frontend": "lfcc"},
                "ssl": {
                    "frontend": "wav2vec2",
                    "frontend_conf": {
                        "config": {**TINY_WAV2VEC2, "num_hidden_layers": 1},
                        "layers": [1],
                    },
                },
            },
            "model": "late_fusion",
            "model_conf": {
                "branches": {
                    "lfcc": {"model": "resnet18", "model_conf": SMALL_RESNET},
                    "ssl": {"model": "resnet18", "model_conf": SMALL_RESNET},
                },
                "embedding_dim": 16,
            },
            "loss": "sum",
            "loss_conf": {
                "terms": {
                    "ce": {"loss": "softmax"},
                    "scl": {"loss": "single_center", "weight": 0.5},
                },
                "scorer": "ce",
            },
            "optim": "adam",
            "train": {"crop_seconds": 0.5, "freeze": {"ssl": 1}},
        }
    ),
}
# Registered architectures that export refuses, with the reason it gives: none.
REFUSED: dict[str, str] = {}


def detector_of(config: dict[str, Any]) -> Detector:
    torch.manual_seed(0)
    detector = build_detector(config)
    detector.set_epoch(config["train"]["epochs"])
    return detector.eval()


def window_samples(config: dict[str, Any]) -> int:
    rate = 16000
    return round(window_seconds(config) * rate)


def windows(samples: int, batch: int, seed: int = 1) -> np.ndarray:
    """`batch` float32 windows unlike each other: noise from -40 to -10 dB, every other one over a
    harmonic tone of its own pitch."""
    rng = np.random.default_rng(seed)
    t = np.arange(samples) / 16000
    rows = []
    for index in range(batch):
        f0 = 110.0 + 70.0 * index
        tone = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 5)) * 0.2 * (index % 2)
        rows.append(tone + 10 ** (-2 + index / 2) * rng.standard_normal(samples))
    return np.stack(rows).astype(np.float32)


def exported_outputs(path: Path, file_format: str, batch: np.ndarray) -> dict[str, np.ndarray]:
    """The outputs of an exported file on `batch`: ONNX in ONNX Runtime (one thread), TorchScript
    loaded with torch.jit.load and run as a user would (without torch.no_grad)."""
    if file_format == "onnx":
        return OnnxDetector(path, threads=1).score_windows(batch)
    module, metadata = load_torchscript(path)
    values = module(torch.from_numpy(batch))
    return {
        name: value.numpy()
        for name, value in zip(metadata["outputs"].split(","), values, strict=True)
    }


def file_metadata(path: Path, file_format: str) -> dict[str, str]:
    if file_format == "onnx":
        return OnnxDetector(path).metadata
    return load_torchscript(path)[1]


def test_every_registered_architecture_and_frontend_has_a_case_or_is_refused():
    """A newly registered model or frontend fails here until it has a case below (or a reason
    to be refused)."""
    configs = {name: case() for name, case in CASES.items()}
    covered = {config["model"] for config in configs.values()}
    assert covered | set(REFUSED) == set(MODELS.names())
    assert not covered & set(REFUSED)
    frontends = set()
    for config in configs.values():
        for branch in config["inputs"].values():
            frontends.add(branch["frontend"])
            for inner in (branch["frontend_conf"].get("branches") or {}).values():
                frontends.add(inner["frontend"])
    assert frontends == set(FRONTENDS.names())


@pytest.mark.parametrize("case", CASES)
def test_the_window_scorer_scores_as_the_detector_scores_full_windows(case):
    """The exported module scores a window as `antispoof.load` scores it in torch (each window
    an utterance of its own: Detector.embed on full windows), score and log-odds."""
    config = CASES[case]()
    detector = detector_of(config)
    samples = window_samples(config)
    batch = windows(samples, 3)
    scorer = WindowScorer(detector, samples)
    ours = scorer.score_windows(batch)
    scores, log_odds = TorchWindowScorer(detector, config, CPU)(batch)
    assert scorer.outputs == ([SCORE, LOG_ODDS] if detector.natural_decision else [SCORE])
    np.testing.assert_allclose(ours[SCORE], scores, rtol=0, atol=1e-6)
    if detector.natural_decision:
        np.testing.assert_allclose(ours[LOG_ODDS], log_odds, rtol=0, atol=1e-6)


# AASIST's ONNX export is the published model's, through the command, further down: the same
# graph exported twice would cost the suite 9 s.
EXPORTED_ELSEWHERE = {("aasist-raw", "onnx")}


@pytest.mark.parametrize(
    ("case", "file_format"),
    [
        (case, file_format)
        for case in CASES
        for file_format in FORMATS
        if (case, file_format) not in EXPORTED_ELSEWHERE
    ],
)
def test_every_architecture_exports_and_scores_as_torch(case, file_format, tmp_path):
    config = CASES[case]()
    detector = detector_of(config)
    samples = window_samples(config)
    path = tmp_path / f"{case}.{file_format}"
    report = export_detector(config, detector, path, file_format, case)
    assert path.is_file() and not list(tmp_path.glob(".*.tmp"))
    assert report.window_samples == samples and max(report.difference.values()) <= TOLERANCE
    scorer = WindowScorer(detector, samples)
    # Batches other than the export's check batch of 2: the batch axis is dynamic.
    for batch in (windows(samples, 3), windows(samples, 1, seed=2)):
        expected = scorer.score_windows(batch)
        actual = exported_outputs(path, file_format, batch)
        assert set(actual) == set(expected) == set(scorer.outputs)
        for name in scorer.outputs:
            assert actual[name].shape == (len(batch),)
            assert np.abs(actual[name] - expected[name]).max() <= TOLERANCE, name
    spread = max(np.ptp(value) for value in scorer.score_windows(windows(samples, 3)).values())
    assert spread > 10 * TOLERANCE  # the windows score apart: the comparison has power
    metadata = file_metadata(path, file_format)
    assert metadata["sample_rate"] == "16000"
    assert metadata["window_samples"] == str(samples)
    assert metadata["outputs"] == ",".join(scorer.outputs)
    assert metadata["input"] == "waveform"
    assert metadata["model"] == case
    assert metadata["config_sha256"] == settings_digest(config)
    assert metadata["weights_sha256"] == weights_digest(detector)
    assert metadata["antispoof_version"] == __version__


def test_refusals_name_their_reason(tmp_path):
    """No registered architecture is refused (REFUSED); a wav2vec2 encoder without an attention
    mask is, and an experiment scored whole (`inference.mode: full`) needs a window."""
    assert REFUSED == {}
    group_norm = {**TINY_WAV2VEC2, "feat_extract_norm": "group", "do_stable_layer_norm": False}
    config = mini(
        "xlsr_aasist_small.yaml",
        {"inputs": {"ssl": {"frontend_conf": {"config": group_norm, "layers": [2]}}}},
    )
    out = tmp_path / "refused.onnx"
    with pytest.raises(
        ExportError, match=r"^cannot export xlsr_aasist: .*without an attention mask"
    ):
        export_detector(config, detector_of(config), out, "onnx", "group-norm")
    assert not out.exists()
    whole = mini("aasist_small.yaml", {"inference": {"mode": "full"}})
    with pytest.raises(ExportError, match=r"inference.mode full .*--window_seconds"):
        export_detector(whole, detector_of(whole), out, "torchscript", "whole")
    assert window_seconds(whole, 1.5) == 1.5
    with pytest.raises(ExportError, match="unknown format 'tflite'"):
        export_detector(whole, detector_of(whole), out, "tflite", "whole")
    assert not out.exists()


def published_aasist() -> tuple[dict[str, Any], WindowScorer]:
    model = load_model("aasist")
    return model.config, WindowScorer(model.detector, 64600)


def test_the_export_command_writes_the_published_aasist_as_torch_scores_it(tmp_path, capsys):
    """Real weights, real-shaped input (64,600 samples): ONNX Runtime gives the torch scores and
    the classifier's own decisions."""
    out = tmp_path / "models" / "aasist.onnx"
    assert export_command.main(["--model", "aasist", "--format", "onnx", "--out", str(out)]) == 0
    line = capsys.readouterr().out
    assert line.startswith(f"wrote {out} (onnx, ") and "(batch, 64600) at 16000 Hz" in line
    assert "outputs score, log_odds; largest difference to torch" in line
    onnx = OnnxDetector(out)
    assert (onnx.window_samples, onnx.sample_rate, onnx.outputs) == (
        64600,
        16000,
        ["score", "log_odds"],
    )
    assert onnx.metadata["model"] == "aasist" and onnx.config["inference"]["mode"] == "first"
    config, scorer = published_aasist()
    assert onnx.config == config
    batch = windows(64600, 4)
    expected = scorer.score_windows(batch)
    actual = onnx.score_windows(batch)
    for name in (SCORE, LOG_ODDS):
        assert np.abs(actual[name] - expected[name]).max() <= TOLERANCE
    assert np.ptp(expected[SCORE]) > 10 * TOLERANCE
    np.testing.assert_array_equal(actual[LOG_ODDS] >= 0, expected[LOG_ODDS] >= 0)
    with pytest.raises(ValueError, match=r"windows of 64600 samples.*got shape \(2, 16000\)"):
        onnx.score_windows(batch[:2, :16000])
    assert onnx.rule is not None and onnx.rule.kind == NATURAL  # the published model's rule
    # detect on the exported file gives torch's rows on real speech (the reference recording).
    speech = REPO / "tests/reference/jfk_1961_inaugural_11s.flac"
    rows = {}
    for model in (str(out), "aasist"):
        assert detect.main(["--ngpu", "0", "--format", "json", "--model", model, str(speech)]) == 0
        rows[model] = json.loads(capsys.readouterr().out)
    (ours,), (theirs,) = rows[str(out)]["results"], rows["aasist"]["results"]
    assert len(ours["segments"]) == len(theirs["segments"]) == 3
    assert ours["score"] == pytest.approx(theirs["score"], abs=TOLERANCE)
    assert ours["decision"] == theirs["decision"]
    for window, torch_window in zip(ours["segments"], theirs["segments"], strict=True):
        assert window["score"] == pytest.approx(torch_window["score"], abs=TOLERANCE)
        assert window["decision"] == torch_window["decision"]


def test_the_export_command_writes_torchscript_and_errors_in_one_line(tmp_path, capsys):
    out = tmp_path / "aasist.pt"
    arguments = ["--model", "aasist", "--format", "torchscript", "--out", str(out)]
    assert export_command.main(arguments) == 0
    assert capsys.readouterr().out.startswith(f"wrote {out} (torchscript, torch.jit.trace)")
    module, metadata = load_torchscript(out)
    assert metadata["window_samples"] == "64600"
    _, scorer = published_aasist()
    batch = windows(64600, 2, seed=3)
    expected = scorer.score_windows(batch)
    score, log_odds = module(torch.from_numpy(batch))
    assert np.abs(score.numpy() - expected[SCORE]).max() <= TOLERANCE
    assert np.abs(log_odds.numpy() - expected[LOG_ODDS]).max() <= TOLERANCE
    # The error as a user sees it: one line from the command's own process, before the model is
    # looked for (there is none at that path).
    missing = tmp_path / "no-such-exp"
    command = [sys.executable, "-m", "antispoof.bin.export", "--model", str(missing)]
    failed = subprocess.run(
        [*command, "--format", "onnx", "--out", str(tmp_path / "x.onnx"), "--window_seconds", "0"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert failed.returncode == 1
    assert failed.stderr.strip().splitlines()[-1] == (
        "export: error: the window must be positive, not 0 s"
    )
    assert not (tmp_path / "x.onnx").exists()

"""A detector's scoring path as an ONNX or TorchScript file, and ONNX Runtime scoring of it.

The exported graph scores windows of waveform as `Detector.score` scores a batch of full
windows (every length the window, every crop at offset 0, so each branch sees exactly the
window): input `waveform`, float32 `(batch, samples)` mono at the model's sample rate, `samples`
the model's scoring window (`inference.segment_seconds`, by default the training crop: 64,600
for AASIST); outputs `score` `(batch,)`, higher for more bona fide, and, where the loss has a
decision of its own (`Loss.natural_decision`: a softmax output layer), `log_odds` `(batch,)`,
`logit_bonafide - logit_spoof`, the classifier's own decision (bona fide when >= 0) that detect
falls back to without a calibration. Cutting a file into windows, aggregating and deciding stay
with the caller: `antispoof.load` of the exported file (antispoof.inference) does them exactly
as for the torch model.

A window scored by the graph is a window scored by `antispoof.load` in torch
(inference.TorchWindowScorer: each window an utterance of its own), for every architecture.
(Stage 4's scoring of a corpus, antispoof.scoring, lets a frozen spectral branch read a margin
of the file around each segment; its segment edges differ slightly from a window scored alone.)

The batch axis is dynamic and the time axis is fixed. A fixed window is what the recipes and
detect score and what the model was trained on, and the frontends and models size their work
from it in Python (frames per crop `N // hop`, Whisper's window, AASIST's graph pooling keeps
`int(nodes * ratio)` nodes): a graph traced at one length holds those sizes as constants, and
at another length would be wrong or fail, not merely slower. A different window is a new export
(`window_seconds`).

ONNX: the dynamo exporter, torch.export then translation (torch 2.11's default), for every
registered architecture. The TorchScript-based exporter (`dynamo=False`) is no fallback here:
it has no translation for `torch.fft.rfft` (every spectral frontend), complex STFT (Whisper),
`unfold` on a traced length (LFCC, spectrogram) or `copy_` (AASIST's channels-last copy).
torch.export cannot read values from data while tracing, so the frontends size a batch's
output with `antispoof.frontends.common.batch_extent`, the waveform's width while exporting.
`torch.fft.rfft` of a length that is not a power of two is translated as a product with a basis
(`real_dft`): ONNX Runtime's own DFT of such a length is far less accurate than torch's FFT.
TorchScript: `torch.jit.trace`, under no_grad with every parameter frozen, so the file runs
without autograd; `torch.jit.script` cannot compile the frontends (transformers' encoders,
dicts of branches).

Every file records what a runtime needs to use it (ONNX `metadata_props`, TorchScript
`_extra_files["antispoof.json"]`): the sample rate, the window, the input and output names, the
model it came from, the sha256 of its resolved config and of its weights, the resolved config
itself (its inference and decision settings), the model's decision rule when it was exported
(`decision_rule`: a calibration, a dev EER threshold or the classifier's own; antispoof.decision),
the exporter and the antispoof and torch versions.
Export checks the file against torch on a random check input before it takes its name: the
largest absolute difference of any output must be at most `TOLERANCE`.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from antispoof import __version__
from antispoof.data.batch import crop_frames
from antispoof.decision import DecisionRule, rule_from_state
from antispoof.detector import Detector
from antispoof.frontends.ssl import SSL
from antispoof.frontends.stack import Stack
from antispoof.markers import settings_digest

log = logging.getLogger(__name__)

FORMATS = ("onnx", "torchscript")
INPUT = "waveform"
SCORE = "score"
LOG_ODDS = "log_odds"
# The largest absolute difference between the exported file's outputs and torch's that export
# accepts. Absolute, not relative: a score moves a decision by its distance to a threshold (and a
# calibration is affine in it), and a relative error means nothing for a score near 0, which is
# where the decisions are made. Scores are logits and log-odds of order 1 to 10.
TOLERANCE = 1e-4
# A protobuf, hence an ONNX file without external data, holds at most 2 GiB.
ONNX_MAX_BYTES = 2**31
# Where a TorchScript file keeps the metadata.
TORCHSCRIPT_METADATA = "antispoof.json"
# Loggers of the ONNX exporter that report every rewrite at INFO and the absence of torchvision
# at WARNING: quiet while exporting, so that the command's own lines stay readable.
EXPORTER_LOGGERS = ("torch.onnx", "torch.export", "onnxscript", "onnx_ir")
# The exporters, as the metadata names them.
ONNX_EXPORTER = "torch.onnx.export (dynamo)"
TORCHSCRIPT_EXPORTER = "torch.jit.trace"
# The metadata key of the model's decision rule when it was exported (antispoof.decision).
DECISION_RULE = "decision_rule"


class ExportError(ValueError):
    """A detector that cannot be exported, or an export that does not match torch; the message
    says why in one line."""


def check_window(seconds: float | None) -> None:
    """An ExportError unless a window given (not None) is a positive number of seconds."""
    if seconds is not None and not seconds > 0:
        raise ExportError(f"the window must be positive, not {seconds:g} s")


def window_seconds(config: Mapping[str, Any], override: float | None = None) -> float:
    """The scoring window of a resolved config, in seconds: `override`, else
    `inference.segment_seconds` (which resolution fills from the training crop). An experiment
    that scores whole utterances in one pass (`inference.mode: full`) has no window of its own."""
    if override is not None:
        check_window(override)
        return override
    inference = config["inference"]
    if inference["mode"] == "full":
        raise ExportError(
            "inference.mode full scores whole utterances in one pass, which a graph of one fixed "
            "window cannot; give a window (--window_seconds) to export window scoring instead"
        )
    return inference["segment_seconds"]


def refusal(detector: Detector) -> str | None:
    """Why this detector cannot be exported, or None."""
    frontends = []
    for frontend in detector.inputs.values():
        frontends.extend(frontend.branches.values() if isinstance(frontend, Stack) else [frontend])
    for frontend in frontends:
        if isinstance(frontend, SSL) and not frontend.uses_mask:
            return (
                "an SSL encoder without an attention mask (a group-norm feature extractor, as "
                "wav2vec2-base's, or data2vec-audio) encodes each utterance alone, in a loop over "
                "the batch that a graph with a dynamic batch axis cannot hold"
            )
    return None


class WindowScorer(nn.Module):
    """`Detector.score` on a batch of full windows of `window_samples`: `forward(waveform
    (B, window_samples)) -> (score,)` or `(score, log_odds)` (see the module doc).

    It scores with the detector as it is: the detector is put in eval mode and its parameters
    frozen (no gradients), as scoring needs and tracing requires.
    """

    def __init__(self, detector: Detector, window_samples: int) -> None:
        super().__init__()
        self.detector = detector.eval().requires_grad_(False)
        plan = detector.crop_plan(window_samples / self.sample_rate)
        self.window_samples = plan.samples
        self.frames = {name: plan.frames(name) for name in detector.inputs}
        self.with_log_odds = detector.natural_decision

    @property
    def sample_rate(self) -> int:
        return next(iter(self.detector.specs.values())).sample_rate

    @property
    def outputs(self) -> list[str]:
        return [SCORE, LOG_ODDS] if self.with_log_odds else [SCORE]

    def forward(self, waveform: torch.Tensor) -> tuple[torch.Tensor, ...]:
        batch = waveform.shape[0]
        device = waveform.device
        # Detector.features with lengths == the window and offsets 0: a trainable branch's crop
        # (crop_waveform) is the window itself, a frozen branch's crop its first frames.
        lengths = torch.full((batch,), self.window_samples, dtype=torch.long, device=device)
        first = torch.zeros(batch, dtype=torch.long, device=device)
        feats = {}
        for name, frontend in self.detector.inputs.items():
            window_feats, frame_lengths = frontend(waveform, lengths)
            if frontend.trainable:
                feats[name] = window_feats
            else:
                feats[name] = crop_frames(window_feats, frame_lengths, first, self.frames[name])
        embeddings = self.detector.model(feats)
        score = self.detector.loss.score(embeddings)
        if not self.with_log_odds:
            return (score,)
        return score, self.detector.loss.log_odds(embeddings)

    def score_windows(self, windows: np.ndarray) -> dict[str, np.ndarray]:
        """`{output: (B,)}` of `(B, window_samples)` float32 windows, in torch on the scorer's
        device: the same interface as `OnnxDetector.score_windows`."""
        check_windows(windows, self.window_samples)
        device = next(self.detector.parameters()).device
        with torch.no_grad():
            values = self(torch.from_numpy(np.ascontiguousarray(windows, np.float32)).to(device))
        return {name: value.cpu().numpy() for name, value in zip(self.outputs, values, strict=True)}


def check_windows(windows: np.ndarray, window_samples: int) -> None:
    if windows.ndim != 2 or windows.shape[1] != window_samples:
        raise ValueError(
            f"the model scores windows of {window_samples} samples, shape (batch, "
            f"{window_samples}); got shape {tuple(windows.shape)}"
        )


def weights_digest(detector: Detector) -> str:
    """sha256 of the detector's state dict (names, dtypes, shapes and values, in name order)."""
    digest = hashlib.sha256()
    for name, tensor in sorted(detector.state_dict().items()):
        value = tensor.detach().cpu().contiguous()
        digest.update(f"{name}:{value.dtype}:{tuple(value.shape)}\n".encode())
        digest.update(value.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def export_metadata(
    config: Mapping[str, Any],
    scorer: WindowScorer,
    model: str,
    exporter: str,
    rule: DecisionRule | None = None,
) -> dict[str, str]:
    """What a runtime needs to use an exported file (see the module doc), as strings."""
    metadata = {
        "antispoof_version": __version__,
        "torch_version": torch.__version__,
        "exporter": exporter,
        "model": model,
        "sample_rate": str(scorer.sample_rate),
        "window_samples": str(scorer.window_samples),
        "input": INPUT,
        "outputs": ",".join(scorer.outputs),
        "config_sha256": settings_digest(config),
        "weights_sha256": weights_digest(scorer.detector),
        "config": json.dumps(config, sort_keys=True),
    }
    if rule is not None:
        metadata[DECISION_RULE] = json.dumps(rule.to_state(), sort_keys=True)
    return metadata


def check_input(window_samples: int, batch: int = 2, seed: int = 0) -> torch.Tensor:
    """A random check input: `batch` windows of white noise at different levels."""
    generator = torch.Generator().manual_seed(seed)
    levels = torch.logspace(-2, -0.5, batch)[:, None]
    return levels * torch.randn(batch, window_samples, generator=generator)


@dataclass(frozen=True)
class ExportReport:
    path: Path
    file_format: str
    exporter: str
    sample_rate: int
    window_samples: int
    outputs: list[str]
    difference: dict[str, float]  # output -> the largest |exported - torch| on the check input

    def describe(self) -> str:
        differences = ", ".join(f"{name} {value:.1e}" for name, value in self.difference.items())
        return (
            f"wrote {self.path} ({self.file_format}, {self.exporter}): input {INPUT} float32 "
            f"(batch, {self.window_samples}) at {self.sample_rate} Hz, outputs "
            f"{', '.join(self.outputs)}; largest difference to torch on a random check input: "
            f"{differences}"
        )


def export_detector(
    config: Mapping[str, Any],
    detector: Detector,
    out: str | Path,
    file_format: str,
    model: str,
    window: float | None = None,
    rule: DecisionRule | None = None,
) -> ExportReport:
    """Export the scoring path of `detector` (with its resolved `config`; `model` names where it
    came from, and `rule` its decision rule, for the metadata) to `out` as `file_format` (onnx or
    torchscript), on windows of `window` seconds (default: the config's scoring window). The
    file takes its name only once it matches torch within TOLERANCE on a random check input; an
    ExportError says why not. The detector is left on the CPU, in eval mode, its parameters
    frozen (WindowScorer)."""
    if file_format not in FORMATS:
        raise ExportError(f"unknown format {file_format!r}; choose one of: {', '.join(FORMATS)}")
    reason = refusal(detector)
    if reason is not None:
        raise ExportError(f"cannot export {config['model']}: {reason}")
    seconds = window_seconds(config, window)
    rate = next(iter(detector.specs.values())).sample_rate
    scorer = WindowScorer(detector.cpu(), max(1, round(seconds * rate)))
    example = check_input(scorer.window_samples)
    with torch.no_grad():
        expected = scorer(
            example
        )  # an eager run first: a config the window does not fit fails here
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        if file_format == "onnx":
            exporter = ONNX_EXPORTER
            write_onnx(scorer, example, tmp, export_metadata(config, scorer, model, exporter, rule))
            actual = OnnxDetector(tmp).score_windows(example.numpy())
        else:
            exporter = TORCHSCRIPT_EXPORTER
            write_torchscript(
                scorer, example, tmp, export_metadata(config, scorer, model, exporter, rule)
            )
            module, _ = load_torchscript(tmp)
            actual = dict(zip(scorer.outputs, module(example), strict=True))
        difference = {
            name: float(np.max(np.abs(np.asarray(actual[name]) - value.numpy())))
            for name, value in zip(scorer.outputs, expected, strict=True)
        }
        worst = max(difference.values())
        if not worst <= TOLERANCE:
            raise ExportError(
                f"the exported {file_format} graph of {config['model']} differs from torch by "
                f"{worst:.3g} (> {TOLERANCE:g}) on the check input; {out} was not written"
            )
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return ExportReport(
        out,
        file_format,
        exporter,
        scorer.sample_rate,
        scorer.window_samples,
        scorer.outputs,
        difference,
    )


def exported_onnx(
    config: Mapping[str, Any], detector: Detector, model: str, rule: DecisionRule | None = None
) -> Path:
    """The ONNX file of this detector on its scoring window, exported once: kept under
    `$ANTISPOOF_CACHE/onnx/` by the sha256 of its resolved config, its weights, its window and
    its decision rule, so that a changed model or rule is a new file (detect --runtime onnx)."""
    from antispoof.published import cache_dir

    rate = next(iter(detector.specs.values())).sample_rate
    key = {
        "config": settings_digest(config),
        "weights": weights_digest(detector),
        "window_samples": round(window_seconds(config) * rate),
        "rule": None if rule is None else rule.to_state(),
    }
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    stem = "".join(c if c.isalnum() or c in "-_" else "_" for c in Path(model).name) or "model"
    path = cache_dir() / "onnx" / f"{stem}-{digest}.onnx"
    if path.is_file():
        log.info("ONNX file of %s: %s", model, path)
        return path
    log.info("exporting %s to ONNX (once): %s", model, path)
    report = export_detector(config, detector, path, "onnx", model, rule=rule)
    log.info("%s", report.describe())
    return path


def write_onnx(
    scorer: WindowScorer, example: torch.Tensor, path: Path, metadata: Mapping[str, str]
) -> None:
    """`scorer` as an ONNX file with `metadata` in its metadata_props; batch axis dynamic."""
    import onnx

    size = sum(p.numel() * p.element_size() for p in scorer.parameters())
    size += sum(b.numel() * b.element_size() for b in scorer.buffers())
    if size >= ONNX_MAX_BYTES:
        raise ExportError(
            f"the weights take {size / 2**30:.1f} GiB; an ONNX file holds at most 2 GiB "
            "(export as torchscript instead)"
        )
    # The exporter reports its progress on stdout and warns about its own internals; a failure
    # still raises, with the reason.
    progress = io.StringIO()
    with contextlib.redirect_stdout(progress), warnings.catch_warnings(), _quiet(EXPORTER_LOGGERS):
        warnings.simplefilter("ignore")
        program = torch.onnx.export(
            scorer,
            (example,),
            dynamo=True,
            input_names=[INPUT],
            output_names=scorer.outputs,
            dynamic_shapes=({0: torch.export.Dim("batch")},),
            custom_translation_table={torch.ops.aten._fft_r2c.default: real_dft},
            external_data=False,
            verbose=False,
        )
    log.debug("torch.onnx.export: %s", progress.getvalue())
    assert program is not None
    proto = program.model_proto
    for key, value in metadata.items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save_model(proto, str(path))


def real_dft(self: Any, dim: list[int], normalization: int, onesided: bool) -> Any:
    """The ONNX translation of `torch.fft.rfft` (aten._fft_r2c): ONNX's DFT where the length is a
    power of two, else a product with a cosine and a sine basis computed in float64.

    ONNX Runtime's DFT of other lengths is a direct sum whose float32 twiddle factors drift: for
    the 1,728-point spectrogram of the F0 subband its log power is off by up to 0.07 (torch's
    FFT: 1e-4), which moves MPIF-Res2Net's scores by 2e-4. The basis product is as accurate as
    torch's FFT and costs what that direct sum costs, O(n^2) a frame.
    """
    from onnxscript import ir
    from onnxscript import opset18 as op
    from onnxscript.function_libs.torch_lib.ops.fft import aten__fft_r2c

    length = self.shape[-1]
    if (
        not isinstance(length, int)
        or length & (length - 1) == 0
        or list(dim) not in ([-1], [len(self.shape) - 1])
        or self.dtype != ir.DataType.FLOAT
    ):
        return aten__fft_r2c(self, dim, normalization, onesided)
    bins = length // 2 + 1 if onesided else length
    # Angles from exact integer products modulo the length, so that none loses precision.
    turns = (np.arange(length)[:, None] * np.arange(bins)[None, :]) % length
    angle = 2 * np.pi * turns / length
    scale = {0: 1.0, 1: 1 / np.sqrt(length), 2: 1 / length}[normalization]
    cos = op.Constant(value=ir.tensor((scale * np.cos(angle)).astype(np.float32)))
    sin = op.Constant(value=ir.tensor((-scale * np.sin(angle)).astype(np.float32)))
    # A complex tensor is a real one with a last axis of (real, imaginary), as DFT gives it.
    real = op.Unsqueeze(op.MatMul(self, cos), [-1])
    imaginary = op.Unsqueeze(op.MatMul(self, sin), [-1])
    return op.Concat(real, imaginary, axis=-1)


@contextlib.contextmanager
def _quiet(names: tuple[str, ...]) -> Iterator[None]:
    """Only errors from these loggers while inside."""
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def write_torchscript(
    scorer: WindowScorer, example: torch.Tensor, path: Path, metadata: Mapping[str, str]
) -> None:
    """`scorer` traced to a TorchScript file with `metadata` as `_extra_files`."""
    with torch.no_grad(), warnings.catch_warnings():
        # The window is fixed: the sizes that tracing turns into constants are meant to be.
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        traced = torch.jit.trace(scorer, (example,), check_trace=False)
    extra = {TORCHSCRIPT_METADATA: json.dumps(dict(metadata))}
    torch.jit.save(traced, str(path), _extra_files=extra)


def load_torchscript(path: str | Path) -> tuple[torch.jit.ScriptModule, dict[str, str]]:
    """An exported TorchScript file and its metadata."""
    extra = {TORCHSCRIPT_METADATA: ""}
    module = torch.jit.load(str(path), map_location="cpu", _extra_files=extra)
    if not extra[TORCHSCRIPT_METADATA]:
        raise ValueError(f"{path} holds no {TORCHSCRIPT_METADATA}: not exported by antispoof")
    return module, json.loads(extra[TORCHSCRIPT_METADATA])


class OnnxDetector:
    """An exported ONNX file scored by ONNX Runtime on the CPU: `score_windows((B, window)
    float32) -> {output: (B,)}`, as `WindowScorer.score_windows` scores in torch.

    `threads`: ONNX Runtime's intra-op threads (1: single-threaded; 0: its default, one per
    core). The metadata gives `sample_rate`, `window_samples`, `outputs`, `config` (the
    resolved config) and the rest as strings in `metadata`.
    """

    def __init__(self, path: str | Path, threads: int = 1) -> None:
        try:
            import onnxruntime
        except ModuleNotFoundError as err:
            raise ExportError(
                f"scoring {path} needs ONNX Runtime: pip install 'antispoof[onnx]' ({err})"
            ) from None
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        options.log_severity_level = 3  # errors only
        try:
            self.session = onnxruntime.InferenceSession(
                str(path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as err:  # onnxruntime's own exception types, one per failure
            raise ExportError(f"cannot load {path} with ONNX Runtime: {err}") from err
        self.path = Path(path)
        self.metadata: dict[str, str] = dict(self.session.get_modelmeta().custom_metadata_map)
        missing = [
            key
            for key in ("sample_rate", "window_samples", "outputs", "config")
            if key not in self.metadata
        ]
        if missing:
            raise ExportError(
                f"{path} has no {', '.join(missing)} in its metadata: not exported by antispoof"
            )
        self.sample_rate = int(self.metadata["sample_rate"])
        self.window_samples = int(self.metadata["window_samples"])
        self.outputs = self.metadata["outputs"].split(",")
        self.config: dict[str, Any] = json.loads(self.metadata["config"])
        self.rule: DecisionRule | None = None
        if DECISION_RULE in self.metadata:
            self.rule = rule_from_state(json.loads(self.metadata[DECISION_RULE]), str(path))

    def score_windows(self, windows: np.ndarray) -> dict[str, np.ndarray]:
        check_windows(windows, self.window_samples)
        feed = {INPUT: np.ascontiguousarray(windows, dtype=np.float32)}
        values = self.session.run(self.outputs, feed)
        return dict(zip(self.outputs, values, strict=True))

r"""Export a detector's scoring path to ONNX or TorchScript: windows of waveform in, scores out.

Usage:
    python -m antispoof.bin.export --model <published name | exp dir> \
        --format onnx|torchscript --out FILE [--checkpoint best|last|PATH] [--weights FILE] \
        [--window_seconds S]

    python -m antispoof.bin.export --model aasist --format onnx --out aasist.onnx
    python -m antispoof.bin.export --model exp/<tag> --checkpoint last --format torchscript \
        --out model.pt

--model: a published model by name, any case (`detect --model list`; --weights FILE gives a local
copy), or an experiment directory (its config.yaml and checkpoints/<--checkpoint>.pt, default
best), as detect takes it (antispoof.inference.load_model).

The file scores windows of waveform as the detector scores a batch of full windows (see
antispoof.export): input `waveform`, float32 (batch, samples), mono at the model's sample rate,
`samples` the model's scoring window (inference.segment_seconds, by default the training crop;
64,600 for AASIST), or --window_seconds; outputs `score` (batch,), higher for more bona fide,
and, for a model with a softmax output layer, `log_odds` (batch,), its own decision (bona fide when
>= 0). The batch axis is dynamic, the time axis fixed. Cutting a file into windows, aggregating
and deciding stay with the caller: `detect --model FILE.onnx` and `antispoof.load("FILE.onnx")`
score an ONNX file in ONNX Runtime exactly as they score the torch model (windows, speech
checks, aggregate, the decision rule the file records); TorchScript files run with
torch.jit.load, without antispoof.

Metadata (ONNX metadata_props; TorchScript _extra_files["antispoof.json"]): sample rate, window,
input and output names, the model, the sha256 of its resolved config and of its weights, the
resolved config, its decision rule (a calibration fitted on this checkpoint, a dev EER
threshold, or the classifier's own), the exporter, the antispoof and torch versions.

The file is checked against torch on a random check input before it takes its name (largest
absolute difference at most 1e-4, else nothing is written); the line printed says what was
written and that difference. An experiment that scores whole files in one pass (inference.mode
full), and a wav2vec2 encoder without an attention mask, are refused with the reason.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from antispoof.bin._cli import run_main
from antispoof.export import FORMATS, check_window, export_detector
from antispoof.inference import load_model
from antispoof.zoo import ZOO

log = logging.getLogger("antispoof.export")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--model", required=True, help=f"an experiment directory or {', '.join(ZOO)}"
    )
    parser.add_argument("--format", required=True, choices=FORMATS)
    parser.add_argument("--out", required=True, type=Path, help="the file to write")
    parser.add_argument(
        "--checkpoint", help="of an experiment: best (default), last, or a checkpoint path"
    )
    parser.add_argument("--weights", type=Path, help="a local copy of a published model")
    parser.add_argument(
        "--window_seconds", type=float, help="the window (default: the model's scoring window)"
    )
    args = parser.parse_args(argv)
    check_window(args.window_seconds)  # before loading the model, which takes seconds
    model = load_model(args.model, checkpoint=args.checkpoint, weights=args.weights)
    log.info("model: %s", model.info.description)
    report = export_detector(
        model.config,
        model.detector,
        args.out,
        args.format,
        args.model,
        args.window_seconds,
        rule=model.rule,
    )
    print(report.describe())
    return 0


if __name__ == "__main__":
    run_main(main, "export")

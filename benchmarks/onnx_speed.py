"""CPU files per second of a published model scored by torch and by ONNX Runtime, side by side
in one run: the same windows, one 64,600-sample (4.04 s) window per file, as `detect` scores
the published AASIST.

Usage:
    python benchmarks/onnx_speed.py [--model aasist|NAME|EXP_DIR] [--batches 1 8] [--repeats 7] \
        [--threads 1] [--onnx FILE]

The model is exported to ONNX first (into a temporary directory; `--onnx FILE` takes a file
that `python -m antispoof.bin.export` wrote instead), then both runtimes score batches of
`--batches` windows (`0.1 * randn`, seeded) with `--threads` threads each (torch's intra-op
threads, ONNX Runtime's intra_op_num_threads), taking turns (torch, ONNX Runtime, torch, ...)
`--repeats` times per batch size after one warm-up each, so that a change in the machine's load
hits both alike. Prints, per batch size, the files per second of each (from the fastest
repeat; the median in brackets), the ratio ONNX Runtime / torch, and the largest difference
between their scores.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnxruntime
import torch

from antispoof.export import OnnxDetector, WindowScorer, export_detector
from antispoof.inference import load_model


def timings(runs: dict[str, Callable[[], object]], repeats: int) -> dict[str, list[float]]:
    """`repeats` wall-clock seconds of each run, the runs taking turns after one warm-up each."""
    for run in runs.values():
        run()
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            started = time.perf_counter()
            run()
            seconds[name].append(time.perf_counter() - started)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="aasist", help="a published name or an experiment")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--onnx", type=Path, help="an exported file (default: export one now)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    loaded = load_model(args.model)
    config, detector = loaded.config, loaded.detector
    with tempfile.TemporaryDirectory() as work:
        path = args.onnx
        if path is None:
            path = Path(work) / f"{args.model}.onnx"
            export_detector(config, detector, path, "onnx", args.model)
        onnx = OnnxDetector(path, threads=args.threads)
    scorer = WindowScorer(detector, onnx.window_samples)
    print(
        f"{args.model}: windows of {onnx.window_samples} samples, one per file; {args.threads} "
        f"thread(s) each; torch {torch.__version__}, onnxruntime {onnxruntime.__version__}"
    )
    generator = np.random.default_rng(0)
    for batch in args.batches:
        windows = (0.1 * generator.standard_normal((batch, onnx.window_samples))).astype(np.float32)
        runs = {
            "torch": lambda windows=windows: scorer.score_windows(windows),
            "onnxruntime": lambda windows=windows: onnx.score_windows(windows),
        }
        seconds = timings(runs, args.repeats)
        difference = np.abs(runs["torch"]()["score"] - runs["onnxruntime"]()["score"]).max()
        rate = {name: batch / min(times) for name, times in seconds.items()}
        median = {name: batch / statistics.median(times) for name, times in seconds.items()}
        print(
            f"batch {batch}: torch {rate['torch']:.2f} files/s ({median['torch']:.2f}), "
            f"onnxruntime {rate['onnxruntime']:.2f} files/s ({median['onnxruntime']:.2f}): "
            f"{rate['onnxruntime'] / rate['torch']:.2f}x; largest score difference "
            f"{difference:.1e}"
        )


if __name__ == "__main__":
    main()

"""train.precision side by side in one run: training steps per second and peak GPU memory of a
training step, and the scores of a data directory (utterances per second, distinct values,
largest difference from the float32 scores), for fp32, bf16 and auto, alternating (A B C A B C
...) so that a load that changes over the run weighs on each alike.

Usage:
    python benchmarks/precision.py [--utts 400] [--steps 20] [--repeats 3] [--config CONFIG] \
        [--work_dir DIR]

Needs a GPU to say anything: on a CPU every precision computes in float32
(antispoof.training.device.autocast_dtype), and the table says so. The audio is synthetic (as
benchmarks/engine_throughput.py makes it); the default config is the mini recipe's LFCC-ResNet18
with OC-Softmax. The detector is the same (seeded) for every precision; the scores compare its
branches and model in each precision, its score head being float32 in all.
"""

from __future__ import annotations

import argparse
import copy
import itertools
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from engine_throughput import DEFAULT_CONFIG, synthetic_data_dir

from antispoof.config import resolve_file
from antispoof.data.dataset import AudioTable, ExampleReader, TrainingExamples, read_labels
from antispoof.detector import build_detector
from antispoof.scoring import score_utterances, scoring_reader
from antispoof.training.device import select_device
from antispoof.training.trainer import build_optimizers

PRECISIONS = ("fp32", "bf16", "auto")


def with_precision(config: dict, precision: str) -> dict:
    config = copy.deepcopy(config)
    config["train"]["precision"] = precision
    return config


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def training(config: dict, data_dir: Path, device: torch.device, steps: int) -> tuple[float, float]:
    """Training steps per second, and the peak GPU memory (MB) of the steps (0 on a CPU)."""
    torch.manual_seed(0)
    detector = build_detector(config).to(device).train()
    optimizers = build_optimizers(detector, config)
    scaler = torch.amp.GradScaler(
        device.type, enabled=detector.autocast_dtype(device) == torch.float16
    )
    examples = TrainingExamples(
        ExampleReader(data_dir, detector.crop_plan(config["train"]["crop_seconds"])),
        read_labels(data_dir),
        seed=0,
    )
    loader = torch.utils.data.DataLoader(
        examples,
        batch_size=config["train"]["batch_size"],
        shuffle=True,
        num_workers=2,
        collate_fn=examples.collate,
        pin_memory=device.type == "cuda",
    )
    batches = []  # read first: the steps are timed without the data loading
    while len(batches) < steps + 2:
        batches.extend(itertools.islice(loader, steps + 2 - len(batches)))
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    started = 0.0
    for done, batch in enumerate(batches):
        if done == 2:  # two warm-up steps
            synchronize(device)
            started = time.perf_counter()
        loss, _ = detector(batch.to(device))
        for optimizer in optimizers:
            optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        for optimizer in optimizers:
            scaler.step(optimizer)
        scaler.update()
    synchronize(device)
    seconds = time.perf_counter() - started
    peak = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else 0.0
    return (len(batches) - 2) / seconds, peak


def scoring(config: dict, data_dir: Path, device: torch.device) -> tuple[float, np.ndarray]:
    """Utterances scored per second, and the scores in the order of wav.scp."""
    torch.manual_seed(0)
    detector = build_detector(config).to(device).eval()
    utts = list(AudioTable(data_dir, 16000).paths)
    reader = scoring_reader(detector, data_dir, config["inference"])
    synchronize(device)
    started = time.perf_counter()
    scores = score_utterances(detector, reader, utts, config["inference"], device, num_workers=2)
    synchronize(device)
    return len(utts) / (time.perf_counter() - started), np.array([scores[u] for u in utts])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--utts", type=int, default=400, help="utterances of 1 to 6 s")
    parser.add_argument("--steps", type=int, default=20, help="training steps timed per run")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each precision")
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    parser.add_argument("--work_dir", type=Path)
    args = parser.parse_args()
    device = select_device(None)
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="precision_bench_"))
    data_dir = synthetic_data_dir(work, args.utts)
    base = resolve_file(args.config)
    configs = {precision: with_precision(base, precision) for precision in PRECISIONS}
    steps: dict[str, list[float]] = {p: [] for p in PRECISIONS}
    memory: dict[str, float] = {}
    speed: dict[str, list[float]] = {p: [] for p in PRECISIONS}
    scores: dict[str, np.ndarray] = {}
    for _ in range(args.repeats):
        for precision, config in configs.items():
            rate, peak = training(config, data_dir, device, args.steps)
            steps[precision].append(rate)
            memory[precision] = max(memory.get(precision, 0.0), peak)
            rate, scores[precision] = scoring(config, data_dir, device)
            speed[precision].append(rate)

    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(
        f"device: {device} ({name}); {args.utts} utterances; {args.config.name}, batch "
        f"{base['train']['batch_size']}; medians of {args.repeats} alternating runs"
    )
    print(
        "| train.precision | computes in | steps/s | peak MB | utts/s | distinct scores | "
        "max abs diff from fp32 |"
    )
    print("|---|---|---|---|---|---|---|")
    for precision in PRECISIONS:
        dtype = build_detector(configs[precision]).autocast_dtype(device)
        diff = np.abs(scores[precision] - scores["fp32"]).max()
        print(
            f"| {precision} | {str(dtype or torch.float32).replace('torch.', '')} | "
            f"{np.median(steps[precision]):.2f} | {memory[precision]:.0f} | "
            f"{np.median(speed[precision]):.1f} | {len(np.unique(scores[precision]))} | "
            f"{diff:.2e} |"
        )


if __name__ == "__main__":
    main()

"""Throughput of the detector engine, side by side in one run: stage 2 batched by length against
the per-utterance loop, training steps with the stage-2 cache against features computed on the
device, and the peak memory of stage 2 at 1x and 10x a data directory.

Usage:
    python benchmarks/engine_throughput.py [--utts 360] [--ngpu 0|1] [--config CONFIG] \
        [--steps 20] [--work_dir DIR]

The audio is synthetic (tones in noise, 1 to 6 s, the length spread of ASVspoof 2019 LA), written
once as FLAC under `--work_dir`; the default config is the mini recipe's LFCC-ResNet18. Prints
one table; the ratios are what to compare between machines, not the absolute figures.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile
import torch

from antispoof.bin.make_feats import BATCH_SECONDS, length_sorted_batches
from antispoof.config import resolve_file, save_config
from antispoof.data.audio import read_audio
from antispoof.data.dataset import ExampleReader, TrainingExamples, read_labels
from antispoof.data.kaldi_files import write_table
from antispoof.detector import build_detector
from antispoof.training.device import select_device
from antispoof.training.trainer import build_optimizers

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = REPO / "egs/mini/conf/lfcc_resnet18_ocsoftmax.yaml"


def synthetic_data_dir(root: Path, count: int, repeat: int = 1) -> Path:
    """`count` utterances of 1-6 s; with `repeat`, each listed `repeat` times (10x the data
    without 10x the disk)."""
    rng = np.random.default_rng(0)
    audio = root / "audio"
    audio.mkdir(parents=True, exist_ok=True)
    tables: dict[str, dict[str, str]] = {
        name: {} for name in ("wav.scp", "utt2label", "utt2spk", "utt2attack")
    }
    for index in range(count):
        path = audio / f"u{index:05d}.flac"
        if not path.exists():
            t = np.arange(int(16000 * rng.uniform(1.0, 6.0))) / 16000
            wav = 0.1 * np.sin(2 * np.pi * rng.uniform(100, 300) * t) + 0.02 * rng.standard_normal(
                t.size
            )
            soundfile.write(path, wav.astype(np.float32), 16000)
        for copy in range(repeat):
            utt = f"u{index:05d}_{copy}"
            tables["wav.scp"][utt] = str(path)
            label = "bonafide" if index % 2 else "spoof"
            tables["utt2label"][utt] = label
            tables["utt2attack"][utt] = "bonafide" if index % 2 else "A01"
            tables["utt2spk"][utt] = utt
    data_dir = root / f"data_{count}x{repeat}"
    for name, table in tables.items():
        write_table(data_dir / name, table)
    write_table(data_dir / "spk2utt", tables["utt2spk"])
    return data_dir


def stage2_subprocess(config: Path, data_dir: Path, out: Path, ngpu: int) -> tuple[float, float]:
    """Wall seconds and peak resident memory (MB) of one stage-2 job as its own process."""
    command = [sys.executable, "-m", "antispoof.bin.make_feats", "--config", str(config)]
    command += ["--branch", "lfcc", "--ngpu", str(ngpu), "--data_dir", str(data_dir)]
    command += ["--out", str(out)]
    started = time.perf_counter()
    process = subprocess.Popen(command)
    _, status, usage = os.wait4(process.pid, 0)
    if status != 0:
        raise RuntimeError(f"{' '.join(command)} failed")
    return time.perf_counter() - started, usage.ru_maxrss / 1024


def frontend_seconds(
    frontend: torch.nn.Module, data_dir: Path, device: torch.device, budget: int | None
) -> float:
    """Seconds to compute the features of every utterance (audio already in memory): batched
    by length within `budget` padded samples as stage 2 does, or one at a time (None)."""
    paths = [line.split(" ", 1)[1] for line in (data_dir / "wav.scp").read_text().splitlines()]
    waves = [torch.from_numpy(read_audio(path)) for path in paths]
    lengths = [len(wav) for wav in waves]
    batches = length_sorted_batches(lengths, budget) if budget else [[i] for i in range(len(waves))]
    if device.type == "cuda":
        torch.cuda.synchronize()
    started = time.perf_counter()
    with torch.no_grad():
        for batch in batches:
            padded = torch.nn.utils.rnn.pad_sequence([waves[i] for i in batch], batch_first=True)
            frontend(padded.to(device), torch.tensor([lengths[i] for i in batch], device=device))
    if device.type == "cuda":
        torch.cuda.synchronize()
    return time.perf_counter() - started


def training_steps_per_second(
    config: dict, data_dir: Path, caches: dict[str, Path], device: torch.device, steps: int
) -> float:
    torch.manual_seed(0)
    detector = build_detector(config).to(device).train()
    optimizers = build_optimizers(detector, config)
    plan = detector.crop_plan(config["train"]["crop_seconds"])
    examples = TrainingExamples(
        ExampleReader(data_dir, plan, caches), read_labels(data_dir), seed=0
    )
    loader = torch.utils.data.DataLoader(
        examples,
        batch_size=config["train"]["batch_size"],
        shuffle=True,
        num_workers=2,
        collate_fn=examples.collate,
        pin_memory=device.type == "cuda",
        persistent_workers=True,
    )
    batches = iter(loader)
    done, started = 0, None
    while done < steps + 2:  # two warm-up steps
        try:
            batch = next(batches)
        except StopIteration:
            batches = iter(loader)
            continue
        if done == 2:
            if device.type == "cuda":
                torch.cuda.synchronize()
            started = time.perf_counter()
        loss, _ = detector(batch.to(device))
        for optimizer in optimizers:
            optimizer.zero_grad(set_to_none=True)
        loss.backward()
        for optimizer in optimizers:
            optimizer.step()
        done += 1
    if device.type == "cuda":
        torch.cuda.synchronize()
    return steps / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--utts", type=int, default=360, help="utterances (1x)")
    parser.add_argument("--ngpu", type=int, default=0)
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    parser.add_argument("--steps", type=int, default=20, help="training steps timed")
    parser.add_argument("--work_dir", type=Path)
    args = parser.parse_args()
    device = select_device(args.ngpu)
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="engine_bench_"))
    config = resolve_file(args.config)
    save_config(config, work / "exp" / "config.yaml")
    one = synthetic_data_dir(work, args.utts)
    ten = synthetic_data_dir(work, args.utts, repeat=10)
    hours = (
        sum(
            soundfile.info(line.split(" ", 1)[1]).frames
            for line in (one / "wav.scp").read_text().splitlines()
        )
        / 16000
        / 3600
    )

    batched_1x, memory_1x = stage2_subprocess(
        work / "exp/config.yaml", one, work / "dump1/feats", args.ngpu
    )
    batched_10x, memory_10x = stage2_subprocess(
        work / "exp/config.yaml", ten, work / "dump10/feats", args.ngpu
    )
    frontend = build_detector(config).inputs["lfcc"].to(device).eval()
    budget = round(BATCH_SECONDS[device.type] * 16000)
    frontend_seconds(frontend, one, device, budget)  # warm-up (CUDA kernels, caches)
    batched = frontend_seconds(frontend, one, device, budget)
    looped = frontend_seconds(frontend, one, device, None)
    cache = {"lfcc": work / "dump1/feats.scp"}
    with_cache = training_steps_per_second(config, one, cache, device, args.steps)
    on_device = training_steps_per_second(config, one, {}, device, args.steps)

    gpu = f"{torch.cuda.get_device_name()}, " if device.type == "cuda" else ""
    print(
        f"device: {device} ({gpu}{os.cpu_count()} CPU cores); {args.utts} utterances, "
        f"{hours:.2f} h of audio"
    )
    print("| measure | value |")
    print("|---|---|")
    print(f"| frontend over all utterances, batched by length as stage 2 does | {batched:.2f} s |")
    print(f"| the same, one utterance at a time | {looped:.2f} s |")
    print(f"| ratio loop / batched | {looped / batched:.1f} |")
    print(f"| stage 2 job wall, 1x / 10x the utterances | {batched_1x:.1f} / {batched_10x:.1f} s |")
    print(f"| stage 2 job peak memory, 1x / 10x | {memory_1x:.0f} / {memory_10x:.0f} MB |")
    print(f"| training steps/s with the cache | {with_cache:.2f} |")
    print(f"| training steps/s, features on the device | {on_device:.2f} |")
    print(f"| ratio cache / on the device | {with_cache / on_device:.2f} |")


if __name__ == "__main__":
    main()

"""Peak GPU memory and training throughput of XLS-R 300M fine-tuning inside a detector: a
training step (forward, backward, optimizer step) of each config at batch B x S seconds, bf16
autocast, side by side in one run.

Usage:
    python benchmarks/xlsr_finetune.py [--configs egs/asvspoof2021_df/conf/wavespec.yaml ...] \
        [--batch 32] [--seconds 4] [--steps 10] [--warmup 3] [--gradient_checkpointing]

XLS-R's weights are random (XLS-R 300M's released architecture from its config.json: 24 layers
of width 1024, 16 heads, 4096 feed-forward, the 7-layer 512-channel conv stack): the speed and
memory of a step do not depend on the weights, and nothing is downloaded. The freeze schedule
is lifted, so every step fine-tunes the encoder. The waveforms are `0.1 * randn`; each config
gets the same batches. Prints utterances per second (the mean over `--steps` timed steps after
`--warmup` untimed ones) and the peak memory allocated by torch during them.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from antispoof.config import resolve, resolve_file
from antispoof.data.batch import Batch
from antispoof.detector import build_detector
from antispoof.labels import one_hot
from antispoof.training.device import select_device
from antispoof.training.trainer import build_optimizers

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CONFIGS = [
    REPO / "egs/asvspoof2021_df/conf/xlsr_aasist.yaml",
    REPO / "egs/asvspoof2021_df/conf/wavespec.yaml",
]
# facebook/wav2vec2-xls-r-300m's config.json, as Wav2Vec2Config keys.
XLSR_300M = {
    "hidden_size": 1024,
    "num_hidden_layers": 24,
    "num_attention_heads": 16,
    "intermediate_size": 4096,
    "conv_dim": [512] * 7,
    "conv_kernel": [10, 3, 3, 3, 3, 2, 2],
    "conv_stride": [5, 2, 2, 2, 2, 2, 2],
    "conv_bias": True,
    "feat_extract_norm": "layer",
    "do_stable_layer_norm": True,
    "num_conv_pos_embeddings": 128,
    "num_conv_pos_embedding_groups": 16,
}


def random_xlsr(config: dict, gradient_checkpointing: bool) -> dict:
    """`config` with every released wav2vec2 branch given XLS-R 300M's architecture at random
    weights, fine-tuned from the first step."""
    for branch in config["inputs"].values():
        if branch["frontend"] == "wav2vec2":
            branch["frontend_conf"]["config"] = XLSR_300M
            branch["frontend_conf"]["gradient_checkpointing"] = gradient_checkpointing
    config["train"]["freeze"] = {}
    # bf16 whatever the config says (xlsr_aasist's is fp32): the detector applies it on CUDA.
    config["train"]["precision"] = "bf16"
    return resolve(config)


def random_batch(detector, batch: int, seconds: float, generator: torch.Generator) -> Batch:
    plan = detector.crop_plan(seconds)
    samples = plan.samples
    return Batch(
        utts=[f"u{i}" for i in range(batch)],
        wav=0.1 * torch.randn(batch, samples, generator=generator),
        lengths=torch.full((batch,), samples),
        offsets=torch.zeros(batch, dtype=torch.long),
        crop_samples=samples,
        frames={name: plan.frames(name) for name in plan.specs},
        target=one_hot(torch.randint(0, 2, (batch,), generator=generator)),
    )


def measure(config_path: Path, args: argparse.Namespace, device: torch.device) -> dict:
    config = random_xlsr(resolve_file(config_path), args.gradient_checkpointing)
    detector = build_detector(config).to(device).train()
    detector.set_epoch(1)  # at epoch 0, before any set_epoch, every branch is frozen
    optimizers = build_optimizers(detector, config)
    generator = torch.Generator().manual_seed(0)
    batches = [
        random_batch(detector, args.batch, args.seconds, generator)
        for _ in range(args.warmup + args.steps)
    ]
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
    elapsed = 0.0
    for step, batch in enumerate(batches):
        batch = batch.to(device)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        started = time.perf_counter()
        loss, _ = detector(batch)
        for optimizer in optimizers:
            optimizer.zero_grad(set_to_none=True)
        loss.backward()
        for optimizer in optimizers:
            optimizer.step()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        if step >= args.warmup:
            elapsed += time.perf_counter() - started
    peak = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else None
    return {
        "config": config_path.name,
        "parameters": detector.num_parameters(),
        "utts_per_second": args.batch * args.steps / elapsed,
        "peak_gib": peak,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--configs", nargs="+", type=Path, default=DEFAULT_CONFIGS)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--gradient_checkpointing", action="store_true")
    parser.add_argument("--ngpu", type=int, default=None)
    args = parser.parse_args()
    device = select_device(args.ngpu)
    print(f"device {device}; batch {args.batch} x {args.seconds} s; bf16 autocast on CUDA")
    print("| config | parameters | utterances / s | peak memory (GiB) |")
    print("| --- | --- | --- | --- |")
    for path in args.configs:
        row = measure(path, args, device)
        peak = "–" if row["peak_gib"] is None else f"{row['peak_gib']:.1f}"
        print(
            f"| {row['config']} | {row['parameters']:,} | {row['utts_per_second']:.1f} | {peak} |"
        )


if __name__ == "__main__":
    main()

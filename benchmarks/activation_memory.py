"""Training memory of every paper config at its own crop and input shapes: the activations one
training example holds, what the config needs at its published batch, and the `train.accum_grad`
that fits it on a 24, 40 or 80 GiB device.

Usage:
    python benchmarks/activation_memory.py [--configs egs/asvspoof2019/conf/aasist.yaml ...] \
        [--ngpu 0|1] [--precision config|fp32] [--batches 2 3] [--usable 0.9]

Configs: by default every config of the paper recipes (egs/asvspoof2019, egs/asvspoof2021_la,
egs/asvspoof2021_df; the rows of the published tables). Each is built as training builds it,
with every freeze schedule lifted (the fine-tuning epochs, which hold the most), on a batch of
random waveforms of its crop length (`train.crop_seconds`); frozen branches run on the device,
as without a stage-2 cache. Released encoders cannot be downloaded here: XLS-R 300M and Whisper
tiny.en are built at random with their released architectures (from their config.json files),
which leaves every shape, and so the memory, as it is with the real weights.

A training step (forward, backward, optimizer step, as the trainer runs it) at two small batch
sizes (`--batches`) gives, from their difference, each figure per example (what grows with the
batch) and the rest (what does not). Two figures per example:
- kept: the bytes autograd keeps from the forward pass for the backward pass
  (torch.autograd.graph.saved_tensors_hooks; each storage once; parameters and buffers not
  counted), plus the gradients. The activations a batch holds when its forward pass ends;
  deterministic, the same on any machine for a given precision.
- peak: the most the step holds beyond what it held before: on a CPU the peak resident memory
  of the process (/proc/self/status VmHWM, reset through /proc/self/clear_refs; Linux), on a GPU
  (`--ngpu 1`) torch.cuda.max_memory_allocated. The kept activations plus the temporaries of
  the step's largest operations (on a CPU oneDNN's reordered copies, on a GPU cuDNN's
  workspaces), so it depends on the device and its kernels.
What a step needs at a batch is the resident part (parameters, buffers, optimizer state) plus
the peak; CUDA's own context and the allocator's fragmentation are not in it, hence `--usable`.

Precision: `config` (default) runs each config as training on a GPU runs it, under bf16 autocast
where `train.precision` is bf16 (on a CPU through CPU autocast, whose casting rules are close to
CUDA's); `fp32` runs everything in float32, as CPU training does.
"""

from __future__ import annotations

import argparse
import copy
import ctypes
import ctypes.util
import gc
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import torch
from xlsr_finetune import XLSR_300M, random_batch

from antispoof.config import resolve, resolve_file
from antispoof.detector import Detector, build_detector
from antispoof.training.device import autocast_dtype, select_device
from antispoof.training.trainer import build_optimizers, seed_everything

REPO = Path(__file__).resolve().parents[1]
PAPER_RECIPES = ("asvspoof2019", "asvspoof2021_la", "asvspoof2021_df")
# openai/whisper-tiny.en's config.json, as WhisperConfig keys: the encoder as released; the
# decoder, which the frontend drops, as small as WhisperModel allows.
WHISPER_TINY_EN = {
    "d_model": 384,
    "encoder_layers": 4,
    "encoder_attention_heads": 6,
    "encoder_ffn_dim": 1536,
    "num_mel_bins": 80,
    "max_source_positions": 1500,
    "decoder_layers": 1,
    "decoder_attention_heads": 2,
    "decoder_ffn_dim": 32,
    "max_target_positions": 8,
    "vocab_size": 8,
    "pad_token_id": 1,
    "bos_token_id": 2,
    "eos_token_id": 2,
    "decoder_start_token_id": 3,
}
RANDOM_ENCODERS = {
    ("wav2vec2", "facebook/wav2vec2-xls-r-300m"): XLSR_300M,
    ("whisper", "openai/whisper-tiny.en"): WHISPER_TINY_EN,
}
DEVICES_GIB = (24, 40, 80)
M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter
MIB, GIB = 2**20, 2**30


def with_random_encoders(node: object) -> object:
    """`node` (a resolved config or a part of it) with each released encoder that has no
    `config` of its own given its released architecture at random weights."""
    if isinstance(node, list):
        return [with_random_encoders(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: with_random_encoders(value) for key, value in node.items()}
    conf = node.get("frontend_conf")
    if isinstance(conf, dict) and conf.get("config") is None:
        architecture = RANDOM_ENCODERS.get((node.get("frontend"), conf.get("model")))
        if architecture is not None:
            node["frontend_conf"] = {**conf, "config": architecture}
        elif node.get("frontend") in ("wav2vec2", "whisper"):
            raise SystemExit(f"no released architecture known for {conf.get('model')}")
    return node


def tensor_bytes(tensors) -> int:
    return sum(t.numel() * t.element_size() for t in tensors)


def resident_bytes(detector: Detector, optimizers: list[torch.optim.Optimizer]) -> int:
    """Parameters, buffers and optimizer state: what stays between steps."""
    state = [
        value
        for optimizer in optimizers
        for slots in optimizer.state.values()
        for value in slots.values()
        if torch.is_tensor(value)
    ]
    return (
        tensor_bytes(detector.parameters()) + tensor_bytes(detector.buffers()) + tensor_bytes(state)
    )


def vm_kib(field: str) -> int:
    """A field of /proc/self/status (VmRSS, VmHWM) in KiB."""
    text = Path("/proc/self/status").read_text()
    return int(re.search(rf"^{field}:\s+(\d+) kB", text, re.MULTILINE).group(1))


class Step:
    """One training step of a detector (forward, backward, optimizer step), as the trainer runs
    it, measuring what it holds beyond the resident parameters and optimizer state."""

    def __init__(self, config: dict, device: torch.device, precision: str) -> None:
        seed_everything(0)
        self.detector = build_detector(config).to(device).train()
        # Epoch 1 of a config whose freeze schedule was lifted: every trainable branch trains
        # (before set_epoch, a detector is at epoch 0, where every branch is frozen).
        self.detector.set_epoch(1)
        self.optimizers = build_optimizers(self.detector, config)
        self.device = device
        wanted = "fp32" if precision == "fp32" else config["train"]["precision"]
        if device.type == "cuda":
            self.autocast = autocast_dtype(device, wanted)
        else:  # CPU autocast stands in for a GPU's
            self.autocast = torch.bfloat16 if wanted == "bf16" else None
        self.seconds = config["train"]["crop_seconds"]
        self.generator = torch.Generator().manual_seed(0)
        self.libc = None
        if device.type == "cpu":
            self.libc = ctypes.CDLL(ctypes.util.find_library("c"))
            # Every block of 64 KiB or more mapped on its own and unmapped when freed (glibc's
            # threshold otherwise rises as blocks are freed, and freed heap memory stays
            # resident), so that the resident size follows the memory in use.
            self.libc.mallopt(M_MMAP_THRESHOLD, 64 * 1024)

    def run(self, batch_size: int) -> tuple[int, int]:
        """(kept, peak): the bytes of the activations autograd keeps and of the gradients, and
        the peak over the step of what the device holds beyond the resident memory."""
        batch = random_batch(self.detector, batch_size, self.seconds, self.generator)
        batch = batch.to(self.device)
        for optimizer in self.optimizers:
            optimizer.zero_grad(set_to_none=True)
        resident = {
            t.untyped_storage().data_ptr()
            for t in (*self.detector.parameters(), *self.detector.buffers())
        }
        saved: dict[int, int] = {}

        def pack(tensor: torch.Tensor) -> torch.Tensor:
            storage = tensor.untyped_storage()
            if storage.data_ptr() and storage.data_ptr() not in resident:
                saved[storage.data_ptr()] = storage.nbytes()
            return tensor

        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            before = torch.cuda.memory_allocated(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
        else:
            # Freed memory that malloc kept would be reused unseen by the resident size.
            gc.collect()
            self.libc.malloc_trim(0)
            before = vm_kib("VmRSS") * 1024
            Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS
        with (
            torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor),
            torch.autocast(
                self.device.type,
                dtype=self.autocast or torch.float32,
                enabled=self.autocast is not None,
            ),
        ):
            loss, _ = self.detector(batch)
        loss.backward()
        gradients = tensor_bytes(p.grad for p in self.detector.parameters() if p.grad is not None)
        for optimizer in self.optimizers:
            optimizer.step()
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            peak = torch.cuda.max_memory_allocated(self.device) - before
        else:
            peak = vm_kib("VmHWM") * 1024 - before
        return sum(saved.values()) + gradients, peak


@dataclass
class Row:
    config: str
    precision: str
    batch_size: int
    crop_seconds: float
    parameters: int
    resident: int  # bytes: parameters, buffers, optimizer state
    kept_per_example: float  # bytes of activations autograd keeps, per example
    peak_fixed: int  # bytes of a step's peak that do not grow with the batch
    peak_per_example: float  # bytes

    def needs(self, batch: int) -> float:
        """What a step at `batch` examples needs at its peak."""
        return self.resident + self.peak_fixed + self.peak_per_example * batch

    def accum_grad(self, capacity: float) -> int | None:
        """The least accumulation (a divisor of the batch) whose micro-batch fits `capacity`."""
        for accum in range(1, self.batch_size + 1):
            if self.batch_size % accum == 0 and self.needs(self.batch_size // accum) <= capacity:
                return accum
        return None


def measure(path: Path, args: argparse.Namespace, device: torch.device) -> Row:
    config = resolve_file(path)
    config["train"]["freeze"] = {}
    config = resolve(copy.deepcopy(with_random_encoders(config)))
    step = Step(config, device, args.precision)
    small, large = args.batches
    step.run(small)  # the optimizer state is made in the first step
    resident = resident_bytes(step.detector, step.optimizers)
    (kept_small, peak_small), (kept_large, peak_large) = (step.run(b) for b in (small, large))
    peak_per_example = (peak_large - peak_small) / (large - small)
    train = config["train"]
    return Row(
        config=str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path),
        precision="bf16" if step.autocast == torch.bfloat16 else "fp32",
        batch_size=train["batch_size"],
        crop_seconds=train["crop_seconds"],
        parameters=step.detector.num_parameters(),
        resident=resident,
        kept_per_example=(kept_large - kept_small) / (large - small),
        peak_fixed=round(peak_small - small * peak_per_example),
        peak_per_example=peak_per_example,
    )


def paper_configs() -> list[Path]:
    return sorted(
        path for recipe in PAPER_RECIPES for path in (REPO / "egs" / recipe).glob("conf/*.yaml")
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--configs", nargs="+", type=Path, default=None)
    parser.add_argument("--ngpu", type=int, default=0, help="0: CPU (default); 1: a GPU")
    parser.add_argument("--precision", choices=("config", "fp32"), default="config")
    parser.add_argument("--batches", nargs=2, type=int, default=[2, 3], metavar=("B1", "B2"))
    parser.add_argument(
        "--usable",
        type=float,
        default=0.9,
        help="share of a device's memory a step may fill (default 0.9: the rest for CUDA's "
        "context and the allocator's fragmentation)",
    )
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = select_device(args.ngpu)
    peak = "cuda.max_memory_allocated" if device.type == "cuda" else "peak resident memory"
    configs = [path.resolve() for path in args.configs] if args.configs else paper_configs()
    print(
        f"device {device}; batches {args.batches[0]} and {args.batches[1]}; "
        f"{torch.get_num_threads()} thread(s); peak: {peak}; a device's memory usable up to "
        f"{args.usable:.0%}"
    )
    fits = " / ".join(f"{gib}" for gib in DEVICES_GIB)
    print(
        "| config | precision | batch | crop (s) | parameters | per example: kept, peak (MiB) "
        f"| at the batch (GiB) | accum_grad for {fits} GiB |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for path in configs:
        row = measure(path, args, device)
        accums = " / ".join(
            str(row.accum_grad(args.usable * gib * GIB) or "–") for gib in DEVICES_GIB
        )
        print(
            f"| {row.config} | {row.precision} | {row.batch_size} | {row.crop_seconds:g} "
            f"| {row.parameters:,} | {row.kept_per_example / MIB:,.0f}, "
            f"{row.peak_per_example / MIB:,.0f} | {row.needs(row.batch_size) / GIB:.1f} "
            f"| {accums} |",
            flush=True,
        )
    sys.stdout.flush()


if __name__ == "__main__":
    main()

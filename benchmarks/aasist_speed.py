"""Throughput of this package's `aasist` model against the official AASIST code, on the same
batch and the same CPU in one run, with the released weights in both.

Usage:
    python benchmarks/aasist_speed.py --official_dir DIR [--model AASIST|AASIST-L] \
        [--batch 24] [--repeats 3] [--threads N] [--train]

`--official_dir` holds `AASIST.py`, the official `models/AASIST.py` of
github.com/clovaai/aasist (MIT licence, NAVER Corp.); it is not part of this repository, so
fetch it yourself. Both models load the released weights (the copies packaged in
src/antispoof/pretrained/aasist/) and score the same batch of `--batch` x 64,600 samples
(`0.1 * randn`, seeded) in eval mode without gradients, taking turns, `--repeats` times each
after one warm-up pass. Prints examples per second of each (the best of the repeats), the
ratio, and the largest difference between their logits (ours put in the official class
order). `--train` also times a training-mode forward and backward pass of each (dropout on,
batch statistics; no optimizer step).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import torch

from antispoof.frontends.base import FeatureSpec
from antispoof.labels import BONAFIDE, SPOOF
from antispoof.losses import LOSSES
from antispoof.models import MODELS
from antispoof.models.aasist import model_conf_from_official, official_state_dict

REPO = Path(__file__).resolve().parents[1]
PRETRAINED = REPO / "src/antispoof/pretrained/aasist"
SAMPLES = 64600


def official_module(directory: Path) -> ModuleType:
    path = directory / "AASIST.py"
    if not path.is_file():
        raise SystemExit(f"{path} not found: put the official models/AASIST.py there")
    spec = importlib.util.spec_from_file_location("official_aasist", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def best_seconds(runs: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """The shortest of `repeats` timings of each run; the runs take turns, so that a change in
    the machine's load hits all of them alike."""
    best = dict.fromkeys(runs, math.inf)
    for _ in range(repeats):
        for name, run in runs.items():
            started = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--official_dir", type=Path, required=True)
    parser.add_argument("--model", choices=("AASIST", "AASIST-L"), default="AASIST")
    parser.add_argument("--batch", type=int, default=24)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all)")
    parser.add_argument("--train", action="store_true", help="also time forward + backward")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    conf = json.loads((PRETRAINED / f"{args.model}.conf").read_text(encoding="utf-8"))
    weights = PRETRAINED / f"{args.model}.pth"
    official = official_module(args.official_dir).Model(conf["model_config"])
    official.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    raw = {"raw": FeatureSpec(channels=1, dim=1, hop_length=1, frame_length=1)}
    model = MODELS.build("aasist", model_conf_from_official(conf), inputs=raw)
    loss = LOSSES.build("softmax", {"score": "bonafide_logit"}, embedding_dim=model.embedding_dim)
    ours = torch.nn.ModuleDict({"model": model, "loss": loss})
    ours.load_state_dict(official_state_dict(weights))

    wav = 0.1 * torch.randn(args.batch, SAMPLES, generator=torch.Generator().manual_seed(0))

    def run_official() -> torch.Tensor:
        return official(wav)[1]

    def run_ours() -> torch.Tensor:
        logits = loss.logits(model({"raw": wav[:, None, :, None]}))
        # The official class order: spoof first.
        return torch.stack([logits[:, SPOOF], logits[:, BONAFIDE]], dim=1)

    print(
        f"{args.model}, batch {args.batch} x {SAMPLES} samples, {torch.get_num_threads()} "
        f"threads, torch {torch.__version__}"
    )
    official.eval()
    ours.eval()
    with torch.no_grad():
        difference = (run_official() - run_ours()).abs().max().item()  # and the warm-up
        seconds = best_seconds({"official": run_official, "ours": run_ours}, args.repeats)
    report("eval, no_grad", args.batch, seconds)
    print(f"largest logit difference: {difference:.2e}")

    if args.train:
        official.train()
        ours.train()
        runs = {
            "official": lambda: run_official().sum().backward(),
            "ours": lambda: run_ours().sum().backward(),
        }
        best_seconds(runs, 1)  # warm-up
        report("train, forward + backward", args.batch, best_seconds(runs, args.repeats))


def report(what: str, batch: int, seconds: dict[str, float]) -> None:
    official, ours = seconds["official"], seconds["ours"]
    print(
        f"{what}: official {batch / official:.2f} examples/s ({official:.2f} s a batch), "
        f"ours {batch / ours:.2f} examples/s ({ours:.2f} s a batch): {official / ours:.2f}x"
    )


if __name__ == "__main__":
    main()

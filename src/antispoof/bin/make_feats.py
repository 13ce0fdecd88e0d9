r"""Run a frozen input branch over a `wav.scp`, batched on a device, into a kaldiio ark/scp store.

Usage:
    python -m antispoof.bin.make_feats --config exp/<tag>/config.yaml --branch lfcc \
        --data_dir data/train/split2/1 --out dump/<branch_tag>/train/feats.1 \
        [--ngpu 0|1] [--batch_seconds S]

Each utterance's features of the whole utterance are stored as a `(T, C, F)` array (NPY inside
the ark; kaldiio reads it back). Utterances are sorted by length and batched up to
`--batch_seconds` of padded audio, so that little of a batch is padding; a frontend's batched
result equals its per-utterance one. The default batch is 16 s on a CPU, where larger batches
are memory-bound, and 320 s on a GPU (benchmarks/engine_throughput.py measures both).
Records the branch's settings as `frontend.yaml` beside the output, so a cache always says
which settings made it. Writes `<out>.ark`, `<out>.scp` and
`<out>.utt2num_frames` (the ark under a temporary name, renamed at the end, so an interrupted job
leaves nothing that looks finished).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import kaldiio
import soundfile
import torch
from torch.utils.data import DataLoader

from antispoof.bin._cli import run_main
from antispoof.config import save_config
from antispoof.data.audio import AudioError, read_audio
from antispoof.data.datadir import line_origin
from antispoof.data.kaldi_files import iter_table
from antispoof.frontends import FRONTENDS
from antispoof.markers import read_config
from antispoof.registry import ConfigError
from antispoof.training.device import select_device

# Padded audio per batch by default: on a CPU, batches beyond ~20 s get slower (memory-bound;
# 16 s was the fastest of 5 to 320 s for LFCC on 2 cores), a GPU wants large batches.
BATCH_SECONDS = {"cpu": 16.0, "cuda": 320.0}


def length_sorted_batches(durations: list[int], budget: int) -> list[list[int]]:
    """Indices of utterances, longest first, in batches whose padded size (count x longest)
    stays within `budget` samples (a longer utterance alone makes a batch of one)."""
    order = sorted(range(len(durations)), key=lambda i: -durations[i])
    batches: list[list[int]] = []
    for index in order:
        if batches and durations[batches[-1][0]] * (len(batches[-1]) + 1) <= budget:
            batches[-1].append(index)
        else:
            batches.append([index])
    return batches


class _Utterances(torch.utils.data.Dataset):
    """Audio of the entries of a wav.scp, read in loader workers."""

    def __init__(self, entries: list[tuple[str, str, str]], sample_rate: int) -> None:
        self.entries = entries
        self.sample_rate = sample_rate

    def __len__(self) -> int:
        return len(self.entries)

    def __getitem__(self, index: int) -> tuple[str, torch.Tensor]:
        utt, path, where = self.entries[index]
        return utt, torch.from_numpy(read_audio(path, where, self.sample_rate))


def _pad(batch: list[tuple[str, torch.Tensor]]) -> tuple[list[str], torch.Tensor, torch.Tensor]:
    lengths = torch.tensor([len(wav) for _, wav in batch])
    return (
        [utt for utt, _ in batch],
        torch.nn.utils.rnn.pad_sequence([wav for _, wav in batch], batch_first=True),
        lengths,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--config", required=True, type=Path, help="the experiment's config.yaml")
    parser.add_argument("--branch", required=True, help="the input branch to compute")
    parser.add_argument("--data_dir", required=True, type=Path)
    parser.add_argument("--out", required=True, help="output prefix (without .ark/.scp)")
    parser.add_argument("--ngpu", type=int, default=None, help="0: CPU; default: a GPU if present")
    parser.add_argument(
        "--batch_seconds",
        type=float,
        help="padded audio per batch, in seconds (default: 16 on a CPU, 320 on a GPU)",
    )
    parser.add_argument("--num_workers", type=int, default=0, help="audio-reading processes")
    args = parser.parse_args(argv)
    config = read_config(args.config)
    branches = config.get("inputs") or {}
    if args.branch not in branches:
        raise ConfigError(f"{args.config} has no input branch {args.branch!r}: {sorted(branches)}")
    branch = branches[args.branch]
    frontend = FRONTENDS.build(branch["frontend"], branch["frontend_conf"])
    if not frontend.cacheable:
        raise ConfigError(
            f"input branch {args.branch!r} ({branch['frontend']}) is trainable or not "
            "deterministic: it runs inside the detector and cannot be cached"
        )
    device = select_device(args.ngpu)
    frontend.to(device).eval()
    sample_rate = frontend.spec.sample_rate

    # Errors name the line of the directory split (data/train/wav.scp), not of the part.
    origin = line_origin(args.data_dir)
    entries = [
        (utt, path, origin.where(line)) for line, utt, path in iter_table(args.data_dir / "wav.scp")
    ]
    durations = [_num_samples(path, where) for _, path, where in entries]
    batch_seconds = args.batch_seconds or BATCH_SECONDS[device.type]
    batches = length_sorted_batches(durations, round(batch_seconds * sample_rate))
    loader = DataLoader(
        _Utterances(entries, sample_rate),
        batch_sampler=batches,
        num_workers=args.num_workers,
        collate_fn=_pad,
        pin_memory=device.type == "cuda",
    )

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    ark, scp, frames_file = (
        out.with_name(f"{out.name}.{ext}") for ext in ("ark", "scp", "utt2num_frames")
    )
    tmp_ark = ark.with_name(ark.name + ".tmp")
    tmp_scp = scp.with_name(scp.name + ".tmp")
    num_frames = []
    with (
        torch.no_grad(),
        kaldiio.WriteHelper(f"ark,scp:{tmp_ark},{tmp_scp}", write_function="numpy") as writer,
    ):
        for utts, wav, lengths in loader:
            feats, frame_lengths = frontend(wav.to(device), lengths.to(device))
            feats = feats.float().cpu()
            for row, utt in enumerate(utts):
                frames = int(frame_lengths[row])
                writer(utt, feats[row, :, :frames].permute(1, 0, 2).contiguous().numpy())
                num_frames.append(f"{utt} {frames}\n")
    # The scp names the temporary ark; point it at the final name before renaming both.
    scp_text = tmp_scp.read_text(encoding="utf-8").replace(str(tmp_ark), str(ark))
    os.replace(tmp_ark, ark)
    scp.write_text(scp_text, encoding="utf-8")
    tmp_scp.unlink()
    frames_file.write_text("".join(num_frames), encoding="utf-8")
    save_config(branch, out.parent / "frontend.yaml")
    return 0


def _num_samples(path: str, where: str) -> int:
    """An audio file's length from its header, for sorting (reading it comes later)."""
    try:
        return soundfile.info(path).frames
    except (OSError, RuntimeError, soundfile.LibsndfileError) as err:
        raise AudioError(f"{where}: cannot read audio {path}: {err}") from err


if __name__ == "__main__":
    run_main(main, "make_feats")

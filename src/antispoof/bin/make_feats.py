r"""Run a frozen input branch over audio files, batched on a device, into kaldiio arks.

Usage:
    python -m antispoof.bin.make_feats --config exp/<tag>/config.yaml --branch lfcc \
        --data_dir data/train --store dump/<branch_tag>/store.float32 --batch 0001-train \
        --job 1 --num_jobs 2 [--dtype float32|float16] [--ngpu 0|1] [--batch_seconds S]

    python -m antispoof.bin.make_feats --config exp/<tag>/config.yaml --branch lfcc \
        --data_dir data/train --out feats [--dtype float32|float16] [--ngpu 0|1]

With `--store` (what steps/make_feats.sh runs), job `--job` of `--num_jobs` computes its share
of the distinct audio files of the set's wav.scp that the store's index lacks (each file once,
however many utterances name it) into `<store>/<batch>.<job>.ark`, and lists their records in
`<store>/<batch>.<job>.index`, which the step merges into the store's index when every job has
finished (antispoof.data.feature_store). With `--out`, every utterance of the data directory
goes into `<out>.ark`, `<out>.scp` and `<out>.utt2num_frames`: a cache of its own.

Each utterance's features of the whole utterance are stored as a `(T, C, F)` array (NPY inside
the ark; kaldiio reads it back), in float32, or in float16 with `--dtype float16` (half the
disk; the reader turns them back into float32; a value beyond float16's range is an error, never
an infinity). Utterances are sorted by length and batched up to `--batch_seconds` of padded
audio, so that little of a batch is padding; a frontend's batched result equals its
per-utterance one. The default batch is 16 s on a CPU, where larger batches are memory-bound,
and 320 s on a GPU (benchmarks/engine_throughput.py measures both). Arks and index parts are
written under temporary names and renamed at the end, so an interrupted job leaves nothing that
looks finished.
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

import kaldiio
import numpy as np
import soundfile
import torch
from torch.utils.data import DataLoader

from antispoof.bin._cli import run_main
from antispoof.config import save_config
from antispoof.data.audio import AudioError, read_audio
from antispoof.data.datadir import line_origin
from antispoof.data.feature_store import (
    DEFAULT_DTYPE,
    DTYPES,
    INDEX,
    FeatureStore,
    Record,
    job_share,
    missing_audio,
    write_records,
)
from antispoof.data.kaldi_files import iter_table, read_table
from antispoof.data.utt2dur import utt2dur_is_current
from antispoof.frontends import FRONTENDS
from antispoof.markers import read_config
from antispoof.registry import ConfigError
from antispoof.training.device import select_device

# Padded audio per batch by default: on a CPU, batches beyond ~20 s get slower (memory-bound;
# 16 s was the fastest of 5 to 320 s for LFCC on 2 cores), a GPU wants large batches.
BATCH_SECONDS = {"cpu": 16.0, "cuda": 320.0}

log = logging.getLogger("antispoof.make_feats")


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
    parser.add_argument("--store", type=Path, help="the feature store (dump/<tag>/store.<dtype>)")
    parser.add_argument("--batch", help="with --store: the name of this stage-2 run's arks")
    parser.add_argument("--job", type=int, default=1, help="with --store: this job, 1..num_jobs")
    parser.add_argument("--num_jobs", type=int, default=1, help="with --store: jobs in all")
    parser.add_argument("--out", help="instead of --store: output prefix (without .ark/.scp)")
    parser.add_argument("--dtype", choices=DTYPES, default=DEFAULT_DTYPE, help="stored dtype")
    parser.add_argument("--ngpu", type=int, default=None, help="0: CPU; default: a GPU if present")
    parser.add_argument(
        "--batch_seconds",
        type=float,
        help="padded audio per batch, in seconds (default: 16 on a CPU, 320 on a GPU)",
    )
    parser.add_argument("--num_workers", type=int, default=0, help="audio-reading processes")
    args = parser.parse_args(argv)
    if (args.store is None) == (args.out is None):
        parser.error("give --store (with --batch) or --out")
    if args.store is not None and not args.batch:
        parser.error("--store needs --batch")
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

    # Errors name the line of the directory split (data/train/wav.scp), not of the part.
    origin = line_origin(args.data_dir)
    lines = {utt: line for line, utt, _ in iter_table(args.data_dir / "wav.scp")}
    if args.store is not None:
        store = FeatureStore(args.store)
        chosen = job_share(missing_audio(args.data_dir, store), args.job, args.num_jobs)
        out = args.store / f"{args.batch}.{args.job}"
    else:
        chosen = list(read_table(args.data_dir / "wav.scp").items())
        out = Path(args.out)
    entries = [(utt, path, origin.where(lines[utt])) for utt, path in chosen]
    if not entries:
        log.info("nothing to compute: the store holds every audio file of this share")
        return 0
    device = select_device(args.ngpu)
    frontend.to(device).eval()
    written = write_features(
        frontend,
        device,
        entries,
        _num_samples(args.data_dir, entries, frontend.spec.sample_rate),
        out,
        args.dtype,
        args.batch_seconds or BATCH_SECONDS[device.type],
        args.num_workers,
    )
    ark = out.with_name(f"{out.name}.ark")
    if args.store is not None:
        audio_of = {utt: path for utt, path, _ in entries}
        part = out.with_name(f"{out.name}.{INDEX}")
        records = {
            audio_of[utt]: Record(f"{ark}:{offset}", frames) for utt, offset, frames in written
        }
        write_records(part.with_name(part.name + ".tmp"), records)
        # The ark is complete before the index part names it.
        os.replace(ark.with_name(ark.name + ".tmp"), ark)
        os.replace(part.with_name(part.name + ".tmp"), part)
        return 0
    os.replace(ark.with_name(ark.name + ".tmp"), ark)
    scp, frames_file = (out.with_name(f"{out.name}.{ext}") for ext in ("scp", "utt2num_frames"))
    scp.write_text("".join(f"{utt} {ark}:{offset}\n" for utt, offset, _ in written), "utf-8")
    frames_file.write_text("".join(f"{utt} {frames}\n" for utt, _, frames in written), "utf-8")
    save_config(branch, out.parent / "frontend.yaml")
    return 0


def write_features(
    frontend: torch.nn.Module,
    device: torch.device,
    entries: list[tuple[str, str, str]],
    num_samples: list[int],
    out: Path,
    dtype: str,
    batch_seconds: float,
    num_workers: int,
) -> list[tuple[str, int, int]]:
    """Features of `(utt, path, where)` entries into `<out>.ark.tmp`; returns (utt, offset,
    frames) of each record, in the order written."""
    sample_rate = frontend.spec.sample_rate
    batches = length_sorted_batches(num_samples, round(batch_seconds * sample_rate))
    loader = DataLoader(
        _Utterances(entries, sample_rate),
        batch_sampler=batches,
        num_workers=num_workers,
        collate_fn=_pad,
        pin_memory=device.type == "cuda",
    )
    where = {utt: place for utt, _, place in entries}
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp_ark = out.with_name(f"{out.name}.ark.tmp")
    written = []
    with torch.no_grad(), tmp_ark.open("wb") as ark:
        for utts, wav, lengths in loader:
            feats, frame_lengths = frontend(wav.to(device), lengths.to(device))
            feats = feats.float().cpu()
            for row, utt in enumerate(utts):
                frames = int(frame_lengths[row])
                array = feats[row, :, :frames].permute(1, 0, 2).contiguous().numpy()
                if dtype != "float32":
                    array = _narrowed(array, dtype, f"{where[utt]}: {utt}")
                # save_ark writes `<utt> ` and the record; a scp names the record's offset.
                offset = ark.tell() + len(f"{utt} ".encode())
                kaldiio.save_ark(ark, {utt: array}, write_function="numpy")
                written.append((utt, offset, frames))
    return written


def _narrowed(array: np.ndarray, dtype: str, what: str) -> np.ndarray:
    """`array` in `dtype`; a finite value that the narrower type cannot hold is an error."""
    with np.errstate(over="ignore"):  # an overflow is reported below, with the utterance
        narrow = array.astype(dtype)
    if not np.isfinite(narrow).all() and np.isfinite(array).all():
        largest = float(np.abs(array).max())
        raise ValueError(
            f"{what}: a feature value of {largest:.6g} is beyond the range of {dtype}: cache "
            "this branch in float32 (run.sh --cache_dtype float32)"
        )
    return narrow


def _num_samples(
    data_dir: Path, entries: list[tuple[str, str, str]], sample_rate: int
) -> list[int]:
    """Each entry's length in samples, for sorting (reading the audio comes later): from the
    data directory's utt2dur when it is current, else from each file's header."""
    if utt2dur_is_current(data_dir):
        durations = read_table(data_dir / "utt2dur")
        return [round(float(durations[utt]) * sample_rate) for utt, _, _ in entries]
    return [_header_samples(path, where) for _, path, where in entries]


def _header_samples(path: str, where: str) -> int:
    """An audio file's length from its header."""
    try:
        return soundfile.info(path).frames
    except (OSError, RuntimeError, soundfile.LibsndfileError) as err:
        raise AudioError(f"{where}: cannot read audio {path}: {err}") from err


if __name__ == "__main__":
    run_main(main, "make_feats")

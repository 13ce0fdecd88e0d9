"""Peak memory and speed of `detect` on a folder of many files and on one long file.

Usage:
    python benchmarks/detect_scale.py [--files 1000] [--seconds 4] [--hours 1] \
        [--model aasist] [--batch_size N] [--threads 1] [--work_dir DIR]

Writes `--files` FLAC files of `--seconds` s and one FLAC file of `--hours` h (16 kHz mono: the
espeak-ng sentence of tests/reference/ again and again between pauses, in low noise) under
`--work_dir` (a temporary folder by default, removed at the end), then runs `python -m
antispoof.bin.detect --format jsonl` on each case in a process of its own with `--threads`
torch and OpenMP threads: every window of every file (AASIST: 4.04-s windows), with the speech
check, and the official single window (`--window first`). Prints per case the files, the audio
hours, the wall seconds, files/s, audio hours per hour of wall time, and the child's peak
resident memory (`ru_maxrss`), which includes the ~0.7 GB of importing torch.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile

REPO = Path(__file__).resolve().parents[1]
SENTENCE = REPO / "tests/reference/espeak_ng_sentence.flac"
RATE = 16000


def speech_unit() -> np.ndarray:
    """The sentence at 16 kHz and a 1.5-s pause."""
    import torch
    import torchaudio.functional

    speech, rate = soundfile.read(SENTENCE, dtype="float32")
    speech = torchaudio.functional.resample(torch.from_numpy(speech), rate, RATE).numpy()
    return np.concatenate([speech, np.zeros(round(1.5 * RATE), dtype=np.float32)])


def write(path: Path, seconds: float, unit: np.ndarray, rng: np.random.Generator) -> None:
    """`seconds` of the unit repeated, in noise at -60 dBFS, written in blocks."""
    frames = round(seconds * RATE)
    with soundfile.SoundFile(path, "w", RATE, 1, format="FLAC", subtype="PCM_16") as out:
        for start in range(0, frames, len(unit)):
            block = unit[: min(len(unit), frames - start)]
            out.write((block + 1e-3 * rng.standard_normal(len(block))).astype(np.float32))


def run_case(name: str, inputs: list[str], options: list[str], out: Path, threads: int) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    command = [sys.executable, "-m", "antispoof.bin.detect", "--ngpu", "0", "--format", "jsonl"]
    command += [*options, "--out", str(out), *inputs]
    started = time.perf_counter()
    child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    stderr = child.stderr.read().decode() if child.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{name}: detect failed:\n{stderr[-3000:]}")
    rows = out.read_text().count("\n")
    return {"name": name, "files": rows, "seconds": seconds, "peak_mb": usage.ru_maxrss / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--hours", type=float, default=1.0)
    parser.add_argument("--model", default="aasist")
    parser.add_argument("--batch_size", type=int)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--work_dir", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.work_dir) as tmp:
        work = Path(tmp)
        unit, rng = speech_unit(), np.random.default_rng(0)
        folder = work / "many"
        folder.mkdir()
        for index in range(args.files):
            write(folder / f"{index:05d}.flac", args.seconds, unit, rng)
        long_file = work / "long.flac"
        write(long_file, args.hours * 3600, unit, rng)
        options = ["--model", args.model]
        if args.batch_size:
            options += ["--batch_size", str(args.batch_size)]
        cases = [
            ("folder, every window", [str(folder)], options, args.files * args.seconds),
            (
                "folder, first window",
                [str(folder)],
                [*options, "--window", "first"],
                args.files * args.seconds,
            ),
            ("long file, every window", [str(long_file)], options, args.hours * 3600),
            (
                "long file, first window",
                [str(long_file)],
                [*options, "--window", "first"],
                args.hours * 3600,
            ),
        ]
        print(
            f"{'case':26} {'files':>6} {'audio h':>8} {'wall s':>8} {'files/s':>8} "
            f"{'audio h/h':>9} {'peak MB':>8}"
        )
        for name, inputs, case_options, audio_seconds in cases:
            result = run_case(name, inputs, case_options, work / "out.jsonl", args.threads)
            hours = audio_seconds / 3600
            print(
                f"{name:26} {result['files']:6d} {hours:8.3f} {result['seconds']:8.1f} "
                f"{result['files'] / result['seconds']:8.2f} "
                f"{hours / (result['seconds'] / 3600):9.1f} {result['peak_mb']:8.0f}"
            )
    print(
        f"(the parent's own peak: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MB)"
    )


if __name__ == "__main__":
    main()

"""Peak memory and seconds of reading a long recording: today's whole-file read against the
first window and all scoring windows read in blocks (antispoof.data.stream), with and without
the voice-activity detector (antispoof.speech), and the VAD's cost per audio hour.

Usage:
    python benchmarks/long_audio.py [--minutes_16k 60] [--minutes_44k 20] [--window 64600] \
        [--hop 32300] [--backends jit,onnx] [--threads 1] [--work_dir DIR]

Two files are written under `--work_dir` (a temporary folder by default, removed at the end):
a 16 kHz mono one of `--minutes_16k` minutes and a 44.1 kHz stereo one of `--minutes_44k`,
16-bit WAV, holding the espeak-ng sentence of tests/reference/ spoken again and again between
pauses, in low noise. Each measurement runs in a process of its own, with `--threads` torch
and OpenMP threads: its peak resident memory is the child's `ru_maxrss`, shown with its growth
over the peak once the imports were done (what the reading itself holds; `whole` imports
antispoof.scoring, which read_any_audio lives in, and with it the detector); its seconds are
those of the work alone. Prints one table and the VAD's seconds per audio hour (windows with
the VAD less windows alone).
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

REPO = Path(__file__).resolve().parents[1]
SENTENCE = REPO / "tests/reference/espeak_ng_sentence.flac"
RATE = 16000
CASES = ("whole", "first", "windows", "windows+vad")


def write_recording(path: Path, minutes: float, rate: int, channels: int) -> Path:
    """`minutes` of the sentence and 1.5-s pauses in noise at -60 dBFS, written in blocks."""
    import torch
    import torchaudio.functional

    speech, speech_rate = soundfile.read(SENTENCE, dtype="float32")
    speech = torchaudio.functional.resample(torch.from_numpy(speech), speech_rate, rate).numpy()
    unit = np.concatenate([speech, np.zeros(round(1.5 * rate), dtype=np.float32)])
    frames = round(minutes * 60 * rate)
    rng = np.random.default_rng(0)
    with soundfile.SoundFile(path, "w", rate, channels, subtype="PCM_16") as out:
        for start in range(0, frames, len(unit)):
            block = unit[: min(len(unit), frames - start)]
            noisy = block[:, None] + 1e-3 * rng.standard_normal((len(block), channels))
            out.write(noisy.astype(np.float32))
    return path


def write_in_child(path: Path, minutes: float, rate: int, channels: int) -> Path:
    """write_recording in a process of its own: this one must stay small, since a child's
    `ru_maxrss` counts the memory of the process it was forked from."""
    command = [sys.executable, __file__, "--write", f"{minutes},{rate},{channels}"]
    subprocess.run([*command, "--file", str(path)], check=True)
    return path


def run_case(case: str, path: str, window: int, hop: int, backend: str) -> None:
    """One measurement (in the child process): prints the work's seconds, the peak resident
    memory (MB) once its imports were done, and what it found."""
    import resource

    import torch
    import torchaudio.transforms  # noqa: F401 (any read that resamples imports it: count it here)

    from antispoof.data.stream import cut_windows, open_audio
    from antispoof.speech import SAMPLE_RATE, SpeechDetector

    if case == "whole":
        from antispoof.scoring import read_any_audio  # today's read, with its imports
    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    vad = SpeechDetector(backend=backend) if case == "windows+vad" else None
    imported = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    found = ""
    if case == "whole":
        found = f"{len(read_any_audio(path, RATE)[0])} samples"
    elif case == "first":
        found = f"{len(open_audio(path).first_window(RATE, window))} samples"
    elif case == "windows":
        found = f"{sum(1 for _ in open_audio(path).windows(RATE, window, hop))} windows"
    elif case == "windows+vad":
        assert vad is not None
        tracker = vad.tracker()
        blocks = tracker.follow(open_audio(path).blocks(SAMPLE_RATE))
        count = sum(1 for _ in cut_windows(blocks, window, hop, SAMPLE_RATE))
        speech = tracker.finish()
        found = f"{count} windows, {speech.total_seconds / 60:.1f} min of speech"
    print(f"{time.perf_counter() - started:.3f} {imported:.1f} {found}")


def measure(
    case: str, path: Path, args: argparse.Namespace, backend: str
) -> tuple[float, float, float, str]:
    """Seconds, peak resident memory and its growth after the imports (MB), and findings of
    one case in its own process."""
    command = [sys.executable, __file__, "--case", case, "--file", str(path)]
    command += ["--window", str(args.window), "--hop", str(args.hop), "--backends", backend]
    threads = str(args.threads)
    env = {**os.environ, "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    if status != 0:
        raise RuntimeError(f"{' '.join(command)} failed")
    seconds, imported, found = output.strip().split(" ", 2)
    peak = usage.ru_maxrss / 1024
    return float(seconds), peak, peak - float(imported), found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes_16k", type=float, default=60.0)
    parser.add_argument("--minutes_44k", type=float, default=20.0)
    parser.add_argument("--window", type=int, default=64600, help="samples (AASIST's)")
    parser.add_argument("--hop", type=int, default=32300, help="samples between windows")
    parser.add_argument("--backends", default="jit,onnx", help="VAD backends to time")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--work_dir", type=Path)
    parser.add_argument("--case", choices=CASES, help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    parser.add_argument("--write", help=argparse.SUPPRESS)  # minutes,rate,channels
    args = parser.parse_args()
    if args.write:
        minutes, rate, channels = args.write.split(",")
        write_recording(Path(args.file), float(minutes), int(rate), int(channels))
        return
    if args.case:
        run_case(args.case, args.file, args.window, args.hop, args.backends)
        # Leave without the interpreter's teardown: unloading torch takes about 120 MB more,
        # which ru_maxrss would count against the reading.
        sys.stdout.flush()
        os._exit(0)

    with tempfile.TemporaryDirectory(prefix="long_audio_", dir=args.work_dir) as work:
        files = {
            f"{args.minutes_16k:g} min, 16 kHz mono": (
                write_in_child(Path(work) / "16k.wav", args.minutes_16k, RATE, 1),
                args.minutes_16k / 60,
            ),
            f"{args.minutes_44k:g} min, 44.1 kHz stereo": (
                write_in_child(Path(work) / "44k.wav", args.minutes_44k, 44100, 2),
                args.minutes_44k / 60,
            ),
        }
        backends = args.backends.split(",")
        print(
            f"{os.cpu_count()} CPU cores, {args.threads} thread(s) per process; window "
            f"{args.window} samples, hop {args.hop}; 16-bit WAV files"
        )
        print("| file | what | seconds | peak RSS (MB) | of which after imports | found |")
        print("|---|---|---|---|---|---|")
        vad_cost: dict[str, list[float]] = {backend: [] for backend in backends}
        for name, (path, hours) in files.items():
            windows_seconds = 0.0
            for case in CASES:
                for backend in backends if case == "windows+vad" else backends[:1]:
                    seconds, peak, growth, found = measure(case, path, args, backend)
                    label = f"{case} ({backend})" if case == "windows+vad" else case
                    figures = f"{seconds:.2f} | {peak:.0f} | {growth:.0f}"
                    print(f"| {name} | {label} | {figures} | {found} |")
                    if case == "windows":
                        windows_seconds = seconds
                    if case == "windows+vad":
                        vad_cost[backend].append((seconds - windows_seconds) / hours)
        for backend, costs in vad_cost.items():
            each = ", ".join(f"{cost:.0f}" for cost in costs)
            print(f"VAD ({backend}): {each} s per audio hour (windows+vad less windows, per file)")


if __name__ == "__main__":
    main()

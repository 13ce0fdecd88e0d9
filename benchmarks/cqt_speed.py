"""Speed of the `cqt` frontend against librosa's `cqt`, side by side in one process on one thread,
at two lengths of the same signal: the cost per second of audio, and whether it grows with the
length.

Usage:
    python benchmarks/cqt_speed.py [--seconds 4 60] [--repeats 5] [--threads 1]

Needs librosa (the `bench` extra: `pip install -e '.[bench]'`). Both compute Li et al.'s CQT
settings (16 kHz, hop 256, fmin 15 Hz, 432 bins, 48 per octave, Hann window) of the first
`--seconds` of one signal (60 s of seeded noise, 0.1 * randn, float32), one utterance at a time:
ours is the whole frontend (pre-emphasis, CQT, log power; built once, as a job builds it), in
float32 on the CPU; librosa's is `librosa.cqt` with its own defaults otherwise (it builds its
filters on every call, as every caller does). They take turns, `--repeats` times each after one
warm-up call, and the shortest time of each is kept. Prints the seconds each takes per second
of audio at each length, ours against librosa's at each length, and for each the cost per
second at the longest length against the shortest (1.00: linear in length; more: faster
than linear growth).
"""

from __future__ import annotations

import argparse
import math
import time
import warnings
from collections.abc import Callable

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from antispoof.frontends import FRONTENDS

SAMPLE_RATE = 16000
# Li et al.'s settings, as the frontend's defaults hold them.
LIBROSA_SETTINGS = {
    "sr": SAMPLE_RATE,
    "hop_length": 256,
    "fmin": 15.0,
    "n_bins": 432,
    "bins_per_octave": 48,
    "window": "hann",
}


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
    parser.add_argument("--seconds", type=float, nargs="+", default=[4.0, 60.0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="torch, BLAS and OpenMP threads")
    args = parser.parse_args()
    import librosa  # the `bench` extra, not a dependency of the package

    torch.set_num_threads(args.threads)
    threadpool_limits(args.threads)
    frontend = FRONTENDS.build("cqt", {}).eval()
    defaults = FRONTENDS.resolved_conf("cqt", {})
    shared = ("hop_length", "fmin", "n_bins", "bins_per_octave")
    assert all(defaults[key] == LIBROSA_SETTINGS[key] for key in shared)
    assert defaults["sample_rate"] == LIBROSA_SETTINGS["sr"]
    longest = max(args.seconds)
    signal = 0.1 * torch.randn(
        round(longest * SAMPLE_RATE), generator=torch.Generator().manual_seed(0)
    )

    print(
        f"cqt, Li et al.'s settings, {torch.get_num_threads()} thread(s): torch "
        f"{torch.__version__}, librosa {librosa.__version__}, numpy {np.__version__}"
    )
    per_second: dict[float, dict[str, float]] = {}
    for seconds in sorted(args.seconds):
        samples = round(seconds * SAMPLE_RATE)
        wav, lengths = signal[None, :samples], torch.tensor([samples])
        audio = signal[:samples].numpy()

        def run_ours(wav: torch.Tensor = wav, lengths: torch.Tensor = lengths) -> object:
            with torch.no_grad():
                return frontend(wav, lengths)

        def run_librosa(audio: np.ndarray = audio) -> object:
            with warnings.catch_warnings():
                # Its lowest octaves of a short input are shorter than their FFTs: it says so.
                warnings.simplefilter("ignore", UserWarning)
                return librosa.cqt(audio, **LIBROSA_SETTINGS)

        runs = {"ours": run_ours, "librosa": run_librosa}
        best_seconds(runs, 1)  # warm-up
        best = best_seconds(runs, args.repeats)
        per_second[seconds] = {name: value / seconds for name, value in best.items()}
        ours, theirs = per_second[seconds]["ours"], per_second[seconds]["librosa"]
        print(
            f"{seconds:g} s of audio: ours {1000 * ours:.2f} ms per second of audio "
            f"({best['ours']:.3f} s), librosa {1000 * theirs:.2f} ms "
            f"({best['librosa']:.3f} s): ours {theirs / ours:.2f}x librosa's speed"
        )
    shortest = min(args.seconds)
    if longest != shortest:
        for name in ("ours", "librosa"):
            growth = per_second[longest][name] / per_second[shortest][name]
            print(
                f"{name}: cost per second of audio at {longest:g} s / at {shortest:g} s: "
                f"{growth:.2f}"
            )


if __name__ == "__main__":
    main()

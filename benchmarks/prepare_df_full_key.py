"""Time stage 1 on a full-size ASVspoof 2021 DF key: wall time, CPU time and peak memory.

Usage:
    .venv/bin/python benchmarks/prepare_df_full_key.py [--work_dir /tmp/df21_bench] [--seed 0]

Builds in <work_dir>/db a synthetic corpus of exactly 611,829 trials: keys/DF/CM/trial_metadata.txt
in the official 13-field format with realistic field values and proportions (ids DF_E_2000011 ...
DF_E_4999993, 22,617 bona fide, subsets 533,928 eval / 59,325 progress / 18,576 hidden), and
ASVspoof2021_DF_eval/flac/ with an empty stand-in file per trial: stage 1 only lists that folder,
it never reads audio. A work dir that already holds the corpus is reused (creating 611k files
takes a while). Then it runs, in a child process,

    python -m antispoof.bin.prepare_asvspoof2021 --track df --db_root <work_dir>/db
        --data_root <work_dir>/data

(df21_full, df21_eval, the 100k/25k training split and the two held-out sets) and reports its
wall time, CPU time and peak resident memory (the child's ru_maxrss).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

TRIALS = 611_829
BONAFIDE = 22_617
# docs/research/corpora.md §3.4 gives eval and progress + hidden (77,901); the split of the
# latter is a third-party count.
SUBSETS = {"eval": 533_928, "progress": 59_325, "hidden": 18_576}
FIRST_ID, LAST_ID = 2_000_011, 4_999_993
CODECS = (
    "nocodec",
    "low_mp3",
    "high_mp3",
    "low_m4a",
    "high_m4a",
    "low_ogg",
    "high_ogg",
    "mp3m4a",
    "oggm4a",
)
VOCODERS = (
    "traditional_vocoder",
    "waveform_concatenation",
    "neural_vocoder_autoregressive",
    "neural_vocoder_nonautoregressive",
    "unknown",
)
SOURCE_SHARES = {"asvspoof": 0.5, "vcc2018": 0.25, "vcc2020": 0.25}
SPEAKERS = {
    "asvspoof": [f"LA_{n:04d}" for n in range(1, 68)],
    "vcc2018": [f"VCC2{r}{g}{n}" for r in "ST" for g in "FM" for n in (1, 2)],
    "vcc2020": [f"T{lang}{g}{n}" for lang in "EFGM" for g in "FM" for n in (1, 2)],
}
GENDER_PAIRS = ("FF", "FM", "MF", "MM")
MARKER = ".complete"


def spoof_fields(source: str, draws: np.ndarray) -> tuple[str, str]:
    """The attack id and fields 10-13 (task, team, gender pair, language) of a spoof trial.

    `draws` holds four random integers in [0, 1000) that pick the values.
    """
    pair = GENDER_PAIRS[draws[2] % 4]
    if source == "asvspoof":
        return f"A{7 + draws[0] % 13:02d}", "- - - -"
    if source == "vcc2018":
        task, team = ("HUB", "SPO")[draws[0] % 2], f"N{1 + draws[1] % 23:02d}"
        return f"{task}-{team}", f"{task} {team} {pair} -"
    task, team = f"Task{1 + draws[0] % 2}", f"team{1 + draws[1] % 33:02d}"
    return f"{task}-{team}", f"{task} {team} {pair} {'EFGM'[draws[3] % 4]}"


def write_corpus(db: Path, seed: int) -> None:
    """The key and an empty stand-in file per trial, ids in ascending order as in the release."""
    rng = np.random.default_rng(seed)
    middle = rng.choice(np.arange(FIRST_ID + 1, LAST_ID), TRIALS - 2, replace=False)
    ids = np.sort(np.concatenate(([FIRST_ID, LAST_ID], middle))).tolist()
    bonafide = np.zeros(TRIALS, dtype=bool)
    bonafide[rng.choice(TRIALS, BONAFIDE, replace=False)] = True
    subsets = rng.permutation(np.repeat(list(SUBSETS), list(SUBSETS.values()))).tolist()
    sources = rng.choice(list(SOURCE_SHARES), TRIALS, p=list(SOURCE_SHARES.values())).tolist()
    codecs = rng.choice(CODECS, TRIALS).tolist()
    draws = rng.integers(0, 1000, size=(TRIALS, 6))
    key = db / "keys/DF/CM/trial_metadata.txt"
    flac = db / "ASVspoof2021_DF_eval/flac"
    key.parent.mkdir(parents=True, exist_ok=True)
    flac.mkdir(parents=True, exist_ok=True)
    with key.open("w", encoding="utf-8") as handle:
        for i, (source, subset) in enumerate(zip(sources, subsets, strict=True)):
            speakers = SPEAKERS[source]
            speaker = speakers[draws[i, 4] % len(speakers)]
            trim = "trim" if subset == "hidden" else "notrim"
            if bonafide[i]:
                label, attack, vocoder, meta = "bonafide", "-", "bonafide", "- - - -"
            else:
                label, vocoder = "spoof", VOCODERS[draws[i, 5] % len(VOCODERS)]
                attack, meta = spoof_fields(source, draws[i])
            utt = f"DF_E_{ids[i]}"
            handle.write(
                f"{speaker} {utt} {codecs[i]} {source} {attack} {label} {trim} {subset} "
                f"{vocoder} {meta}\n"
            )
            os.close(os.open(flac / f"{utt}.flac", os.O_CREAT | os.O_WRONLY, 0o644))
    (db / MARKER).touch()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--work_dir", type=Path, default=Path("/tmp/df21_bench"))
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic key")
    args = parser.parse_args()
    db, data = args.work_dir / "db", args.work_dir / "data"
    if not (db / MARKER).exists():
        start = time.perf_counter()
        write_corpus(db, args.seed)
        print(f"synthetic corpus: {db} ({time.perf_counter() - start:.1f} s)")
    command = [
        sys.executable,
        "-m",
        "antispoof.bin.prepare_asvspoof2021",
        "--track",
        "df",
        "--db_root",
        str(db),
        "--data_root",
        str(data),
    ]
    start = time.perf_counter()
    subprocess.run(command, check=True)
    wall = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = usage.ru_utime + usage.ru_stime  # less sensitive than wall time to a busy machine
    peak_mb = usage.ru_maxrss / 1024  # KiB on Linux
    print(
        f"prepare (DF, {TRIALS} trials): wall {wall:.1f} s, CPU {cpu:.1f} s, "
        f"peak RSS {peak_mb:.0f} MB"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Usage: python -m antispoof.bin.validate_data_dir [--check_audio_exists] <data_dir>

Check a Kaldi data directory against the contract in DESIGN.md: the files wav.scp, utt2spk,
spk2utt, utt2label and utt2attack are present; every file is sorted in C locale order with unique
keys; wav.scp and every utt2* file hold the same utterances; spk2utt is the inverse of utt2spk;
labels, attacks, subsets and durations are valid. Prints a summary, or every problem found (as
file:line) on stderr and exits 1.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from antispoof.bin._cli import run_main
from antispoof.data.datadir import validate_data_dir


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--check_audio_exists",
        "--check-audio-exists",
        action="store_true",
        help="also require each wav.scp path that is not a pipe command to exist",
    )
    parser.add_argument("data_dir", type=Path, help="the data directory, e.g. data/train")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = get_parser().parse_args(argv)
    summary = validate_data_dir(args.data_dir, check_audio_exists=args.check_audio_exists)
    print(summary)
    return 0


if __name__ == "__main__":
    run_main(main, "validate_data_dir")

"""Usage: python -m antispoof.bin.validate_data_dir [options] <data_dir>

Check a Kaldi data directory against the contract in docs/DESIGN.md: the files wav.scp, utt2spk,
spk2utt, utt2label and utt2attack are present; every file is sorted in C locale order with unique
keys; wav.scp and every utt2* file hold the same utterances; spk2utt is the inverse of utt2spk;
labels, attacks, subsets and durations are valid; each wav.scp value is the path of an audio file
(pipe commands and ark offsets are refused, as the reader refuses them). Prints a summary, or
every problem found (as file:line) on stderr and exits 1.

Options: --check_audio_exists requires every audio file to exist; --check_audio also reads each
one through (readable, 16 kHz, not empty, no NaN or infinite samples) and lists every bad file.
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
        help="also require each wav.scp path to be an existing file",
    )
    parser.add_argument(
        "--check_audio",
        "--check-audio",
        action="store_true",
        help="also read every audio file through: readable, 16 kHz, not empty, finite samples "
        "(implies --check_audio_exists)",
    )
    parser.add_argument("data_dir", type=Path, help="the data directory, e.g. data/train")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = get_parser().parse_args(argv)
    summary = validate_data_dir(
        args.data_dir, check_audio_exists=args.check_audio_exists, check_audio=args.check_audio
    )
    print(summary)
    return 0


if __name__ == "__main__":
    run_main(main, "validate_data_dir")

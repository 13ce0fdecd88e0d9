"""Usage: python -m antispoof.bin.split_data_dir <data_dir> <num_jobs>

Split a valid Kaldi data directory into <data_dir>/split<num_jobs>/<n>/ (n = 1..num_jobs) for
parallel jobs, as Kaldi's split_data.sh does: the sorted utterances go in contiguous chunks of
near-equal size, every file is split the same way, and each part gets its own spk2utt. Each part
also gets `split_origin` (the directory split and the line of the part's first utterance in it),
so that errors met in the part name the line of the original wav.scp. A split newer than every
source file is reused. More parts than utterances is an error.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from antispoof.bin._cli import run_main
from antispoof.data.datadir import split_data_dir


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("data_dir", type=Path, help="the data directory, e.g. data/train")
    parser.add_argument("num_jobs", type=int, help="the number of parts")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = get_parser().parse_args(argv)
    split_data_dir(args.data_dir, args.num_jobs)
    return 0


if __name__ == "__main__":
    run_main(main, "split_data_dir")

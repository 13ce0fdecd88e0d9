"""Usage: python -m antispoof.bin.fix_data_dir <data_dir>

Repair a Kaldi data directory, as Kaldi's fix_data_dir.sh does: keep only the utterances present
in wav.scp and in every utt2* file, sort every file in C locale order, and rebuild spk2utt from
utt2spk. Files that change are first copied to <data_dir>/.backup/. Prints how many utterances
each file lost. Values are not judged: run validate_data_dir afterwards.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from antispoof.bin._cli import run_main
from antispoof.data.datadir import fix_data_dir


def get_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("data_dir", type=Path, help="the data directory, e.g. data/train")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = get_parser().parse_args(argv)
    print(fix_data_dir(args.data_dir))
    return 0


if __name__ == "__main__":
    run_main(main, "fix_data_dir")

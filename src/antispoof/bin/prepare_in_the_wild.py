"""In-the-Wild meta.csv to a Kaldi data directory.

Usage:
    python -m antispoof.bin.prepare_in_the_wild --db_root <dir> --data_root data

<db_root> holds release_in_the_wild/{0.wav,...,meta.csv}.

Writes <data_root>/itw/{wav.scp,utt2spk,spk2utt,utt2label,utt2attack,utt2clip}: utterance ids
itw_00000... from the clip numbers (utt2clip maps them back to 0.wav...), speaker names made
safe for Kaldi, labels bonafide/spoof, and utt2attack = the label (the corpus has no attack ids).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from antispoof.bin._cli import run_main
from antispoof.corpora.in_the_wild import prepare


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db_root", required=True, type=Path)
    parser.add_argument("--data_root", required=True, type=Path)
    args = parser.parse_args(argv)
    for name, count in prepare(args.db_root, args.data_root).items():
        print(f"{args.data_root / name}: {count} utterances")
    return 0


if __name__ == "__main__":
    run_main(main, "prepare_in_the_wild")

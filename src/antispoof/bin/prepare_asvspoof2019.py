r"""ASVspoof 2019 LA protocols to Kaldi data directories.

Usage:
    python -m antispoof.bin.prepare_asvspoof2019 --db_root <dir holding LA/> --data_root data \
        [--splits train dev eval]

Writes `<data_root>/<split>/{wav.scp,utt2spk,spk2utt,utt2label,utt2attack}` from the CM
protocols, and for dev and eval a copy of the organisers' ASV scores as `asv_scores.txt`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from antispoof.bin._cli import run_main
from antispoof.corpora.asvspoof2019 import SPLITS, prepare


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db_root", required=True, type=Path)
    parser.add_argument("--data_root", required=True, type=Path)
    parser.add_argument("--splits", nargs="+", default=list(SPLITS))
    args = parser.parse_args(argv)
    for split, count in prepare(args.db_root, args.data_root, args.splits).items():
        print(f"{args.data_root / split}: {count} trials")
    return 0


if __name__ == "__main__":
    run_main(main, "prepare_asvspoof2019")

r"""ASVspoof 5 Track 1 protocols to Kaldi data directories.

Usage:
    python -m antispoof.bin.prepare_asvspoof5 --db_root <dir> --data_root data \
        [--splits train dev eval] [--prefix asv5_]

<db_root> holds the unpacked release: flac_T/, flac_D/, flac_E_eval/ and the protocols
ASVspoof5.train.tsv, ASVspoof5.dev.track_1.tsv, ASVspoof5.eval.track_1.tsv (at its top or in
ASVspoof5_protocols/). The phase-1 ASVspoof5.{train,dev}.metainfor.txt files are refused.

Writes <data_root>/<prefix><split>/{wav.scp,utt2spk,spk2utt,utt2label,utt2attack,utt2attack_tag,
utt2gender,utt2codec,utt2codec_q}, each column of the protocol as it is. --prefix names the sets
apart where another corpus writes train/dev/eval into the same data root (the mini recipe).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from antispoof.bin._cli import run_main
from antispoof.corpora.asvspoof5 import SPLITS, prepare


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db_root", required=True, type=Path)
    parser.add_argument("--data_root", required=True, type=Path)
    parser.add_argument("--splits", nargs="+", default=list(SPLITS), choices=list(SPLITS))
    parser.add_argument("--prefix", default="", help="prepended to each set's name")
    args = parser.parse_args(argv)
    for name, count in prepare(args.db_root, args.data_root, args.splits, args.prefix).items():
        print(f"{args.data_root / name}: {count} trials")
    return 0


if __name__ == "__main__":
    run_main(main, "prepare_asvspoof5")

"""ASVspoof 2021 LA or DF keys to Kaldi data directories.

Usage:
    python -m antispoof.bin.prepare_asvspoof2021 --track la --db_root <dir> --data_root data
    python -m antispoof.bin.prepare_asvspoof2021 --track df --db_root <dir> --data_root data
        [--df_train_size 100000] [--df_dev_size 25000] [--seed 42]

<db_root> holds the unpacked archives: ASVspoof2021_{LA,DF}_eval/flac/ and keys/{LA,DF}/.

la: <data_root>/la21_full (every trial of the key) and la21_eval (the eval subset), with
    wav.scp utt2spk spk2utt utt2label utt2attack utt2codec utt2channel utt2subset, and the
    organisers' ASV key and scores in asv2021/{trial_metadata.txt,score.txt}.
df: <data_root>/df21_full and df21_eval, with wav.scp utt2spk spk2utt utt2label utt2attack
    utt2codec utt2source utt2subset utt2vocoder (not for a stage-1 key); df21_train and
    df21_dev, a seeded draw from the key with bona fide oversampled (repeated copies are named
    <trial>-rep<k>); df21_full_heldout and df21_eval_heldout, without the trials of that draw.
    The draw is described in antispoof/corpora/df_training_split.py.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from antispoof.bin._cli import run_main
from antispoof.corpora.asvspoof2021 import prepare_df, prepare_la
from antispoof.corpora.df_training_split import DEFAULT_SEED, DEFAULT_SIZES, SplitSizes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--track", required=True, choices=("la", "df"))
    parser.add_argument("--db_root", required=True, type=Path)
    parser.add_argument("--data_root", required=True, type=Path)
    parser.add_argument(
        "--df_train_size", type=int, default=DEFAULT_SIZES.train, help="entries of df21_train"
    )
    parser.add_argument(
        "--df_dev_size", type=int, default=DEFAULT_SIZES.dev, help="entries of df21_dev"
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="seed of the DF draw")
    args = parser.parse_args(argv)
    if args.track == "la":
        counts = prepare_la(args.db_root, args.data_root)
    else:
        sizes = SplitSizes(args.df_train_size, args.df_dev_size)
        counts = prepare_df(args.db_root, args.data_root, sizes, args.seed)
    for name, count in counts.items():
        print(f"{args.data_root / name}: {count} utterances")
    return 0


if __name__ == "__main__":
    run_main(main, "prepare_asvspoof2021")

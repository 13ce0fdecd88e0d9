r"""Kaldi data directories of an evaluation corpus (stage 1 of egs/<corpus>), from its protocol.

Usage:
    python -m antispoof.bin.prepare_eval_corpus --corpus CORPUS --db_root <dir> --data_root data \
        [--segment_seconds "4 10 13 30 50"]
    CORPUS: codecfake, deepfake_eval_2024, fake_or_real, mlaad or spoofceleb

Writes <data_root>/<set>/{wav.scp,utt2spk,spk2utt,utt2label,utt2attack,...} for each set of the
corpus (antispoof/corpora/sets.py) and prints each set's size. Audio that is not at 16 kHz is
listed as a 16 kHz copy made once under <data_root>/<set>/wav16k/ (antispoof/corpora/
audio_copies.py). --segment_seconds: the segment lengths of Deepfake-Eval-2024 (one set
dfeval2024_seg<N> each); ignored by the other corpora. Layouts and protocols are described in
each corpus's module under antispoof/corpora/ and in egs/<corpus>/README.md.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from antispoof.bin._cli import run_main
from antispoof.corpora import codecfake, deepfake_eval_2024, fake_or_real, mlaad, spoofceleb

PREPARE: dict[str, Callable[..., dict[str, int]]] = {
    "codecfake": codecfake.prepare,
    "deepfake_eval_2024": deepfake_eval_2024.prepare,
    "fake_or_real": fake_or_real.prepare,
    "mlaad": mlaad.prepare,
    "spoofceleb": spoofceleb.prepare,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", required=True, choices=sorted(PREPARE))
    parser.add_argument("--db_root", required=True, type=Path)
    parser.add_argument("--data_root", required=True, type=Path)
    parser.add_argument(
        "--segment_seconds",
        default=" ".join(f"{n:g}" for n in deepfake_eval_2024.SEGMENT_SECONDS),
        help="Deepfake-Eval-2024's segment lengths in seconds, space separated",
    )
    args = parser.parse_args(argv)
    options = {}
    if args.corpus == "deepfake_eval_2024":
        seconds = tuple(float(word) for word in args.segment_seconds.split())
        if not seconds or min(seconds) <= 0:
            parser.error(f"--segment_seconds {args.segment_seconds!r}: give positive lengths")
        options["segment_seconds"] = seconds
    for name, count in PREPARE[args.corpus](args.db_root, args.data_root, **options).items():
        print(f"{args.data_root / name}: {count} utterances")
    return 0


if __name__ == "__main__":
    run_main(main, "prepare_eval_corpus")

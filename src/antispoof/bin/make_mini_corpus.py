"""Usage:
    python -m antispoof.bin.make_mini_corpus --out_dir <db_root> [--seed 0] [--scale 1.0] [--nj 2]

Synthesise the deterministic "mini" corpus in the exact ASVspoof 2019 LA layout under
`<db_root>/LA/` and mark it with `<db_root>/.complete`. Does nothing if the marker exists.
`--scale` multiplies the number of utterances per speaker and attack; the output does not
depend on `--nj`.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from antispoof.synth.la2019_layout import COMPLETE_MARKER, build_corpus, summarize


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out_dir", type=Path, required=True, help="corpus root (db_root)")
    parser.add_argument("--seed", type=int, default=0, help="seed of everything random")
    parser.add_argument("--scale", type=float, default=1.0, help="utterance count multiplier")
    parser.add_argument("--nj", type=int, default=2, help="parallel worker processes")
    args = parser.parse_args(argv)
    if args.scale <= 0 or args.nj < 1:
        parser.error("--scale must be positive and --nj at least 1")

    start = time.perf_counter()
    plan = build_corpus(args.out_dir, seed=args.seed, scale=args.scale, nj=args.nj)
    if plan is None:
        print(f"{args.out_dir / COMPLETE_MARKER} exists: the corpus is already there")
        return 0
    for line in summarize(plan):
        print(line)
    print(f"wrote {args.out_dir} in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

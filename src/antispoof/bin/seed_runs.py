"""Print the config overrides of each run of a config: one line per seed, or one line without.

Usage:
    python -m antispoof.bin.seed_runs --seeds "1 2 3" [--override "train.epochs=20 ..."]

Each line is the space-separated overrides of one run (`train.epochs=20 train.seed=1`, ...),
what run.sh passes to prepare_exp, whose tag then ends in `__train.seed=<s>`. With no seeds
(`--seeds ""`), one line: the overrides alone (possibly empty), the config's own seed. Seeds
are distinct non-negative integers; `--override` may not set train.seed as well.
"""

from __future__ import annotations

import argparse

from antispoof.bin._cli import run_main
from antispoof.seeds import parse_seeds, run_overrides


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", default="", help='space-separated seeds, e.g. "1 2 3"')
    parser.add_argument("--override", default="", help="space-separated key.sub=value items")
    args = parser.parse_args(argv)
    for overrides in run_overrides(parse_seeds(args.seeds), args.override.split()):
        print(" ".join(overrides))
    return 0


if __name__ == "__main__":
    run_main(main, "seed_runs")

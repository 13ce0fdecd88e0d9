r"""Check a run's corpora, data sets, configs and experiment before any stage does work.

Usage:
    python -m antispoof.bin.check_run --recipe_dir egs/mini --stage 0 --stop_stage 5 \
        --corpora "mini=db/mini" --train_set train --dev_set dev --test_sets "dev eval" \
        --config "conf/a.yaml conf/b.yaml" [--run_override "train.seed=1" ...] [--exp_dir DIR] \
        [--cache auto] [--cache_budget 50%] [--cache_dtype float32]

run.sh calls it before stage 0. Every named corpus must have local/<corpus>/ and, when stage 1
runs without stage 0, a complete copy; every named data set must exist under <recipe>/data/ or
be one that a corpus's stage 1 in this run writes; every config must exist and resolve with the
overrides of each of its runs (one --run_override per run: the seeds); --exp_dir must hold a
config.yaml; the stage-2 cache options must be ones stage 2 knows. Each problem is one line on
stderr, all of them at once; exit status 1. Nothing is written.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from antispoof.bin._cli import run_main
from antispoof.data.cache_plan import DEFAULT_BUDGET
from antispoof.data.feature_store import DEFAULT_DTYPE
from antispoof.preflight import RunPlan, check_run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--recipe_dir", required=True, type=Path)
    parser.add_argument("--stage", required=True, type=int)
    parser.add_argument("--stop_stage", required=True, type=int)
    parser.add_argument("--corpora", default="", help="space-separated <corpus>=<root> pairs")
    parser.add_argument("--train_set", default="")
    parser.add_argument("--dev_set", default="")
    parser.add_argument("--test_sets", default="", help="space-separated")
    parser.add_argument("--config", default="", help="space-separated, relative to the recipe")
    parser.add_argument(
        "--run_override",
        action="append",
        help="the space-separated overrides of one run (repeat per run)",
    )
    parser.add_argument("--exp_dir", default="")
    parser.add_argument("--cache", default="auto")
    parser.add_argument("--cache_budget", default=DEFAULT_BUDGET)
    parser.add_argument("--cache_dtype", default=DEFAULT_DTYPE)
    args = parser.parse_args(argv)
    corpora = []
    for pair in args.corpora.split():
        corpus, sep, root = pair.partition("=")
        if not sep or not corpus or not root:
            raise ValueError(f"--corpora {pair!r} is not of the form <corpus>=<root>")
        corpora.append((corpus, root))
    plan = RunPlan(
        recipe_dir=args.recipe_dir,
        stage=args.stage,
        stop_stage=args.stop_stage,
        corpora=corpora,
        train_set=args.train_set,
        dev_set=args.dev_set,
        test_sets=args.test_sets.split(),
        configs=args.config.split(),
        run_overrides=[text.split() for text in (args.run_override or [""])],
        exp_dir=args.exp_dir,
        cache=args.cache,
        cache_budget=args.cache_budget,
        cache_dtype=args.cache_dtype,
    )
    problems = check_run(plan)
    for problem in problems:
        print(f"run.sh: error: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    run_main(main, "check_run")

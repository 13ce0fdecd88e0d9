r"""Size the stage-2 caches of a run, decide which to make, and print the plan.

Usage:
    python -m antispoof.bin.cache_plan [--cache auto|all|none] [--cache_budget 50%] \
        [--cache_dtype float32|float16] [--train_set train] [--dev_set dev] \
        [--test_sets "dev eval"] [--data_root data] [--dump_root dump] [--forget] \
        "<exp dir> [<branch>=<branch tag> ...]" ...

Each experiment is a line of prepare_exp's output (its cacheable branches). For every branch x
set, the expected size of its cache is computed from the set's utt2dur (written from the audio
headers where missing) and the branch's FeatureSpec, counting each audio file once per branch
(antispoof.data.cache_plan), and the policy decides: `auto` caches, training set first, what
fits the budget (a size such as 500G, or a share of the free space such as 50%), the rest runs
in the model; `all` caches everything or stops when the disk is short; `none` makes no new
cache. The plan goes to stderr; stdout lists `<exp dir> <branch>=<branch tag> <set>` for each
cache stage 2 makes or keeps. `--forget` (run.sh --force) plans as if nothing were stored and
drops the stored records of those caches' audio, so that stage 2 computes it again, once.
"""

from __future__ import annotations

import argparse
import logging
import sys

from antispoof.bin._cli import run_main
from antispoof.data.cache_plan import (
    DEFAULT_BUDGET,
    POLICIES,
    forget_planned,
    make_plan,
    plan_units,
)
from antispoof.data.feature_store import DEFAULT_DTYPE, DTYPES

log = logging.getLogger("antispoof.cache_plan")


def parse_experiment(line: str) -> tuple[str, dict[str, str]]:
    """`<exp dir> <branch>=<tag> ...` as (exp dir, {branch: tag})."""
    words = line.split()
    if not words:
        raise ValueError("an empty experiment line")
    branches = {}
    for word in words[1:]:
        name, sep, tag = word.partition("=")
        if not sep or not name or not tag:
            raise ValueError(f"{word!r} in {line!r} is not <branch>=<branch tag>")
        branches[name] = tag
    return words[0], branches


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cache", default="auto", choices=POLICIES, help="the cache policy")
    parser.add_argument("--cache_budget", default=DEFAULT_BUDGET, help="what auto may add")
    parser.add_argument("--cache_dtype", default=DEFAULT_DTYPE, choices=DTYPES)
    parser.add_argument("--train_set", default="", help="the training set (may be empty)")
    parser.add_argument("--dev_set", default="", help="the dev set (may be empty)")
    parser.add_argument("--test_sets", default="", help="space-separated test sets")
    parser.add_argument("--data_root", default="data")
    parser.add_argument("--dump_root", default="dump")
    parser.add_argument("--forget", action="store_true", help="compute every cache again")
    parser.add_argument("experiments", nargs="*", help="prepare_exp output lines")
    args = parser.parse_args(argv)
    experiments = [parse_experiment(line) for line in args.experiments]
    sets = {
        "train": args.train_set.split(),
        "dev": args.dev_set.split(),
        "test": args.test_sets.split(),
    }
    units = plan_units(experiments, sets)
    plan = make_plan(
        units,
        data_root=args.data_root,
        dump_root=args.dump_root,
        dtype=args.cache_dtype,
        policy=args.cache,
        budget=args.cache_budget,
        forget=args.forget,
    )
    print(
        f"cache plan (--cache {args.cache}, --cache_budget {args.cache_budget}, "
        f"--cache_dtype {args.cache_dtype}):\n{plan.table()}",
        file=sys.stderr,
    )
    plan.check_room()
    if args.forget:
        dropped = forget_planned(plan, args.dump_root)
        if dropped:
            log.info("--force: %d stored audio files are computed again", dropped)
    for unit in plan.units:
        if unit.cached:
            print(unit.exp_dir, f"{unit.branch}={unit.tag}", unit.set_name)
    return 0


if __name__ == "__main__":
    run_main(main, "cache_plan")

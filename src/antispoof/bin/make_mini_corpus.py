"""Usage:
    python -m antispoof.bin.make_mini_corpus --out_dir <db_root> [--seed 0] [--scale 1.0] [--nj 2]

Synthesise the deterministic "mini" corpus and mark it with `<db_root>/.complete`. Does nothing
if the marker exists. Four parts, each in the exact layout of a real corpus and each marked
complete, as stage 0 marks a corpus it got:

    <db_root>/LA/     ASVspoof 2019 LA (train, dev, eval; antispoof.synth.la2019_layout)
    <db_root>/df21/   ASVspoof 2021 DF evaluation data (antispoof.synth.df2021_layout)
    <db_root>/itw/    In-the-Wild (antispoof.synth.itw_layout)
    <db_root>/asv5/   ASVspoof 5 Track 1 (train, dev, eval; antispoof.synth.asv5_layout)

Everything is written into a temporary sibling directory that is renamed into place only when
whole, the marker last. `--scale` multiplies the number of utterances; the output does not
depend on `--nj`.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import time
from pathlib import Path

from antispoof.bin._cli import run_main
from antispoof.synth import asv5_layout, df2021_layout, itw_layout
from antispoof.synth.la2019_layout import (
    COMPLETE_MARKER,
    build_atomically,
    environment_variables,
    summarize,
    write_corpus,
)

REPLICAS = {"df21": df2021_layout, "itw": itw_layout, "asv5": asv5_layout}  # folder -> layout


def _generate_replica(job: tuple[str, Path, int, object]) -> None:
    name, root, seed, item = job
    REPLICAS[name].generate(root, seed, item)


def write_replicas(root: Path, seed: int, scale: float, nj: int) -> dict[str, list]:
    """Write every replica under `root/<name>/`; returns the plan of each."""
    plans = {name: module.plan(seed, scale) for name, module in REPLICAS.items()}
    jobs = []
    for name, module in REPLICAS.items():
        module.prepare_dirs(root / name)
        jobs += [(name, root / name, seed, item) for item in plans[name]]
    if nj <= 1:
        for job in jobs:
            _generate_replica(job)
    else:
        # As in la2019_layout: spawned workers, one BLAS thread each.
        with environment_variables(
            OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1"
        ):
            pool = multiprocessing.get_context("spawn").Pool(nj)
        with pool:
            for _ in pool.imap_unordered(_generate_replica, jobs, chunksize=4):
                pass
    for name, module in REPLICAS.items():
        module.write_metadata(root / name, plans[name])
        # Each replica stands in for a corpus root that stage 0 would have got and marked.
        (root / name / COMPLETE_MARKER).touch()
    return plans


def build(db_root: Path, seed: int, scale: float, nj: int) -> list[str] | None:
    """Create `db_root` with all parts and the marker; the summary lines, None if already there."""

    def write_all(tmp: Path) -> list[str]:
        lines = list(summarize(write_corpus(tmp, seed, scale, nj)))
        for name, items in write_replicas(tmp, seed, scale, nj).items():
            lines += REPLICAS[name].summarize(items)
        return lines

    return build_atomically(db_root, write_all)


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
    lines = build(args.out_dir, seed=args.seed, scale=args.scale, nj=args.nj)
    if lines is None:
        print(f"{args.out_dir / COMPLETE_MARKER} exists: the corpus is already there")
        return 0
    for line in lines:
        print(line)
    print(f"wrote {args.out_dir} in {time.perf_counter() - start:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    run_main(main, "make_mini_corpus")

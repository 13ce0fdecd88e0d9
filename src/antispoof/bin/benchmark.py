r"""The benchmark's sets to score, and its table (antispoof.benchmark); egs/benchmark/run.sh
runs both around the scoring.

Usage:
    python -m antispoof.bin.benchmark sets --model MODEL [--corpora "asvspoof2019 in_the_wild"] \
        [--replicas mini] [--egs_dir $ANTISPOOF_ROOT/egs]
    python -m antispoof.bin.benchmark table --model MODEL --exp_dir exp/<tag> --out_dir DIR \
        [--corpora ...] [--replicas mini] [--egs_dir egs] [--command CMD]

MODEL: an experiment directory, or a published or zoo model's name (antispoof.zoo).
`sets` checks the model and the corpora, then prints one line per prepared evaluation set,
`<corpus> <set> <data_dir>`, and logs each one not prepared with the command that prepares it.
`table` reads `<out_dir>/<corpus>/<set>/metrics.json` and `metrics.arena.json` (the official
and the Arena protocol), tells the corpora of the model's training data (its card, or the sets
its .done.train records), and writes `<out_dir>/BENCHMARK.md`: EER and min DCF under both
protocols per set, links to the DET plots, the corpora in the training data marked and left out
of the held-out mean; then prints the table. --corpora: default all; --replicas mini: the mini
corpus's replicas under egs/mini/data in place of the corpora's own recipes.
"""

from __future__ import annotations

import argparse
import datetime
import logging
import os
import shlex
import sys
from pathlib import Path

from antispoof.benchmark import (
    REPLICAS,
    TABLE,
    benchmark_markdown,
    benchmark_sets,
    read_rows,
    resolve_model,
    table,
    training_data,
    write_atomically,
)
from antispoof.bin._cli import run_main
from antispoof.bin.collect_results import git_commit

log = logging.getLogger("antispoof.benchmark")
# The repository root: the pipeline exports it; else the current directory.
EGS_DIR = Path(os.environ.get("ANTISPOOF_ROOT", ".")) / "egs"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="action", required=True)
    for name in ("sets", "table"):
        sub = commands.add_parser(name)
        sub.add_argument("--model", required=True, help="experiment directory or zoo model name")
        sub.add_argument("--corpora", default="", help="space-separated corpora; default: all")
        sub.add_argument("--replicas", default="", choices=REPLICAS)
        sub.add_argument("--egs_dir", type=Path, default=EGS_DIR, help="the recipes' directory")
        if name == "table":
            sub.add_argument("--exp_dir", required=True, type=Path, help="the scored experiment")
            sub.add_argument("--out_dir", required=True, type=Path)
            sub.add_argument("--command", help="the command that produced the scores")
    args = parser.parse_args(argv)
    resolve_model(args.model)
    sets = benchmark_sets(args.corpora.split(), args.replicas)
    if args.action == "sets":
        for benchmark_set in sets:
            if benchmark_set.prepared(args.egs_dir):
                data_dir = benchmark_set.data_dir(args.egs_dir)
                print(benchmark_set.corpus.name, benchmark_set.name, data_dir)
            else:
                log.info("%s: not prepared: run %s", benchmark_set.out_subdir,
                         benchmark_set.prepare_command)  # fmt: skip
        return 0
    trained_on = training_data(args.exp_dir, args.egs_dir)
    rows = read_rows(sets, args.out_dir, args.egs_dir, trained_on)
    command = args.command or shlex.join(
        ["python", "-m", "antispoof.bin.benchmark", *(sys.argv[1:] if argv is None else argv)]
    )
    text = benchmark_markdown(
        rows,
        args.out_dir,
        args.model,
        trained_on,
        git_commit(),
        datetime.date.today().isoformat(),
        command,
    )
    write_atomically(args.out_dir / TABLE, text)
    print(table(rows, args.out_dir))
    return 0


if __name__ == "__main__":
    run_main(main, "benchmark")

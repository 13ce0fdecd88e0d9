r"""Set a published result table beside the figures this repository's experiments measured.

Usage:
    python -m antispoof.bin.paper_table --table oc_softmax_poster [--exp_root egs] \
        [--exp ROW_ID=EXP_DIR ...] [--out FILE.md]
    python -m antispoof.bin.paper_table --list

--table is a packaged table (`--list` prints every one with its rows; the package holds
aasist, mpif_res2net, oc_softmax_paper, oc_softmax_poster, res2net and wavespec) or a table
file (.yaml, the layout of antispoof.paper_tables.table; `<set>/<subset>` in a column reads
that subset's figures from the set's metrics.json).
Each row's experiments are found under `<exp_root>/<recipe>/exp/`: the tag its config and
overrides give, and every seeded run of it (`<tag>__train.seed=<s>`, from `run.sh --seeds`);
`--exp ROW_ID=EXP_DIR` (repeatable; once per seed) names a row's experiments instead. For every
published cell the table gives the published figure and its score polarity, then the measured
figure under both polarities (the scores as they are, higher = bona fide, and negated) from
`<exp>/<set>/metrics.json`, and the difference under the published polarity. Several runs give
mean ± sample standard deviation and min–max with the number of runs; a row without experiments
is marked not run, a set not evaluated says so. The Markdown (printed, and written to --out)
records this command, the git commit and the commands that make each row's experiments.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path

from antispoof.bin._cli import run_main
from antispoof.bin.collect_results import git_commit
from antispoof.paper_tables.compare import (
    check_exp_dirs,
    comparison_markdown,
    find_runs,
    parse_exp_option,
)
from antispoof.paper_tables.table import load_table, packaged_tables


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--table", help="a packaged table's name, or a table file (.yaml)")
    parser.add_argument("--list", action="store_true", help="print the packaged tables and rows")
    parser.add_argument(
        "--exp_root", type=Path, default=Path("egs"), help="holds <recipe>/exp/ (default: egs)"
    )
    parser.add_argument(
        "--exp",
        action="append",
        default=[],
        metavar="ROW_ID=EXP_DIR",
        help="an experiment of a row, instead of those found under --exp_root (repeatable)",
    )
    parser.add_argument("--out", type=Path, help="Markdown file to write")
    args = parser.parse_args(argv)
    if args.list:
        for name in packaged_tables():
            table = load_table(name)
            print(f"{name}: {table.title}")
            for row in table.rows:
                print(f"  {row.id}: {row.label}")
        return 0
    if args.table is None:
        parser.error("give --table (or --list)")
    table = load_table(args.table)
    row_ids = [row.id for row in table.rows]
    given: dict[str, list[Path]] = {}
    for text in args.exp:
        row_id, exp_dir = parse_exp_option(text, row_ids)
        given.setdefault(row_id, []).append(exp_dir)
    runs = {
        row.id: check_exp_dirs(given[row.id]) if row.id in given else find_runs(row, args.exp_root)
        for row in table.rows
    }
    command = shlex.join(
        ["python", "-m", "antispoof.bin.paper_table", *(sys.argv[1:] if argv is None else argv)]
    )
    where = f"`{args.exp_root}/<recipe>/exp/`" + (" and the --exp directories" if given else "")
    text = comparison_markdown(table, runs, where, command, git_commit())
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        tmp = args.out.with_name(args.out.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, args.out)
    print(text, end="")
    return 0


if __name__ == "__main__":
    run_main(main, "paper_table")

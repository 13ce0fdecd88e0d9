r"""Collect the metrics.json of experiments into a RESULTS.md, and print its main table.

Usage:
    python -m antispoof.bin.collect_results --out RESULTS.md [--title T] [--command CMD] \
        [--wall_seconds S] [--test_sets "dev eval"] exp/<tag1> [exp/<tag2> ...]

Reads `<exp_dir>/<set>/metrics.json` (and `metrics.arena.json`, the Speech Anti-Spoofing
Arena's protocol, where stage 5 wrote one) for every test set found (or only those of
--test_sets: an experiment reused by another recipe also holds the sets of the recipe that
trained it). Rows are
experiment tag x test set (EER %, EER of the negated scores flagged when lower, min t-DCF where the
set has one, the ASVspoof 5 min DCF, actDCF, min Cllr and Cllr where some set has them, trial
counts), each row naming its protocol (official, or the Arena's: every trial's first window);
a set with subsets (2021) gets a row per subset, the official `eval` subset first and
marked, and one for all its trials. Then one per-attack EER table per test set,
and the condition tables (EER %, and min t-DCF for 2021 LA) of each experiment and set, from its
official subset where it has one. The file records `--command` (default: this command line), the
git commit of the code that produced it and, if given, the wall-clock time of the run.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

from antispoof.arena import ARENA_METRICS
from antispoof.bin._cli import run_main
from antispoof.evaluation.results_table import Result, main_table, results_markdown


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", required=True, type=Path, help="RESULTS.md to write")
    parser.add_argument("--title", default="Results")
    parser.add_argument("--command", help="the command that produced the results")
    parser.add_argument("--wall_seconds", type=float, help="how long that command ran")
    parser.add_argument("--test_sets", help="space-separated sets to report; default: all found")
    parser.add_argument("exp_dirs", nargs="+", type=Path, metavar="exp_dir")
    args = parser.parse_args(argv)
    wanted = set(args.test_sets.split()) if args.test_sets else None
    results = [
        result
        for exp_dir in args.exp_dirs
        for result in read_results(exp_dir)
        if wanted is None or result.test_set in wanted
    ]
    if not results:
        raise FileNotFoundError(f"no metrics.json of the sets {args.test_sets} in {args.exp_dirs}")
    command = args.command or shlex.join(
        ["python", "-m", "antispoof.bin.collect_results", *(sys.argv[1:] if argv is None else argv)]
    )
    text = results_markdown(results, args.title, command, git_commit(), args.wall_seconds)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_name(args.out.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, args.out)
    print(main_table(results))
    return 0


def read_results(exp_dir: Path) -> list[Result]:
    """One Result per `<exp_dir>/<set>/metrics.json`, with its `metrics.arena.json` where
    there is one, sets in name order; none is an error."""
    paths = sorted(exp_dir.glob("*/metrics.json"))
    if not paths:
        raise FileNotFoundError(f"no <set>/metrics.json in {exp_dir}: run the evaluation first")
    results = []
    for path in paths:
        arena = path.with_name(ARENA_METRICS)
        results.append(
            Result(
                exp_dir.resolve().name,
                path.parent.name,
                _read_json(path),
                _read_json(arena) if arena.is_file() else None,
            )
        )
    return results


# What antispoof.bin.evaluate writes for every set, and the tables read.
REQUIRED_KEYS = ("n_bonafide", "n_spoof", "eer", "eer_negated", "per_attack")


def _read_json(path: Path) -> dict:
    try:
        metrics = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON ({err})") from None
    if not isinstance(metrics, dict):
        raise ValueError(f"{path}: not a JSON object, so not a metrics.json of the evaluation")
    missing = [key for key in REQUIRED_KEYS if key not in metrics]
    if missing:
        raise ValueError(
            f"{path}: no {', '.join(missing)}, so not a metrics.json of the evaluation; "
            "evaluate the scores again (stage 5)"
        )
    return metrics


def git_commit() -> str:
    """Short commit of the code (this package's checkout), or "unknown" outside git."""
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=Path(__file__).parent,
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:
        return "unknown"
    return done.stdout.strip() if done.returncode == 0 else "unknown"


if __name__ == "__main__":
    run_main(main, "collect_results")

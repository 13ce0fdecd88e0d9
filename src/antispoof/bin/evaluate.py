"""Evaluate a score file against its data directory: metrics.json, DET and histogram plots.

Usage:
    python -m antispoof.bin.evaluate --scores exp/<tag>/eval/scores.txt --data_dir data/eval \
        [--asv_scores ASVspoof2019.LA.asv.eval.gi.trl.scores.txt] [--out metrics.json] \
        [--plots_dir DIR]

The score file holds `<utt> <score>` lines, a higher score meaning more bona fide, and must
cover exactly the trials of the data directory (`utt2label`, `utt2attack`). Reports the EER,
the EER of the negated scores (with a warning when it is lower), per-attack EERs and, given the
organisers' ASV scores, the ASVspoof 2019 (legacy) min t-DCF. `--out` defaults to
`metrics.json` beside the scores, `--plots_dir` to the directory of `--out`.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from antispoof.bin._cli import run_main
from antispoof.evaluation.evaluate import evaluate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scores", required=True, type=Path, help="`<utt> <score>` file")
    parser.add_argument("--data_dir", required=True, type=Path)
    parser.add_argument("--asv_scores", type=Path, help="organisers' ASV scores, for the t-DCF")
    parser.add_argument("--out", type=Path, help="metrics.json to write")
    parser.add_argument("--plots_dir", type=Path, help="where det.png and score_hist.png go")
    args = parser.parse_args(argv)
    out = args.out or args.scores.parent / "metrics.json"
    metrics = evaluate(
        args.scores, args.data_dir, args.asv_scores, plots_dir=args.plots_dir or out.parent
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, out)
    print(summary(metrics))
    return 0


def summary(metrics: dict[str, Any]) -> str:
    """A few lines for the log: counts, EERs in % (3 decimals), min t-DCF."""
    lines = [
        f"{metrics['scores_file']}: {metrics['n_bonafide']} bona fide, {metrics['n_spoof']} spoof",
        f"EER {100 * metrics['eer']:.3f} % (negated scores: {100 * metrics['eer_negated']:.3f} %"
        + (", LOWER: check the score polarity)" if metrics["polarity_warning"] else ")"),
    ]
    if "min_tdcf" in metrics:
        lines.append(
            f"min t-DCF (2019 legacy) {metrics['min_tdcf']:.4f} "
            f"(negated scores: {metrics['min_tdcf_negated']:.4f}); "
            f"ASV EER {100 * metrics['asv_eer']:.3f} %"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    run_main(main, "evaluate")

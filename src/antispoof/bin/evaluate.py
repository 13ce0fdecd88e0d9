r"""Evaluate a score file against its data directory: metrics.json, DET and histogram plots.

Usage:
    python -m antispoof.bin.evaluate --scores exp/<tag>/<set>/scores.txt --data_dir data/<set> \
        [--asv_scores FILE | --asv2021_dir DIR] [--calibration exp/<tag>/calibration.json] \
        [--out metrics.json] [--plots_dir DIR] [--protocol official|arena]

The score file holds `<utt> <score>` lines, a higher score meaning more bona fide, and must
cover exactly the trials of the data directory (`utt2label`, `utt2attack`). Reports the EER,
the EER of the negated scores (with a warning when it is lower), per-attack EERs, and the
ASVspoof 5 min DCF (both polarities) and min Cllr; with `--calibration` (written by
`antispoof.bin.calibrate` from dev scores), the ASVspoof 5 actDCF and Cllr of the calibrated
LLRs; and, from what the data directory holds: the ASVspoof 2019 legacy min t-DCF with the
organisers' 2019 ASV scores (`--asv_scores`, default `<data_dir>/asv_scores.txt`), the 2021 min
t-DCF with the organisers' 2021 ASV key and scores (`--asv2021_dir`, default
`<data_dir>/asv2021/`), condition tables (`utt2codec`, `utt2vocoder`, `utt2channel`) and figures
per subset (`utt2subset`; the official 2021 figure is the `eval` subset's). `--out` defaults to
`metrics.json` beside the scores, `--plots_dir` to the directory of `--out`.

`--protocol` records what the scores are: `official` (default: the model's own scoring, the
figures the challenge would give) or `arena` (the Speech Anti-Spoofing Arena's: every trial's
first window, antispoof.arena, whose figure is that of all trials); arena scores draw no plots
unless --plots_dir is given.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from antispoof.bin._cli import run_main
from antispoof.evaluation.calibration import read_calibration
from antispoof.evaluation.evaluate import evaluate

FORMULATIONS = {"asvspoof2019_legacy": "2019 legacy", "asvspoof2021": "2021"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scores", required=True, type=Path, help="`<utt> <score>` file")
    parser.add_argument("--data_dir", required=True, type=Path)
    asv = parser.add_mutually_exclusive_group()
    asv.add_argument(
        "--asv_scores",
        type=Path,
        help="organisers' 2019 ASV scores, for the legacy t-DCF "
        "(default: <data_dir>/asv_scores.txt if present)",
    )
    asv.add_argument(
        "--asv2021_dir",
        type=Path,
        help="organisers' 2021 ASV trial_metadata.txt and score.txt, for the 2021 t-DCF "
        "(default: <data_dir>/asv2021 if present)",
    )
    parser.add_argument(
        "--calibration",
        type=Path,
        help="calibration.json mapping the scores to LLRs, for actDCF and Cllr",
    )
    parser.add_argument("--out", type=Path, help="metrics.json to write")
    parser.add_argument("--plots_dir", type=Path, help="where det.png and score_hist.png go")
    parser.add_argument("--protocol", choices=("official", "arena"), default="official")
    parser.add_argument(
        "--title",
        help="what the plots name (default: `<tag> on <set>` of exp/<tag>/<set>/scores.txt)",
    )
    args = parser.parse_args(argv)
    out = args.out or args.scores.parent / "metrics.json"
    plots_dir = args.plots_dir or (out.parent if args.protocol == "official" else None)
    metrics = evaluate(
        args.scores,
        args.data_dir,
        args.asv_scores,
        plots_dir=plots_dir,
        asv2021_dir=args.asv2021_dir,
        calibration=None if args.calibration is None else read_calibration(args.calibration),
        title=args.title,
    )
    metrics["protocol"] = args.protocol
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, out)
    print(summary(metrics))
    return 0


def summary(metrics: dict[str, Any]) -> str:
    """A few lines for the log: counts, EERs in % (3 decimals), min t-DCF, the ASVspoof 5
    figures; per subset, the official one first and marked."""
    lines = [
        f"{metrics['scores_file']}: {metrics['n_bonafide']} bona fide, {metrics['n_spoof']} spoof"
    ]
    subsets = metrics.get("per_subset", {})
    for name, figures in subsets.items():  # eval, the official subset, comes first
        official = " (OFFICIAL ranking figure)" if name == metrics.get("official_subset") else ""
        lines.append(f"{name} subset{official}: {_subset_line(figures)}")
    lines.append(
        ("all trials: " if subsets else "")
        + f"EER {100 * metrics['eer']:.3f} % (negated scores: {100 * metrics['eer_negated']:.3f} %"
        + (", LOWER: check the score polarity)" if metrics["polarity_warning"] else ")")
    )
    if "min_tdcf" in metrics:
        lines.append(
            f"min t-DCF ({FORMULATIONS[metrics['tdcf_formulation']]}) {metrics['min_tdcf']:.4f} "
            f"(negated scores: {metrics['min_tdcf_negated']:.4f}); "
            f"ASV EER {100 * metrics['asv_eer']:.3f} %"
        )
    lines.append(_dcf_line(metrics))
    return "\n".join(lines)


def _dcf_line(metrics: dict[str, Any]) -> str:
    """ASVspoof 5: min DCF and min Cllr, and actDCF and Cllr where the scores were calibrated."""
    line = (
        f"min DCF {metrics['min_dcf']:.4f} (negated scores: {metrics['min_dcf_negated']:.4f}), "
        f"min Cllr {metrics['min_cllr']:.4f} bits"
    )
    if "act_dcf" not in metrics:
        return line + "; not calibrated: no actDCF or Cllr"
    return (
        line + f"; calibrated on {metrics['calibration']['fitted_on']}: "
        f"actDCF {metrics['act_dcf']:.4f}, Cllr {metrics['cllr']:.4f} bits"
    )


def _subset_line(figures: dict[str, Any] | None) -> str:
    if figures is None:
        return "no figures (it lacks bona fide or spoof trials)"
    line = (
        f"EER {100 * figures['eer']:.3f} % (negated scores: {100 * figures['eer_negated']:.3f} %)"
    )
    if figures.get("min_tdcf") is not None:
        line += (
            f", min t-DCF (2021) {figures['min_tdcf']:.4f} "
            f"(negated scores: {figures['min_tdcf_negated']:.4f})"
        )
    return line + f"; {figures['n_bonafide']} bona fide, {figures['n_spoof']} spoof"


if __name__ == "__main__":
    run_main(main, "evaluate")

r"""Fit a score-to-LLR calibration on dev scores: calibration.json for evaluation and `detect`.

Usage:
    python -m antispoof.bin.calibrate --scores exp/<tag>/dev/scores.txt --data_dir data/dev \
        --exp_dir exp/<tag> --checkpoint best --out exp/<tag>/calibration.json

The score file holds `<utt> <score>` lines, a higher score meaning more bona fide, and must
cover exactly the trials of the data directory, which needs bona fide and spoof trials. The map
`llr = scale * score + offset` (bona fide vs spoof) is fitted by prior-weighted logistic
regression at the effective prior of the ASVspoof 5 cost model (Pspoof 0.05, Cmiss 1, Cfa 10;
antispoof/evaluation/calibration.py says why). The file, written atomically, records the map,
the cost model, the data directory, the class counts, the dev EER threshold of the raw scores
and the Bayes threshold of the LLRs, where decisions switch to bona fide. `antispoof.bin.evaluate
--calibration` reports actDCF and Cllr through it.

With --exp_dir (and --checkpoint, default best), the file also records the sha256 of the
checkpoint and of the experiment's config.yaml that the scores came from: `detect` applies the
calibration only to that model (antispoof.decision).

--out is removed before the fit, so that a fit that fails (one class in the dev set, scores that
rank spoof above bona fide: a calibration of scale 0, which would give every file the same
decision) leaves no calibration behind for `detect` to apply.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from antispoof.bin._cli import run_main
from antispoof.decision import calibration_inputs
from antispoof.evaluation.calibration import fit_calibration, write_calibration
from antispoof.evaluation.score_file import read_trial_scores
from antispoof.evaluation.trials import read_trials
from antispoof.experiment import checkpoint_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scores", required=True, type=Path, help="`<utt> <score>` dev file")
    parser.add_argument("--data_dir", required=True, type=Path, help="the dev data directory")
    parser.add_argument("--out", required=True, type=Path, help="calibration.json to write")
    parser.add_argument("--exp_dir", type=Path, help="the experiment that scored the dev set")
    parser.add_argument(
        "--checkpoint", default="best", help="of --exp_dir: best (default), last, or a path"
    )
    args = parser.parse_args(argv)
    args.out.unlink(missing_ok=True)
    trials = read_trials(args.data_dir)
    scores = read_trial_scores(args.scores, trials.utts, args.data_dir, trials.subset)
    calibration = fit_calibration(
        scores[trials.is_bonafide], scores[~trials.is_bonafide], str(args.data_dir)
    )
    fitted_for = None
    if args.exp_dir is not None:
        checkpoint = checkpoint_path(args.exp_dir, args.checkpoint)
        if not checkpoint.is_file():
            raise FileNotFoundError(f"checkpoint not found: {checkpoint}")
        fitted_for = calibration_inputs(args.exp_dir, checkpoint)
    write_calibration(args.out, calibration, fitted_for)
    sign = "-" if calibration.offset < 0 else "+"
    print(
        f"{args.out}: llr = {calibration.scale:.6g} * score {sign} {abs(calibration.offset):.6g}, "
        f"fitted on {calibration.n_bonafide} bona fide and {calibration.n_spoof} spoof trials of "
        f"{args.data_dir}; bona fide where llr >= {calibration.llr_threshold:.4f}"
    )
    return 0


if __name__ == "__main__":
    run_main(main, "calibrate")

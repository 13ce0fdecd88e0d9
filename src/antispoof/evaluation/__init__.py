"""Evaluation of score files against data directories: metrics.json, plots, RESULTS.md."""

from antispoof.evaluation.evaluate import evaluate
from antispoof.evaluation.score_file import ScoreFileError, read_scores, read_trial_scores
from antispoof.evaluation.trials import Trials, read_trials

__all__ = [
    "ScoreFileError",
    "Trials",
    "evaluate",
    "read_scores",
    "read_trial_scores",
    "read_trials",
]

"""Evaluation of score files against data directories: metrics.json, plots, RESULTS.md."""

from antispoof.evaluation.evaluate import evaluate, read_trials
from antispoof.evaluation.score_file import ScoreFileError, read_scores, read_trial_scores

__all__ = ["ScoreFileError", "evaluate", "read_scores", "read_trial_scores", "read_trials"]

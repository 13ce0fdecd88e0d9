"""An experiment directory, `exp/<tag>/`: where everything of one experiment lives, and the
detector it holds. Every path below is spelt here and nowhere else (the shell passes checkpoint
names, `best` or `last`, not paths):

    config.yaml                the resolved config; later stages read only this
    checkpoints/best.pt        the best epoch by dev EER; checkpoints/last.pt, the last one
    calibration.json           score -> LLR, fitted by stage 5 on the dev scores of a checkpoint
    .done.train                stage 3's marker (antispoof.markers)
    train.log, train_summary.json, tensorboard/, log/
    pretrained.json, LICENSE, NOTICE    an imported published model's provenance and licence
    <set>/scores.txt           stage 4; <set>/.done.score its marker
    <set>/metrics.json         stage 5, with <set>/det.png and <set>/score_hist.png
    RESULTS.md, tsne.png       stage 5

This module stays free of torch at import: stage markers and calibration read it from the shell.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

    from antispoof.detector import Detector

CONFIG = "config.yaml"
CHECKPOINTS = "checkpoints"
CHECKPOINT_NAMES = ("best", "last")
CALIBRATION = "calibration.json"
TRAIN_MARKER = ".done.train"
SCORES = "scores.txt"
SCORE_MARKER = ".done.score"
METRICS = "metrics.json"
PRETRAINED = "pretrained.json"


def config_path(exp_dir: str | Path) -> Path:
    return Path(exp_dir) / CONFIG


def checkpoint_path(exp_dir: str | Path, checkpoint: str) -> Path:
    """`best` or `last` of an experiment, or a checkpoint file given by its path."""
    if checkpoint in CHECKPOINT_NAMES:
        return Path(exp_dir) / CHECKPOINTS / f"{checkpoint}.pt"
    return Path(checkpoint)


def calibration_path(exp_dir: str | Path) -> Path:
    return Path(exp_dir) / CALIBRATION


def set_dir(exp_dir: str | Path, set_name: str) -> Path:
    """Where the scores, metrics and plots of one test set go."""
    return Path(exp_dir) / set_name


def is_experiment(path: str | Path) -> bool:
    return config_path(path).is_file()


def load_detector(
    exp_dir: str | Path, checkpoint: str = "best", device: torch.device | str = "cpu"
) -> tuple[dict[str, Any], Detector]:
    """An experiment's saved config and its detector with trained weights, on `device`.

    The checkpoint must have been trained under the settings the config holds now: weights of
    another configuration would give scores that belong to neither.
    """
    import torch

    from antispoof.checkpoint import load_checkpoint
    from antispoof.config import read_resolved
    from antispoof.detector import build_detector
    from antispoof.markers import StaleWorkError, changed_settings, training_settings

    config = read_resolved(config_path(exp_dir))
    path = checkpoint_path(exp_dir, checkpoint)
    state = load_checkpoint(path)
    trained_under = state.get("training_settings")
    if trained_under is None:
        raise StaleWorkError(
            f"{path} records no training settings (written by an older version); retrain it "
            "(run.sh --force true --stage 3)"
        )
    changed = changed_settings(trained_under, training_settings(config))
    if changed:
        raise StaleWorkError(
            f"{path} was trained under other settings than {config_path(exp_dir)} "
            f"(changed: {', '.join(changed)}); retrain (run.sh --force true --stage 3) or "
            "restore the old config"
        )
    detector = build_detector(config)
    detector.load_state_dict(state["detector"])
    detector.set_epoch(config["train"]["epochs"])
    return config, detector.to(torch.device(device)).eval()

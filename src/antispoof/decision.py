"""How a score becomes a decision: the rules, in order, that `detect` and `antispoof.load` apply.

1. The experiment's calibration (`calibration.json`, fitted by stage 5 on the dev scores of a
   checkpoint): the LLR `scale * score + offset` against the Bayes threshold of its cost model.
   It applies only to the checkpoint and config it was fitted for (their sha256 are recorded
   in the file); for another checkpoint (`--checkpoint last`, a retrained model) the next rule
   applies, and the log says why. A calibration of scale 0 (every file the same decision) is
   refused by `read_calibration`: the next rule applies.
2. The dev EER threshold of this checkpoint and config (`<exp>/dev/metrics.json`, its scores'
   stage-4 marker current): bona fide when the score is above it.
3. The loss's own decision, where it has one (a softmax output layer: the published models,
   softmax experiments): bona fide when `log P(bona fide) - log P(spoof) >= 0`.
4. None: no decision (`-`), e.g. an uncalibrated OC-Softmax experiment.

A rule decides one value per file or window: the score (rules 1, 2) or the log-odds (rule 3);
both are aggregated over windows by the caller in the same way before the rule applies.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from antispoof.evaluation.calibration import (
    CALIBRATION_FILE,
    Calibration,
    CalibrationError,
    calibration_from_record,
    read_calibration,
)
from antispoof.labels import BONAFIDE_NAME, SPOOF_NAME
from antispoof.markers import file_digest, read_config, read_marker, settings_digest

log = logging.getLogger(__name__)

CALIBRATED = "calibrated"
DEV_EER_THRESHOLD = "dev_eer_threshold"
NATURAL = "classifier"
NO_RULE = "none"


@dataclass(frozen=True)
class DecisionRule:
    """One of the rules of the module doc, with what it needs."""

    kind: str  # calibrated | dev_eer_threshold | classifier | none
    description: str
    calibration: Calibration | None = None
    threshold: float | None = None  # in score units (rule 2) or LLR units (rule 1)

    @property
    def uses_log_odds(self) -> bool:
        """Rule 3 decides on the classifier's log-odds, not on the score."""
        return self.kind == NATURAL

    def decide(self, score: float, log_odds: float | None = None) -> str | None:
        """`bonafide`, `spoof`, or None (no rule) for one score (and its log-odds for rule 3)."""
        if self.kind == CALIBRATED:
            assert self.calibration is not None
            bona = bool(self.calibration.decide(np.array([score]))[0])
        elif self.kind == DEV_EER_THRESHOLD:
            assert self.threshold is not None
            bona = score > self.threshold
        elif self.kind == NATURAL:
            if log_odds is None:
                raise ValueError("the classifier's decision needs its log-odds")
            bona = log_odds >= 0
        else:
            return None
        return BONAFIDE_NAME if bona else SPOOF_NAME

    def llr(self, score: float) -> float | None:
        """The calibrated log-likelihood ratio of a score, where the rule has a calibration."""
        if self.calibration is None:
            return None
        return float(self.calibration.llr(np.array([score]))[0])

    def record(self) -> dict[str, Any]:
        """The rule as JSON output records it: its kind, its threshold and its units."""
        if self.kind == CALIBRATED:
            assert self.calibration is not None
            return {
                "rule": self.kind,
                "threshold": self.calibration.llr_threshold,
                "on": "llr",
                "llr": f"{self.calibration.scale:.9g} * score + {self.calibration.offset:.9g}",
            }
        if self.kind == DEV_EER_THRESHOLD:
            return {"rule": self.kind, "threshold": self.threshold, "on": "score"}
        if self.kind == NATURAL:
            return {"rule": self.kind, "threshold": 0.0, "on": "log_odds"}
        return {"rule": self.kind}

    def to_state(self) -> dict[str, Any]:
        """Everything the rule is (an exported file carries it: antispoof.export);
        `rule_from_state` gives it back."""
        return {
            "kind": self.kind,
            "description": self.description,
            "calibration": None if self.calibration is None else self.calibration.to_json(),
            "threshold": self.threshold,
        }


RULE_KINDS = (CALIBRATED, DEV_EER_THRESHOLD, NATURAL, NO_RULE)


def rule_from_state(state: Any, where: str) -> DecisionRule:
    """The rule of `DecisionRule.to_state`, checked (a calibration as calibration.json is); a
    wrong state is a ValueError naming `where` it came from."""
    if not isinstance(state, dict) or state.get("kind") not in RULE_KINDS:
        raise ValueError(f"{where}: not a decision rule (kind one of {', '.join(RULE_KINDS)})")
    kind = state["kind"]
    calibration = None
    if kind == CALIBRATED:
        calibration = calibration_from_record(state.get("calibration"), where)
    threshold = state.get("threshold")
    if kind == DEV_EER_THRESHOLD and not isinstance(threshold, int | float):
        raise ValueError(f"{where}: a dev EER threshold rule without a numeric threshold")
    return DecisionRule(kind, str(state.get("description", kind)), calibration, threshold)


def decision_rule(
    exp_dir: Path | None, checkpoint: Path | None, config: dict[str, Any], natural: bool
) -> DecisionRule:
    """The first rule that applies (module doc) to a model: an experiment's (`exp_dir`, the
    `checkpoint` file loaded, its `config`), or a published model's (`exp_dir` None);
    `natural`: whether its loss has a decision of its own."""
    if exp_dir is not None and checkpoint is not None:
        calibration = matching_calibration(exp_dir, checkpoint)
        if calibration is not None:
            return DecisionRule(
                CALIBRATED,
                f"calibrated ({exp_dir / CALIBRATION_FILE}): bona fide where the LLR >= "
                f"{calibration.llr_threshold:.4f}",
                calibration=calibration,
            )
        threshold = dev_eer_threshold(exp_dir, checkpoint)
        if threshold is not None:
            return DecisionRule(
                DEV_EER_THRESHOLD,
                f"not calibrated: bona fide where the score > {threshold:.6g}, the dev EER "
                f"threshold ({exp_dir / 'dev/metrics.json'})",
                threshold=threshold,
            )
    if natural:
        return DecisionRule(
            NATURAL,
            "not calibrated: the classifier's own decision, bona fide where its bona fide logit "
            ">= its spoof logit (log-odds >= 0)",
        )
    return DecisionRule(
        NO_RULE,
        f"none: {exp_dir} has no calibration.json of this checkpoint and no current dev EER "
        f"threshold, and its loss ({config['loss']}) has no decision of its own; run stage 5 "
        "on the dev set to get a threshold",
    )


def calibration_inputs(exp_dir: Path, checkpoint: Path) -> dict[str, str]:
    """What a calibration is fitted for, as calibration.json records it: the sha256 of the
    checkpoint's bytes and of the experiment's saved config."""
    return {
        "checkpoint_sha256": file_digest(checkpoint),
        "config_sha256": settings_digest(read_config(exp_dir / "config.yaml")),
    }


def matching_calibration(exp_dir: Path, checkpoint: Path) -> Calibration | None:
    """The experiment's calibration when it was fitted on scores of this checkpoint and config
    (the digests calibration.json records), else None with a log line saying why."""
    path = exp_dir / CALIBRATION_FILE
    if not path.is_file():
        return None
    try:
        calibration = read_calibration(path)
    except CalibrationError as err:
        log.warning("not using the calibration: %s", err)
        return None
    record = json.loads(path.read_text(encoding="utf-8"))
    fitted_for = {key: record.get(key) for key in ("checkpoint_sha256", "config_sha256")}
    if fitted_for != calibration_inputs(exp_dir, checkpoint):
        what = (
            "records no checkpoint"
            if fitted_for["checkpoint_sha256"] is None
            else ("was fitted for another checkpoint or config")
        )
        log.info("%s %s than %s: not used (stage 5 refits it)", path, what, checkpoint)
        return None
    return calibration


def dev_eer_threshold(exp_dir: Path, checkpoint: Path) -> float | None:
    """The EER threshold of the dev set's metrics.json when its scores are of this checkpoint
    and config (the stage-4 marker's record), else None."""
    metrics = exp_dir / "dev" / "metrics.json"
    record = read_marker(exp_dir / "dev" / ".done.score")
    if not metrics.is_file() or record is None:
        return None
    inputs = calibration_inputs(exp_dir, checkpoint)
    current = {"config": inputs["config_sha256"], "checkpoint": inputs["checkpoint_sha256"]}
    if any(record.get(name) != digest for name, digest in current.items()):
        log.info("%s belongs to another checkpoint or config: not used", metrics)
        return None
    return float(json.loads(metrics.read_text(encoding="utf-8"))["eer_threshold"])

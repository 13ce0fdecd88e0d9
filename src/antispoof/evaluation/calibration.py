"""Calibration: an affine map from a model's scores to log-likelihood ratios, and decisions.

`llr = scale * score + offset` is the LLR of bona fide against spoof. It is fitted on the scores
of a development set by prior-weighted logistic regression (Brümmer, "Measuring, refining and
calibrating speaker and language information extracted from speech", 2010; the BOSARIS
toolkit's linear calibration), minimising over (a, b)

    P/N_b sum_bona CE(t_b, a s + b + logit P) + (1-P)/N_s sum_spoof CE(t_s, a s + b + logit P),
    CE(t, z) = -t log sigmoid(z) - (1 - t) log sigmoid(-z),

where P is the bona fide prior the fit is weighted for. Each class weighs its prior whatever its
trial count, so the fit does not depend on the dev set's class balance. P is the *effective*
prior of the ASVspoof 5 cost model (Pspoof 0.05, Cmiss 1, Cfa 10): 1 - Cfa Pspoof /
(Cfa Pspoof + Cmiss (1 - Pspoof)) = 0.655. Its log odds are minus the Bayes threshold at which
actDCF decides, so the fit weighs most the errors around the threshold that is used; with
P = 0.5 the objective would be Cllr, which weighs every operating point alike.

The targets are Platt's (1999) `t_b = (N_b + 1)/(N_b + 2)` and `t_s = 1/(N_s + 2)` rather than 1
and 0: one pseudo-trial of the other class per class. This changes the fit by O(1/N) and keeps it
finite when the dev scores separate the classes (the plain maximum-likelihood scale is then
infinite). The objective is convex in (a, b); Newton's method with a backtracking line search on
standardised scores solves it in a few steps. A negative scale would silently flip the score
polarity (docs/DESIGN.md), so the scale is kept at 0 or above: dev scores that rank spoof above
bona fide get scale 0 (one LLR for every score) and a warning.

The official ASVspoof 5 package (asvspoof-challenge/asvspoof5, `evaluation-package/
calculate_modules.py`) calibrates nothing: it reads the submitted scores as LLRs for actDCF and
Cllr. The organisers' Track 2 fusion tool (`Tool-score-fusion/score-fusion.py`, `logistic_reg`)
calibrates with scikit-learn's L2-regularised logistic regression, weighted by the dev set's
class proportions; here the weights come from the cost model instead.

`calibration.json` in an experiment directory holds the map, the cost model, the dev set it was
fitted on, the dev EER threshold of the raw scores, and the Bayes threshold of the LLRs:
`decide` says bona fide where `llr >= llr_threshold`, as actDCF counts it.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from antispoof.metrics.asvspoof5 import ASVSPOOF5_COSTS, DcfCosts
from antispoof.metrics.det import as_scores, compute_eer

logger = logging.getLogger(__name__)

CALIBRATION_FILE = "calibration.json"
MAX_NEWTON_STEPS = 100
# Newton's method stops when the decrement (about twice the distance of the objective, in nats
# per weighted trial, from its minimum) falls below CONVERGED; below QUADRATIC_REGION full steps
# converge quadratically and a line search would only see rounding.
CONVERGED = 1e-20
QUADRATIC_REGION = 1e-6
# Agreement asked of a file's recorded LLR threshold with the one its cost model gives.
THRESHOLD_TOLERANCE = 1e-9


class CalibrationError(ValueError):
    """A calibration that cannot be fitted or read; the message names the data or the file."""


@dataclass(frozen=True)
class Calibration:
    """A fitted score-to-LLR map with its provenance and decision rule."""

    scale: float
    offset: float
    fitted_on: str  # the data directory of the dev scores
    n_bonafide: int
    n_spoof: int
    eer_threshold: float  # dev EER threshold of the raw scores (compute_eer)
    costs: DcfCosts = ASVSPOOF5_COSTS

    @property
    def llr_threshold(self) -> float:
        """The Bayes threshold of the cost model: -ln(Cmiss (1 - Pspoof) / (Cfa Pspoof))."""
        return self.costs.llr_threshold

    def llr(self, scores: ArrayLike) -> NDArray[np.float64]:
        """The LLRs (bona fide vs spoof) of raw scores."""
        return self.scale * np.asarray(scores, dtype=np.float64) + self.offset

    def decide(self, scores: ArrayLike) -> NDArray[np.bool_]:
        """True (bona fide) where the LLR of a raw score reaches the Bayes threshold."""
        return self.llr(scores) >= self.llr_threshold

    def to_json(self) -> dict[str, Any]:
        return {
            "scale": self.scale,
            "offset": self.offset,
            "prior_spoof": self.costs.p_spoof,
            "c_miss": self.costs.c_miss,
            "c_fa": self.costs.c_fa,
            "effective_prior_spoof": self.costs.effective_prior_spoof,
            "fitted_on": self.fitted_on,
            "n_bonafide": self.n_bonafide,
            "n_spoof": self.n_spoof,
            "eer_threshold": self.eer_threshold,
            "llr_threshold": self.llr_threshold,
        }


def fit_calibration(
    bonafide_scores: ArrayLike,
    spoof_scores: ArrayLike,
    fitted_on: str,
    costs: DcfCosts = ASVSPOOF5_COSTS,
) -> Calibration:
    """Fit the map on dev scores at the effective prior of `costs` (see the module doc)."""
    bonafide, spoof = _dev_scores(bonafide_scores, spoof_scores, fitted_on)
    scale, offset = fit_affine_llr(bonafide, spoof, costs.effective_prior_spoof)
    if scale == 0:
        # Every score would get the same LLR, hence the same decision, whatever the audio.
        raise CalibrationError(
            f"{fitted_on}: the scores rank spoof above bona fide, so the best calibration gives "
            f"every score the same LLR ({offset:.3f}) and every file the same decision; no "
            "calibration is fitted (check the model's score polarity, or its domain)"
        )
    return Calibration(
        scale=scale,
        offset=offset,
        fitted_on=fitted_on,
        n_bonafide=int(bonafide.size),
        n_spoof=int(spoof.size),
        eer_threshold=compute_eer(bonafide, spoof)[1],
        costs=costs,
    )


def _dev_scores(
    bonafide_scores: ArrayLike, spoof_scores: ArrayLike, fitted_on: str
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    bonafide = np.asarray(bonafide_scores, dtype=np.float64)
    spoof = np.asarray(spoof_scores, dtype=np.float64)
    if bonafide.size == 0 or spoof.size == 0:
        raise CalibrationError(
            f"{fitted_on}: a calibration needs bona fide and spoof trials, found "
            f"{bonafide.size} bona fide and {spoof.size} spoof"
        )
    return as_scores(bonafide, "bona fide"), as_scores(spoof, "spoof")


def fit_affine_llr(
    bonafide_scores: NDArray[np.float64], spoof_scores: NDArray[np.float64], prior_spoof: float
) -> tuple[float, float]:
    """`(scale, offset)` minimising the prior-weighted cross-entropy at `prior_spoof`, scale >= 0.

    Both classes must be present and the scores must not all be equal.
    """
    scores = np.concatenate((bonafide_scores, spoof_scores))
    center, spread = float(np.mean(scores)), float(np.std(scores))
    if not spread > 0:
        raise CalibrationError(
            f"all {scores.size} dev scores are equal ({scores[0]:g}): they carry no evidence "
            "to calibrate"
        )
    n_bonafide, n_spoof = bonafide_scores.size, spoof_scores.size
    prior_bonafide = 1 - prior_spoof
    is_bonafide = np.arange(scores.size) < n_bonafide
    problem = _WeightedLogistic(
        x=(scores - center) / spread,
        target=np.where(is_bonafide, (n_bonafide + 1) / (n_bonafide + 2), 1 / (n_spoof + 2)),
        weight=np.where(is_bonafide, prior_bonafide / n_bonafide, prior_spoof / n_spoof),
        prior_logit=math.log(prior_bonafide / prior_spoof),
    )
    slope, intercept = problem.solve()
    if slope < 0:
        # The convex objective's minimum over slope >= 0 lies on slope = 0, where it has a
        # closed form: the sigmoid of the log odds equals the weighted mean target.
        slope = 0.0
        mean_target = float(np.sum(problem.weight * problem.target) / np.sum(problem.weight))
        intercept = math.log(mean_target / (1 - mean_target)) - problem.prior_logit
    # LLR = slope (s - center) / spread + intercept.
    scale = slope / spread
    return scale, intercept - scale * center


@dataclass(frozen=True)
class _WeightedLogistic:
    """`sum weight * CE(target, slope x + intercept + prior_logit)` over (slope, intercept)."""

    x: NDArray[np.float64]
    target: NDArray[np.float64]
    weight: NDArray[np.float64]
    prior_logit: float

    def objective(self, params: NDArray[np.float64]) -> float:
        z = params[0] * self.x + params[1] + self.prior_logit
        # CE(t, z) = softplus(z) - t z, written without overflow.
        return float(np.sum(self.weight * (np.logaddexp(0.0, z) - self.target * z)))

    def solve(self) -> tuple[float, float]:
        """Newton's method from (0, 0), with a backtracking line search far from the minimum."""
        params = np.zeros(2)
        for _ in range(MAX_NEWTON_STEPS):
            gradient, hessian = self._derivatives(params)
            step = -np.linalg.solve(hessian, gradient)
            # The Newton decrement: twice the decrease the quadratic model predicts.
            decrement = -float(gradient @ step)
            if decrement < CONVERGED:
                return float(params[0]), float(params[1])
            if decrement > QUADRATIC_REGION:
                step *= self._step_size(params, step, decrement)
            params = params + step
        raise CalibrationError(
            f"the calibration did not converge in {MAX_NEWTON_STEPS} Newton steps"
        )

    def _derivatives(
        self, params: NDArray[np.float64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        z = params[0] * self.x + params[1] + self.prior_logit
        posterior = np.exp(-np.logaddexp(0.0, -z))  # sigmoid(z) without overflow
        features = np.stack((self.x, np.ones_like(self.x)))
        gradient = features @ (self.weight * (posterior - self.target))
        hessian = (features * (self.weight * posterior * (1 - posterior))) @ features.T
        return gradient, hessian

    def _step_size(
        self, params: NDArray[np.float64], step: NDArray[np.float64], decrement: float
    ) -> float:
        """Halve the step until the objective falls enough (Armijo): far from the minimum a
        full Newton step of a logistic loss can overshoot."""
        value = self.objective(params)
        size = 1.0
        while self.objective(params + size * step) > value - 0.25 * size * decrement:
            size /= 2
        return size


def write_calibration(
    path: str | os.PathLike[str],
    calibration: Calibration,
    fitted_for: Mapping[str, str] | None = None,
) -> None:
    """Write `calibration.json` atomically: a reader never sees half a file. `fitted_for`
    records what the scores came from (antispoof.decision.calibration_inputs: the checkpoint's
    and config's sha256), so that the calibration is applied only to that model."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.partial")
    record = {**calibration.to_json(), **(fitted_for or {})}
    tmp.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def read_calibration(path: str | os.PathLike[str]) -> Calibration:
    """Read a `calibration.json`; a missing key, a bad value or a threshold that its cost model
    does not give is a `CalibrationError` naming the file."""
    try:
        record = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise CalibrationError(f"{path}: not valid JSON ({err})") from None
    return calibration_from_record(record, str(path))


def calibration_from_record(record: Any, path: str) -> Calibration:
    """A calibration from its JSON record (`Calibration.to_json`, what calibration.json holds),
    checked as `read_calibration` checks the file; `path` names where it came from in errors."""
    if not isinstance(record, dict):
        raise CalibrationError(f"{path}: not a JSON object, so not a calibration")
    numbers = ("scale", "offset", "prior_spoof", "c_miss", "c_fa", "eer_threshold", "llr_threshold")
    counts = ("n_bonafide", "n_spoof")
    missing = [key for key in (*numbers, *counts, "fitted_on") if key not in record]
    if missing:
        raise CalibrationError(f"{path}: no {', '.join(missing)}; fit it again (stage 5)")
    for key in numbers:
        if not _is_number(record[key]) or not math.isfinite(record[key]):
            raise CalibrationError(f"{path}: {key} must be a finite number, got {record[key]!r}")
    for key in counts:
        if not _is_number(record[key]) or not isinstance(record[key], int) or record[key] < 1:
            raise CalibrationError(f"{path}: {key} must be a positive count, got {record[key]!r}")
    if record["scale"] < 0:
        raise CalibrationError(
            f"{path}: scale {record['scale']} is negative: it would flip the score polarity"
        )
    if record["scale"] == 0:
        raise CalibrationError(
            f"{path}: scale 0 gives every score the same LLR ({record['offset']}) and every "
            "file the same decision: a degenerate calibration"
        )
    try:
        costs = DcfCosts(record["prior_spoof"], record["c_miss"], record["c_fa"])
    except ValueError as err:
        raise CalibrationError(f"{path}: {err}") from None
    calibration = Calibration(
        scale=float(record["scale"]),
        offset=float(record["offset"]),
        fitted_on=str(record["fitted_on"]),
        n_bonafide=record["n_bonafide"],
        n_spoof=record["n_spoof"],
        eer_threshold=float(record["eer_threshold"]),
        costs=costs,
    )
    if abs(record["llr_threshold"] - calibration.llr_threshold) > THRESHOLD_TOLERANCE:
        raise CalibrationError(
            f"{path}: llr_threshold {record['llr_threshold']} is not the Bayes threshold "
            f"{calibration.llr_threshold} of its cost model (prior_spoof, c_miss, c_fa)"
        )
    return calibration


def _is_number(value: Any) -> bool:
    """A JSON number: an int or a float, not a bool (which Python counts as an int)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def load_calibration(exp_dir: str | os.PathLike[str]) -> Calibration | None:
    """The calibration of an experiment (`<exp_dir>/calibration.json`), None where it has none."""
    path = Path(exp_dir) / CALIBRATION_FILE
    if not path.is_file():
        return None
    return read_calibration(path)

"""Evaluation plots as PNG: the DET curve on normal-deviate axes and the score histograms.

Figures are drawn on a bare `matplotlib.figure.Figure` rendered by the Agg backend, so nothing
depends on a display or on pyplot's global state. matplotlib is imported where a figure is
drawn: importing it costs about 0.3 s, and detect, score, serve, export and calibrate import
this module (through antispoof.evaluation) but never draw one.
"""

from __future__ import annotations

import os
from statistics import NormalDist
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from antispoof.metrics.det import compute_det_curve, eer_from_det

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# Error rates (fractions) marked on the DET axes, as in the NIST and ASVspoof DET plots.
DET_TICKS = (0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.4)
# Above this EER most of the curve lies beyond 50 % (a weak system, or bona fide scored low):
# the whole range is shown instead, with sparser ticks symmetric about 50 %.
DET_FULL_RANGE_EER = 0.2
DET_TICKS_FULL = (0.001, 0.01, 0.05, 0.2, 0.5, 0.8, 0.95, 0.99, 0.999)
DET_LOW_LIMIT = 0.0005
HISTOGRAM_BINS = 100

_probit = np.vectorize(NormalDist().inv_cdf, otypes=[np.float64])


def plot_det(
    path: str | os.PathLike[str],
    bonafide: NDArray[np.float64],
    spoof: NDArray[np.float64],
    title: str,
    with_negated: bool = False,
) -> Figure:
    """DET curve (miss = bona fide rejected, false alarm = spoof accepted) as a PNG, titled with
    what was scored (`title`: the experiment and the set); returns the figure.

    `with_negated` adds the curve of the negated scores, dashed, for a suspect polarity.
    """
    curves = [("scores", bonafide, spoof, "-")]
    if with_negated:
        curves.append(("negated scores", -bonafide, -spoof, "--"))
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.5, 5.5))
    ax = fig.add_subplot()
    worst_eer = 0.0
    for name, positive, negative, style in curves:
        frr, far, thresholds = compute_det_curve(positive, negative)
        eer = eer_from_det(frr, far, thresholds)[0]
        worst_eer = max(worst_eer, eer)
        frr, far = _staircase_corners(frr, far)
        ax.plot(_probit_clipped(far), _probit_clipped(frr), style, label=f"{name}, EER {eer:.2%}")
    full_range = worst_eer > DET_FULL_RANGE_EER
    ticks = DET_TICKS_FULL if full_range else DET_TICKS
    limits = _probit(np.array([DET_LOW_LIMIT, 1 - DET_LOW_LIMIT if full_range else 0.5]))
    labels = [f"{100 * tick:g}" for tick in ticks]
    ax.set_xticks(_probit(np.array(ticks)), labels)
    ax.set_yticks(_probit(np.array(ticks)), labels)
    ax.set_xlim(*limits)
    ax.set_ylim(*limits)
    ax.plot(limits, limits, ":", color="grey", linewidth=0.8)  # EER line: miss = false alarm
    ax.set_xlabel("False alarm rate: spoof accepted (%)")
    ax.set_ylabel("Miss rate: bona fide rejected (%)")
    ax.set_title(f"DET curve: {title}")
    ax.grid(True, linewidth=0.3)
    ax.legend(loc="best")
    fig.savefig(path, dpi=120, bbox_inches="tight")
    return fig


def plot_score_histogram(
    path: str | os.PathLike[str],
    bonafide: NDArray[np.float64],
    spoof: NDArray[np.float64],
    eer_threshold: float,
    title: str,
) -> Figure:
    """Normalised histograms of bona fide and spoof scores on shared bins, as a PNG titled with
    what was scored; returns the figure."""
    bins = np.histogram_bin_edges(np.concatenate((bonafide, spoof)), bins=HISTOGRAM_BINS)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.5, 4))
    ax = fig.add_subplot()
    ax.hist(bonafide, bins=bins, density=True, alpha=0.6, label=f"bona fide ({bonafide.size})")
    ax.hist(spoof, bins=bins, density=True, alpha=0.6, label=f"spoof ({spoof.size})")
    ax.axvline(eer_threshold, color="black", linestyle="--", linewidth=1, label="EER threshold")
    ax.set_xlabel("score (higher = more bona fide)")
    ax.set_ylabel("density")
    ax.set_title(f"Score distributions: {title}")
    ax.legend()
    fig.savefig(path, dpi=120, bbox_inches="tight")
    return fig


def _staircase_corners(
    frr: NDArray[np.float64], far: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Keep the end points and the points where the staircase turns.

    Between turns the curve is a straight axis-parallel run, in probit space too, so dropping
    those points changes nothing drawn and keeps plots of 600k-trial sets fast.
    """
    miss_steps = np.diff(frr) > 0  # True where a bona fide trial is rejected next
    keep = np.ones(frr.size, dtype=bool)
    keep[1:-1] = miss_steps[:-1] != miss_steps[1:]
    return frr[keep], far[keep]


def _probit_clipped(rates: NDArray[np.float64]) -> NDArray[np.float64]:
    """Normal deviate of error rates; 0 and 1 are clipped to just outside the plotted range."""
    return _probit(np.clip(rates, DET_LOW_LIMIT / 10, 1 - DET_LOW_LIMIT / 10))

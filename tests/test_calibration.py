"""Calibration of scores to LLRs: the fit, its prior weighting, decisions, calibration.json and
the entry point."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from antispoof.bin import calibrate as calibrate_cli
from antispoof.data.kaldi_files import write_table
from antispoof.evaluation.calibration import (
    CALIBRATION_FILE,
    Calibration,
    CalibrationError,
    fit_affine_llr,
    fit_calibration,
    load_calibration,
    read_calibration,
    write_calibration,
)
from antispoof.metrics.asvspoof5 import ASVSPOOF5_COSTS, act_dcf, cllr
from antispoof.metrics.det import compute_eer

EFFECTIVE_PRIOR = ASVSPOOF5_COSTS.effective_prior_spoof  # 0.5 / 1.45
JSON_KEYS = {
    "scale",
    "offset",
    "prior_spoof",
    "c_miss",
    "c_fa",
    "effective_prior_spoof",
    "fitted_on",
    "n_bonafide",
    "n_spoof",
    "eer_threshold",
    "llr_threshold",
}


def gaussian_llrs(rng, n_bonafide, n_spoof, separation=3.0):
    """LLRs that are exact: bona fide ~ N(m, 2m), spoof ~ N(-m, 2m) make x itself the log
    ratio of the two densities at x, so the well-specified fit recovers any affine map of x."""
    sigma = math.sqrt(2 * separation)
    return rng.normal(separation, sigma, n_bonafide), rng.normal(-separation, sigma, n_spoof)


def weighted_cross_entropy(scale, offset, bonafide, spoof, prior_spoof):
    """The objective the fit minimises (Platt's targets), written independently of it."""
    logit = math.log((1 - prior_spoof) / prior_spoof)
    t_b, t_s = (bonafide.size + 1) / (bonafide.size + 2), 1 / (spoof.size + 2)

    def ce(target, z):
        return np.mean(np.logaddexp(0, z) - target * z)

    z_b, z_s = scale * bonafide + offset + logit, scale * spoof + offset + logit
    return (1 - prior_spoof) * ce(t_b, z_b) + prior_spoof * ce(t_s, z_s)


@pytest.mark.parametrize(("scale", "offset"), [(2.5, -1.2), (0.01, 40.0), (300.0, 0.5)])
def test_fit_recovers_a_known_affine_map(scale, offset):
    rng = np.random.default_rng(0)
    llr_b, llr_s = gaussian_llrs(rng, 20_000, 60_000)
    # Raw scores whose LLR is scale * score + offset.
    bonafide, spoof = (llr_b - offset) / scale, (llr_s - offset) / scale
    calibration = fit_calibration(bonafide, spoof, "data/dev")
    assert calibration.scale == pytest.approx(scale, rel=0.03)
    assert calibration.offset == pytest.approx(offset, abs=0.03 * max(1.0, abs(offset)))
    np.testing.assert_allclose(calibration.llr(bonafide[:5]), llr_b[:5], atol=0.1, rtol=0.03)


def test_fit_is_the_minimum_of_the_prior_weighted_objective():
    rng = np.random.default_rng(1)
    # Unequal spreads: the affine model is misspecified, so the prior the fit is weighted for
    # changes the map.
    bonafide, spoof = rng.normal(2.0, 0.7, 3000), rng.normal(-1.0, 2.0, 500)
    fits = {}
    for prior in (EFFECTIVE_PRIOR, 0.5, 0.05):
        scale, offset = fit_affine_llr(bonafide, spoof, prior)
        best = weighted_cross_entropy(scale, offset, bonafide, spoof, prior)
        for d_scale, d_offset in ((1e-3, 0), (-1e-3, 0), (0, 1e-3), (0, -1e-3)):
            moved = weighted_cross_entropy(
                scale + d_scale, offset + d_offset, bonafide, spoof, prior
            )
            assert moved > best
        fits[prior] = (scale, offset)
    assert abs(fits[0.5][0] - fits[EFFECTIVE_PRIOR][0]) > 0.01
    assert abs(fits[0.05][1] - fits[EFFECTIVE_PRIOR][1]) > 0.01
    # The default is the effective prior of the ASVspoof 5 cost model.
    default = fit_calibration(bonafide, spoof, "dev")
    assert (default.scale, default.offset) == pytest.approx(fits[EFFECTIVE_PRIOR], rel=1e-9)


def test_fit_does_not_depend_on_the_class_balance():
    # Each class weighs its prior, whatever its count: four copies of every spoof trial change
    # only Platt's pseudo-counts (O(1/N)); counted trial by trial, the offset would move by
    # ln 4 = 1.39.
    rng = np.random.default_rng(2)
    bonafide, spoof = rng.normal(1.0, 1.0, 2000), rng.normal(-1.0, 1.5, 2000)
    once = fit_affine_llr(bonafide, spoof, EFFECTIVE_PRIOR)
    four_times = fit_affine_llr(bonafide, np.tile(spoof, 4), EFFECTIVE_PRIOR)
    assert four_times == pytest.approx(once, abs=2e-3)


def test_calibrated_llrs_decide_at_the_bayes_threshold():
    rng = np.random.default_rng(3)
    llr_b, llr_s = gaussian_llrs(rng, 5000, 5000, separation=1.0)
    bonafide, spoof = 4 * llr_b + 7, 4 * llr_s + 7
    calibration = fit_calibration(bonafide, spoof, "dev")
    llr_b_fit, llr_s_fit = calibration.llr(bonafide), calibration.llr(spoof)
    # Decisions are actDCF's: bona fide where the LLR reaches -ln(1.9).
    decisions = calibration.decide(np.concatenate((bonafide, spoof)))
    np.testing.assert_array_equal(
        decisions, np.concatenate((llr_b_fit, llr_s_fit)) >= -math.log(1.9)
    )
    # Well calibrated: actDCF close to that of the exact LLRs, Cllr too.
    assert act_dcf(llr_b_fit, llr_s_fit) == pytest.approx(act_dcf(llr_b, llr_s), abs=0.02)
    assert cllr(llr_b_fit, llr_s_fit) == pytest.approx(cllr(llr_b, llr_s), abs=0.01)


def test_decide_counts_the_threshold_as_bona_fide():
    calibration = Calibration(
        scale=1.0, offset=0.0, fitted_on="dev", n_bonafide=1, n_spoof=1, eer_threshold=0.0
    )
    at = calibration.llr_threshold  # the score whose LLR is exactly the threshold
    below = np.nextafter(at, -np.inf)
    np.testing.assert_array_equal(calibration.decide([at, below, 10.0]), [True, False, True])
    shifted = Calibration(
        scale=2.0, offset=1.0, fitted_on="dev", n_bonafide=1, n_spoof=1, eer_threshold=0.0
    )
    np.testing.assert_array_equal(shifted.llr([0.0, 1.5]), [1.0, 4.0])
    assert shifted.decide(-0.8) and not shifted.decide(-0.9)  # LLR -0.6 and -0.8


def test_separated_dev_scores_get_a_finite_map():
    # The plain maximum-likelihood scale would be infinite; Platt's targets keep it finite.
    bonafide, spoof = np.array([3.0, 4.0, 5.0]), np.array([0.0, 1.0, 2.0])
    calibration = fit_calibration(bonafide, spoof, "dev")
    assert 0 < calibration.scale < 10
    assert calibration.decide(bonafide).all() and not calibration.decide(spoof).any()
    assert calibration.eer_threshold == compute_eer(bonafide, spoof)[1] == 2.0


def test_reversed_dev_scores_never_flip_the_polarity_and_are_refused():
    bonafide, spoof = np.array([0.0, 1.0, 2.0, 0.5]), np.array([3.0, 4.0, 5.0, 2.5])
    scale, offset = fit_affine_llr(bonafide, spoof, EFFECTIVE_PRIOR)
    assert scale == 0.0
    # Scale 0: the sigmoid of offset + ln 1.9 (the prior log odds) is the weighted mean of the
    # Platt targets, 5/6 for bona fide and 1/6 for spoof (4 trials each).
    mean_target = (1 - EFFECTIVE_PRIOR) * 5 / 6 + EFFECTIVE_PRIOR / 6
    expected = math.log(mean_target / (1 - mean_target)) - math.log(1.9)
    assert offset == pytest.approx(expected)
    # Such a map gives every file the same LLR and decision: no calibration is fitted.
    with pytest.raises(CalibrationError, match=r"rank spoof above bona fide.*same decision"):
        fit_calibration(bonafide, spoof, "data/dev")


@pytest.mark.parametrize(
    ("bonafide", "spoof", "message"),
    [
        ([], [1.0, 2.0], "found 0 bona fide and 2 spoof"),
        ([1.0, 2.0], [], "found 2 bona fide and 0 spoof"),
        ([1.0, 1.0], [1.0], "all 3 dev scores are equal"),
    ],
)
def test_fit_refuses_dev_scores_it_cannot_calibrate(bonafide, spoof, message):
    with pytest.raises(CalibrationError, match=message):
        fit_calibration(bonafide, spoof, "data/dev")


def test_json_round_trip_and_load(tmp_path):
    rng = np.random.default_rng(4)
    calibration = fit_calibration(*gaussian_llrs(rng, 300, 900), "data/dev")
    assert load_calibration(tmp_path) is None  # no calibration.json
    write_calibration(tmp_path / CALIBRATION_FILE, calibration)
    assert [p.name for p in tmp_path.iterdir()] == [CALIBRATION_FILE]  # no temporary left
    record = json.loads((tmp_path / CALIBRATION_FILE).read_text())
    assert set(record) == JSON_KEYS
    assert record["prior_spoof"] == 0.05 and record["llr_threshold"] == -math.log(1.9)
    assert (record["n_bonafide"], record["n_spoof"], record["fitted_on"]) == (300, 900, "data/dev")
    assert read_calibration(tmp_path / CALIBRATION_FILE) == calibration
    assert load_calibration(tmp_path) == calibration


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"scale": None}, "no scale"),
        ({"offset": "1.0"}, "offset must be a finite number"),
        ({"n_spoof": 0}, "n_spoof must be a positive count"),
        ({"n_bonafide": True}, "n_bonafide must be a positive count"),
        ({"scale": -0.5}, "would flip the score polarity"),
        ({"prior_spoof": 1.5}, "spoof prior"),
        ({"llr_threshold": 0.0}, "is not the Bayes threshold"),
    ],
)
def test_read_refuses_a_bad_file(tmp_path, change, message):
    record = Calibration(
        scale=1.0, offset=0.0, fitted_on="dev", n_bonafide=2, n_spoof=3, eer_threshold=0.1
    ).to_json()
    record.update(change)
    record = {key: value for key, value in record.items() if value is not None}
    path = tmp_path / CALIBRATION_FILE
    path.write_text(json.dumps(record))
    with pytest.raises(CalibrationError, match=message) as error:
        load_calibration(tmp_path)
    assert str(path) in str(error.value)


def test_read_refuses_what_is_not_a_calibration(tmp_path):
    path = tmp_path / CALIBRATION_FILE
    for text, message in (("{", "not valid JSON"), ("[1, 2]", "not a JSON object")):
        path.write_text(text)
        with pytest.raises(CalibrationError, match=message):
            read_calibration(path)


def write_dev(tmp_path, labels, scores):
    data_dir = tmp_path / "data" / "dev"
    utts = [f"u{i:03d}" for i in range(len(labels))]
    write_table(data_dir / "utt2label", dict(zip(utts, labels, strict=True)))
    attacks = ["bonafide" if label == "bonafide" else "A01" for label in labels]
    write_table(data_dir / "utt2attack", dict(zip(utts, attacks, strict=True)))
    scores_file = tmp_path / "exp" / "dev" / "scores.txt"
    scores_file.parent.mkdir(parents=True)
    scores_file.write_text("".join(f"{u} {s}\n" for u, s in zip(utts, scores, strict=True)))
    return data_dir, scores_file


def test_cli_writes_calibration_json(tmp_path, capsys):
    rng = np.random.default_rng(5)
    llr_b, llr_s = gaussian_llrs(rng, 200, 300)
    labels = ["bonafide"] * 200 + ["spoof"] * 300
    data_dir, scores_file = write_dev(tmp_path, labels, np.concatenate((llr_b, llr_s)))
    out = tmp_path / "exp" / CALIBRATION_FILE
    argv = ["--scores", str(scores_file), "--data_dir", str(data_dir), "--out", str(out)]
    assert calibrate_cli.main(argv) == 0
    calibration = load_calibration(out.parent)
    assert calibration == fit_calibration(llr_b, llr_s, str(data_dir))
    assert set(json.loads(out.read_text())) == JSON_KEYS
    assert f"fitted on 200 bona fide and 300 spoof trials of {data_dir}" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("labels", "scores", "message"),
    [
        (["spoof"] * 3, [0.1, 0.2, 0.3], "found 0 bona fide and 3 spoof"),
        (["bonafide", "spoof"] * 2, [0.1, 0.9, 0.2, 0.8], "rank spoof above bona fide"),
    ],
)
def test_a_failed_fit_leaves_no_calibration_behind(tmp_path, labels, scores, message):
    """A dev set of one class, or scores that rank spoof above bona fide, fit no calibration,
    and the calibration.json of an earlier fit is gone: detect would apply it otherwise."""
    data_dir, scores_file = write_dev(tmp_path, labels, scores)
    out = tmp_path / "exp" / CALIBRATION_FILE
    write_calibration(out, fit_calibration([3.0, 4.0], [0.0, 1.0], "an earlier dev set"))
    command = [sys.executable, "-m", "antispoof.bin.calibrate", "--scores", str(scores_file)]
    done = subprocess.run(
        [*command, "--data_dir", str(data_dir), "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "calibrate: error: " in done.stderr and message in done.stderr
    assert not out.exists()


def test_the_module_imports_without_torch_or_matplotlib():
    # `detect` reads calibration.json; the module must not pull the model stack in, nor
    # matplotlib through antispoof.evaluation's plots (drawn by evaluate only).
    code = (
        "import sys; import antispoof.evaluation.calibration; "
        "assert 'torch' not in sys.modules, 'torch imported'; "
        "assert 'matplotlib' not in sys.modules, 'matplotlib imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)

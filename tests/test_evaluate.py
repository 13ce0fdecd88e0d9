"""Score-file checks, metrics.json, plots, RESULTS.md and the two entry points."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import pytest

from antispoof.bin import collect_results
from antispoof.bin import evaluate as evaluate_cli
from antispoof.data.kaldi_files import write_table
from antispoof.evaluation.calibration import (
    CALIBRATION_FILE,
    Calibration,
    fit_calibration,
    write_calibration,
)
from antispoof.evaluation.evaluate import evaluate
from antispoof.evaluation.score_file import ScoreFileError, read_scores
from antispoof.metrics.asvspoof5 import act_dcf, cllr
from antispoof.metrics.det import compute_eer

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# utt -> (label, attack, score); bona fide scores mostly higher, with some overlap.
TRIALS = {
    "b1": ("bonafide", "bonafide", 2.0),
    "b2": ("bonafide", "bonafide", 1.5),
    "b3": ("bonafide", "bonafide", 0.2),
    "b4": ("bonafide", "bonafide", 3.1),
    "s1": ("spoof", "A01", 0.1),
    "s2": ("spoof", "A01", 0.3),
    "s3": ("spoof", "A02", 1.7),
    "s4": ("spoof", "A02", -0.5),
    "s5": ("spoof", "A02", 1.0),
}
BASE_KEYS = {
    "scores_file",
    "data_dir",
    "convention",
    "n_bonafide",
    "n_spoof",
    "eer",
    "eer_threshold",
    "eer_negated",
    "polarity_warning",
    "min_dcf",
    "min_dcf_negated",
    "min_cllr",
    "per_attack",
}
CALIBRATED_KEYS = {"act_dcf", "cllr", "calibration"}
TDCF_KEYS = {
    "asv_scores_file",
    "tdcf_formulation",
    "min_tdcf",
    "min_tdcf_negated",
    "asv_eer",
    "tdcf_C1",
    "tdcf_C2",
}


@pytest.fixture
def data_dir(tmp_path):
    path = tmp_path / "data" / "eval"
    write_table(path / "utt2label", {utt: label for utt, (label, _, _) in TRIALS.items()})
    write_table(path / "utt2attack", {utt: attack for utt, (_, attack, _) in TRIALS.items()})
    return path


def write_scores(path, lines):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{line}\n" for line in lines))
    return path


@pytest.fixture
def scores_file(tmp_path):
    lines = [f"{utt} {score}" for utt, (_, _, score) in TRIALS.items()]
    return write_scores(tmp_path / "exp" / "eval" / "scores.txt", lines)


@pytest.fixture
def asv_file(tmp_path):
    lines = ["bonafide target 2", "bonafide target 3", "bonafide target 4"]
    lines += ["bonafide nontarget -1", "bonafide nontarget 0", "bonafide nontarget 1"]
    lines += ["A01 spoof 0", "A01 spoof 2", "A02 spoof 2", "A02 spoof 5"]
    return write_scores(tmp_path / "asv.txt", lines)


def test_evaluate_figures(scores_file, data_dir):
    metrics = evaluate(scores_file, data_dir)
    assert set(metrics) == BASE_KEYS
    bonafide = [score for label, _, score in TRIALS.values() if label == "bonafide"]
    spoof = [score for label, _, score in TRIALS.values() if label == "spoof"]
    assert (metrics["eer"], metrics["eer_threshold"]) == compute_eer(bonafide, spoof)
    assert metrics["eer_negated"] == compute_eer([-s for s in bonafide], [-s for s in spoof])[0]
    assert (metrics["n_bonafide"], metrics["n_spoof"]) == (4, 5)
    assert metrics["polarity_warning"] is False
    assert set(metrics["per_attack"]) == {"A01", "A02"}
    # A01 (.1, .3) against all bona fide: sorted .1s .2b .3s 1.5b 2b 3.1b, (frr, far) per k:
    # (0, 1) (0, .5) (.25, .5) (.25, 0) ...: |d| 1, .5, .25, .25 -> first, k2: (.25 + .5) / 2.
    # Negated: -3.1b -2b -1.5b -.3s -.2b -.1s: (0, 1) (.25, 1) (.5, 1) (.75, 1) (.75, .5)
    # (1, .5) (1, 0): |d| 1, .75, .5, .25, .25, ... -> first, k3: (.75 + 1) / 2.
    assert metrics["per_attack"]["A01"] == {"eer": 0.375, "eer_negated": 0.875, "n_spoof": 2}
    assert metrics["per_attack"]["A02"]["n_spoof"] == 3
    # min DCF = min over DET points of 1.9 frr + far; sorted -.5s .1s .2b .3s 1s 1.5b 1.7s 2b
    # 3.1b: k2 rejects the two lowest spoofs (frr 0, far .6), and every point that rejects a
    # bona fide trial costs at least .475 + .2. Negated, only accept-all (1) is that cheap.
    assert metrics["min_dcf"] == pytest.approx(0.6)
    assert metrics["min_dcf_negated"] == pytest.approx(1.0)
    assert 0 < metrics["min_cllr"] < 1


def calibration_of(scale, offset):
    return Calibration(
        scale=scale, offset=offset, fitted_on="data/dev", n_bonafide=4, n_spoof=5, eer_threshold=1
    )


def test_evaluate_with_a_calibration(scores_file, data_dir):
    calibration = calibration_of(2.0, -2.0)
    metrics = evaluate(scores_file, data_dir, calibration=calibration)
    assert set(metrics) == BASE_KEYS | CALIBRATED_KEYS
    bonafide = [2 * score - 2 for label, _, score in TRIALS.values() if label == "bonafide"]
    spoof = [2 * score - 2 for label, _, score in TRIALS.values() if label == "spoof"]
    # LLRs 2, 1, -1.6, 4.2 and -1.8, -1.4, 1.4, -3, 0 against -ln 1.9 = -.64: one bona fide
    # missed, two spoofs accepted: (.95 / 4 + .5 * 2 / 5) / .5.
    assert metrics["act_dcf"] == act_dcf(bonafide, spoof) == pytest.approx(0.875)
    assert metrics["cllr"] == pytest.approx(cllr(bonafide, spoof), rel=1e-15)
    assert metrics["calibration"] == calibration.to_json()
    # Calibration changes neither the ranking figures nor min Cllr.
    uncalibrated = evaluate(scores_file, data_dir)
    for key in ("eer", "min_dcf", "min_dcf_negated", "min_cllr"):
        assert metrics[key] == uncalibrated[key]


def test_subsets_get_the_asvspoof5_figures(scores_file, data_dir):
    subsets = {
        utt: "eval" if utt in {"b1", "b3", "s1", "s3", "s4"} else "progress" for utt in TRIALS
    }
    write_table(data_dir / "utt2subset", subsets)
    metrics = evaluate(scores_file, data_dir, calibration=calibration_of(2.0, -2.0))
    eval_figures = metrics["per_subset"]["eval"]
    # eval: b 2.0, .2 and s .1, 1.7, -.5 -> LLRs 2, -1.6 | -1.8, 1.4, -3: one miss of two, one
    # false alarm of three: (.95 / 2 + .5 / 3) / .5.
    assert eval_figures["act_dcf"] == pytest.approx((0.95 / 2 + 0.5 / 3) / 0.5)
    assert eval_figures["cllr"] == pytest.approx(cllr([2.0, -1.6], [-1.8, 1.4, -3.0]))
    # sorted -.5s .1s .2b 1.7s 2b: k2 (frr 0, far 1/3) is the cheapest point.
    assert eval_figures["min_dcf"] == pytest.approx(1 / 3)
    assert {"min_dcf_negated", "min_cllr"} <= set(metrics["per_subset"]["progress"])


def test_evaluate_with_asv_scores(scores_file, data_dir, asv_file):
    metrics = evaluate(scores_file, data_dir, asv_file)
    assert set(metrics) == BASE_KEYS | TDCF_KEYS
    assert metrics["tdcf_formulation"] == "asvspoof2019_legacy"
    # ASV scores as in test_metrics: ASV EER 0, C2 = 10 * .05 * (1 - 1/4).
    assert metrics["asv_eer"] == 0.0
    assert metrics["tdcf_C2"] == pytest.approx(0.375)
    # (C1/C2) Pmiss + Pfa with C1/C2 = 2.42 over sorted -.5s .1s .2b .3s 1s 1.5b 1.7s 2b 3.1b:
    # 1, .8, .6 (k2: no bona fide rejected, 3 of 5 spoofs accepted), then every point that
    # rejects a bona fide trial costs at least .606 + .2. Negated, a bona fide trial is lowest,
    # so only accept-all (k0) stays at 1.
    assert metrics["min_tdcf"] == pytest.approx(0.6)
    assert metrics["min_tdcf_negated"] == 1.0


def test_polarity_warning(tmp_path, data_dir, caplog):
    lines = [f"{utt} {-score}" for utt, (_, _, score) in TRIALS.items()]
    scores = write_scores(tmp_path / "negated.txt", lines)
    with caplog.at_level(logging.WARNING):
        metrics = evaluate(scores, data_dir)
    assert metrics["polarity_warning"] is True
    assert metrics["eer_negated"] < metrics["eer"]
    assert "negated scores give a lower EER" in caplog.text


def test_missing_trials_are_refused(tmp_path, data_dir):
    lines = [f"{utt} {score}" for utt, (_, _, score) in TRIALS.items() if utt not in ("b2", "s4")]
    scores = write_scores(tmp_path / "partial.txt", lines)
    with pytest.raises(ScoreFileError) as error:
        evaluate(scores, data_dir)
    message = str(error.value)
    assert str(scores) in message and "misses 2 of the 9 trials" in message
    assert "b2" in message and "s4" in message


@pytest.mark.parametrize(
    ("extra_line", "message"),
    [
        ("b1 0.5", "duplicate utterance 'b1'"),
        ("x1 nan", "not finite"),
        ("x1 inf", "not finite"),
        ("x1 high", "cannot parse"),
        ("x1 0.5 0.7", "cannot parse"),
        ("x1", "'x1' has no score; expected `<utt> <score>`"),
    ],
)
def test_bad_lines_are_refused_with_file_and_line(tmp_path, data_dir, extra_line, message):
    lines = [f"{utt} {score}" for utt, (_, _, score) in TRIALS.items()]
    lines.insert(3, extra_line)
    scores = write_scores(tmp_path / "bad.txt", lines)
    with pytest.raises(ScoreFileError, match=message) as error:
        evaluate(scores, data_dir)
    assert f"{scores}:4:" in str(error.value)


@pytest.mark.parametrize(
    "separator",
    ["\t", "\t\t", " \t"],  # the fast reader; the line-by-line one for the doubled separators
)
def test_tab_separated_scores_read_like_space_separated_ones(
    tmp_path, scores_file, data_dir, separator
):
    lines = [f"{utt}{separator}{score}" for utt, (_, _, score) in TRIALS.items()]
    tabbed = write_scores(tmp_path / "tabbed.txt", lines)
    assert read_scores(tabbed) == {utt: score for utt, (_, _, score) in TRIALS.items()}
    metrics = evaluate(tabbed, data_dir)
    expected = evaluate(scores_file, data_dir)
    for key in ("eer", "eer_threshold", "eer_negated", "per_attack"):
        assert metrics[key] == expected[key]


def test_bad_tab_separated_line_is_named(tmp_path, data_dir):
    lines = [f"{utt}\t{score}" for utt, (_, _, score) in TRIALS.items()]
    lines[2] = "b3\t0.2\t0.4"
    with pytest.raises(ScoreFileError, match=r"bad.txt:3: cannot parse score '0.2\\t0.4' of 'b3'"):
        read_scores(write_scores(tmp_path / "bad.txt", lines))


def test_score_file_may_start_with_a_byte_order_mark(tmp_path, data_dir, scores_file):
    with_bom = tmp_path / "bom.txt"
    with_bom.write_bytes(b"\xef\xbb\xbf" + scores_file.read_bytes())
    assert evaluate(with_bom, data_dir)["eer"] == evaluate(scores_file, data_dir)["eer"]


def test_extra_utterances_are_refused(tmp_path, data_dir):
    lines = [f"{utt} {score}" for utt, (_, _, score) in TRIALS.items()] + ["LA_E_1 0.3"]
    scores = write_scores(tmp_path / "other_set.txt", lines)
    with pytest.raises(ScoreFileError, match=r"1 utterance.* not trials of .*LA_E_1"):
        evaluate(scores, data_dir)


def test_inconsistent_data_dir_is_refused(scores_file, data_dir):
    write_table(data_dir / "utt2attack", {utt: "A01" for utt in TRIALS})
    with pytest.raises(ValueError, match="utt2attack: attack 'A01' of bonafide trial"):
        evaluate(scores_file, data_dir)
    write_table(data_dir / "utt2label", {utt: "real" for utt in TRIALS})
    with pytest.raises(ValueError, match="not bonafide or spoof"):
        evaluate(scores_file, data_dir)


def test_one_class_data_dir_is_refused(tmp_path, data_dir):
    write_table(data_dir / "utt2label", {"b1": "bonafide"})
    write_table(data_dir / "utt2attack", {"b1": "bonafide"})
    scores = write_scores(tmp_path / "one.txt", ["b1 0.5"])
    with pytest.raises(ValueError, match="found 1 bona fide and 0 spoof trials"):
        evaluate(scores, data_dir)


def test_cli_writes_metrics_and_plots(scores_file, data_dir, asv_file, capsys):
    args = ["--scores", str(scores_file), "--data_dir", str(data_dir)]
    assert evaluate_cli.main([*args, "--asv_scores", str(asv_file)]) == 0
    out_dir = scores_file.parent
    metrics = json.loads((out_dir / "metrics.json").read_text())
    assert set(metrics) == BASE_KEYS | TDCF_KEYS | {"protocol"}
    for name in ("det.png", "score_hist.png"):
        png = (out_dir / name).read_bytes()
        assert len(png) > 1000 and png.startswith(PNG_SIGNATURE)
    summary = capsys.readouterr().out
    assert f"EER {100 * metrics['eer']:.3f} %" in summary and "min t-DCF" in summary
    # The Arena's protocol: recorded as such, and no plots over the official ones.
    for name in ("det.png", "score_hist.png"):
        (out_dir / name).unlink()
    arena = out_dir / "metrics.arena.json"
    assert evaluate_cli.main([*args, "--protocol", "arena", "--out", str(arena)]) == 0
    assert json.loads(arena.read_text())["protocol"] == "arena"
    assert not (out_dir / "det.png").exists()


def test_cli_with_a_calibration_file(tmp_path, scores_file, data_dir, capsys):
    path = tmp_path / "exp" / CALIBRATION_FILE
    write_calibration(path, fit_calibration([1.0, 2.0, 3.0], [0.0, 1.5, -1.0], "data/dev"))
    args = ["--scores", str(scores_file), "--data_dir", str(data_dir)]
    assert evaluate_cli.main([*args, "--calibration", str(path)]) == 0
    metrics = json.loads((scores_file.parent / "metrics.json").read_text())
    assert set(metrics) == BASE_KEYS | CALIBRATED_KEYS | {"protocol"}
    assert metrics["calibration"]["fitted_on"] == "data/dev" and metrics["protocol"] == "official"
    summary = capsys.readouterr().out
    assert f"min DCF {metrics['min_dcf']:.4f}" in summary
    assert f"calibrated on data/dev: actDCF {metrics['act_dcf']:.4f}" in summary
    assert evaluate_cli.main(args) == 0
    assert "not calibrated: no actDCF or Cllr" in capsys.readouterr().out


def test_cli_refuses_a_bad_calibration_file(tmp_path, scores_file, data_dir):
    path = tmp_path / CALIBRATION_FILE
    path.write_text('{"scale": 1}')
    command = [sys.executable, "-m", "antispoof.bin.evaluate", "--scores", str(scores_file)]
    done = subprocess.run(
        [*command, "--data_dir", str(data_dir), "--calibration", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert f"evaluate: error: {path}: no offset" in done.stderr


def test_cli_output_paths(tmp_path, scores_file, data_dir):
    out = tmp_path / "elsewhere" / "m.json"
    plots = tmp_path / "plots"
    args = ["--scores", str(scores_file), "--data_dir", str(data_dir), "--out", str(out)]
    assert evaluate_cli.main([*args, "--plots_dir", str(plots)]) == 0
    assert out.is_file() and (plots / "det.png").is_file() and (plots / "score_hist.png").is_file()
    assert not (scores_file.parent / "metrics.json").exists()


def test_cli_bad_input_exits_1_without_traceback(tmp_path, data_dir):
    scores = write_scores(tmp_path / "bad.txt", ["b1 0.5", "b1 0.7"])
    command = [sys.executable, "-m", "antispoof.bin.evaluate", "--scores", str(scores)]
    done = subprocess.run(
        [*command, "--data_dir", str(data_dir)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 1
    assert f"evaluate: error: {scores}:2: duplicate utterance 'b1'" in done.stderr
    assert "Traceback" not in done.stderr


def fake_metrics(eer, eer_negated, attacks, min_tdcf=None):
    metrics = {
        "n_bonafide": 4,
        "n_spoof": 5,
        "eer": eer,
        "eer_negated": eer_negated,
        "polarity_warning": eer_negated < eer,
        "per_attack": {
            attack: {"eer": value, "eer_negated": 1 - value, "n_spoof": 2}
            for attack, value in attacks.items()
        },
    }
    if min_tdcf is not None:
        metrics.update(min_tdcf=min_tdcf, min_tdcf_negated=1.0)
    return metrics


def test_collect_results(tmp_path, capsys):
    sets = {
        "exp/ocsoftmax": {
            "eval": fake_metrics(0.97822, 0.02178, {"A07": 0.9988, "A17": 0.9082}, 1.0),
            "itw": fake_metrics(0.71834, 0.28166, {"spoof": 0.71834}),
        },
        "exp/softmax": {"eval": fake_metrics(0.05058, 0.94942, {"A07": 0.0037}, 0.1208)},
    }
    for exp_dir, by_set in sets.items():
        for test_set, metrics in by_set.items():
            path = tmp_path / exp_dir / test_set / "metrics.json"
            path.parent.mkdir(parents=True)
            path.write_text(json.dumps(metrics))
    out = tmp_path / "RESULTS.md"
    argv = ["--out", str(out), "--title", "Mini", "--command", "./run.sh --stage 5"]
    argv += ["--wall_seconds", "42"]
    assert collect_results.main([*argv, *(str(tmp_path / d) for d in sets)]) == 0
    text = out.read_text()
    assert text.startswith("# Mini\n")
    assert "Produced by `./run.sh --stage 5` at commit `" in text and "` in 42 s." in text
    row = "| ocsoftmax | eval | official | 97.822 | **2.178** (lower) | 1.0000 | 1.0000 | 4 / 5 |"
    assert row in text
    assert "| ocsoftmax | itw | official | 71.834 | **28.166** (lower) | – | – | 4 / 5 |" in text
    assert "| softmax | eval | official | 5.058 | 94.942 | 0.1208 | 1.0000 | 4 / 5 |" in text
    # Per-attack table for eval (two attacks), none for itw (a single spoof class).
    assert "## EER (%) per attack: eval" in text and "per attack: itw" not in text
    assert "| A17 | 90.820 (negated: **9.180**) | – |" in text
    assert "| A07 | 99.880 (negated: **0.120**) | 0.370 |" in text
    assert row in capsys.readouterr().out


def test_collect_results_adds_asvspoof5_columns_where_figures_exist(tmp_path, capsys):
    calibrated = fake_metrics(0.05, 0.95, {"A07": 0.01, "A08": 0.09})
    calibrated.update(
        min_dcf=0.1234,
        min_dcf_negated=0.98765,
        min_cllr=0.2,
        act_dcf=0.25,
        cllr=0.5,
        calibration={"fitted_on": "data/dev"},
    )
    uncalibrated = fake_metrics(0.3, 0.2, {"A07": 0.3}) | {
        "min_dcf": 0.9,
        "min_dcf_negated": 0.7,
        "min_cllr": 0.8,
    }
    older = fake_metrics(0.1, 0.9, {"A07": 0.1})  # a metrics.json from before these figures
    for test_set, metrics in (("eval", calibrated), ("itw", uncalibrated), ("old", older)):
        path = tmp_path / "exp" / "ocsoftmax" / test_set / "metrics.json"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps(metrics))
    out = tmp_path / "RESULTS.md"
    assert collect_results.main(["--out", str(out), str(tmp_path / "exp" / "ocsoftmax")]) == 0
    text = out.read_text()
    header = (
        "| experiment | test set | protocol | EER (%) | EER, negated scores (%) | min t-DCF | "
        "min t-DCF, negated | min DCF | min DCF, negated | actDCF | min Cllr (bits) | "
        "Cllr (bits) | #bona fide / #spoof |"
    )
    assert header in text
    rows = [
        "| ocsoftmax | eval | official | 5.000 | 95.000 | – | – | 0.1234 | 0.9877 | 0.2500 "
        "| 0.2000 | 0.5000 "
        "| 4 / 5 |",
        "| ocsoftmax | itw | official | 30.000 | **20.000** (lower) | – | – | 0.9000 "
        "| **0.7000** (lower) | – "
        "| 0.8000 | – | 4 / 5 |",
        "| ocsoftmax | old | official | 10.000 | 90.000 | – | – | – | – | – | – | – | 4 / 5 |",
    ]
    for row in rows:
        assert row in text
    assert "Pspoof 0.05, Cmiss 1, Cfa 10" in text and "dev scores of data/dev" in text
    assert header in capsys.readouterr().out


def test_collect_results_needs_metrics(tmp_path):
    with pytest.raises(FileNotFoundError, match="no <set>/metrics"):
        collect_results.main(["--out", str(tmp_path / "R.md"), str(tmp_path)])


def test_asv_scores_default_to_the_data_dir(scores_file, data_dir, asv_file):
    (data_dir / "asv_scores.txt").write_bytes(asv_file.read_bytes())
    metrics = evaluate(scores_file, data_dir)
    assert set(metrics) == BASE_KEYS | TDCF_KEYS
    assert metrics["asv_scores_file"] == str(data_dir / "asv_scores.txt")
    assert metrics["min_tdcf"] == pytest.approx(0.6)  # as with the file given explicitly


def test_plots_name_the_experiment_and_the_set(tmp_path):
    """det.png and score_hist.png say what was scored: `<tag> on <set>` of stage 5's layout."""
    import numpy as np

    from antispoof.evaluation.evaluate import default_title
    from antispoof.evaluation.plots import plot_det, plot_score_histogram

    scores = tmp_path / "exp" / "lfcc_resnet18_ocsoftmax" / "eval" / "scores.txt"
    title = default_title(scores, tmp_path / "data" / "eval")
    assert title == "lfcc_resnet18_ocsoftmax on eval"
    bonafide, spoof = np.array([1.0, 2.0, 0.5]), np.array([-1.0, 0.7, -2.0])
    det = plot_det(tmp_path / "det.png", bonafide, spoof, title)
    hist = plot_score_histogram(tmp_path / "hist.png", bonafide, spoof, 0.6, title)
    assert det.axes[0].get_title() == f"DET curve: {title}"
    assert hist.axes[0].get_title() == f"Score distributions: {title}"
    assert (tmp_path / "det.png").stat().st_size > 0 and (tmp_path / "hist.png").stat().st_size > 0

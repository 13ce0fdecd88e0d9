"""2021 evaluation as the organisers grade it: t-DCF weights per subset and condition cell,
condition tables, per-subset figures, coverage per subset, and the entry points."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from antispoof.bin import collect_results
from antispoof.bin import evaluate as evaluate_cli
from antispoof.data.kaldi_files import TableError, write_table
from antispoof.evaluation.evaluate import evaluate
from antispoof.evaluation.score_file import ScoreFileError
from antispoof.metrics.asv2021 import Asv2021Weights, read_asv2021
from antispoof.metrics.asv_scores import AsvScores
from antispoof.metrics.columns import read_columns
from antispoof.metrics.det import compute_det_curve, compute_eer
from antispoof.metrics.tdcf import tdcf_coefficients


def write_data_dir(path, trials, factors):
    """`trials`: utt -> (label, *factor values, score) in the order of `factors`."""
    write_table(path / "utt2label", {utt: values[0] for utt, values in trials.items()})
    for index, factor in enumerate(factors, start=1):
        write_table(path / f"utt2{factor}", {utt: values[index] for utt, values in trials.items()})
    return path


def write_scores(path, scores):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{utt} {score}\n" for utt, score in scores.items()))
    return path


def write_asv(directory, rows):
    """`rows`: (codec, trans, attack, label, subset, score); ids made up per line."""
    directory.mkdir(parents=True, exist_ok=True)
    key, scores = [], []
    for index, (codec, trans, attack, label, subset, score) in enumerate(rows):
        ids = f"LA_{index % 7:04d}-{codec}-{trans} LA_E_{1000 + index}-{codec}-{trans}"
        key.append(f"{ids} {codec} {trans} {attack} {label} notrim {subset}\n")
        scores.append(f"{ids} {score}\n")
    (directory / "trial_metadata.txt").write_text("".join(key))
    (directory / "score.txt").write_text("".join(scores))
    return directory


# --- a tiny 2021 LA set -------------------------------------------------------------------------

LA_FACTORS = ("attack", "codec", "channel", "subset")
# utt -> (label, attack, codec, channel, subset, score)
LA_TRIALS = {
    "LA_E_b1": ("bonafide", "bonafide", "alaw", "ita_tx", "eval", 3.0),
    "LA_E_b2": ("bonafide", "bonafide", "alaw", "ita_tx", "eval", 1.0),
    "LA_E_b3": ("bonafide", "bonafide", "none", "-", "eval", 2.0),
    "LA_E_s1": ("spoof", "A07", "alaw", "ita_tx", "eval", 0.0),
    "LA_E_s2": ("spoof", "A07", "alaw", "ita_tx", "eval", 2.5),
    "LA_E_s3": ("spoof", "A07", "none", "-", "eval", 5.0),
    "LA_E_s4": ("spoof", "A08", "alaw", "sin_tx", "eval", -1.0),
    "LA_E_b4": ("bonafide", "bonafide", "alaw", "ita_tx", "progress", 1.0),
    "LA_E_s5": ("spoof", "A07", "alaw", "ita_tx", "progress", 0.0),
}
# The organisers' ASV trials: (codec, trans, attack, label, subset, score).
ASV_ROWS = [
    *[("alaw", "ita_tx", "bonafide", "target", "eval", s) for s in (2, 3, 4)],
    *[("alaw", "ita_tx", "bonafide", "nontarget", "eval", s) for s in (-1, 0, 1)],
    *[("alaw", "ita_tx", "A07", "spoof", "eval", s) for s in (0, 2, 2, 5)],
    ("alaw", "ita_tx", "A08", "spoof", "eval", -5),
    *[("none", "-", "bonafide", "target", "eval", s) for s in (10, 11)],
    ("none", "-", "bonafide", "nontarget", "eval", 9),
    ("none", "-", "A07", "spoof", "eval", 9.5),
    *[("alaw", "ita_tx", "bonafide", "target", "progress", s) for s in (5, 6)],
    *[("alaw", "ita_tx", "bonafide", "nontarget", "progress", s) for s in (-5, -4)],
    *[("alaw", "ita_tx", "A07", "spoof", "progress", s) for s in (6, -6)],
]
# Weights of the eval subset's A07 x alaw cell, by hand. Its ASV target (2 3 4) and nontarget
# (-1 0 1) trials are the eval alaw ones (codec filters bona fide trials; attack does not):
# sorted -1n 0n 1n 2t 3t 4t reach EER 0 first at k=3, threshold 1 (the largest rejected score).
# Rates count `>=` as accepted: Pfa = 1/3 (the nontarget at 1), Pmiss = 0. Its spoofs are the
# eval A07 alaw ones (0 2 2 5): Pfa_spoof = 3/4. Neither the A07 spoof of codec none (9.5), nor
# the A08 one (-5), nor any progress trial enters. Hence
# C0 = .0095 * 10 / 3, C1 = .9405 - C0, C2 = .05 * 10 * 3/4 = .375.
A07_ALAW = (0.095 / 3, 0.9405 - 0.095 / 3, 0.375)
# The eval subset pooled: targets 2 3 4 10 11, nontargets -1 0 1 9 sorted -1n 0n 1n 2t 3t 4t 9n
# 10t 11t; |frr - far| is smallest (.05) at k=4 (frr 1/5, far 1/4): ASV EER .225, threshold 2;
# Pfa = 1/4 (the 9), Pmiss = 0; spoofs 0 2 2 5 -5 9.5: Pfa_spoof = 4/6.
EVAL_POOLED = (0.095 / 4, 0.9405 - 0.095 / 4, 0.5 * 4 / 6)
# The progress subset: sorted -5n -4n 5t 6t, EER 0 at k=2, threshold -4; Pfa = 1/2 (the -4),
# Pmiss = 0; spoofs 6 -6: Pfa_spoof = 1/2.
PROGRESS_POOLED = (0.095 / 2, 0.9405 - 0.095 / 2, 0.25)


@pytest.fixture
def la_dir(tmp_path):
    data_dir = write_data_dir(tmp_path / "data" / "la21", LA_TRIALS, LA_FACTORS)
    write_asv(data_dir / "asv2021", ASV_ROWS)
    return data_dir


@pytest.fixture
def la_scores(tmp_path):
    scores = {utt: values[-1] for utt, values in LA_TRIALS.items()}
    return write_scores(tmp_path / "exp" / "la21" / "scores.txt", scores)


def perfect_scores(tmp_path, trials):
    """Every bona fide trial above every spoof trial."""
    scores = {
        utt: 10.0 + i if v[0] == "bonafide" else -i for i, (utt, v) in enumerate(trials.items())
    }
    return write_scores(tmp_path / "perfect.txt", scores)


def test_cell_weights_by_hand(la_dir):
    asv = read_asv2021(la_dir / "asv2021")
    eval_weights = Asv2021Weights(asv.select(asv.subset.mask("eval")))
    cell = eval_weights.for_cell(
        bonafide=(("codec", "alaw"),), spoof=(("attack", "A07"), ("codec", "alaw"))
    )
    coefficients = cell.coefficients
    assert (coefficients.c0, coefficients.c1, coefficients.c2) == pytest.approx(A07_ALAW)
    assert cell.asv_eer == 0.0
    pooled = eval_weights.for_cell()
    assert (
        pooled.coefficients.c0,
        pooled.coefficients.c1,
        pooled.coefficients.c2,
    ) == pytest.approx(EVAL_POOLED)
    assert pooled.asv_eer == pytest.approx(0.225)
    # No ASV spoof trial of A08 with codec none: the official package has NaN there.
    assert (
        eval_weights.for_cell((("codec", "none"),), (("attack", "A08"), ("codec", "none"))) is None
    )
    # A factor the ASV key does not have (DF's vocoder) gives no weights either.
    assert eval_weights.for_cell((), (("vocoder", "unknown"),)) is None


def test_2021_tdcf_in_metrics(la_dir, la_scores):
    metrics = evaluate(la_scores, la_dir)
    assert metrics["tdcf_formulation"] == "asvspoof2021"
    assert metrics["asv_key_file"] == str(la_dir / "asv2021" / "trial_metadata.txt")
    # All trials pooled: weights from all ASV trials, whatever their subset.
    rows = np.array([row[-1] for row in ASV_ROWS], dtype=float)
    labels = np.array([row[3] for row in ASV_ROWS])
    expected = tdcf_coefficients(
        AsvScores(*(rows[labels == key] for key in ("target", "nontarget", "spoof")))
    )
    assert (metrics["tdcf_C0"], metrics["tdcf_C1"], metrics["tdcf_C2"]) == (
        expected.c0,
        expected.c1,
        expected.c2,
    )
    assert 0 < metrics["min_tdcf"] <= 1 and 0 < metrics["min_tdcf_negated"] <= 1
    table = metrics["per_subset"]["eval"]["conditions"]["attack_x_codec"]["cells"]
    # A07 x alaw: bona fide 3 1 (alaw), spoof 0 2.5; sorted 0s 1b 2.5s 3b gives (Pmiss, Pfa)
    # (0, 1) (0, .5) (.5, .5) (.5, 0) (1, 0). With C2 < C1 the normaliser is C0 + C2 = 1.22/3;
    # at (0, .5): (C0 + .1875) / (C0 + .375) = (.095 + .5625) / 1.22; every other point is
    # higher (accept-all gives 1, (.5, 0) gives 1.195).
    assert table["A07"]["alaw"]["min_tdcf"] == pytest.approx(0.6575 / 1.22)
    # A08 x alaw: the ASV rejects the only A08 alaw spoof (-5 < 1), so C2 = 0 and the
    # normaliser is C0: any point without a miss costs C0 / C0 = 1, any miss costs more.
    assert table["A08"]["alaw"]["min_tdcf"] == 1.0


def test_perfect_cm_reaches_the_asv_floor(tmp_path, la_dir):
    metrics = evaluate(perfect_scores(tmp_path, LA_TRIALS), la_dir)
    # At (Pmiss_cm, Pfa_cm) = (0, 0) only C0 is left: C0 / (C0 + min(C1, C2)).
    c0, c1, c2 = A07_ALAW
    table = metrics["per_subset"]["eval"]["conditions"]["attack_x_codec"]["cells"]
    assert table["A07"]["alaw"]["min_tdcf"] == pytest.approx(c0 / (c0 + min(c1, c2)))
    for subset, (c0, c1, c2) in (("eval", EVAL_POOLED), ("progress", PROGRESS_POOLED)):
        figures = metrics["per_subset"][subset]
        assert (figures["tdcf_C0"], figures["tdcf_C1"], figures["tdcf_C2"]) == pytest.approx(
            (c0, c1, c2)
        )
        assert figures["min_tdcf"] == pytest.approx(c0 / (c0 + min(c1, c2)))
        assert figures["eer"] == 0.0


def test_la_condition_tables(la_dir, la_scores):
    metrics = evaluate(la_scores, la_dir)
    eval_figures = metrics["per_subset"]["eval"]
    assert set(eval_figures["conditions"]) == {"attack_x_codec", "codec_x_channel"}
    table = eval_figures["conditions"]["attack_x_codec"]
    assert (table["rows"], table["columns"]) == ("attack", "codec")
    assert table["row_labels"] == {"A07": "A07", "A08": "A08", "Pooled": "Pooled"}
    assert table["column_labels"] == {"none": "C1 (none)", "alaw": "C2 (alaw)", "Pooled": "Pooled"}
    cells = table["cells"]
    # A07 x alaw: sorted 0s 1b 2.5s 3b (Nb 2, Ns 2): |frr - far| 1, .5, 0 -> EER .5.
    assert cells["A07"]["alaw"]["eer"] == 0.5
    assert (cells["A07"]["alaw"]["n_bonafide"], cells["A07"]["alaw"]["n_spoof"]) == (2, 2)
    # A07 x none: 2b 5s -> k1 (frr 1, far 1): EER 1.
    assert cells["A07"]["none"]["eer"] == 1.0
    # A08 x alaw: -1s 1b 3b -> k1 (0, 0): EER 0; A08 has no spoof with codec none: absent.
    assert cells["A08"]["alaw"]["eer"] == 0.0
    assert cells["A08"]["none"] is None
    # A07 x Pooled: all eval bona fide (3 1 2) against the A07 spoofs (0 2.5 5): sorted 0s 1b
    # 2b 2.5s 3b 5s -> |d| 1, 2/3, 1/3, 0 at k3 (frr 2/3, far 2/3): EER 2/3.
    assert cells["A07"]["Pooled"]["eer"] == pytest.approx(2 / 3)
    # Pooled x alaw: bona fide 3 1 against spoofs 0 2.5 -1: -1s 0s 1b 2.5s 3b -> smallest |d| at
    # k3 (frr 1/2, far 1/3): EER 5/12.
    assert cells["Pooled"]["alaw"]["eer"] == pytest.approx(5 / 12)
    assert cells["Pooled"]["Pooled"]["eer"] == eval_figures["eer"]
    # Codec x channel: both factors filter both classes.
    channel = eval_figures["conditions"]["codec_x_channel"]
    assert channel["column_labels"]["-"] == "no transmission"
    assert channel["cells"]["alaw"]["ita_tx"]["eer"] == 0.5  # the trials of A07 x alaw
    assert channel["cells"]["alaw"]["sin_tx"] is None  # no bona fide alaw trial over sin_tx
    assert channel["cells"]["none"]["-"]["eer"] == 1.0
    # alaw x ita_tx weights: as A07 x alaw but spoofs 0 2 2 5 -5 (both attacks): C2 = .3; at
    # (0, .5): (C0 + .15) / (C0 + .3) = (.095 + .45) / (.095 + .9).
    assert channel["cells"]["alaw"]["ita_tx"]["min_tdcf"] == pytest.approx(0.545 / 0.995)


def test_per_subset_figures(la_dir, la_scores):
    metrics = evaluate(la_scores, la_dir)
    assert metrics["official_subset"] == "eval"
    assert list(metrics["per_subset"]) == ["eval", "progress"]
    for subset in ("eval", "progress"):
        in_subset = [v for v in LA_TRIALS.values() if v[4] == subset]
        bonafide = [v[-1] for v in in_subset if v[0] == "bonafide"]
        spoof = [v[-1] for v in in_subset if v[0] == "spoof"]
        figures = metrics["per_subset"][subset]
        assert (figures["n_bonafide"], figures["n_spoof"]) == (len(bonafide), len(spoof))
        assert (figures["eer"], figures["eer_threshold"]) == compute_eer(bonafide, spoof)
        assert figures["eer_negated"] == compute_eer([-s for s in bonafide], [-s for s in spoof])[0]
    # Pooled over all trials, besides.
    assert (metrics["n_bonafide"], metrics["n_spoof"]) == (4, 5)


def test_subset_without_a_class_is_absent(tmp_path):
    trials = {utt: values for utt, values in LA_TRIALS.items() if utt != "LA_E_b4"}
    data_dir = write_data_dir(tmp_path / "data", trials, LA_FACTORS)
    scores = write_scores(tmp_path / "s.txt", {utt: v[-1] for utt, v in trials.items()})
    metrics = evaluate(scores, data_dir)
    assert metrics["per_subset"]["progress"] is None
    assert "tdcf_formulation" not in metrics  # no asv2021/ in this directory


def test_missing_trials_counted_per_subset(tmp_path, la_dir):
    scores = {utt: v[-1] for utt, v in LA_TRIALS.items() if utt not in ("LA_E_b4", "LA_E_s5")}
    path = write_scores(tmp_path / "partial.txt", scores)
    with pytest.raises(ScoreFileError) as error:
        evaluate(path, la_dir)
    message = str(error.value)
    assert "misses 2 of the 9 trials" in message
    assert "by subset: eval 0 of 7, progress 2 of 2" in message


def test_official_decomposition_on_random_sets(tmp_path):
    """Every cell of every subset equals a direct transcription of the 2021 package: the cells
    of `main.py`'s `compute_decomposed_mintdcf_eer` with the weights of `compute_tDCF_C012`,
    sets filtered cell by cell. The ASV system is worse than chance on one codec, so that some
    cells have C1 < 0, which the official code evaluates like any other (to 1)."""
    rng = np.random.default_rng(7)
    codecs = {"none": "-", "alaw": "ita_tx", "pstn": "mad_tx", "g722": "sin_tx"}
    attacks = ("A07", "A08", "A09")
    subsets = ("eval", "progress", "hidden")
    trials = {}
    for index in range(400):
        codec = rng.choice(list(codecs))
        channel = codecs[codec] if rng.random() < 0.8 else "loc_tx"
        bonafide = rng.random() < 0.3
        attack = "bonafide" if bonafide else rng.choice(attacks)
        score = float(rng.integers(0, 12) + (3 if bonafide else 0))  # integers: many ties
        label = "bonafide" if bonafide else "spoof"
        trials[f"LA_E_{index:04d}"] = (label, attack, codec, channel, rng.choice(subsets), score)
    means = {"target": 4, "nontarget": 0, "spoof": 2}
    inverted = {"target": 0, "nontarget": 4, "spoof": 2}  # targets below non-targets
    asv_rows = []
    for _ in range(600):
        codec = rng.choice(list(codecs))
        label = rng.choice(["target", "nontarget", "spoof"])
        attack = rng.choice(attacks) if label == "spoof" else "bonafide"
        if codec == "pstn":
            score = inverted[label] + rng.normal(0, 0.5)
        else:
            score = means[label] + rng.normal(0, 2)
        asv_rows.append((codec, codecs[codec], attack, label, rng.choice(subsets), round(score, 2)))
    data_dir = write_data_dir(tmp_path / "data", trials, LA_FACTORS)
    write_asv(data_dir / "asv2021", asv_rows)
    scores = write_scores(tmp_path / "scores.txt", {utt: v[-1] for utt, v in trials.items()})
    metrics = evaluate(scores, data_dir)
    n_cells = n_negative_c1 = 0
    for subset in subsets:
        for name, table in metrics["per_subset"][subset]["conditions"].items():
            for row, cells in table["cells"].items():
                for column, cell in cells.items():
                    expected, c1 = official_cell(trials, asv_rows, subset, name, row, column)
                    assert cell == expected, (subset, name, row, column)
                    n_cells += cell is not None
                    assert cell is None or cell["min_tdcf"] is None or cell["min_tdcf"] <= 1
                    if cell is not None and c1 < 0:
                        assert cell["min_tdcf"] == 1.0
                        n_negative_c1 += 1
    assert n_cells > 50
    assert n_negative_c1 > 5


FACTOR_FIELDS = {"attack": (1, 2), "codec": (2, 0), "channel": (3, 1)}  # CM field, ASV field
KINDS = {"attack": "spoof", "codec": "both", "channel": "both"}
# The cost model of the 2021 package's config.py.
PSPOOF = 0.05
PTAR, PNON, CMISS, CFA, CFA_SPOOF = (1 - PSPOOF) * 0.99, (1 - PSPOOF) * 0.01, 1, 10, 10


def official_c012(tar, non, spoof):
    """`get_tDCF_C012_from_asv_scores` of the 2021 package's eval_wrapper.py: NaN unless the
    cell has target, non-target and spoof ASV trials; no check of the weights' signs."""
    if not (len(tar) and len(non) and len(spoof)):
        return np.nan, np.nan, np.nan
    tar, non, spoof = np.array(tar), np.array(non), np.array(spoof)
    threshold = compute_eer(tar, non)[1]
    pfa_asv = sum(non >= threshold) / non.size
    pmiss_asv = sum(tar < threshold) / tar.size
    pfa_spoof_asv = np.sum(spoof >= threshold) / spoof.size
    c0 = PTAR * CMISS * pmiss_asv + PNON * CFA * pfa_asv
    c1 = PTAR * CMISS - (PTAR * CMISS * pmiss_asv + PNON * CFA * pfa_asv)
    c2 = PSPOOF * CFA_SPOOF * pfa_spoof_asv
    return c0, c1, c2


def official_min_tdcf(bonafide, spoof, c0, c1, c2):
    """`get_mintDCF_eer` of eval_wrapper.py: NaN weights give NaN; anything else is divided as
    it is (a zero normaliser gives NaN at the first DET point, where Pmiss_cm = 0)."""
    pmiss, pfa, _ = compute_det_curve(bonafide, spoof)
    if np.isnan(c0) or np.isnan(c1) or np.isnan(c2):
        return np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        norm = (c0 + c1 * pmiss + c2 * pfa) / (c0 + np.minimum(c1, c2))
    return norm[norm.argmin()]


def official_cell(trials, asv_rows, subset, table, row, column):
    """One cell as `main.py` computes it, by filtering lists (independent of the ranking), and
    its C1; the official NaN is None."""
    conditions = [
        (factor, value)
        for factor, value in zip(table.split("_x_"), (row, column), strict=True)
        if value != "Pooled"
    ]

    def matches(values, field, label_is_bonafide):
        return all(
            values[FACTOR_FIELDS[factor][field]] == value
            for factor, value in conditions
            if KINDS[factor] == "both" or not label_is_bonafide
        )

    in_subset = [v for v in trials.values() if v[4] == subset]
    bonafide = [v[-1] for v in in_subset if v[0] == "bonafide" and matches(v, 0, True)]
    spoof = [v[-1] for v in in_subset if v[0] == "spoof" and matches(v, 0, False)]
    asv = {key: [] for key in ("target", "nontarget", "spoof")}
    for codec, trans, attack, label, asv_subset, score in asv_rows:
        values = (codec, trans, attack)
        if asv_subset == subset and matches(values, 1, label != "spoof"):
            asv[label].append(score)
    c0, c1, c2 = official_c012(asv["target"], asv["nontarget"], asv["spoof"])
    if not bonafide or not spoof:
        return None, c1
    min_tdcf = official_min_tdcf(bonafide, spoof, c0, c1, c2)
    eer = compute_eer(bonafide, spoof)[0]
    return {
        "eer": eer,
        "n_bonafide": len(bonafide),
        "n_spoof": len(spoof),
        "min_tdcf": None if np.isnan(min_tdcf) else float(min_tdcf),
    }, c1


def test_a_cell_whose_asv_is_worse_than_chance_has_min_tdcf_one(tmp_path, la_scores):
    # The eval trials of codec none: ten targets (0 .. .9) all below the non-targets (5 6). The
    # ASV DET reaches |frr - far| = 0 only after rejecting every target (frr 1, far 1): ASV
    # EER 1, threshold .9 (the largest rejected score); `>=` counts the target at .9 accepted:
    # Pmiss = 9/10, Pfa = 2/2; the spoof (9.5) is accepted: Pfa_spoof = 1. Hence
    # C0 = .9405 * .9 + .095 = .94145 and C1 = .9405 - C0 = -.00095 < 0: the official code
    # divides by C0 + C1 = .9405 and reaches its minimum, exactly 1, where the CM rejects all.
    rows = [row for row in ASV_ROWS if row[0] != "none"]
    rows += [("none", "-", "bonafide", "target", "eval", s / 10) for s in range(10)]
    rows += [("none", "-", "bonafide", "nontarget", "eval", s) for s in (5, 6)]
    rows += [("none", "-", "A07", "spoof", "eval", 9.5)]
    data_dir = write_data_dir(tmp_path / "data" / "la21", LA_TRIALS, LA_FACTORS)
    write_asv(data_dir / "asv2021", rows)
    asv = read_asv2021(data_dir / "asv2021")
    weights = Asv2021Weights(asv.select(asv.subset.mask("eval")))
    cell = weights.for_cell((("codec", "none"),), (("attack", "A07"), ("codec", "none")))
    coefficients = cell.coefficients
    assert (coefficients.c0, coefficients.c1, coefficients.c2) == pytest.approx(
        (0.94145, -0.00095, 0.5)
    )
    assert cell.asv_eer == 1.0
    metrics = evaluate(la_scores, data_dir)
    eval_figures = metrics["per_subset"]["eval"]
    attack_x_codec = eval_figures["conditions"]["attack_x_codec"]["cells"]
    assert attack_x_codec["A07"]["none"]["min_tdcf"] == 1.0
    assert eval_figures["conditions"]["codec_x_channel"]["cells"]["none"]["-"]["min_tdcf"] == 1.0
    # The other cells keep their figures (A07 x alaw as in test_2021_tdcf_in_metrics).
    assert attack_x_codec["A07"]["alaw"]["min_tdcf"] == pytest.approx(0.6575 / 1.22)


# --- a tiny 2021 DF set -------------------------------------------------------------------------

DF_FACTORS = ("attack", "codec", "vocoder")
TRAD, NEURAL = "traditional_vocoder", "neural_vocoder_autoregressive"
# utt -> (label, attack, codec, vocoder, score)
DF_TRIALS = {
    "DF_E_b1": ("bonafide", "bonafide", "nocodec", "bonafide", 2.0),
    "DF_E_b2": ("bonafide", "bonafide", "nocodec", "bonafide", 0.5),
    "DF_E_b3": ("bonafide", "bonafide", "low_mp3", "bonafide", 1.0),
    "DF_E_b4": ("bonafide", "bonafide", "low_mp3", "bonafide", 3.0),
    "DF_E_s1": ("spoof", "A09", "nocodec", TRAD, 0.0),
    "DF_E_s2": ("spoof", "SPO-N03", "nocodec", TRAD, 1.0),
    "DF_E_s3": ("spoof", "A09", "low_mp3", TRAD, 2.0),
    "DF_E_s4": ("spoof", "Task1-team20", "nocodec", NEURAL, -1.0),
}


def test_df_vocoder_by_codec_table(tmp_path):
    data_dir = write_data_dir(tmp_path / "data", DF_TRIALS, DF_FACTORS)
    scores = write_scores(tmp_path / "s.txt", {utt: v[-1] for utt, v in DF_TRIALS.items()})
    metrics = evaluate(scores, data_dir)
    assert set(metrics["conditions"]) == {"vocoder_x_codec"}  # no attack x codec for DF
    table = metrics["conditions"]["vocoder_x_codec"]
    assert table["row_labels"] == {TRAD: "Traditional", NEURAL: "Neural AR", "Pooled": "Pooled"}
    assert table["column_labels"] == {
        "nocodec": "C1 (nocodec)",
        "low_mp3": "C2 (low_mp3)",
        "Pooled": "Pooled",
    }
    cells = table["cells"]
    eers = {
        (row, column): None if cell is None else cell["eer"]
        for row in cells
        for column, cell in cells[row].items()
    }
    # Traditional x C1: bona fide 2 .5, spoof 0 1: 0s .5b 1s 2b -> k2 (.5, .5): EER .5.
    assert eers[TRAD, "nocodec"] == 0.5
    # Traditional x C2: bona fide 1 3, spoof 2: 1b 2s 3b -> |d| 1, .5 (k1: frr .5, far 1),
    # .5 (k2) -> the first: (.5 + 1) / 2 = .75.
    assert eers[TRAD, "low_mp3"] == 0.75
    # Neural AR x C1: -1s .5b 2b -> k1 (0, 0): EER 0. Neural AR x C2 has no spoof: absent.
    assert eers[NEURAL, "nocodec"] == 0.0
    assert eers[NEURAL, "low_mp3"] is None
    # Traditional x Pooled: every bona fide (2 .5 1 3) against 0 1 2; ties keep bona fide
    # first: 0s .5b 1b 1s 2b 2s 3b -> |d| 1, 2/3, 5/12, 1/6 (k3: frr 1/2, far 2/3) -> 7/12.
    assert eers[TRAD, "Pooled"] == pytest.approx(7 / 12)
    # Pooled x C1: bona fide 2 .5 against 0 1 -1: -1s 0s .5b 1s 2b -> k3 (1/2, 1/3): 5/12.
    assert eers["Pooled", "nocodec"] == pytest.approx(5 / 12)
    assert eers["Pooled", "Pooled"] == metrics["eer"]
    assert "per_subset" not in metrics and "min_tdcf" not in cells["Pooled"]["Pooled"]


def test_inconsistent_vocoder_file_is_refused(tmp_path):
    trials = dict(DF_TRIALS)
    trials["DF_E_b1"] = ("bonafide", "bonafide", "nocodec", TRAD, 2.0)
    data_dir = write_data_dir(tmp_path / "data", trials, DF_FACTORS)
    scores = write_scores(tmp_path / "s.txt", {utt: v[-1] for utt, v in trials.items()})
    with pytest.raises(
        TableError, match=f"utt2vocoder: vocoder '{TRAD}' of bonafide trial 'DF_E_b1'"
    ):
        evaluate(scores, data_dir)


def test_factor_file_with_other_utterances_is_refused(tmp_path):
    data_dir = write_data_dir(tmp_path / "data", DF_TRIALS, DF_FACTORS)
    write_table(data_dir / "utt2codec", {"DF_E_b1": "nocodec"})
    scores = write_scores(tmp_path / "s.txt", {utt: v[-1] for utt, v in DF_TRIALS.items()})
    with pytest.raises(TableError, match="utt2codec do not list the same utterances: 7"):
        evaluate(scores, data_dir)


def test_score_file_in_another_order(tmp_path):
    data_dir = write_data_dir(tmp_path / "data", DF_TRIALS, DF_FACTORS)
    shuffled = dict(reversed(DF_TRIALS.items()))
    in_order = evaluate(
        write_scores(tmp_path / "a.txt", {u: v[-1] for u, v in DF_TRIALS.items()}), data_dir
    )
    reordered = evaluate(
        write_scores(tmp_path / "b.txt", {u: v[-1] for u, v in shuffled.items()}), data_dir
    )
    for key in ("eer", "eer_negated", "per_attack", "conditions"):
        assert in_order[key] == reordered[key]


# --- reading the files --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a b\nc  d\n", ":2: expected 2 fields"),
        ("a b\nc\n", ":2: expected 2 fields"),
        ("a b\n\nc d\n", ":2: expected 2 fields"),
        ("a b\n c\n", ":2: empty field"),
        ("a b\r\nc d\n", ":1: carriage return"),
    ],
)
def test_read_columns_names_the_bad_line(tmp_path, text, message):
    path = tmp_path / "t.txt"
    path.write_bytes(text.encode())
    with pytest.raises(TableError, match=message):
        read_columns(path, 2)


def test_read_columns(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("a b c\nd e f")  # the last newline may be missing
    assert read_columns(path, 3) == [["a", "d"], ["b", "e"], ["c", "f"]]
    path.write_text("")
    assert read_columns(path, 2) == [[], []]


def test_data_dir_with_kaldi_spacing_still_reads(tmp_path, la_scores):
    data_dir = write_data_dir(tmp_path / "data", LA_TRIALS, LA_FACTORS)
    text = (data_dir / "utt2codec").read_text().replace(" ", "  ")
    (data_dir / "utt2codec").write_text(text)  # not the one-space layout: the general reader
    metrics = evaluate(la_scores, data_dir)
    assert (
        metrics["per_subset"]["eval"]["conditions"]["attack_x_codec"]["cells"]["A07"]["alaw"]["eer"]
        == 0.5
    )


@pytest.mark.parametrize(
    ("name", "old", "new", "count", "message"),
    [
        ("score.txt", "LA_E_1003-", "LA_E_1004-", 1, "score.txt:4: trial .* is not line 4"),
        ("score.txt", "", "LA_0001-x LA_E_9-x 1.0\n", 1, "has 22 lines but the ASV key .* 21"),
        ("trial_metadata.txt", "nontarget", "impostor", 1, ":4: ASV label 'impostor'"),
        ("score.txt", " 4\n", " nan\n", 1, "score.txt:3: score 'nan' is not a finite"),
        ("trial_metadata.txt", "notrim ", "", 1, "trial_metadata.txt:1: expected 8 fields"),
        ("trial_metadata.txt", " spoof ", " target ", -1, "no spoof trials"),
    ],
)
def test_bad_asv_files_are_refused(la_dir, la_scores, name, old, new, count, message):
    path = la_dir / "asv2021" / name
    path.write_text(path.read_text().replace(old, new, count))
    with pytest.raises(TableError, match=message):
        evaluate(la_scores, la_dir)


def test_one_tdcf_formulation_per_set(la_dir, la_scores):
    (la_dir / "asv_scores.txt").write_text("bonafide target 1\n")
    with pytest.raises(ValueError, match="one t-DCF formulation"):
        evaluate(la_scores, la_dir)


# --- entry points -------------------------------------------------------------------------------


def test_cli_on_a_2021_la_set(tmp_path, la_dir, la_scores, capsys):
    asv_dir = tmp_path / "elsewhere"
    (la_dir / "asv2021").rename(asv_dir)
    args = ["--scores", str(la_scores), "--data_dir", str(la_dir), "--asv2021_dir", str(asv_dir)]
    assert evaluate_cli.main(args) == 0
    metrics = json.loads((la_scores.parent / "metrics.json").read_text())
    assert metrics["asv_scores_file"] == str(asv_dir / "score.txt")
    assert (
        metrics["per_subset"]["eval"]["conditions"]["attack_x_codec"]["cells"]["A08"]["none"]
        is None
    )
    lines = capsys.readouterr().out.splitlines()
    eval_figures = metrics["per_subset"]["eval"]
    assert lines[1].startswith(
        f"eval subset (OFFICIAL ranking figure): EER {100 * eval_figures['eer']:.3f} %"
    )
    assert f"min t-DCF (2021) {eval_figures['min_tdcf']:.4f}" in lines[1]
    assert lines[2].startswith("progress subset: ")
    assert lines[3].startswith("all trials: EER ")
    assert lines[4].startswith(f"min t-DCF (2021) {metrics['min_tdcf']:.4f}")


def test_collect_results_renders_subsets_and_condition_tables(tmp_path, la_dir, capsys):
    exp_dir = tmp_path / "exp" / "lfcc_resnet"
    scores = {utt: v[-1] for utt, v in LA_TRIALS.items()}
    scores_file = write_scores(exp_dir / "la21" / "scores.txt", scores)
    assert evaluate_cli.main(["--scores", str(scores_file), "--data_dir", str(la_dir)]) == 0
    metrics = json.loads((exp_dir / "la21" / "metrics.json").read_text())
    out = tmp_path / "RESULTS.md"
    assert collect_results.main(["--out", str(out), str(exp_dir)]) == 0
    text = out.read_text()
    eval_figures = metrics["per_subset"]["eval"]
    official_row = (
        f"| lfcc_resnet | la21: **eval subset** | official | {100 * eval_figures['eer']:.3f} |"
    )
    assert official_row in text
    assert "| lfcc_resnet | la21: progress subset | subset |" in text
    assert "| lfcc_resnet | la21: all trials | all trials |" in text
    assert text.index("eval subset**") < text.index("progress subset") < text.index("all trials |")
    assert "the ASVspoof 2021 formulation" in text and "row marked official" in text
    assert "## EER (%) per attack x codec: la21, lfcc_resnet, eval subset (official)" in text
    assert "| attack | C1 (none) | C2 (alaw) | Pooled |" in text
    assert "| A07 | 100.00 | 50.00 | 66.67 |" in text
    assert "| A08 | – | 0.00 |" in text
    assert "## min t-DCF per attack x codec: la21, lfcc_resnet, eval subset (official)" in text
    a07_alaw = eval_figures["conditions"]["attack_x_codec"]["cells"]["A07"]["alaw"]["min_tdcf"]
    assert f"| A07 | 1.0000 | {a07_alaw:.4f} |" in text
    assert "## EER (%) per codec x channel: la21" in text
    assert math.isclose(a07_alaw, 0.6575 / 1.22)
    assert official_row in capsys.readouterr().out

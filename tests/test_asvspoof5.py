"""ASVspoof 5: the Track 1 figures against the official evaluation package, stage 1 on the
release's protocols (and the refusal of the phase-1 ones), the mini corpus's replica, and the
recipe's configs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from antispoof.corpora.asvspoof5 import parse_protocol, write_set
from antispoof.evaluation.calibration import Calibration
from antispoof.evaluation.evaluate import evaluate
from antispoof.evaluation.factors import POOLED

REPO = Path(__file__).resolve().parents[1]
REFERENCE = REPO / "tests" / "reference" / "asvspoof5"
GOLDEN = json.loads((REFERENCE / "asvspoof5_package_figures.json").read_text())
CASES = ("eval", "dev")
# llr = 1.0 * score + 0.0 is the score itself, to the bit: the package reads the submitted
# scores as LLRs, and with this calibration so does the evaluation here.
IDENTITY = Calibration(1.0, 0.0, "identity", 1, 1, 0.0)
PACKAGE_POOLED = "pooled"  # the package's name of a pooled row or column
FIGURES = ("min_dcf", "eer", "cllr", "act_dcf")


# --------------------------------------------------------------------------- official figures


def evaluate_case(case: str, tmp_path: Path) -> dict:
    """The case's protocol through stage 1's tables, its package score file as scores.txt, and
    the evaluation of stage 5 with the scores taken as LLRs."""
    trials = parse_protocol(REFERENCE / f"{case}.tsv")
    write_set(tmp_path / "data", trials, tmp_path / "flac")
    rows = (REFERENCE / f"{case}.scores.tsv").read_text().splitlines()
    assert rows[0] == "filename\tcm-score"
    scores = tmp_path / "scores.txt"
    scores.write_text("".join(f"{row}\n" for row in rows[1:]))
    return evaluate(scores, tmp_path / "data", calibration=IDENTITY)


@pytest.mark.parametrize("case", CASES)
def test_the_package_read_the_same_trials(case):
    """The key files the golden figures were computed from say what the protocol says."""
    trials = parse_protocol(REFERENCE / f"{case}.tsv")
    keys = (REFERENCE / f"{case}.keys.tsv").read_text().splitlines()
    assert keys[0] == "filename\tcm-label"
    assert [line.split("\t") for line in keys[1:]] == [[t.utt, t.label] for t in trials]
    full = [line.split() for line in (REFERENCE / f"{case}.full_keys.txt").read_text().splitlines()]
    header = full[0]
    column = {name: header.index(name) for name in ("trial_anon", "codec", "attack_anon")}
    assert header[8] == "cm-label"
    assert [[row[column[n]] for n in column] + [row[8]] for row in full[1:]] == [
        [t.utt, t.codec, t.attack, t.label] for t in trials
    ]
    scored = (REFERENCE / f"{case}.scores.tsv").read_text().splitlines()[1:]
    # In file-name order, the order of the score files stage 4 writes.
    assert [line.split("\t")[0] for line in scored] == sorted(t.utt for t in trials)


@pytest.mark.parametrize("case", CASES)
def test_pooled_figures_are_bit_identical_to_the_package(case, tmp_path):
    metrics = evaluate_case(case, tmp_path)
    assert {figure: metrics[figure] for figure in FIGURES} == GOLDEN[case]["pooled"]


@pytest.mark.parametrize("case", CASES)
def test_every_attack_x_codec_cell_is_bit_identical_to_the_package(case, tmp_path):
    """The package's full evaluation per attack (rows) and codec (columns), with its pooled row
    and column; a cell it leaves NaN (a class missing) is null here."""
    table = evaluate_case(case, tmp_path)["conditions"]["attack_x_codec"]
    golden = GOLDEN[case]["full"]

    def ours(name: str) -> str:
        return POOLED if name == PACKAGE_POOLED else name

    assert set(table["cells"]) == {ours(attack) for attack in golden["attacks"]}
    assert set(table["column_labels"]) == {ours(codec) for codec in golden["codecs"]}
    n_null = 0
    for i, attack in enumerate(golden["attacks"]):
        for j, codec in enumerate(golden["codecs"]):
            cell = table["cells"][ours(attack)][ours(codec)]
            expected = {figure: golden[figure][i][j] for figure in FIGURES}
            if expected["eer"] is None:
                assert cell is None, (attack, codec)
                n_null += 1
            else:
                assert {figure: cell[figure] for figure in FIGURES} == expected, (attack, codec)
    # The eval case has empty cells (C11 has no bona fide trial, A32 no coded one).
    assert n_null > 0 if case == "eval" else n_null == 0


def test_cells_have_actdcf_and_cllr_only_through_a_calibration(tmp_path):
    trials = parse_protocol(REFERENCE / "dev.tsv")
    write_set(tmp_path / "data", trials, tmp_path / "flac")
    rows = (REFERENCE / "dev.scores.tsv").read_text().splitlines()[1:]
    (tmp_path / "scores.txt").write_text("".join(f"{row}\n" for row in rows))
    metrics = evaluate(tmp_path / "scores.txt", tmp_path / "data")
    cell = metrics["conditions"]["attack_x_codec"]["cells"]["A09"][POOLED]
    assert set(cell) == {"eer", "min_dcf", "n_bonafide", "n_spoof"}

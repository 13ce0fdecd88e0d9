"""Writes tests/reference/asvspoof5/: test cases in the file formats of the official ASVspoof 5
evaluation package, and the figures the package computes on them. Not part of the test suite
(the package needs pandas, which the project does not); run it in a separate environment with
the package's source:

    git clone https://github.com/asvspoof-challenge/asvspoof5 /tmp/asvspoof5   # fe23d30
    python3 -m venv /tmp/asvspoof5_venv && /tmp/asvspoof5_venv/bin/pip install numpy pandas
    /tmp/asvspoof5_venv/bin/python tests/reference/make_asvspoof5_reference.py \
        /tmp/asvspoof5/evaluation-package

Each case `<case>` is a Track 1 protocol in the release's format and a system's scores:

    <case>.tsv             10 fields a line, as ASVspoof5.eval.track_1.tsv (what stage 1 reads)
    <case>.scores.tsv      `filename<TAB>cm-score` with that header (the package's score file)
    <case>.keys.tsv        `filename<TAB>cm-label` with that header (its Track 1 key)
    <case>.full_keys.txt   the protocol's columns under a header naming them as util.py's
                           `load_full_keys` reads them (trial_anon, codec, attack_anon, cm-label)

The figures (asvspoof5_package_figures.json) are what `evaluation.py --m t1` computes
(`util.load_cm_scores_keys` then `calculate_minDCF_EER_CLLR_actDCF`) and what
`evaluation_full.py --m t1` computes per attack and codec (`util.load_cm_scores_keys_as_pd`
then `calculate_minDCF_EER_CLLR_actDCF_full`), taken before the package rounds them for
printing; floats are written as Python writes them (repr, which reads back to the same
double), the package's NaN (a cell without one of the classes) as null.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

OUT = Path(__file__).with_name("asvspoof5")
CODECS = ("-", *(f"C{n:02d}" for n in range(1, 12)))
CM_PHASE_ATTACKS = {
    "dev": [f"A{n:02d}" for n in range(9, 17)],
    "eval": [f"A{n:02d}" for n in range(17, 33)],
}


def eval_case(rng: np.random.Generator) -> tuple[list[str], list[str]]:
    """600 eval-like trials: every codec condition, attacks A17-A32 (A32 only uncoded), scores
    as LLRs of three decimals (some tied), a few far beyond the threshold; no bona fide trial
    under C11, so that codec's cells have no figures."""
    lines, scores = [], []
    for index in range(600):
        utt = f"E_{index * 37 + 1000:010d}"
        speaker = f"E_{rng.integers(1, 60):04d}"
        gender = "FM"[rng.integers(2)]
        bonafide = rng.random() < 0.25
        codec = CODECS[0] if rng.random() < 0.25 else CODECS[rng.integers(1, 12)]
        attack = "bonafide" if bonafide else CM_PHASE_ATTACKS["eval"][rng.integers(16)]
        if bonafide and codec == "C11":
            codec = "C10"
        if attack == "A32":
            codec = "-"
        codec_q = "0" if codec == "-" else str(rng.integers(1, 9 if codec == "C11" else 6))
        seed = "-" if codec == "-" else f"E_{rng.integers(0, 10**9):010d}"
        tag = "-" if bonafide else f"AC{rng.integers(1, 4)}"
        key = "bonafide" if bonafide else "spoof"
        lines.append(f"{speaker} {utt} {gender} {codec} {codec_q} {seed} {tag} {attack} {key} -")
        if bonafide:
            llr = rng.normal(1.5, 2.5)
        else:
            shift = 0.15 * (int(attack[1:]) - 17) + (1.0 if codec in ("C04", "C07") else 0.0)
            llr = rng.normal(-2.5 + shift, 2.5)
        if rng.random() < 0.02:
            llr = float(np.sign(llr) * rng.uniform(40.0, 60.0))
        scores.append(f"{llr:.3f}")
    return lines, scores


def dev_case(rng: np.random.Generator) -> tuple[list[str], list[str]]:
    """300 dev-like trials (uncoded, attacks A09-A16) with scores of one decimal: many ties
    between the classes, and every A16 trial scored 0.0 like some bona fide ones, where the
    package's stable sort decides the EER."""
    lines, scores = [], []
    for index in range(300):
        utt = f"D_{index * 53 + 169:010d}"
        speaker = f"D_{rng.integers(1, 40):04d}"
        bonafide = rng.random() < 0.3
        attack = "bonafide" if bonafide else CM_PHASE_ATTACKS["dev"][rng.integers(8)]
        tag = "-" if bonafide else f"AC{rng.integers(1, 4)}"
        key = "bonafide" if bonafide else "spoof"
        gender = "FM"[rng.integers(2)]
        lines.append(f"{speaker} {utt} {gender} - - - {tag} {attack} {key} -")
        if attack == "A16" or (bonafide and rng.random() < 0.1):
            value = 0.0
        else:
            value = rng.normal(1.0 if bonafide else -1.0, 1.5)
        scores.append(f"{value:.1f}")
    return lines, scores


def write_case(name: str, lines: list[str], scores: list[str]) -> None:
    """The protocol, and the package's score, key and full-key files; trials in file-name order
    (the order of the score files stage 4 writes)."""
    rows = sorted(zip(lines, scores, strict=True), key=lambda row: row[0].split()[1])
    (OUT / f"{name}.tsv").write_text("".join(f"{line}\n" for line, _ in rows))
    fields = [line.split() for line, _ in rows]
    score_lines = [f"{f[1]}\t{score}" for f, (_, score) in zip(fields, rows, strict=True)]
    (OUT / f"{name}.scores.tsv").write_text("filename\tcm-score\n" + "\n".join(score_lines) + "\n")
    key_lines = [f"{f[1]}\t{f[8]}" for f in fields]
    (OUT / f"{name}.keys.tsv").write_text("filename\tcm-label\n" + "\n".join(key_lines) + "\n")
    header = "spk trial_anon gender codec codec_q codec_seed attack_tag attack_anon cm-label tmp"
    full = [" ".join(f) for f in fields]
    (OUT / f"{name}.full_keys.txt").write_text(header + "\n" + "\n".join(full) + "\n")


def figures(package: Path, name: str) -> dict:
    sys.path.insert(0, str(package))
    import util
    from calculate_metrics import calculate_minDCF_EER_CLLR_actDCF
    from calculate_metrics_full import calculate_minDCF_EER_CLLR_actDCF_full

    scores_file = OUT / f"{name}.scores.tsv"
    cm_scores, cm_keys = util.load_cm_scores_keys(scores_file, OUT / f"{name}.keys.tsv")
    # The scores the package read are the doubles Python reads from the same text, so the
    # project's reader (float()) sees the same inputs.
    texts = [line.split("\t")[1] for line in scores_file.read_text().splitlines()[1:]]
    assert sorted(cm_scores.tolist()) == sorted(float(text) for text in texts)
    min_dcf, eer, cllr, act_dcf = calculate_minDCF_EER_CLLR_actDCF(
        cm_scores=cm_scores, cm_keys=cm_keys, output_file="", printout=False
    )
    table = util.load_cm_scores_keys_as_pd(scores_file, OUT / f"{name}.full_keys.txt")
    attacks, codecs, *matrices = calculate_minDCF_EER_CLLR_actDCF_full(table)

    def cells(matrix: np.ndarray) -> list[list[float | None]]:
        return [[None if np.isnan(v) else float(v) for v in row] for row in matrix]

    return {
        "pooled": {
            "min_dcf": float(min_dcf),
            "eer": float(eer),
            "cllr": float(cllr),
            "act_dcf": float(act_dcf),
        },
        "full": {
            "attacks": list(attacks),
            "codecs": list(codecs),
            **{
                figure: cells(matrix)
                for figure, matrix in zip(
                    ("min_dcf", "eer", "cllr", "act_dcf"), matrices, strict=True
                )
            },
        },
    }


if __name__ == "__main__":
    package = Path(sys.argv[1])
    OUT.mkdir(exist_ok=True)
    rng = np.random.default_rng(20240815)
    write_case("eval", *eval_case(rng))
    write_case("dev", *dev_case(rng))
    golden = {name: figures(package, name) for name in ("eval", "dev")}
    import pandas

    golden["package"] = (
        f"asvspoof-challenge/asvspoof5 @fe23d30 evaluation-package/, run with numpy "
        f"{np.__version__} and pandas {pandas.__version__}"
    )
    out = OUT / "asvspoof5_package_figures.json"
    out.write_text(json.dumps(golden, indent=1) + "\n")
    print(out)

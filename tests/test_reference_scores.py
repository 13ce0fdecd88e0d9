"""The evaluation reproduces published figures from real, released score files.

The files and the figures they give are described in `tests/reference/README.md`. Each file is
turned into a data directory and a score file, then evaluated by the real `evaluate`.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from antispoof.evaluation.evaluate import evaluate

REFERENCE_DIR = Path(__file__).resolve().parent / "reference"
ASV_SCORES = "ASVspoof2019.LA.asv.eval.gi.trl.scores.txt.gz"
LA19 = "la19_eval_lfcc_resnet18_{}.scores.txt.gz"
ITW = "itw_lfcc_resnet18_{}_100ep.scores.txt.gz"


def read_la19(path: Path) -> list[tuple[str, str, str, str]]:
    """`utt attack key score` (attack A00 = bona fide) -> (utt, label, attack, score)."""
    with gzip.open(path, "rt") as handle:
        rows = [line.split() for line in handle]
    return [
        (utt, key, "bonafide" if key == "bonafide" else attack, score)
        for utt, attack, key, score in rows
    ]


def read_itw(path: Path) -> list[tuple[str, str, str, str]]:
    """`N label score` for clip `N.wav`; one file spells bona fide `bona-fide`."""
    with gzip.open(path, "rt") as handle:
        rows = [line.split() for line in handle]
    labels = {"bona-fide": "bonafide", "bonafide": "bonafide", "spoof": "spoof"}
    return [(utt, labels[label], labels[label], score) for utt, label, score in rows]


def write_data_dir(trials: list[tuple[str, str, str, str]], root: Path) -> tuple[Path, Path]:
    """A data directory (dummy wav paths, utt2spk utt -> utt) and a `<utt> <score>` file."""
    trials = sorted(trials, key=lambda trial: trial[0].encode())  # LC_ALL=C order
    data_dir = root / "data"
    data_dir.mkdir(parents=True)
    columns = {
        "wav.scp": lambda utt, label, attack: f"/nonexistent/{utt}.wav",
        "utt2spk": lambda utt, label, attack: utt,
        "spk2utt": lambda utt, label, attack: utt,
        "utt2label": lambda utt, label, attack: label,
        "utt2attack": lambda utt, label, attack: attack,
    }
    for name, value in columns.items():
        lines = (f"{utt} {value(utt, label, attack)}\n" for utt, label, attack, _ in trials)
        (data_dir / name).write_text("".join(lines))
    scores = root / "scores.txt"
    scores.write_text("".join(f"{utt} {score}\n" for utt, _, _, score in trials))
    return data_dir, scores


@pytest.fixture(scope="module")
def asv_scores(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("asv") / "asv_scores.txt"
    path.write_bytes(gzip.decompress((REFERENCE_DIR / ASV_SCORES).read_bytes()))
    return path


@pytest.fixture(scope="module")
def la19_metrics(asv_scores, tmp_path_factory):
    metrics = {}
    for system in ("ocsoftmax", "softmax", "amsoftmax"):
        trials = read_la19(REFERENCE_DIR / LA19.format(system))
        data_dir, scores = write_data_dir(trials, tmp_path_factory.mktemp(f"la19_{system}"))
        metrics[system] = evaluate(scores, data_dir, asv_scores)
    return metrics


@pytest.mark.parametrize(
    ("system", "eer", "eer_negated", "tdcf_key", "min_tdcf"),
    [
        # The released OC-Softmax file scores bona fide low: its better polarity is negated.
        ("ocsoftmax", 97.822, 2.178, "min_tdcf_negated", 0.0558),
        ("softmax", 5.058, 94.942, "min_tdcf", 0.1208),
        ("amsoftmax", 3.165, 96.835, "min_tdcf", 0.0771),
    ],
)
def test_la19_figures(la19_metrics, system, eer, eer_negated, tdcf_key, min_tdcf):
    metrics = la19_metrics[system]
    assert (metrics["n_bonafide"], metrics["n_spoof"]) == (7355, 63882)
    assert round(100 * metrics["eer"], 3) == eer
    assert round(100 * metrics["eer_negated"], 3) == eer_negated
    assert metrics["polarity_warning"] == (eer_negated < eer)
    assert round(metrics[tdcf_key], 4) == min_tdcf
    assert metrics[tdcf_key] == min(metrics["min_tdcf"], metrics["min_tdcf_negated"])
    assert round(100 * metrics["asv_eer"], 3) == 2.458
    # C1, C2 as recomputed in docs/research/papers.md §C.
    assert (round(metrics["tdcf_C1"], 4), round(metrics["tdcf_C2"], 4)) == (0.9150, 0.3803)


def test_la19_ocsoftmax_per_attack(la19_metrics):
    per_attack = la19_metrics["ocsoftmax"]["per_attack"]
    assert sorted(per_attack) == [f"A{number:02d}" for number in range(7, 20)]
    assert all(figures["n_spoof"] == 4914 for figures in per_attack.values())
    # OC-Softmax per-attack EERs (docs/research/papers.md §C), of the negated (released) scores.
    assert round(100 * per_attack["A17"]["eer_negated"], 2) == 9.18
    assert round(100 * per_attack["A07"]["eer_negated"], 2) == 0.12


@pytest.mark.parametrize(
    ("system", "eer", "eer_negated"),
    [("ocsoftmax", 71.834, 28.166), ("softmax", 65.700, 34.300)],
)
def test_in_the_wild_figures(tmp_path, system, eer, eer_negated):
    data_dir, scores = write_data_dir(read_itw(REFERENCE_DIR / ITW.format(system)), tmp_path)
    metrics = evaluate(scores, data_dir)
    assert (metrics["n_bonafide"], metrics["n_spoof"]) == (19963, 11816)
    assert round(100 * metrics["eer"], 3) == eer
    assert round(100 * metrics["eer_negated"], 3) == eer_negated
    assert metrics["polarity_warning"] is True

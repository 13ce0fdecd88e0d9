"""Each 2021 trial is scored once: the recipes score the full key (`la21_full`, `df21_full`) and
evaluate every official subset (`eval`, `progress`, `hidden`) from those scores. The figures of a
subset (EERs, the ASVspoof 5 figures through a calibration, the 2021 min t-DCF with the ASV
trials of that subset, the codec x channel or vocoder x codec tables) are bit for bit those of
scoring the subset alone, as its own data directory: the 2021 LA replica here (a format-exact
key with its ASV files) and the mini corpus's 2021 DF replica, prepared by stage 1's code."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from antispoof.corpora.asvspoof2021 import (
    ASV_DIR,
    LA_ASV_KEY,
    LA_ASV_SCORES,
    LA_AUDIO,
    LA_KEY,
    copy_asv_files,
    prepare_df,
    prepare_la,
)
from antispoof.corpora.df_training_split import SplitSizes
from antispoof.data.datadir import validate_data_dir
from antispoof.data.kaldi_files import read_table, write_table
from antispoof.evaluation.calibration import Calibration
from antispoof.evaluation.evaluate import evaluate

SUBSETS = ("eval", "progress", "hidden")
CODECS = {"none": "-", "alaw": "ita_tx", "pstn": "mad_tx", "g722": "loc_tx", "opus": "sin_tx"}
ATTACKS = ("A07", "A13", "A19")
# An affine calibration (what stage 5 fits on dev), so that actDCF and Cllr are compared too.
CALIBRATION = Calibration(
    scale=1.3, offset=-0.4, fitted_on="data/dev", n_bonafide=10, n_spoof=40, eer_threshold=0.2
)


def la_replica(root: Path, trials: int, seed: int) -> Path:
    """A 2021 LA corpus root in the official layout: the CM key over every codec and channel,
    subset and attack, the ASV key and scores line-aligned, and (empty) audio files."""
    rng = np.random.default_rng(seed)
    cm, asv_key, asv_scores = [], [], []
    for n in range(trials):
        codec = list(CODECS)[n % len(CODECS)]
        channel = CODECS[codec]
        subset = SUBSETS[(n // len(CODECS)) % len(SUBSETS)]
        utt, speaker = f"LA_E_{1000000 + 37 * n}", f"LA_{n % 11:04d}"
        if n % 4 == 0:
            cm.append(f"{speaker} {utt} {codec} {channel} bonafide bonafide notrim {subset}")
        else:
            attack = ATTACKS[n % len(ATTACKS)]
            cm.append(f"{speaker} {utt} {codec} {channel} {attack} spoof notrim {subset}")
        # The ASV trials of the same cell: target, nontarget and spoof, with scores to match.
        for kind, attack, centre in (
            ("target", "bonafide", 6.0),
            ("nontarget", "bonafide", -4.0),
            ("spoof", ATTACKS[n % len(ATTACKS)], 2.0),
        ):
            ids = f"{speaker}-{codec}-{channel} LA_E_{5000000 + 3 * n + len(asv_key) % 3}"
            asv_key.append(f"{ids} {codec} {channel} {attack} {kind} notrim {subset}")
            asv_scores.append(f"{ids} {centre + rng.normal(0, 3):.3f}")
    for relative, lines in ((LA_KEY, cm), (LA_ASV_KEY, asv_key), (LA_ASV_SCORES, asv_scores)):
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text("".join(f"{line}\n" for line in lines))
    audio = root / LA_AUDIO
    audio.mkdir(parents=True)
    for line in cm:
        (audio / f"{line.split()[1]}.flac").touch()
    return root


def subset_dir(full: Path, out: Path, subset: str, asv_root: Path | None) -> Path:
    """The trials of one subset of `full` as a data directory of their own (what a recipe would
    score alone), with the ASV files of that subset for LA."""
    keep = {utt for utt, value in read_table(full / "utt2subset").items() if value == subset}
    out.mkdir(parents=True)
    for table in full.iterdir():
        if table.is_file() and table.name != "spk2utt":
            rows = read_table(table)
            write_table(out / table.name, {utt: rows[utt] for utt in sorted(keep)})
    spk2utt: dict[str, list[str]] = {}
    for utt, speaker in read_table(out / "utt2spk").items():
        spk2utt.setdefault(speaker, []).append(utt)
    write_table(out / "spk2utt", {spk: " ".join(utts) for spk, utts in spk2utt.items()})
    if asv_root is not None:
        copy_asv_files(asv_root / LA_ASV_KEY, asv_root / LA_ASV_SCORES, out / ASV_DIR, subset)
    validate_data_dir(out)
    return out


def write_scores(path: Path, scores: dict[str, float]) -> Path:
    path.write_text("".join(f"{utt} {score}\n" for utt, score in scores.items()))
    return path


def random_scores(data_dir: Path, seed: int) -> dict[str, float]:
    """Scores on a coarse grid (many ties, as real detectors give) that separate the classes
    imperfectly."""
    rng = np.random.default_rng(seed)
    labels = read_table(data_dir / "utt2label")
    return {
        utt: round(float(rng.normal(1.0 if label == "bonafide" else -1.0, 1.5)), 1)
        for utt, label in labels.items()
    }


def canonical(value) -> str:
    """Exact comparison of nested figures: JSON keeps every float's shortest repr."""
    return json.dumps(value, sort_keys=True)


def assert_subsets_equal_their_own_evaluation(
    tmp_path: Path, full: Path, official: Path, asv_root: Path | None
) -> list[str]:
    """Compares every subset of `full` having both classes; returns their names."""
    scores = random_scores(full, seed=7)
    whole = evaluate(write_scores(tmp_path / "full.txt", scores), full, calibration=CALIBRATION)
    assert set(whole["per_subset"]) == set(SUBSETS)
    compared = []
    for subset in SUBSETS:
        # eval: stage 1's own data directory of the official subset; the others cut here.
        alone_dir = official if subset == "eval" else None
        if alone_dir is None:
            alone_dir = subset_dir(full, tmp_path / f"{full.name}_{subset}", subset, asv_root)
        kept = read_table(alone_dir / "utt2label")
        figures = whole["per_subset"][subset]
        if figures is None:  # a subset of one class has no figures, whole or alone
            assert len(set(kept.values())) == 1, subset
            with pytest.raises(ValueError, match="needs both classes"):
                evaluate(write_scores(tmp_path / "one.txt", {u: 0.0 for u in kept}), alone_dir)
            continue
        compared.append(subset)
        alone_scores = write_scores(
            tmp_path / f"{subset}.txt", {utt: scores[utt] for utt in sorted(kept)}
        )
        alone = evaluate(alone_scores, alone_dir, calibration=CALIBRATION)
        assert figures["n_bonafide"] + figures["n_spoof"] == len(kept)
        for key, value in figures.items():
            assert canonical(alone[key]) == canonical(value), f"{subset}: {key}"
        # Every figure a subset has, including its condition tables and the t-DCF.
        assert {"eer", "eer_negated", "min_dcf", "act_dcf", "cllr", "conditions"} <= set(figures)
    assert "eval" in compared
    return compared


def test_la_subsets_from_the_full_key_equal_each_subset_scored_alone(tmp_path):
    root = la_replica(tmp_path / "LA", trials=300, seed=3)
    data = tmp_path / "data"
    counts = prepare_la(root, data)
    assert counts["la21_eval"] < counts["la21_full"] == 300
    compared = assert_subsets_equal_their_own_evaluation(
        tmp_path, data / "la21_full", data / "la21_eval", asv_root=root
    )
    assert compared == list(SUBSETS)
    # The t-DCF is among the figures compared: every subset has one.
    full_scores = write_scores(tmp_path / "x.txt", random_scores(data / "la21_full", 1))
    whole = evaluate(full_scores, data / "la21_full")
    assert all(whole["per_subset"][subset]["min_tdcf"] is not None for subset in SUBSETS)


def test_df_subsets_from_the_full_key_equal_each_subset_scored_alone(tmp_path, mini_corpus):
    data = tmp_path / "data"
    prepare_df(mini_corpus / "df21", data, SplitSizes(40, 20), seed=1)
    assert_subsets_equal_their_own_evaluation(
        tmp_path, data / "df21_full", data / "df21_eval", asv_root=None
    )


@pytest.mark.parametrize("recipe", ["asvspoof2021_la", "asvspoof2021_df"])
def test_the_2021_recipes_score_the_full_key_once(recipe):
    """The default test sets hold the full key and not its eval subset beside it."""
    run = (Path(__file__).resolve().parents[1] / "egs" / recipe / "run.sh").read_text()
    prefix = recipe.split("_")[1] + "21"
    assert f'--test_sets "dev {prefix}_full"' in run

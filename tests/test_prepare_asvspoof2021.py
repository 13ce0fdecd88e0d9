"""Stage 1 for ASVspoof 2021 LA and DF, and the DF training split, on tiny format-exact keys."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from antispoof.corpora.asvspoof2019 import ProtocolError
from antispoof.corpora.asvspoof2021 import (
    copy_asv_files,
    parse_df_key,
    parse_la_key,
    prepare_df,
    prepare_la,
)
from antispoof.corpora.df_training_split import SplitSizes, draw_training_split
from antispoof.data.datadir import validate_data_dir
from antispoof.data.kaldi_files import read_table

REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}

# The first line and the two bona fide lines are the examples of docs/research/corpora.md §2.3.
LA_KEY = """\
LA_0009 LA_E_9332881 alaw ita_tx A07 spoof notrim eval
LA_0021 LA_E_7310647 none - bonafide bonafide only_speech hidden
LA_0021 LA_E_8256205 pstn mad_tx bonafide bonafide only_speech hidden
LA_0013 LA_E_1000048 none - bonafide bonafide notrim eval
LA_0013 LA_E_2834763 g722 loc_tx A19 spoof notrim progress
LA_0009 LA_E_5013670 opus sin_tx bonafide bonafide notrim eval
LA_0021 LA_E_9999987 none - A13 spoof notrim eval
"""
# The first line is the example of issue asvspoof-challenge/2021#36.
LA_ASV_KEY = """\
LA_0007-alaw-ita_tx LA_E_5013670-alaw-ita_tx alaw ita_tx bonafide nontarget notrim eval
LA_0009-alaw-ita_tx LA_E_9332881-alaw-ita_tx alaw ita_tx A07 spoof notrim eval
LA_0021-pstn-mad_tx LA_E_8256205-pstn-mad_tx pstn mad_tx bonafide target only_speech hidden
LA_0013-g722-loc_tx LA_E_2834763-g722-loc_tx g722 loc_tx A19 spoof notrim progress
LA_0009-opus-sin_tx LA_E_5013671-opus-sin_tx opus sin_tx bonafide target notrim eval
"""
LA_ASV_SCORES = "".join(
    f"{' '.join(line.split()[:2])} {score}\n"
    for line, score in zip(LA_ASV_KEY.splitlines(), (-9.836706, 1.5, 12.25, 0.5, 8.0), strict=True)
)
# The spoof lines are the examples of docs/research/corpora.md §3.3; the bona fide ones carry `-`
# or `bonafide` in the attack column.
DF_KEY = """\
LA_0023 DF_E_2000011 nocodec asvspoof A14 spoof notrim progress traditional_vocoder - - - -
TEF2 DF_E_2000013 low_m4a vcc2020 Task1-team20 spoof notrim eval \
neural_vocoder_nonautoregressive Task1 team20 FF E
TGF1 DF_E_2000024 mp3m4a vcc2020 Task2-team12 spoof notrim eval \
traditional_vocoder Task2 team12 FF G
VCC2TM2 DF_E_4999945 oggm4a vcc2018 SPO-N16 spoof notrim eval traditional_vocoder SPO N16 FM -
LA_0044 DF_E_4999962 oggm4a asvspoof A19 spoof trim hidden traditional_vocoder - - - -
LA_0031 DF_E_2000040 low_mp3 asvspoof - bonafide notrim eval bonafide - - - -
VCC2SF3 DF_E_3000017 high_ogg vcc2018 bonafide bonafide notrim eval bonafide - - - -
LA_0044 DF_E_3500002 nocodec asvspoof - bonafide trim hidden bonafide - - - -
"""
DF_SETS = ("full", "eval", "train", "dev", "full_heldout", "eval_heldout")


def make_db(
    root: Path, key_path: str, key: str, audio: str, extra: dict[str, str] | None = None
) -> Path:
    """A corpus root: the key, an empty stand-in audio file per trial (and one more), `extra`."""
    (root / key_path).parent.mkdir(parents=True, exist_ok=True)
    (root / key_path).write_text(key)
    (root / audio).mkdir(parents=True)
    for line in key.splitlines():
        (root / audio / f"{line.split()[1]}.flac").touch()
    (root / audio / "not_a_trial.flac").touch()  # wav.scp comes from the key, not the folder
    for path, text in (extra or {}).items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    return root


def la_db(root: Path) -> Path:
    asv = {
        "keys/LA/ASV/trial_metadata.txt": LA_ASV_KEY,
        "keys/LA/ASV/ASVTorch_Kaldi/score.txt": LA_ASV_SCORES,
    }
    return make_db(root, "keys/LA/CM/trial_metadata.txt", LA_KEY, "ASVspoof2021_LA_eval/flac", asv)


def df_db(root: Path, key: str = DF_KEY) -> Path:
    return make_db(root, "keys/DF/CM/trial_metadata.txt", key, "ASVspoof2021_DF_eval/flac")


def run_script(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(REPO / script), *args], env=ENV, capture_output=True, text=True, timeout=60
    )


def tables(data_dir: Path) -> dict[str, dict[str, str]]:
    return {path.name: read_table(path) for path in data_dir.iterdir() if path.is_file()}


# ---------------------------------------------------------------------------------------------
# LA


def test_la_data_dirs_hold_the_key_and_its_eval_subset(tmp_path):
    db = la_db(tmp_path / "db")
    result = run_script("local/asvspoof2021_la/prepare_data.sh", str(db), str(tmp_path / "data"))
    assert result.returncode == 0, result.stderr
    audio = (db / "ASVspoof2021_LA_eval/flac").resolve()
    key = [line.split() for line in LA_KEY.splitlines()]
    for name, subsets in (("la21_full", {"eval", "progress", "hidden"}), ("la21_eval", {"eval"})):
        data_dir = tmp_path / "data" / name
        validate_data_dir(data_dir, check_audio_exists=True)
        got = tables(data_dir)
        assert set(got) == {
            "wav.scp",
            "utt2spk",
            "spk2utt",
            "utt2label",
            "utt2attack",
            "utt2codec",
            "utt2channel",
            "utt2subset",
        }
        trials = [fields for fields in key if fields[7] in subsets]
        assert sorted(got["wav.scp"]) == sorted(fields[1] for fields in trials)
        for speaker, utt, codec, channel, attack, label, _, subset in trials:
            assert got["wav.scp"][utt] == f"{audio}/{utt}.flac"
            assert got["utt2spk"][utt] == speaker
            assert got["utt2label"][utt] == label
            assert got["utt2attack"][utt] == attack
            assert got["utt2codec"][utt] == codec
            assert got["utt2channel"][utt] == channel
            assert got["utt2subset"][utt] == subset
    eval_dir = tmp_path / "data/la21_eval"
    assert read_table(eval_dir / "utt2channel")["LA_E_9999987"] == "-"  # codec none
    assert read_table(eval_dir / "utt2codec")["LA_E_9999987"] == "none"


def test_la_asv_files_are_copied_whole_and_restricted_to_eval(tmp_path):
    db = la_db(tmp_path / "db")
    prepare_la(db, tmp_path / "data")
    full = tmp_path / "data/la21_full/asv2021"
    assert (full / "trial_metadata.txt").read_text() == LA_ASV_KEY
    assert (full / "score.txt").read_text() == LA_ASV_SCORES
    keep = [i for i, line in enumerate(LA_ASV_KEY.splitlines()) if line.endswith(" eval")]
    assert keep == [0, 1, 4]
    evaluation = tmp_path / "data/la21_eval/asv2021"
    assert (evaluation / "trial_metadata.txt").read_text().splitlines() == [
        LA_ASV_KEY.splitlines()[i] for i in keep
    ]
    assert (evaluation / "score.txt").read_text().splitlines() == [
        LA_ASV_SCORES.splitlines()[i] for i in keep
    ]


def test_la_asv_scores_must_be_line_aligned_with_the_asv_key(tmp_path):
    key, scores = tmp_path / "trial_metadata.txt", tmp_path / "score.txt"
    key.write_text(LA_ASV_KEY)
    lines = LA_ASV_SCORES.splitlines(keepends=True)
    scores.write_text("".join([lines[0], lines[2], lines[1], *lines[3:]]))
    with pytest.raises(ProtocolError, match=r"score.txt:2: expected the trial of .*:2"):
        copy_asv_files(key, scores, tmp_path / "out", "eval")
    scores.write_text("".join(lines[:-1]))
    with pytest.raises(ProtocolError, match=r"trial_metadata.txt:5: .*score.txt has only 4 lines"):
        copy_asv_files(key, scores, tmp_path / "out", None)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("LA_0009 LA_E_1 alaw ita_tx A07 spoof notrim", "expected 8 fields .as on line 1., got 7"),
        ("LA_0009 LA_E_1 alaw ita_tx A07 bonafid notrim eval", "label 'bonafid'"),
        ("LA_0009 LA_E_1 alaw ita_tx - spoof notrim eval", "spoof trial without an attack id"),
        ("LA_0009 LA_E_1 alaw ita_tx A07 spoof notrim dev", "subset 'dev'"),
        ("LA_0009 LA_E_0 alaw ita_tx A07 spoof notrim eval", "trial LA_E_0 already listed on l"),
    ],
)
def test_malformed_la_key_lines_are_named_by_file_and_line(tmp_path, line, message):
    key = tmp_path / "key.txt"
    key.write_text(f"LA_0009 LA_E_0 none - bonafide bonafide notrim eval\n{line}\n")
    with pytest.raises(ProtocolError, match=rf"key.txt:2: {message}"):
        parse_la_key(key)


def test_missing_audio_is_one_error_counting_the_trials(tmp_path):
    db = la_db(tmp_path / "db")
    for utt in ("LA_E_2834763", "LA_E_1000048"):
        (db / f"ASVspoof2021_LA_eval/flac/{utt}.flac").unlink()
    with pytest.raises(FileNotFoundError, match=r"2 of 7 trials .*: LA_E_1000048.flac, LA_E_28"):
        prepare_la(db, tmp_path / "data")
    result = run_script("local/asvspoof2021_la/prepare_data.sh", str(db), str(tmp_path / "data"))
    assert result.returncode == 1
    assert "prepare_asvspoof2021: error:" in result.stderr and "Traceback" not in result.stderr


# ---------------------------------------------------------------------------------------------
# DF


def test_df_data_dirs_and_a_tiny_training_split(tmp_path):
    db = df_db(tmp_path / "db")
    data = tmp_path / "data"
    sizes = ("--df_train_size", "4", "--df_dev_size", "2", "--seed", "7")
    result = run_script("local/asvspoof2021_df/prepare_data.sh", *sizes, str(db), str(data))
    assert result.returncode == 0, result.stderr
    for name in DF_SETS:
        validate_data_dir(data / f"df21_{name}", check_audio_exists=True)
    full = tables(data / "df21_full")
    assert set(full) == {
        "wav.scp",
        "utt2spk",
        "spk2utt",
        "utt2label",
        "utt2attack",
        "utt2codec",
        "utt2source",
        "utt2subset",
        "utt2vocoder",
    }
    key = [line.split() for line in DF_KEY.splitlines()]
    for speaker, utt, codec, source, attack, label, _, subset, vocoder, *_ in key:
        assert full["utt2spk"][utt] == speaker
        assert full["utt2label"][utt] == label
        assert full["utt2attack"][utt] == (attack if label == "spoof" else "bonafide")
        assert full["utt2codec"][utt] == codec
        assert full["utt2source"][utt] == source
        assert full["utt2subset"][utt] == subset
        assert full["utt2vocoder"][utt] == vocoder
    assert full["utt2attack"]["DF_E_2000040"] == "bonafide"  # `-` in the key
    evaluation = read_table(data / "df21_eval/wav.scp")
    assert sorted(evaluation) == sorted(f[1] for f in key if f[7] == "eval")

    # 3 bona fide and 5 spoof trials: one bona fide trial in the train pool, so the two bona
    # fide entries of df21_train are that trial and its copy, reading the same audio.
    train = tables(data / "df21_train")
    assert Counter(train["utt2label"].values()) == {"bonafide": 2, "spoof": 2}
    (copy,) = [utt for utt in train["wav.scp"] if "-rep" in utt]
    original = copy.removesuffix("-rep2")
    assert train["wav.scp"][copy] == train["wav.scp"][original] == full["wav.scp"][original]
    assert train["utt2attack"][copy] == "bonafide"
    dev = tables(data / "df21_dev")
    assert Counter(dev["utt2label"].values()) == {"bonafide": 1, "spoof": 1}
    used = {utt.split("-rep")[0] for utt in (*train["wav.scp"], *dev["wav.scp"])}
    train_sources = {utt.split("-rep")[0] for utt in train["wav.scp"]}
    assert not train_sources & {utt.split("-rep")[0] for utt in dev["wav.scp"]}
    full_heldout = read_table(data / "df21_full_heldout/wav.scp")
    assert sorted(full_heldout) == sorted(set(full["wav.scp"]) - used)
    eval_heldout = read_table(data / "df21_eval_heldout/wav.scp")
    assert sorted(eval_heldout) == sorted(set(evaluation) - used)
    assert "bonafide" in read_table(data / "df21_full_heldout/utt2label").values()


def test_df_stage1_key_has_no_vocoder_and_hidden_track_is_hidden(tmp_path):
    stage1 = "".join(
        " ".join(line.split()[:8]).replace(" hidden", " hidden_track") + "\n"
        for line in DF_KEY.splitlines()
    )
    db = df_db(tmp_path / "db", stage1)
    prepare_df(db, tmp_path / "data", SplitSizes(2, 2))
    for name in DF_SETS:
        data_dir = tmp_path / "data" / f"df21_{name}"
        validate_data_dir(data_dir, check_audio_exists=True)
        assert not (data_dir / "utt2vocoder").exists()
    subsets = read_table(tmp_path / "data/df21_full/utt2subset")
    assert subsets["DF_E_4999962"] == subsets["DF_E_3500002"] == "hidden"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            "LA_0023 DF_E_1 nocodec asvspoof A14 spoof notrim eval",
            r"expected 13 fields \(as on line 1\), got 8",
        ),
        ("LA_0023 DF_E_1 nocodec asvspoof A14 fake notrim eval x - - - -", "label 'fake'"),
        (
            "LA_0023 DF_E_1 nocodec asvspoof bonafide spoof notrim eval x - - - -",
            "spoof trial without an",
        ),
        (
            "LA_0023 DF_E_0 nocodec asvspoof A14 spoof notrim eval x - - - -",
            "trial DF_E_0 already listed",
        ),
    ],
)
def test_malformed_df_key_lines_are_named_by_file_and_line(tmp_path, line, message):
    key = tmp_path / "key.txt"
    key.write_text(f"{DF_KEY.splitlines()[0].replace('DF_E_2000011', 'DF_E_0')}\n{line}\n")
    with pytest.raises(ProtocolError, match=rf"key.txt:2: {message}"):
        parse_df_key(key)
    key.write_text("LA_0023 DF_E_1 nocodec asvspoof A14 spoof notrim eval x\n")
    with pytest.raises(ProtocolError, match=r"key.txt:1: expected 13 or 8 fields, got 9"):
        parse_df_key(key)


# ---------------------------------------------------------------------------------------------
# the DF training split


def synthetic_key(path: Path, bonafide: int, spoof: int) -> Path:
    """A 13-field key of `bonafide` + `spoof` trials, interleaved, ids in no particular order."""
    total, lines = bonafide + spoof, []
    for n in range(total):
        utt = f"DF_E_{2000011 + (n * 7919) % 100000}"
        subset = ("eval", "eval", "progress", "hidden")[n % 4]
        if n % (total // bonafide) == 0 and n // (total // bonafide) < bonafide:
            lines.append(f"LA_0001 {utt} nocodec asvspoof - bonafide notrim {subset} bonafide")
        else:
            lines.append(f"LA_0002 {utt} low_mp3 asvspoof A07 spoof notrim {subset} unknown")
    path.write_text("".join(f"{line} - - - -\n" for line in lines))
    return path


@pytest.fixture(scope="module")
def key_trials(tmp_path_factory):
    trials = parse_df_key(synthetic_key(tmp_path_factory.mktemp("key") / "key.txt", 60, 540))
    assert Counter(t.label for t in trials) == {"bonafide": 60, "spoof": 540}
    return trials


def test_split_sizes_balance_and_bona_fide_copies(key_trials):
    split = draw_training_split(key_trials, SplitSizes(200, 50), seed=3)
    for entries, size in ((split.train, 200), (split.dev, 50)):
        ids = [utt for utt, _ in entries]
        assert len(ids) == len(set(ids)) == size
        assert ids == sorted(ids)
        assert Counter(trial.label for _, trial in entries) == {
            "bonafide": size // 2,
            "spoof": size // 2,
        }
        copies = Counter(trial.utt for _, trial in entries if trial.label == "bonafide")
        assert max(copies.values()) - min(copies.values()) <= 1  # oversampled evenly
        for utt, trial in entries:
            if utt != trial.utt:
                assert re.fullmatch(rf"{trial.utt}-rep([2-9]|\d\d+)", utt)
                assert trial.label == "bonafide"
                assert trial.utt in ids  # copy 1 keeps the trial id
        spoof = [trial.utt for _, trial in entries if trial.label == "spoof"]
        assert len(spoof) == len(set(spoof))
    train_sources = {trial.utt for _, trial in split.train}
    dev_sources = {trial.utt for _, trial in split.dev}
    assert not train_sources & dev_sources
    assert split.used == train_sources | dev_sources
    # 60 bona fide: pools of 42 (train), 9 (dev), 9 (reserved for the held-out sets).
    bonafide_used = {t.utt for t in key_trials if t.label == "bonafide"} & split.used
    assert len(bonafide_used) == 51


def test_split_is_reproducible_for_a_seed_and_differs_across_seeds(key_trials):
    sizes = SplitSizes(100, 20)
    first = draw_training_split(key_trials, sizes, seed=11)
    assert draw_training_split(list(reversed(key_trials)), sizes, seed=11) == first
    other = draw_training_split(key_trials, sizes, seed=12)
    assert [u for u, _ in other.train] != [u for u, _ in first.train]


def test_split_shrinks_with_a_warning_when_the_key_is_small(tmp_path, caplog):
    trials = parse_df_key(synthetic_key(tmp_path / "key.txt", 10, 20))
    with caplog.at_level(logging.WARNING):
        split = draw_training_split(trials)  # asks for 100,000 / 25,000
    # 20 spoof trials: pools of 14 (train) and 3 (dev)
    assert (len(split.train), len(split.dev)) == (28, 6)
    assert "shrinks from 100000 to 28" in caplog.text
    assert "shrinks from 25000 to 6" in caplog.text


def test_split_needs_three_trials_of_each_class_and_sizes_of_two(tmp_path):
    trials = parse_df_key(synthetic_key(tmp_path / "key.txt", 2, 20))
    with pytest.raises(ValueError, match="2 bonafide trials; a training split needs at least 3"):
        draw_training_split(trials)
    with pytest.raises(ValueError, match="train size 1"):
        SplitSizes(1, 10)


def test_heldout_sets_leave_out_every_trial_of_the_split(tmp_path, key_trials):
    key = synthetic_key(tmp_path / "key.txt", 60, 540)
    db = df_db(tmp_path / "db", key.read_text())
    counts = prepare_df(db, tmp_path / "data", SplitSizes(200, 50), seed=5)
    assert counts["df21_train"] == 200 and counts["df21_dev"] == 50
    split = draw_training_split(key_trials, SplitSizes(200, 50), seed=5)
    assert sorted(read_table(tmp_path / "data/df21_train/wav.scp")) == [u for u, _ in split.train]
    for name, subsets in (("full", {"eval", "progress", "hidden"}), ("eval", {"eval"})):
        heldout = set(read_table(tmp_path / f"data/df21_{name}_heldout/wav.scp"))
        expected = {t.utt for t in key_trials if t.subset in subsets} - split.used
        assert heldout == expected
        labels = Counter(read_table(tmp_path / f"data/df21_{name}_heldout/utt2label").values())
        assert labels["bonafide"] > 0 and labels["spoof"] > 0

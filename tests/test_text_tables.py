"""Text tables and protocols read alike everywhere: a byte-order mark at the start is dropped,
one further in is an error, and a tab separates fields as a space does."""

from __future__ import annotations

from pathlib import Path

import pytest

from antispoof.corpora.asvspoof2021 import copy_asv_files, parse_df_key, parse_la_key
from antispoof.corpora.in_the_wild import parse_meta
from antispoof.data.kaldi_files import TableError, iter_table, read_table
from antispoof.evaluation.score_file import _read_score_columns, _read_scores_by_line
from antispoof.evaluation.trials import read_trials
from antispoof.metrics.asv2021 import read_asv2021
from antispoof.metrics.asv_scores import read_asv_scores
from antispoof.metrics.columns import read_columns

BOM = b"\xef\xbb\xbf"
ASV_KEY = (
    "LA_0007 LA_E_1 alaw ita_tx bonafide nontarget notrim eval\n"
    "LA_0009 LA_E_2 alaw ita_tx A07 spoof notrim eval\n"
    "LA_0021 LA_E_3 pstn mad_tx bonafide target only_speech hidden\n"
)
ASV_SCORES = "LA_0007 LA_E_1 -9.5\nLA_0009 LA_E_2 1.5\nLA_0021 LA_E_3 12.25\n"


def write(path: Path, text: str, bom: bool = True) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes((BOM if bom else b"") + text.encode("utf-8"))
    return path


def test_kaldi_tables_split_the_key_at_a_space_or_a_tab(tmp_path):
    path = write(tmp_path / "utt2x", "a\tb\nc \t d  e\t\nf\n")
    assert list(iter_table(path)) == [(1, "a", "b"), (2, "c", "d  e"), (3, "f", "")]


def test_read_columns_takes_tabs_as_separators_and_drops_a_leading_bom(tmp_path):
    path = write(tmp_path / "t.txt", "a\tb c\nd e\tf\n")
    assert read_columns(path, 3) == [["a", "d"], ["b", "e"], ["c", "f"]]
    path = write(tmp_path / "t.txt", "a\t\tb\n")
    with pytest.raises(TableError, match=r"t.txt:1: expected 2 fields .* got 'a\\t\\tb'"):
        read_columns(path, 2)
    path = write(tmp_path / "t.txt", "a b\n\ufeffc d\n")
    with pytest.raises(TableError, match=r"t\.txt:2: byte-order mark"):
        read_columns(path, 2)
    with pytest.raises(TableError, match=r"t\.txt:2: byte-order mark"):
        read_table(path)


def test_score_readers_agree(tmp_path):
    """The fast reader and the line-by-line fallback give the same utterances and scores."""
    for text in ("u1\t0.5\nu2\t-1\n", "u1 0.5\nu2 -1\n", "u1  0.5\nu2\t -1 \n"):
        path = write(tmp_path / "scores.txt", text)
        utts, scores = _read_score_columns(path)
        by_line = _read_scores_by_line(path)
        assert (utts, scores.tolist()) == (["u1", "u2"], [0.5, -1.0])
        assert (by_line[0], by_line[1].tolist()) == (utts, scores.tolist())


def test_trials_read_through_a_bom_and_tabs(tmp_path):
    data_dir = tmp_path / "data"
    write(data_dir / "utt2label", "u1\tbonafide\nu2\tspoof\n")
    write(data_dir / "utt2attack", "u1 bonafide\nu2  A07\n")
    trials = read_trials(data_dir)
    assert trials.utts == ["u1", "u2"]
    assert trials.is_bonafide.tolist() == [True, False]


def test_asv_score_files_may_start_with_a_bom(tmp_path):
    path = write(tmp_path / "asv.txt", "bonafide target 2\nbonafide\tnontarget -1\nA07 spoof 0\n")
    asv = read_asv_scores(path)
    assert (asv.target.tolist(), asv.nontarget.tolist()) == ([2.0], [-1.0])

    directory = tmp_path / "asv2021"
    write(directory / "trial_metadata.txt", ASV_KEY)
    write(directory / "score.txt", ASV_SCORES)
    trials = read_asv2021(directory)
    assert trials.scores.tolist() == [-9.5, 1.5, 12.25]
    assert trials.label.values == ("nontarget", "spoof", "target")


def test_2021_keys_and_asv_files_may_start_with_a_bom(tmp_path):
    la_key = write(tmp_path / "la.txt", "LA_0009 LA_E_1 alaw ita_tx A07 spoof notrim eval\n")
    assert parse_la_key(la_key)[0].speaker == "LA_0009"
    df_line = "LA_0023 DF_E_1 nocodec asvspoof A14 spoof notrim progress traditional_vocoder"
    df_key = write(tmp_path / "df.txt", f"{df_line} - - - -\n")
    assert parse_df_key(df_key)[0].speaker == "LA_0023"

    key = write(tmp_path / "key.txt", ASV_KEY)
    scores = write(tmp_path / "score.txt", ASV_SCORES)
    assert copy_asv_files(key, scores, tmp_path / "out", None) == 3
    assert (tmp_path / "out" / "trial_metadata.txt").read_bytes() == ASV_KEY.encode()
    assert (tmp_path / "out" / "score.txt").read_bytes() == ASV_SCORES.encode()


def test_in_the_wild_meta_may_start_with_a_bom(tmp_path):
    meta = write(tmp_path / "meta.csv", "file,speaker,label\n0.wav,Alec Guinness,spoof\n")
    (clip,) = parse_meta(meta)
    assert (clip.utt, clip.speaker, clip.label) == ("itw_00000", "Alec_Guinness", "spoof")

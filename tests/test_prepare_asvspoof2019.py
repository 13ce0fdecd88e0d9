"""Stage 1 for ASVspoof 2019 LA, on the format-exact mini replica and on malformed protocols."""

import subprocess
from pathlib import Path

import pytest

from antispoof.corpora.asvspoof2019 import ProtocolError, parse_cm_protocol, prepare
from antispoof.data.datadir import validate_data_dir
from antispoof.data.kaldi_files import TableError, read_table

REPO = Path(__file__).resolve().parents[1]
PROTOCOLS = "LA/ASVspoof2019_LA_cm_protocols"


def test_data_dirs_come_from_the_protocols_not_the_audio_folders(mini_corpus, tmp_path):
    subprocess.run(
        [str(REPO / "local/asvspoof2019/prepare_data.sh"), str(mini_corpus), str(tmp_path)],
        check=True,
        capture_output=True,
    )
    for split, folder in (("train", "train"), ("dev", "dev"), ("eval", "eval")):
        data_dir = tmp_path / split
        validate_data_dir(data_dir, check_audio_exists=True)
        protocol = next((mini_corpus / PROTOCOLS).glob(f"*.{split}.*.txt"))
        trials = [line.split() for line in protocol.read_text().splitlines()]
        wav_scp = read_table(data_dir / "wav.scp")
        assert sorted(wav_scp) == sorted(t[1] for t in trials)
        flac = {p.stem for p in (mini_corpus / f"LA/ASVspoof2019_LA_{folder}/flac").glob("*.flac")}
        if split != "train":
            # The folders also hold ASV enrolment files: they must not become trials.
            assert flac - set(wav_scp)
        labels = read_table(data_dir / "utt2label")
        attacks = read_table(data_dir / "utt2attack")
        for speaker, utt, _, system, key in trials:
            assert labels[utt] == key
            assert attacks[utt] == ("bonafide" if key == "bonafide" else system)
            assert read_table(data_dir / "utt2spk")[utt] == speaker
    assert (tmp_path / "eval" / "asv_scores.txt").exists()
    assert not (tmp_path / "train" / "asv_scores.txt").exists()


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("LA_0079 LA_T_1 - - bonafide extra", "expected 5 fields"),
        ("LA_0079 LA_T_1 - A01 bonafid", "key 'bonafid'"),
        ("LA_0079 LA_T_1 - A01 bonafide", "bona fide trial with system id 'A01'"),
        ("LA_0079 LA_T_1 - - spoof", "spoof trial with system id '-'"),
    ],
)
def test_malformed_protocol_lines_are_named_by_file_and_line(tmp_path, line, message):
    protocol = tmp_path / "protocol.txt"
    protocol.write_text(f"LA_0079 LA_T_0 - - bonafide\n{line}\n")
    with pytest.raises(ProtocolError, match=rf"protocol.txt:2: {message}"):
        parse_cm_protocol(protocol)


def test_duplicate_trials_and_missing_corpus_are_errors(tmp_path):
    protocol = tmp_path / "protocol.txt"
    protocol.write_text("LA_0079 LA_T_0 - - bonafide\nLA_0079 LA_T_0 - A01 spoof\n")
    with pytest.raises(ProtocolError, match="already listed on line 1"):
        parse_cm_protocol(protocol)
    with pytest.raises(FileNotFoundError, match="holds LA/"):
        prepare(tmp_path / "nowhere", tmp_path / "data", ["train"])


def test_byte_order_mark_does_not_become_a_speaker(mini_corpus, tmp_path):
    """A protocol saved by a Windows editor starts with a UTF-8 BOM: the speaker ids stay right."""
    db = tmp_path / "db"
    (db / "LA").mkdir(parents=True)
    for entry in (mini_corpus / "LA").iterdir():  # the audio by link, the protocols copied
        if entry.name != "ASVspoof2019_LA_cm_protocols":
            (db / "LA" / entry.name).symlink_to(entry)
    protocols = db / PROTOCOLS
    protocols.mkdir()
    for original in (mini_corpus / PROTOCOLS).iterdir():
        (protocols / original.name).write_bytes(b"\xef\xbb\xbf" + original.read_bytes())
    prepare(db, tmp_path / "data", ["train"])

    protocol = next(protocols.glob("*.train.*.txt"))
    first_speaker, first_utt = protocol.read_text(encoding="utf-8-sig").split()[:2]
    assert parse_cm_protocol(protocol)[0].speaker == first_speaker
    data_dir = tmp_path / "data" / "train"
    assert read_table(data_dir / "utt2spk")[first_utt] == first_speaker
    speakers = set(read_table(data_dir / "spk2utt"))
    assert not [speaker for speaker in speakers if "\ufeff" in speaker]
    assert validate_data_dir(data_dir, check_audio_exists=True).num_speakers == len(speakers)
    # Further in, a mark is not dropped: files were concatenated, which is an error.
    concatenated = tmp_path / "protocol.txt"
    concatenated.write_text("LA_0079 LA_T_0 - - bonafide\n\ufeffLA_0079 LA_T_1 - - bonafide\n")
    with pytest.raises(TableError, match=r"protocol\.txt:2: byte-order mark"):
        parse_cm_protocol(concatenated)

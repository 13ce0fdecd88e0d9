"""Stage 1 for In-the-Wild, on a tiny replica with float WAVs and a format-exact meta.csv."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile

from antispoof.corpora.asvspoof2019 import ProtocolError
from antispoof.corpora.in_the_wild import parse_meta, prepare, safe_speaker, utt_id
from antispoof.data.audio import read_audio
from antispoof.data.datadir import validate_data_dir
from antispoof.data.kaldi_files import read_table

REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}

# The first row is the example of docs/research/corpora.md §4; a quoted name holds a comma.
META = """\
file,speaker,label
0.wav,Alec Guinness,spoof
1.wav,Alec Guinness,bona-fide
10.wav,"Obama, Barack",bona-fide
2.wav,"Obama, Barack",spoof
3.wav,Donald J. Trump,bona-fide
"""
EXPECTED = {  # utterance: (clip, speaker, label)
    "itw_00000": ("0.wav", "Alec_Guinness", "spoof"),
    "itw_00001": ("1.wav", "Alec_Guinness", "bonafide"),
    "itw_00002": ("2.wav", "Obama__Barack", "spoof"),
    "itw_00003": ("3.wav", "Donald_J._Trump", "bonafide"),
    "itw_00010": ("10.wav", "Obama__Barack", "bonafide"),
}


def make_release(db: Path, meta: str = META) -> Path:
    """release_in_the_wild/ with meta.csv and 32-bit float clips of different lengths."""
    folder = db / "release_in_the_wild"
    folder.mkdir(parents=True)
    (folder / "meta.csv").write_text(meta)
    rng = np.random.default_rng(0)
    for n, clip in enumerate(["0.wav", "1.wav", "2.wav", "3.wav", "10.wav", "99.wav"]):
        wave = 0.1 * rng.standard_normal(1600 * (n + 1)).astype(np.float32)
        soundfile.write(folder / clip, wave, 16000, subtype="FLOAT")
    (folder / "attribution.txt").write_text("not a clip\n")
    return db


def test_itw_data_dir_from_meta_csv(tmp_path):
    db = make_release(tmp_path / "db")
    result = subprocess.run(
        [str(REPO / "local/in_the_wild/prepare_data.sh"), str(db), str(tmp_path / "data")],
        env=ENV,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    data_dir = tmp_path / "data/itw"
    summary = validate_data_dir(data_dir, check_audio_exists=True)
    assert (summary.num_utts, summary.num_bonafide, summary.num_speakers) == (5, 3, 3)
    folder = (db / "release_in_the_wild").resolve()
    wav_scp = read_table(data_dir / "wav.scp")
    # 99.wav is in the folder, not in meta.csv; C order of the ids is numeric order.
    assert list(wav_scp) == list(EXPECTED)
    for name, column in (("utt2clip", 0), ("utt2spk", 1), ("utt2label", 2), ("utt2attack", 2)):
        assert read_table(data_dir / name) == {utt: row[column] for utt, row in EXPECTED.items()}
    for utt, (clip, *_) in EXPECTED.items():
        assert wav_scp[utt] == f"{folder}/{clip}"
    assert read_table(data_dir / "spk2utt")["Obama__Barack"] == "itw_00002 itw_00010"
    # The clips are 32-bit float WAVs of different lengths, read as they are.
    assert soundfile.info(wav_scp["itw_00010"]).subtype == "FLOAT"
    assert read_audio(wav_scp["itw_00010"]).shape == (1600 * 5,)


def test_ids_and_speaker_names():
    assert utt_id("0.wav") == "itw_00000"
    assert utt_id("31778.wav") == "itw_31778"
    for name in ("100000.wav", "1.flac", "a.wav", "1.wav.bak", " 1.wav"):
        assert utt_id(name) is None
    assert safe_speaker("Obama, Barack") == "Obama__Barack"
    assert safe_speaker("Zoë O'Neil-Smith Jr.") == "Zo__O_Neil-Smith_Jr."


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("0.wav,Alec Guinness,bonafide", r"meta.csv:2: label 'bonafide' is not bona-fide or spoof"),
        ("0.wav,Alec Guinness", r"meta.csv:2: expected 3 fields"),
        ("clip.wav,Alec Guinness,spoof", r"meta.csv:2: file 'clip.wav' is not <number>.wav"),
        ("0.wav,A B,spoof\n1.wav,A_B,spoof", r"meta.csv:3: speaker 'A_B' and speaker 'A B' \("),
        ("0.wav,A,spoof\n1.wav,B,spoof\n00.wav,C,spoof", r"meta.csv:4: clip 00.wav already .* 2"),
        ("0.wav,,spoof", r"meta.csv:2: empty speaker name"),
    ],
)
def test_malformed_meta_csv_is_named_by_file_and_line(tmp_path, rows, message):
    meta = tmp_path / "meta.csv"
    meta.write_text(f"file,speaker,label\n{rows}\n")
    with pytest.raises(ProtocolError, match=message):
        parse_meta(meta)


def test_header_and_missing_clips_are_errors(tmp_path):
    meta = tmp_path / "meta.csv"
    meta.write_text("file,speaker,class\n0.wav,A,spoof\n")
    with pytest.raises(ProtocolError, match=r"meta.csv:1: header \['file', 'speaker', 'class'\]"):
        parse_meta(meta)
    db = make_release(tmp_path / "db", META + "7.wav,A,spoof\n8.wav,B,spoof\n")
    with pytest.raises(FileNotFoundError, match=r"2 of 7 trials have no audio file: 7.wav, 8.wav"):
        prepare(db, tmp_path / "data")
    with pytest.raises(FileNotFoundError, match="holds release_in_the_wild/"):
        prepare(tmp_path / "nowhere", tmp_path / "data")

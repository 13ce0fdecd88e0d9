"""Stage 1 of the evaluation corpora on tiny replicas in their real layouts (eval_corpora_replicas),
through local/<corpus>/prepare_data.sh, with the protocols' counts and the 16 kHz copies checked.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile

from antispoof.bin import prepare_eval_corpus
from antispoof.corpora import (
    audio_copies,
    codecfake,
    deepfake_eval_2024,
    fake_or_real,
    mlaad,
    spoofceleb,
)
from antispoof.corpora.common import ProtocolError
from antispoof.corpora.sets import CORPUS_SETS
from antispoof.data.audio import AudioError, read_audio
from antispoof.data.datadir import validate_data_dir
from antispoof.data.kaldi_files import read_table
from antispoof.scoring import read_any_audio
from eval_corpora_replicas import (
    MLAAD_HEADER,
    codecfake_unpacked,
    deepfake_eval_2024_copy,
    fake_or_real_norm,
    mailabs_original,
    mlaad_with_mailabs,
    spoofceleb_unpacked,
    tone,
    write,
)

REPO = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}


def prepare(corpus: str, db_root: Path, data_root: Path, *options: str) -> str:
    result = subprocess.run(
        [str(REPO / f"local/{corpus}/prepare_data.sh"), *options, str(db_root), str(data_root)],
        env=ENV,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    written = sorted(path.parent.name for path in data_root.glob("*/wav.scp"))
    assert written == sorted(CORPUS_SETS[corpus]), "stage 1 writes exactly the declared sets"
    return result.stdout


# --- 16 kHz copies ---------------------------------------------------------------------------


def test_audio_at_16k_is_listed_as_is_and_other_rates_are_copied_once(tmp_path):
    sources = {
        "a16": write(tmp_path / "a.wav", tone(0.5, 16000, 1), 16000),
        "b24": write(tmp_path / "b.flac", tone(0.5, 24000, 2, channels=2), 24000),
        "c44": write(tmp_path / "c.mp3", tone(0.5, 44100, 3), 44100),
    }
    copies = tmp_path / "wav16k"
    audio = audio_copies.at_16k(sources, copies)
    assert audio["a16"] == sources["a16"]
    assert sorted(path.name for path in copies.iterdir()) == ["b24.wav", "c44.wav"]
    for utt in ("b24", "c44"):
        info = soundfile.info(audio[utt])
        assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "FLOAT")
        expected, _ = read_any_audio(sources[utt], 16000)  # what `detect` reads
        np.testing.assert_array_equal(read_audio(str(audio[utt])), expected)
    first = audio["b24"].read_bytes()
    audio["c44"].unlink()
    audio_copies.at_16k(sources, copies)  # only the missing copy is made again
    assert audio["b24"].read_bytes() == first and audio["c44"].is_file()
    assert not list(copies.glob("*.tmp"))


def test_segments_are_cut_at_the_source_rate_the_last_one_short(tmp_path):
    # 10.5 s at 22.05 kHz, 4 s segments: 88,200 source samples each, the last 2.5 s.
    source = write(tmp_path / "long.wav", tone(10.5, 22050, 4, channels=2), 22050)
    pieces = audio_copies.segment(source, 4)
    assert [len(piece) for piece in pieces] == [64000, 64000, 40000]
    stereo, _ = soundfile.read(source, dtype="float32", always_2d=True)
    mono = stereo.mean(axis=1, dtype=np.float32)
    import torch
    import torchaudio.functional

    last = torchaudio.functional.resample(torch.from_numpy(mono[2 * 88200 :]), 22050, 16000)
    np.testing.assert_array_equal(pieces[-1], last.numpy())
    at_16k = write(tmp_path / "short.wav", tone(4.0, 16000, 5), 16000)  # exactly one segment
    assert [len(piece) for piece in audio_copies.segment(at_16k, 4)] == [64000]


def test_unreadable_audio_is_named(tmp_path):
    (tmp_path / "x.m4a").write_bytes(b"\x00\x00\x00\x20ftypM4A ")
    with pytest.raises(AudioError, match=r"cannot read audio .*x\.m4a"):
        audio_copies.at_16k({"x": tmp_path / "x.m4a"}, tmp_path / "copies")


# --- Fake-or-Real ------------------------------------------------------------------------------


def test_fake_or_real_is_the_arena_key_of_for_norm(tmp_path):
    fake_or_real_norm(tmp_path / "db")
    out = prepare("fake_or_real", tmp_path / "db", tmp_path / "data")
    assert "for_test: 4528 utterances" in out
    data_dir = tmp_path / "data/for_test"
    summary = validate_data_dir(data_dir, check_audio_exists=True)
    assert (summary.num_utts, summary.num_bonafide) == (4528, 2264)
    wav_scp = read_table(data_dir / "wav.scp")
    utt2file = read_table(data_dir / "utt2file")
    folder = (tmp_path / "db/for-norm").resolve()
    assert utt2file["for_real_0001"] == f"testing/real/{fake_or_real.FILE_NAME.format(number=1)}"
    assert wav_scp["for_fake_2371"] == f"{folder}/testing/fake/" + fake_or_real.FILE_NAME.format(
        number=2371
    )
    # The fake that the key leaves out is not a trial, though its file is there.
    assert "for_fake_0034" not in wav_scp and "for_fake_0035" in wav_scp
    assert read_table(data_dir / "utt2attack") == read_table(data_dir / "utt2label")
    assert not (data_dir / "wav16k").exists()  # for-norm is 16 kHz: no copies


def test_fake_or_real_without_a_key_file_is_an_error(tmp_path):
    fake_or_real_norm(tmp_path / "db")
    name = fake_or_real.FILE_NAME.format(number=2297)
    (tmp_path / "db/for-norm/testing/fake" / name).unlink()
    assert fake_or_real.missing_trials(tmp_path / "db") == [
        f"for-norm/: 1 of the Arena's 4,528 test files are missing (e.g. testing/fake/{name})"
    ]
    with pytest.raises(FileNotFoundError, match=rf"1 of 2264 trials have no audio file: {name}"):
        fake_or_real.prepare(tmp_path / "db", tmp_path / "data")
    with pytest.raises(FileNotFoundError, match="holds for-norm/"):
        fake_or_real.prepare(tmp_path / "nowhere", tmp_path / "data")


# --- CodecFake ---------------------------------------------------------------------------------


def test_codecfake_sets_are_the_authors_speakers_with_16k_copies(tmp_path):
    codecfake_unpacked(tmp_path / "db")
    out = prepare("codecfake", tmp_path / "db", tmp_path / "data")
    assert "codecfake_test: 16 utterances" in out and "codecfake_dev: 16 utterances" in out
    for name, speakers in (
        ("codecfake_test", {"p227", "p228"}),
        ("codecfake_dev", {"p226", "p229"}),
    ):
        data_dir = tmp_path / "data" / name
        summary = validate_data_dir(data_dir, check_audio_exists=True)
        assert (summary.num_utts, summary.num_bonafide, summary.num_speakers) == (16, 4, 2)
        assert set(read_table(data_dir / "utt2spk").values()) == speakers
    data_dir = tmp_path / "data/codecfake_test"
    attacks = read_table(data_dir / "utt2attack")
    assert attacks["cf_genuine_p227_001"] == "bonafide"
    assert attacks["cf_encodec_24khz_p228_002"] == "encodec_24khz"
    assert sorted(set(attacks.values())) == [
        "SpeechTokenizer",
        "bonafide",
        "descript-audio-codec-44khz",
        "encodec_24khz",
    ]
    wav_scp = read_table(data_dir / "wav.scp")
    db = (tmp_path / "db").resolve()
    # 16 kHz FLAC listed as it is; 24, 44.1 and 48 kHz files as 16 kHz copies.
    assert wav_scp["cf_SpeechTokenizer_p227_001"] == f"{db}/SpeechTokenizer/p227/p227_001.flac"
    assert wav_scp["cf_genuine_p227_001"] == str(data_dir / "wav16k/cf_genuine_p227_001.wav")
    assert len(list((data_dir / "wav16k").iterdir())) == 12
    assert read_table(data_dir / "utt2file")["cf_genuine_p228_002"] == "genuine/p228/p228_002.wav"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("a.wav,bonafide,p227,genuine", r"metadata.csv:2: label 'bonafide' is not genuine or"),
        ("a.wav,genuine,p227,encodec_24khz", r"metadata.csv:2: label 'genuine' with codec 'enc"),
        ("a.wav,spoofing,p227", r"metadata.csv:2: expected 4 fields"),
        ("a b.wav,spoofing,p227,x", r"metadata.csv:2: file name 'a b' is not a safe Kaldi id"),
        ("x/a.wav,spoofing,p227,c\ny/a.wav,spoofing,p227,c", r"metadata.csv:3: utterance cf_c_a"),
    ],
)
def test_malformed_codecfake_metadata_is_named_by_line(tmp_path, line, message):
    (tmp_path / "metadata.csv").write_text(f"path,label,speaker_id,codec_name\n{line}\n")
    with pytest.raises(ProtocolError, match=message):
        codecfake.parse_metadata(tmp_path / "metadata.csv")


# --- SpoofCeleb --------------------------------------------------------------------------------


@pytest.mark.parametrize("header", ["file,speaker,attack", "path,speaker,attack"])
def test_spoofceleb_sets_are_its_development_and_evaluation_protocols(tmp_path, header):
    spoofceleb_unpacked(tmp_path / "db", header)
    out = prepare("spoofceleb", tmp_path / "db", tmp_path / "data")
    assert "spoofceleb_eval: 5 utterances" in out and "spoofceleb_dev: 3 utterances" in out
    data_dir = tmp_path / "data/spoofceleb_eval"
    summary = validate_data_dir(data_dir, check_audio_exists=True)
    assert (summary.num_utts, summary.num_bonafide, summary.num_speakers) == (5, 2, 2)
    attacks = read_table(data_dir / "utt2attack")
    assert attacks == {
        "sc_a00_id10270_5r0dWxy17C8-00001-001": "bonafide",
        "sc_a00_id10271_1gtz-CUIygI-00002-004": "bonafide",
        "sc_a09_id10270_5r0dWxy17C8-00001-001": "a09",
        "sc_a12_id10271_1gtz-CUIygI-00002-004": "a12",
        "sc_a18_id10271_x8lkW-Ti_2c-00010-002": "a18",
    }
    folder = (tmp_path / "db/spoofceleb/flac/evaluation").resolve()
    wav_scp = read_table(data_dir / "wav.scp")
    assert wav_scp["sc_a12_id10271_1gtz-CUIygI-00002-004"] == (
        f"{folder}/a12/id10271/1gtz-CUIygI-00002-004.flac"
    )
    assert not (data_dir / "wav16k").exists()
    dev = read_table(tmp_path / "data/spoofceleb_dev/utt2label")
    assert sorted(dev.values()) == ["bonafide", "spoof", "spoof"]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("a00/x/y.flac,x,A00", r"evaluation.csv:2: attack 'A00' is not a00 \.\.\. a99"),
        ("a00/x/y.flac,x", r"evaluation.csv:2: expected 3 fields"),
        ("a00/x/y z.flac,x,a00", r"evaluation.csv:2: file name 'y z' is not a safe Kaldi id"),
        ("a01/x/y.flac,x,a01\na01/x/y.flac,x,a01", r"evaluation.csv:3: trial sc_a01_x_y already"),
    ],
)
def test_malformed_spoofceleb_protocol_is_named_by_line(tmp_path, line, message):
    (tmp_path / "evaluation.csv").write_text(f"file,speaker,attack\n{line}\n")
    with pytest.raises(ProtocolError, match=message):
        spoofceleb.parse_protocol(tmp_path / "evaluation.csv")


def test_spoofceleb_missing_audio_is_an_error(tmp_path):
    spoofceleb_unpacked(tmp_path / "db")
    (tmp_path / "db/spoofceleb/flac/evaluation/a18/id10271/x8lkW-Ti_2c-00010-002.flac").unlink()
    with pytest.raises(FileNotFoundError, match=r"1 of 5 trials have no audio file: a18/id10271/"):
        spoofceleb.prepare(tmp_path / "db", tmp_path / "data")
    with pytest.raises(FileNotFoundError, match=r"holds spoofceleb/ \(the unpacked"):
        spoofceleb.prepare(tmp_path / "nowhere", tmp_path / "data")


# --- Deepfake-Eval-2024 --------------------------------------------------------------------


def test_deepfake_eval_2024_is_the_test_split_whole_and_segmented(tmp_path, caplog):
    deepfake_eval_2024_copy(tmp_path / "db")
    out = prepare("deepfake_eval_2024", tmp_path / "db", tmp_path / "data")
    # 9.5 s, 3.0 s and 13.2 s recordings: 3+1+4 segments of 4 s, 1+1+2 of 10 s and of 13 s.
    sizes = {"dfeval2024": 3, "seg4": 8, "seg10": 4, "seg13": 4, "seg30": 3, "seg50": 3}
    for name, size in sizes.items():
        assert f"{'dfeval2024_' if 'seg' in name else ''}{name}: {size} utterances" in out
    assert "2 rows are neither Train nor Test with a Real or Fake" not in out  # a log, not stdout
    whole = tmp_path / "data/dfeval2024"
    summary = validate_data_dir(whole, check_audio_exists=True)
    assert (summary.num_utts, summary.num_bonafide) == (3, 2)
    assert read_table(whole / "utt2file") == {
        "dfe24_interview_clip_01": "interview clip 01.mp3",
        "dfe24_podcast_03": "podcast_03.wav",
        "dfe24_press-02": "press-02.wav",
    }
    wav_scp = read_table(whole / "wav.scp")
    assert wav_scp["dfe24_press-02"] == str((tmp_path / "db/audio-data/press-02.wav").resolve())
    assert wav_scp["dfe24_podcast_03"] == str(whole / "wav16k/dfe24_podcast_03.wav")

    seg4 = tmp_path / "data/dfeval2024_seg4"
    summary = validate_data_dir(seg4, check_audio_exists=True)
    assert (summary.num_utts, summary.num_bonafide, summary.num_speakers) == (8, 5, 3)
    recording = read_table(seg4 / "utt2recording")
    assert sorted(u for u, r in recording.items() if r == "dfe24_podcast_03") == [
        f"dfe24_podcast_03_seg00{k}" for k in (1, 2, 3, 4)
    ]
    lengths = [
        len(read_audio(read_table(seg4 / "wav.scp")[f"dfe24_podcast_03_seg00{k}"]))
        for k in (1, 2, 3, 4)
    ]
    assert lengths == [64000, 64000, 64000, 19200]  # 88,200 source samples each; 1.2 s left
    source = tmp_path / "db/audio-data/podcast_03.wav"
    expected = audio_copies.segment(source, 4)
    np.testing.assert_array_equal(
        read_audio(read_table(seg4 / "wav.scp")["dfe24_podcast_03_seg002"]), expected[1]
    )
    assert read_table(seg4 / "utt2label")["dfe24_interview_clip_01_seg003"] == "spoof"


def test_deepfake_eval_2024_reports_what_it_leaves_out(tmp_path, caplog):
    deepfake_eval_2024_copy(tmp_path / "db")
    with caplog.at_level("WARNING"):
        sizes = deepfake_eval_2024.prepare(tmp_path / "db", tmp_path / "data", (4,))
    assert sizes == {"dfeval2024": 3, "dfeval2024_seg4": 8}
    assert "1 rows are neither Train nor Test with a Real or Fake ground truth" in caplog.text
    assert "1 Test recordings cannot be decoded" in caplog.text and "phone_06.m4a" in caplog.text
    assert deepfake_eval_2024.missing_files(tmp_path / "db") == []
    (tmp_path / "db/audio-data/ad_04.mp3").unlink()
    assert deepfake_eval_2024.missing_files(tmp_path / "db") == [
        "audio-data/: 1 of the 5 files of audio-metadata-publish.csv are missing (e.g. ad_04.mp3)"
    ]
    (tmp_path / "db/audio-data/press-02.wav").unlink()
    with pytest.raises(FileNotFoundError, match=r"1 of 4 Test recordings have no audio file: pre"):
        deepfake_eval_2024.prepare(tmp_path / "db", tmp_path / "data", (4,))


@pytest.mark.parametrize(
    ("csv_text", "message"),
    [
        ("Filename,Split,Ground Truth\na.wav,Test,Real\n", r"csv:1: no column 'Finetuning Set'"),
        (
            "Filename,Finetuning Set,Ground Truth\na b.wav,Test,Real\na_b.mp3,Test,Fake\n",
            r"csv:3: 'a_b.mp3' and 'a b.wav' \(.*csv:2\) both become the id 'dfe24_a_b'",
        ),
        ("Filename,Finetuning Set,Ground Truth\n,Test,Real\n", r"csv:2: empty Filename"),
    ],
)
def test_malformed_deepfake_eval_2024_metadata_is_named(tmp_path, csv_text, message):
    (tmp_path / "meta.csv").write_text(csv_text)
    with pytest.raises(ProtocolError, match=message):
        deepfake_eval_2024.parse_metadata(tmp_path / "meta.csv")


def test_the_declared_deepfake_eval_2024_sets_are_the_module_s():
    segments = [deepfake_eval_2024.segment_set(n) for n in deepfake_eval_2024.SEGMENT_SECONDS]
    names = (deepfake_eval_2024.WHOLE_SET, *segments)
    assert CORPUS_SETS["deepfake_eval_2024"] == names


def test_segment_lengths_are_an_option_of_stage_1(tmp_path, capsys):
    deepfake_eval_2024_copy(tmp_path / "db")
    argv = ["--corpus", "deepfake_eval_2024", "--db_root", str(tmp_path / "db")]
    argv += ["--data_root", str(tmp_path / "data"), "--segment_seconds", "2.5"]
    assert prepare_eval_corpus.main(argv) == 0
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == [
        "dfeval2024",
        "dfeval2024_seg2.5",
    ]
    # 9.5 s, 3.0 s and 13.2 s: 4 + 2 + 6 segments of 2.5 s.
    assert f"{tmp_path / 'data/dfeval2024_seg2.5'}: 12 utterances" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        prepare_eval_corpus.main([*argv[:-1], "0"])


# --- MLAAD with M-AILABS -----------------------------------------------------------------------


def test_mlaad_sets_pair_each_language_with_the_recordings_its_clips_speak(tmp_path):
    expected = mlaad_with_mailabs(tmp_path / "db")
    out = prepare("mlaad", tmp_path / "db", tmp_path / "data")
    for lang, (bonafide, spoof) in expected.items():
        assert f"mlaad_{lang}: {bonafide + spoof} utterances" in out
        data_dir = tmp_path / "data" / f"mlaad_{lang}"
        summary = validate_data_dir(data_dir, check_audio_exists=True)
        assert (summary.num_bonafide, summary.num_spoof) == (bonafide, spoof)
        assert set(read_table(data_dir / "utt2lang").values()) == {lang}
    de = tmp_path / "data/mlaad_de"
    attacks = read_table(de / "utt2attack")
    assert attacks["mailabs_de_DE_grune_haus_01_f000001"] == "bonafide"
    assert attacks["mlaad_de_facebook_mms-tts_face_de_translated"] == "facebook_mms-tts"
    # The translated clip is spoof of German; its English original is bona fide of nothing here.
    assert not [utt for utt in attacks if "en_US" in utt]
    assert read_table(de / "utt2spk")["mailabs_de_DE_grune_haus_01_f000002"] == "de_DE_eva_k"
    en = read_table(tmp_path / "data/mlaad_en/utt2file")
    assert en["mailabs_en_US_pink_fairy_book_01_f000002"] == (
        "M-AILABS/en_US/by_book/male/elliot_miller/pink_fairy_book/wavs/"
        "pink_fairy_book_01_f000002.wav"
    )
    wav_scp = read_table(de / "wav.scp")
    db = (tmp_path / "db").resolve()
    # M-AILABS and the 16 kHz system are listed as they are; the 24 kHz system as copies.
    assert wav_scp["mailabs_de_DE_grune_haus_01_f000001"].startswith(f"{db}/M-AILABS/de_DE/")
    assert wav_scp["mlaad_de_facebook_mms-tts_face_de_001"].startswith(f"{db}/MLAAD/fake/de/")
    bark = "mlaad_de_tts_models_multilingual_multi-dataset_bark_tts__de_001"
    assert wav_scp[bark] == str(de / f"wav16k/{bark}.wav")


def test_mlaad_without_a_named_recording_is_an_error(tmp_path):
    mlaad_with_mailabs(tmp_path / "db")
    original = tmp_path / "db/M-AILABS" / mailabs_original("it_IT", 2)
    original.unlink()
    with pytest.raises(FileNotFoundError, match=r"it: 1 of 2 M-AILABS recordings are missing"):
        mlaad.prepare(tmp_path / "db", tmp_path / "data")
    assert mlaad.missing_files(tmp_path / "db", ("de", "it")) == [
        f"it: 1 of 2 M-AILABS recordings are missing (e.g. M-AILABS/{mailabs_original('it_IT', 2)})"
    ]


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("path|language|model_name\n", r"meta.csv:1: no column original_file in \['path', 'l"),
        (f"{MLAAD_HEADER}\n./fake/de/m/a.wav|de_DE/x.wav|de\n", r"meta.csv:2: 3 fields, the head"),
        (
            f"{MLAAD_HEADER}\n./fake/de/m/a.wav|wavs/x.wav|de|True|1|d|m|a|t|\n",
            r"meta.csv:2: original_file 'wavs/x.wav' names no M-AILABS recording",
        ),
    ],
)
def test_malformed_mlaad_meta_is_named_by_line(tmp_path, rows, message):
    (tmp_path / "MLAAD/fake/de/m").mkdir(parents=True)
    (tmp_path / "MLAAD/fake/de/m/meta.csv").write_text(rows)
    with pytest.raises(ProtocolError, match=message):
        mlaad.parse_language(tmp_path, "de")

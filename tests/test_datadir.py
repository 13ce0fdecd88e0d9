"""Data directories: validate, fix and split (src/antispoof/data/datadir.py), their CLIs and the
utils/*.sh wrappers; and shellcheck over the shell infrastructure."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile

from antispoof.data import datadir
from antispoof.data.audio import AudioError, read_audio
from antispoof.data.datadir import (
    DataDirError,
    fix_data_dir,
    split_data_dir,
    validate_data_dir,
)
from antispoof.data.kaldi_files import read_table

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent

# Six trials of three speakers: A01 and A02 spoofs, the rest bona fide.
UTTS = {
    "LA_0001": ("spk1", "bonafide", "bonafide"),
    "LA_0002": ("spk1", "spoof", "A01"),
    "LA_0003": ("spk2", "spoof", "A02"),
    "LA_0004": ("spk2", "bonafide", "bonafide"),
    "LA_0005": ("spk3", "spoof", "A01"),
    "LA_0006": ("spk1", "bonafide", "bonafide"),
}


def write_lines(path: Path, lines: list[str]) -> None:
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A valid data directory, files written by hand (not by the code under test)."""
    root = tmp_path / "data" / "train"
    root.mkdir(parents=True)
    audio = tmp_path / "audio"
    audio.mkdir()
    for utt in UTTS:
        (audio / f"{utt}.flac").write_bytes(b"")
    write_lines(root / "wav.scp", [f"{u} {audio}/{u}.flac" for u in UTTS])
    write_lines(root / "utt2spk", [f"{u} {spk}" for u, (spk, _, _) in UTTS.items()])
    write_lines(
        root / "spk2utt",
        ["spk1 LA_0001 LA_0002 LA_0006", "spk2 LA_0003 LA_0004", "spk3 LA_0005"],
    )
    write_lines(root / "utt2label", [f"{u} {label}" for u, (_, label, _) in UTTS.items()])
    write_lines(root / "utt2attack", [f"{u} {attack}" for u, (_, _, attack) in UTTS.items()])
    write_lines(root / "utt2dur", [f"{u} {1.5 + i}" for i, u in enumerate(UTTS)])
    write_lines(
        root / "utt2subset", [f"{u} {'eval' if i % 2 else 'progress'}" for i, u in enumerate(UTTS)]
    )
    return root


def replace_line(path: Path, index: int, line: str) -> None:
    lines = path.read_text().splitlines()
    lines[index] = line
    write_lines(path, lines)


def problems_of(data_dir: Path, **kwargs: bool) -> list[str]:
    with pytest.raises(DataDirError) as info:
        validate_data_dir(data_dir, **kwargs)
    return info.value.problems


def run_module(
    module: str, *args: str, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", f"antispoof.bin.{module}", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def run_script(script: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(
        ["bash", str(REPO / "utils" / script), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


# ---------------------------------------------------------------------------------------------
# validate


def test_valid_dir_passes_with_a_summary(data_dir: Path) -> None:
    summary = validate_data_dir(data_dir, check_audio_exists=True)
    assert summary.num_utts == 6
    assert summary.num_speakers == 3
    assert (summary.num_bonafide, summary.num_spoof) == (3, 3)
    assert summary.total_dur == pytest.approx(sum(1.5 + i for i in range(6)))
    assert "utt2subset" in summary.files
    assert "6 utterances (3 bonafide, 3 spoof), 3 speakers" in str(summary)


def test_unsorted_file(data_dir: Path) -> None:
    path = data_dir / "utt2label"
    lines = path.read_text().splitlines()
    lines[1], lines[2] = lines[2], lines[1]
    write_lines(path, lines)
    (problem,) = problems_of(data_dir)
    assert problem.startswith(f"{path}:3: not sorted: 'LA_0002' comes after 'LA_0003' on line 2")
    assert "LC_ALL=C" in problem


def test_c_locale_order_is_byte_order(data_dir: Path) -> None:
    # In C order upper case sorts before lower case ('B' < 'a'), unlike in most locales.
    for name in ("wav.scp", "utt2spk", "utt2label", "utt2attack", "utt2dur", "utt2subset"):
        path = data_dir / name
        text = path.read_text()
        path.write_text(text.replace("LA_0005", "LA_B").replace("LA_0006", "LA_a"))
    write_lines(
        data_dir / "spk2utt",
        ["spk1 LA_0001 LA_0002 LA_a", "spk2 LA_0003 LA_0004", "spk3 LA_B"],
    )
    validate_data_dir(data_dir)


def test_duplicate_key(data_dir: Path) -> None:
    path = data_dir / "utt2attack"
    lines = path.read_text().splitlines()
    write_lines(path, [*lines[:2], lines[1], *lines[2:]])
    assert problems_of(data_dir) == [f"{path}:3: duplicate key 'LA_0002' (first on line 2)"]


def test_key_set_mismatch_names_both_sides(data_dir: Path) -> None:
    path = data_dir / "utt2dur"
    lines = path.read_text().splitlines()
    write_lines(path, [*lines[:3], "LA_0003x 2.0", *lines[4:]])
    problems = problems_of(data_dir)
    assert f"{path}:4: utterance 'LA_0003x' is not in wav.scp" in problems
    assert f"{data_dir / 'wav.scp'}:4: utterance 'LA_0004' has no entry in utt2dur" in problems
    assert len(problems) == 2


def test_missing_required_file(data_dir: Path) -> None:
    (data_dir / "utt2attack").unlink()
    assert problems_of(data_dir) == [
        f"{data_dir / 'utt2attack'}: missing (a data directory needs it)"
    ]


@pytest.mark.parametrize(
    ("name", "index", "line", "expected"),
    [
        ("utt2label", 3, "LA_0004 bona-fide", "label 'bona-fide' of 'LA_0004' is not one of"),
        ("utt2subset", 0, "LA_0001 test", "subset 'test' of 'LA_0001' is not one of"),
        ("utt2dur", 2, "LA_0003 -1.0", "duration '-1.0' of 'LA_0003' is not a positive number"),
        ("utt2dur", 2, "LA_0003 nan", "duration 'nan' of 'LA_0003' is not a positive number"),
        ("utt2spk", 4, "LA_0005", "key 'LA_0005' has no value"),
    ],
)
def test_bad_values(data_dir: Path, name: str, index: int, line: str, expected: str) -> None:
    replace_line(data_dir / name, index, line)
    problems = problems_of(data_dir)
    assert any(p.startswith(f"{data_dir / name}:{index + 1}: {expected}") for p in problems), (
        problems
    )


@pytest.mark.parametrize(
    ("index", "attack"),
    [(1, "bonafide"), (0, "A03")],  # a spoof marked bona fide; a bona fide trial with an attack
)
def test_attack_label_mismatch(data_dir: Path, index: int, attack: str) -> None:
    utt = list(UTTS)[index]
    replace_line(data_dir / "utt2attack", index, f"{utt} {attack}")
    (problem,) = problems_of(data_dir)
    assert problem.startswith(
        f"{data_dir / 'utt2attack'}:{index + 1}: attack '{attack}' of '{utt}'"
    )
    assert f"{data_dir / 'utt2label'}:{index + 1}" in problem


@pytest.mark.parametrize(
    ("spk2utt", "expected"),
    [
        (
            ["spk1 LA_0001 LA_0002", "spk2 LA_0003 LA_0004", "spk3 LA_0005"],
            "utt2spk:6: utterance 'LA_0006' of speaker 'spk1' is missing from spk2utt",
        ),
        (
            ["spk1 LA_0001 LA_0002 LA_0006", "spk2 LA_0003 LA_0004 LA_0005"],
            "spk2utt:2: utterance 'LA_0005' is listed under speaker 'spk2', but",
        ),
        (
            ["spk1 LA_0002 LA_0001 LA_0006", "spk2 LA_0003 LA_0004", "spk3 LA_0005"],
            "spk2utt:1: utterances of speaker 'spk1' are not sorted",
        ),
        (
            ["spk1 LA_0001 LA_0002 LA_0006 LA_0009", "spk2 LA_0003 LA_0004", "spk3 LA_0005"],
            "spk2utt:1: utterance 'LA_0009' of speaker 'spk1' is not in utt2spk",
        ),
    ],
)
def test_spk2utt_must_invert_utt2spk(data_dir: Path, spk2utt: list[str], expected: str) -> None:
    write_lines(data_dir / "spk2utt", spk2utt)
    problems = problems_of(data_dir)
    assert any(p.startswith(f"{data_dir}/{expected}") for p in problems), problems


def test_crlf_line(data_dir: Path) -> None:
    path = data_dir / "utt2label"
    path.write_bytes(path.read_bytes().replace(b"LA_0002 spoof\n", b"LA_0002 spoof\r\n"))
    (problem,) = problems_of(data_dir)
    assert problem.startswith(f"{path}:2: carriage return (CRLF line ending); strip it with")
    with pytest.raises(DataDirError, match=r"utt2label:2: carriage return"):
        fix_data_dir(data_dir)


def test_all_problems_are_listed_together(data_dir: Path) -> None:
    replace_line(data_dir / "utt2label", 3, "LA_0004 real")
    replace_line(data_dir / "utt2dur", 0, "LA_0001 0")
    (data_dir / "utt2codec").write_text("LA_0001 none\r\n")
    with pytest.raises(DataDirError) as info:
        validate_data_dir(data_dir)
    message = str(info.value)
    assert message.startswith(f"{data_dir}: 3 problems:\n")
    for fragment in ("utt2label:4:", "utt2dur:1:", "utt2codec:1: carriage return"):
        assert fragment in message


def test_problem_list_is_capped(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(datadir, "MAX_PROBLEMS", 3)
    write_lines(
        data_dir / "utt2dur", [f"{u} -1" for u in UTTS] + [f"x{i:03d} 1" for i in range(80)]
    )
    with pytest.raises(DataDirError) as info:
        validate_data_dir(data_dir)
    assert len(info.value.problems) == 3
    assert info.value.total > len(info.value.problems)
    assert "... and" in str(info.value)


def test_check_audio_exists(data_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "audio" / "LA_0003.flac").unlink()
    validate_data_dir(data_dir)  # off by default
    (problem,) = problems_of(data_dir, check_audio_exists=True)
    assert problem.startswith(f"{data_dir / 'wav.scp'}:3: audio file of 'LA_0003' does not exist")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("sox x.wav -t wav - |", "pipe commands are not supported: .* list their paths in wav.scp"),
        ("{audio}/raw.ark:1234", "ark offsets are not supported: .* extract the audio to files"),
        ("-", "standard input"),
    ],
)
def test_wav_scp_forms_the_reader_refuses_are_problems(
    data_dir: Path, tmp_path: Path, value: str, message: str
) -> None:
    """Pipes and ark offsets are refused by read_audio, so the validator refuses them too."""
    value = value.format(audio=tmp_path / "audio")
    (tmp_path / "audio" / "raw.ark").write_bytes(b"")  # an existing ark does not help
    replace_line(data_dir / "wav.scp", 1, f"LA_0002 {value}")
    for check_audio_exists in (False, True):
        (problem,) = problems_of(data_dir, check_audio_exists=check_audio_exists)
        assert re.match(rf"{re.escape(str(data_dir / 'wav.scp'))}:2: {message}", problem)
        with pytest.raises(AudioError, match=message):
            read_audio(value)


def write_audio(path: Path, seconds: float, rate: int = 16000) -> Path:
    samples = 0.1 * np.sin(np.arange(int(seconds * rate)) / 5.0)
    # WAV data under the .flac names of the fixture: soundfile reads the header, not the name.
    soundfile.write(path, samples.astype(np.float32), rate, subtype="FLOAT", format="WAV")
    return path


def test_check_audio_lists_every_bad_file_in_one_run(data_dir: Path, tmp_path: Path) -> None:
    audio = tmp_path / "audio"
    for utt in UTTS:
        write_audio(audio / f"{utt}.flac", 0.5)
    summary = validate_data_dir(data_dir, check_audio=True)
    assert (summary.audio_checked, summary.audio_dur) == (6, pytest.approx(3.0))
    assert "audio checked: 6 files, 0.00 h" in str(summary)

    nan = 0.1 * np.ones(1600, dtype=np.float32)
    nan[800] = np.nan
    soundfile.write(audio / "LA_0002.flac", nan, 16000, subtype="FLOAT", format="WAV")
    write_audio(audio / "LA_0003.flac", 0.5, rate=8000)
    write_audio(audio / "LA_0004.flac", 0.0)
    (audio / "LA_0005.flac").write_bytes(b"fLaC not really")
    (audio / "LA_0006.flac").unlink()
    validate_data_dir(data_dir)  # off by default
    wav_scp = data_dir / "wav.scp"
    *problems, unreadable = problems_of(data_dir, check_audio=True)
    assert problems == [
        f"{wav_scp}:6: audio file of 'LA_0006' does not exist: {audio}/LA_0006.flac",
        f"{wav_scp}:2: {audio}/LA_0002.flac holds 1 non-finite sample(s) (NaN or inf), the first "
        "at frame 800 (0.050 s); the file is corrupt: re-create it, or remove the utterance from "
        "wav.scp and run utils/fix_data_dir.sh",
        f"{wav_scp}:3: {audio}/LA_0003.flac has sample rate 8000, expected 16000",
        f"{wav_scp}:4: {audio}/LA_0004.flac is empty",
    ]
    assert unreadable.startswith(f"{wav_scp}:5: cannot read audio {audio}/LA_0005.flac: ")


def test_check_audio_keeps_the_problem_cap(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(datadir, "MAX_PROBLEMS", 2)
    monkeypatch.setattr(datadir, "AUDIO_SCAN_CHUNK", 4)  # several chunks
    with pytest.raises(DataDirError) as info:
        validate_data_dir(data_dir, check_audio=True)  # six empty files: none reads
    assert info.value.total == 6
    assert len(info.value.problems) == 2
    assert "... and 4 more" in str(info.value)


def test_byte_order_mark_at_the_start_of_a_table_is_dropped(data_dir: Path) -> None:
    for name in ("wav.scp", "utt2spk", "spk2utt"):
        path = data_dir / name
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    summary = validate_data_dir(data_dir, check_audio_exists=True)
    assert (summary.num_utts, summary.num_speakers) == (6, 3)
    assert next(iter(read_table(data_dir / "utt2spk"))) == "LA_0001"
    assert next(iter(read_table(data_dir / "spk2utt"))) == "spk1"
    # fix_data_dir rewrites the tables without the mark.
    assert set(fix_data_dir(data_dir).rewritten) == {"wav.scp", "utt2spk", "spk2utt"}
    assert (data_dir / "utt2spk").read_bytes().startswith(b"LA_0001 spk1\n")


def test_byte_order_mark_inside_a_table_is_a_problem(data_dir: Path) -> None:
    path = data_dir / "utt2label"
    lines = path.read_text().splitlines()
    write_lines(path, [*lines[:3], "\ufeff" + lines[3], *lines[4:]])  # files concatenated
    (problem,) = problems_of(data_dir)
    assert problem.startswith(f"{path}:4: byte-order mark (U+FEFF) inside the file")


def test_other_files_and_subdirs_are_ignored(data_dir: Path) -> None:
    (data_dir / "asv_scores.txt").write_text("anything goes\n\n")
    (data_dir / ".backup").mkdir()
    (data_dir / ".backup" / "utt2label").write_text("junk\n")
    validate_data_dir(data_dir)


def test_validate_cli(data_dir: Path) -> None:
    result = run_module("validate_data_dir", "--check_audio_exists", str(data_dir))
    assert result.returncode == 0, result.stderr
    assert "6 utterances" in result.stdout

    replace_line(data_dir / "utt2label", 0, "LA_0001 yes")
    result = run_module("validate_data_dir", str(data_dir))
    assert result.returncode == 1
    assert f"{data_dir / 'utt2label'}:1:" in result.stderr
    assert "Traceback" not in result.stderr


def test_validate_cli_help_starts_with_usage() -> None:
    result = run_module("validate_data_dir", "--help")
    assert result.returncode == 0
    assert "Usage: python -m antispoof.bin.validate_data_dir" in result.stdout


def test_validate_script(data_dir: Path, tmp_path: Path) -> None:
    result = run_script(
        "validate_data_dir.sh", "--check-audio-exists", "true", str(data_dir), cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    result = run_script(
        "validate_data_dir.sh", "--check_audio", "true", str(data_dir), cwd=tmp_path
    )
    assert result.returncode == 1  # the fixture's audio files are empty
    assert f"{data_dir / 'wav.scp'}:6: cannot read audio" in result.stderr
    for utt in UTTS:
        write_audio(tmp_path / "audio" / f"{utt}.flac", 0.25)
    result = run_module("validate_data_dir", "--check_audio", str(data_dir))
    assert result.returncode == 0, result.stderr
    assert "audio checked: 6 files" in result.stdout
    (tmp_path / "audio" / "LA_0002.flac").unlink()
    result = run_script(
        "validate_data_dir.sh", "--check-audio-exists", "true", str(data_dir), cwd=tmp_path
    )
    assert result.returncode == 1
    assert "LA_0002" in result.stderr
    result = run_script("validate_data_dir.sh", cwd=tmp_path)
    assert result.returncode == 1
    assert "Usage:" in result.stderr


# ---------------------------------------------------------------------------------------------
# fix


def test_fix_keeps_the_common_utterances(data_dir: Path) -> None:
    original_label = (data_dir / "utt2label").read_text()
    # wav.scp lacks LA_0003; utt2dur lacks LA_0005 and has an extra; utt2attack is unsorted;
    # spk2utt is stale.
    lines = (data_dir / "wav.scp").read_text().splitlines()
    write_lines(data_dir / "wav.scp", lines[:2] + lines[3:])
    lines = (data_dir / "utt2dur").read_text().splitlines()
    write_lines(data_dir / "utt2dur", [*lines[:4], lines[5], "LA_0007 1.0"])
    lines = (data_dir / "utt2attack").read_text().splitlines()
    write_lines(data_dir / "utt2attack", lines[::-1])
    write_lines(data_dir / "spk2utt", ["spk1 LA_0001"])

    report = fix_data_dir(data_dir)

    assert report.num_kept == 4
    assert report.removed["wav.scp"] == 1
    assert report.removed["utt2dur"] == 2
    assert report.removed["utt2label"] == 2
    assert "utt2label" in report.rewritten
    assert (data_dir / ".backup" / "utt2label").read_text() == original_label
    assert (data_dir / ".backup" / "spk2utt").read_text() == "spk1 LA_0001\n"
    summary = validate_data_dir(data_dir)
    assert summary.num_utts == 4
    assert (data_dir / "utt2attack").read_text().splitlines()[0] == "LA_0001 bonafide"
    assert (data_dir / "spk2utt").read_text() == "spk1 LA_0001 LA_0002 LA_0006\nspk2 LA_0004\n"


def test_fix_leaves_a_valid_dir_untouched(data_dir: Path) -> None:
    before = {path.name: path.stat().st_mtime_ns for path in data_dir.iterdir()}
    report = fix_data_dir(data_dir)
    assert report.rewritten == ()
    assert report.backup_dir is None
    assert not (data_dir / ".backup").exists()
    assert {path.name: path.stat().st_mtime_ns for path in data_dir.iterdir()} == before
    assert "nothing to fix" in str(report)


def test_fix_merges_identical_duplicates_and_refuses_conflicting_ones(data_dir: Path) -> None:
    path = data_dir / "utt2label"
    lines = path.read_text().splitlines()
    write_lines(path, [*lines[:2], lines[1], *lines[2:]])
    assert fix_data_dir(data_dir).removed["utt2label"] == 1
    validate_data_dir(data_dir)

    write_lines(path, [*lines[:2], "LA_0002 bonafide", *lines[2:]])
    with pytest.raises(DataDirError, match=r"utt2label:3: key 'LA_0002' has a second"):
        fix_data_dir(data_dir)


def test_fix_cli_and_script(data_dir: Path, tmp_path: Path) -> None:
    lines = (data_dir / "utt2label").read_text().splitlines()
    write_lines(data_dir / "utt2label", lines[1:])
    result = run_script("fix_data_dir.sh", str(data_dir), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "kept 5 utterances" in result.stdout
    assert "wav.scp 1" in result.stdout
    validate_data_dir(data_dir)

    result = run_module("fix_data_dir", str(tmp_path / "nowhere"))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr


# ---------------------------------------------------------------------------------------------
# split


def test_split_is_complete_consistent_and_balanced(data_dir: Path) -> None:
    parts = split_data_dir(data_dir, 4)
    assert parts == [data_dir / "split4" / str(n) for n in range(1, 5)]
    utts_per_part = []
    for part in parts:
        summary = validate_data_dir(part)  # each part is itself a valid data directory
        assert summary.files == validate_data_dir(data_dir).files
        utts_per_part.append(
            [line.split()[0] for line in (part / "wav.scp").read_text().splitlines()]
        )
    assert [len(utts) for utts in utts_per_part] == [2, 2, 1, 1]
    assert [utt for utts in utts_per_part for utt in utts] == list(UTTS)  # contiguous, in order
    for name in ("wav.scp", "utt2label", "utt2dur"):
        joined = "".join((part / name).read_text() for part in parts)
        assert joined == (data_dir / name).read_text()
    assert (parts[0] / "spk2utt").read_text() == "spk1 LA_0001 LA_0002\n"


def test_split_is_reused_until_a_source_changes(data_dir: Path) -> None:
    # File times tick in jiffies: set them apart explicitly instead of sleeping.
    past = time.time() - 60
    for path in data_dir.iterdir():
        os.utime(path, (past, past))
    split_data_dir(data_dir, 2)
    part_file = data_dir / "split2" / "1" / "wav.scp"
    made = part_file.stat().st_mtime_ns
    split_data_dir(data_dir, 2)
    assert part_file.stat().st_mtime_ns == made

    replace_line(data_dir / "utt2dur", 0, "LA_0001 9.0")
    future = time.time() + 60
    os.utime(data_dir / "utt2dur", (future, future))
    split_data_dir(data_dir, 2)
    assert (data_dir / "split2" / "1" / "utt2dur").read_text().startswith("LA_0001 9.0\n")


def test_split_errors(data_dir: Path) -> None:
    with pytest.raises(DataDirError, match="cannot split 6 utterances into 7 parts"):
        split_data_dir(data_dir, 7)
    with pytest.raises(DataDirError, match="0 parts"):
        split_data_dir(data_dir, 0)
    replace_line(data_dir / "utt2label", 0, "LA_0001 maybe")
    with pytest.raises(DataDirError, match="utt2label:1"):
        split_data_dir(data_dir, 2)
    assert not (data_dir / "split2").exists()


def test_split_script(data_dir: Path, tmp_path: Path) -> None:
    result = run_script("split_data.sh", str(data_dir), "3", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (data_dir / "split3").iterdir() if p.is_dir()) == ["1", "2", "3"]
    result = run_script("split_data.sh", str(data_dir), "60", cwd=tmp_path)
    assert result.returncode == 1
    assert "cannot split 6 utterances into 60 parts" in result.stderr
    assert "Traceback" not in result.stderr

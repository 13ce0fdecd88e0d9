"""Data directories: validate, fix and split (src/antispoof/data/datadir.py), their CLIs and the
utils/*.sh wrappers; and shellcheck over the shell infrastructure."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from antispoof.data import datadir
from antispoof.data.datadir import (
    DataDirError,
    fix_data_dir,
    split_data_dir,
    validate_data_dir,
)

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
    replace_line(data_dir / "wav.scp", 0, "LA_0001 sox x.wav -t wav - |")  # pipes are not checked
    (problem,) = problems_of(data_dir, check_audio_exists=True)
    assert problem.startswith(f"{data_dir / 'wav.scp'}:3: audio file of 'LA_0003' does not exist")


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

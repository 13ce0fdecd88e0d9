"""Kaldi data directories (`data/<set>/`): validate, fix and split them.

The contract (docs/DESIGN.md): `wav.scp`, `utt2spk`, `spk2utt`, `utt2label` (`bonafide` | `spoof`),
`utt2attack` (`A01`..., or `bonafide`), and where the corpus has them `utt2codec`, `utt2subset`
(`eval` | `progress` | `hidden`), `utt2vocoder`, `utt2dur`, `utt2channel`, or any other `utt2*`
table. Every file is sorted in C locale (byte) order with unique keys; `wav.scp` and every
`utt2*` file hold the same utterances; `spk2utt` is exactly the inverse of `utt2spk`.

Only these files take part: other files (`asv_scores.txt`) and subdirectories (`split4/`,
`.backup/`) are left alone.

A `wav.scp` value is the path of an audio file that soundfile reads (antispoof.data.audio
defines it for the reader and this validator alike); with `check_audio`, every file is opened
and read through. A split part records in `split_origin` where its lines come from, so that an
error met while processing the part names the line of the original directory (`line_origin`).
"""

from __future__ import annotations

import math
import os
import re
import shutil
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from antispoof.data.audio import (
    EXPECTED_SAMPLE_RATE,
    AudioError,
    scan_audio,
    unsupported_wav_scp_value,
)
from antispoof.data.kaldi_files import (
    TableError,
    iter_table,
    read_table,
    read_text_bytes,
    write_table,
)
from antispoof.labels import BONAFIDE_NAME, NAMES, SPOOF_NAME

REQUIRED_FILES = ("wav.scp", "utt2spk", "spk2utt", "utt2label", "utt2attack")
SUBSETS = ("eval", "progress", "hidden")
MAX_PROBLEMS = 50  # problems listed in one DataDirError; the rest are counted
MAX_KEY_EXAMPLES = 5  # utterances named per file for a key-set mismatch
# Audio files read at once by check_audio: libsndfile decodes without the GIL, and reads from
# network storage overlap.
AUDIO_SCAN_THREADS = min(8, os.cpu_count() or 1)
AUDIO_SCAN_CHUNK = 1024  # files handed to the threads at a time, so memory stays bounded

_UTT_FILE = re.compile(r"utt2[A-Za-z0-9_]+")


class DataDirError(ValueError):
    """An invalid data directory; `problems` holds one `file:line: message` string per problem."""

    def __init__(
        self, data_dir: str | os.PathLike[str], problems: list[str], total: int | None = None
    ) -> None:
        total = len(problems) if total is None else total
        self.data_dir = Path(data_dir)
        self.problems = problems
        self.total = total
        if total == len(problems) == 1:  # one line, naming the directory once
            (problem,) = problems
            prefix = "" if problem.startswith(str(data_dir)) else f"{data_dir}: "
            super().__init__(f"{prefix}{problem}")
            return
        lines = [f"{data_dir}: {total} problems:"]
        lines += [f"  {problem}" for problem in problems]
        if total > len(problems):
            lines.append(f"  ... and {total - len(problems)} more")
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class DataDirSummary:
    """What a valid data directory holds."""

    data_dir: Path
    num_utts: int
    num_speakers: int
    num_bonafide: int
    num_spoof: int
    files: tuple[str, ...]
    total_dur: float | None = None  # seconds, when utt2dur is present
    audio_checked: int | None = None  # audio files read through, with check_audio
    audio_dur: float | None = None  # their total duration in seconds, as read

    def __str__(self) -> str:
        text = (
            f"{self.data_dir}: {self.num_utts} utterances ({self.num_bonafide} bonafide, "
            f"{self.num_spoof} spoof), {self.num_speakers} speakers"
        )
        if self.total_dur is not None:
            text += f", {self.total_dur / 3600:.2f} h"
        if self.audio_checked is not None and self.audio_dur is not None:
            text += (
                f"; audio checked: {self.audio_checked} files, {self.audio_dur / 3600:.2f} h, "
                f"all readable, {EXPECTED_SAMPLE_RATE} Hz, non-empty and finite"
            )
        return f"{text}; files: {' '.join(self.files)}"


@dataclass(frozen=True)
class FixReport:
    """What fix_data_dir changed: utterances removed per file, files rewritten, backup place."""

    data_dir: Path
    num_kept: int
    removed: dict[str, int]
    rewritten: tuple[str, ...]
    backup_dir: Path | None

    def __str__(self) -> str:
        if not self.rewritten:
            return f"{self.data_dir}: {self.num_kept} utterances; nothing to fix"
        removed = ", ".join(f"{name} {count}" for name, count in self.removed.items())
        return (
            f"{self.data_dir}: kept {self.num_kept} utterances; removed per file: {removed}; "
            f"rewrote {' '.join(self.rewritten)}; originals in {self.backup_dir}"
        )


def utt_file_names(data_dir: str | os.PathLike[str]) -> list[str]:
    """`wav.scp` (if present) and the `utt2*` tables present in `data_dir`, sorted."""
    data_dir = Path(data_dir)
    names = [
        entry.name
        for entry in data_dir.iterdir()
        if entry.is_file() and _UTT_FILE.fullmatch(entry.name)
    ]
    if (data_dir / "wav.scp").is_file():
        names.append("wav.scp")
    return sorted(names)


def _c_order(key: str) -> bytes:
    """The sort key of `LC_ALL=C sort`: the bytes of the UTF-8 encoding."""
    return key.encode("utf-8")


# ---------------------------------------------------------------------------------------------
# validation


class _Problems:
    """Problems found so far: the first MAX_PROBLEMS are kept, all are counted."""

    def __init__(self) -> None:
        self.kept: list[str] = []
        self.total = 0

    def add(self, problem: str) -> None:
        self.total += 1
        if len(self.kept) < MAX_PROBLEMS:
            self.kept.append(problem)


@dataclass
class _Table:
    """One file as read for validation: key -> (line number, value) of its first occurrence."""

    path: Path
    entries: dict[str, tuple[int, str]] = field(default_factory=dict)
    complete: bool = True  # False when a malformed line stopped the reading

    def where(self, key: str) -> str:
        return f"{self.path}:{self.entries[key][0]}"

    def value(self, key: str) -> str:
        return self.entries[key][1]


def _carriage_returns(path: Path) -> str | None:
    """A problem naming the first line with a carriage return (CRLF ending), if any.

    Checked on the bytes: Python's text mode turns CRLF into LF before a reader could see it.
    """
    data = read_text_bytes(path)
    if b"\r" not in data:
        return None
    lines = [n for n, line in enumerate(data.split(b"\n"), start=1) if b"\r" in line]
    more = f" (and {len(lines) - 1} more such lines)" if len(lines) > 1 else ""
    return (
        f"{path}:{lines[0]}: carriage return (CRLF line ending){more}; "
        f"strip it with: sed -i 's/\\r$//' {path}"
    )


def _read_checked(path: Path, problems: _Problems) -> _Table:
    """Read a table, reporting duplicate keys, missing values and breaks in the sort order."""
    table = _Table(path)
    crlf = _carriage_returns(path)
    if crlf is not None:
        problems.add(crlf)
        table.complete = False
        return table
    previous: tuple[int, str] | None = None
    unsorted: list[str] = []
    try:
        for line_number, key, value in iter_table(path):
            if key in table.entries:
                first = table.entries[key][0]
                problems.add(f"{path}:{line_number}: duplicate key {key!r} (first on line {first})")
            elif not value:
                problems.add(f"{path}:{line_number}: key {key!r} has no value")
                table.entries[key] = (line_number, value)
            else:
                table.entries[key] = (line_number, value)
            if previous is not None and _c_order(key) < _c_order(previous[1]):
                unsorted.append(
                    f"{path}:{line_number}: not sorted: {key!r} comes after "
                    f"{previous[1]!r} on line {previous[0]}"
                )
            previous = (line_number, key)
    except TableError as err:
        problems.add(str(err))
        table.complete = False
    if unsorted:
        more = f" (and {len(unsorted) - 1} more such lines)" if len(unsorted) > 1 else ""
        problems.add(f"{unsorted[0]}{more}; sort with LC_ALL=C sort")
    return table


def _check_values(name: str, table: _Table, check_audio_exists: bool, problems: _Problems) -> None:
    """Value checks of one file: allowed labels and subsets, positive durations, audio paths.

    Every `wav.scp` value must be a path (no pipe or ark offset); with `check_audio_exists`,
    the path of an existing file.
    """
    for key, (line_number, value) in table.entries.items():
        where = f"{table.path}:{line_number}"
        if not value:
            continue  # already reported by _read_checked
        if name == "utt2label" and value not in NAMES:
            problems.add(f"{where}: label {value!r} of {key!r} is not one of {', '.join(NAMES)}")
        elif name == "utt2subset" and value not in SUBSETS:
            problems.add(f"{where}: subset {value!r} of {key!r} is not one of {', '.join(SUBSETS)}")
        elif name == "utt2dur" and not _is_positive_float(value):
            problems.add(f"{where}: duration {value!r} of {key!r} is not a positive number")
        elif name in ("utt2spk", "utt2attack") and len(value.split()) != 1:
            problems.add(f"{where}: value {value!r} of {key!r} must be one token")
        elif name == "wav.scp" and (reason := unsupported_wav_scp_value(value)) is not None:
            problems.add(f"{where}: {reason}")
        elif name == "wav.scp" and check_audio_exists and not Path(value).is_file():
            problems.add(f"{where}: audio file of {key!r} does not exist: {value}")


def _is_positive_float(text: str) -> bool:
    try:
        number = float(text)
    except ValueError:
        return False
    return math.isfinite(number) and number > 0


def _scan_wav_scp(wav_scp: _Table, problems: _Problems) -> tuple[int, float]:
    """Read every audio file of `wav.scp` through; report each bad one as a problem.

    Entries already reported (not a path, or no such file) are skipped. Returns the number of
    files read and the total duration in seconds of the good ones.
    """
    entries = [
        (f"{wav_scp.path}:{line_number}", value)
        for line_number, value in wav_scp.entries.values()
        if value and unsupported_wav_scp_value(value) is None and Path(value).is_file()
    ]
    seconds = 0.0
    for result in _scan_in_threads(entries):
        if isinstance(result, str):
            problems.add(result)
        else:
            seconds += result / EXPECTED_SAMPLE_RATE
    return len(entries), seconds


def _scan_in_threads(entries: list[tuple[str, str]]) -> Iterator[int | str]:
    """For each `(where, path)`, in order: the file's frame count, or the AudioError message."""

    def scan(entry: tuple[str, str]) -> int | str:
        where, path = entry
        try:
            return scan_audio(path, where)
        except AudioError as err:
            return str(err)

    with ThreadPoolExecutor(AUDIO_SCAN_THREADS) as pool:
        for start in range(0, len(entries), AUDIO_SCAN_CHUNK):
            yield from pool.map(scan, entries[start : start + AUDIO_SCAN_CHUNK])


def _check_keys(reference: _Table, other: _Table, problems: _Problems) -> None:
    """`other` must hold exactly the utterances of `reference`; name a few of each difference."""
    extra = [key for key in other.entries if key not in reference.entries]
    missing = [key for key in reference.entries if key not in other.entries]
    for key in extra[:MAX_KEY_EXAMPLES]:
        problems.add(f"{other.where(key)}: utterance {key!r} is not in {reference.path.name}")
    if len(extra) > MAX_KEY_EXAMPLES:
        problems.add(
            f"{other.path}: {len(extra) - MAX_KEY_EXAMPLES} more utterances "
            f"are not in {reference.path.name}"
        )
    for key in missing[:MAX_KEY_EXAMPLES]:
        problems.add(f"{reference.where(key)}: utterance {key!r} has no entry in {other.path.name}")
    if len(missing) > MAX_KEY_EXAMPLES:
        problems.add(
            f"{other.path}: {len(missing) - MAX_KEY_EXAMPLES} more utterances "
            f"of {reference.path.name} have no entry"
        )


def _check_attack_label(labels: _Table, attacks: _Table, problems: _Problems) -> None:
    """`utt2attack` is `bonafide` exactly for the bona fide utterances of `utt2label`."""
    for key, (line_number, attack) in attacks.entries.items():
        if key not in labels.entries or labels.value(key) not in NAMES:
            continue  # reported as a key-set or label problem
        label = labels.value(key)
        if (attack == BONAFIDE_NAME) != (label == BONAFIDE_NAME):
            problems.add(
                f"{attacks.path}:{line_number}: attack {attack!r} of {key!r} does not match "
                f"its label {label!r} ({labels.where(key)}); "
                f"it is {BONAFIDE_NAME!r} exactly for bona fide trials"
            )


def _check_spk2utt(utt2spk: _Table, spk2utt: _Table, problems: _Problems) -> None:
    """`spk2utt` must be the inverse of `utt2spk`, each utterance list sorted."""
    listed: dict[str, str] = {}  # utterance -> speaker, as spk2utt says
    for speaker, (line_number, value) in spk2utt.entries.items():
        where = f"{spk2utt.path}:{line_number}"
        utts = value.split()
        if [_c_order(u) for u in utts] != sorted(_c_order(u) for u in utts):
            problems.add(f"{where}: utterances of speaker {speaker!r} are not sorted")
        for utt in utts:
            if utt in listed:
                problems.add(
                    f"{where}: utterance {utt!r} is listed under {speaker!r} and "
                    f"under {listed[utt]!r}"
                )
                continue
            listed[utt] = speaker
            if utt not in utt2spk.entries:
                problems.add(f"{where}: utterance {utt!r} of speaker {speaker!r} is not in utt2spk")
            elif utt2spk.value(utt) != speaker:
                problems.add(
                    f"{where}: utterance {utt!r} is listed under speaker {speaker!r}, but "
                    f"{utt2spk.where(utt)} gives speaker {utt2spk.value(utt)!r}"
                )
    for utt, (line_number, speaker) in utt2spk.entries.items():
        if utt not in listed and speaker:
            problems.add(
                f"{utt2spk.path}:{line_number}: utterance {utt!r} of speaker {speaker!r} "
                f"is missing from {spk2utt.path.name}"
            )


def validate_data_dir(
    data_dir: str | os.PathLike[str], check_audio_exists: bool = False, check_audio: bool = False
) -> DataDirSummary:
    """Check a data directory against the contract; raise DataDirError listing every problem.

    Each `wav.scp` value must be a path (pipe commands and ark offsets are problems). With
    `check_audio_exists`, each path must be an existing file (relative paths are taken from the
    current directory, as Kaldi does). With `check_audio` (which implies it), every file is
    read through: it must be readable, at 16 kHz, not empty and free of NaN or infinite
    samples; every bad file is listed.
    """
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise DataDirError(data_dir, [f"{data_dir}: not a directory"])
    problems = _Problems()
    names = utt_file_names(data_dir)
    present = set(names) | ({"spk2utt"} if (data_dir / "spk2utt").is_file() else set())
    for name in REQUIRED_FILES:
        if name not in present:
            problems.add(f"{data_dir / name}: missing (a data directory needs it)")

    tables = {name: _read_checked(data_dir / name, problems) for name in names}
    for name, table in tables.items():
        _check_values(name, table, check_audio_exists or check_audio, problems)
    audio = (
        _scan_wav_scp(tables["wav.scp"], problems) if check_audio and "wav.scp" in tables else None
    )
    complete = {name: table for name, table in tables.items() if table.complete}
    reference = complete.get("wav.scp") or next(iter(complete.values()), None)
    if reference is not None:
        for table in complete.values():
            if table is not reference:
                _check_keys(reference, table, problems)
    if "utt2label" in complete and "utt2attack" in complete:
        _check_attack_label(complete["utt2label"], complete["utt2attack"], problems)
    if "spk2utt" in present:
        spk2utt = _read_checked(data_dir / "spk2utt", problems)
        if spk2utt.complete and "utt2spk" in complete:
            _check_spk2utt(complete["utt2spk"], spk2utt, problems)

    if problems.total:
        raise DataDirError(data_dir, problems.kept, problems.total)
    return _summary(data_dir, tables, audio)


def _summary(
    data_dir: Path, tables: Mapping[str, _Table], audio: tuple[int, float] | None
) -> DataDirSummary:
    labels = Counter(value for _, value in tables["utt2label"].entries.values())
    durations = tables.get("utt2dur")
    audio_checked, audio_dur = audio if audio is not None else (None, None)
    return DataDirSummary(
        data_dir=data_dir,
        num_utts=len(tables["wav.scp"].entries),
        num_speakers=len({value for _, value in tables["utt2spk"].entries.values()}),
        num_bonafide=labels[BONAFIDE_NAME],
        num_spoof=labels[SPOOF_NAME],
        files=tuple(sorted([*tables, "spk2utt"])),
        total_dur=(
            sum(float(value) for _, value in durations.entries.values()) if durations else None
        ),
        audio_checked=audio_checked,
        audio_dur=audio_dur,
    )


# ---------------------------------------------------------------------------------------------
# fixing


def _read_for_fix(path: Path) -> tuple[dict[str, str], int]:
    """Read a table, merging identical duplicate lines and dropping keys without a value.

    Returns the entries and the number of lines dropped. Conflicting duplicates are an error:
    there is no telling which line is right.
    """
    crlf = _carriage_returns(path)
    if crlf is not None:
        raise DataDirError(path.parent, [crlf])
    entries: dict[str, str] = {}
    first_line: dict[str, int] = {}
    dropped = 0
    try:
        for line_number, key, value in iter_table(path):
            if key in entries and entries[key] != value:
                raise DataDirError(
                    path.parent,
                    [
                        f"{path}:{line_number}: key {key!r} has a second, different value "
                        f"(first on line {first_line[key]}); fix_data_dir cannot choose"
                    ],
                )
            if key in entries or not value:
                dropped += 1
                continue
            entries[key] = value
            first_line[key] = line_number
    except TableError as err:
        raise DataDirError(path.parent, [str(err)]) from err
    return entries, dropped


def _render(entries: Mapping[str, str]) -> str:
    """The text write_table writes for these entries."""
    keys = sorted(entries, key=_c_order)
    return "".join(f"{key} {entries[key]}\n" for key in keys)


def _invert(utt2spk: Mapping[str, str]) -> dict[str, str]:
    """spk2utt from utt2spk: each speaker's utterances, sorted in C order."""
    spk2utts: dict[str, list[str]] = defaultdict(list)
    for utt in sorted(utt2spk, key=_c_order):
        spk2utts[utt2spk[utt]].append(utt)
    return {speaker: " ".join(utts) for speaker, utts in spk2utts.items()}


def fix_data_dir(data_dir: str | os.PathLike[str]) -> FixReport:
    """Keep the utterances present in `wav.scp` and every `utt2*` file, sorted; rebuild spk2utt.

    Changed files are first copied to `<data_dir>/.backup/`; unchanged files are not touched
    (so split directories stay valid). The result is not validated: labels, durations and the
    like are left as they are for validate_data_dir to judge.
    """
    data_dir = Path(data_dir)
    names = utt_file_names(data_dir)
    for name in ("wav.scp", "utt2spk"):
        if name not in names:
            raise DataDirError(data_dir, [f"{data_dir / name}: missing (cannot fix without it)"])
    tables: dict[str, dict[str, str]] = {}
    removed: dict[str, int] = {}
    for name in names:
        tables[name], removed[name] = _read_for_fix(data_dir / name)
    keep = set.intersection(*(set(table) for table in tables.values()))
    new_tables = {
        name: {k: v for k, v in table.items() if k in keep} for name, table in tables.items()
    }
    for name, table in tables.items():
        removed[name] += len(table) - len(keep)
    new_tables["spk2utt"] = _invert(new_tables["utt2spk"])

    changed = [name for name, table in new_tables.items() if not _same_text(data_dir / name, table)]
    backup_dir = data_dir / ".backup" if changed else None
    for name in changed:
        _backup(data_dir / name, data_dir / ".backup")
        write_table(data_dir / name, new_tables[name])
    return FixReport(data_dir, len(keep), removed, tuple(sorted(changed)), backup_dir)


def _same_text(path: Path, entries: Mapping[str, str]) -> bool:
    try:
        return path.read_text(encoding="utf-8") == _render(entries)
    except FileNotFoundError:
        return False


def _backup(path: Path, backup_dir: Path) -> None:
    if path.exists():
        backup_dir.mkdir(exist_ok=True)
        shutil.copy2(path, backup_dir / path.name)


# ---------------------------------------------------------------------------------------------
# splitting

_DONE = ".done"  # marker of a complete split; it lists the files split
SPLIT_ORIGIN = "split_origin"  # in a split part: `source <dir>` and `first_line <n>`


@dataclass(frozen=True)
class LineOrigin:
    """Where the lines of a data directory's tables are in the directory they were split from.

    Line `line` of a part's tables is line `first_line + line - 1` of the tables of `data_dir`
    (every table is sorted alike and split into contiguous chunks). A directory that is not a
    split part is its own origin, from line 1.
    """

    data_dir: Path
    first_line: int = 1

    def where(self, line: int, name: str = "wav.scp") -> str:
        """`<original data dir>/<name>:<line>` for line `line` of the part's `name`."""
        return f"{self.data_dir / name}:{self.first_line + line - 1}"


def line_origin(data_dir: str | os.PathLike[str]) -> LineOrigin:
    """The origin of `data_dir`'s lines: the one recorded by split_data_dir, or itself.

    Errors met while processing a part (unreadable audio, say) are reported with it, so they
    name the file and line the user can open and fix, not those of a part that is remade.
    """
    data_dir = Path(data_dir)
    path = data_dir / SPLIT_ORIGIN
    if not path.is_file():
        return LineOrigin(data_dir)
    table = read_table(path)
    try:
        first_line = int(table["first_line"])
        source = table["source"]
    except (KeyError, ValueError):
        raise TableError(
            f"{path}: expected the lines `first_line <n>` and `source <dir>`; "
            f"delete {data_dir.parent} to split again"
        ) from None
    # The source is relative to the part, so the split stays valid when the tree moves; it is
    # resolved lexically, to keep the path the user typed (data/train, not /abs/.../data/train).
    return LineOrigin(Path(os.path.normpath(data_dir / source)), first_line)


def split_data_dir(data_dir: str | os.PathLike[str], num_jobs: int) -> list[Path]:
    """Split a data directory into `<data_dir>/split<N>/<n>/`, n = 1..N, Kaldi style.

    Utterances (in sorted order) go in N contiguous chunks whose sizes differ by at most one;
    every file is split the same way and each part's spk2utt is rebuilt from its utt2spk, so each
    part is itself a valid data directory. Each part records its origin (`split_origin`, read by
    `line_origin`): the directory split, or the origin of that directory if it is itself a part.
    A split newer than every source file is reused. Returns the part directories.
    """
    data_dir = Path(data_dir)
    if num_jobs < 1:
        raise DataDirError(data_dir, [f"cannot split into {num_jobs} parts"])
    split_root = data_dir / f"split{num_jobs}"
    parts = [split_root / str(n) for n in range(1, num_jobs + 1)]
    names = utt_file_names(data_dir) if data_dir.is_dir() else []
    if _split_is_current(data_dir, split_root, names, parts):
        return parts

    summary = validate_data_dir(data_dir)
    if num_jobs > summary.num_utts:
        message = f"cannot split {summary.num_utts} utterances into {num_jobs} parts"
        raise DataDirError(data_dir, [message])
    tables = {name: read_table(data_dir / name) for name in names}
    utts = sorted(tables["wav.scp"], key=_c_order)
    origin = line_origin(data_dir)
    tmp_root = data_dir / f".split{num_jobs}.tmp{os.getpid()}"
    shutil.rmtree(tmp_root, ignore_errors=True)
    first_line = origin.first_line  # validated: line k of each table is the k-th utterance
    for n, chunk in enumerate(_contiguous_chunks(utts, num_jobs), start=1):
        _write_part(tmp_root / str(n), tables, chunk)
        source = os.path.relpath(origin.data_dir, split_root / str(n))
        write_table(
            tmp_root / str(n) / SPLIT_ORIGIN,
            {"source": source, "first_line": str(first_line)},
        )
        first_line += len(chunk)
    (tmp_root / _DONE).write_text("".join(f"{name}\n" for name in names), encoding="utf-8")
    shutil.rmtree(split_root, ignore_errors=True)
    try:
        tmp_root.rename(split_root)
    except OSError:  # another process finished the same split in the meantime
        shutil.rmtree(tmp_root, ignore_errors=True)
        if not _split_is_current(data_dir, split_root, names, parts):
            raise
    return parts


def _split_is_current(
    data_dir: Path, split_root: Path, names: list[str], parts: list[Path]
) -> bool:
    """A finished split of the same files, newer than each of them, whose parts know their origin.

    A split made before parts recorded their origin is made again.
    """
    marker = split_root / _DONE
    try:
        listed = marker.read_text(encoding="utf-8").split()
        made = marker.stat().st_mtime_ns
        sources = [data_dir / name for name in [*names, "spk2utt"]]
        newest = max(path.stat().st_mtime_ns for path in sources)
    except (FileNotFoundError, ValueError):
        return False
    return (
        listed == names and made > newest and all((part / SPLIT_ORIGIN).is_file() for part in parts)
    )


def _contiguous_chunks(items: list[str], num_chunks: int) -> Iterable[list[str]]:
    """`num_chunks` consecutive runs of `items`; the first len % num_chunks get one item more."""
    size, extra = divmod(len(items), num_chunks)
    start = 0
    for index in range(num_chunks):
        end = start + size + (1 if index < extra else 0)
        yield items[start:end]
        start = end


def _write_part(part_dir: Path, tables: Mapping[str, Mapping[str, str]], utts: list[str]) -> None:
    for name, table in tables.items():
        write_table(part_dir / name, {utt: table[utt] for utt in utts})
    write_table(part_dir / "spk2utt", _invert({utt: tables["utt2spk"][utt] for utt in utts}))

"""Checks before a file or a corpus is trusted: size, md5, archive signature, official counts.

A downloaded archive is checked for its published size and md5 and for being the archive its
name says (a login page saved as `LA.zip` fails here, not in the middle of unpacking). Archives
without a published md5 are read in full while they are unpacked, which checks every member
(zip CRC-32, gzip CRC); see unpack.py. An unpacked corpus is checked against its description:
every protocol/key file has its official number of entries and every entry's audio exists.
"""

from __future__ import annotations

import csv
import hashlib
import os
import zipfile
from pathlib import Path

from antispoof.download import ArchiveError, ChecksumError
from antispoof.download.sources import CorpusSource, FileList, RemoteFile

GZIP_MAGIC = b"\x1f\x8b"
# A tar archive starts with a 512-byte header whose bytes 257-261 read `ustar` (POSIX and GNU).
TAR_BLOCK = 512
TAR_MAGIC = slice(257, 262)
SHOWN_MISSING = 3  # missing files named in a message; the count says how many there are


def archive_format(name: str) -> str:
    if name.endswith(".zip"):
        return "zip"
    if name.endswith((".tar.gz", ".tgz")):
        return "tar.gz"
    if name.endswith(".tar"):
        return "tar"
    raise ArchiveError(f"{name}: unknown archive type (expected .zip, .tar.gz or .tar)")


def md5sum(path: Path, chunk_size: int = 1 << 20) -> str:
    digest = hashlib.md5()
    with path.open("rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def verify_download(path: Path, remote: RemoteFile) -> None:
    """Raise ChecksumError or ArchiveError unless `path` is `remote` as published."""
    size = path.stat().st_size
    if remote.size is not None and size != remote.size:
        raise ChecksumError(f"{remote.name}: size {size} bytes, expected {remote.size} ({path})")
    if remote.md5 is not None:
        actual = md5sum(path)
        if actual != remote.md5:
            raise ChecksumError(f"{remote.name}: md5 {actual}, expected {remote.md5} ({path})")
    check_archive_signature(path, remote.name)


def check_archive_signature(path: Path, name: str) -> None:
    """A cheap check that `path` is the kind of archive `name` says, and not truncated (zip)."""
    kind = archive_format(name)
    with path.open("rb") as handle:
        head = handle.read(TAR_BLOCK)
    if kind == "zip":
        try:
            # Reads the central directory at the end of the file: a truncated zip fails here.
            with zipfile.ZipFile(path) as archive:
                archive.infolist()
        except (zipfile.BadZipFile, OSError) as err:
            raise ArchiveError(
                f"{name} is not a readable zip archive ({err}); it starts with {head[:32]!r}"
            ) from None
    elif kind == "tar.gz" and not head.startswith(GZIP_MAGIC):
        raise ArchiveError(f"{name} is not a gzip file; it starts with {head[:32]!r}")
    elif kind == "tar" and head[TAR_MAGIC] != b"ustar":
        raise ArchiveError(f"{name} is not a tar archive; it starts with {head[:32]!r}")


def move_aside(path: Path, name: str) -> Path:
    """Rename a failed file to `<name>.bad` beside it, so that it is never used by mistake."""
    bad = path.with_name(f"{name}.bad")
    path.replace(bad)
    return bad


def check_layout(source: CorpusSource, root: Path) -> list[str]:
    """What `root` lacks to be a complete `source` corpus; empty when it is complete."""
    problems = [f"missing {rel}" for rel in source.required if not (root / rel).is_file()]
    listings: dict[Path, set[str]] = {}
    for file_list in source.lists:
        found = [rel for rel in (file_list.path, *file_list.also_at) if (root / rel).is_file()]
        if not found:
            elsewhere = f" (nor {', '.join(file_list.also_at)})" if file_list.also_at else ""
            problems.append(f"missing {file_list.path}{elsewhere}")
            continue
        rel = found[0]
        entries, format_problem = _read_entries(root / rel, rel, file_list)
        if format_problem:
            problems.append(format_problem)
            continue
        if file_list.count is not None and len(entries) != file_list.count:
            problems.append(f"{rel}: {len(entries):,} entries, expected {file_list.count:,}")
        missing = [
            entry
            for entry in entries
            if not _exists(root / file_list.audio_dir, entry + file_list.suffix, listings)
        ]
        if missing:
            shown = ", ".join(entry + file_list.suffix for entry in missing[:SHOWN_MISSING])
            where = file_list.audio_dir or "db_root"
            problems.append(
                f"{rel}: {len(missing):,} of {len(entries):,} listed files are "
                f"missing from {where}/ (e.g. {shown})"
            )
    for check in source.checks:
        problems.extend(check(root))
    return problems


def _read_entries(path: Path, rel: str, file_list: FileList) -> tuple[list[str], str | None]:
    """The entries of a list file, or a message saying why they cannot be read."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        lines = [line.rstrip("\r\n") for line in handle]
    if file_list.header is not None:
        headers = (file_list.header,) if isinstance(file_list.header, str) else file_list.header
        if not lines or lines[0] not in headers:
            first = lines[0] if lines else ""
            expected = " or ".join(repr(header) for header in headers)
            return [], f"{rel}: first line {first!r}, expected {expected}"
        lines = lines[1:]
    if file_list.delimiter is None:
        rows = [line.split() for line in lines if line.strip()]
    else:
        # Quoted fields (speaker names with commas) are read as CSV.
        rows = [row for row in csv.reader(lines, delimiter=file_list.delimiter) if row]
    for number, row in enumerate(rows, start=1 + (file_list.header is not None)):
        if len(row) <= file_list.column:
            return [], (
                f"{rel}: entry {number} has {len(row)} fields, "
                f"expected at least {file_list.column + 1}"
            )
    return [row[file_list.column] for row in rows], None


def _exists(directory: Path, name: str, listings: dict[Path, set[str]]) -> bool:
    """Whether `directory/name` exists; `name` may hold subfolders (`a00/id10318/x.flac`).

    One listing per folder answers every query about it (611,829 files for 2021 DF).
    """
    folder, _, base = f"{directory}/{name}".rpartition("/")
    parent = Path(folder)
    if parent not in listings:
        listings[parent] = _listing(parent)
    return base in listings[parent]


def _listing(directory: Path) -> set[str]:
    try:
        with os.scandir(directory) as entries:
            return {entry.name for entry in entries}
    except (FileNotFoundError, NotADirectoryError):
        return set()

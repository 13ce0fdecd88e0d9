"""Unpack archives into a staging directory, move it into place, and mark it complete.

The staging directory sits beside `<db_root>` (same file system), so moving it into place is
one rename, and `.complete` is written after that: an interrupted unpack never leaves a tree
at `<db_root>` that looks complete. Member paths are checked before anything is written:
absolute paths, `..` components and links are refused. Reading every member in full is also
the integrity check of archives without a published md5 (zip CRC-32, gzip CRC and length).

Files fetched from the Hugging Face Hub are placed into the staging tree as they are (hard
links to the verified downloads where the file system allows, copies otherwise), except parquet
files whose audio column is extracted to audio files (`extract_parquet_audio`).
"""

from __future__ import annotations

import csv
import gzip
import logging
import os
import shutil
import tarfile
import time
import zipfile
import zlib
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from antispoof.download import ArchiveError
from antispoof.download.sources import ParquetAudio
from antispoof.download.verify import archive_format

log = logging.getLogger(__name__)

COMPLETE = ".complete"
PROGRESS_INTERVAL = 30.0  # seconds between progress log lines
# What a damaged archive raises while it is read (a disk error is an OSError and is not here).
CORRUPT = (zipfile.BadZipFile, tarfile.TarError, zlib.error, EOFError, gzip.BadGzipFile)


def staging_dir(db_root: Path) -> Path:
    return db_root.parent / f".{db_root.name}.unpacking"


def extract(archive: Path, into: Path) -> int:
    """Unpack `archive` (zip or tar.gz) into `into`, merging with what is there; returns the
    number of files written. Raises ArchiveError for a corrupt archive or an unsafe member."""
    log.info("unpacking %s into %s", archive.name, into)
    try:
        kind = archive_format(archive.name)
        if kind == "zip":
            count = _extract_zip(archive, into)
        elif kind == "tar":
            with archive.open("rb") as stream:
                count = _extract_tar(archive, stream, into)
        else:
            # gzip.open, not tarfile's own "r|gz", because only GzipFile checks the CRC-32 and
            # length at the end of the stream.
            with gzip.open(archive, "rb") as stream:
                count = _extract_tar(archive, stream, into)
    except CORRUPT as err:
        raise ArchiveError(f"{archive.name} is corrupt ({type(err).__name__}: {err})") from None
    log.info("%s: unpacked, %d files", archive.name, count)
    return count


def place_file(source: Path, target: Path) -> None:
    """Put the verified download `source` at `target`: a hard link, else a copy."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def extract_parquet_audio(parquets: list[Path], spec: ParquetAudio, into: Path) -> int:
    """Write the audio of every row of `parquets` (in order) to files under `into`, and the
    rows to `into/<spec.metadata>`; returns the number of rows. The audio bytes are written as
    they are stored (no decoding, no re-encoding). Raises ArchiveError for a file that is not
    parquet, lacks a column, or names an audio file twice or outside its folder."""
    import pyarrow.parquet as pq  # only this reads parquet; the other corpora need no pyarrow

    columns = ["audio", *dict.fromkeys((*spec.folders, *spec.columns))]
    written: set[str] = set()
    progress = _Progress(spec.metadata)
    into.mkdir(parents=True, exist_ok=True)
    with (into / spec.metadata).open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["path", *spec.columns])
        for parquet in parquets:
            try:
                table = pq.ParquetFile(parquet)
                missing = sorted(set(columns) - set(table.schema_arrow.names))
                if missing:
                    raise ArchiveError(f"{parquet.name}: no column {', '.join(missing)}")
                batches = table.iter_batches(batch_size=256, columns=columns)
                for batch in batches:
                    for row in batch.to_pylist():
                        rel = _audio_path(parquet, row, spec, written)
                        (into / rel).parent.mkdir(parents=True, exist_ok=True)
                        (into / rel).write_bytes(row["audio"]["bytes"])
                        writer.writerow([rel, *(row[column] for column in spec.columns)])
                        progress.tick(len(written))
            except (OSError, ValueError) as err:  # pyarrow's errors derive from these
                raise ArchiveError(f"{parquet.name} is not readable parquet ({err})") from None
    return len(written)


def _audio_path(parquet: Path, row: dict, spec: ParquetAudio, written: set[str]) -> str:
    """`<folder values>/<basename of audio.path>`, checked to be new and inside the corpus."""
    audio = row["audio"] or {}
    name = PurePosixPath(str(audio.get("path") or "").replace("\\", "/")).name
    folders = [str(row[column] or "") for column in spec.folders]
    if not name or not audio.get("bytes") or not all(folders):
        raise ArchiveError(
            f"{parquet.name}: a row without audio bytes, a file name or {', '.join(spec.folders)}"
        )
    rel = "/".join([*folders, name])
    _check_member(parquet, rel)
    if rel in written:
        raise ArchiveError(f"{parquet.name}: {rel} is named by two rows")
    written.add(rel)
    return rel


def install(staging: Path, db_root: Path) -> None:
    """Move the staged tree to `db_root`, which must be missing or an empty directory."""
    if db_root.is_dir() and not any(db_root.iterdir()):
        db_root.rmdir()
    staging.rename(db_root)


def write_marker(db_root: Path, text: str) -> None:
    """Write `<db_root>/.complete`; only warn when the directory is read-only (a shared copy)."""
    marker = db_root / COMPLETE
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    try:
        partial = marker.with_name(COMPLETE + ".tmp")
        partial.write_text(f"{text}\nverified {stamp}\n", encoding="utf-8")
        partial.replace(marker)
    except OSError as err:
        log.warning("cannot write %s (%s); the corpus will be checked again next time", marker, err)


def remove_tree(path: Path) -> None:
    if path.exists():
        shutil.rmtree(path)


def _check_member(archive: Path, name: str) -> None:
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or (path.parts and ":" in path.parts[0]):
        raise ArchiveError(f"{archive.name}: refusing member {name!r} (a path outside the corpus)")


def _extract_zip(archive: Path, into: Path) -> int:
    with zipfile.ZipFile(archive) as zipped:
        members = zipped.infolist()
        for member in members:
            _check_member(archive, member.filename)
        progress = _Progress(archive.name)
        count = 0
        for member in members:
            # ZipFile.extract reads the member through and checks its CRC-32.
            zipped.extract(member, into)
            if not member.is_dir():
                count += 1
                progress.tick(count)
    return count


def _extract_tar(archive: Path, stream: BinaryIO, into: Path) -> int:
    """Unpack the tar read from `stream` (the archive itself, or its gzip stream)."""
    progress = _Progress(archive.name)
    count = 0
    # Stream mode: one sequential pass; a truncated member is a ReadError.
    with tarfile.open(fileobj=stream, mode="r|") as tar:
        for member in tar:
            _check_member(archive, member.name)
            if not (member.isfile() or member.isdir()):
                raise ArchiveError(
                    f"{archive.name}: refusing member {member.name!r} (links and special files "
                    "are not part of a corpus)"
                )
            tar.extract(member, into, filter="data")
            if member.isfile():
                count += 1
                progress.tick(count)
        # tar stops at its end-of-archive blocks; the rest of a gzip stream holds its checksum.
        while stream.read(1 << 20):
            pass
    return count


class _Progress:
    def __init__(self, name: str) -> None:
        self.name = name
        self.last = time.monotonic()

    def tick(self, count: int) -> None:
        now = time.monotonic()
        if now - self.last >= PROGRESS_INTERVAL:
            self.last = now
            log.info("%s: %d files unpacked so far", self.name, count)

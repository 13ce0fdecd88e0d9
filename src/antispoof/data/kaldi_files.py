"""Kaldi-style table files (`wav.scp`, `utt2spk`, `utt2label`, ...): one `<key> <value>` per line.

Every reader names the file and the line of a malformed entry; every writer sorts keys the way
`LC_ALL=C sort` does (byte order of the UTF-8 encoding, which is code-point order).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path


class TableError(ValueError):
    """A malformed Kaldi table file; the message names the file and the line."""


def iter_table(path: str | os.PathLike[str]) -> Iterator[tuple[int, str, str]]:
    """Yield `(line_number, key, value)`; the value is the rest of the line after one space.

    Blank lines are errors, as Kaldi's table readers treat them.
    """
    path = Path(path)
    # newline="\n": universal newlines would hide a CRLF file and split lines on a lone CR.
    with path.open(encoding="utf-8", newline="\n") as handle:
        for line_number, line in enumerate(handle, start=1):
            line = line.rstrip("\n")
            if line.endswith("\r"):
                raise TableError(f"{path}:{line_number}: carriage return (CRLF line ending)")
            key, sep, value = line.strip().partition(" ")
            if not key:
                raise TableError(f"{path}:{line_number}: empty line")
            yield line_number, key, value.strip() if sep else ""


def read_table(path: str | os.PathLike[str], require_value: bool = True) -> dict[str, str]:
    """Read a table into a dict; duplicate keys and (by default) missing values are errors."""
    table: dict[str, str] = {}
    for line_number, key, value in iter_table(path):
        if key in table:
            raise TableError(f"{path}:{line_number}: duplicate key {key!r}")
        if require_value and not value:
            raise TableError(f"{path}:{line_number}: key {key!r} has no value")
        table[key] = value
    return table


def write_table(
    path: str | os.PathLike[str], entries: Mapping[str, str] | Iterable[tuple[str, str]]
) -> None:
    """Write `<key> <value>` lines sorted by key (C locale order), atomically."""
    items = entries.items() if isinstance(entries, Mapping) else entries
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        for key, value in sorted(items, key=lambda kv: kv[0].encode("utf-8")):
            if key.split() != [key]:  # empty, or holds whitespace
                raise TableError(f"{path}: invalid key {key!r} (empty or contains whitespace)")
            handle.write(f"{key} {value}\n")
    os.replace(tmp, path)

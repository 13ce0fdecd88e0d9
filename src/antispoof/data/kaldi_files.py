"""Kaldi-style table files (`wav.scp`, `utt2spk`, `utt2label`, ...): one `<key> <value>` per line.

Every reader names the file and the line of a malformed entry; every writer sorts keys the way
`LC_ALL=C sort` does (byte order of the UTF-8 encoding, which is code-point order).

This module also owns the opening of every text table and protocol the package reads
(`open_text`, `iter_lines`, `read_text_bytes`): a UTF-8 byte-order mark at the start of a file,
as Windows editors write it, is dropped there, so it never becomes part of the first key (a
phantom speaker or utterance id); a byte-order mark further in is an error.
"""

from __future__ import annotations

import codecs
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TextIO

BOM = "\ufeff"


class TableError(ValueError):
    """A malformed Kaldi table file; the message names the file and the line."""


def open_text(path: str | os.PathLike[str], newline: str | None = None) -> TextIO:
    """Open a UTF-8 table or protocol for reading, without a byte-order mark at its start.

    `newline` is that of `open`: None (universal newlines), `"\n"` to keep a carriage return
    visible, `""` for the csv module.
    """
    return Path(path).open(encoding="utf-8-sig", newline=newline)


def iter_lines(
    path: str | os.PathLike[str], newline: str | None = None
) -> Iterator[tuple[int, str]]:
    """Yield `(line_number, line)` of a file opened with `open_text`, line endings kept."""
    with open_text(path, newline) as handle:
        for line_number, line in enumerate(handle, start=1):
            if BOM in line:
                raise TableError(bom_inside(path, line_number))
            yield line_number, line


def read_text_bytes(path: str | os.PathLike[str]) -> bytes:
    """The bytes of a UTF-8 text file, without a byte-order mark at its start."""
    data = Path(path).read_bytes()
    return data[len(codecs.BOM_UTF8) :] if data.startswith(codecs.BOM_UTF8) else data


def bom_inside(path: str | os.PathLike[str], line_number: int) -> str:
    """The message for a byte-order mark after the start of a file."""
    return (
        f"{path}:{line_number}: byte-order mark (U+FEFF) inside the file (were files with "
        "byte-order marks concatenated?); remove it, e.g. with: sed -i 's/\\xEF\\xBB\\xBF//g' "
        f"{path}"
    )


def iter_table(path: str | os.PathLike[str]) -> Iterator[tuple[int, str, str]]:
    """Yield `(line_number, key, value)`; the value is the rest of the line after the key.

    The key ends at the first space or tab, as in Kaldi. Blank lines are errors, as Kaldi's
    table readers treat them.
    """
    # newline="\n": universal newlines would hide a CRLF file and split lines on a lone CR.
    for line_number, line in iter_lines(path, newline="\n"):
        line = line.rstrip("\n")
        if line.endswith("\r"):
            raise TableError(f"{path}:{line_number}: carriage return (CRLF line ending)")
        text = line.strip()
        key, _, value = text.partition(" ")
        if "\t" in key:  # a tab ends the key before any space does
            key, _, value = text.partition("\t")
        if not key:
            raise TableError(f"{path}:{line_number}: empty line")
        yield line_number, key, value.lstrip(" \t")


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

"""Columns of large space-separated text files, split fast, and categorical columns as codes.

The 2021 keys, data directories and score files run to hundreds of thousands of lines (785,281
in the LA ASV key, 611,829 trials in DF): too many to parse line by line in Python when an
evaluation should take seconds. Such a file is split whole with C-level string methods, and
the field count of every line is still checked (one vectorised count), so a malformed line is
reported by file and line number like any other table error.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from antispoof.data.kaldi_files import BOM, TableError, bom_inside, read_text_bytes


def read_columns(path: str | os.PathLike[str], n_fields: int) -> list[list[str]]:
    """The `n_fields` columns of a file of lines with fields separated by single spaces or tabs.

    A tab is a separator like a space (Kaldi tables split on either; many toolkits write
    `utt<TAB>score`). Anything else (another field count, an empty field from a doubled,
    leading or trailing separator, a carriage return) is a `TableError` naming the file and the
    first such line. A byte-order mark at the start of the file is dropped (kaldi_files).
    """
    raw = read_text_bytes(path)
    if not raw:
        return [[] for _ in range(n_fields)]
    data = raw.replace(b"\t", b" ") if b"\t" in raw else raw
    # Spaces per line, counted on the bytes (UTF-8 never uses 0x0A or 0x20 inside a character).
    buffer = np.frombuffer(data, dtype=np.uint8)
    line_ends = np.flatnonzero(buffer == ord("\n"))
    if not data.endswith(b"\n"):
        line_ends = np.append(line_ends, buffer.size)
    spaces = np.flatnonzero(buffer == ord(" "))
    per_line = np.diff(np.searchsorted(spaces, line_ends), prepend=0)
    bad = np.flatnonzero(per_line != n_fields - 1)
    if bad.size:
        line = int(bad[0])
        raise TableError(
            f"{path}:{line + 1}: expected {n_fields} fields separated by single spaces or "
            f"tabs, got {_line(raw, line)!r}"
        )
    text = data.decode("utf-8")
    if "\r" in text:
        line = text.count("\n", 0, text.index("\r"))
        raise TableError(f"{path}:{line + 1}: carriage return (CRLF line ending)")
    if BOM in text:
        raise TableError(bom_inside(path, text.count("\n", 0, text.index(BOM)) + 1))
    # Every line has n_fields - 1 spaces, so n_fields fields: an empty one shows as "".
    fields = text.removesuffix("\n").replace("\n", " ").split(" ")
    if "" in fields:
        line = fields.index("") // n_fields
        raise TableError(
            f"{path}:{line + 1}: empty field (doubled, leading or trailing separator) in "
            f"{_line(raw, line)!r}"
        )
    return [fields[column::n_fields] for column in range(n_fields)]


def _line(data: bytes, index: int) -> str:
    return data.split(b"\n")[index].decode("utf-8", errors="replace")


@dataclass(frozen=True)
class Categorical:
    """A column of strings as integer codes into `values` (in order of first appearance)."""

    codes: NDArray[np.int32]
    values: tuple[str, ...]

    @classmethod
    def from_strings(cls, strings: Sequence[str]) -> Categorical:
        # A dict lookup per element is several times faster than np.unique on strings.
        index = {value: code for code, value in enumerate(dict.fromkeys(strings))}
        codes = np.fromiter(map(index.__getitem__, strings), dtype=np.int32, count=len(strings))
        return cls(codes=codes, values=tuple(index))

    def mask(self, value: str) -> NDArray[np.bool_]:
        """Where the column equals `value` (nowhere for a value it does not hold)."""
        try:
            code = self.values.index(value)
        except ValueError:
            return np.zeros(self.codes.size, dtype=bool)
        return self.codes == code

    def select(self, keep: NDArray[np.bool_]) -> Categorical:
        return Categorical(codes=self.codes[keep], values=self.values)

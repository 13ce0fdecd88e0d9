"""Writing `detect`'s results as they come, so that nothing finished is lost.

- `tsv` and `jsonl` rows are written and flushed as each file is scored: an interrupted run
  leaves every finished row, and never half of one (a row is one write; one that fails, on a
  full disk say, is cut off again, and the error names the file). `--resume` reads such a file
  back: the paths it holds are not scored again, and a last line without its newline (a run
  killed mid-write) is cut off first.
- `json` holds the rows in one object written at the end, through a temporary file that is
  removed if the write fails.
- The segments file (`--segments`) is TSV, one row per window, streamed like the rows.

TSV columns: `path, score, decision` and, when the model has a calibration, `llr`; `-` stands
for a missing value. JSON and JSONL carry every field of a Result and the model's metadata
(its name, weights digest, window, hop, aggregate, decision rule and threshold).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path
from typing import IO, Any

from antispoof.inference import Result

FORMATS = ("tsv", "jsonl", "json")
MISSING = "-"
SEGMENT_COLUMNS = ("path", "start", "end", "score", "llr", "decision")


def check_outputs(outputs: dict[str, Path | None], inputs: list[str]) -> None:
    """Refuse, before any scoring, an output that is a folder or one of the inputs."""
    input_paths = [Path(path) for path in inputs]
    for option, out in outputs.items():
        if out is None:
            continue
        if out.is_dir():
            raise ValueError(f"{option} {out} is a folder: give a file to write")
        for path in input_paths:
            if out.resolve() == path.resolve() or (out.exists() and os.path.samefile(out, path)):
                raise ValueError(f"{option} {out} is one of the inputs: it would be overwritten")


def finished_paths(out: Path, output_format: str) -> set[str]:
    """The paths an earlier run wrote to `out` (tsv or jsonl), for --resume; a last line that
    lacks its newline is cut off the file first."""
    if output_format == "json":
        raise ValueError(
            "--resume needs --format tsv or jsonl, whose rows are written as they come"
        )
    if not out.is_file():
        return set()
    data = out.read_bytes()
    complete = data[: data.rfind(b"\n") + 1]
    if len(complete) < len(data):
        with out.open("r+b") as handle:
            handle.truncate(len(complete))
    paths = set()
    for number, line in enumerate(complete.decode("utf-8").splitlines(), start=1):
        if not line:
            continue
        if output_format == "tsv":
            paths.add(line.split("\t", 1)[0])
        else:
            try:
                paths.add(json.loads(line)["path"])
            except (json.JSONDecodeError, KeyError, TypeError) as err:
                raise ValueError(
                    f"{out}:{number}: not a row of detect's JSON Lines ({err})"
                ) from None
    return paths


class LineFile:
    """A text file (or stdout) taking whole lines: each line one write and a flush; a write that
    fails is cut off again and raised as an OSError naming the file."""

    def __init__(self, path: Path | None, append: bool) -> None:
        self.path = path
        if path is None:
            self.handle: IO[str] = sys.stdout
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.handle = path.open("a" if append else "w", encoding="utf-8")
        self.rows = 0

    def write(self, line: str) -> None:
        position = None if self.path is None else self.handle.tell()
        try:
            self.handle.write(line)
            self.handle.flush()
        except OSError as err:
            if position is not None:
                self._cut(position)
            raise OSError(
                err.errno,
                f"cannot write {self.path or 'stdout'}: {err.strerror or err}; the {self.rows} "
                "row(s) written before are kept (--resume goes on from them)",
            ) from err
        self.rows += 1

    def _cut(self, position: int) -> None:
        # The failed write's buffer cannot be flushed either: closing fails the same way.
        with contextlib.suppress(OSError):
            self.handle.close()
        assert self.path is not None
        with self.path.open("r+b") as raw:
            raw.truncate(position)

    def close(self) -> None:
        if self.path is not None and not self.handle.closed:
            self.handle.close()


class ResultWriter:
    """The rows of `detect`, in one of FORMATS, to a file or stdout."""

    def __init__(
        self,
        out: Path | None,
        output_format: str,
        metadata: dict[str, Any],
        with_llr: bool,
        append: bool = False,
    ) -> None:
        if output_format not in FORMATS:
            raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {output_format!r}")
        self.out = out
        self.format = output_format
        self.metadata = metadata
        self.with_llr = with_llr
        self.rows: list[dict[str, Any]] = []  # json: written at the end
        self.lines = None if output_format == "json" else LineFile(out, append)

    def write(self, result: Result) -> None:
        if self.format == "json":
            self.rows.append(result.to_json())
        elif self.format == "jsonl":
            assert self.lines is not None
            self.lines.write(json.dumps({**result.to_json(), **self.metadata}) + "\n")
        else:
            assert self.lines is not None
            fields = [result.path or MISSING, number(result.score), result.decision or MISSING]
            if self.with_llr:
                fields.append(number(result.llr))
            self.lines.write("\t".join(fields) + "\n")

    def close(self, completed: bool = True) -> None:
        """Close the rows; `json` is written now, unless the run did not complete."""
        if self.lines is not None:
            self.lines.close()
            return
        if not completed:
            return
        text = json.dumps({**self.metadata, "results": self.rows}, indent=2) + "\n"
        if self.out is None:
            sys.stdout.write(text)
            return
        self.out.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.out.with_name(f".{self.out.name}.{os.getpid()}.tmp")
        try:
            tmp.write_text(text, encoding="utf-8")
        except OSError as err:
            tmp.unlink(missing_ok=True)
            raise OSError(
                err.errno, f"cannot write {self.out}: {err.strerror or err}; nothing was written"
            ) from err
        os.replace(tmp, self.out)


class SegmentWriter:
    """The per-window timeline as TSV: SEGMENT_COLUMNS, a header first (unless appending)."""

    def __init__(self, out: Path, append: bool = False) -> None:
        header = not (append and out.is_file() and out.stat().st_size > 0)
        self.lines = LineFile(out, append)
        if header:
            self.lines.write("\t".join(SEGMENT_COLUMNS) + "\n")

    def write(self, result: Result) -> None:
        rows = [
            "\t".join(
                [
                    result.path or MISSING,
                    f"{segment.start:.3f}",
                    f"{segment.end:.3f}",
                    number(segment.score),
                    number(segment.llr),
                    segment.decision or MISSING,
                ]
            )
            + "\n"
            for segment in result.segments
        ]
        if rows:
            self.lines.write("".join(rows))

    def close(self) -> None:
        self.lines.close()


def number(value: float | None) -> str:
    return MISSING if value is None else f"{value:.6f}"

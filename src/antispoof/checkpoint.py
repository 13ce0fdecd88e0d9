"""Checkpoints: written atomically and durably, loaded with `weights_only=True` (no pickled code).

A checkpoint is written to a temporary file, flushed and fsynced, renamed over the old one, and
the directory fsynced, so that neither an interruption nor a power cut leaves half a checkpoint
under the real name. A file that cannot be read anyway (copied half-way, a full disk) is a
`CheckpointError` naming it and what to do.

torch is imported inside the functions: every entry point imports this module for
`CheckpointError` (antispoof.bin._cli), and most never touch a checkpoint.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

ZIP_MAGIC = b"PK\x03\x04"  # torch.save writes a zip archive


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be loaded; the message names the file and what to do."""


def save_checkpoint(state: dict[str, Any], path: str | os.PathLike[str]) -> None:
    """Write to a temporary file, fsync it, rename it into place and fsync the directory.

    A write that fails (a full disk, a quota) removes the temporary file, leaves the previous
    checkpoint in place and is a CheckpointError naming the path and the reason: torch's own
    error says neither.
    """
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        with tmp.open("wb") as handle:
            torch.save(state, handle)
            handle.flush()
            os.fsync(handle.fileno())
    except (OSError, RuntimeError) as err:
        tmp.unlink(missing_ok=True)
        raise CheckpointError(
            f"cannot write checkpoint {path}: {_write_failure(err, path.parent)}; the previous "
            "checkpoint is kept, and re-running stage 3 resumes from it"
        ) from err
    os.replace(tmp, path)
    _fsync_directory(path.parent)


def _write_failure(err: BaseException, directory: Path) -> str:
    """Why a write failed, in words: a full disk whichever of torch's errors reported it (its
    RuntimeError and the OSError of closing the file chain each other), else the first line."""
    chained: BaseException | None = err
    while chained is not None:
        if isinstance(chained, OSError) and chained.errno in (errno.ENOSPC, errno.EDQUOT):
            break
        chained = chained.__cause__ or chained.__context__
    if chained is not None:
        free = shutil.disk_usage(directory).free
        return f"no space left on device ({free} bytes free on the file system of {directory})"
    return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__


def _fsync_directory(directory: Path) -> None:
    """Make the rename durable too. Some systems cannot open a directory (Windows) or refuse to
    fsync one (some network file systems); the rename is then as durable as they make it."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def load_checkpoint(
    path: str | os.PathLike[str], device: torch.device | str = "cpu"
) -> dict[str, Any]:
    """The state saved by `save_checkpoint`; a damaged file is a CheckpointError."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except Exception as err:
        raise CheckpointError(
            f"cannot load checkpoint {path}: {_damage(path, err)}; {_remedy(path)}"
        ) from err
    if not isinstance(state, dict):
        raise CheckpointError(
            f"cannot load checkpoint {path}: it holds a {type(state).__name__}, not the "
            f"dictionary this code writes; {_remedy(path)}"
        )
    return state


def _damage(path: Path, err: Exception) -> str:
    """What is wrong with a file torch.load refused, in words (torch's own can be empty)."""
    with path.open("rb") as handle:
        head = handle.read(len(ZIP_MAGIC))
    if not head:
        return "the file is empty (0 bytes), as an interrupted copy or a full disk leaves it"
    if head != ZIP_MAGIC:
        return "it is not a torch checkpoint (not a zip archive as torch.save writes)"
    if not zipfile.is_zipfile(path):
        return (
            f"it is truncated ({path.stat().st_size} bytes, the end of the archive is missing), "
            "as an interrupted copy or a full disk leaves it"
        )
    first_line = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return f"torch cannot read it ({first_line})"


def _remedy(path: Path) -> str:
    """What to do about an unreadable checkpoint, by its role in an experiment."""
    if path.name == "last.pt":
        return (
            "delete it and re-run stage 3, which then trains from epoch 1 "
            "(run.sh --force true --stage 3 starts the whole experiment anew)"
        )
    if path.name == "best.pt":
        return (
            "score the last epoch's model instead (--checkpoint last), or train again with "
            "run.sh --force true --stage 3 (best.pt is only rewritten when the dev EER improves)"
        )
    return "replace it with an intact copy"

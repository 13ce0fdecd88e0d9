"""The audio files that `detect` is asked to score: files named on the command line, and the
audio files of folders walked recursively, with every problem reported rather than skipped.

- A folder is walked in sorted order, following links to folders (a day's recordings linked
  in from elsewhere are scored), each real folder once: a link that leads back to a folder
  being walked is not followed again (loop protection, logged).
- A file is listed when its extension is one of the formats soundfile reads; each real file is
  scored once however many paths lead to it.
- Problems are returned, not dropped, so that the caller reports them and exits non-zero: a
  folder that cannot be read (permissions), a link whose target is missing or that points to
  itself, a path that does not exist.
"""

from __future__ import annotations

import errno
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import soundfile

log = logging.getLogger(__name__)

# File extensions of soundfile's formats (libsndfile's names); RAW is left out: a headerless
# file cannot be read without being told its rate and encoding.
FORMAT_EXTENSIONS = {
    "AIFF": ("aiff", "aif", "aifc"),
    "AU": ("au", "snd"),
    "AVR": ("avr",),
    "CAF": ("caf",),
    "FLAC": ("flac",),
    "HTK": ("htk",),
    "IRCAM": ("sf",),
    "MAT4": ("mat",),
    "MAT5": ("mat",),
    "MP3": ("mp3",),
    "MPC2K": ("mpc",),
    "NIST": ("nist", "sph"),
    "OGG": ("ogg", "oga", "opus"),
    "PAF": ("paf",),
    "PVF": ("pvf",),
    "RF64": ("rf64",),
    "SD2": ("sd2",),
    "SDS": ("sds",),
    "SVX": ("svx", "8svx"),
    "VOC": ("voc",),
    "W64": ("w64",),
    "WAV": ("wav",),
    "WAVEX": ("wav",),
    "WVE": ("wve",),
    "XI": ("xi",),
}


def audio_extensions() -> set[str]:
    """Extensions of the formats this soundfile reads."""
    return {
        extension
        for name in soundfile.available_formats()
        for extension in FORMAT_EXTENSIONS.get(name, ())
    }


@dataclass
class Inputs:
    """The files to score, in order, and the problems met finding them (`path: reason`)."""

    files: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    _seen: set[tuple[int, int]] = field(default_factory=set)

    def add(self, path: str) -> None:
        """A file, unless the same file was listed already under another path."""
        try:
            stat = os.stat(path)
        except OSError as err:
            self.problems.append(f"{path}: {err.strerror.lower() if err.strerror else err}")
            return
        key = (stat.st_dev, stat.st_ino)
        if key not in self._seen:
            self._seen.add(key)
            self.files.append(path)


def collect_audio_files(arguments: list[str]) -> Inputs:
    """The audio files of `arguments` (files and folders), and what went wrong finding them."""
    extensions = audio_extensions()
    inputs = Inputs()
    for argument in arguments:
        path = Path(argument)
        if path.is_symlink() and not path.exists():
            inputs.problems.append(broken_link(path))
        elif path.is_dir():
            before = len(inputs.files)
            _walk(path, extensions, inputs)
            if len(inputs.files) == before:
                listed = ", ".join(sorted(extensions))
                log.warning("%s holds no audio files (extensions: %s)", path, listed)
        elif path.exists():
            inputs.add(argument)
        else:
            inputs.problems.append(f"{argument}: no such file or folder")
    return inputs


def broken_link(path: Path) -> str:
    """Why a link leads nowhere, in words."""
    try:
        target = os.readlink(path)
    except OSError:
        target = "?"
    try:
        path.resolve(strict=True)
    except RuntimeError:  # Python < 3.13 reports a loop so
        return f"{path}: symbolic link loop ({target})"
    except OSError as err:
        if err.errno == errno.ELOOP:
            return f"{path}: symbolic link loop ({target})"
    return f"{path}: broken symbolic link to {target}"


def _walk(folder: Path, extensions: set[str], inputs: Inputs) -> None:
    """Every audio file under `folder` in path order, following links to folders once each."""
    visiting: set[tuple[int, int]] = set()

    def unreadable(err: OSError) -> None:
        reason = (err.strerror or str(err)).lower()
        inputs.problems.append(f"{err.filename}: cannot read the folder ({reason})")

    root = os.stat(folder)
    visiting.add((root.st_dev, root.st_ino))
    found = []
    for directory, subdirs, names in os.walk(folder, onerror=unreadable, followlinks=True):
        kept = []
        for name in subdirs:
            sub = Path(directory) / name
            stat = os.stat(sub)
            key = (stat.st_dev, stat.st_ino)
            if key in visiting:
                log.info(
                    "%s leads to a folder already walked (%s): not followed again",
                    sub,
                    sub.resolve(),
                )
                continue
            visiting.add(key)
            kept.append(name)
        subdirs[:] = kept
        for name in names:
            path = Path(directory) / name
            if path.suffix[1:].lower() not in extensions:
                continue
            if path.is_symlink() and not path.exists():
                inputs.problems.append(broken_link(path))
            else:
                found.append(str(path))
    for path in sorted(found):
        inputs.add(path)

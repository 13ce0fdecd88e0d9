"""Shared behaviour of the entry points: expected errors become one line on stderr, exit 1.

An expected error is one a user causes and can fix: a bad config, a malformed or missing input
file, a corpus that cannot be fetched, a damaged checkpoint, a missing GPU, a diverged training.
Its message says what is wrong and where; `prog: error: message` is all the user needs.
Anything else is a bug in this code and keeps its traceback.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path

import yaml

from antispoof.checkpoint import CheckpointError
from antispoof.config import yaml_error_message
from antispoof.data.audio import AudioError
from antispoof.data.kaldi_files import TableError
from antispoof.download import CorpusError
from antispoof.errors import DeviceError, NonFiniteLossError
from antispoof.registry import ConfigError
from antispoof.threads import use_job_threads

EXPECTED_ERRORS = (
    ConfigError,
    TableError,
    AudioError,
    CorpusError,
    CheckpointError,
    DeviceError,
    NonFiniteLossError,
    # The project's own ValueErrors (DataDirError, ProtocolError, ScoreFileError, ...) and the
    # plain ValueErrors that validate inputs.
    ValueError,
    # A path that is missing, exists already, is not writable or a directory: the environment,
    # never the program logic; the message names the path.
    OSError,
)


def run_main(main: Callable[[list[str] | None], int | None], prog: str) -> None:
    use_job_threads()  # the job's share of the cores, before torch starts any work
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s: %(message)s",
        datefmt="%Y-%m-%dT%H:%M:%S",
        stream=sys.stderr,
    )
    if not prog.startswith("antispoof-"):
        # argparse's usage line then shows how the command is run, not `<module>.py`.
        sys.argv[0] = f"python -m antispoof.bin.{prog}"
    try:
        sys.exit(main(None) or 0)
    except EXPECTED_ERRORS as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        sys.exit(1)
    except yaml.YAMLError as err:  # a YAML file read directly; PyYAML's text spans lines
        print(f"{prog}: error: {yaml_error_message(err)}", file=sys.stderr)
        sys.exit(1)


def branch_caches(items: list[str], option: str) -> dict[str, Path]:
    """`<branch>=<feats.scp>` option values as a mapping (an empty value: no cache)."""
    caches = {}
    for item in items:
        name, sep, path = item.partition("=")
        if not sep or not name:
            raise ValueError(f"{option} {item!r} is not of the form <branch>=<feats.scp>")
        if path:
            caches[name] = Path(path)
    return caches

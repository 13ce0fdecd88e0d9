"""Shared behaviour of the entry points: expected errors become one line on stderr, exit 1."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

from antispoof.data.audio import AudioError
from antispoof.data.kaldi_files import TableError
from antispoof.registry import ConfigError

EXPECTED_ERRORS = (ConfigError, TableError, AudioError, FileNotFoundError, ValueError)


def run_main(main: Callable[[list[str] | None], int | None], prog: str) -> None:
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s: %(message)s",
        datefmt="%Y-%m-%dT%H:%M:%S",
        stream=sys.stderr,
    )
    try:
        sys.exit(main(None) or 0)
    except EXPECTED_ERRORS as err:
        print(f"{prog}: error: {err}", file=sys.stderr)
        sys.exit(1)

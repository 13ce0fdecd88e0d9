"""Usage: python -m antispoof.bin.get_utt2dur <data_dir> [<data_dir> ...]

Write `<data_dir>/utt2dur` (`<utt> <seconds>`, Kaldi's table) from the headers of the audio files
of `wav.scp`, without decoding them; a current one (the utterances of wav.scp, not older than it)
is kept. Stage 1 of run.sh runs this for every set of the run; stage 2 plans its feature caches
from these durations.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from antispoof.bin._cli import run_main
from antispoof.data.utt2dur import utt2dur_is_current, write_utt2dur

log = logging.getLogger("antispoof.get_utt2dur")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("data_dirs", nargs="+", type=Path, help="data directories, e.g. data/eval")
    args = parser.parse_args(argv)
    for data_dir in args.data_dirs:
        if utt2dur_is_current(data_dir):
            continue
        durations = write_utt2dur(data_dir)
        log.info(
            "wrote %s: %d utterances, %.2f h",
            data_dir / "utt2dur",
            len(durations),
            sum(durations.values()) / 3600,
        )
    return 0


if __name__ == "__main__":
    run_main(main, "get_utt2dur")

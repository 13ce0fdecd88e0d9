r"""Stage 0 for a real corpus: download, verify, unpack into <db_root>, write <db_root>/.complete.

Usage:
    python -m antispoof.bin.get_corpus --corpus CORPUS --db_root DIR \
        [--download_dir DIR] [--base_url URL]
    CORPUS: asvspoof2019_la, asvspoof2021_la, asvspoof2021_df, in_the_wild or asvspoof5

With <db_root>/.complete present nothing is done. A <db_root> that already holds files is
checked as an unpacked copy (protocol counts, every listed audio file) and marked; nothing is
downloaded. Otherwise the archives are downloaded into --download_dir (default
<db_root>/../downloads) as <name>.part, resumed after an interruption, verified (size and md5
where published), unpacked beside <db_root>, checked, and moved into place. A file that fails
a check is moved to <name>.bad. --base_url fetches every file from <base_url>/<name> instead of
the official hosts (a site mirror). The layouts are listed in antispoof/download/sources.py.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from antispoof.bin._cli import run_main
from antispoof.download import CorpusError
from antispoof.download.corpus import get_corpus
from antispoof.download.sources import SOURCES


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", required=True, choices=sorted(SOURCES))
    parser.add_argument("--db_root", required=True, type=Path, help="the corpus root")
    # Empty values mean "not given", so that shell wrappers can pass their defaults through.
    parser.add_argument("--download_dir", default="", help="default: <db_root>/../downloads")
    parser.add_argument("--base_url", default="", help="a mirror holding <base_url>/<name>")
    args = parser.parse_args(argv)
    try:
        get_corpus(
            SOURCES[args.corpus],
            args.db_root,
            Path(args.download_dir) if args.download_dir else None,
            base_url=args.base_url or None,
        )
    except CorpusError as err:
        print(f"get_corpus: error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    run_main(main, "get_corpus")

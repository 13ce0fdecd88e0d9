r"""Stage 0 for a real corpus: download, verify, unpack into <db_root>, write <db_root>/.complete.

Usage:
    python -m antispoof.bin.get_corpus --corpus CORPUS --db_root DIR \
        [--download_dir DIR] [--base_url URL] [--languages "de en"]
    CORPUS: asvspoof2019_la, asvspoof2021_la, asvspoof2021_df, in_the_wild, asvspoof5,
            fake_or_real, codecfake, mlaad, spoofceleb or deepfake_eval_2024

With <db_root>/.complete present nothing is done. A <db_root> that already holds files is
checked as an unpacked copy (protocol counts, every listed audio file) and marked; nothing is
downloaded. Otherwise the archives are downloaded into --download_dir (default
<db_root>/../downloads) as <name>.part, resumed after an interruption, verified (size and md5
where published), unpacked beside <db_root>, checked, and moved into place. A file that fails
a check is moved to <name>.bad. --base_url fetches every file from <base_url>/<name> instead of
the official hosts (a site mirror). Hugging Face files are fetched with huggingface_hub at a
resolved commit and checked against the Hub's checksums; spoofceleb and deepfake_eval_2024 are
gated and only checked (without a copy, the error gives the steps to obtain one). --languages
chooses MLAAD's languages (each with its M-AILABS release). The layouts are listed in
antispoof/download/sources.py.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from antispoof.bin._cli import run_main
from antispoof.download import CorpusError
from antispoof.download.corpus import get_corpus
from antispoof.download.sources import SOURCES, mlaad_source


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--corpus", required=True, choices=sorted(SOURCES))
    parser.add_argument("--db_root", required=True, type=Path, help="the corpus root")
    # Empty values mean "not given", so that shell wrappers can pass their defaults through.
    parser.add_argument("--download_dir", default="", help="default: <db_root>/../downloads")
    parser.add_argument("--base_url", default="", help="a mirror holding <base_url>/<name>")
    parser.add_argument(
        "--languages",
        default="",
        help="mlaad only: the languages to get, space separated; default: all eight",
    )
    args = parser.parse_args(argv)
    source = SOURCES[args.corpus]
    if args.languages:
        if args.corpus != "mlaad":
            parser.error(f"--languages is an option of mlaad only, not of {args.corpus}")
        source = mlaad_source(tuple(args.languages.split()))
    try:
        get_corpus(
            source,
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

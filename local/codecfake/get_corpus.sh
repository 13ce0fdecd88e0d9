#!/usr/bin/env bash
# Stage 0 for CodecFake: fetch the parquet release from the Hugging Face Hub (rogertseng/CodecFake
# at a pinned commit, 161 shards, about 102 GB), check every file against the Hub's checksums,
# and write its audio as files into <db_root> (metadata.csv and <codec>/<speaker>/<file>).
#
# Usage: local/codecfake/get_corpus.sh [--download_dir DIR] <db_root>
# If <db_root>/.complete exists nothing is done. A <db_root> that already holds the files is
# verified (metadata.csv's 707,872 rows, every listed file) and marked, not downloaded. Verified
# downloads are not fetched again. Needs pyarrow. Sources: src/antispoof/download/sources.py.
set -euo pipefail

download_dir=""  # the Hub's files, under hf_rogertseng--CodecFake/; empty: <db_root>/../downloads
help_message="$(sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//')"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=utils/parse_options.sh
. "${root}/utils/parse_options.sh"

if [ $# -ne 1 ]; then
  echo "${help_message}" >&2
  exit 1
fi
python -m antispoof.bin.get_corpus --corpus codecfake --db_root "$1" --download_dir "${download_dir}"

#!/usr/bin/env bash
# Stage 0 for ASVspoof 5: download the 18 audio tar parts and the protocols (Zenodo 14498691),
# verify their md5s, unpack into <db_root> (flac_T/, flac_D/, flac_E_eval/, ASVspoof5.*.tsv).
#
# Usage: local/asvspoof5/get_corpus.sh [--download_dir DIR] [--base_url URL] <db_root>
# If <db_root>/.complete exists nothing is done. A <db_root> that already holds the unpacked
# corpus is verified (official counts, every listed audio file) and marked, not downloaded.
# Interrupted downloads resume. Layout and sources: src/antispoof/download/sources.py.
set -euo pipefail

download_dir=""  # archives, as <name>.part until verified; empty: <db_root>/../downloads
base_url=""      # a site mirror holding <base_url>/<archive name>; empty: the official hosts
help_message="$(sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//')"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=utils/parse_options.sh
. "${root}/utils/parse_options.sh"

if [ $# -ne 1 ]; then
  echo "${help_message}" >&2
  exit 1
fi
python -m antispoof.bin.get_corpus --corpus asvspoof5 --db_root "$1" \
  --download_dir "${download_dir}" --base_url "${base_url}"

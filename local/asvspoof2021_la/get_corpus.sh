#!/usr/bin/env bash
# Stage 0 for ASVspoof 2021 LA: download the evaluation audio (Zenodo 4837263) and the keys
# (LA-keys-full.tar.gz), verify, unpack into <db_root> (ASVspoof2021_LA_eval/, keys/LA/).
#
# Usage: local/asvspoof2021_la/get_corpus.sh [--download_dir DIR] [--base_url URL] <db_root>
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
python -m antispoof.bin.get_corpus --corpus asvspoof2021_la --db_root "$1" \
  --download_dir "${download_dir}" --base_url "${base_url}"

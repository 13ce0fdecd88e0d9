#!/usr/bin/env bash
# Stage 0 for Fake-or-Real: download for-norm.tar.gz (York University's Lassonde share), verify
# it, and unpack it into <db_root> (which then holds for-norm/).
#
# Usage: local/fake_or_real/get_corpus.sh [--download_dir DIR] [--base_url URL] <db_root>
# If <db_root>/.complete exists nothing is done. A <db_root> that already holds the unpacked
# corpus is verified (every file of the Arena's test list) and marked, not downloaded.
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
python -m antispoof.bin.get_corpus --corpus fake_or_real --db_root "$1" \
  --download_dir "${download_dir}" --base_url "${base_url}"

#!/usr/bin/env bash
# Stage 0 for MLAAD with its M-AILABS bona fide: fetch MLAAD's fake/<lang>/ folders from the
# Hugging Face Hub (mueller91/MLAAD, each file against the Hub's checksums) and download and
# unpack the M-AILABS release of each language (<tag>.tgz) into <db_root>.
#
# Usage: local/mlaad/get_corpus.sh [--languages "de en ..."] [--download_dir DIR] [--base_url URL] <db_root>
# If <db_root>/.complete exists nothing is done. A <db_root> that already holds MLAAD/ and
# M-AILABS/ is verified (every clip of every meta.csv, every M-AILABS recording they name) and
# marked, not downloaded. Interrupted downloads resume. Sources: src/antispoof/download/sources.py.
set -euo pipefail

languages="de en es fr it pl ru uk"  # M-AILABS languages to get (all eight: about 78 GiB)
download_dir=""  # archives and Hub files; empty: <db_root>/../downloads
base_url=""      # a site mirror holding <base_url>/<tag>.tgz; empty: the official hosts
help_message="$(sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//')"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=utils/parse_options.sh
. "${root}/utils/parse_options.sh"

if [ $# -ne 1 ]; then
  echo "${help_message}" >&2
  exit 1
fi
python -m antispoof.bin.get_corpus --corpus mlaad --db_root "$1" --languages "${languages}" \
  --download_dir "${download_dir}" --base_url "${base_url}"

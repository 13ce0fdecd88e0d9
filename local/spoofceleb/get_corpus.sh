#!/usr/bin/env bash
# Stage 0 for SpoofCeleb, which is gated and never downloaded here: check a copy obtained by hand
# (its development and evaluation protocols, every file they list) and mark it complete.
#
# Usage: local/spoofceleb/get_corpus.sh <db_root>
# <db_root> holds spoofceleb/{metadata,flac}/ (the unpacked spoofceleb.tar.gz). Without a copy,
# the error gives the steps to obtain one (also in egs/spoofceleb/README.md).
set -euo pipefail

help_message="$(sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//')"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=utils/parse_options.sh
. "${root}/utils/parse_options.sh"

if [ $# -ne 1 ]; then
  echo "${help_message}" >&2
  exit 1
fi
python -m antispoof.bin.get_corpus --corpus spoofceleb --db_root "$1"

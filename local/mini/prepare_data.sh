#!/usr/bin/env bash
# Stage 1 of egs/mini: the mini corpus is in the exact ASVspoof 2019 LA layout, so its data
# directories come from the 2019 LA preparation.
#
# Usage: local/mini/prepare_data.sh <db_root> <data_root>
set -euo pipefail

help_message="$(sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//')"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=utils/parse_options.sh
. "${root}/utils/parse_options.sh"

if [ $# -ne 2 ]; then
  echo "${help_message}" >&2
  exit 1
fi
"${root}/local/asvspoof2019/prepare_data.sh" "$1" "$2"

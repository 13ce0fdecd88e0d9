#!/usr/bin/env bash
# Stage 1 for ASVspoof 2021 LA: the full CM key -> data/la21_full and data/la21_eval (eval subset).
#
# Usage: local/asvspoof2021_la/prepare_data.sh <db_root> <data_root>
# <db_root> holds ASVspoof2021_LA_eval/flac/ and keys/LA/ (CM key, ASV key and ASV scores); each
# data directory also gets the ASV key and scores in asv2021/ for the 2021 min t-DCF.
set -euo pipefail

help_message="$(sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//')"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=utils/parse_options.sh
. "${root}/utils/parse_options.sh"

if [ $# -ne 2 ]; then
  echo "${help_message}" >&2
  exit 1
fi
python -m antispoof.bin.prepare_asvspoof2021 --track la --db_root "$1" --data_root "$2"

#!/usr/bin/env bash
# Stage 1 for ASVspoof 2019 LA (and its mini replica): CM protocols -> data/{train,dev,eval}.
#
# Usage: local/asvspoof2019/prepare_data.sh <db_root (holds LA/)> <data_root>
# wav.scp comes from the protocols (the dev and eval folders also hold ASV enrolment files);
# dev and eval also get the organisers' ASV scores as asv_scores.txt for the min t-DCF.
set -euo pipefail

help_message="$(sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//')"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=utils/parse_options.sh
. "${root}/utils/parse_options.sh"

if [ $# -ne 2 ]; then
  echo "${help_message}" >&2
  exit 1
fi
python -m antispoof.bin.prepare_asvspoof2019 --db_root "$1" --data_root "$2"

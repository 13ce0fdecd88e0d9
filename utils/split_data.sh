#!/usr/bin/env bash
# Split a valid Kaldi data directory into <data-dir>/split<N>/<n>/ (n = 1..N) for N parallel jobs:
# contiguous chunks of the sorted utterances, every file split alike; an up-to-date split is reused.
# Each part's split_origin records where its lines come from, so errors name the original lines.
#
# Usage:
#   utils/split_data.sh <data-dir> <num-jobs>
# e.g.
#   utils/split_data.sh data/train 8
#   ${feats_cmd} JOB=1:8 log/feats.JOB.log python -m ... data/train/split8/JOB ...
#
# The work is done by python -m antispoof.bin.split_data_dir (python from PATH).

# shellcheck source-path=SCRIPTDIR
set -euo pipefail

help_message=$(sed -n '2,/^$/s/^# \{0,1\}//p' "$0") # the comment block above

# shellcheck source=parse_options.sh
. "$(dirname "${BASH_SOURCE[0]}")/parse_options.sh"
if [ $# -ne 2 ]; then
  printf '%s\n' "${help_message}" >&2
  exit 1
fi

exec python -m antispoof.bin.split_data_dir "$1" "$2"

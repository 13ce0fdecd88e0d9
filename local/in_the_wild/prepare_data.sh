#!/usr/bin/env bash
# Stage 1 for In-the-Wild: release_in_the_wild/meta.csv -> data/itw (ids itw_00000..., utt2clip).
#
# Usage: local/in_the_wild/prepare_data.sh <db_root> <data_root>
# <db_root> holds release_in_the_wild/{0.wav,...,meta.csv}; wav.scp lists the clips of meta.csv
# only, and speaker names are made safe for Kaldi (characters outside [A-Za-z0-9_.-] -> _).
set -euo pipefail

help_message="$(sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//')"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=utils/parse_options.sh
. "${root}/utils/parse_options.sh"

if [ $# -ne 2 ]; then
  echo "${help_message}" >&2
  exit 1
fi
python -m antispoof.bin.prepare_in_the_wild --db_root "$1" --data_root "$2"

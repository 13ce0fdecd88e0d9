#!/usr/bin/env bash
# Stage 1 of egs/mini: each part of the mini corpus is in the exact layout of a real corpus, so
# its data directories come from that corpus's own preparation: <db_root>/LA (ASVspoof 2019 LA)
# -> train dev eval; <db_root>/df21 (2021 DF) -> df21_*; <db_root>/itw (In-the-Wild) -> itw;
# <db_root>/asv5 (ASVspoof 5) -> asv5_train asv5_dev asv5_eval.
#
# Usage: local/mini/prepare_data.sh <db_root> <data_root>
set -euo pipefail

help_message="$(sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//')"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=utils/parse_options.sh
. "${root}/utils/parse_options.sh"

if [ $# -ne 2 ]; then
  echo "${help_message}" >&2
  exit 1
fi
"${root}/local/asvspoof2019/prepare_data.sh" "$1" "$2"
# The DF replica has ~150 trials: a small train/dev draw leaves held-out trials of both classes.
"${root}/local/asvspoof2021_df/prepare_data.sh" --df_train_size 40 --df_dev_size 20 "$1/df21" "$2"
"${root}/local/in_the_wild/prepare_data.sh" "$1/itw" "$2"
"${root}/local/asvspoof5/prepare_data.sh" --prefix asv5_ "$1/asv5" "$2"

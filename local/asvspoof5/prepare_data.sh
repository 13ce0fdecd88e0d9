#!/usr/bin/env bash
# Stage 1 for ASVspoof 5 (Track 1): the release's protocols -> data/{train,dev,eval}, with the
# speaker, gender, codec, codec quality, attack tag and attack label of every trial.
#
# Usage: local/asvspoof5/prepare_data.sh [--prefix ""] <db_root> <data_root>
# <db_root> holds flac_T/, flac_D/, flac_E_eval/ and ASVspoof5.{train,dev.track_1,eval.track_1}.tsv.
set -euo pipefail

prefix=""  # prepended to the set names (the mini recipe's replica: asv5_train, ...)
help_message="$(sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//')"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=utils/parse_options.sh
. "${root}/utils/parse_options.sh"

if [ $# -ne 2 ]; then
  echo "${help_message}" >&2
  exit 1
fi
python -m antispoof.bin.prepare_asvspoof5 --db_root "$1" --data_root "$2" --prefix "${prefix}"

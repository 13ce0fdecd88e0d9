#!/usr/bin/env bash
# Stage 1 for SpoofCeleb: metadata/evaluation.csv -> data/spoofceleb_eval (91,130 trials),
# metadata/development.csv -> data/spoofceleb_dev (55,741); a00 is bona fide.
#
# Usage: local/spoofceleb/prepare_data.sh <db_root> <data_root>
# <db_root> holds spoofceleb/{metadata,flac}/; ids sc_<attack>_<speaker>_<clip>, utt2attack the
# attack id (bonafide for a00), utt2file the path under flac/<split>/.
set -euo pipefail

help_message="$(sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//')"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=utils/parse_options.sh
. "${root}/utils/parse_options.sh"

if [ $# -ne 2 ]; then
  echo "${help_message}" >&2
  exit 1
fi
python -m antispoof.bin.prepare_eval_corpus --corpus spoofceleb --db_root "$1" --data_root "$2"

#!/usr/bin/env bash
# Stage 1 for CodecFake: metadata.csv -> data/codecfake_test (speakers p227, p228) and
# data/codecfake_dev (p226, p229), every codec and the genuine VCTK files, as the authors split.
#
# Usage: local/codecfake/prepare_data.sh <db_root> <data_root>
# <db_root> holds metadata.csv and <codec>/<speaker>/<file> (stage 0); utt2attack is the codec;
# files that are not 16 kHz (most) are listed as 16 kHz copies under <set>/wav16k/.
set -euo pipefail

help_message="$(sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//')"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=utils/parse_options.sh
. "${root}/utils/parse_options.sh"

if [ $# -ne 2 ]; then
  echo "${help_message}" >&2
  exit 1
fi
python -m antispoof.bin.prepare_eval_corpus --corpus codecfake --db_root "$1" --data_root "$2"

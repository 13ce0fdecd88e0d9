#!/usr/bin/env bash
# Stage 1 for Fake-or-Real: the Arena's test list of for-norm (4,528 trials) -> data/for_test.
#
# Usage: local/fake_or_real/prepare_data.sh <db_root> <data_root>
# <db_root> holds for-norm/testing/{real,fake}/; ids for_<real|fake>_<N> from the file numbers
# (utt2file maps them back); files that are not 16 kHz are listed as copies under wav16k/.
set -euo pipefail

help_message="$(sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//')"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=utils/parse_options.sh
. "${root}/utils/parse_options.sh"

if [ $# -ne 2 ]; then
  echo "${help_message}" >&2
  exit 1
fi
python -m antispoof.bin.prepare_eval_corpus --corpus fake_or_real --db_root "$1" --data_root "$2"

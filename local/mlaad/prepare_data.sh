#!/usr/bin/env bash
# Stage 1 for MLAAD: for each M-AILABS language present, every MLAAD clip of it (spoof) and the
# M-AILABS recordings those clips name (bona fide) -> data/mlaad_<lang> (de en es fr it pl ru uk).
#
# Usage: local/mlaad/prepare_data.sh <db_root> <data_root>
# <db_root> holds MLAAD/fake/<lang>/<model>/meta.csv and M-AILABS/<tag>/by_book/; utt2attack is
# the TTS system, utt2lang the language; files not at 16 kHz are listed as 16 kHz copies.
set -euo pipefail

help_message="$(sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//')"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=utils/parse_options.sh
. "${root}/utils/parse_options.sh"

if [ $# -ne 2 ]; then
  echo "${help_message}" >&2
  exit 1
fi
python -m antispoof.bin.prepare_eval_corpus --corpus mlaad --db_root "$1" --data_root "$2"

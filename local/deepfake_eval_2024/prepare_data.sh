#!/usr/bin/env bash
# Stage 1 for Deepfake-Eval-2024: the Test recordings of audio-metadata-publish.csv, whole ->
# data/dfeval2024, and cut as AntiDeepfake cuts them into segments of N seconds (no overlap,
# the last one shorter) -> data/dfeval2024_seg<N>, one set per length.
#
# Usage: local/deepfake_eval_2024/prepare_data.sh [--segment_seconds "4 10 13 30 50"] <db_root> <data_root>
# <db_root> holds audio-metadata-publish.csv and audio-data/; segments and 16 kHz copies are
# written as float WAV under <set>/wav16k/ (about 230 MB per hour of audio and per set).
set -euo pipefail

segment_seconds="4 10 13 30 50"  # segment lengths, one data set each (AntiDeepfake's lengths)
help_message="$(sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//')"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=utils/parse_options.sh
. "${root}/utils/parse_options.sh"

if [ $# -ne 2 ]; then
  echo "${help_message}" >&2
  exit 1
fi
python -m antispoof.bin.prepare_eval_corpus --corpus deepfake_eval_2024 --db_root "$1" \
  --data_root "$2" --segment_seconds "${segment_seconds}"

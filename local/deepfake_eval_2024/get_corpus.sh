#!/usr/bin/env bash
# Stage 0 for Deepfake-Eval-2024, which is gated and never downloaded here: check a copy obtained
# by hand (audio-metadata-publish.csv and every audio file it lists) and mark it complete.
#
# Usage: local/deepfake_eval_2024/get_corpus.sh <db_root>
# <db_root> holds audio-metadata-publish.csv and audio-data/<Filename>. Without a copy, the
# error gives the steps to obtain one (also in egs/deepfake_eval_2024/README.md).
set -euo pipefail

help_message="$(sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//')"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=utils/parse_options.sh
. "${root}/utils/parse_options.sh"

if [ $# -ne 1 ]; then
  echo "${help_message}" >&2
  exit 1
fi
python -m antispoof.bin.get_corpus --corpus deepfake_eval_2024 --db_root "$1"

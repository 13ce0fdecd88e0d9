#!/usr/bin/env bash
# Stage 0 of egs/mini: synthesise the mini corpus (ASVspoof 2019 LA layout) into <db_root>.
#
# Usage: local/mini/get_corpus.sh [--seed 0] [--scale 1.0] [--nj 2] <db_root>
# Deterministic for a seed; writes <db_root>/.complete last.
set -euo pipefail

seed=0      # corpus seed
scale=1.0   # multiplies the number of utterances per speaker
nj=2        # generating processes
help_message="$(sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//')"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=utils/parse_options.sh
. "${root}/utils/parse_options.sh"

if [ $# -ne 1 ]; then
  echo "${help_message}" >&2
  exit 1
fi
python -m antispoof.bin.make_mini_corpus --out_dir "$1" --seed "${seed}" --scale "${scale}" --nj "${nj}"

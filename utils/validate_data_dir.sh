#!/usr/bin/env bash
# Check a Kaldi data directory against the contract in DESIGN.md (sorted files, one key set,
# spk2utt the inverse of utt2spk, valid labels and attacks); exit 1 naming every problem.
#
# Usage:
#   utils/validate_data_dir.sh [--check-audio-exists true|false] <data-dir>
# e.g.
#   utils/validate_data_dir.sh --check-audio-exists true data/train
#
# Options:
#   --check-audio-exists  each wav.scp path that is not a pipe command must exist (default: false)
#
# The work is done by python -m antispoof.bin.validate_data_dir (python from PATH).

# shellcheck source-path=SCRIPTDIR
set -euo pipefail

help_message=$(sed -n '2,/^$/s/^# \{0,1\}//p' "$0") # the comment block above
check_audio_exists=false

# shellcheck source=parse_options.sh
. "$(dirname "${BASH_SOURCE[0]}")/parse_options.sh"
if [ $# -ne 1 ]; then
  printf '%s\n' "${help_message}" >&2
  exit 1
fi

if "${check_audio_exists}"; then
  exec python -m antispoof.bin.validate_data_dir --check_audio_exists "$1"
fi
exec python -m antispoof.bin.validate_data_dir "$1"

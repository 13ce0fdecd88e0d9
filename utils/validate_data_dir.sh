#!/usr/bin/env bash
# Check a Kaldi data directory against the contract in docs/DESIGN.md (sorted files, one key set,
# spk2utt the inverse of utt2spk, valid labels and attacks, wav.scp values that are audio file
# paths); exit 1 naming every problem.
#
# Usage:
#   utils/validate_data_dir.sh [--check-audio-exists true|false] [--check-audio true|false] <data-dir>
# e.g.
#   utils/validate_data_dir.sh --check-audio-exists true data/train
#   utils/validate_data_dir.sh --check-audio true data/train
#
# Options:
#   --check-audio-exists  each wav.scp path must be an existing file (default: false)
#   --check-audio         read every audio file through: readable, 16 kHz, not empty, no NaN or
#                         infinite samples; lists every bad file (default: false; implies
#                         --check-audio-exists)
#
# The work is done by python -m antispoof.bin.validate_data_dir (python from PATH).

# shellcheck source-path=SCRIPTDIR
set -euo pipefail

help_message=$(sed -n '2,/^$/s/^# \{0,1\}//p' "$0") # the comment block above
check_audio_exists=false
check_audio=false

# shellcheck source=parse_options.sh
. "$(dirname "${BASH_SOURCE[0]}")/parse_options.sh"
if [ $# -ne 1 ]; then
  printf '%s\n' "${help_message}" >&2
  exit 1
fi

options=()
if "${check_audio_exists}"; then
  options+=(--check_audio_exists)
fi
if "${check_audio}"; then
  options+=(--check_audio)
fi
# ${options[@]+...}: an empty array is "unbound" to set -u in bash < 4.4.
exec python -m antispoof.bin.validate_data_dir ${options[@]+"${options[@]}"} "$1"

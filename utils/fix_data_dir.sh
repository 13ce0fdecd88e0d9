#!/usr/bin/env bash
# Repair a Kaldi data directory: keep the utterances present in wav.scp and every utt2* file,
# sort every file (LC_ALL=C order), rebuild spk2utt; changed files are backed up in <dir>/.backup/.
#
# Usage:
#   utils/fix_data_dir.sh <data-dir>
# e.g.
#   utils/fix_data_dir.sh data/train && utils/validate_data_dir.sh data/train
#
# The work is done by python -m antispoof.bin.fix_data_dir (python from PATH).

# shellcheck source-path=SCRIPTDIR
set -euo pipefail

help_message=$(sed -n '2,/^$/s/^# \{0,1\}//p' "$0") # the comment block above

# shellcheck source=parse_options.sh
. "$(dirname "${BASH_SOURCE[0]}")/parse_options.sh"
if [ $# -ne 1 ]; then
  printf '%s\n' "${help_message}" >&2
  exit 1
fi

exec python -m antispoof.bin.fix_data_dir "$1"

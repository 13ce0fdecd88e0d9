#!/usr/bin/env bash
# Stage 1 for ASVspoof 2021 DF: the full key -> data/df21_full and data/df21_eval (eval subset);
# a seeded train/dev draw from the key with bona fide oversampled -> data/df21_train, data/df21_dev;
# data/df21_full_heldout and data/df21_eval_heldout without the trials of that draw.
#
# Usage: local/asvspoof2021_df/prepare_data.sh [--df_train_size 100000] [--df_dev_size 25000] [--seed 42] <db_root> <data_root>
# <db_root> holds ASVspoof2021_DF_eval/flac/ and keys/DF/CM/trial_metadata.txt (full or stage-1 key).
set -euo pipefail

df_train_size=100000 # entries of df21_train, half bona fide (repeated copies named <trial>-rep<k>)
df_dev_size=25000    # entries of df21_dev, half bona fide
seed=42              # seed of the train/dev draw (numpy default_rng)
help_message="$(sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//')"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=utils/parse_options.sh
. "${root}/utils/parse_options.sh"

if [ $# -ne 2 ]; then
  echo "${help_message}" >&2
  exit 1
fi
python -m antispoof.bin.prepare_asvspoof2021 --track df --db_root "$1" --data_root "$2" \
  --df_train_size "${df_train_size}" --df_dev_size "${df_dev_size}" --seed "${seed}"

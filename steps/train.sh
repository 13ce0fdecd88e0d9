#!/usr/bin/env bash
# Train an experiment (its saved config.yaml) through the job launcher; resumes when re-run.
#
# Usage: steps/train.sh [--cmd utils/run_local.sh] [--ngpu N] [--train_feats scp] [--dev_feats scp] \
#          <exp_dir> <train_data_dir> <dev_data_dir>
#   e.g. steps/train.sh --train_feats dump/lfcc_1a2b3c4d/train/feats.scp exp/lfcc_resnet18_ocsoftmax data/train data/dev
# Writes <exp_dir>/checkpoints/{last,best}.pt, train.log, tensorboard/, and .done.train (the
# checksums of the training and dev tables and the training settings it was made from).
set -euo pipefail

cmd="${ANTISPOOF_ROOT:-.}/utils/run_local.sh"  # job launcher (conf/cmd.sh: train_cmd)
ngpu=""                                        # 0, 1; empty: a GPU if present
train_feats=""                                 # feature cache of the training set (optional)
dev_feats=""                                   # feature cache of the dev set (optional)
num_threads=$(nproc)                           # torch threads of the training process
help_message="$(sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//')"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=utils/parse_options.sh
. "${root}/utils/parse_options.sh"
# shellcheck source=utils/log.sh
. "${root}/utils/log.sh"

if [ $# -ne 3 ]; then
  echo "${help_message}" >&2
  exit 1
fi
exp_dir=$1
train_dir=$2
dev_dir=$3

extra=()
[ -n "${ngpu}" ] && extra+=(--ngpu "${ngpu}")
[ -n "${train_feats}" ] && extra+=(--train_feats "${train_feats}")
[ -n "${dev_feats}" ] && extra+=(--dev_feats "${dev_feats}")
gpu_opt=()
[ -n "${ngpu}" ] && gpu_opt=(--gpu "${ngpu}")

mkdir -p "${exp_dir}/log"
# The marker records the inputs as the work starts and is put in place when it ends.
rm -f "${exp_dir}/.done.train"
python -m antispoof.bin.stage_marker write "${exp_dir}/.done.train.tmp" train \
  --train_dir "${train_dir}" --dev_dir "${dev_dir}" --config "${exp_dir}/config.yaml"
log "training ${exp_dir} (log: ${exp_dir}/log/train.log; progress: ${exp_dir}/train.log)"
# shellcheck disable=SC2086  # ${cmd} is a command line with its own options (Kaldi style)
${cmd} --num-threads "${num_threads}" "${gpu_opt[@]}" "${exp_dir}/log/train.log" \
  python -m antispoof.bin.train --exp_dir "${exp_dir}" --train_dir "${train_dir}" \
  --dev_dir "${dev_dir}" "${extra[@]}"
mv "${exp_dir}/.done.train.tmp" "${exp_dir}/.done.train"

#!/usr/bin/env bash
# Cache a frozen input branch of an experiment for a data directory: the distinct audio files of
# its wav.scp that the branch's feature store lacks are computed, each once, and the set gets a
# view into the store.
#
# Usage: steps/make_feats.sh [--nj 2] [--cmd utils/run_local.sh] [--ngpu N] [--dtype float32] \
#          [--num_threads N] --branch <name> <exp_config> <data_dir> <out_dir>
#   e.g. steps/make_feats.sh --nj 4 --branch lfcc exp/lfcc_resnet18_ocsoftmax/config.yaml data/train dump/lfcc_1a2b3c4d/train
# The store is <out_dir>/../store.<dtype> (python -m antispoof.bin.feature_store --help). Writes
# <out_dir>/feats.scp (sorted), utt2num_frames, frontend.yaml, and .done (the checksums of the
# data directory's wav.scp and the branch settings it was made from, and a float16 dtype).
set -euo pipefail

nj=2                                                   # parallel jobs
cmd="${ANTISPOOF_ROOT:-.}/utils/run_local.sh"          # job launcher (conf/cmd.sh: feats_cmd)
ngpu=""                                                # 0, 1; empty: a GPU per job if this machine has any
branch=""                                              # the input branch to cache
dtype=float32                                          # stored dtype: float32 or float16
num_threads=""                                         # threads per job; empty: the launcher's
                                                       # (run_local.sh: nproc / nj, at least 1)
help_message="$(sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//')"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=utils/parse_options.sh
. "${root}/utils/parse_options.sh"
# shellcheck source=utils/log.sh
. "${root}/utils/log.sh"

if [ $# -ne 3 ] || [ -z "${branch}" ]; then
  echo "${help_message}" >&2
  exit 1
fi
config=$1
data_dir=$2
out_dir=$3
store="$(dirname "${out_dir}")/store.${dtype}"

mkdir -p "${out_dir}/log"
# The marker records the inputs as the work starts and is put in place when it ends.
rm -f "${out_dir}/.done"
python -m antispoof.bin.stage_marker write "${out_dir}/.done.tmp" feats --data_dir "${data_dir}" \
  --config "${config}" --branch "${branch}" --cache_dtype "${dtype}"
todo=$(python -m antispoof.bin.feature_store prepare --store "${store}" --data_dir "${data_dir}" \
  --config "${config}" --branch "${branch}")
read -r missing batch <<<"${todo}"
if [ "${missing}" -gt 0 ]; then
  jobs=$((missing < nj ? missing : nj))
  log "computing ${missing} audio files of ${data_dir} into ${store} in ${jobs} job(s)" \
    "(logs: ${out_dir}/log)"
  extra=()
  [ -n "${ngpu}" ] && extra+=(--ngpu "${ngpu}")
  # Each job asks the launcher for its GPU (Slurm: --gres; locally: a GPU of its own).
  gpu_opt=(--gpu "${ngpu}")
  if [ -z "${ngpu}" ]; then
    gpu_opt=()
    [ -n "$("${root}/utils/visible_gpus.sh")" ] && gpu_opt=(--gpu 1)
  fi
  threads_opt=()
  [ -n "${num_threads}" ] && threads_opt=(--num-threads "${num_threads}")
  failed=false
  # ${cmd} is a command line with its own options, split into words on purpose (Kaldi style).
  # shellcheck disable=SC2086
  ${cmd} "${threads_opt[@]}" "${gpu_opt[@]}" JOB=1:"${jobs}" "${out_dir}/log/make_feats.JOB.log" \
    python -m antispoof.bin.make_feats --config "${config}" --branch "${branch}" \
    --data_dir "${data_dir}" --store "${store}" --batch "${batch}" --job JOB \
    --num_jobs "${jobs}" --dtype "${dtype}" "${extra[@]}" || failed=true
  # What the finished jobs computed is kept even when another failed: a re-run does the rest.
  python -m antispoof.bin.feature_store commit --store "${store}"
  [ "${failed}" = false ] || exit 1
else
  log "${store} holds every audio file of ${data_dir} already"
fi
python -m antispoof.bin.feature_store view --store "${store}" --data_dir "${data_dir}" \
  --out "${out_dir}"
mv "${out_dir}/.done.tmp" "${out_dir}/.done"
log "wrote ${out_dir}/feats.scp ($(wc -l <"${out_dir}/feats.scp") utterances)"

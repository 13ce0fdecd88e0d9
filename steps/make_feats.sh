#!/usr/bin/env bash
# Run a frozen input branch of an experiment over a data directory into a kaldiio ark/scp store.
#
# Usage: steps/make_feats.sh [--nj 2] [--cmd utils/run_local.sh] [--ngpu N] [--num_threads N] \
#          --branch <name> <exp_config> <data_dir> <out_dir>
#   e.g. steps/make_feats.sh --nj 4 --branch lfcc exp/lfcc_resnet18_ocsoftmax/config.yaml data/train dump/lfcc_1a2b3c4d/train
# Writes <out_dir>/feats.scp (sorted), the per-job arks, utt2num_frames, frontend.yaml, and .done
# (the checksums of the data directory's wav.scp and the branch settings it was made from).
set -euo pipefail

nj=2                                                   # parallel jobs
cmd="${ANTISPOOF_ROOT:-.}/utils/run_local.sh"          # job launcher (conf/cmd.sh: feats_cmd)
ngpu=""                                                # 0, 1; empty: a GPU if present
branch=""                                              # the input branch to cache
num_threads=""                                         # threads per job; empty: the launcher's
                                                       # (run_local.sh: nproc / nj, at least 1)
help_message="$(sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//')"

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

mkdir -p "${out_dir}/log"
# The marker records the inputs as the work starts and is put in place when it ends.
rm -f "${out_dir}/.done"
python -m antispoof.bin.stage_marker write "${out_dir}/.done.tmp" feats --data_dir "${data_dir}" \
  --config "${config}" --branch "${branch}"
"${root}/utils/split_data.sh" "${data_dir}" "${nj}"
log "extracting features of ${data_dir} in ${nj} jobs (logs: ${out_dir}/log)"
# ${cmd} is a command line with its own options, split into words on purpose (Kaldi style).
# shellcheck disable=SC2086
extra=()
gpu_opt=()
[ -n "${ngpu}" ] && extra+=(--ngpu "${ngpu}") && gpu_opt=(--gpu "${ngpu}")
threads_opt=()
[ -n "${num_threads}" ] && threads_opt=(--num-threads "${num_threads}")
${cmd} "${threads_opt[@]}" "${gpu_opt[@]}" JOB=1:"${nj}" "${out_dir}/log/make_feats.JOB.log" \
  python -m antispoof.bin.make_feats --config "${config}" --branch "${branch}" \
  --data_dir "${data_dir}/split${nj}/JOB" --out "${out_dir}/feats.JOB" "${extra[@]}"

for job in $(seq "${nj}"); do cat "${out_dir}/feats.${job}.scp"; done | LC_ALL=C sort > "${out_dir}/feats.scp"
for job in $(seq "${nj}"); do cat "${out_dir}/feats.${job}.utt2num_frames"; done \
  | LC_ALL=C sort > "${out_dir}/utt2num_frames"
expected=$(wc -l < "${data_dir}/wav.scp")
got=$(wc -l < "${out_dir}/feats.scp")
if [ "${expected}" -ne "${got}" ]; then
  log "error: ${out_dir}/feats.scp has ${got} utterances, ${data_dir}/wav.scp has ${expected}"
  exit 1
fi
mv "${out_dir}/.done.tmp" "${out_dir}/.done"
log "wrote ${out_dir}/feats.scp (${got} utterances)"

#!/usr/bin/env bash
# Score a data directory with a trained experiment in parallel jobs: <out_dir>/scores.txt.
#
# Usage: steps/score.sh [--nj 2] [--cmd utils/run_local.sh] [--ngpu N] [--caches "<branch>=<scp> ..."] \
#          [--checkpoint best] [--num_threads N] <exp_dir> <data_dir> <out_dir>
#   e.g. steps/score.sh --nj 4 exp/lfcc_resnet18_ocsoftmax data/eval exp/lfcc_resnet18_ocsoftmax/eval
# scores.txt holds `<utt> <score>` for every utterance of wav.scp, higher = more bona fide, as the
# experiment's `inference` settings score it; scores.arena.txt the same for the Speech
# Anti-Spoofing Arena's protocol (each utterance's first 64,600 samples, antispoof.arena); .done.score
# records the checksums of wav.scp, the config and the checkpoint it was made from.
set -euo pipefail

nj=2                                           # parallel jobs
cmd="${ANTISPOOF_ROOT:-.}/utils/run_local.sh"  # job launcher (conf/cmd.sh: decode_cmd)
ngpu=""                                        # 0, 1; empty: a GPU per job if this machine has any
caches=""                                      # <branch>=<feats.scp> caches of the data directory
checkpoint=best                                # best, last, or a checkpoint path
num_threads=""                                 # threads per job; empty: the launcher's
                                               # (run_local.sh: nproc / nj, at least 1)
help_message="$(sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//')"

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
data_dir=$2
out_dir=$3

extra=(--checkpoint "${checkpoint}")
[ -n "${ngpu}" ] && extra+=(--ngpu "${ngpu}")
for cache in ${caches}; do extra+=(--cache "${cache}"); done
# Each job asks the launcher for its GPU (Slurm: --gres; locally: a GPU of its own).
gpu_opt=(--gpu "${ngpu}")
if [ -z "${ngpu}" ]; then
  gpu_opt=()
  [ -n "$("${root}/utils/visible_gpus.sh")" ] && gpu_opt=(--gpu 1)
fi
threads_opt=()
[ -n "${num_threads}" ] && threads_opt=(--num-threads "${num_threads}")

mkdir -p "${out_dir}/log"
# Nothing of an earlier scoring stays where the new one belongs: an interrupted run leaves no
# scores, metrics or plots to be taken for its own. The marker records the inputs as the work
# starts and is put in place when it ends.
rm -f "${out_dir}"/{.done.score,scores.txt,scores.arena.txt,metrics.json,metrics.arena.json}
rm -f "${out_dir}"/{det.png,score_hist.png}
python -m antispoof.bin.stage_marker write "${out_dir}/.done.score.tmp" score \
  --data_dir "${data_dir}" --config "${exp_dir}/config.yaml" --checkpoint "${checkpoint}"
"${root}/utils/split_data.sh" "${data_dir}" "${nj}"
# shellcheck disable=SC2086  # ${cmd} is a command line with its own options (Kaldi style)
${cmd} "${threads_opt[@]}" "${gpu_opt[@]}" JOB=1:"${nj}" "${out_dir}/log/score.JOB.log" \
  python -m antispoof.bin.score --exp_dir "${exp_dir}" --data_dir "${data_dir}/split${nj}/JOB" \
  --out "${out_dir}/scores.JOB.txt" --arena_out "${out_dir}/scores.arena.JOB.txt" "${extra[@]}"
for kind in scores scores.arena; do
  for job in $(seq "${nj}"); do cat "${out_dir}/${kind}.${job}.txt"; done \
    | LC_ALL=C sort > "${out_dir}/${kind}.txt"
  for job in $(seq "${nj}"); do rm "${out_dir}/${kind}.${job}.txt"; done
done
mv "${out_dir}/.done.score.tmp" "${out_dir}/.done.score"
log "wrote ${out_dir}/scores.txt ($(wc -l < "${out_dir}/scores.txt") utterances)"

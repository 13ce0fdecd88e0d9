#!/usr/bin/env bash
# benchmark: one model scored on every prepared evaluation corpus, in one Markdown table.
#
# Usage: egs/benchmark/run.sh --model <exp dir | published or zoo name> [options]
#   e.g. egs/benchmark/run.sh --model aasist
#        egs/benchmark/run.sh --model ../asvspoof2019/exp/lfcc_resnet18_ocsoftmax --nj 4
#        egs/benchmark/run.sh --model aasist --replicas mini        # the mini corpus's replicas
# A name is imported (antispoof.bin.import_pretrained) into exp/<name>. Each prepared set
# (egs/<corpus>/data/<set>) is scored under the official and the Arena protocol into
# <out_dir>/<corpus>/<set>/ (steps/score.sh; current scores are kept) and evaluated; then
# <out_dir>/BENCHMARK.md holds EER and min DCF of both, the DET plots, and the corpora of the
# model's training data marked, not ranked. A set not prepared is listed, with its command.
set -euo pipefail
original_args=("$@")
script="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
cd "$(dirname "$0")"
ANTISPOOF_ROOT="$(cd ../.. && pwd)"
export ANTISPOOF_ROOT

model=""      # an experiment directory, or a published or zoo model's name (aasist, ...)
nj=2          # parallel scoring jobs per set
ngpu=""       # 0, 1; empty: a GPU per job if this machine has any
corpora=""    # space-separated corpora (their recipe names); empty: all
replicas=""   # mini: the mini corpus's replicas (egs/mini/data); empty: the corpora's recipes
out_dir=""    # empty: exp/benchmark_<model's name>
help_message="$(sed -n '2,12p' "${script}" | sed 's/^# \{0,1\}//')"

# shellcheck source=utils/parse_options.sh
. "${ANTISPOOF_ROOT}/utils/parse_options.sh"
# shellcheck source=utils/log.sh
. "${ANTISPOOF_ROOT}/utils/log.sh"

if [ $# -ne 0 ] || [ -z "${model}" ]; then
  echo "${help_message}" >&2
  exit 1
fi
# shellcheck source=utils/setup_env.sh
. "${ANTISPOOF_ROOT}/utils/setup_env.sh"
# shellcheck source=conf/cmd.sh
. "${ANTISPOOF_ROOT}/conf/cmd.sh"

# The model and the corpora are checked before any work; the prepared sets, one line each:
# <corpus> <set> <data dir>.
set_args=(--model "${model}" --corpora "${corpora}" --replicas "${replicas}"
  --egs_dir "${ANTISPOOF_ROOT}/egs")
sets=$(python -m antispoof.bin.benchmark sets "${set_args[@]}")
name=$(basename "${model}")
out_dir=${out_dir:-exp/benchmark_${name}}
exp_dir=${model}
if [ ! -d "${model}" ]; then
  exp_dir=exp/${name}
  python -m antispoof.bin.import_pretrained "${model}" "${exp_dir}"
fi
ngpu_arg=()
[ -n "${ngpu}" ] && ngpu_arg=(--ngpu "${ngpu}")

while read -r corpus set data_dir; do
  [ -z "${corpus}" ] && continue
  dir=${out_dir}/${corpus}/${set}
  verdict=""
  status=0
  verdict=$(python -m antispoof.bin.stage_marker check "${dir}/.done.score" score \
    --data_dir "${data_dir}" --config "${exp_dir}/config.yaml" --checkpoint best) || status=$?
  case ${status} in
    0) log "${corpus}/${set}: skipping the scoring: ${verdict}" ;;
    3 | 4)
      log "${corpus}/${set}: scoring ${data_dir} with ${exp_dir}"
      "${ANTISPOOF_ROOT}/steps/score.sh" --nj "${nj}" --cmd "${decode_cmd}" "${ngpu_arg[@]}" \
        "${exp_dir}" "${data_dir}" "${dir}"
      ;;
    *)
      log "error: cannot check the marker ${dir}/.done.score (exit status ${status})"
      exit 1
      ;;
  esac
  log "${corpus}/${set}: evaluating under the official protocol and the Arena's"
  python -m antispoof.bin.evaluate --scores "${dir}/scores.txt" --data_dir "${data_dir}" \
    --out "${dir}/metrics.json" --plots_dir "${dir}" --title "${name} on ${corpus}/${set}" \
    >/dev/null
  python -m antispoof.bin.evaluate --protocol arena --scores "${dir}/scores.arena.txt" \
    --data_dir "${data_dir}" --out "${dir}/metrics.arena.json" --plots_dir "${dir}/arena" \
    --title "${name} on ${corpus}/${set} (Arena protocol)" >/dev/null
done <<<"${sets}"

command_line="egs/benchmark/run.sh"
for arg in "${original_args[@]+"${original_args[@]}"}"; do
  command_line+=" $(printf '%q' "${arg}")"
done
python -m antispoof.bin.benchmark table "${set_args[@]}" --exp_dir "${exp_dir}" \
  --out_dir "${out_dir}" --command "${command_line}"
log "wrote $(pwd)/${out_dir}/BENCHMARK.md"

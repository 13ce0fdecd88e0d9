#!/usr/bin/env bash
# The antispoof pipeline: stages 0-5, shared by every recipe.
#
# Usage:
#   ./run.sh [options]                      # no recipe given: runs egs/mini, stages 0-5
#   egs/<recipe>/run.sh [options]           # a recipe sets its variables, then calls this file
#   ./run.sh --stage 3 --stop-stage 5 --override "train.epochs=2"
#
# Stages: 0 get the corpus; 1 Kaldi data directories; 2 frontend features (ark cache);
# 3 train; 4 score every test set; 5 evaluate and report. Every stage is skipped when its
# work is done (a .done marker) unless --force true; training resumes from its last checkpoint.
set -euo pipefail

ANTISPOOF_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export ANTISPOOF_ROOT
original_args=("$@")

# Options; every one can be given as --name or --name-with-dashes.
stage=0                 # first stage to run
stop_stage=5            # last stage to run
nj=2                    # parallel jobs for feature extraction and scoring
ngpu=auto               # GPUs for training and scoring: 0, 1, or auto (a GPU if present)
config=""               # experiment config(s), space separated, relative to the recipe
override=""             # config overrides, space separated, e.g. "train.epochs=2 loss=softmax"
train_set=train         # data/<train_set> trains the model
dev_set=dev             # data/<dev_set> selects the best checkpoint
test_sets="dev eval"    # data/<set> for each set is scored and evaluated
corpora=""              # <corpus>=<root> pairs: local/<corpus>/ gets (stage 0) and prepares
                        # (stage 1) each; the first is the recipe's own corpus
db_root=""              # replaces the root of the recipe's own corpus (an existing copy, say)
exp_dir=""              # reuse a trained experiment (skips stage 3), e.g. ../asvspoof2019/exp/<tag>
force=false             # redo stages whose work is already done
recipe_dir=""           # set by egs/<recipe>/run.sh; empty: run egs/mini
help_message="$(sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//')"

# shellcheck source=utils/parse_options.sh
. "${ANTISPOOF_ROOT}/utils/parse_options.sh"

if [ -z "${recipe_dir}" ]; then
  exec "${ANTISPOOF_ROOT}/egs/mini/run.sh" "${original_args[@]}"
fi

# shellcheck source=utils/log.sh
. "${ANTISPOOF_ROOT}/utils/log.sh"
# shellcheck source=utils/setup_env.sh
. "${ANTISPOOF_ROOT}/utils/setup_env.sh"
# shellcheck source=conf/cmd.sh
. "${ANTISPOOF_ROOT}/conf/cmd.sh"

cd "${recipe_dir}"
started=$(date +%s)
if [ -z "${config}" ] && [ -z "${exp_dir}" ] && [ "${stop_stage}" -ge 3 ]; then
  log "error: give --config (experiments to train) or --exp_dir (a trained experiment to reuse)"
  exit 1
fi
read -r -a corpus_roots <<<"${corpora}"
if [ -n "${db_root}" ]; then
  corpus_roots[0]="${corpus_roots[0]%%=*}=${db_root}"
fi
[ "${ngpu}" = auto ] && ngpu_arg=() || ngpu_arg=(--ngpu "${ngpu}")
force_arg=()
[ "${force}" = true ] && force_arg=(--force)
override_args=()
for item in ${override}; do override_args+=(--override "${item}"); done

# Whether a stage's piece of work still has to run; with --force true, it always has.
pending() { [ "${force}" = true ] || [ ! -f "$1" ]; }

if [ "${stage}" -le 0 ] && [ "${stop_stage}" -ge 0 ]; then
  for pair in "${corpus_roots[@]}"; do
    corpus=${pair%%=*}
    root=${pair#*=}
    log "stage 0: ${corpus} into ${root}"
    if [ -f "${root}/.complete" ] && [ "${force}" != true ]; then
      log "stage 0: ${root}/.complete exists, skipping"
    else
      "${ANTISPOOF_ROOT}/local/${corpus}/get_corpus.sh" "${root}"
    fi
  done
fi

if [ "${stage}" -le 1 ] && [ "${stop_stage}" -ge 1 ]; then
  for pair in "${corpus_roots[@]}"; do
    corpus=${pair%%=*}
    if pending "data/.done.${corpus}"; then
      log "stage 1: ${corpus} data directories under data/"
      "${ANTISPOOF_ROOT}/local/${corpus}/prepare_data.sh" "${pair#*=}" data
      touch "data/.done.${corpus}"
    fi
  done
  for set in ${train_set} ${dev_set} ${test_sets}; do
    "${ANTISPOOF_ROOT}/utils/validate_data_dir.sh" --check_audio_exists true "data/${set}"
  done
fi

# Experiments: one per config (the tag derives from the config name and the overrides), or the
# reused --exp_dir. Each line: <exp dir> <frontend tag> <frontend trainable>.
experiments=()
if [ -n "${exp_dir}" ]; then
  experiments+=("$(python -m antispoof.bin.prepare_exp --exp_dir "${exp_dir}")")
elif [ "${stop_stage}" -ge 2 ]; then
  for conf in ${config}; do
    experiments+=("$(python -m antispoof.bin.prepare_exp --config "${conf}" --exp_root exp \
      "${override_args[@]}" "${force_arg[@]}")")
  done
fi

if [ "${stage}" -le 2 ] && [ "${stop_stage}" -ge 2 ]; then
  for experiment in "${experiments[@]}"; do
    read -r dir frontend_tag trainable <<<"${experiment}"
    if [ "${trainable}" = true ]; then
      log "stage 2: ${dir}: trainable frontend, computed inside the model"
      continue
    fi
    for set in ${train_set} ${dev_set} ${test_sets}; do
      if pending "dump/${frontend_tag}/${set}/.done"; then
        log "stage 2: ${frontend_tag} features of data/${set}"
        "${ANTISPOOF_ROOT}/steps/make_feats.sh" --nj "${nj}" --cmd "${feats_cmd}" \
          "${dir}/config.yaml" "data/${set}" "dump/${frontend_tag}/${set}"
      fi
    done
  done
fi

# The feature cache of a set, when stage 2 made one; otherwise the frontend runs on the fly.
feats_of() { [ -f "dump/$1/$2/.done" ] && echo "dump/$1/$2/feats.scp" || true; }

if [ "${stage}" -le 3 ] && [ "${stop_stage}" -ge 3 ] && [ -z "${exp_dir}" ]; then
  for experiment in "${experiments[@]}"; do
    read -r dir frontend_tag _ <<<"${experiment}"
    if pending "${dir}/.done.train"; then
      log "stage 3: training ${dir}"
      "${ANTISPOOF_ROOT}/steps/train.sh" --cmd "${train_cmd}" "${ngpu_arg[@]}" \
        --train_feats "$(feats_of "${frontend_tag}" "${train_set}")" \
        --dev_feats "$(feats_of "${frontend_tag}" "${dev_set}")" \
        "${dir}" "data/${train_set}" "data/${dev_set}"
    fi
  done
fi

if [ "${stage}" -le 4 ] && [ "${stop_stage}" -ge 4 ]; then
  for experiment in "${experiments[@]}"; do
    read -r dir frontend_tag _ <<<"${experiment}"
    for set in ${test_sets}; do
      if pending "${dir}/${set}/.done.score"; then
        log "stage 4: scoring data/${set} with ${dir}"
        "${ANTISPOOF_ROOT}/steps/score.sh" --nj "${nj}" --cmd "${decode_cmd}" "${ngpu_arg[@]}" \
          --feats "$(feats_of "${frontend_tag}" "${set}")" "${dir}" "data/${set}" "${dir}/${set}"
      fi
    done
  done
fi

if [ "${stage}" -le 5 ] && [ "${stop_stage}" -ge 5 ]; then
  dirs=()
  for experiment in "${experiments[@]}"; do
    read -r dir _ _ <<<"${experiment}"
    dirs+=("${dir}")
    for set in ${test_sets}; do
      log "stage 5: evaluating ${dir}/${set}"
      # The ASV data for the t-DCF (asv_scores.txt for 2019, asv2021/ for 2021 LA) is read from
      # the data directory.
      python -m antispoof.bin.evaluate --scores "${dir}/${set}/scores.txt" --data_dir "data/${set}" \
        --out "${dir}/${set}/metrics.json" --plots_dir "${dir}/${set}"
    done
    python -m antispoof.bin.collect_results --out "${dir}/RESULTS.md" "${dir}" >/dev/null
  done
  # The command as a user would type it again: the recipe's run.sh and every option it passed,
  # less the machine-specific --recipe_dir.
  command_line="egs/$(basename "${recipe_dir}")/run.sh"
  for ((i = 0; i < ${#original_args[@]}; i++)); do
    if [ "${original_args[i]}" = --recipe_dir ]; then
      i=$((i + 1))
    else
      command_line+=" $(printf '%q' "${original_args[i]}")"
    fi
  done
  python -m antispoof.bin.collect_results --out RESULTS.md --title "$(basename "${recipe_dir}")" \
    --command "${command_line}" --wall_seconds "$(( $(date +%s) - started ))" \
    --test_sets "${test_sets}" "${dirs[@]}"
fi
log "done in $(( $(date +%s) - started )) s"

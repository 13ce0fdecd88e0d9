#!/usr/bin/env bash
# The antispoof pipeline: stages 0-5, shared by every recipe.
#
# Usage:
#   ./run.sh [options]                      # no recipe given: runs egs/mini, stages 0-5
#   egs/<recipe>/run.sh [options]           # a recipe sets its variables, then calls this file
#   ./run.sh --stage 3 --stop-stage 5 --override "train.epochs=2"
#   ./run.sh --seeds "1 2 3"               # each config once per seed: exp/<tag>__train.seed=<s>
#
# Stages: 0 get the corpus; 1 Kaldi data directories; 2 frontend features (ark cache);
# 3 train; 4 score every test set; 5 evaluate and report. Finished work is skipped when its
# .done marker records the current inputs, and redone when they changed (a trained model is
# refused instead); training resumes from its last checkpoint. --force true redoes the work of
# the stage range and, with stage 3 in it, moves the old experiment aside and trains anew.
# One run at a time uses a recipe directory.
set -euo pipefail

ANTISPOOF_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export ANTISPOOF_ROOT
original_args=("$@")

# Options; every one can be given as --name or --name-with-dashes.
stage=0                 # first stage to run (0-5)
stop_stage=5            # last stage to run (0-5)
nj=2                    # parallel jobs for feature extraction and scoring
num_threads=""          # threads per job; empty: each job's share of this machine's cores
                        # (nproc / nj, at least 1; training, one job: all of them)
ngpu=auto               # GPUs: 0, N (training on N GPUs with torchrun; jobs of stages 2
                        # and 4 take one each), or auto (a GPU if present)
num_nodes=1             # nodes for training: > 1 runs torchrun on each (cmd_backend=slurm)
dist_timeout=30         # minutes a training process waits for the others (torchrun)
config=""               # experiment config(s), space separated, relative to the recipe
override=""             # config overrides, space separated, e.g. "train.epochs=2 loss=softmax"
seeds=""                # train and evaluate each config once per seed, e.g. "1 2 3" (train.seed
                        # overridden, tag <tag>__train.seed=<s>); empty: the config's own seed
train_set=train         # data/<train_set> trains the model
dev_set=dev             # data/<dev_set> selects the best checkpoint
test_sets="dev eval"    # data/<set> for each set is scored and evaluated
corpora=""              # <corpus>=<root> pairs: local/<corpus>/ gets (stage 0) and prepares
                        # (stage 1) each; the first is the recipe's own corpus
db_root=""              # replaces the root of the recipe's own corpus (an existing copy, say)
exp_dir=""              # reuse a trained experiment (skips stage 3), e.g. ../asvspoof2019/exp/<tag>
force=false             # redo the work of the stage range even where it is done
cache=auto              # stage-2 feature caches: auto (what fits --cache_budget, training set
                        # first; the rest runs in the model), all (refused when the disk is
                        # short), none
cache_budget=50%        # what auto may add to the disk: a size (500G, 1.5T) or a share of
                        # the free space of dump/ (50%)
cache_dtype=float32     # stored dtype of the caches: float32, or float16 (half the disk,
                        # features rounded to float16)
recipe_dir=""           # set by egs/<recipe>/run.sh; empty: run egs/mini
# End of the options.

# --help prints the usage and every option with the value this run would take: its default, or
# what the recipe's run.sh sets (it passes its values before the user's).
print_help() {
  local line name
  sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
  printf '\nOptions (--name value, --name=value; dashes or underscores), with the values this run takes:\n'
  while IFS= read -r line; do
    if [[ ${line} =~ ^([a-z_]+)=[^#]*#\ ?(.*)$ ]]; then
      name=${BASH_REMATCH[1]}
      printf '  --%-12s %-28s %s\n' "${name}" "'${!name}'" "${BASH_REMATCH[2]}"
    elif [[ ${line} =~ ^\ +#\ ?(.*)$ ]]; then
      printf '  %-43s %s\n' "" "${BASH_REMATCH[1]}"
    fi
  done < <(sed -n '/^# Options;/,/^# End of the options/p' "$0")
}
show_help=false
args=()
for arg in "$@"; do
  case ${arg} in
    --help | -h) show_help=true ;;
    *) args+=("${arg}") ;;
  esac
done
set -- "${args[@]+"${args[@]}"}"

# shellcheck source=utils/parse_options.sh
. "${ANTISPOOF_ROOT}/utils/parse_options.sh"

if [ -z "${recipe_dir}" ]; then
  exec "${ANTISPOOF_ROOT}/egs/mini/run.sh" "${original_args[@]+"${original_args[@]}"}"
fi
if [ "${show_help}" = true ]; then
  print_help
  exit 0
fi

# shellcheck source=utils/log.sh
. "${ANTISPOOF_ROOT}/utils/log.sh"

# Options that would select no stage or no job are errors, not a run that does nothing.
for option in stage stop_stage; do
  if [[ ! ${!option} =~ ^[0-5]$ ]]; then
    log "error: --${option//_/-} must be a stage number from 0 to 5, got '${!option}'"
    exit 1
  fi
done
if [ "${stage}" -gt "${stop_stage}" ]; then
  log "error: --stage ${stage} comes after --stop-stage ${stop_stage}: no stage would run"
  exit 1
fi
if [[ ! ${nj} =~ ^[1-9][0-9]*$ ]]; then
  log "error: --nj must be a positive number of jobs, got '${nj}'"
  exit 1
fi
if [[ -n ${num_threads} && ! ${num_threads} =~ ^[1-9][0-9]*$ ]]; then
  log "error: --num_threads must be a positive number of threads, got '${num_threads}'"
  exit 1
fi
if [[ ! ${ngpu} =~ ^(auto|[0-9]+)$ ]]; then
  log "error: --ngpu must be auto or a number of GPUs, got '${ngpu}'"
  exit 1
fi

# shellcheck source=utils/setup_env.sh
. "${ANTISPOOF_ROOT}/utils/setup_env.sh"
# shellcheck source=conf/cmd.sh
. "${ANTISPOOF_ROOT}/conf/cmd.sh"

cd "${recipe_dir}"
started=$(date +%s)
# One run at a time in a recipe directory: two would write the same caches and experiments.
# The lock belongs to this shell and the jobs it starts, and is released when they end, however
# they end; the lock file names its holder for the message a second run gets.
if ! command -v flock >/dev/null; then
  log "error: flock (util-linux) is needed to lock ${recipe_dir} while a run uses it"
  exit 1
fi
exec {lock_fd}<>.run.lock
if ! flock --nonblock "${lock_fd}"; then
  log "error: another run is using ${recipe_dir} ($(cat .run.lock)); wait for it to end or stop it"
  exit 1
fi
printf 'pid %s on %s, started %(%Y-%m-%dT%H:%M:%S)T\n' "$$" "$(hostname)" -1 >.run.lock

if [ -z "${config}" ] && [ -z "${exp_dir}" ] && [ "${stop_stage}" -ge 3 ]; then
  log "error: give --config (experiments to train) or --exp_dir (a trained experiment to reuse)"
  exit 1
fi
read -r -a corpus_roots <<<"${corpora}"
if [ -n "${db_root}" ]; then
  corpus_roots[0]="${corpus_roots[0]%%=*}=${db_root}"
fi
[ "${ngpu}" = auto ] && ngpu_arg=() || ngpu_arg=(--ngpu "${ngpu}")
# Feature and scoring jobs run on one device each.
[ "${ngpu}" = auto ] && job_ngpu_arg=() || job_ngpu_arg=(--ngpu "$(( ngpu > 0 ? 1 : 0 ))")
[ -z "${num_threads}" ] && threads_arg=() || threads_arg=(--num_threads "${num_threads}")
prepare_args=()
[ "${force}" = true ] && prepare_args+=(--force)
# --force with stage 3 in the range trains anew: the old experiment is moved aside first.
if [ "${force}" = true ] && [ "${stage}" -le 3 ] && [ "${stop_stage}" -ge 3 ]; then
  prepare_args+=(--restart)
fi
if [ -n "${seeds}" ] && [ -n "${exp_dir}" ]; then
  log "error: --seeds trains new runs, --exp_dir reuses a trained one: give one of them"
  exit 1
fi
# The overrides of each run of a config, one line each: one per seed, or the overrides alone.
runs=$(python -m antispoof.bin.seed_runs --seeds "${seeds}" --override "${override}")
mapfile -t run_overrides <<<"${runs}"

# Every named corpus, data set, config and experiment is checked before any work: a typo stops
# the run at once, naming what exists, and leaves nothing behind.
check_args=()
for run_override in "${run_overrides[@]}"; do
  check_args+=(--run_override "${run_override}")
done
python -m antispoof.bin.check_run --recipe_dir "$(pwd)" --stage "${stage}" \
  --stop_stage "${stop_stage}" --corpora "${corpus_roots[*]}" --train_set "${train_set}" \
  --dev_set "${dev_set}" --test_sets "${test_sets}" --config "${config}" --exp_dir "${exp_dir}" \
  --cache "${cache}" --cache_budget "${cache_budget}" --cache_dtype "${cache_dtype}" \
  "${check_args[@]}"

# Checks a stage marker: sets ${verdict} (one line for the log) and ${marker_status}: 0 current,
# 3 no marker, 4 made from other inputs. A check that fails otherwise stops the run.
#   check_marker <marker> <kind> <inputs...>   (python -m antispoof.bin.stage_marker --help)
check_marker() {
  marker_status=0
  verdict=$(python -m antispoof.bin.stage_marker check "$@") || marker_status=$?
  if [ "${marker_status}" -ne 0 ] && [ "${marker_status}" -ne 3 ] && [ "${marker_status}" -ne 4 ]; then
    log "error: cannot check the marker $1 (exit status ${marker_status})"
    exit 1
  fi
}

# Whether a piece of work has to run: --force, no marker, or a marker made from other inputs.
# A skip is logged with the marker that justified it, a redo with the inputs that changed.
#   pending <stage> <marker> <kind> <inputs...>
pending() {
  local stage=$1
  shift
  [ "${force}" = true ] && return 0
  check_marker "$@"
  case ${marker_status} in
    0) log "${stage}: skipping: ${verdict}" && return 1 ;;
    4) log "${stage}: redoing: ${verdict}" ;;
  esac
  return 0
}

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
    marker="data/.done.${corpus}"
    if pending "stage 1" "${marker}" data --corpus_root "${pair#*=}"; then
      log "stage 1: ${corpus} data directories under data/"
      # The record is taken before the work and put in place after it.
      rm -f "${marker}"
      python -m antispoof.bin.stage_marker write "${marker}.tmp" data --corpus_root "${pair#*=}"
      "${ANTISPOOF_ROOT}/local/${corpus}/prepare_data.sh" "${pair#*=}" data
      mv "${marker}.tmp" "${marker}"
    fi
  done
  set_dirs=()
  for set in ${train_set} ${dev_set} ${test_sets}; do
    "${ANTISPOOF_ROOT}/utils/validate_data_dir.sh" --check_audio_exists true "data/${set}"
    set_dirs+=("data/${set}")
  done
  # Durations from the audio headers, for the stage-2 cache plan.
  if [ "${#set_dirs[@]}" -gt 0 ]; then
    python -m antispoof.bin.get_utt2dur "${set_dirs[@]}"
  fi
fi

# Experiments: one per config (the tag derives from the config name and the overrides), or the
# reused --exp_dir. Each line: <exp dir> [<branch>=<branch tag> ...] for its cacheable branches.
experiments=()
if [ -n "${exp_dir}" ]; then
  experiments+=("$(python -m antispoof.bin.prepare_exp --exp_dir "${exp_dir}")")
elif [ "${stop_stage}" -ge 2 ]; then
  for conf in ${config}; do
    for run_override in "${run_overrides[@]}"; do
      experiments+=("$(python -m antispoof.bin.prepare_exp --config "${conf}" --exp_root exp \
        "${prepare_args[@]}" --override "${run_override}")")
    done
  done
fi

if [ "${stage}" -le 2 ] && [ "${stop_stage}" -ge 2 ]; then
  for experiment in "${experiments[@]}"; do
    read -r dir branches <<<"${experiment}"
    [ -z "${branches}" ] && log "stage 2: ${dir}: no cacheable input branch, all run in the model"
  done
  # Before any work: each branch x set cache's size, and which ones --cache makes (one line
  # each: <exp dir> <branch>=<branch tag> <set>); a reused --exp_dir reads only the test sets.
  plan_args=(--cache "${cache}" --cache_budget "${cache_budget}" --cache_dtype "${cache_dtype}"
    --test_sets "${test_sets}")
  [ -z "${exp_dir}" ] && plan_args+=(--train_set "${train_set}" --dev_set "${dev_set}")
  [ "${force}" = true ] && plan_args+=(--forget)
  log "stage 2: planning the feature caches"
  plan=$(python -m antispoof.bin.cache_plan "${plan_args[@]}" "${experiments[@]}")
  [ -n "${plan}" ] && mapfile -t cache_units <<<"${plan}" || cache_units=()
  for unit in "${cache_units[@]}"; do
    read -r dir pair set <<<"${unit}"
    if pending "stage 2" "dump/${pair#*=}/${set}/.done" feats --data_dir "data/${set}" \
      --config "${dir}/config.yaml" --branch "${pair%%=*}" --cache_dtype "${cache_dtype}"; then
      log "stage 2: ${pair#*=} (branch ${pair%%=*}) of data/${set}"
      "${ANTISPOOF_ROOT}/steps/make_feats.sh" --nj "${nj}" --cmd "${feats_cmd}" \
        "${job_ngpu_arg[@]}" "${threads_arg[@]}" --dtype "${cache_dtype}" --branch "${pair%%=*}" \
        "${dir}/config.yaml" "data/${set}" "dump/${pair#*=}/${set}"
    fi
  done
fi

# The feature caches of a set that stage 2 made from the current inputs in --cache_dtype, as
# `<branch>=<scp>` words. Other branches run in the model on the device (the same features); a
# stale or damaged cache is named in the log, never used. Call it in an assignment, so that a
# failed check stops the run.
#   caches_of <exp dir> <set> <branch>=<branch tag>...
caches_of() {
  local dir=$1 set=$2 pair caches=()
  shift 2
  for pair in "$@"; do
    check_marker "dump/${pair#*=}/${set}/.done" feats --data_dir "data/${set}" \
      --config "${dir}/config.yaml" --branch "${pair%%=*}" --cache_dtype "${cache_dtype}"
    case ${marker_status} in
      0) caches+=("${pair%%=*}=dump/${pair#*=}/${set}/feats.scp") ;;
      4) log "not using the feature cache: ${verdict}; the branch runs in the model" \
        "(stage 2 refreshes the cache)" ;;
    esac
  done
  echo "${caches[*]}"
}

if [ "${stage}" -le 3 ] && [ "${stop_stage}" -ge 3 ] && [ -z "${exp_dir}" ]; then
  for experiment in "${experiments[@]}"; do
    read -r dir branches <<<"${experiment}"
    # A trained model of other inputs is refused rather than retrained: training may have
    # taken days, and --force true says so explicitly.
    check_marker "${dir}/.done.train" train --train_dir "data/${train_set}" \
      --dev_dir "data/${dev_set}" --config "${dir}/config.yaml"
    if [ "${marker_status}" -eq 0 ] && [ "${force}" != true ]; then
      log "stage 3: skipping: ${verdict}"
    elif [ "${marker_status}" -eq 4 ] && [ "${force}" != true ]; then
      log "error: stage 3: ${verdict}; the trained model belongs to other inputs: re-run with" \
        "--force true to train anew (the old experiment is moved aside)"
      exit 1
    else
      log "stage 3: training ${dir}"
      # shellcheck disable=SC2086  # ${branches}: one word per branch
      train_caches=$(caches_of "${dir}" "${train_set}" ${branches})
      # shellcheck disable=SC2086
      dev_caches=$(caches_of "${dir}" "${dev_set}" ${branches})
      "${ANTISPOOF_ROOT}/steps/train.sh" --cmd "${train_cmd}" "${ngpu_arg[@]}" "${threads_arg[@]}" \
        --num_nodes "${num_nodes}" --dist_timeout "${dist_timeout}" \
        --train_caches "${train_caches}" --dev_caches "${dev_caches}" \
        "${dir}" "data/${train_set}" "data/${dev_set}"
    fi
  done
fi

if [ "${stage}" -le 4 ] && [ "${stop_stage}" -ge 4 ]; then
  for experiment in "${experiments[@]}"; do
    read -r dir branches <<<"${experiment}"
    for set in ${test_sets}; do
      if pending "stage 4" "${dir}/${set}/.done.score" score --data_dir "data/${set}" \
        --config "${dir}/config.yaml" --checkpoint best; then
        log "stage 4: scoring data/${set} with ${dir}"
        # shellcheck disable=SC2086
        set_caches=$(caches_of "${dir}" "${set}" ${branches})
        "${ANTISPOOF_ROOT}/steps/score.sh" --nj "${nj}" --cmd "${decode_cmd}" "${job_ngpu_arg[@]}" \
          "${threads_arg[@]}" --caches "${set_caches}" "${dir}" "data/${set}" "${dir}/${set}"
      fi
    done
  done
fi

if [ "${stage}" -le 5 ] && [ "${stop_stage}" -ge 5 ]; then
  dirs=()
  for experiment in "${experiments[@]}"; do
    read -r dir _ <<<"${experiment}"
    dirs+=("${dir}")
    # The calibration (scores to LLRs, for actDCF and Cllr) is refitted at every run from dev
    # scores that are current, which stage 4 makes when the dev set is among --test_sets. Without
    # them the sets are evaluated uncalibrated, and an earlier calibration.json, which may belong
    # to other scores, is removed rather than left for `detect`.
    calibration_args=()
    if [ -z "${dev_set}" ]; then
      log "stage 5: no --dev_set: evaluating ${dir} without calibration"
    else
      check_marker "${dir}/${dev_set}/.done.score" score --data_dir "data/${dev_set}" \
        --config "${dir}/config.yaml" --checkpoint best
      if [ "${marker_status}" -eq 0 ]; then
        log "stage 5: calibrating ${dir} on its scores of data/${dev_set}"
        # A fit that is refused (scores that rank spoof above bona fide would give every file
        # the same decision) leaves no calibration.json; the sets are evaluated without one.
        if python -m antispoof.bin.calibrate --scores "${dir}/${dev_set}/scores.txt" \
          --data_dir "data/${dev_set}" --exp_dir "${dir}" --checkpoint best \
          --out "${dir}/calibration.json"; then
          calibration_args=(--calibration "${dir}/calibration.json")
        else
          log "stage 5: not calibrating ${dir}: the fit was refused (above); its sets are" \
            "evaluated without calibration"
        fi
      else
        log "stage 5: not calibrating ${dir}: ${verdict}; its sets are evaluated without" \
          "calibration and any earlier calibration.json is removed (stage 4 scores" \
          "data/${dev_set} when it is among --test_sets)"
        rm -f "${dir}/calibration.json"
      fi
    fi
    for set in ${test_sets}; do
      # Only scores that stage 4 finished, from the current model and data, are evaluated.
      check_marker "${dir}/${set}/.done.score" score --data_dir "data/${set}" \
        --config "${dir}/config.yaml" --checkpoint best
      if [ "${marker_status}" -ne 0 ]; then
        log "error: stage 5: ${verdict}: the scores of data/${set} are unfinished or belong to" \
          "another model or data; run stage 4 first (--stage 4)"
        exit 1
      fi
      log "stage 5: evaluating ${dir}/${set} under the official protocol and the Arena's"
      # The ASV data for the t-DCF (asv_scores.txt for 2019, asv2021/ for 2021 LA) is read from
      # the data directory.
      python -m antispoof.bin.evaluate --scores "${dir}/${set}/scores.txt" --data_dir "data/${set}" \
        --out "${dir}/${set}/metrics.json" --plots_dir "${dir}/${set}" "${calibration_args[@]}"
      # The Arena's figures need no calibration (EER, min DCF): the dev set's was fitted on the
      # official scores, which may not be these.
      if [ -f "${dir}/${set}/scores.arena.txt" ]; then
        python -m antispoof.bin.evaluate --protocol arena --scores "${dir}/${set}/scores.arena.txt" \
          --data_dir "data/${set}" --out "${dir}/${set}/metrics.arena.json" >/dev/null
      else
        log "stage 5: ${dir}/${set} has no scores.arena.txt (scored by an older version): no" \
          "Arena figures; re-score it (--stage 4 --force true) to get them"
      fi
    done
    # A t-SNE map of the embeddings of every test set, when the config's
    # inference.tsne_per_class asks for one.
    tsne_dirs=()
    for set in ${test_sets}; do
      tsne_dirs+=(--data_dir "data/${set}")
    done
    python -m antispoof.bin.tsne --exp_dir "${dir}" "${tsne_dirs[@]}" --out "${dir}/tsne.png" \
      "${job_ngpu_arg[@]}"
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
  # The generated table goes under exp/ (ignored by git): the recipe's RESULTS.md is curated by
  # hand, and a run never changes a tracked file.
  python -m antispoof.bin.collect_results --out exp/RESULTS.md --title "$(basename "${recipe_dir}")" \
    --command "${command_line}" --wall_seconds "$(( $(date +%s) - started ))" \
    --test_sets "${test_sets}" "${dirs[@]}"
fi
log "done in $(( $(date +%s) - started )) s"

#!/usr/bin/env bash
# Run a command as parallel jobs on this machine, with the interface of Kaldi's run.pl.
#
# Usage:
#   utils/run_local.sh [options] JOB=1:N log/x.JOB.log command args ... JOB ...
#   utils/run_local.sh [options] log/x.log command args ...
# e.g.
#   utils/run_local.sh --max-jobs-run 4 JOB=1:8 exp/log/feats.JOB.log \
#     python -m antispoof.bin.make_feats data/train/split8/JOB dump/JOB
#
# Options (before or after the JOB=start:end range; dashes or underscores):
#   --max-jobs-run N   run at most N jobs at a time (default: all at once)
#   --num-threads N    threads per job: sets OMP_NUM_THREADS and MKL_NUM_THREADS (default: the
#                      job's share of the cores, nproc / the jobs that run at once, at least 1)
#   --gpu N            GPUs per job; 0 hides them (CUDA_VISIBLE_DEVICES=""); N > 0 gives each
#                      job N GPUs of its own, in CUDA_VISIBLE_DEVICES (below) (default: not
#                      given, CUDA_VISIBLE_DEVICES left alone)
#   --mem X, --cpus-per-gpu N, --mem-per-gpu X
#                      accepted for compatibility with run_slurm.sh, ignored here
#   --num-nodes N      nodes of a multi-node job (torchrun): the job runs on this machine only,
#                      so start it on each node, with the rendezvous host and port in MASTER_ADDR
#                      and MASTER_PORT (steps/train.sh --master_addr --master_port);
#                      run_slurm.sh allocates them (default: 1)
#
# The job variable (JOB above; any name works, e.g. SPLIT=1:4) is replaced by the job index
# wherever it occurs in the log path and in the command. Each job runs as `bash -c "<command
# line>"`, where an argument without whitespace or quotes goes in as is, so a pipe or a
# redirection passed as its own quoted argument ('|' or \|, '>' or \>) acts in the job's shell,
# as with run.pl; an argument with whitespace or quotes stays one argument (an rspecifier such as
# "ark:gunzip -c x.gz |" reaches the program intact). Each log holds:
#   # <command line>
#   # Started at <date>
#   <the job's stdout and stderr>
#   # Accounting: time=<seconds> threads=<n>
#   # Ended (code <exit status>) at <date>
# Every job runs to completion; if any failed, the launcher names the first failed log on stderr
# and exits 1. Interrupting the launcher (Ctrl-C, SIGTERM) stops the jobs it started.
#
# GPU jobs: the GPUs visible here (utils/visible_gpus.sh: CUDA_VISIBLE_DEVICES, else nvidia-smi's)
# are split into groups of N, and each job runs on a free group, its CUDA_VISIBLE_DEVICES, so
# that no two jobs share a GPU; a job waits while every group is taken (on 4 GPUs, 8 jobs of
# --gpu 1 run 4 at a time). Fewer visible GPUs than N is an error; with none visible (no
# nvidia-smi), CUDA_VISIBLE_DEVICES is left alone and the program finds its device itself.

# shellcheck source-path=SCRIPTDIR
set -euo pipefail

help_message=$(sed -n '2,/^$/s/^# \{0,1\}//p' "$0") # the comment block above
num_nodes=1 # this launcher's own option, parsed with the common ones
# shellcheck source=launcher_common.sh
. "$(dirname "${BASH_SOURCE[0]}")/launcher_common.sh"
[[ ${num_nodes} =~ ^[1-9][0-9]*$ ]] || die "--num-nodes must be a positive integer, got '${num_nodes}'"
if [[ ${num_nodes} -gt 1 && (-z ${MASTER_ADDR:-} || -z ${MASTER_PORT:-}) ]]; then
  die "--num-nodes ${num_nodes}: the job runs on this machine only; start it on each node with" \
    "the rendezvous host and port in MASTER_ADDR and MASTER_PORT (steps/train.sh" \
    "--master_addr --master_port --rdzv_id, the same on every node), or use Slurm" \
    "(cmd_backend=slurm)"
fi

# Each job's share of the cores (nproc: the CPUs this process may use, or OMP_NUM_THREADS when
# the caller set it): OpenMP threads spin-wait for a busy core, so that more threads than cores
# run several times slower than fewer.
if [ -z "${num_threads}" ]; then
  running=${num_jobs}
  [[ -n ${max_jobs_run} && ${max_jobs_run} -lt ${num_jobs} ]] && running=${max_jobs_run}
  num_threads=$(($(nproc) / running))
  [ "${num_threads}" -ge 1 ] || num_threads=1
fi
export OMP_NUM_THREADS=${num_threads} MKL_NUM_THREADS=${num_threads}
if [ "${gpu}" = 0 ]; then
  export CUDA_VISIBLE_DEVICES=""
fi

# The groups of --gpu N visible GPUs that jobs take one at a time, each as "id,id,...".
gpu_groups=()
if [[ -n ${gpu} && ${gpu} -gt 0 ]]; then
  mapfile -t visible < <("$(dirname "${BASH_SOURCE[0]}")/visible_gpus.sh")
  if [[ ${#visible[@]} -gt 0 && ${#visible[@]} -lt ${gpu} ]]; then
    die "--gpu ${gpu}: a job takes ${gpu} GPUs; visible here: ${visible[*]}" \
      "(CUDA_VISIBLE_DEVICES, or else nvidia-smi)"
  fi
  for ((first = 0; first + gpu <= ${#visible[@]}; first += gpu)); do
    gpu_groups+=("$(IFS=,; echo "${visible[*]:first:gpu}")")
  done
fi

# run_job <log> <command line>: one job, its output and accounting in <log>; returns its status.
# Called in a `||` context, so a failing step (an unwritable log) cannot skip the return value.
run_job() {
  local log=$1 cmd=$2 rc=0 start=${SECONDS} child=""
  # The launcher stops a job with SIGTERM; pass it on to the command (background jobs of a
  # script ignore SIGINT, so Ctrl-C alone would not reach it).
  trap '[ -z "${child}" ] || kill -TERM "${child}" 2>/dev/null || true' TERM
  mkdir -p "$(dirname "${log}")"
  printf '# %s\n# Started at %s\n#\n' "${cmd}" "$(date)" >"${log}"
  bash -c "${cmd}" >>"${log}" 2>&1 &
  child=$!
  wait "${child}" || rc=$?
  while kill -0 "${child}" 2>/dev/null; do # the wait above was cut short by the trap
    rc=0
    wait "${child}" || rc=$?
  done
  printf '# Accounting: time=%s threads=%s\n# Ended (code %s) at %s\n' \
    "$((SECONDS - start))" "${num_threads}" "${rc}" "$(date)" >>"${log}"
  return "${rc}"
}

# open_fifo: a FIFO open for reading and writing on the descriptor it sets in ${fifo}; its
# file is removed at once, so nothing is left behind however the launcher ends.
open_fifo() {
  local fifo_dir
  fifo_dir=$(mktemp -d)
  mkfifo "${fifo_dir}/tokens"
  exec {fifo}<>"${fifo_dir}/tokens"
  rm -r "${fifo_dir}"
}
if [[ -n ${max_jobs_run} && ${max_jobs_run} -lt ${num_jobs} ]]; then
  # One token per free slot: a job takes one to start and gives it back at the end.
  open_fifo
  slots=${fifo}
  for ((k = 0; k < max_jobs_run; k++)); do
    printf '.' >&"${slots}"
  done
fi
if [ "${#gpu_groups[@]}" -gt 0 ]; then
  # One line per free GPU group, taken and given back as the slots are.
  open_fifo
  free_gpus=${fifo}
  printf '%s\n' "${gpu_groups[@]}" >&"${free_gpus}"
fi

pids=()
logs=()
stop_jobs() { # stop_jobs <exit status>
  trap - INT TERM
  echo "run_local.sh: interrupted; stopping the jobs" >&2
  if [ "${#pids[@]}" -gt 0 ]; then
    kill -TERM "${pids[@]}" 2>/dev/null || true
  fi
  wait || true
  exit "$1"
}
trap 'stop_jobs 130' INT
trap 'stop_jobs 143' TERM

for ((job = job_start; job <= job_end; job++)); do
  log=${log_template}
  cmd=${cmd_template}
  if [ -n "${jobvar}" ]; then
    log=${log//"${jobvar}"/${job}}
    cmd=${cmd//"${jobvar}"/${job}}
  fi
  if [ -n "${slots:-}" ]; then
    read -r -n 1 -u "${slots}" _
  fi
  gpus=""
  if [ -n "${free_gpus:-}" ]; then
    read -r -u "${free_gpus}" gpus
  fi
  (
    rc=0
    if [ -n "${gpus}" ]; then
      export CUDA_VISIBLE_DEVICES=${gpus}
    fi
    run_job "${log}" "${cmd}" || rc=$?
    if [ -n "${gpus}" ]; then
      printf '%s\n' "${gpus}" >&"${free_gpus}"
    fi
    if [ -n "${slots:-}" ]; then
      printf '.' >&"${slots}"
    fi
    exit "${rc}"
  ) &
  pids+=("$!")
  logs+=("${log}")
done

# Collect every job's status: bash keeps the status of each finished background job until it
# is waited for, so none is lost however the jobs interleave.
failed=()
for i in "${!pids[@]}"; do
  wait "${pids[i]}" || failed+=("${logs[i]}")
done
trap - INT TERM

if [ "${#failed[@]}" -gt 0 ]; then
  report_failures "${#failed[@]}" "${failed[0]}"
  if [ "${num_jobs}" -eq 1 ]; then
    if [[ -z ${jobvar} && ${log_template} == *JOB* ]]; then
      echo "run_local.sh: the log name holds JOB: did you forget JOB=1:\$nj?" >&2
    fi
  fi
  exit 1
fi

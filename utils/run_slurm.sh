#!/usr/bin/env bash
# Run a command as a Slurm job array, with the interface of utils/run_local.sh (Kaldi's run.pl).
#
# Usage:
#   utils/run_slurm.sh [options] JOB=1:N log/x.JOB.log command args ... JOB ...
#   utils/run_slurm.sh [options] log/x.log command args ...
# e.g.
#   ANTISPOOF_SLURM_OPTS="--partition=gpu --time=24:00:00" \
#     utils/run_slurm.sh --gpu 1 --mem 32G exp/log/train.log python -m antispoof.bin.train ...
#
# Options (before or after the JOB=start:end range; dashes or underscores):
#   --max-jobs-run N   at most N tasks of the array at a time (--array=1-N%M)
#   --num-threads N    --cpus-per-task=N; also OMP_NUM_THREADS and MKL_NUM_THREADS (default: 1;
#                      each task has the CPUs it asks for, whatever the cores of this machine)
#   --mem X            --mem=X, memory per task, e.g. 8G (default: the partition's)
#   --gpu N            --gres=gpu:N when N > 0; with 0, CUDA_VISIBLE_DEVICES="" (default: none)
#   --cpus-per-gpu N   for a job with --gpu G > 0: --cpus-per-task=G*N (and as many threads) in
#                      place of --num-threads, which the submitting host chose from its own cores
#                      (default: not given, --num-threads)
#   --mem-per-gpu X    for a job with --gpu G > 0: --mem=G*X in place of --mem, e.g. 32G
#                      (default: not given, --mem)
#   --num-nodes N      --nodes=N, one task per node, each running the command (srun), with
#                      MASTER_ADDR and MASTER_PORT exported: the first node of the job and a port
#                      free there, unless they are set here (both: a host of your choice)
#                      (multi-node torchrun, steps/train.sh --num_nodes) (default: 1)
# With several nodes, --gpu, --cpus-per-gpu, --mem-per-gpu and --mem are per node.
# Environment:
#   ANTISPOOF_SLURM_OPTS     more sbatch options, split on whitespace (partition, account, time)
#   ANTISPOOF_SLURM_LOG_WAIT seconds to wait for task logs to appear on a shared file system
#                            after the array ends (default: 60)
#
# The launcher writes a batch script to <log dir>/q/<name>.sh (#SBATCH lines for the options),
# submits it with `sbatch --wait`, and blocks until every task has ended. Each task takes its
# index from SLURM_ARRAY_TASK_ID, puts it in place of the job variable in the log path and the
# command, and runs the command line with `bash -c` exactly as run_local.sh does, writing the same
# log header and footer. The launcher then reads each task's exit code from its log: a log with no
# footer (a task killed for time or memory, or cancelled) counts as failed, and Slurm's own output
# is in <log dir>/q/. On failure it names the first failed log on stderr and exits 1.
# Interrupting the launcher cancels the job (scancel).

# shellcheck source-path=SCRIPTDIR
set -euo pipefail

help_message=$(sed -n '2,/^$/s/^# \{0,1\}//p' "$0") # the comment block above
num_nodes=1 # this launcher's own option, parsed with the common ones
# shellcheck source=launcher_common.sh
. "$(dirname "${BASH_SOURCE[0]}")/launcher_common.sh"
[[ ${num_nodes} =~ ^[1-9][0-9]*$ ]] || die "--num-nodes must be a positive integer, got '${num_nodes}'"
if [[ ${num_nodes} -gt 1 && -n ${MASTER_ADDR:-} && -z ${MASTER_PORT:-} ]]; then
  die "--num-nodes ${num_nodes}: MASTER_ADDR=${MASTER_ADDR} is set, so MASTER_PORT must be too (a" \
    "port free on that host; steps/train.sh --master_port); unset both to use the job's first node"
fi

num_threads=${num_threads:-1}
# A GPU job's CPUs and memory follow its GPUs when conf/cmd.sh gives them per GPU.
if [[ -n ${gpu} && ${gpu} -gt 0 ]]; then
  if [ -n "${cpus_per_gpu}" ]; then
    num_threads=$((gpu * cpus_per_gpu))
  fi
  if [ -n "${mem_per_gpu}" ]; then
    mem=$((gpu * ${mem_per_gpu%[KMGT]}))${mem_per_gpu##*[0-9]}
  fi
fi

# log_of <index>: the log path of one task.
log_of() {
  if [ -n "${jobvar}" ]; then
    printf '%s\n' "${log_template//"${jobvar}"/$1}"
  else
    printf '%s\n' "${log_template}"
  fi
}

# Batch script and Slurm's own output go to <log dir>/q/ (the first task's log dir if the
# directory itself holds the job variable); the name is the log's, less the job variable.
name=$(basename "${log_template}")
if [ -n "${jobvar}" ]; then
  name=${name//."${jobvar}"/}
  name=${name//"${jobvar}"/}
fi
name=${name%.log}
name=${name:-job}
qdir=$(dirname "$(log_of "${job_start}")")/q
script=${qdir}/${name}.sh
mkdir -p "${qdir}"

# write_batch_script: the script each array task (or the single job) runs.
write_batch_script() {
  local sq="'\\''" # a single quote inside single quotes
  local q_log_template="'${log_template//\'/${sq}}'" q_pwd="'${PWD//\'/${sq}}'"
  echo '#!/usr/bin/env bash'
  echo "#SBATCH --job-name=${name}"
  if [ -n "${jobvar}" ]; then
    echo "#SBATCH --array=${job_start}-${job_end}${max_jobs_run:+%${max_jobs_run}}"
    echo "#SBATCH --output=${qdir}/${name}.%a.out"
  else
    echo "#SBATCH --output=${qdir}/${name}.out"
  fi
  echo "#SBATCH --cpus-per-task=${num_threads}"
  if [ -n "${mem}" ]; then
    echo "#SBATCH --mem=${mem}"
  fi
  if [[ -n ${gpu} && ${gpu} -gt 0 ]]; then
    echo "#SBATCH --gres=gpu:${gpu}"
  fi
  if [ "${num_nodes}" -gt 1 ]; then
    echo "#SBATCH --nodes=${num_nodes}"
    echo "#SBATCH --ntasks-per-node=1"
  fi
  echo "# Written by run_slurm.sh; submitted with: sbatch --wait $(basename "${script}")"
  echo 'set -uo pipefail'
  echo "cd ${q_pwd} || exit 1"
  echo "log=${q_log_template}"
  # The command line goes in verbatim, in a quoted here-document.
  echo "cmd=\$(cat <<'ANTISPOOF_CMD'"
  printf '%s\n' "${cmd_template}" ANTISPOOF_CMD ')'
  if [ -n "${jobvar}" ]; then
    echo "log=\${log//${jobvar}/\${SLURM_ARRAY_TASK_ID}}"
    echo "cmd=\${cmd//${jobvar}/\${SLURM_ARRAY_TASK_ID}}"
  fi
  echo "export OMP_NUM_THREADS=${num_threads} MKL_NUM_THREADS=${num_threads}"
  if [ "${gpu}" = 0 ]; then
    echo 'export CUDA_VISIBLE_DEVICES=""'
  fi
  # shellcheck disable=SC2016  # the line that runs the command, written as is
  local run='bash -c "${cmd}" >>"${log}" 2>&1 || rc=$?'
  if [ "${num_nodes}" -gt 1 ]; then
    # Each node runs the command (torchrun: that node's processes); they meet at
    # MASTER_ADDR:MASTER_PORT.
    if [ -n "${MASTER_ADDR:-}" ]; then
      printf 'export MASTER_ADDR=%q\n' "${MASTER_ADDR}"
    else
      # shellcheck disable=SC2016  # expanded in the job
      echo 'MASTER_ADDR=$(scontrol show hostnames "${SLURM_JOB_NODELIST}" | head -n 1)'
      echo 'export MASTER_ADDR'
    fi
    if [ -n "${MASTER_PORT:-}" ]; then
      printf 'export MASTER_PORT=%q\n' "${MASTER_PORT}"
    else
      # The batch script runs on the job's first node: a port free there, so that two jobs
      # whose first node is the same do not meet at one port.
      echo "MASTER_PORT=\$(python -c 'import socket; s = socket.socket(); s.bind((\"\", 0));" \
        "print(s.getsockname()[1])') || exit 1"
      echo 'export MASTER_PORT'
    fi
    run="srun --ntasks-per-node=1 --cpus-per-task=${num_threads} ${run}"
  fi
  cat <<'EOF'
mkdir -p "$(dirname "${log}")" || exit 1
printf '# %s\n# Started at %s\n#\n' "${cmd}" "$(date)" >"${log}" || exit 1
start=${SECONDS}
rc=0
EOF
  printf '%s\n' "${run}"
  cat <<'EOF'
printf '# Accounting: time=%s threads=%s\n# Ended (code %s) at %s\n' \
  "$((SECONDS - start))" "${OMP_NUM_THREADS}" "${rc}" "$(date)" >>"${log}"
exit "${rc}"
EOF
}
write_batch_script >"${script}"

# A log left by an earlier run must not pass for this run's result.
for ((job = job_start; job <= job_end; job++)); do
  rm -f "$(log_of "${job}")"
done

read -r -a extra_opts <<<"${ANTISPOOF_SLURM_OPTS:-}"
jobid_file=${qdir}/${name}.jobid
rm -f "${jobid_file}"
cancel_job() { # cancel_job <exit status>
  trap - INT TERM
  local jobid
  jobid=$(cut -d ';' -f 1 "${jobid_file}" 2>/dev/null || true)
  echo "run_slurm.sh: interrupted; cancelling Slurm job ${jobid:-(not submitted yet)}" >&2
  if [ -n "${jobid}" ]; then
    scancel "${jobid}" || true
  fi
  kill -TERM "${sbatch_pid}" 2>/dev/null || true
  exit "$1"
}
# sbatch runs in the background so that a signal reaches the trap while it waits.
sbatch --parsable --wait "${extra_opts[@]}" "${script}" >"${jobid_file}" &
sbatch_pid=$!
trap 'cancel_job 130' INT
trap 'cancel_job 143' TERM
sbatch_rc=0
wait "${sbatch_pid}" || sbatch_rc=$?
trap - INT TERM
if [ ! -s "${jobid_file}" ]; then
  die "sbatch did not submit ${script} (exit code ${sbatch_rc})"
fi

# ended_code <log>: the exit code in the log's footer, or nothing if there is no footer.
ended_code() {
  local last
  last=$(tail -n 1 "$1" 2>/dev/null) || return 0
  if [[ ${last} =~ ^#\ Ended\ \(code\ ([0-9]+)\)\ at ]]; then
    echo "${BASH_REMATCH[1]}"
  fi
}

# Collect the exit codes; a task log written on another node may take a while to appear here.
deadline=$((SECONDS + ${ANTISPOOF_SLURM_LOG_WAIT:-60}))
while :; do
  failed=()
  missing=()
  for ((job = job_start; job <= job_end; job++)); do
    log=$(log_of "${job}")
    code=$(ended_code "${log}")
    if [ -z "${code}" ]; then
      missing+=("${job}")
      failed+=("${log}")
    elif [ "${code}" != 0 ]; then
      failed+=("${log}")
    fi
  done
  if [[ ${#missing[@]} -eq 0 || ${SECONDS} -ge ${deadline} ]]; then
    break
  fi
  sleep 1
done

if [ "${#failed[@]}" -gt 0 ]; then
  report_failures "${#failed[@]}" "${failed[0]}"
  if [ "${#missing[@]}" -gt 0 ]; then
    slurm_out=${qdir}/${name}.out
    if [ -n "${jobvar}" ]; then
      slurm_out=${qdir}/${name}.${missing[0]}.out
    fi
    echo "run_slurm.sh: no exit code in the log of task(s) ${missing[*]} (killed for time or" \
      "memory, or cancelled?); Slurm's output is in ${slurm_out}" >&2
  fi
  exit 1
fi

# shellcheck shell=bash
# shellcheck source-path=SCRIPTDIR
# The command-line interface shared by the job launchers run_local.sh and run_slurm.sh (Kaldi's
# run.pl): options, the JOB=start:end range, the log template, and the command line quoted for
# `bash -c`. A launcher sets help_message, then sources this file without arguments, so that it
# works on the launcher's own positional parameters.
#
# Sets: max_jobs_run num_threads gpu mem cpus_per_gpu mem_per_gpu jobvar job_start job_end
# num_jobs log_template cmd_template. Defines: die <message>, report_failures <num failed>
# <first failed log>.

max_jobs_run=""
num_threads="" # empty: the launcher's default (run_local.sh: the job's share of the cores)
gpu=""
mem=""
cpus_per_gpu="" # a GPU job's CPUs and memory per GPU (run_slurm.sh; conf/cmd.sh sets them)
mem_per_gpu=""

# shellcheck source=parse_options.sh
. "$(dirname "${BASH_SOURCE[0]}")/parse_options.sh"
jobvar=""
job_start=1
job_end=1
if [[ $# -gt 0 && $1 =~ ^([A-Za-z_][A-Za-z0-9_]*)=([0-9]+)(:([0-9]+))?$ ]]; then
  jobvar=${BASH_REMATCH[1]}
  job_start=$((10#${BASH_REMATCH[2]}))
  job_end=$((10#${BASH_REMATCH[4]:-${BASH_REMATCH[2]}}))
  shift
  # shellcheck source=parse_options.sh
  . "$(dirname "${BASH_SOURCE[0]}")/parse_options.sh" # options may also follow the range
fi

launcher_name=$(basename "$0")
die() {
  echo "${launcher_name}: $*" >&2
  exit 1
}

[ $# -ge 2 ] || die "expected [JOB=start:end] <log> <command> ...; see $0 --help"
[[ -z ${max_jobs_run} || ${max_jobs_run} =~ ^[1-9][0-9]*$ ]] \
  || die "--max-jobs-run must be a positive integer, got '${max_jobs_run}'"
[[ -z ${num_threads} || ${num_threads} =~ ^[1-9][0-9]*$ ]] \
  || die "--num-threads must be a positive integer, got '${num_threads}'"
[[ -z ${gpu} || ${gpu} =~ ^[0-9]+$ ]] || die "--gpu must be a non-negative integer, got '${gpu}'"
[[ ${mem} =~ ^[0-9A-Za-z.]*$ ]] || die "--mem must look like 8G or 8000M, got '${mem}'"
[[ -z ${cpus_per_gpu} || ${cpus_per_gpu} =~ ^[1-9][0-9]*$ ]] \
  || die "--cpus-per-gpu must be a positive integer, got '${cpus_per_gpu}'"
[[ -z ${mem_per_gpu} || ${mem_per_gpu} =~ ^[1-9][0-9]*[KMGT]?$ ]] \
  || die "--mem-per-gpu must look like 32G or 16000M, got '${mem_per_gpu}'"
[ "${job_start}" -le "${job_end}" ] || die "empty job range ${jobvar}=${job_start}:${job_end}"
num_jobs=$((job_end - job_start + 1))
log_template=$1
shift
if [[ ${job_end} -gt ${job_start} && ${log_template} != *"${jobvar}"* ]]; then
  die "${jobvar}=${job_start}:${job_end} runs several jobs, but the log name ${log_template} lacks ${jobvar}"
fi

# The command line for `bash -c`: an argument with whitespace, quotes or backslashes (or an empty
# one) is single-quoted, any other goes in as is, so that '|' or '>' given as its own argument
# acts in the job's shell, as with run.pl.
cmd_template=""
for arg in "$@"; do
  if [[ -z ${arg} || ${arg} == *[[:space:]\'\"\\]* ]]; then
    arg="'${arg//\'/\'\\\'\'}'" # single-quoted; a ' inside becomes '\''
  fi
  cmd_template+="${cmd_template:+ }${arg}"
done

# report_failures <number failed> <first failed log>: Kaldi's message on stderr.
report_failures() {
  if [ "${num_jobs}" -eq 1 ]; then
    echo "${launcher_name}: job failed, log is in $2" >&2
  else
    echo "${launcher_name}: $1 / ${num_jobs} failed, log is in $2" >&2
  fi
}

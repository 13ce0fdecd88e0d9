# shellcheck shell=bash
# The job launchers, Kaldi style: sourced by the pipeline, which then runs every job as
#   ${feats_cmd} JOB=1:${nj} <log dir>/make_feats.JOB.log python -m antispoof.bin.<x> ... JOB ...
#
# Usage:
#   . conf/cmd.sh                        # local parallel processes (the default)
#   cmd_backend=slurm . conf/cmd.sh      # Slurm job arrays; or `export cmd_backend=slurm`
#
#   train_cmd   training (the pipeline adds --gpu N)
#   decode_cmd  inference and scoring
#   feats_cmd   feature extraction (stage 2)
#
# Both launchers take the same options (--max-jobs-run, --num-threads, --mem, --gpu,
# --cpus-per-gpu, --mem-per-gpu); see utils/run_local.sh --help and utils/run_slurm.sh --help.
# Locally, each GPU job gets GPUs of its own among the visible ones. Site settings for Slurm
# (partition, account, time limit) belong in the environment, not here:
#   export ANTISPOOF_SLURM_OPTS="--partition=gpu --account=myproject --time=24:00:00"
# Slurm's CPUs and memory per GPU, and per CPU job, are set below.

# The repository root; the pipeline sets it, and standalone use finds it from this file's place.
ANTISPOOF_ROOT=${ANTISPOOF_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
export ANTISPOOF_ROOT

# local (default): jobs run as parallel processes on this machine
# slurm: jobs run as Slurm job arrays (sbatch --wait), submitted from this machine
cmd_backend=${cmd_backend:-local}

case "${cmd_backend}" in
  local)
    train_cmd="${ANTISPOOF_ROOT}/utils/run_local.sh"
    decode_cmd="${ANTISPOOF_ROOT}/utils/run_local.sh"
    feats_cmd="${ANTISPOOF_ROOT}/utils/run_local.sh"
    ;;
  slurm)
    # A job on G GPUs (training with --ngpu G: G per node) asks for G times the CPUs and the
    # host memory per GPU given here (--cpus-per-gpu, --mem-per-gpu), and runs as many threads
    # as it has CPUs; a CPU job asks for --mem and the threads its step gives. Starting points:
    # raise the memory for wav2vec2 or Whisper frontends, and match the CPUs to your nodes'.
    per_gpu="--cpus-per-gpu 8 --mem-per-gpu"
    train_cmd="${ANTISPOOF_ROOT}/utils/run_slurm.sh --mem 32G ${per_gpu} 32G"
    decode_cmd="${ANTISPOOF_ROOT}/utils/run_slurm.sh --mem 16G ${per_gpu} 16G"
    feats_cmd="${ANTISPOOF_ROOT}/utils/run_slurm.sh --mem 8G ${per_gpu} 8G"
    ;;
  *)
    echo "conf/cmd.sh: unknown cmd_backend '${cmd_backend}' (expected local or slurm)" >&2
    return 1
    ;;
esac
export train_cmd decode_cmd feats_cmd

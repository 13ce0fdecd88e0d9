#!/usr/bin/env bash
# Train an experiment (its saved config.yaml) through the job launcher; resumes when re-run.
#
# Usage: steps/train.sh [--cmd utils/run_local.sh] [--ngpu N] [--nproc N] [--num_nodes M] \
#          [--master_addr host] [--master_port port] [--rdzv_id id] [--dist_timeout minutes] \
#          [--train_caches "<branch>=<scp> ..."] [--dev_caches "<branch>=<scp> ..."] \
#          <exp_dir> <train_data_dir> <dev_data_dir>
#   e.g. steps/train.sh --train_caches lfcc=dump/lfcc_1a2b3c4d/train/feats.scp exp/lfcc_resnet18_ocsoftmax data/train data/dev
#        steps/train.sh --ngpu 4 ...                    # the 4 GPUs of this machine
#        steps/train.sh --ngpu 0 --nproc 2 ...          # 2 CPU processes (a laptop, a test)
#        steps/train.sh --cmd utils/run_slurm.sh --ngpu 4 --num_nodes 2 ...  # 8 GPUs on 2 nodes
# One process trains, unless there are several: --ngpu N > 1 (one per GPU), --nproc N > 1 (CPU)
# or --num_nodes M > 1; then the launcher runs torchrun, which starts each node's processes for
# data-parallel training (antispoof.training.trainer). The processes of M nodes meet at
# MASTER_ADDR:MASTER_PORT under the rendezvous id --rdzv_id, unique to the run: --master_addr
# and --master_port set them, or else the launcher does (utils/run_slurm.sh --num-nodes: the
# job's first node and a port free there). Started by hand on each node (run_local.sh), give
# each the same --master_addr, --master_port and --rdzv_id. The nodes share exp_dir.
# Writes <exp_dir>/checkpoints/{last,best}.pt, train.log, tensorboard/, and .done.train (the
# checksums of the training and dev tables and the training settings it was made from).
set -euo pipefail

cmd="${ANTISPOOF_ROOT:-.}/utils/run_local.sh"  # job launcher (conf/cmd.sh: train_cmd)
ngpu=""                                        # GPUs per node: 0, 1, N; empty: a GPU if present
nproc=1                                        # CPU processes per node, with --ngpu 0
num_nodes=1                                    # nodes; > 1 needs a rendezvous host (above)
master_addr=""                                 # rendezvous host; empty: the launcher's
master_port=""                                 # rendezvous port on that host; empty: the launcher's
rdzv_id=""                                     # rendezvous id; empty: a new one for this run
dist_timeout=30                                # minutes a process waits for the others
train_caches=""                                # <branch>=<feats.scp> caches of the training set
dev_caches=""                                  # <branch>=<feats.scp> caches of the dev set
num_threads=$(nproc)                           # torch threads of a node, shared by its processes
help_message="$(sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//')"

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
train_dir=$2
dev_dir=$3

for option in nproc num_nodes; do
  if [[ ! ${!option} =~ ^[1-9][0-9]*$ ]]; then
    log "error: --${option} must be a positive number, got '${!option}'"
    exit 1
  fi
done
if [[ -n ${ngpu} && ! ${ngpu} =~ ^[0-9]+$ ]]; then
  log "error: --ngpu must be a number of GPUs, got '${ngpu}'"
  exit 1
fi
if [ "${nproc}" -gt 1 ] && [ "${ngpu}" != 0 ]; then
  log "error: --nproc ${nproc} starts CPU processes: give --ngpu 0 too (on GPUs, --ngpu N" \
    "starts one process per GPU)"
  exit 1
fi

extra=(--dist_timeout "${dist_timeout}")
[ -n "${ngpu}" ] && extra+=(--ngpu "${ngpu}")
for cache in ${train_caches}; do extra+=(--train_cache "${cache}"); done
for cache in ${dev_caches}; do extra+=(--dev_cache "${cache}"); done
# The job asks the launcher for its GPUs (Slurm: --gres; locally: GPUs of its own).
launcher_opts=(--gpu "${ngpu}")
if [ -z "${ngpu}" ]; then
  launcher_opts=()
  [ -n "$("${root}/utils/visible_gpus.sh")" ] && launcher_opts=(--gpu 1)
fi

processes=${nproc}
[[ -n ${ngpu} && ${ngpu} -gt 1 ]] && processes=${ngpu}
python=(python)
if [ "${processes}" -gt 1 ] || [ "${num_nodes}" -gt 1 ]; then
  python=(python -m torch.distributed.run --nproc_per_node "${processes}")
  if [ "${num_nodes}" -eq 1 ]; then
    python+=(--standalone)
  else
    if [ -n "${master_addr}" ]; then
      export MASTER_ADDR=${master_addr}
    else
      unset MASTER_ADDR # the launcher names the host
    fi
    if [ -n "${master_port}" ]; then
      export MASTER_PORT=${master_port}
    else
      unset MASTER_PORT # the launcher chooses the port
    fi
    # One id per run, so that two runs whose first node is the same never join one rendezvous.
    rdzv_id=${rdzv_id:-antispoof-$(hostname)-$$-$(date +%s)}
    launcher_opts+=(--num-nodes "${num_nodes}")
    # shellcheck disable=SC2016  # expanded by the job's shell, on each node
    python+=(--nnodes "${num_nodes}" --rdzv_backend c10d --rdzv_id "${rdzv_id}"
      --rdzv_endpoint '${MASTER_ADDR}:${MASTER_PORT}')
  fi
fi

mkdir -p "${exp_dir}/log"
# The marker records the inputs as the work starts and is put in place when it ends.
rm -f "${exp_dir}/.done.train"
python -m antispoof.bin.stage_marker write "${exp_dir}/.done.train.tmp" train \
  --train_dir "${train_dir}" --dev_dir "${dev_dir}" --config "${exp_dir}/config.yaml"
log "training ${exp_dir} (log: ${exp_dir}/log/train.log; progress: ${exp_dir}/train.log)"
# shellcheck disable=SC2086  # ${cmd} is a command line with its own options (Kaldi style)
if ! ${cmd} --num-threads "${num_threads}" "${launcher_opts[@]}" "${exp_dir}/log/train.log" \
  "${python[@]}" -m antispoof.bin.train --exp_dir "${exp_dir}" --train_dir "${train_dir}" \
  --dev_dir "${dev_dir}" "${extra[@]}"; then
  # Name the reason here: under torchrun it is buried in the report of the failed processes.
  reason=$(grep -m 1 '^train: error: ' "${exp_dir}/log/train.log" || true)
  log "error: training failed${reason:+: ${reason#train: error: }}"
  exit 1
fi
mv "${exp_dir}/.done.train.tmp" "${exp_dir}/.done.train"

#!/usr/bin/env bash
# Print the GPUs that jobs on this machine may use, one per line: the entries of
# CUDA_VISIBLE_DEVICES when it is set (set and empty: none), else the indices that nvidia-smi
# lists, else nothing (no nvidia-smi, or no driver).
#
# Usage:
#   utils/visible_gpus.sh
# e.g.
#   CUDA_VISIBLE_DEVICES=2,3 utils/visible_gpus.sh    # prints 2 and 3
#
# utils/run_local.sh hands these out to its GPU jobs; the steps ask the launcher for a GPU per
# job when they are given no --ngpu and this prints any.
set -euo pipefail

if [ $# -ne 0 ]; then
  sed -n '2,/^$/s/^# \{0,1\}//p' "$0" >&2
  exit 1
fi
if [ -n "${CUDA_VISIBLE_DEVICES+set}" ]; then
  IFS=, read -r -a devices <<<"${CUDA_VISIBLE_DEVICES}"
  for device in "${devices[@]}"; do
    device=${device//[[:space:]]/}
    if [ -n "${device}" ]; then
      printf '%s\n' "${device}"
    fi
  done
elif command -v nvidia-smi >/dev/null; then
  { nvidia-smi --query-gpu=index --format=csv,noheader 2>/dev/null || true; } | tr -d '[:blank:]' \
    | { grep -E '^[0-9]+$' || true; }
fi

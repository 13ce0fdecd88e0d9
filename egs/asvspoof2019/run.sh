#!/usr/bin/env bash
# ASVspoof 2019 LA: train on train (dev selects the checkpoint), evaluate on dev and eval with
# EER and the 2019 (legacy) min t-DCF; LFCC -> ResNet18 with Softmax and with OC-Softmax.
#
# Usage: egs/asvspoof2019/run.sh [pipeline options]   e.g. --db_root /data/asvspoof2019 --ngpu 1
# The corpus root defaults to $ASVSPOOF2019_ROOT (conf/db.sh), else db/asvspoof2019 (downloaded).
set -euo pipefail
cd "$(dirname "$0")"
# shellcheck source=conf/db.sh
. ../../conf/db.sh

exec ../../run.sh \
  --recipe_dir "$(pwd)" \
  --corpora "asvspoof2019=${ASVSPOOF2019_ROOT:-db/asvspoof2019}" \
  --train_set train --dev_set dev --test_sets "dev eval" \
  --config "conf/lfcc_resnet18_softmax.yaml conf/lfcc_resnet18_ocsoftmax.yaml" \
  "$@"

#!/usr/bin/env bash
# mini: a synthetic corpus in the exact ASVspoof 2019 LA layout, with replicas of 2021 DF and
# In-the-Wild as out-of-domain test sets and of ASVspoof 5 (asv5_* sets), made by stage 0;
# LFCC -> ResNet18 is trained on it with Softmax and with OC-Softmax, in minutes on a CPU.
#
# Usage: egs/mini/run.sh [pipeline options]   e.g. --stage 3 --stop-stage 5 --nj 2
# (./run.sh at the repository root with no recipe runs this.) See ../../run.sh for the options.
# On the ASVspoof 5 replica instead:
#   egs/mini/run.sh --train_set asv5_train --dev_set asv5_dev --test_sets "asv5_dev asv5_eval"
set -euo pipefail
cd "$(dirname "$0")"

exec ../../run.sh \
  --recipe_dir "$(pwd)" \
  --corpora "mini=db/mini" \
  --train_set train --dev_set dev --test_sets "dev eval df21_full itw" \
  --config "conf/lfcc_resnet18_softmax.yaml conf/lfcc_resnet18_ocsoftmax.yaml" \
  "$@"

#!/usr/bin/env bash
# ASVspoof 2021 LA: train on ASVspoof 2019 LA, evaluate on the 2021 LA key with EER and the 2021
# min t-DCF: la21_full, every trial, is scored once, and the official ranking subset (eval),
# progress and hidden are evaluated from those scores (the same figures as scoring la21_eval alone).
#
# Usage: egs/asvspoof2021_la/run.sh [pipeline options]   e.g. --ngpu 1
# Roots default to $ASVSPOOF2021_LA_ROOT and $ASVSPOOF2019_ROOT (conf/db.sh), else db/<corpus>.
set -euo pipefail
cd "$(dirname "$0")"
# shellcheck source=conf/db.sh
. ../../conf/db.sh

exec ../../run.sh \
  --recipe_dir "$(pwd)" \
  --corpora "asvspoof2021_la=${ASVSPOOF2021_LA_ROOT:-db/asvspoof2021_la} asvspoof2019=${ASVSPOOF2019_ROOT:-db/asvspoof2019}" \
  --train_set train --dev_set dev --test_sets "dev la21_full" \
  --config "conf/lfcc_resnet18_softmax.yaml conf/lfcc_resnet18_ocsoftmax.yaml" \
  "$@"

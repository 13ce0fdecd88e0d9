#!/usr/bin/env bash
# ASVspoof 2021 DF: train on ASVspoof 2019 LA, evaluate on the 2021 DF key with EER per codec x
# vocoder family: df21_full, every trial, is scored once, and the official ranking subset (eval),
# progress and hidden are evaluated from those scores (the same figures as scoring df21_eval alone).
#
# Usage: egs/asvspoof2021_df/run.sh [pipeline options]   e.g. --ngpu 1
# Training on DF itself, as the One-Class Softmax poster does (a seeded 100k/25k split, bona
# fide oversampled; evaluation sets without those trials):
#   egs/asvspoof2021_df/run.sh --train_set df21_train --dev_set df21_dev \
#     --test_sets "df21_dev df21_eval_heldout df21_full_heldout" --override "train.epochs=20"
set -euo pipefail
cd "$(dirname "$0")"
# shellcheck source=conf/db.sh
. ../../conf/db.sh

exec ../../run.sh \
  --recipe_dir "$(pwd)" \
  --corpora "asvspoof2021_df=${ASVSPOOF2021_DF_ROOT:-db/asvspoof2021_df} asvspoof2019=${ASVSPOOF2019_ROOT:-db/asvspoof2019}" \
  --train_set train --dev_set dev --test_sets "dev df21_full" \
  --config "conf/lfcc_resnet18_softmax.yaml conf/lfcc_resnet18_ocsoftmax.yaml" \
  "$@"

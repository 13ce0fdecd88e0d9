#!/usr/bin/env bash
# ASVspoof 5 Track 1: train on the train set (dev selects the checkpoint and fits the
# calibration), evaluate dev and eval with minDCF (primary), actDCF, Cllr and EER as the official
# package computes them, pooled and per attack x codec condition. The organisers' AASIST baseline.
#
# Usage: egs/asvspoof5/run.sh [pipeline options]   e.g. --db_root /data/asvspoof5 --ngpu 1
# The corpus root defaults to $ASVSPOOF5_ROOT (conf/db.sh), else db/asvspoof5 (downloaded).
# The SSL system: --config conf/wavlm_aasist.yaml.
set -euo pipefail
cd "$(dirname "$0")"
# shellcheck source=conf/db.sh
. ../../conf/db.sh

exec ../../run.sh \
  --recipe_dir "$(pwd)" \
  --corpora "asvspoof5=${ASVSPOOF5_ROOT:-db/asvspoof5}" \
  --train_set train --dev_set dev --test_sets "dev eval" \
  --config conf/aasist.yaml \
  "$@"

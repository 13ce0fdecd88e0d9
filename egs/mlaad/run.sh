#!/usr/bin/env bash
# MLAAD with M-AILABS: evaluation only. Scores a model trained by another recipe, or a published
# one, on each M-AILABS language: MLAAD's TTS clips against the M-AILABS recordings they speak
# (the per-attack table gives each TTS system's EER). Fewer languages: get them first with
# local/mlaad/get_corpus.sh --languages "de en" <root>, then --test_sets "mlaad_de mlaad_en".
#
# Usage: egs/mlaad/run.sh --exp_dir ../asvspoof2019/exp/lfcc_resnet18_ocsoftmax [options]
# The corpus root defaults to $MLAAD_ROOT (conf/db.sh), else db/mlaad (downloaded).
set -euo pipefail
cd "$(dirname "$0")"
# shellcheck source=conf/db.sh
. ../../conf/db.sh

exec ../../run.sh \
  --recipe_dir "$(pwd)" \
  --corpora "mlaad=${MLAAD_ROOT:-db/mlaad}" \
  --train_set "" --dev_set "" \
  --test_sets "mlaad_de mlaad_en mlaad_es mlaad_fr mlaad_it mlaad_pl mlaad_ru mlaad_uk" \
  "$@"

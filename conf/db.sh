# shellcheck shell=bash
# Where this site keeps the corpora. Set a root once, here or in the environment, and every
# recipe that needs the corpus uses it as its default --db_root; leave it empty and the recipe
# downloads the corpus into a directory of its own. Recipes source this file:
#
# Usage (in a recipe):
#   . "${ANTISPOOF_ROOT}/conf/db.sh"
#   db_root=${ASVSPOOF2019_ROOT:-db/asvspoof2019}
#
# Usage (a site):
#   export ASVSPOOF2019_ROOT=/path/to/asvspoof2019    # before running a recipe
#
# A root is the directory that holds the unpacked archives, as listed below (exact layouts and
# official counts: src/antispoof/download/sources.py). Stage 0 checks a root that has no
# .complete marker yet (protocol counts, every listed audio file), marks it, and never
# downloads into a directory that already holds files. A read-only root is checked each time.

# ASVspoof 2019 LA: holds LA/ (LA.zip); the 2021 recipes train on it too
export ASVSPOOF2019_ROOT="${ASVSPOOF2019_ROOT:-}"
# ASVspoof 2021 LA: holds ASVspoof2021_LA_eval/ and keys/LA/ (LA-keys-full.tar.gz)
export ASVSPOOF2021_LA_ROOT="${ASVSPOOF2021_LA_ROOT:-}"
# ASVspoof 2021 DF: holds ASVspoof2021_DF_eval/ (all four parts) and keys/DF/
export ASVSPOOF2021_DF_ROOT="${ASVSPOOF2021_DF_ROOT:-}"
# In-the-Wild: holds release_in_the_wild/ (release_in_the_wild.zip)
export IN_THE_WILD_ROOT="${IN_THE_WILD_ROOT:-}"
# Fake-or-Real: holds for-norm/ (for-norm.tar.gz)
export FAKE_OR_REAL_ROOT="${FAKE_OR_REAL_ROOT:-}"
# CodecFake: holds metadata.csv and <codec>/<speaker>/ (the audio of the parquet release)
export CODECFAKE_ROOT="${CODECFAKE_ROOT:-}"
# SpoofCeleb (gated; obtained by hand, see egs/spoofceleb/README.md): holds spoofceleb/
export SPOOFCELEB_ROOT="${SPOOFCELEB_ROOT:-}"
# Deepfake-Eval-2024 (gated; obtained by hand, see egs/deepfake_eval_2024/README.md): holds
# audio-metadata-publish.csv and audio-data/
export DEEPFAKE_EVAL_2024_ROOT="${DEEPFAKE_EVAL_2024_ROOT:-}"
# MLAAD with M-AILABS: holds MLAAD/fake/<lang>/ (Hugging Face) and M-AILABS/<tag>/ (<tag>.tgz)
export MLAAD_ROOT="${MLAAD_ROOT:-}"
# ASVspoof 5: holds flac_T/, flac_D/, flac_E_eval/ (the 18 flac_*.tar parts) and the
# ASVspoof5.*.tsv protocols (ASVspoof5_protocols.tar.gz)
export ASVSPOOF5_ROOT="${ASVSPOOF5_ROOT:-}"

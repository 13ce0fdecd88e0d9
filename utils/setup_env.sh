# shellcheck shell=bash
# Source this file: it creates the project's Python environment (.venv at the repository root)
# on first use, reinstalls it when pyproject.toml or conf/constraints.txt changes, and puts it
# first on PATH. Needs only python3 (3.11+) with venv; everything else comes from the package
# registry. The package is installed with its `dev` (tests), `onnx` (export), `demo` (the web
# page) and `corpora` (parquet releases) extras, at the exact versions of conf/constraints.txt
# (pyproject.toml gives only compatible ranges).

antispoof_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
antispoof_venv="${ANTISPOOF_VENV:-${antispoof_root}/.venv}"
antispoof_stamp="${antispoof_venv}/.antispoof-installed"
# The stamp holds the checksums of the files it was installed from: a changed file (not a newer
# mtime, which every checkout or copy gives) means a reinstall.
antispoof_wanted="$(cat "${antispoof_root}/pyproject.toml" "${antispoof_root}/conf/constraints.txt" | cksum)"

if [ "$(cat "${antispoof_stamp}" 2>/dev/null)" != "${antispoof_wanted}" ]; then
  echo "setup_env.sh: installing the Python environment into ${antispoof_venv} (first use, or pyproject.toml or conf/constraints.txt changed)" >&2
  python3 -m venv "${antispoof_venv}"
  "${antispoof_venv}/bin/python" -m pip install --quiet --upgrade pip
  "${antispoof_venv}/bin/python" -m pip install --quiet \
    --constraint "${antispoof_root}/conf/constraints.txt" -e "${antispoof_root}[dev,onnx,demo,corpora]"
  echo "${antispoof_wanted}" > "${antispoof_stamp}"
fi

export PATH="${antispoof_venv}/bin:${PATH}"
# Logs of long jobs show progress as it happens.
export PYTHONUNBUFFERED=1

# shellcheck shell=bash
# Source this file: it creates the project's Python environment (.venv at the repository root)
# on first use, reinstalls it when pyproject.toml changes, and puts it first on PATH.
# Needs only python3 (3.11+) with venv; everything else comes from the package registry.

antispoof_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
antispoof_venv="${ANTISPOOF_VENV:-${antispoof_root}/.venv}"
antispoof_stamp="${antispoof_venv}/.antispoof-installed"

if [ ! -f "${antispoof_stamp}" ] || [ "${antispoof_root}/pyproject.toml" -nt "${antispoof_stamp}" ]; then
  echo "setup_env.sh: creating the Python environment in ${antispoof_venv} (first use)" >&2
  python3 -m venv "${antispoof_venv}"
  "${antispoof_venv}/bin/python" -m pip install --quiet --upgrade pip
  "${antispoof_venv}/bin/python" -m pip install --quiet -e "${antispoof_root}[dev]"
  touch "${antispoof_stamp}"
fi

export PATH="${antispoof_venv}/bin:${PATH}"
# Logs of long jobs show progress as it happens.
export PYTHONUNBUFFERED=1

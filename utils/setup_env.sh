# shellcheck shell=bash
# Source this file: it creates the project's Python environment (.venv at the repository root)
# on first use, reinstalls it when pyproject.toml changes, and puts it first on PATH.
# Needs only python3 (3.11+) with venv; everything else comes from the package registry.

antispoof_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
antispoof_venv="${ANTISPOOF_VENV:-${antispoof_root}/.venv}"
antispoof_stamp="${antispoof_venv}/.antispoof-installed"
# The stamp holds the checksum of the pyproject.toml it was installed from: a changed file (not
# a newer mtime, which every checkout or copy gives) means a reinstall.
antispoof_wanted="$(cksum < "${antispoof_root}/pyproject.toml")"

if [ "$(cat "${antispoof_stamp}" 2>/dev/null)" != "${antispoof_wanted}" ]; then
  echo "setup_env.sh: installing the Python environment into ${antispoof_venv} (first use, or pyproject.toml changed)" >&2
  python3 -m venv "${antispoof_venv}"
  "${antispoof_venv}/bin/python" -m pip install --quiet --upgrade pip
  "${antispoof_venv}/bin/python" -m pip install --quiet -e "${antispoof_root}[dev]"
  echo "${antispoof_wanted}" > "${antispoof_stamp}"
fi

export PATH="${antispoof_venv}/bin:${PATH}"
# Logs of long jobs show progress as it happens.
export PYTHONUNBUFFERED=1

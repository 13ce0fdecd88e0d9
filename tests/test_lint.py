"""Lint as part of the suite: ruff over the Python code, shellcheck over every shell script."""

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
# Hidden top-level directories (.venv, .git) are not searched; .ci/run is named.
SHELL_SCRIPTS = sorted({*REPO.glob("*.sh"), *REPO.glob("[!.]*/**/*.sh"), REPO / ".ci" / "run"})


def run(command: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True)


def test_python_is_ruff_clean():
    result = run([str(BIN / "ruff"), "check", "--output-format", "concise", "src", "tests"])
    assert result.returncode == 0, result.stdout + result.stderr


def test_python_is_ruff_formatted():
    result = run([str(BIN / "ruff"), "format", "--check", "src", "tests"])
    assert result.returncode == 0, result.stdout + result.stderr


def test_shell_scripts_are_shellcheck_clean():
    assert REPO / "run.sh" in SHELL_SCRIPTS and REPO / "utils" / "parse_options.sh" in SHELL_SCRIPTS
    result = run([str(BIN / "shellcheck"), *map(str, SHELL_SCRIPTS)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_executable_scripts_are_strict():
    """Every script that is run (not sourced) stops on the first error."""
    for script in SHELL_SCRIPTS:
        text = script.read_text()
        if text.startswith("#!"):
            assert "set -euo pipefail" in text, f"{script} lacks set -euo pipefail"

"""Lint as part of the suite: ruff over the Python code, shellcheck over every shell script."""

import re
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


def repository_files() -> list[Path]:
    """Tracked files and new ones not ignored: what a commit of the working tree would hold."""
    result = run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"])
    assert result.returncode == 0, result.stderr
    return [REPO / name for name in result.stdout.split("\0") if name and (REPO / name).is_file()]


def text_of(path: Path) -> str | None:
    data = path.read_bytes()
    return None if b"\0" in data[:8192] else data.decode("utf-8", errors="replace")


def test_the_repository_points_at_nothing_outside_it():
    """Every file the code, tests and docs cite lives in the repository: a clone is complete."""
    outside = "../" + "shared"  # spelt in two parts so that this file does not match itself
    offenders = [
        str(path.relative_to(REPO))
        for path in repository_files()
        if (text := text_of(path)) is not None and outside in text
    ]
    assert offenders == [], f"{outside} is outside the repository: {offenders}"


def test_cited_research_notes_exist():
    cited = {
        match
        for path in repository_files()
        if (text := text_of(path)) is not None
        for match in re.findall(r"docs/research/[\w.-]+\.md", text)
    }
    assert "docs/research/papers.md" in cited
    assert [name for name in sorted(cited) if not (REPO / name).is_file()] == []

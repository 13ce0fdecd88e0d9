"""utils/parse_options.sh (Kaldi option parsing) and utils/log.sh, run through bash."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PARSE_OPTIONS = REPO / "utils" / "parse_options.sh"

# A script in the shape of the pipeline's: defaults, then parse_options.sh, under `set -euo`.
SCRIPT = f"""#!/usr/bin/env bash
set -euo pipefail
stage=0
stop_stage=100
use_gpu=false
test_sets="dev eval"
help_message="Usage: $0 [options] <a> <b>"
. {PARSE_OPTIONS}
printf 'stage=%s\\nstop_stage=%s\\nuse_gpu=%s\\ntest_sets=%s\\n' \\
  "$stage" "$stop_stage" "$use_gpu" "$test_sets"
for arg in "$@"; do printf 'arg=%s\\n' "$arg"; done
"""


@pytest.fixture
def script(tmp_path: Path) -> Path:
    path = tmp_path / "script.sh"
    path.write_text(SCRIPT)
    return path


def run(script: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(script), *args], capture_output=True, text=True, check=False, timeout=30
    )


def parsed(result: subprocess.CompletedProcess[str]) -> tuple[dict[str, str], list[str]]:
    assert result.returncode == 0, result.stderr
    values: dict[str, str] = {}
    args: list[str] = []
    for line in result.stdout.splitlines():
        name, _, value = line.partition("=")
        if name == "arg":
            args.append(value)
        else:
            values[name] = value
    return values, args


def test_defaults_without_options(script: Path) -> None:
    values, args = parsed(run(script))
    assert values == {
        "stage": "0",
        "stop_stage": "100",
        "use_gpu": "false",
        "test_sets": "dev eval",
    }
    assert args == []


@pytest.mark.parametrize(
    "options",
    [
        ["--stop-stage", "5"],
        ["--stop_stage", "5"],
        ["--stop-stage=5"],
        ["--stop_stage=5"],
    ],
)
def test_dash_underscore_and_equals_forms(script: Path, options: list[str]) -> None:
    values, _ = parsed(run(script, *options))
    assert values["stop_stage"] == "5"


def test_values_with_spaces_and_positional_args(script: Path) -> None:
    values, args = parsed(
        run(script, "--stage", "3", "--test-sets", "a b  c", "first", "second arg", "--stage", "9")
    )
    assert values["stage"] == "3"
    assert values["test_sets"] == "a b  c"
    # Parsing stops at the first non-option; what follows is left alone.
    assert args == ["first", "second arg", "--stage", "9"]


def test_double_dash_ends_options(script: Path) -> None:
    values, args = parsed(run(script, "--stage", "2", "--", "--stage", "4"))
    assert values["stage"] == "2"
    assert args == ["--stage", "4"]


def test_empty_value_with_equals(script: Path) -> None:
    values, _ = parsed(run(script, "--test_sets="))
    assert values["test_sets"] == ""


@pytest.mark.parametrize("option", ["--stge", "--stge=1", "--help-me"])
def test_unknown_option_is_an_error_naming_it_and_the_script(script: Path, option: str) -> None:
    result = run(script, option, "1")
    assert result.returncode == 1
    assert option.split("=")[0] in result.stderr
    assert str(script) in result.stderr
    assert result.stdout == ""


def test_internal_names_are_not_options(script: Path) -> None:
    assert run(script, "--_po_name", "x").returncode == 1


def test_option_without_value_is_an_error(script: Path) -> None:
    result = run(script, "--stage")
    assert result.returncode == 1
    assert "--stage" in result.stderr


@pytest.mark.parametrize("value", ["true", "false"])
def test_boolean_accepts_true_and_false(script: Path, value: str) -> None:
    values, _ = parsed(run(script, "--use-gpu", value))
    assert values["use_gpu"] == value


@pytest.mark.parametrize("value", ["yes", "1", "", "True"])
def test_boolean_rejects_other_values(script: Path, value: str) -> None:
    result = run(script, "--use_gpu", value)
    assert result.returncode == 1
    assert "--use_gpu" in result.stderr
    assert "true or false" in result.stderr


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_prints_the_message_and_exits_0(script: Path, flag: str) -> None:
    result = run(script, "--stage", "1", flag)
    assert result.returncode == 0
    assert result.stdout.startswith(f"Usage: {script} [options] <a> <b>")
    assert "stage=" not in result.stdout


def test_works_inside_a_function_with_local_defaults(tmp_path: Path) -> None:
    path = tmp_path / "func.sh"
    path.write_text(
        "set -euo pipefail\n"
        "main() {\n"
        "  local nj=4\n"
        f"  . {PARSE_OPTIONS}\n"
        '  echo "nj=$nj args=$*"\n'
        "}\n"
        'main "$@"\n'
        'echo "global=${nj:-unset}"\n'
    )
    result = run(path, "--nj", "8", "x")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["nj=8 args=x", "global=unset"]


def test_log_prints_time_caller_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "stage.sh"
    path.write_text(
        "set -euo pipefail\n"
        f". {REPO / 'utils' / 'log.sh'}\n"
        'log "stage 1: data" preparation\n'
        'f() { log "in a function"; }\n'
        "f\n"
    )
    result = run(path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    stamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d"
    assert re.fullmatch(rf"{stamp} \(stage\.sh:3\) stage 1: data preparation", lines[0])
    assert re.fullmatch(rf"{stamp} \(stage\.sh:4\) in a function", lines[1])

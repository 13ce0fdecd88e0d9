"""Entry points: an expected failure is one line `prog: error: message` and exit 1, no traceback;
a bug keeps its traceback."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from antispoof.bin._cli import run_main
from antispoof.checkpoint import save_checkpoint
from antispoof.config import REPO_ROOT, resolve_file, save_config
from antispoof.data.kaldi_files import TableError

MINI_CONFIG = REPO_ROOT / "egs/mini/conf/lfcc_resnet18_softmax.yaml"


def run_cli(
    prog: str, *args: str | Path, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", f"antispoof.bin.{prog}", *map(str, args)]
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        command, cwd=cwd, env=full_env, capture_output=True, text=True, timeout=300
    )


def error_line(result: subprocess.CompletedProcess, prog: str) -> str:
    """The one line of stderr, checked to be `prog: error: ...` with exit status 1."""
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"{prog}: error: "), result.stderr
    return lines[0]


def test_a_value_of_the_wrong_type_fails_before_anything_is_created(tmp_path):
    exp_root = tmp_path / "exp"
    result = run_cli(
        "prepare_exp",
        "--config",
        MINI_CONFIG,
        "--exp_root",
        exp_root,
        "--override",
        "train.epochs=2.5",
        cwd=tmp_path,
    )
    line = error_line(result, "prepare_exp")
    assert "train.epochs must be an int, not 2.5" in line
    assert not exp_root.exists()


def test_invalid_yaml_is_one_line_naming_file_and_line(tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text("model: resnet18\nloss: softmax: oops\n")
    exp_root = tmp_path / "exp"
    result = run_cli("prepare_exp", "--config", config, "--exp_root", exp_root, cwd=tmp_path)
    line = error_line(result, "prepare_exp")
    assert f"{config}:2:" in line and "invalid YAML" in line


def test_a_truncated_checkpoint_is_one_line_saying_what_to_do(tmp_path):
    exp_dir = tmp_path / "exp" / "mini"
    save_config(resolve_file(MINI_CONFIG), exp_dir / "config.yaml")
    best = exp_dir / "checkpoints" / "best.pt"
    save_checkpoint({"detector": {}, "epoch": 1}, best)
    best.write_bytes(best.read_bytes()[:100])
    result = run_cli(
        "score",
        "--exp_dir",
        exp_dir,
        "--data_dir",
        tmp_path / "data",
        "--out",
        tmp_path / "scores.txt",
        "--ngpu",
        "0",
        cwd=tmp_path,
    )
    line = error_line(result, "score")
    assert f"cannot load checkpoint {best}: it is truncated" in line
    assert "--checkpoint last" in line


def test_an_existing_corpus_directory_without_its_marker(tmp_path):
    db_root = tmp_path / "db"
    db_root.mkdir()
    (db_root / "leftover").write_text("")
    result = run_cli("make_mini_corpus", "--out_dir", db_root, cwd=tmp_path)
    line = error_line(result, "make_mini_corpus")
    assert f"{db_root} exists without .complete; remove it first" in line


def test_an_output_path_that_cannot_be_written(tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "utt2label").write_text("a bonafide\nb spoof\nc spoof\n")
    (data_dir / "utt2attack").write_text("a bonafide\nb A07\nc A08\n")
    scores = tmp_path / "scores.txt"
    scores.write_text("a 1.0\nb 0.5\nc -1.0\n")
    (tmp_path / "taken").write_text("a file, not a directory\n")
    out = tmp_path / "taken" / "metrics.json"
    result = run_cli(
        "evaluate", "--scores", scores, "--data_dir", data_dir, "--out", out, cwd=tmp_path
    )
    assert str(tmp_path / "taken") in error_line(result, "evaluate")


def test_run_main_prints_expected_errors_and_keeps_tracebacks_of_bugs(capsys, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["tool"])  # run_main renames the program in sys.argv[0]

    def expected(argv: list[str] | None) -> int:
        raise TableError("data/x/utt2label:3: expected 2 fields")

    with pytest.raises(SystemExit) as exit_info:
        run_main(expected, "tool")
    assert exit_info.value.code == 1
    assert capsys.readouterr().err == "tool: error: data/x/utt2label:3: expected 2 fields\n"

    def malformed_yaml(argv: list[str] | None) -> int:
        yaml.safe_load("a: [1, 2\nb: 3\n")
        return 0

    with pytest.raises(SystemExit) as exit_info:
        run_main(malformed_yaml, "tool")
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("tool: error: <unicode string>:") and err.count("\n") == 1

    def bug(argv: list[str] | None) -> int:
        return {}["missing"]

    with pytest.raises(KeyError):
        run_main(bug, "tool")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[1, 2]", "not a JSON object"),
        ('{"eer": 0.1}', "no n_bonafide, n_spoof, eer_negated, per_attack"),
        ("{", "not valid JSON"),
    ],
)
def test_collect_results_refuses_a_metrics_file_it_cannot_read(tmp_path, text, message):
    metrics = tmp_path / "exp" / "tag" / "eval" / "metrics.json"
    metrics.parent.mkdir(parents=True)
    metrics.write_text(text)
    result = run_cli(
        "collect_results", "--out", tmp_path / "RESULTS.md", tmp_path / "exp" / "tag", cwd=tmp_path
    )
    line = error_line(result, "collect_results")
    assert f"{metrics}: " in line and message in line


@pytest.mark.parametrize(("ngpu", "wanted"), [("1", "a GPU"), ("2", "GPUs")])
def test_a_device_that_is_not_there_is_one_line(tmp_path, ngpu, wanted):
    exp_dir = tmp_path / "exp"
    save_config(resolve_file(MINI_CONFIG), exp_dir / "config.yaml")
    data = tmp_path / "data"
    result = run_cli(
        "train",
        "--exp_dir",
        exp_dir,
        "--train_dir",
        data,
        "--dev_dir",
        data,
        "--ngpu",
        ngpu,
        cwd=tmp_path,
        env={"CUDA_VISIBLE_DEVICES": ""},  # no GPU, whatever this machine has
    )
    line = error_line(result, "train")
    assert f"--ngpu {ngpu} asked for {wanted}, but torch sees none; use --ngpu 0" in line


HELP_PROBE = """
import contextlib, io, json, pkgutil, runpy, sys
import antispoof.bin
helps = {}
for module in pkgutil.iter_modules(antispoof.bin.__path__):
    if module.name.startswith("_"):
        continue
    sys.argv = [f"{module.name}.py", "--help"]
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
        runpy.run_module(f"antispoof.bin.{module.name}", run_name="__main__")
    helps[module.name] = out.getvalue()
print(json.dumps(helps))
"""


def test_every_entry_point_help_names_its_command_and_keeps_its_usage_lines():
    """`--help` of every `python -m antispoof.bin.<name>`: the usage line names that command (not
    `<name>.py`), and the docstring's `Usage:` block keeps its line breaks (a backslash at a line's
    end continues the shell command; it must not join the lines with runs of spaces)."""
    done = subprocess.run(
        [sys.executable, "-c", HELP_PROBE], capture_output=True, text=True, check=True, timeout=300
    )
    helps = json.loads(done.stdout)
    assert {"detect", "train", "score", "check_run"} <= set(helps)
    for name, text in helps.items():
        assert text.startswith(f"usage: python -m antispoof.bin.{name} "), (name, text[:80])
        usage = text.split("Usage:", 1)[1].split("\n\n", 1)[0] if "Usage:" in text else ""
        for line in usage.splitlines():
            # A continuation line joined to the previous one keeps its 8-space indent inside
            # (an aligned `# comment` is no continuation).
            assert not re.search(r"\S {8,}[^#\s]", line), (name, line)

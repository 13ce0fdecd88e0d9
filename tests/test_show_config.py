"""`show_config`: every registered part with its settings and defaults, a config resolved
without creating anything; README.md and docs/DESIGN.md name exactly the registered parts."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

from antispoof.bin import show_config
from antispoof.catalog import kinds, render_catalog, settings_of
from antispoof.config import resolve_file

REPO = Path(__file__).resolve().parents[1]
MINI = REPO / "egs/mini/conf/lfcc_resnet18_ocsoftmax.yaml"


def test_the_catalog_lists_every_part_with_its_settings_and_defaults():
    text = render_catalog()
    for kind in kinds().values():
        for name in kind.registry.names():
            assert f"\n  {name}" in text, name
    # A setting with its default and type; settings the pipeline derives are left out.
    lfcc = {s.name: s for s in settings_of(kinds()["frontend"], "lfcc")}
    assert lfcc["n_filters"].default == 20 and lfcc["n_filters"].type == "an int"
    assert "      n_filters = 20  [an int]" in text
    assert all(s.name != "embedding_dim" for s in settings_of(kinds()["loss"], "softmax"))
    assert "(required)" in render_catalog("loss")  # sum's terms
    assert render_catalog("loss").startswith("loss (config: loss)\n")


def test_a_config_is_printed_resolved_and_nothing_is_created(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv = ["--config", str(MINI), "--override", "train.epochs=2"]
    assert show_config.main(argv) == 0
    out = capsys.readouterr().out
    first, _, body = out.partition("\n")
    assert first.endswith("its experiment: exp/lfcc_resnet18_ocsoftmax__train.epochs=2")
    assert yaml.safe_load(body) == resolve_file(MINI, ["train.epochs=2"])
    assert list(tmp_path.iterdir()) == []


def test_the_command_names_a_bad_key_in_one_line():
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "antispoof.bin.show_config",
            "--config",
            str(MINI),
            "--override",
            "train.epoch=2",
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith("show_config: error: ") and "epoch" in done.stderr


def section(text: str, heading: str) -> str:
    start = text.index(heading)
    end = text.find("\n## ", start + len(heading))
    return text[start : end if end >= 0 else len(text)]


def backticked(text: str) -> set[str]:
    return set(re.findall(r"`([a-z0-9_]+)`", text))


def test_readme_and_design_name_exactly_the_registered_parts():
    registered = {name: set(kind.registry.names()) for name, kind in kinds().items()}
    readme = (REPO / "README.md").read_text()
    table = section(readme, "## Frontends and models")
    first_cells = re.findall(r"^\| (`[^|]+) \|", table, flags=re.MULTILINE)
    rows = {name for cell in first_cells for name in backticked(cell)}
    assert rows == registered["frontend"] | registered["model"]
    other = ("loss", "augmentation", "waveform augmentation", "optimizer", "scheduler")
    for kind in other:
        assert registered[kind] <= backticked(table), kind
    design = (REPO / "docs" / "DESIGN.md").read_text()
    frontends = design[design.index("Kinds: ") : design.index("\n\n", design.index("Kinds: "))]
    assert registered["frontend"] == backticked(frontends) & (
        registered["frontend"] | registered["model"] | {"inputs"}
    )
    parts = section(design, "## Models, losses, augmentations (registries)")
    for kind in ("model", *other):
        assert registered[kind] <= backticked(parts), kind

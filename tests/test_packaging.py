"""The package installs into a user's environment: pyproject.toml gives compatible ranges that
resolve from the package index, while conf/constraints.txt pins the exact versions that
utils/setup_env.sh gives the recipes' environment (the one running these tests)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from importlib.metadata import version
from pathlib import Path

from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[1]
SETUP_ENV = REPO / "utils" / "setup_env.sh"


def requirements() -> list[Requirement]:
    """Every dependency of pyproject.toml, the extras' too."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    names = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        names += extra
    return [Requirement(text) for text in names]


def pins() -> dict[str, str]:
    pinned = {}
    for line in (REPO / "conf" / "constraints.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, exact = line.partition("==")
            pinned[name.strip().lower()] = exact.strip()
    return pinned


def test_dependencies_are_ranges_and_every_one_is_pinned_within_its_range():
    pinned = pins()
    for requirement in requirements():
        assert not any(spec.operator == "==" for spec in requirement.specifier), requirement
        name = requirement.name.lower()
        assert name in pinned, f"{name} has no pin in conf/constraints.txt"
        assert requirement.specifier.contains(pinned[name], prereleases=True), requirement


def installed_extras() -> list[str]:
    """The extras utils/setup_env.sh installs into the recipes' environment."""
    found = re.search(r'-e "\$\{antispoof_root\}\[([a-z,]+)\]"', SETUP_ENV.read_text())
    assert found, f"{SETUP_ENV} installs the package with no extras"
    return found.group(1).split(",")


def test_the_recipes_environment_has_the_pinned_versions():
    """Every pin of the packages setup_env.sh installs (the package and its extras there; the
    `bench` extra is for benchmarks only) is the installed version."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = list(project["dependencies"])
    for extra in installed_extras():
        wanted += project["optional-dependencies"][extra]
    names = {Requirement(text).name.lower() for text in wanted}
    mismatched = {
        name: (exact, version(name))
        for name, exact in pins().items()
        if name in names and version(name) != exact
    }
    assert mismatched == {}, "installed differs from conf/constraints.txt: (pinned, installed)"


def test_the_ranges_resolve_from_the_package_index(tmp_path):
    """What `pip install .` would install into an empty environment (a dry run)."""
    report = tmp_path / "report.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--dry-run",
            "--ignore-installed",
            "--quiet",
            "--report",
            str(report),
            str(REPO),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    resolved = {
        item["metadata"]["name"].lower(): item["metadata"]["version"]
        for item in json.loads(report.read_text())["install"]
    }
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    for text in project["dependencies"]:
        requirement = Requirement(text)
        name = requirement.name.lower()
        assert name in resolved, f"{name} was not resolved"
        assert requirement.specifier.contains(resolved[name], prereleases=True)

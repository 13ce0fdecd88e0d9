"""Shared test set-up: the scripts under test call `python`, which must be this environment's."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"


@pytest.fixture(scope="session")
def mini_corpus(tmp_path_factory) -> Path:
    """A small mini corpus (2019 LA layout plus the 2021 DF and In-the-Wild replicas), made once
    for the whole run; tests read it and never write into it."""
    db = tmp_path_factory.mktemp("mini_corpus") / "mini"
    command = [sys.executable, "-m", "antispoof.bin.make_mini_corpus", "--out_dir", str(db)]
    subprocess.run([*command, "--scale", "0.3"], check=True, capture_output=True)
    return db

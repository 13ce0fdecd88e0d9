"""Shared test set-up: the scripts under test call `python`, which must be this environment's."""

import os
import sys
from pathlib import Path

os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"

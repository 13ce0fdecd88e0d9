"""The suite's own order (tests/conftest.py): the files of a marker rank run longest first by
their seconds at the last run, which each run records in pytest's cache."""

import json
from pathlib import Path

pytest_plugins = ["pytester"]

CONFTEST = Path(__file__).with_name("conftest.py")


def test_files_run_by_rank_then_longest_first_at_the_last_run(pytester):
    pytester.makeconftest(CONFTEST.read_text())
    pytester.makepyfile(
        test_fast="def test_fast():\n    pass\n",
        test_slow="import time\n\n\ndef test_slow():\n    time.sleep(0.3)\n",
        test_marked="import pytest\n\npytestmark = pytest.mark.long\n\n\ndef test_marked():\n"
        "    pass\n",
    )
    order = ["test_fast.py", "test_marked.py", "test_slow.py"]

    def collected() -> list[str]:
        result = pytester.runpytest("--collect-only", "-q")
        return [line.split("::")[0] for line in result.outlines if "::" in line]

    # A fresh clone: the marked file first, then the collection's (alphabetical) order.
    assert collected() == ["test_marked.py", "test_fast.py", "test_slow.py"]
    pytester.runpytest().assert_outcomes(passed=3)
    record = pytester.path / ".pytest_cache/v/antispoof/file_seconds"
    seconds = json.loads(record.read_text())
    assert sorted(seconds) == order and seconds["test_slow.py"] >= 0.3 > seconds["test_fast.py"]
    # The next run: the marked file still first (its rank), then the slow file before the fast.
    assert collected() == ["test_marked.py", "test_slow.py", "test_fast.py"]
    # A selection records the files that ran and keeps the others' seconds.
    pytester.runpytest("test_fast.py").assert_outcomes(passed=1)
    assert json.loads(record.read_text())["test_slow.py"] == seconds["test_slow.py"]

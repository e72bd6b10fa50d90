"""The full-run column of examples/README.md's "Numbers the runs print", checked by running every
example in full (minutes: `make check-examples`, or CHALKGRAD_FULL_EXAMPLES=1). The quick column
is checked by tests/test_examples.py on every run of the suite."""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path

import pytest

pytest.importorskip("sklearn", reason="the examples' digits data ships with scikit-learn")

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from examples import documented  # noqa: E402

FULL = os.environ.get("CHALKGRAD_FULL_EXAMPLES") == "1"


@pytest.mark.skipif(not FULL, reason="full runs take minutes: make check-examples")
@pytest.mark.parametrize("name", sorted(documented.claims("full")))
def test_full_run_prints_the_documented_numbers(name, tmp_path):
    module = importlib.import_module(f"examples.{name}")
    result = module.main(["--device", "cpu", "--out", str(tmp_path), "--no-progress"])
    problems = documented.mismatches(name, result, "full")
    assert not problems, "examples/README.md disagrees with the full run:\n" + "\n".join(problems)

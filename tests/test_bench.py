"""``make bench`` must keep running: each case builds and steps once (a smoke test, no timing)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import run  # noqa: E402

run.SMOKE = True  # the sequence-model cases build tiny shapes here


@pytest.mark.parametrize("name", list(run.CASES))
def test_each_case_steps_and_backpropagates(name):
    make, unit, scale = run.CASES[name]
    step, ops = make("chalkgrad", "cpu")
    step()
    step()
    assert ops >= 1 and unit in ("us/op", "ms/step") and scale > 0


def test_the_table_has_a_ratio_column_only_with_pytorch(capsys, monkeypatch):
    monkeypatch.setattr(run, "torch", None)
    monkeypatch.setattr(sys, "argv", ["run", "--only", "chain_add", "--repeat", "1"])
    run.main()
    out = capsys.readouterr().out
    assert "PyTorch is not installed" in out
    line = next(line for line in out.splitlines() if line.startswith("chain_add"))
    assert float(line.split()[2]) > 0 and "x" not in line.split()[-1]

"""``make bench`` must keep running: each case builds and steps (a smoke test, no timing)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import api_chalkgrad, run  # noqa: E402
from benchmarks.cases import CASES, Case, all_cases, register  # noqa: E402

ALL = all_cases()


@pytest.mark.parametrize("name", list(ALL))
def test_each_case_steps_in_chalkgrad_and_by_hand(name):
    case = ALL[name]
    step, args = case.build(api_chalkgrad.api(), "cpu")
    step(*args)
    step(*args)
    if case.numpy is not None:
        hand_step, hand_args = case.numpy()
        hand_step(*hand_args)
    assert case.ops >= 1 and case.unit in ("us/op", "ms/step") and case.scale > 0


@pytest.mark.parametrize("name", [n for n, c in ALL.items() if c.compilable and c.numpy])
def test_the_hand_written_step_computes_the_same_training_step(name):
    """The NumPy column is only a fair floor if it runs the same numbers."""
    case = ALL[name]
    step, args = case.build(api_chalkgrad.api(), "cpu")
    hand_step, hand_args = case.numpy()
    for _ in range(3):
        ours = float(step(*args).item())
        theirs = hand_step(*hand_args)
        np.testing.assert_allclose(ours, theirs, rtol=1e-4)


def test_a_case_name_is_registered_once():
    with pytest.raises(ValueError, match="registered twice"):
        register(Case("chain_add", "again", ALL["chain_add"].build))
    assert CASES["chain_add"] is ALL["chain_add"]


def test_without_pytorch_the_table_has_no_pytorch_column(capsys, monkeypatch, tmp_path):
    monkeypatch.setattr(run, "torch_available", lambda: False)
    out = tmp_path / "bench.json"
    rows = run.main(
        ["--only", "chain_add", "--rounds", "1", "--seconds", "0.01", "--out", str(out)]
    )
    text = capsys.readouterr().out
    assert "PyTorch is not installed" in text and "threads for every framework" in text
    line = next(line for line in text.splitlines() if line.startswith("chain_add"))
    assert "pytorch" not in line and "numpy" in line
    assert rows[0]["times"]["chalkgrad"]["median"] > 0
    assert set(rows[0]["ratios"]) == {"chalkgrad/numpy"}
    assert json.loads(out.read_text())["rows"][0]["case"] == "chain_add"

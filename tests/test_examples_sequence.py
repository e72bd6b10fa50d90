"""Smoke tests of the sequence-model examples (--quick on the CPU), checked on what they
computed."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from examples import vanishing_gradients  # noqa: E402


def run(module, tmp_path, *extra):
    return module.main(
        ["--quick", "--device", "cpu", "--out", str(tmp_path), "--no-progress", *extra]
    )


def test_char_lm_learns_below_the_uniform_guess_and_samples_names(tmp_path):
    pytest.importorskip("faker", reason="char_lm's names ship with the Faker package")
    from examples import char_lm

    result = run(char_lm, tmp_path)
    assert result["uniform_loss"] == pytest.approx(math.log(27))
    assert result["losses"][0] < result["uniform_loss"]
    assert result["losses"][-1] < result["losses"][0]
    drawn = [n for names in result["by_temperature"].values() for n in names]
    assert drawn and all(set(n) <= set("abcdefghijklmnopqrstuvwxyz") for n in drawn)
    assert any(Path(f).name.startswith("char_lm_loss") for f in result["files"])


def test_vanishing_gradients_tanh_rnn_decays_gated_paths_do_not(tmp_path):
    result = run(vanishing_gradients, tmp_path)
    ratios = result["ratios"]
    assert ratios["tanh RNN"] < 1e-6
    assert ratios["LSTM, f bias +4"] > 1e-2
    assert ratios["GRU, z bias +4"] > 1e-2
    names = {Path(f).name for f in result["files"]}
    assert "vanishing_graph_lstm.gv" in names

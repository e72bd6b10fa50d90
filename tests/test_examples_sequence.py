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

from examples import documented, vanishing_gradients  # noqa: E402


def run(module, tmp_path, *extra):
    result = module.main(
        ["--quick", "--device", "cpu", "--out", str(tmp_path), "--no-progress", *extra]
    )
    if not extra:  # the README's quick column describes the plain --quick run
        name = module.__name__.rsplit(".", 1)[-1]
        problems = documented.mismatches(name, result, "quick")
        assert not problems, "\n".join(problems)
    return result


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


def test_date_translation_quick_run_bleu_and_beam_search(tmp_path):
    pytest.importorskip("faker", reason="the dates are generated with Faker and babel")
    pytest.importorskip("babel", reason="the dates are generated with Faker and babel")
    from examples import date_translation as dt

    # The notes' BLEU example, computed by hand: p1 = 2/7 for "the" x 7, p2 = 4/6.
    checks = dt.check_bleu_against_the_notes()
    assert checks["p1('the' x 7) = 2/7"] == pytest.approx(2 / 7)
    assert dt.bleu(list("1979-05-03"), [list("1979-05-03")]) == pytest.approx(1.0)
    assert dt.bleu(list("1979-05"), [list("1979-05-03")]) < 1.0  # the brevity penalty
    pairs = dt.make_dates(5, seed=1)
    assert all(len(machine) == 10 and machine[4] == "-" for _, machine in pairs)
    result = run(dt, tmp_path, "--examples", "300")
    assert result["losses"][0] < math.log(12)  # below the uniform guess over 12 symbols
    assert 0.0 <= result["beam_exact"] <= 1.0
    assert any(Path(f).name.startswith("date_translation_loss") for f in result["files"])

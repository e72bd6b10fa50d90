"""Smoke tests of the course examples: each example's main() with --quick on the CPU, writing
into a temporary --out folder, checked on what it actually computed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("sklearn", reason="the examples' digits data ships with scikit-learn")

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `pytest` (not `python -m pytest`) does not add the root
    sys.path.insert(0, str(ROOT))

from examples import (  # noqa: E402
    batch_norm,
    common,
    ddp_train,
    demo,
    documented,
    gradient_checking,
    initialization,
    logistic_regression,
    optimizers,
    planar_classification,
    regularization,
    softmax_digits,
    visualize_graph,
)


def run(module, tmp_path, *extra):
    """The example's quick run; without extra options, also checked against the numbers that
    examples/README.md states for it (its `--quick` column)."""
    result = module.main(
        ["--quick", "--device", "cpu", "--out", str(tmp_path), "--no-progress", *extra]
    )
    if not extra:
        name = module.__name__.rpartition(".")[2]
        problems = documented.mismatches(name, result, "quick")
        assert not problems, "examples/README.md disagrees with the run:\n" + "\n".join(problems)
    return result


try:
    import matplotlib  # noqa: F401

    HAVE_MATPLOTLIB = True
except ImportError:  # the examples then write their curves as CSV, and skip the pictures
    HAVE_MATPLOTLIB = False


# Without matplotlib, curves are written as CSV files of the same name and pictures are skipped.
PICTURES = ("_boundaries.png", "_flower.png")


def expected_name(name):
    if HAVE_MATPLOTLIB or not name.endswith(".png"):
        return name
    return None if name.endswith(PICTURES) else name[: -len(".png")] + ".csv"


def assert_files(result, *names):
    written = {Path(p).name for p in result["files"]}
    names = [expected_name(n) for n in names if expected_name(n) is not None]
    for name in names:
        assert name in written, f"{name} not in {sorted(written)}"
        path = Path(next(p for p in result["files"] if Path(p).name == name))
        assert path.stat().st_size > 0


def test_logistic_regression(tmp_path):
    result = run(logistic_regression, tmp_path)
    # Autograd's gradient equals the course's dw = X^T(A - Y)/m, db = mean(A - Y).
    assert result["gradient_gap"] < 1e-12
    # A linear boundary cannot split the flower (the course: 47%); 3 vs 8 it can.
    assert 0.40 < result["flower_accuracy"] < 0.60
    assert result["test_accuracy"] > 0.9
    assert result["costs"][-1] < result["costs"][0]
    assert_files(result, "logistic_regression_cost.png", "logistic_regression_flower.png")


def test_planar_classification(tmp_path):
    result = run(planar_classification, tmp_path)
    assert result["logistic_accuracy"] == pytest.approx(0.47, abs=0.02)
    assert result["accuracy"] > result["logistic_accuracy"] + 0.3
    # One tanh unit cannot carve the petals; four can.
    assert result["sweep"][4] > result["sweep"][1] + 0.1
    assert_files(result, "planar_cost.png", "planar_boundaries.png")


def test_initialization_he_beats_zeros(tmp_path):
    result = run(initialization, tmp_path)
    zeros, he = result["results"]["zeros"], result["results"]["He"]
    # Zeros never break symmetry: the cost stays at log 2 and accuracy at chance.
    assert zeros["costs"][-1] == pytest.approx(0.6931, abs=1e-3)
    assert zeros["train"] == pytest.approx(0.5)
    assert he["train"] > zeros["train"] + 0.05
    assert he["costs"][-1] < zeros["costs"][-1]
    assert_files(result, "initialization_cost.png", "initialization_boundaries.png")


def test_regularization(tmp_path):
    result = run(regularization, tmp_path)
    for name, values in result["results"].items():
        assert values["train"] > 0.8, name
        assert values["test"] > 0.8, name
    # The L2 row's cost includes lambda/(2m) ||W||^2 on top of the same cross-entropy.
    none, l2 = result["results"]["none"], result["results"]["L2 (lambda 0.7)"]
    assert l2["costs"][0] > none["costs"][0]
    # Weight decay: the penalty keeps the weights smaller.
    assert l2["weight_norm"] < 0.8 * none["weight_norm"]
    assert_files(result, "regularization_cost.png", "regularization_boundaries.png")


def test_gradient_checking_passes_and_catches_the_bug(tmp_path):
    result = run(gradient_checking, tmp_path)
    differences = result["differences"]
    assert differences["chalkgrad layers (F.linear)"] < 1e-7
    assert differences["course backward (custom Function)"] < 1e-7
    assert differences["bug: dW2 doubled"] > 1e-2
    per_parameter = result["buggy_per_parameter"]
    assert max(per_parameter, key=per_parameter.get) == "W2"
    assert "input 1" in result["gradcheck_message"]
    assert_files(result, "gradient_checking.png")


def test_a_device_that_cannot_run_is_a_usage_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        demo.main(["--device", "tpu", "--out", str(tmp_path)])
    assert exit_info.value.code == 2
    assert "--device tpu" in capsys.readouterr().err


def test_optimizers_adam_beats_plain_gradient_descent(tmp_path):
    result = run(optimizers, tmp_path)
    accuracies = {name: r["accuracy"] for name, r in result["results"].items()}
    assert accuracies["Adam"] > accuracies["mini-batch GD"] + 0.1
    assert accuracies["GD + lr decay"] > accuracies["mini-batch GD"]
    for name, r in result["results"].items():
        assert r["costs"][-1] < r["costs"][0], name
    assert_files(result, "optimizers_cost.png", "optimizers_boundaries.png")


def test_batch_norm_trains_the_deep_net_faster(tmp_path):
    result = run(batch_norm, tmp_path)
    plain = result["results"]["without batch norm"]
    normed = result["results"]["with BatchNorm1d"]
    assert normed["test_accuracy"] > 0.9
    assert normed["test_accuracy"] > plain["test_accuracy"] + 0.2
    assert normed["train_loss"] < plain["train_loss"]
    assert_files(result, "batch_norm_cost.png")


def test_softmax_digits(tmp_path):
    result = run(softmax_digits, tmp_path)
    for name, values in result["results"].items():
        assert values["test_accuracy"] > 0.9, name
        assert values["probability_sums"] == pytest.approx([1.0] * 4, abs=1e-5)
    assert_files(result, "softmax_digits_cost.png")


def test_demo(tmp_path, capsys):
    result = run(demo, tmp_path)
    assert result["test_accuracy"] > 0.85
    assert result["reloaded_accuracy"] == result["test_accuracy"]
    assert result["max_logit_gap"] == 0.0
    assert result["costs"][-1] < result["costs"][0]
    assert_files(result, "demo_loss.png", "demo_model.ckpt", "demo_graph.gv")
    assert "digraph" in (tmp_path / "demo_graph.gv").read_text()
    out = capsys.readouterr().out
    assert "epoch  1/3" in out and "epoch  3/3" in out
    assert "identical" in out


def test_demo_without_matplotlib_or_dot(tmp_path, monkeypatch, capsys):
    # Without matplotlib the curve is a CSV; without Graphviz's dot the DOT text is still
    # written and the message says how to install it.
    monkeypatch.setattr(common, "pyplot", lambda: None)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    result = run(demo, tmp_path, "--epochs", "1")
    csv_text = (tmp_path / "demo_loss.csv").read_text().splitlines()
    assert csv_text[0] == "mini-batch,cost"
    assert len(csv_text) == 1 + len(result["costs"])
    assert (tmp_path / "demo_graph.gv").exists()
    assert not (tmp_path / "demo_graph.svg").exists()
    assert "install graphviz" in capsys.readouterr().out.lower()


def test_examples_run_as_scripts(tmp_path):
    # `python examples/NAME.py` works from any folder, not only `python -m examples.NAME`.
    script = ROOT / "examples" / "gradient_checking.py"
    done = subprocess.run(
        [sys.executable, str(script), "--out", str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "FAILS" in done.stdout and "passes" in done.stdout


def test_progress_fallback_prints(capsys):
    bar = common._PrintProgress(range(20), 20, "loop", every=10)
    seen = []
    for i in bar:
        seen.append(i)
        bar.set_postfix(cost=0.5)
    assert seen == list(range(20))
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[-1].startswith("  loop 20/20") and "cost=0.5" in lines[-1]


def test_format_table():
    text = common.format_table(["a", "bb"], [[1, 0.123456], ["xyz", "-"]])
    assert text.splitlines() == [
        "| a   | bb     |",
        "|-----|--------|",
        "| 1   | 0.1235 |",
        "| xyz | -      |",
    ]


def test_visualize_graph(tmp_path):
    result = run(visualize_graph, tmp_path)
    assert result["course"] == {"J": 33.0, "dJ/da": 3.0, "dJ/db": 6.0, "dJ/dc": 9.0}
    assert result["grad_norms"]["sigmoid"][0] < 1e-4 < result["grad_norms"]["relu_he"][0]


def test_every_example_has_documented_numbers():
    # Each test above that calls run(module) checks that example's rows of the quick column.
    modules = {p.stem for p in (ROOT / "examples").glob("*.py")} - {
        "__init__",
        "common",
        "documented",
    }
    assert set(documented.claims("quick")) == modules
    assert set(documented.claims("full")) == modules


def test_documented_numbers_parse():
    quick = documented.claims("quick")
    claim = next(c for c in quick["planar_classification"] if c.path == ("sweep", 4))
    assert claim.check(0.875) is None and claim.check(0.8755) is not None
    assert documented.Claim("x", (), "3.6e-9 ± 1e-9").check(4.5e-9) is None
    assert documented.Claim("x", (), "3.6e-9").check(3.7e-9) is not None
    assert documented.Claim("x", (), "< 50%").check(0.3) is None
    assert documented.Claim("x", (), "90.0% ± 0.5").check(0.904) is None
    assert documented.Claim("x", (), "33").check(33.4) is None


def test_ddp_train_runs_in_one_process_without_mpiexec(tmp_path, capsys):
    result = run(ddp_train, tmp_path)
    assert result["world"] == 1 and "not started by mpiexec" in capsys.readouterr().out
    assert (tmp_path / "ddp_model.ckpt").exists()

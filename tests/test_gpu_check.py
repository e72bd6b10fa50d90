"""scripts/gpu_check.py (``make gpu-check``): what can be checked of it without a GPU.

Its real run needs a GPU; here: it stops cleanly where there is none, and it reads pytest's
JUnit XML and the benchmark's JSON rows into the report it promises.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

import backends

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("gpu_check", ROOT / "scripts" / "gpu_check.py")
gpu_check = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gpu_check)


@pytest.mark.skipif(backends.cuda_available(), reason="this machine has a usable GPU")
def test_without_a_gpu_it_says_so_and_runs_nothing(tmp_path, capsys):
    assert gpu_check.main(["--out", str(tmp_path)]) == 2
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["device"]["available"] is False and report["device"]["reason"]
    assert "suite" not in report and "bench" not in report
    assert "No usable GPU" in (tmp_path / "report.md").read_text()
    assert "no usable GPU" in capsys.readouterr().out


def test_junit_summary_counts_and_names_failures(tmp_path):
    xml = tmp_path / "junit.xml"
    xml.write_text(
        '<testsuites><testsuite name="pytest">'
        '<testcase classname="tests.test_ops" name="test_a[cuda]"/>'
        '<testcase classname="tests.test_ops" name="test_b[cuda]"><failure message="x"/>'
        "</testcase>"
        '<testcase classname="tests.test_nn" name="test_c"><skipped message="s"/></testcase>'
        '<testcase classname="tests.test_nn" name="test_d"><error message="e"/></testcase>'
        "</testsuite></testsuites>"
    )
    summary = gpu_check.summarize_junit(xml)
    assert (summary["tests"], summary["passed"], summary["failures"]) == (4, 1, 1)
    assert (summary["skipped"], summary["errors"]) == (1, 1)
    assert summary["failed"] == ["tests.test_ops::test_b[cuda]", "tests.test_nn::test_d"]


def test_report_table_has_the_ratios():
    rows = [
        {
            "case": "mlp",
            "unit": "ms/step",
            "times": {"chalkgrad@cuda": {"median": 0.5}, "chalkgrad@cpu": {"median": 4.0}},
            "ratios": {"chalkgrad@cuda/chalkgrad@cpu": {"median": 0.125}},
            "errors": {},
        },
        {"case": "chain", "unit": "us/op", "times": {}, "ratios": {}, "errors": {"torch": "x"}},
    ]
    table = gpu_check.bench_table(rows)
    assert table[0]["ratios"] == {"chalkgrad@cuda/chalkgrad@cpu": 0.125}
    report = {
        "device": {
            "available": True,
            "name": "Some GPU",
            "memory_gib": 80.0,
            "compute_capability": "9.0",
            "cuda_runtime": "12.8",
            "cuda_driver": "12.8",
            "cupy": "14.2.0",
        },
        "suite": {
            "command": "pytest --device cuda",
            "tests": 3,
            "passed": 2,
            "failures": 1,
            "errors": 0,
            "skipped": 0,
            "seconds": 12.0,
            "failed": ["tests/test_ops.py::test_b[cuda]"],
        },
        "bench": table,
    }
    text = gpu_check.render_markdown(report)
    assert "Some GPU (80.0 GiB" in text and "2 passed, 1 failed" in text
    assert "- FAILED tests/test_ops.py::test_b[cuda]" in text
    assert "| mlp | ms/step | chalkgrad@cuda 0.5, chalkgrad@cpu 4 |" in text
    assert "chalkgrad@cuda/chalkgrad@cpu 0.125x" in text
    assert "| chain | us/op | - | - torch failed |" in text

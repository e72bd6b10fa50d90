"""``make gpu-check``: prove chalkgrad on a real GPU in one command, in under 10 minutes.

1. prints the device: name, memory, CUDA runtime and driver versions, CuPy's (and PyTorch's);
2. runs the whole test suite on ``cuda`` (``pytest --device cuda``): every device-generic test
   runs on the GPU, the CuPy API check included;
3. runs the benchmark on ``cuda`` (``python -m benchmarks.run --device cuda``: chalkgrad on CUDA
   against chalkgrad on the CPU and PyTorch on CUDA when installed, each in its own process);
4. writes ``report.json`` and ``report.md`` (what passed, what failed, the ratios) to ``--out``.

Exit status: 0 when every test passed and the benchmark ran, 1 otherwise, 2 when there is no
usable GPU (the report then says so and nothing else is run). The strict device that the normal
test suite runs on is a net for one class of bugs; this script is what checks the GPU itself.

Usage: python scripts/gpu_check.py [--out out/gpu-check] [--device cuda:0] [--bench-rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SUITE_TIMEOUT_S = 360  # the suite and the benchmark must fit in 10 minutes together
BENCH_TIMEOUT_S = 200


def device_info(device: str) -> dict[str, Any]:
    """What GPU this is, or {"available": False, "reason": ...} when there is none."""
    try:
        import cupy
    except ImportError as exc:
        return {"available": False, "reason": f"CuPy is not installed ({exc})"}
    info: dict[str, Any] = {"cupy": cupy.__version__, "python": platform.python_version()}
    try:
        if not cupy.is_available():
            return {**info, "available": False, "reason": "CuPy sees no CUDA device"}
        index = int(device.split(":")[1]) if ":" in device else 0
        runtime = cupy.cuda.runtime
        props = runtime.getDeviceProperties(index)
        name = props["name"]
        free, total = cupy.cuda.Device(index).mem_info
        info.update(
            available=True,
            index=index,
            name=name.decode() if isinstance(name, bytes) else str(name),
            memory_gib=round(total / 2**30, 1),
            free_gib=round(free / 2**30, 1),
            compute_capability=f"{props['major']}.{props['minor']}",
            cuda_runtime=_cuda_version(runtime.runtimeGetVersion()),
            cuda_driver=_cuda_version(runtime.driverGetVersion()),
        )
    except Exception as exc:  # a broken driver is a finding too
        return {**info, "available": False, "reason": f"{type(exc).__name__}: {exc}"}
    try:
        import numpy

        info["numpy"] = numpy.__version__
    except ImportError:
        pass
    try:
        import torch

        info["torch"] = torch.__version__
        info["torch_cuda"] = bool(torch.cuda.is_available())
    except ImportError:
        info["torch"] = None
    return info


def _cuda_version(number: int) -> str:
    return f"{number // 1000}.{(number % 1000) // 10}"


def summarize_junit(path: Path) -> dict[str, Any]:
    """Counts and the ids of failed tests from pytest's JUnit XML."""
    root = ET.parse(path).getroot()
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    failed = []
    for case in root.iter("testcase"):
        counts["tests"] += 1
        outcome = {child.tag for child in case}
        name = f"{case.get('classname', '')}::{case.get('name', '')}"
        if "failure" in outcome:
            counts["failures"] += 1
            failed.append(name)
        elif "error" in outcome:
            counts["errors"] += 1
            failed.append(name)
        elif "skipped" in outcome:
            counts["skipped"] += 1
    counts["passed"] = counts["tests"] - counts["failures"] - counts["errors"] - counts["skipped"]
    return {**counts, "failed": failed}


def run_suite(device: str, out: Path) -> dict[str, Any]:
    junit = out / "pytest-cuda.xml"
    command = [sys.executable, "-m", "pytest", "--device", device, "-q", "-p", "no:cacheprovider"]
    command += [f"--junitxml={junit}", "-rfEs"]
    start = time.perf_counter()
    result = _run(command, out / "pytest-cuda.log", SUITE_TIMEOUT_S)
    summary: dict[str, Any] = {"command": " ".join(command[1:]), "returncode": result}
    summary["seconds"] = round(time.perf_counter() - start, 1)
    if junit.exists():
        summary.update(summarize_junit(junit))
    return summary


def run_bench(device: str, out: Path, rounds: int) -> dict[str, Any]:
    path = out / f"bench-{device.replace(':', '')}.json"
    command = [sys.executable, "-m", "benchmarks.run", "--device", device, "--out", str(path)]
    command += ["--rounds", str(rounds)]
    returncode = _run(command, out / f"bench-{device.replace(':', '')}.log", BENCH_TIMEOUT_S)
    rows = json.loads(path.read_text()).get("rows", []) if path.exists() else []
    return {"command": " ".join(command[1:]), "returncode": returncode, "rows": rows}


def _run(command: list[str], log: Path, timeout: int) -> int:
    """Run with the output kept in ``log`` (its tail is shown); a timeout returns 124."""
    print("$", " ".join(command[1:]), flush=True)
    with open(log, "w") as f:
        try:
            returncode = subprocess.run(
                command, cwd=ROOT, stdout=f, stderr=subprocess.STDOUT, timeout=timeout
            ).returncode
        except subprocess.TimeoutExpired:
            returncode = 124
    if returncode == 124:
        with open(log, "a") as f:
            f.write(f"\n[gpu_check] killed after {timeout} s\n")
    print("".join(log.read_text().splitlines(keepends=True)[-30:]), flush=True)
    return returncode


def bench_table(rows: list[dict]) -> list[dict[str, Any]]:
    """One entry per case: each column's median time and each ratio's median (benchmarks.run's
    rows: ``times[label]["median"]``, ``ratios["num/den"]["median"]``, ``errors``)."""
    table = []
    for row in rows:
        times = {k: v.get("median") for k, v in row.get("times", {}).items()}
        ratios = {k: v.get("median") for k, v in row.get("ratios", {}).items()}
        table.append(
            {
                "case": row.get("case"),
                "unit": row.get("unit"),
                "times": times,
                "ratios": ratios,
                "errors": row.get("errors", {}),
            }
        )
    return table


def render_markdown(report: dict[str, Any]) -> str:
    info = report["device"]
    lines = ["# chalkgrad GPU check", ""]
    if not info.get("available"):
        lines += [f"No usable GPU: {info.get('reason')}. Nothing was run.", ""]
        return "\n".join(lines)
    lines.append(
        f"{info['name']} ({info['memory_gib']} GiB, compute {info['compute_capability']}), "
        f"CUDA runtime {info['cuda_runtime']} / driver {info['cuda_driver']}, "
        f"CuPy {info['cupy']}, NumPy {info.get('numpy')}, PyTorch {info.get('torch') or '-'}"
    )
    suite = report.get("suite", {})
    lines += ["", "## Test suite on cuda", ""]
    if "tests" in suite:
        lines.append(
            f"{suite['passed']} passed, {suite['failures']} failed, {suite['errors']} errors, "
            f"{suite['skipped']} skipped in {suite['seconds']} s (`{suite['command']}`)"
        )
        lines += [f"- FAILED {name}" for name in suite["failed"]]
    else:
        lines.append(f"the suite did not report (return code {suite.get('returncode')})")
    lines += ["", "## Benchmarks on cuda (median; a ratio < 1 means chalkgrad is faster)", ""]
    lines.append("| case | unit | times | ratios |")
    lines.append("|---|---|---|---|")
    for row in report.get("bench", []):
        times = ", ".join(f"{k} {_cell(v)}" for k, v in row["times"].items()) or "-"
        ratios = ", ".join(f"{k} {_cell(v, 'x')}" for k, v in row["ratios"].items()) or "-"
        failed = "; ".join(f"{k} failed" for k in row["errors"])
        lines.append(f"| {row['case']} | {row['unit']} | {times} | {ratios} {failed} |")
    lines.append("")
    return "\n".join(lines)


def _cell(value: Any, suffix: str = "") -> str:
    return "-" if value is None else f"{value:.3g}{suffix}"


def write_reports(report: dict[str, Any], out: Path) -> None:
    (out / "report.json").write_text(json.dumps(report, indent=2))
    (out / "report.md").write_text(render_markdown(report))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="out/gpu-check")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--bench-rounds", type=int, default=3)
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"device": device_info(args.device)}
    print(json.dumps(report["device"], indent=2), flush=True)
    if not report["device"].get("available"):
        write_reports(report, out)
        print(f"gpu-check: no usable GPU ({report['device']['reason']}); see {out}/report.md")
        return 2
    env_device = os.environ.get("CHALKGRAD_TEST_DEVICE")
    if env_device:
        print(f"note: CHALKGRAD_TEST_DEVICE={env_device} is overridden by --device {args.device}")
    report["suite"] = run_suite(args.device, out)
    bench = run_bench(args.device, out, args.bench_rounds)
    report["bench_run"] = {k: v for k, v in bench.items() if k != "rows"}
    report["bench"] = bench_table(bench["rows"])
    write_reports(report, out)
    print(render_markdown(report))
    suite = report["suite"]
    ok = suite.get("returncode") == 0 and bench["returncode"] == 0
    print(f"gpu-check: {'passed' if ok else 'FAILED'}; report in {out}/report.md and report.json")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

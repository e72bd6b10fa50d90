"""``make bench``: chalkgrad's step times against PyTorch and a hand-written NumPy step.

Every framework runs every case in a process of its own, and the processes alternate (A, B, C,
A, B, C ... for ``--rounds`` rounds), all with the same thread settings (printed in the header):
two thread pools in one process fight over the cores and flatter or hurt whoever runs second.
Inside a process the first calls are warm-up; a process reports the median of its samples. The
table shows the median over rounds with the [min-max] spread, and each ratio is the median of the
per-round ratios (< 1: chalkgrad is faster). The rows and a plot go to ``--out`` (JSON and PNG).

Columns on the CPU: chalkgrad (eager, and ``A.compile``d for the training steps), PyTorch (when
installed) and the same step written by hand in plain NumPy. With ``--device cuda``: chalkgrad on
CUDA (eager and compiled) against chalkgrad on the CPU and PyTorch on CUDA.
Cases live in ``benchmarks/cases/`` (see its docstring to add one).

Usage: python -m benchmarks.run [--device cpu|cuda] [--rounds N] [--only a,b] [--out PATH]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .cases import Case, all_cases

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Column:
    framework: str  # chalkgrad, torch or numpy
    device: str
    compiled: bool = False

    @property
    def label(self) -> str:
        name = {"chalkgrad": "chalkgrad", "torch": "pytorch", "numpy": "numpy"}[self.framework]
        if self.compiled:
            name += "+compile"
        return name if self.device == "cpu" else f"{name}@{self.device}"


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def torch_available() -> bool:
    return importlib.util.find_spec("torch") is not None


def compile_available() -> bool:
    import autograd

    return hasattr(autograd, "compile")


def columns_for(case: Case, device: str, with_torch: bool) -> list[Column]:
    """The processes one round of ``case`` runs; the first is the reference of every ratio."""
    cols = [Column("chalkgrad", device)]
    if case.compilable and compile_available():
        cols.append(Column("chalkgrad", device, compiled=True))
    if device != "cpu":
        cols.append(Column("chalkgrad", "cpu"))
    if with_torch:
        cols.append(Column("torch", device))
    if case.numpy is not None and device == "cpu":
        cols.append(Column("numpy", "cpu"))
    return cols


def same_malloc_env() -> dict:
    """glibc's variables for the settings chalkgrad's CPU backend applies to itself
    (``backends.host_memory``): with ``--same-malloc`` every framework's process gets them."""
    from backends.host_memory import SETTINGS

    return {name: str(value) for name, (_, value) in SETTINGS.items()}


def run_worker(
    case: str, col: Column, threads: int, seconds: float, extra_env: dict | None = None
) -> float:
    """One process: the median seconds per op of ``case`` under ``col``."""
    env = dict(os.environ)
    env.update(extra_env or {})
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        env[var] = str(threads)
    cmd = [sys.executable, "-m", "benchmarks.worker", case, col.framework, col.device]
    cmd += ["--threads", str(threads), "--seconds", str(seconds)]
    if col.compiled:
        cmd.append("--compiled")
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise RuntimeError(f"{col.label} failed on {case}: {last}")
    return json.loads(proc.stdout.strip().splitlines()[-1])["median"]


def run_case(
    case: Case, device: str, rounds: int, threads: int, seconds: float,
    extra_env: dict | None = None,
) -> dict:  # fmt: skip
    with_torch = torch_available()
    cols = columns_for(case, device, with_torch)
    per_round: dict[str, list[float]] = {c.label: [] for c in cols}
    errors: dict[str, str] = {}
    for _ in range(rounds):
        for col in cols:  # A, B, C, A, B, C: a busy neighbour hits every column alike
            if col.label in errors:
                continue
            try:
                per_round[col.label].append(run_worker(case.name, col, threads, seconds, extra_env))
            except (RuntimeError, subprocess.TimeoutExpired) as exc:
                errors[col.label] = str(exc)
    times = {}
    for label, values in per_round.items():
        if label not in errors and values:
            scaled = [v * case.scale for v in values]
            times[label] = {
                "median": statistics.median(scaled),
                "min": min(scaled),
                "max": max(scaled),
                "rounds": scaled,
            }
    ratios = {}
    chalkgrad_labels = [c.label for c in cols if c.framework == "chalkgrad" and c.device == device]
    for num in chalkgrad_labels:
        for col in cols:
            den = col.label
            if den in chalkgrad_labels or num not in times or den not in times:
                continue
            each = [a / b for a, b in zip(per_round[num], per_round[den])]
            ratios[f"{num}/{den}"] = {
                "median": statistics.median(each),
                "min": min(each),
                "max": max(each),
            }
    return {
        "case": case.name,
        "doc": case.doc,
        "unit": case.unit,
        "columns": [c.label for c in cols],
        "times": times,
        "ratios": ratios,
        "errors": errors,
    }


def format_rows(row: dict, device: str) -> list[str]:
    """One line per chalkgrad variant: its time, then each other column's time and the ratio."""
    times, ratios = row["times"], row["ratios"]
    lines = []
    for num in [c for c in row["columns"] if c.split("@")[0].startswith("chalkgrad")]:
        if (device != "cpu") != ("@" in num):
            continue
        name = row["case"] + (" +compile" if "compile" in num else "")
        if num not in times:
            lines.append(f"{name:<24} {row['unit']:<8} failed: {row['errors'].get(num, '?')}")
            continue
        t = times[num]
        line = f"{name:<24} {row['unit']:<8} {t['median']:>9.3f} [{t['min']:.3g}-{t['max']:.3g}]"
        for den in row["columns"]:
            key = f"{num}/{den}"
            if key in ratios:
                r = ratios[key]
                line += f" | {den} {times[den]['median']:.3f} {r['median']:.2f}x"
                line += f" [{r['min']:.2f}-{r['max']:.2f}]"
        lines.append(line)
    for den, message in row["errors"].items():
        if not den.startswith("chalkgrad"):
            lines.append(f"{'':<24} {den} failed: {message}")
    return lines


def plot(rows: list[dict], path: Path) -> Path | None:
    """A bar chart of the ratios (log scale, 1.0 marked) with their spread over rounds."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot (pip install matplotlib)")
        return None
    labels, values, low, high = [], [], [], []
    for row in rows:
        for key, r in row["ratios"].items():
            labels.append(f"{row['case']}\n{key}")
            values.append(r["median"])
            low.append(r["median"] - r["min"])
            high.append(r["max"] - r["median"])
    if not values:
        return None
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(values) + 1.2))
    y = np.arange(len(values))
    ax.barh(y, values, xerr=[low, high], color="tab:blue", alpha=0.8, capsize=3)
    ax.axvline(1.0, color="black", linewidth=1)
    ax.set_xscale("log")
    ax.set_yticks(y, labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("time ratio (median of per-round ratios; < 1: chalkgrad faster)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=0.25, help="of samples per process")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--only", default=None, help="comma-separated case names")
    parser.add_argument("--out", default=None, help="JSON path (default out/bench/DEVICE.json)")
    parser.add_argument(
        "--same-malloc",
        action="store_true",
        help="give every framework's process the glibc malloc settings that chalkgrad's CPU "
        "backend applies to itself (backends/host_memory.py); default: each as it ships",
    )
    args = parser.parse_args(argv)
    device = "cpu" if args.device == "cpu" else args.device
    cases = all_cases()
    names = args.only.split(",") if args.only else list(cases)
    unknown = [n for n in names if n not in cases]
    if unknown:
        parser.error(f"unknown case(s) {', '.join(unknown)}; known: {', '.join(cases)}")
    with_torch = torch_available()
    print(
        f"chalkgrad benchmark on {device}: {cpu_name()} ({os.cpu_count()} cores), "
        f"numpy {np.__version__}, python {platform.python_version()}\n"
        f"{args.threads} threads for every framework (OMP/OpenBLAS/MKL_NUM_THREADS, "
        f"torch.set_num_threads); one process per framework and case, {args.rounds} rounds "
        f"alternating, warm-up excluded; median [min-max] over rounds; ratio = median of "
        f"per-round ratios (< 1: chalkgrad faster)"
    )
    extra_env = same_malloc_env() if args.same_malloc else {}
    if args.same_malloc:
        settings = " ".join(f"{k}={v}" for k, v in extra_env.items())
        print(f"host allocator: every process runs with {settings}")
    else:
        from backends import host_memory  # the workers see the same environment as this process

        print(
            f"host allocator: each framework as it ships (chalkgrad's CPU backend: "
            f"{host_memory.state}, backends/host_memory.py; PyTorch and NumPy: glibc's "
            f"defaults; --same-malloc gives every process chalkgrad's settings)"
        )
    if not with_torch:
        print("PyTorch is not installed: no PyTorch column (pip install torch to compare)")
    rows = []
    for name in names:
        row = run_case(cases[name], device, args.rounds, args.threads, args.seconds, extra_env)
        rows.append(row)
        for line in format_rows(row, device):
            print(line, flush=True)
    out = Path(args.out) if args.out else ROOT / "out" / "bench" / f"{device.replace(':', '')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "device": device,
        "threads": args.threads,
        "rounds": args.rounds,
        "torch": with_torch,
        "same_malloc": args.same_malloc,
    }
    out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    picture = plot(rows, out.with_suffix(".png"))
    print(f"rows written to {out}" + (f", plot to {picture}" if picture else ""))
    return rows


if __name__ == "__main__":
    main()

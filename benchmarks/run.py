"""``make bench``: chalkgrad's step times, side by side with PyTorch when it is installed.

Each case runs chalkgrad and PyTorch alternately (A, B, A, B, ...) in this one process, so a noisy
neighbour hits both alike, and reports medians and the ratio chalkgrad / PyTorch (< 1 is faster).
Usage: python -m benchmarks.run [--device cpu|cuda] [--repeat N] [--only NAME] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import numpy as np

import autograd as A
import backends

try:
    import torch
except ImportError:  # the benchmark still runs, without the PyTorch column
    torch = None


# ----------------------------------------------------------------------------- the cases
def _api(lib: str) -> SimpleNamespace:
    """The same names from either library: each case below is written once, for both."""
    if lib == "chalkgrad":
        import nn
        import nn.functional as F
        import optim

        return SimpleNamespace(tensor=A.tensor, nn=nn, F=F, optim=optim, manual_seed=A.manual_seed)
    return SimpleNamespace(
        tensor=torch.tensor,
        nn=torch.nn,
        F=torch.nn.functional,
        optim=torch.optim,
        manual_seed=torch.manual_seed,
    )


def chain_add(lib: str, device: str) -> tuple[Callable, int]:
    """1,000 chained adds that share one leaf (y = y + x), then backward: per-op overhead."""
    n = 1000
    x = _api(lib).tensor([1.0], device=device, requires_grad=True)

    def step() -> None:
        y = x
        for _ in range(n):
            y = y + x
        y.backward()
        x.grad = None

    return step, n


def chain_unary(lib: str, device: str) -> tuple[Callable, int]:
    """1,000 chained ops on one value (y = (y * 0.999).tanh() ...), then backward."""
    n = 1000
    x = _api(lib).tensor([0.3], device=device, requires_grad=True)

    def step() -> None:
        y = x
        for _ in range(n // 2):
            y = (y * 0.999).tanh()
        y.backward()
        x.grad = None

    return step, n


def matmul_chain(lib: str, device: str) -> tuple[Callable, int]:
    """Ten 64x64 matmuls with tanh in between, then backward (small dense ops)."""
    api = _api(lib)
    rng = np.random.default_rng(0)
    weights = [rng.standard_normal((64, 64), dtype=np.float32) * 0.1 for _ in range(10)]
    ws = [api.tensor(w, device=device, requires_grad=True) for w in weights]
    x = api.tensor(rng.standard_normal((32, 64), dtype=np.float32), device=device)

    def step() -> None:
        h = x
        for w in ws:
            h = (h @ w).tanh()
        h.sum().backward()
        for w in ws:
            w.grad = None

    return step, 1


def _circles(n: int = 300) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    radius = np.where(np.arange(n) % 2 == 0, 1.0, 0.5)
    angle = rng.uniform(0, 2 * np.pi, n)
    x = np.stack([radius * np.cos(angle), radius * np.sin(angle)], 1) + rng.normal(0, 0.05, (n, 2))
    y = (radius > 0.75).astype(np.float32)[:, None]
    return x.astype(np.float32), y


def _training_step(model: Any, opt: Any, loss_fn: Callable, x: Any, y: Any) -> Callable:
    def step() -> None:
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()

    return step


def course_net(lib: str, device: str) -> tuple[Callable, int]:
    """The course's 3-layer net (2-20-7-1, ReLU, sigmoid + BCE) on 300 circle points, SGD step."""
    api = _api(lib)
    nn = api.nn
    x0, y0 = _circles()
    api.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 20), nn.ReLU(), nn.Linear(20, 7), nn.ReLU(), nn.Linear(7, 1))
    model.to(device)
    opt = api.optim.SGD(model.parameters(), lr=0.1)
    x, y = api.tensor(x0, device=device), api.tensor(y0, device=device)
    return _training_step(model, opt, api.F.binary_cross_entropy_with_logits, x, y), 1


def mlp_784(lib: str, device: str) -> tuple[Callable, int]:
    """MLP 784-512-256-10 (ReLU), batch 128, cross-entropy, SGD with momentum: BLAS-bound."""
    api = _api(lib)
    nn = api.nn
    rng = np.random.default_rng(0)
    x = api.tensor(rng.standard_normal((128, 784), dtype=np.float32), device=device)
    y = api.tensor(rng.integers(0, 10, 128), device=device)
    model = nn.Sequential(
        nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 10)
    ).to(device)
    opt = api.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    return _training_step(model, opt, api.F.cross_entropy, x, y), 1


def sort_scatter(lib: str, device: str) -> tuple[Callable, int]:
    """sort, topk and scatter_add over a (256, 1024) batch, then backward: the array library's
    sort and the backend's scatter-add (issue 13's indexing and sorting ops)."""
    api = _api(lib)
    rng = np.random.default_rng(0)
    data = rng.standard_normal((256, 1024)).astype(np.float32)
    x = api.tensor(data, device=device, requires_grad=True)
    index = api.tensor(rng.integers(0, 64, size=(256, 1024)), device=device)

    def step() -> None:
        ordered = x.sort(dim=-1).values
        top = x.topk(32, dim=-1).values
        pooled = x.new_zeros(256, 64).scatter_add(1, index, ordered)
        (pooled.sum() + top.sum()).backward()
        x.grad = None

    return step, 1


CASES = {
    "chain_add": (chain_add, "us/op", 1e6),
    "chain_unary": (chain_unary, "us/op", 1e6),
    "matmul_chain": (matmul_chain, "ms/step", 1e3),
    "course_net_300": (course_net, "ms/step", 1e3),
    "mlp_784_b128": (mlp_784, "ms/step", 1e3),
    "sort_scatter": (sort_scatter, "ms/step", 1e3),
}


# ---------------------------------------------------------------------------- the harness
def _sync(lib: str, device: str) -> None:
    if device == "cpu":
        return
    if lib == "chalkgrad":
        backends.get_backend(device).synchronize()
    else:
        torch.cuda.synchronize()


def _time_once(step: Callable, lib: str, device: str, inner: int) -> float:
    _sync(lib, device)
    start = time.perf_counter()
    for _ in range(inner):
        step()
    _sync(lib, device)
    return (time.perf_counter() - start) / inner


def run_case(name: str, device: str, repeat: int) -> dict:
    make, unit, scale = CASES[name]
    libs = ["chalkgrad"] + (["torch"] if torch is not None else [])
    steps = {}
    for lib in libs:
        step, ops = make(lib, "cuda" if device.startswith("cuda") and lib == "torch" else device)
        for _ in range(3):  # warm-up: caches, allocator pools, lazy state
            step()
        steps[lib] = (step, ops)
    inner = max(1, int(0.05 / max(_time_once(steps["chalkgrad"][0], "chalkgrad", device, 1), 1e-6)))
    samples: dict = {lib: [] for lib in libs}
    for _ in range(repeat):
        for lib in libs:  # alternate A, B, A, B: a busy neighbour hits both alike
            step, ops = steps[lib]
            samples[lib].append(_time_once(step, lib, device, inner) / ops)
    row = {"case": name, "unit": unit}
    for lib in libs:
        row[lib] = statistics.median(samples[lib]) * scale
    if torch is not None:
        row["ratio"] = row["chalkgrad"] / row["torch"]
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--only", default=None, help="comma-separated case names")
    parser.add_argument("--json", default=None, help="also write the rows to this file")
    args = parser.parse_args()
    names = args.only.split(",") if args.only else list(CASES)
    versions = f"numpy {np.__version__}" + (f", torch {torch.__version__}" if torch else "")
    print(
        f"chalkgrad benchmark on {args.device} ({versions}); median of {args.repeat}, alternating"
    )
    if torch is None:
        print("PyTorch is not installed: chalkgrad column only (pip install torch to compare)")
    header = f"{'case':<16} {'unit':<8} {'chalkgrad':>10}"
    if torch is not None:
        header += f" {'pytorch':>10} {'ratio':>7}"
    print(header)
    rows = []
    for name in names:
        try:
            row = run_case(name, args.device, args.repeat)
        except ImportError as exc:
            print(f"{name:<16} skipped ({exc})")
            continue
        rows.append(row)
        line = f"{name:<16} {row['unit']:<8} {row['chalkgrad']:>10.3f}"
        if torch is not None:
            line += f" {row['torch']:>10.3f} {row['ratio']:>6.2f}x"
        print(line, flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()

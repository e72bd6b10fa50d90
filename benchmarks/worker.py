"""One framework timing one case, in a process of its own (started by ``benchmarks.run``).

Prints one JSON line: the per-sample step times in seconds (warm-up excluded) and their median.
Usage: python -m benchmarks.worker CASE FRAMEWORK DEVICE [--compiled] [--threads N] [--seconds S]
FRAMEWORK is chalkgrad, torch or numpy. Thread counts come from the environment the runner sets
(OMP/OpenBLAS/MKL) and, for PyTorch, ``torch.set_num_threads``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import statistics
import time
from collections.abc import Callable

from .cases import all_cases


def _noop(device: str) -> None:
    pass


def measure(
    step: Callable,
    args: tuple,
    sync: Callable[[str], None],
    device: str,
    seconds: float,
    ops: int = 1,
    warmup: int = 5,
) -> list[float]:
    """Seconds per op of ``step(*args)``: warm-up calls first, then ~``seconds`` of samples.

    Each sample runs enough calls to last about 10 ms (timer resolution, loop overhead).
    """
    for _ in range(warmup):  # caches, allocator pools, lazy state, a compiled step's recording
        step(*args)
    sync(device)
    start = time.perf_counter()
    step(*args)
    sync(device)
    once = max(time.perf_counter() - start, 1e-7)
    inner = max(1, int(0.01 / once))
    samples: list[float] = []
    deadline = time.perf_counter() + seconds
    while len(samples) < 5 or (time.perf_counter() < deadline and len(samples) < 200):
        start = time.perf_counter()
        for _ in range(inner):
            step(*args)
        sync(device)
        samples.append((time.perf_counter() - start) / inner / ops)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("case")
    parser.add_argument("framework", choices=["chalkgrad", "torch", "numpy"])
    parser.add_argument("device")
    parser.add_argument("--compiled", action="store_true")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--seconds", type=float, default=0.3)
    args = parser.parse_args()
    case = all_cases()[args.case]
    if args.framework == "numpy":
        step, step_args = case.numpy()
        sync = _noop
    else:
        side = importlib.import_module(f"benchmarks.api_{args.framework}")
        if args.threads:
            side.set_threads(args.threads)
        step, step_args = case.build(side.api(), args.device)
        if args.compiled:
            step = side.compile_step(step)
        sync = side.synchronize
    samples = measure(step, step_args, sync, args.device, args.seconds, case.ops)
    print(json.dumps({"median": statistics.median(samples), "samples": samples}))


if __name__ == "__main__":
    main()

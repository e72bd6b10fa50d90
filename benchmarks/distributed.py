"""Data-parallel measurements, run under MPI: ``mpiexec -n N python -m benchmarks.distributed``.

Prints (rank 0) and writes ``--json``:

- the all-reduce bus bandwidth against message size (float32 buffers, in place), with NCCL
  tests' convention: algorithm bandwidth = bytes / time, bus bandwidth = that * 2 (N - 1) / N;
- the time of one DDP training step of the MLP 784-512-256-10 at 128 samples per rank (weak
  scaling: the global batch grows with N), whose efficiency against N = 1 is t_1 / t_N.

Run it once with ``-n 1`` and once with ``-n 2`` (``make bench-ddp`` does both).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import autograd as A
import autograd.distributed as dist
import nn
import nn.functional as F
import optim


def allreduce_bandwidth(sizes, repeats):
    world = dist.get_world_size()
    rows = []
    for nbytes in sizes:
        t = A.ones(nbytes // 4)
        dist.all_reduce(t)  # warm-up
        times = []
        for _ in range(repeats):
            dist.barrier()
            start = time.perf_counter()
            dist.all_reduce(t)
            times.append(time.perf_counter() - start)
        seconds = statistics.median(times)
        algbw = nbytes / seconds / 1e9
        rows.append({"bytes": nbytes, "seconds": seconds, "algbw_GBps": algbw,
                     "busbw_GBps": algbw * 2 * (world - 1) / world})  # fmt: skip
    return rows


def ddp_step_time(steps, device):
    A.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(),
                          nn.Linear(256, 10)).to(device)  # fmt: skip
    ddp = nn.parallel.DistributedDataParallel(model)
    opt = optim.SGD(ddp.parameters(), lr=0.01, momentum=0.9)
    x = A.randn(128, 784, device=device)
    y = A.randint(0, 10, (128,), device=device)
    times = []
    for i in range(steps + 5):
        dist.barrier()
        start = time.perf_counter()
        opt.zero_grad()
        F.cross_entropy(ddp(x), y).backward()
        opt.step()
        x.backend.synchronize()  # GPU work is asynchronous: time it to the end
        if i >= 5:
            times.append(time.perf_counter() - start)
    return statistics.median(times), min(times), max(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="mpi")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    dist.init_process_group(args.backend)
    world = dist.get_world_size()
    sizes = [2**k for k in range(10, 27, 2)]  # 1 KiB .. 64 MiB
    bandwidth = allreduce_bandwidth(sizes, repeats=10) if world > 1 else []
    median, low, high = ddp_step_time(args.steps, args.device)
    if dist.get_rank() == 0:
        print(f"world size {world}, backend {args.backend}, device {args.device}")
        for row in bandwidth:
            print(f"  all_reduce {row['bytes'] / 1024:>9.0f} KiB: {row['seconds'] * 1e3:8.3f} ms, "
                  f"bus bandwidth {row['busbw_GBps']:.2f} GB/s")  # fmt: skip
        print(f"  DDP MLP step (128 samples a rank): median {median * 1e3:.2f} ms "
              f"[{low * 1e3:.2f}, {high * 1e3:.2f}]")  # fmt: skip
        if args.json:
            Path(args.json).parent.mkdir(parents=True, exist_ok=True)
            Path(args.json).write_text(json.dumps({
                "world_size": world, "backend": args.backend, "device": args.device,
                "allreduce": bandwidth,
                "ddp_mlp_step_seconds": {"median": median, "min": low, "max": high},
            }, indent=2))  # fmt: skip
    dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Data-parallel training (``DistributedDataParallel``) on the digits, one process per rank.

    mpiexec -n 2 python -m examples.ddp_train                 # CPUs, over MPI
    mpiexec -n 2 python -m examples.ddp_train --backend nccl --device cuda   # GPUs, over NCCL
    python -m examples.ddp_train --single                     # the same run in one process

Each rank reads its share of every epoch through ``DistributedSampler`` (``set_epoch``
reshuffles), computes its part of each global batch of 128, and ``DistributedDataParallel``
averages the gradients, so every rank takes the same Adam step. ``--sync-bn`` turns the
BatchNorm layers into ``SyncBatchNorm`` (statistics over the global batch). Rank 0 alone prints,
evaluates and writes the checkpoint (``autograd.save`` writes a temporary file and renames it,
so a crash never leaves half a checkpoint), which loads into the plain model. ``--timeline``
saves a picture of when each gradient bucket became ready and when its all-reduce ran.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import autograd as A
import autograd.distributed as dist
import nn
import nn.functional as F
import optim
from autograd.data import DataLoader, DistributedSampler, TensorDataset, random_split
from autograd.data.datasets import load_digits
from examples import common


def make_model(device=None):
    """An MLP with BatchNorm. Shape: (N, 64) pixels -> (N, 10) logits."""
    return nn.Sequential(
        nn.Linear(64, 256, device=device),
        nn.BatchNorm1d(256, device=device),
        nn.ReLU(),
        nn.Linear(256, 128, device=device),
        nn.BatchNorm1d(128, device=device),
        nn.ReLU(),
        nn.Linear(128, 10, device=device),
    )


def main(argv=None):
    parser = common.make_parser(__doc__.splitlines()[0])
    parser.add_argument("--backend", default="mpi", choices=["mpi", "nccl"])
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=128, help="the global batch")
    parser.add_argument("--sync-bn", action="store_true")
    parser.add_argument("--single", action="store_true", help="no process group: one process")
    parser.add_argument("--timeline", action="store_true")
    args = common.parse_args(parser, argv)
    out = Path(args.out)
    if not args.single and args.backend == "mpi" and not _launched_by_mpiexec():
        print("not started by mpiexec: training in this one process (as --single)")
        args.single = True
    if not args.single:
        dist.init_process_group(args.backend)
    rank = max(dist.get_rank(), 0)
    world = max(dist.get_world_size(), 1)
    device = args.device
    if device == "cuda" and args.backend == "nccl":
        device = f"cuda:{rank % max(1, _gpus())}"

    X, y = load_digits()
    data = TensorDataset(A.tensor(X / 16.0, dtype=A.float32), A.tensor(y))
    train, test = random_split(data, [1437, 360], generator=0)
    A.manual_seed(0)  # every rank builds the same model (DDP would broadcast rank 0's anyway)
    model = make_model(device)
    if args.sync_bn:
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    ddp = model if args.single else nn.parallel.DistributedDataParallel(model, bucket_cap_mb=0.1)
    if args.timeline and not args.single:
        ddp.timeline = []
    opt = optim.Adam(ddp.parameters(), lr=2e-3)
    per_rank = args.batch_size // world
    sampler = None if args.single else DistributedSampler(train, seed=0, drop_last=True)
    loader = DataLoader(train, batch_size=per_rank, sampler=sampler, shuffle=sampler is None,
                        drop_last=True, device=device)  # fmt: skip
    epochs = 1 if args.quick else args.epochs
    phases = []
    start = time.perf_counter()
    for epoch in range(epochs):
        if sampler is not None:
            sampler.set_epoch(epoch)
        model.train()
        total, batches = 0.0, 0
        for xb, yb in loader:
            t0 = time.perf_counter()
            opt.zero_grad()
            loss = F.cross_entropy(ddp(xb), yb)
            t1 = time.perf_counter()
            loss.backward()
            t2 = time.perf_counter()
            opt.step()
            phases.append((t0, t1, t2, time.perf_counter()))
            total += loss.item()
            batches += 1
        if rank == 0:
            print(f"epoch {epoch + 1}: mean training cost on rank 0's shards {total / batches:.4f}")
    elapsed = time.perf_counter() - start
    accuracy = evaluate(model, test, device)
    if rank == 0:
        print(f"{world} process(es), {per_rank} samples each per step: test accuracy "
              f"{100 * accuracy:.1f}% after {epochs} epochs, {elapsed:.2f} s")  # fmt: skip
        out.mkdir(parents=True, exist_ok=True)
        path = out / "ddp_model.ckpt"
        A.save(model.state_dict(), path)
        plain = make_model(device)
        plain.load_state_dict(A.load(path))
        print(f"checkpoint {path} loads into the plain model: test accuracy "
              f"{100 * evaluate(plain, test, device):.1f}%")  # fmt: skip
        if args.timeline and not args.single:
            draw_timeline(ddp.timeline, phases, out / "ddp_timeline.png")
    if not args.single:
        dist.destroy_process_group()
    return {"accuracy": accuracy, "world": world}


def evaluate(model, data, device):
    model.eval()
    correct = 0
    with A.no_grad():
        for xb, yb in DataLoader(data, batch_size=512, device=device):
            correct += int((model(xb).argmax(1) == yb).sum().item())
    return correct / len(data)


def _launched_by_mpiexec():
    import os

    return any(k in os.environ for k in ("PMI_RANK", "OMPI_COMM_WORLD_RANK", "PMIX_RANK"))


def _gpus():
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount()
    except Exception:
        return 1


def draw_timeline(events, phases, path):
    """One training step of rank 0: forward, backward, optimizer, and each bucket's all-reduce."""
    plt = common.pyplot()
    if plt is None or not phases:
        return
    t0, t1, t2, t3 = phases[-1]
    fig, ax = plt.subplots(figsize=(8, 2.8))
    for row, (label, a, b, color) in enumerate(
        [
            ("forward", t0, t1, "tab:blue"),
            ("backward", t1, t2, "tab:orange"),
            ("optimizer", t2, t3, "tab:green"),
        ]  # fmt: skip
    ):
        ax.barh(row, (b - a) * 1e3, left=(a - t0) * 1e3, color=color)
        ax.text((a - t0) * 1e3, row, f" {label}", va="center", fontsize=8)
    last = [e for e in events if t1 <= e[2] <= t3]
    starts = {b: t for ev, b, t in last if ev == "start"}
    for ev, b, t in last:
        if ev == "done" and b in starts:
            ax.barh(3 + b, (t - starts[b]) * 1e3, left=(starts[b] - t0) * 1e3, color="tab:red")
            ax.text((starts[b] - t0) * 1e3, 3 + b, f" bucket {b} all-reduce", va="center",
                    fontsize=8)  # fmt: skip
    ax.set_xlabel("ms since the step began (rank 0)")
    ax.set_yticks([])
    ax.set_title("One DDP step: each bucket's all-reduce starts once its gradients are in")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"timeline saved to {path}")


if __name__ == "__main__":
    main()

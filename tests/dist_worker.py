"""The rank side of tests/test_distributed.py, started by ``mpiexec -n 2``.

``python tests/dist_worker.py SCENARIO OUTDIR``: 'main' runs every equivalence scenario and
writes rank 0's results to OUTDIR/results.npz; 'raise' and 'timeout' fail on purpose.
"""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dist_models import small_cnn  # noqa: E402

import autograd as A  # noqa: E402
import autograd.distributed as dist  # noqa: E402
import nn  # noqa: E402
import optim  # noqa: E402
from nn.parallel import DistributedDataParallel as DDP  # noqa: E402


def batch(seed, n=8, features=4):
    rng = np.random.default_rng(seed)
    return (
        A.tensor(rng.standard_normal((n, features)).astype(np.float32)),
        A.tensor(rng.standard_normal((n, 2)).astype(np.float32)),
    )


def mlp(bn=False):
    A.manual_seed(100 + dist.get_rank())  # a different init per rank: DDP must take rank 0's
    layers = [nn.Linear(4, 6)]
    if bn:
        layers.append(nn.BatchNorm1d(6))
    layers += [nn.Tanh(), nn.Linear(6, 2)]
    return nn.Sequential(*layers)


def train(model, steps=3, sync_bn=False, cap=0.0001):
    if sync_bn:
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    ddp = DDP(model, bucket_cap_mb=cap)
    opt = optim.SGD(ddp.parameters(), lr=0.1, momentum=0.9)
    r, n = dist.get_rank(), dist.get_world_size()
    for step in range(steps):
        x, y = batch(step)
        half = x.shape[0] // n
        opt.zero_grad()
        loss = ((ddp(x[r * half : (r + 1) * half]) - y[r * half : (r + 1) * half]) ** 2).mean()
        loss.backward()
        opt.step()
    return model


def state(prefix, model, out):
    for k, v in model.state_dict().items():
        out[f"{prefix}/{k}"] = v.numpy()


def main_scenarios(outdir):
    out = {}
    r = dist.get_rank()
    state("mlp", train(mlp()), out)
    state("bn_plain", train(mlp(bn=True)), out)
    state("bn_sync", train(mlp(bn=True), sync_bn=True), out)
    state("cnn_plain", train(small_cnn(100 + r)), out)
    state("cnn_sync", train(small_cnn(100 + r), sync_bn=True), out)
    out["mlp_buckets"] = np.array(len(DDP(mlp(), bucket_cap_mb=0.0001)._buckets))

    # no_sync: two micro-batches accumulate locally, the third reduces the sum.
    model = mlp()
    ddp = DDP(model)
    x, y = batch(7)
    for i in range(3):
        part = slice(r * 4 + i, r * 4 + i + 1)
        ctx = ddp.no_sync() if i < 2 else _null()
        with ctx:
            ((ddp(x[part]) - y[part]) ** 2).sum().backward()
    out["no_sync/grad"] = model[0].weight.grad.numpy()

    # find_unused_parameters: a head used only on rank 0.
    class TwoHeads(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Linear(4, 3)
            self.head = nn.Linear(3, 1)

        def forward(self, x, use_head):
            h = self.body(x)
            return self.head(h) if use_head else h.sum(1, keepdim=True)

    A.manual_seed(5)
    two = TwoHeads()
    ddp = DDP(two, find_unused_parameters=True)
    ddp(batch(3)[0], use_head=(r == 0)).sum().backward()
    out["unused/head_grad"] = two.head.weight.grad.numpy()
    out["unused/body_grad"] = two.body.weight.grad.numpy()
    # Review regression: a gradient accumulated under no_sync() for a parameter the synchronised
    # micro-batch does not use is kept (and averaged), not dropped.
    A.manual_seed(5)
    two = TwoHeads()
    ddp = DDP(two, find_unused_parameters=True)
    with ddp.no_sync():
        ddp(batch(3)[0][r : r + 1], use_head=True).sum().backward()
    ddp(batch(3)[0][r + 2 : r + 3], use_head=False).sum().backward()
    out["unused_no_sync/head_grad"] = two.head.weight.grad.numpy()

    # Review regression: SyncBatchNorm's variance where the mean is large against the spread
    # (float32): sums of squares cancelled to a variance of 0 or below.
    x = batch(11)[0] * 0.01 + 100.0
    sync = nn.SyncBatchNorm(4)
    out["sync_bn_offset/out"] = sync(x[r * 4 : (r + 1) * 4]).detach().numpy()
    out["sync_bn_offset/running_var"] = sync.running_var.numpy()
    gathered = [None, None]
    dist.all_gather_object(gathered, out["sync_bn_offset/out"])
    out["sync_bn_offset/out"] = np.concatenate(gathered)

    strict = DDP(TwoHeads())
    strict(batch(3)[0], use_head=False).sum().backward()
    try:
        strict(batch(3)[0], use_head=False)
        out["unused/error"] = np.array("")
    except RuntimeError as exc:
        out["unused/error"] = np.array(str(exc))

    # Collectives.
    t = A.tensor([1.0, 2.0]) * (r + 1)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    out["max"] = t.numpy()
    t = A.tensor([1.0, 2.0]) * (r + 1)
    dist.all_reduce(t, op=dist.ReduceOp.AVG)
    out["avg"] = t.numpy()
    t = A.tensor([float(r)] * 3)
    dist.broadcast(t, src=1)
    out["broadcast"] = t.numpy()
    gathered = [A.zeros(2) for _ in range(2)]
    dist.all_gather(gathered, A.tensor([r, r + 10.0]))
    out["all_gather"] = np.stack([g.numpy() for g in gathered])
    recv = A.zeros(2)
    dist.reduce_scatter(recv, [A.tensor([1.0, 2.0]) * (r + 1), A.tensor([3.0, 4.0]) * (r + 1)])
    out[f"reduce_scatter_{r}"] = recv.numpy()
    objs = [None, None]
    dist.all_gather_object(objs, {"rank": r})
    out["objects"] = np.array([o["rank"] for o in objs])
    dist.barrier(async_op=True).wait()

    # Mismatched models are refused on every rank, naming the rank.
    try:
        DDP(nn.Linear(4, 3 if r == 0 else 5))
        out["mismatch"] = np.array("")
    except RuntimeError as exc:
        out["mismatch"] = np.array(str(exc))

    # A checkpoint written by rank 0 only, atomically, loads into a plain model.
    model = train(mlp(), steps=1)
    if r == 0:
        A.save(model.state_dict(), Path(outdir) / "ckpt.chalk")
        state("ckpt", model, out)
    dist.barrier()
    rank_one = [None, None]
    dist.all_gather_object(rank_one, out.get("reduce_scatter_1"))
    if r == 0:
        out["reduce_scatter_1"] = rank_one[1]
        np.savez(Path(outdir) / "results.npz", **out)


class _null:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return None


def main():
    scenario, outdir = sys.argv[1], sys.argv[2]
    timeout = 3 if scenario == "timeout" else 60
    dist.init_process_group("mpi", timeout=timeout)
    r = dist.get_rank()
    if scenario == "main":
        main_scenarios(outdir)
    elif scenario == "raise":
        if r == 1:
            raise ValueError("rank one fails on purpose")
        dist.barrier()  # rank 0 waits here: the abort must end it
    elif scenario == "timeout":
        if r == 0:
            dist.all_reduce(A.ones(2))  # rank 1 never joins this one
        else:
            import time

            time.sleep(30)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()

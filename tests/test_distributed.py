"""Data-parallel training over MPI: two ranks on half batches equal one process on the whole.

The multi-process tests start ``mpiexec -n 2`` themselves (tests/dist_worker.py); they skip,
saying why, where mpi4py or mpiexec is missing. The rest runs in this process.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import autograd as A
import autograd.distributed as dist
import nn
import optim
from autograd.data import DistributedSampler

WORKER = Path(__file__).with_name("dist_worker.py")


def _mpiexec():
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        pytest.skip("mpi4py is not installed (pip install mpi4py mpich)")
    found = shutil.which("mpiexec", path=str(Path(sys.executable).parent)) or shutil.which(
        "mpiexec"
    )
    if found is None:
        pytest.skip("no mpiexec on PATH or beside the interpreter (pip install mpich)")
    return found


def _launch(scenario, outdir, timeout=120):
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    return subprocess.run(
        [_mpiexec(), "-n", "2", sys.executable, str(WORKER), scenario, str(outdir)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    outdir = tmp_path_factory.mktemp("ddp")
    done = _launch("main", outdir)
    assert done.returncode == 0, done.stdout + done.stderr
    return dict(np.load(outdir / "results.npz")), outdir


# ------------------------------------------------ the single-process models to compare with
def _batch(seed, n=8):
    rng = np.random.default_rng(seed)
    return (
        A.tensor(rng.standard_normal((n, 4)).astype(np.float32)),
        A.tensor(rng.standard_normal((n, 2)).astype(np.float32)),
    )


def _mlp(bn=False):
    A.manual_seed(100)  # rank 0's initialisation
    layers = [nn.Linear(4, 6)] + ([nn.BatchNorm1d(6)] if bn else []) + [nn.Tanh(), nn.Linear(6, 2)]
    return nn.Sequential(*layers)


def _train_single(model, halves, steps=3):
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for step in range(steps):
        x, y = _batch(step)
        opt.zero_grad()
        if halves:  # plain BatchNorm under DDP: each rank's half normalised on its own
            loss = sum(((model(x[i : i + 4]) - y[i : i + 4]) ** 2).mean() for i in (0, 4)) / 2
        else:
            loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
    return model


def _assert_same(results, prefix, model, keys=None):
    for k, v in model.state_dict().items():
        if keys is not None and k not in keys:
            continue
        np.testing.assert_allclose(results[f"{prefix}/{k}"], v.numpy(), rtol=1e-5, atol=1e-6,
                                   err_msg=f"{prefix}/{k}")  # fmt: skip


def test_two_ranks_on_halves_equal_one_process_on_the_whole_batch(results):
    res, _ = results
    assert int(res["mlp_buckets"]) > 1  # a tiny bucket cap: several buckets, reduced in order
    _assert_same(res, "mlp", _train_single(_mlp(), halves=False))


def test_sync_batchnorm_equals_batchnorm_on_the_whole_batch(results):
    res, _ = results
    _assert_same(res, "bn_sync", _train_single(_mlp(bn=True), halves=False))


def test_a_cnn_with_batchnorm_plain_and_synchronised(results):
    from dist_models import small_cnn

    res, _ = results
    _assert_same(res, "cnn_sync", _train_single(small_cnn(100), halves=False))
    model = _train_single(small_cnn(100), halves=True)
    _assert_same(res, "cnn_plain", model, keys={k for k, _ in model.named_parameters()})


def test_plain_batchnorm_normalises_each_rank_on_its_own(results):
    res, _ = results
    model = _train_single(_mlp(bn=True), halves=True)
    params = {k for k, _ in model.named_parameters()}
    _assert_same(res, "bn_plain", model, keys=params)
    # ...which is not what one process on the whole batch computes: that is SyncBatchNorm's job.
    whole = _train_single(_mlp(bn=True), halves=False)
    assert not np.allclose(res["bn_plain/0.weight"], whole.state_dict()["0.weight"].numpy())


def test_no_sync_accumulates_then_reduces_the_sum(results):
    res, _ = results
    model = _mlp()
    x, y = _batch(7)
    ((model(x[[0, 1, 2, 4, 5, 6]]) - y[[0, 1, 2, 4, 5, 6]]) ** 2).sum().backward()
    # Each rank's .grad holds its 3 samples' sum; the average over 2 ranks is half the total.
    np.testing.assert_allclose(res["no_sync/grad"], model[0].weight.grad.numpy() / 2, rtol=1e-5)


def test_unused_parameters(results):
    res, _ = results
    assert np.abs(res["unused/head_grad"]).sum() > 0  # used on rank 0 only: averaged in
    assert "Expected to have finished reduction in the prior iteration" in str(res["unused/error"])
    assert "head.weight" in str(res["unused/error"])


def test_unused_parameter_keeps_the_gradient_accumulated_under_no_sync(results):
    res, _ = results
    A.manual_seed(5)
    body, head = nn.Linear(4, 3), nn.Linear(3, 1)
    x = _batch(3)[0]
    head(body(x[0:2])).sum().backward()  # each rank's no_sync micro-batch: rows 0 and 1
    np.testing.assert_allclose(res["unused_no_sync/head_grad"], head.weight.grad.numpy() / 2,
                               rtol=1e-5)  # fmt: skip


def test_sync_batchnorm_is_stable_when_the_mean_dwarfs_the_spread(results):
    res, _ = results
    x = _batch(11)[0] * 0.01 + 100.0
    bn = nn.BatchNorm1d(4)
    np.testing.assert_allclose(res["sync_bn_offset/out"], bn(x).detach().numpy(), atol=2e-3)
    np.testing.assert_allclose(res["sync_bn_offset/running_var"], bn.running_var.numpy(),
                               rtol=1e-3)  # fmt: skip


def test_collectives(results):
    res, _ = results
    np.testing.assert_allclose(res["max"], [2.0, 4.0])
    np.testing.assert_allclose(res["avg"], [1.5, 3.0])
    np.testing.assert_allclose(res["broadcast"], [1.0, 1.0, 1.0])
    np.testing.assert_allclose(res["all_gather"], [[0.0, 10.0], [1.0, 11.0]])
    np.testing.assert_allclose(res["reduce_scatter_0"], [3.0, 6.0])
    np.testing.assert_allclose(res["reduce_scatter_1"], [9.0, 12.0])
    assert res["objects"].tolist() == [0, 1]


def test_mismatched_models_are_refused_naming_the_rank(results):
    res, _ = results
    assert "rank 1's model differs from rank 0's" in str(res["mismatch"])


def test_rank_zero_checkpoint_loads_into_a_plain_model(results):
    res, outdir = results
    plain = _mlp()
    plain.load_state_dict(A.load(outdir / "ckpt.chalk"))
    _assert_same(res, "ckpt", plain)
    assert not list(outdir.glob("*.tmp*"))


def test_a_rank_that_raises_ends_the_job_naming_it(tmp_path):
    done = _launch("raise", tmp_path, timeout=60)
    assert done.returncode != 0
    assert "rank 1 of 2 raised ValueError: rank one fails on purpose" in done.stderr + done.stdout


def test_a_collective_that_waits_too_long_times_out_naming_the_rank(tmp_path):
    done = _launch("timeout", tmp_path, timeout=60)
    assert done.returncode != 0
    assert "on rank 0 of 2 did not finish within 3 s" in done.stderr + done.stdout


# ------------------------------------------------------------------- in this process
def test_distributed_sampler_splits_pads_and_reshuffles_per_epoch():
    data = list(range(10))
    shards = [
        list(DistributedSampler(data, num_replicas=3, rank=r, shuffle=False)) for r in range(3)
    ]
    assert shards == [[0, 3, 6, 9], [1, 4, 7, 0], [2, 5, 8, 1]]  # padded with the head
    dropped = [
        list(DistributedSampler(data, 3, r, shuffle=False, drop_last=True)) for r in range(3)
    ]
    assert dropped == [[0, 3, 6], [1, 4, 7], [2, 5, 8]]
    s0 = DistributedSampler(data, 2, 0, seed=1)
    s1 = DistributedSampler(data, 2, 1, seed=1)
    first = list(s0) + list(s1)
    assert sorted(first) == data and len(s0) == 5
    s0.set_epoch(1)
    s1.set_epoch(1)
    assert list(s0) + list(s1) != first and sorted(list(s0) + list(s1)) == data
    with pytest.raises(ValueError, match="invalid rank 2"):
        DistributedSampler(data, 2, 2)
    with pytest.raises(RuntimeError, match="init_process_group first"):
        DistributedSampler(data)


def test_without_a_process_group():
    assert not dist.is_initialized() and dist.get_rank() == -1
    with pytest.raises(RuntimeError, match="has not been initialized"):
        dist.all_reduce(A.ones(2))
    with pytest.raises(RuntimeError, match="Default process group has not been initialized"):
        nn.parallel.DistributedDataParallel(nn.Linear(2, 2))
    with pytest.raises(ValueError, match="unknown backend 'gloo'"):
        dist.init_process_group("gloo")
    # SyncBatchNorm without a group is BatchNorm.
    A.manual_seed(0)
    bn = nn.BatchNorm1d(3)
    sync = nn.SyncBatchNorm.convert_sync_batchnorm(nn.Sequential(bn))[0]
    assert isinstance(sync, nn.SyncBatchNorm) and sync.weight is bn.weight
    x = A.randn(5, 3)
    ref = nn.BatchNorm1d(3)
    np.testing.assert_allclose(sync(x).detach().numpy(), ref(x).detach().numpy(), rtol=1e-6)


def test_the_example_trains_on_two_ranks(tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [_mpiexec(), "-n", "2", sys.executable, "-m", "examples.ddp_train", "--quick",
         "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=120, env=env, cwd=root,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 process(es), 64 samples each per step" in done.stdout
    assert (tmp_path / "ddp_model.ckpt").exists()


def test_a_hooked_leaf_is_finished_as_soon_as_its_last_gradient_arrives():
    # DDP starts a bucket's all-reduce from these hooks: they must not wait for the whole
    # backward. Here w2's gradient is complete before the Mark node's backward runs.
    order = []

    class Mark(A.Function):
        @staticmethod
        def forward(ctx, x):
            return x.copy()

        @staticmethod
        def backward(ctx, grad_out):
            order.append("earlier op's backward")
            return grad_out

    x = A.ones(2, requires_grad=True)
    w1 = A.ones(2, requires_grad=True)
    w2 = A.ones(2, requires_grad=True)
    w2.register_post_accumulate_grad_hook(lambda t: order.append(f"w2 ready {t.grad.tolist()}"))
    (Mark.apply(x * w1) * w2 * 3).sum().backward()
    assert order == ["w2 ready [3.0, 3.0]", "earlier op's backward"]
    np.testing.assert_allclose(w1.grad.numpy(), [3.0, 3.0])
    # A leaf used twice is finished once, after its second contribution.
    order.clear()
    (w2 * 2 + Mark.apply(x) * w2).sum().backward()
    assert [o for o in order if o.startswith("w2")] == ["w2 ready [6.0, 6.0]"]

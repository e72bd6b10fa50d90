"""``autograd.distributed``: PyTorch's ``torch.distributed`` API over MPI (CPU) or NCCL (GPU).

One process per rank, started by a launcher (``mpiexec -n 4 python train.py``), each calling
``init_process_group`` once. Collectives act in place on Tensors and take PyTorch's names and
arguments; the communication itself is mpi4py's or NCCL's (``backends/comm.py``), never ours.

    import autograd.distributed as dist
    dist.init_process_group("mpi")
    t = A.ones(3) * dist.get_rank()
    dist.all_reduce(t, op=dist.ReduceOp.SUM)     # every rank now holds 0 + 1 + ... + (N-1)

A rank that raises an uncaught exception aborts the whole job with a message naming it, and a
collective that waits longer than ``timeout`` (default 30 minutes, as PyTorch) raises
``TimeoutError`` naming the collective and the rank, so no rank hangs forever.
"""

from __future__ import annotations

import datetime
import os
import sys
import time
from typing import Any

from backends import comm as _comm

from .function import Function
from .tensor import Tensor

__all__ = [
    "ReduceOp",
    "all_gather",
    "all_gather_object",
    "all_reduce",
    "barrier",
    "broadcast",
    "destroy_process_group",
    "get_backend",
    "get_rank",
    "get_world_size",
    "init_process_group",
    "is_available",
    "is_initialized",
    "reduce_scatter",
]


class ReduceOp:
    """Reduction operations, PyTorch's names."""

    SUM = "sum"
    AVG = "avg"
    MAX = "max"
    MIN = "min"
    PRODUCT = "prod"


_group: Any = None
_previous_excepthook: Any = None


def is_available() -> bool:
    """True: the package is there (whether mpi4py or NCCL are is checked at init)."""
    return True


def is_initialized() -> bool:
    return _group is not None


def _require(op: str) -> Any:
    if _group is None:
        raise RuntimeError(
            f"{op}: the default process group has not been initialized; call "
            "autograd.distributed.init_process_group first"
        )
    return _group


def init_process_group(
    backend: str | None = None,
    init_method: str | None = None,
    timeout: datetime.timedelta | float | None = None,
    world_size: int = -1,
    rank: int = -1,
) -> None:
    """Join the job. ``backend``: 'mpi' (CPU; CUDA-aware MPI for GPU arrays) or 'nccl' (GPU).

    With 'mpi', rank and world size come from MPI. With 'nccl', from ``rank``/``world_size``, or
    the ``RANK``/``WORLD_SIZE`` variables (``MASTER_ADDR``/``MASTER_PORT`` locate rank 0), or
    from mpiexec's environment. ``init_method`` is accepted for PyTorch's signature; only
    'env://' (or None) is supported.
    """
    global _group, _previous_excepthook
    if _group is not None:
        raise RuntimeError(
            "init_process_group: trying to initialize the default process group twice"
        )
    if init_method not in (None, "env://"):
        raise ValueError(
            f"init_process_group: init_method {init_method!r} is not supported; use env://"
        )
    backend = (backend or "mpi").lower()
    if isinstance(timeout, datetime.timedelta):
        seconds = timeout.total_seconds()
    elif timeout is None:
        seconds = float(os.environ.get("CHALKGRAD_DIST_TIMEOUT", 1800))
    else:
        seconds = float(timeout)
    if backend == "mpi":
        group = _comm.MPICommunicator(seconds)
        if world_size not in (-1, group.size) or rank not in (-1, group.rank):
            raise ValueError(
                f"init_process_group: MPI started {group.size} ranks (this is rank {group.rank}), "
                f"but world_size={world_size}, rank={rank} were given"
            )
    elif backend == "nccl":
        from_mpi = _comm.mpi_rank_and_size()
        if rank < 0:
            rank = int(os.environ.get("RANK", from_mpi[0] if from_mpi else -1))
        if world_size < 0:
            world_size = int(os.environ.get("WORLD_SIZE", from_mpi[1] if from_mpi else -1))
        if rank < 0 or world_size < 1:
            raise ValueError(
                "init_process_group(backend='nccl'): set RANK and WORLD_SIZE (and MASTER_ADDR, "
                "MASTER_PORT), pass rank= and world_size=, or launch with mpiexec"
            )
        group = _comm.NCCLCommunicator(world_size, rank, seconds)
    else:
        raise ValueError(f"init_process_group: unknown backend {backend!r}; use 'mpi' or 'nccl'")
    _group = group
    _previous_excepthook = sys.excepthook
    sys.excepthook = _abort_on_exception


def _abort_on_exception(kind: Any, value: Any, tb: Any) -> None:
    """An uncaught exception on one rank ends every rank, saying which rank raised."""
    group = _group
    if _previous_excepthook is not None:
        _previous_excepthook(kind, value, tb)
    if group is not None and group.size > 1:
        sys.stderr.write(
            f"\nchalkgrad.distributed: rank {group.rank} of {group.size} raised "
            f"{kind.__name__}: {value}; aborting all ranks\n"
        )
        sys.stderr.flush()
        time.sleep(0.5)  # let the launcher forward the message before the abort kills the job
        group.abort(1)


def destroy_process_group() -> None:
    """Leave the job (the group's resources are freed; init_process_group may be called again)."""
    global _group
    if _group is None:
        return
    _group.close()
    _group = None
    if _previous_excepthook is not None:
        sys.excepthook = _previous_excepthook


def get_rank(group: Any = None) -> int:
    """This process's rank, or -1 when no group was initialized (PyTorch raises instead)."""
    return _group.rank if _group is not None else -1


def get_world_size(group: Any = None) -> int:
    """The number of ranks, or -1 when no group was initialized."""
    return _group.size if _group is not None else -1


def get_backend(group: Any = None) -> str:
    return _require("get_backend").name


def _check(op: str, tensor: Any) -> Any:
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(tensor).__name__}")
    data = tensor.data
    if not data.flags.c_contiguous:
        raise ValueError(
            f"{op}: the tensor of shape {tuple(tensor.shape)} must be contiguous "
            "(use .contiguous())"
        )
    return data


def _written(tensor: Tensor) -> None:
    tensor._version += 1  # an in-place change: a node that saved the old value will notice


def all_reduce(tensor: Tensor, op: str = ReduceOp.SUM, group: Any = None, async_op: bool = False):
    """Reduce ``tensor`` across ranks, in place on every rank (AVG divides the sum by N)."""
    g = _require("all_reduce")
    data = _check("all_reduce", tensor)
    if op not in (*_comm.OPS, ReduceOp.AVG):
        raise ValueError(f"all_reduce: unknown op {op!r}; use ReduceOp.SUM/AVG/MAX/MIN/PRODUCT")
    tensor._backend.synchronize()
    finish = None
    if op == ReduceOp.AVG:

        def finish() -> None:
            data[...] = data / g.size

    work = g.all_reduce(data, "sum" if op == ReduceOp.AVG else op)
    work._finish = finish
    _written(tensor)
    return work if async_op else work.wait()


def broadcast(tensor: Tensor, src: int, group: Any = None, async_op: bool = False):
    """Copy rank ``src``'s ``tensor`` into every rank's ``tensor``, in place."""
    g = _require("broadcast")
    data = _check("broadcast", tensor)
    if not 0 <= src < g.size:
        raise ValueError(f"broadcast: src {src} is not a rank of a group of {g.size}")
    tensor._backend.synchronize()
    work = g.broadcast(data, src)
    _written(tensor)
    return work if async_op else work.wait()


def all_gather(tensor_list: list, tensor: Tensor, group: Any = None, async_op: bool = False):
    """Every rank's ``tensor`` into ``tensor_list[r]`` (one tensor of the same shape a rank)."""
    g = _require("all_gather")
    data = _check("all_gather", tensor)
    if len(tensor_list) != g.size:
        raise ValueError(
            f"all_gather: tensor_list has {len(tensor_list)} tensors for {g.size} ranks"
        )
    for t in tensor_list:
        if tuple(t.shape) != tuple(tensor.shape) or t.dtype != tensor.dtype:
            raise ValueError(
                f"all_gather: every output must be {tensor.dtype} of shape {tuple(tensor.shape)}, "
                f"got {t.dtype} of shape {tuple(t.shape)}"
            )
    xp = tensor.xp
    recv = xp.empty((g.size, *data.shape), dtype=data.dtype)
    tensor._backend.synchronize()
    work = g.all_gather(data, recv)

    def finish() -> None:
        for r, t in enumerate(tensor_list):
            t.data[...] = recv[r]
            _written(t)

    work._finish = finish
    return work if async_op else work.wait()


def all_gather_object(object_list: list, obj: Any, group: Any = None) -> None:
    """Every rank's picklable ``obj`` into ``object_list`` (of length world size)."""
    g = _require("all_gather_object")
    object_list[:] = g.all_gather_object(obj)


def reduce_scatter(
    output: Tensor,
    input_list: list,
    op: str = ReduceOp.SUM,
    group: Any = None,
    async_op: bool = False,
):
    """Reduce ``input_list[r]`` across ranks into rank r's ``output``."""
    g = _require("reduce_scatter")
    out = _check("reduce_scatter", output)
    if len(input_list) != g.size:
        raise ValueError(
            f"reduce_scatter: input_list has {len(input_list)} tensors for {g.size} ranks"
        )
    xp = output.xp
    send = xp.ascontiguousarray(xp.stack([t.data for t in input_list]))
    output._backend.synchronize()
    work = g.reduce_scatter(send.reshape(-1), out.reshape(-1), "sum" if op == ReduceOp.AVG else op)
    if op == ReduceOp.AVG:

        def finish() -> None:
            out[...] = out / g.size

        work._finish = finish
    _written(output)
    return work if async_op else work.wait()


def barrier(group: Any = None, async_op: bool = False):
    """Wait until every rank reaches this point."""
    work = _require("barrier").barrier()
    return work if async_op else work.wait()


class AllReduceSum(Function):
    """A differentiable all-reduce: the sum over ranks, whose gradient is again that sum (each
    rank's output depends on every rank's input). SyncBatchNorm's statistics use it."""

    @staticmethod
    def forward(ctx, x):
        out = ctx.xp.ascontiguousarray(x).copy()  # a fresh buffer: the input stays as it was
        ctx.backend.synchronize()
        _require("all_reduce").all_reduce(out, "sum").wait()
        return out

    @staticmethod
    def backward(ctx, grad_out):
        return AllReduceSum.apply(grad_out)


def all_reduce_sum(tensor: Tensor) -> Tensor:
    """The sum over ranks of ``tensor``, as a new differentiable Tensor (not in place)."""
    if _group is None or _group.size == 1:
        return tensor
    return AllReduceSum.apply(tensor)

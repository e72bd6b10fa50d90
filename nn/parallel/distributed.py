"""``DistributedDataParallel``: the same model on every rank, gradients averaged in buckets.

How it works (PyTorch's design, on our engine):

1. At construction, every rank checks that its parameters match rank 0's (names, shapes,
   dtypes), then takes rank 0's parameters and buffers (a broadcast), so all start equal.
2. Parameters are grouped into buckets of about ``bucket_cap_mb`` (25 MB), in reverse order of
   registration (roughly the order backward produces their gradients).
3. A post-accumulate-grad hook on each parameter marks it ready once backward has accumulated its
   ``.grad``; when every parameter of a bucket is ready, the bucket's gradients are copied into
   one flat buffer and an asynchronous all-reduce starts. Buckets start strictly in order, so
   every rank issues the same collectives in the same order.
4. When the last bucket has started, the reductions are awaited, divided by the world size, and
   copied back into each ``.grad``: after ``loss.backward()`` every rank holds the average.

The engine finishes a leaf that has a post-accumulate hook as soon as its last gradient
arrives (it counts each such leaf's incoming edges before backward starts), so a bucket's
all-reduce starts while backward is still computing the earlier layers' gradients.
``gradient_as_bucket_view`` and ``static_graph`` are accepted and have no effect.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

import autograd as A
import autograd.distributed as dist
from autograd import Tensor

from ..module import Module


class _Bucket:
    __slots__ = ("indices", "offsets", "numel", "buffer", "pending", "work")

    def __init__(self, indices: list, params: list) -> None:
        self.indices = indices
        self.offsets = []
        total = 0
        for i in indices:
            self.offsets.append(total)
            total += params[i].numel()
        self.numel = total
        self.buffer = None
        self.pending = 0
        self.work = None


class DistributedDataParallel(Module):
    """Wrap ``module`` for data-parallel training; use it exactly like ``module``.

    ``find_unused_parameters``: walk the graph of each forward's outputs and treat parameters it
    does not reach as ready (their bucket slots are zeros), so their buckets still reduce.
    ``no_sync()``: a context in which backward accumulates gradients locally, without
    communication (gradient accumulation); the next synchronised backward reduces the sum.
    ``module.state_dict()`` is the plain model's, so checkpoints load without the wrapper.
    """

    def __init__(
        self,
        module: Module,
        device_ids: Any = None,
        output_device: Any = None,
        dim: int = 0,
        broadcast_buffers: bool = True,
        process_group: Any = None,
        bucket_cap_mb: float | None = None,
        find_unused_parameters: bool = False,
        check_reduction: bool = False,
        gradient_as_bucket_view: bool = False,
        static_graph: bool = False,
    ) -> None:
        super().__init__()
        if not dist.is_initialized():
            raise RuntimeError(
                "DistributedDataParallel: Default process group has not been initialized, "
                "please make sure to call autograd.distributed.init_process_group"
            )
        self.module = module
        self.broadcast_buffers = broadcast_buffers
        self.find_unused_parameters = find_unused_parameters
        self.require_backward_grad_sync = True
        named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        if not named:
            raise RuntimeError(
                "DistributedDataParallel is not needed when a module doesn't have any parameter "
                "that requires a gradient"
            )
        self._param_names = [n for n, _ in named]
        self._params = [p for _, p in named]
        self._verify_same_model()
        self._sync_module_states()
        cap = int((25 if bucket_cap_mb is None else bucket_cap_mb) * 1024 * 1024)
        self._buckets = self._make_buckets(cap)
        self._bucket_of = {}
        for b, bucket in enumerate(self._buckets):
            for slot, i in enumerate(bucket.indices):
                self._bucket_of[i] = (b, slot)
        self._expecting = False
        # Set to a list to record (event, bucket, time.perf_counter()) tuples: "ready" when a
        # bucket's last gradient arrives, "start" and "done" around its all-reduce.
        self.timeline: list | None = None
        self._ready: set = set()
        self._next_bucket = 0
        self._handles = [
            p.register_post_accumulate_grad_hook(self._make_hook(i))
            for i, p in enumerate(self._params)
        ]

    # --------------------------------------------------------------------------- set-up
    def _verify_same_model(self) -> None:
        signature = [
            (n, tuple(p.shape), str(p.dtype)) for n, p in zip(self._param_names, self._params)
        ]
        signature += [(n, tuple(b.shape), str(b.dtype)) for n, b in self.module.named_buffers()]
        everyone: list = [None] * dist.get_world_size()
        dist.all_gather_object(everyone, signature)
        reference = everyone[0]
        for rank, theirs in enumerate(everyone[1:], start=1):
            if theirs == reference:
                continue
            for a, b in zip(reference, theirs):
                if a != b:
                    raise RuntimeError(
                        f"DistributedDataParallel: rank {rank}'s model differs from rank 0's: "
                        f"{b[0]} is {b[2]} of shape {b[1]} on rank {rank}, but {a[0]} is {a[2]} "
                        f"of shape {a[1]} on rank 0"
                    )
            raise RuntimeError(
                f"DistributedDataParallel: rank {rank} has {len(theirs)} parameters and buffers, "
                f"rank 0 has {len(reference)}"
            )

    def _sync_module_states(self) -> None:
        with A.no_grad():
            for p in self._params:
                dist.broadcast(p, 0)
            self._sync_buffers()

    def _sync_buffers(self) -> None:
        for b in self.module.buffers():
            if b is not None:
                dist.broadcast(b, 0)

    def _make_buckets(self, cap: int) -> list:
        buckets = []
        current: list = []
        size = 0
        key = None
        for i in reversed(range(len(self._params))):
            p = self._params[i]
            this_key = (p.dtype, p.device)
            nbytes = p.numel() * p.data.itemsize
            if current and (this_key != key or size + nbytes > cap):
                buckets.append(_Bucket(current, self._params))
                current, size = [], 0
            current.append(i)
            size += nbytes
            key = this_key
        if current:
            buckets.append(_Bucket(current, self._params))
        return buckets

    # -------------------------------------------------------------------------- forward
    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        if self._expecting:
            missing = [
                self._param_names[i] for i in range(len(self._params)) if i not in self._ready
            ]
            raise RuntimeError(
                "DistributedDataParallel: Expected to have finished reduction in the prior "
                "iteration before starting a new one. This error indicates that your module has "
                "parameters that were not used in producing loss (or backward was not called). "
                "You can enable unused parameter detection by passing "
                "find_unused_parameters=True to DistributedDataParallel. Parameters that did not "
                f"receive a gradient on rank {dist.get_rank()}: {', '.join(missing)}"
            )
        if self.broadcast_buffers and self.training:
            with A.no_grad():
                self._sync_buffers()
        out = self.module(*inputs, **kwargs)
        if A.is_grad_enabled() and self.require_backward_grad_sync:
            self._prepare_for_backward(out)
        return out

    def _prepare_for_backward(self, outputs: Any) -> None:
        self._expecting = True
        self._ready = set()
        self._next_bucket = 0
        for bucket in self._buckets:
            bucket.pending = len(bucket.indices)
            bucket.work = None
        if self.find_unused_parameters:
            reached = _reachable_leaves(outputs)
            for i, p in enumerate(self._params):
                if id(p) not in reached:
                    self._mark_ready(i)

    @contextlib.contextmanager
    def no_sync(self) -> Iterator[None]:
        """Backward inside this context accumulates ``.grad`` locally, with no communication."""
        previous = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = previous

    # ------------------------------------------------------------------------- backward
    def _make_hook(self, index: int) -> Any:
        def hook(param: Tensor) -> None:
            if self._expecting and index not in self._ready:
                self._mark_ready(index)

        hook.__name__ = f"ddp_ready_{self._param_names[index]}"
        return hook

    def _mark_ready(self, index: int) -> None:
        self._ready.add(index)
        b, slot = self._bucket_of[index]
        bucket = self._buckets[b]
        self._copy_in(bucket, slot)
        bucket.pending -= 1
        if not bucket.pending:
            self._record("ready", b)
        # Start buckets strictly in order: every rank issues the same collectives alike.
        while self._next_bucket < len(self._buckets):
            nxt = self._buckets[self._next_bucket]
            if nxt.pending:
                break
            flat = Tensor._make(nxt.buffer, self._params[nxt.indices[0]]._backend)
            self._record("start", self._next_bucket)
            nxt.work = dist.all_reduce(flat, async_op=True)
            self._next_bucket += 1
        if self._next_bucket == len(self._buckets):
            self._finish()

    def _copy_in(self, bucket: _Bucket, slot: int) -> None:
        p = self._params[bucket.indices[slot]]
        xp = p.xp
        if bucket.buffer is None:
            bucket.buffer = xp.empty(bucket.numel, dtype=p.data.dtype)
        start = bucket.offsets[slot]
        view = bucket.buffer[start : start + p.numel()]
        # An unused parameter contributes the .grad it already holds (as PyTorch's reducer): a
        # gradient accumulated under no_sync() must not be dropped because the synchronised
        # micro-batch happened not to use it.
        if p.grad is not None:
            view[...] = p.grad.data.reshape(-1)
        else:
            view[...] = 0

    def _finish(self) -> None:
        world = dist.get_world_size()
        for b, bucket in enumerate(self._buckets):
            bucket.work.wait()
            self._record("done", b)
            buf = bucket.buffer
            buf /= world
            for slot, i in enumerate(bucket.indices):
                p = self._params[i]
                start = bucket.offsets[slot]
                avg = buf[start : start + p.numel()].reshape(p.data.shape)
                if p.grad is None:
                    if i in self._ready and self._is_used_somewhere(avg):
                        p.grad = Tensor._make(avg.copy(), p._backend)
                else:
                    p.grad.data[...] = avg
        self._expecting = False

    def _record(self, event: str, bucket: int) -> None:
        if self.timeline is not None:
            self.timeline.append((event, bucket, time.perf_counter()))

    @staticmethod
    def _is_used_somewhere(avg: Any) -> bool:
        # A parameter unused here but used on another rank gets that rank's share; one unused
        # everywhere keeps grad None, as PyTorch (a host read, only on the unused path).
        return bool((avg != 0).any())


def _reachable_leaves(outputs: Any) -> set:
    """ids of the leaf tensors the graph of ``outputs`` reaches (iterative walk)."""
    stack = []

    def collect(obj: Any) -> None:
        if isinstance(obj, Tensor):
            if obj.grad_fn is not None:
                stack.append(obj.grad_fn)
        elif isinstance(obj, (list, tuple)):
            for o in obj:
                collect(o)
        elif isinstance(obj, dict):
            for o in obj.values():
                collect(o)

    collect(outputs)
    seen: set = set()
    leaves: set = set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        for edge in node._next or ():
            if edge is None:
                continue
            target, index = edge[0], edge[1]
            if index == -1:
                leaves.add(id(target))
            else:
                stack.append(target)
    return leaves

"""The Backend interface: the small, named set of duties an array library must fulfil."""

from __future__ import annotations

from typing import Any


def reduced_count(shape: tuple, axis: tuple | None) -> int:
    """How many elements a reduction over ``axis`` (None: all) folds into each output element."""
    count = 1
    for i, n in enumerate(shape):
        if axis is None or i in axis:
            count *= n
    return count


class Device(str):
    """A device name that is also a string: ``Device("cuda", 0)`` is ``"cuda:0"``.

    PyTorch's ``torch.device`` habits: ``.type`` and ``.index``, ``repr`` as
    ``device(type='cuda', index=0)``, equal to the same device written as a string
    (``t.device == "cpu"``). Being a ``str``, it works wherever chalkgrad takes a device string.
    As in PyTorch, ``Device("cuda")`` (no index) is not equal to ``Device("cuda:0")``.
    """

    __slots__ = ()

    # Device names beyond cpu and cuda, allowed by ``allow`` (the test suite's strict device).
    _other_names: set[str] = set()

    @classmethod
    def allow(cls, name: str) -> None:
        """Accept ``name`` as a device of its own (for ``backends.register_backend``)."""
        cls._other_names.add(name)

    def __new__(cls, type: Any, index: int | None = None) -> Device:  # noqa: A002
        if isinstance(type, Device) and index is None:
            return type
        if isinstance(type, Backend):
            return type.device
        name = str(type).strip().lower()
        if name in cls._other_names and index is None:
            return str.__new__(cls, name)
        base, _, number = name.partition(":")
        if base not in ("cpu", "cuda") or (number and not number.isdigit()):
            raise RuntimeError(
                f"device: expected one of cpu, cuda (optionally cuda:N), got {str(type)!r}"
            )
        if index is not None:
            if number:
                raise RuntimeError(f"device: type {name!r} already has an index; drop index=")
            if isinstance(index, bool) or not isinstance(index, int) or index < 0:
                raise RuntimeError(f"device: index must be a non-negative int, got {index!r}")
            number = str(index)
        if base == "cpu" and number not in ("", "0"):
            raise RuntimeError(f"device: cpu has no index {number}")
        return str.__new__(cls, f"{base}:{number}" if number and base == "cuda" else base)

    @property
    def type(self) -> str:
        return self.partition(":")[0]

    @property
    def index(self) -> int | None:
        number = self.partition(":")[2]
        return int(number) if number else None

    def __repr__(self) -> str:
        index = self.index
        if index is None:
            return f"device(type='{self.type}')"
        return f"device(type='{self.type}', index={index})"

    def __str__(self) -> str:
        return str.__str__(self)

    def __reduce__(self) -> tuple:
        return (Device, (str(self),))


class Backend:
    """One device's array library.

    Everything device-specific in chalkgrad goes through one of these duties:

    - ``xp``: the array module (``numpy`` or ``cupy``); every other op is ``xp.<same name>``;
      ``ndarray`` is its array type
    - ``device``: the canonical device string (``"cpu"``, ``"cuda:0"``)
    - ``to_host`` / ``from_host``: conversion to and from host NumPy arrays
    - ``rng``: a seeded random generator (``seed`` reseeds it)
    - ``default_float`` / ``default_int``: the dtypes factories use
    - ``synchronize``: wait for queued device work (a no-op on the CPU)
    - the kernels where NumPy and CuPy differ: ``scatter_add``, ``scatter_reduce``,
      ``accumulate`` (a running maximum, minimum or log-add-exp: NumPy's ``ufunc.accumulate``;
      CuPy's ufuncs accumulate only add and multiply), ``reduce_sum`` / ``reduce_mean`` (the
      array methods by default; NumPy's leaner forms and BLAS leading-axes sums on the CPU),
      and convolution's data movement
      ``im2col`` / ``col2im`` (windows of a padded N-d image as columns, and their adjoint)
    """

    __slots__ = ("xp", "ndarray", "device", "rng", "default_float", "default_int")

    name = "abstract"

    # col2im by a loop of slice-adds (NumPy) rather than one kernel: for stride 1, conv's
    # transposed products then use autograd.ops.conv.FlatShifts (contiguous slice-adds), and
    # max-pool over tiling windows runs on contiguous shifted slices (autograd.ops.pool).
    flat_shifts = False
    # Conv runs one GEMM per group over batch x pixels, on columns laid out (C, *kernel, N,
    # *out) (``batch_inner``), rather than a batch of per-sample GEMMs (see autograd.ops.conv).
    fold_batch = False
    # Stride-1 convs with many channels run as a loop of GEMMs over kernel offsets on the padded
    # image, without im2col (autograd.ops.conv.KernelOffsets); CuPy keeps its own kernels.
    kernel_offsets = False

    def __init__(self, xp: Any, device: str) -> None:
        self.xp = xp
        self.ndarray = xp.ndarray
        self.device = Device(device)
        self.default_float = xp.dtype("float32")
        self.default_int = xp.dtype("int64")
        self.rng = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(device={str(self.device)!r})"

    def seed(self, seed: int) -> None:
        raise NotImplementedError

    def to_host(self, array: Any) -> Any:
        raise NotImplementedError

    def from_host(self, array: Any, dtype: Any = None) -> Any:
        raise NotImplementedError

    def is_array(self, obj: Any) -> bool:
        return isinstance(obj, self.xp.ndarray)

    def synchronize(self) -> None:
        pass

    def scatter_add(self, target: Any, index: Any, values: Any) -> None:
        """``target[index] += values`` with repeated indices accumulating (in place)."""
        raise NotImplementedError

    def stack(self, arrays: list) -> Any:
        """Same-shaped, same-dtype ``arrays`` stacked along a new first axis (``xp.stack``)."""
        return self.xp.stack(arrays)

    def sgd_update_(
        self, param: Any, grad: Any, buf: Any, lr: float, momentum: float, dampening: float,
        scratch: Any,
    ) -> None:  # fmt: skip
        """SGD on one parameter's arrays, in place (``backends.fused.sgd_update_reference``)."""
        from .fused import sgd_update_reference

        sgd_update_reference(self.xp, param, grad, buf, lr, momentum, dampening, scratch)

    def adam_update_(
        self, param: Any, grad: Any, exp_avg: Any, exp_avg_sq: Any, step: Any, lr: float,
        beta1: float, beta2: float, eps: float, scratch: Any, denom: Any,
    ) -> None:  # fmt: skip
        """Adam on one parameter's arrays, in place (``backends.fused.adam_update_reference``)."""
        from .fused import adam_update_reference

        adam_update_reference(
            self.xp, param, grad, exp_avg, exp_avg_sq, step, lr, beta1, beta2, eps, scratch, denom
        )

    adam_update_.host_sync = True  # reads the step counter: never inside a CUDA graph

    def im2col(
        self,
        x: Any,
        kernel: tuple,
        stride: tuple,
        padding: tuple,
        dilation: tuple,
        out_size: tuple,
        fill: float = 0.0,
        batch_inner: bool = False,
    ) -> Any:
        """The sliding windows of ``x`` (N, C, *in_size) as columns (N, C, *kernel, *out_size).

        ``col[n, c, k..., o...] = x[n, c, o * stride + k * dilation - padding]`` per spatial dim,
        and ``fill`` where that position lies outside the input (the padding; -inf for max-pool).
        With ``batch_inner`` the columns are laid out (C, *kernel, N, *out_size) instead: rows
        (C, kernel) and columns (N, pixels) of one GEMM over the whole batch.
        """
        raise NotImplementedError

    def col2im(
        self,
        col: Any,
        in_size: tuple,
        stride: tuple,
        padding: tuple,
        dilation: tuple,
        batch_inner: bool = False,
    ) -> Any:
        """The adjoint of ``im2col``: every column entry added back to the input position it
        came from (entries from the padding are dropped). (N, C, *kernel, *out) -> (N, C, *in);
        with ``batch_inner``, columns (C, *kernel, N, *out).
        """
        raise NotImplementedError

    def scatter_reduce(self, target: Any, index: Any, values: Any, reduce: str) -> None:
        """``target[index] = reduce(target[index], values)`` with repeated indices combining, for
        ``reduce`` in ``"sum"``, ``"prod"``, ``"amax"``, ``"amin"`` (in place)."""
        raise NotImplementedError

    def reduce_sum(self, array: Any, axis: tuple | None, keepdims: bool) -> Any:
        """``array.sum(axis, keepdims=keepdims)`` as an array (``axis``: sorted non-negative
        axes, or None for all). Backends may sum in another order (the NumPy backend)."""
        return array.sum(axis=axis, keepdims=keepdims)

    def reduce_mean(self, array: Any, axis: tuple | None, keepdims: bool) -> Any:
        """``array.mean(axis, keepdims=keepdims)`` as an array (see ``reduce_sum``)."""
        return array.mean(axis=axis, keepdims=keepdims)

    def accumulate(self, name: str, array: Any, axis: int) -> Any:
        """The running ``xp.<name>`` (``maximum``, ``minimum``, ``logaddexp``) along ``axis``.

        This default is a log-step (Hillis-Steele) scan of whole-array ops, O(n log n) work
        and log2(n) steps, for array libraries whose ufuncs have no ``accumulate``.
        """
        xp = self.xp
        op = getattr(xp, name)
        out = xp.moveaxis(array, axis, -1)
        n = out.shape[-1]
        step = 1
        while step < n:
            combined = op(out[..., step:], out[..., :-step])
            out = xp.concatenate([out[..., :step], combined], axis=-1)
            step *= 2
        return xp.ascontiguousarray(xp.moveaxis(out, -1, axis))

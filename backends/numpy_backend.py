"""The CPU backend: NumPy."""

from __future__ import annotations

import itertools
from typing import Any

import numpy

from . import fused, host_memory
from .base import Backend, reduced_count
from .fused import numba_sgd, sgd_update_reference


class NumPyBackend(Backend):
    """Arrays in host memory, computed by NumPy (BLAS for matmul)."""

    __slots__ = ()

    name = "numpy"
    flat_shifts = True
    fold_batch = True
    kernel_offsets = True

    def __init__(self) -> None:
        super().__init__(numpy, "cpu")
        host_memory.keep_freed_blocks()  # reuse a step's big blocks in the next (see there)
        self.rng = numpy.random.default_rng()

    def seed(self, seed: int) -> None:
        self.rng = numpy.random.default_rng(seed)

    def to_host(self, array: Any) -> numpy.ndarray:
        return array

    def from_host(self, array: Any, dtype: Any = None) -> numpy.ndarray:
        return numpy.asarray(array, dtype=dtype)

    def scatter_add(self, target: Any, index: Any, values: Any) -> None:
        numpy.add.at(target, index, values)

    def stack(self, arrays: list) -> numpy.ndarray:
        """``numpy.array`` of the list: the same array as ``numpy.stack`` for same-shaped,
        same-dtype arrays, without its per-array Python indexing (3x faster for many small)."""
        return numpy.array(arrays)

    def sgd_update_(
        self, param: Any, grad: Any, buf: Any, lr: float, momentum: float, dampening: float,
        scratch: Any,
    ) -> None:  # fmt: skip
        """One fused Numba pass when Numba is installed and the parameter is large, else the
        NumPy reference: below ``fused.NUMBA_SGD_MIN_SIZE`` elements its two or three ufunc
        calls take less time than Numba's dispatch (a (20, 2) weight: about 1 us against 2-4).
        Both compute the same values bit for bit (tests/test_speed.py)."""
        if param.size >= fused.NUMBA_SGD_MIN_SIZE:
            kernel = numba_sgd()
            if kernel is not None and kernel(param, grad, buf, lr, momentum, dampening):
                return
        sgd_update_reference(numpy, param, grad, buf, lr, momentum, dampening, scratch)

    def scatter_reduce(self, target: Any, index: Any, values: Any, reduce: str) -> None:
        _SCATTER_UFUNCS[reduce].at(target, index, values)

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
    ) -> numpy.ndarray:
        # One strided-slice copy per kernel offset (Chainer's im2col_cpu), never per pixel.
        lead = x.shape[:2]
        padded = _padded_size(x.shape[2:], kernel, stride, padding, dilation, out_size)
        if padded != x.shape[2:] or any(padding):
            image = numpy.full(lead + padded, fill, dtype=x.dtype)
            image[(...,) + tuple(slice(p, p + s) for p, s in zip(padding, x.shape[2:]))] = x
        else:
            image = x
        if _expand_rows_first(kernel, stride, out_size):
            return _im2col_rows_first(image, kernel, stride, dilation, out_size, batch_inner)
        if batch_inner:
            col = numpy.empty(lead[1:] + tuple(kernel) + lead[:1] + tuple(out_size), x.dtype)
            for offset in itertools.product(*(range(k) for k in kernel)):
                window = image[_window(offset, stride, dilation, out_size)]
                col[(slice(None),) + offset] = window.swapaxes(0, 1)
            return col
        col = numpy.empty(lead + tuple(kernel) + tuple(out_size), dtype=x.dtype)
        for offset in itertools.product(*(range(k) for k in kernel)):
            col[(slice(None), slice(None)) + offset] = image[
                _window(offset, stride, dilation, out_size)
            ]
        return col

    def col2im(
        self,
        col: Any,
        in_size: tuple,
        stride: tuple,
        padding: tuple,
        dilation: tuple,
        batch_inner: bool = False,
    ) -> numpy.ndarray:
        # The adjoint loop: one strided slice-add per kernel offset (5-30x faster than add.at).
        d = len(in_size)
        if batch_inner:
            lead = (col.shape[1 + d], col.shape[0])
            kernel = col.shape[1 : 1 + d]
            out_size = col.shape[2 + d :]
        else:
            lead = col.shape[:2]
            kernel = col.shape[2 : 2 + d]
            out_size = col.shape[2 + d :]
        padded = _padded_size(in_size, kernel, stride, padding, dilation, out_size)
        image = numpy.zeros(lead + padded, dtype=col.dtype)
        for offset in itertools.product(*(range(k) for k in kernel)):
            if batch_inner:
                part = col[(slice(None),) + offset].swapaxes(0, 1)
            else:
                part = col[(slice(None), slice(None)) + offset]
            image[_window(offset, stride, dilation, out_size)] += part
        if padded == tuple(in_size) and not any(padding):
            return image
        return image[(...,) + tuple(slice(p, p + s) for p, s in zip(padding, in_size))]

    def accumulate(self, name: str, array: Any, axis: int) -> Any:
        return getattr(numpy, name).accumulate(array, axis=axis)

    def reduce_sum(self, array: Any, axis: tuple | None, keepdims: bool) -> numpy.ndarray:
        """``numpy.add.reduce`` (the ufunc, not ``numpy.sum``'s Python wrappers), a result with
        no axes left written into a new 0-d array (never a scalar to wrap afterwards).

        A C-contiguous float32/float64 array summed over its leading axes, the bias gradient's
        ``g.sum(0)``, is one BLAS matrix-vector product with a vector of ones instead: NumPy's
        loop adds one short row at a time (a (300, 20) float32 array: about 7x slower). BLAS
        adds in another order, into several partial sums, which is at least as accurate as
        NumPy's row-after-row order (measured: 2-3x smaller errors on random data); it does not
        depend on the arrays' alignment, so a result is the same bit for bit on every call.
        """
        rows = _leading_rows(array, axis)
        if rows:
            cols = array.size // rows
            out = _ones(array.dtype, rows) @ array.reshape(rows, cols)
            shape = (1,) * len(axis) if keepdims else ()
            return out.reshape(shape + array.shape[len(axis) :])
        if array.ndim == 0 or not keepdims and (axis is None or len(axis) == array.ndim):
            out = numpy.empty((), array.dtype)
            return numpy.add.reduce(array, axis=axis, keepdims=keepdims, out=out)
        return numpy.add.reduce(array, axis=axis, keepdims=keepdims)

    def reduce_mean(self, array: Any, axis: tuple | None, keepdims: bool) -> numpy.ndarray:
        """``reduce_sum`` divided in place by the count, for float32/float64 (as ``numpy.mean``,
        which divides the same sum by the count, less its Python wrappers); other dtypes, empty
        reductions and counts past 2**24 (not exact in float32) take ``numpy.mean`` itself."""
        count = reduced_count(array.shape, axis)
        if array.dtype.char not in "fd" or not 0 < count <= 1 << 24:
            return numpy.asarray(array.mean(axis=axis, keepdims=keepdims))
        total = self.reduce_sum(array, axis, keepdims)
        return numpy.divide(total, count, out=total)


# Leading-axes sums go through BLAS from this many rows and columns (fewer: NumPy's loop is
# about as fast, and adds fewer rounding steps).
_BLAS_SUM_MIN_ROWS = 4
_BLAS_SUM_MIN_COLS = 2
_ONES: dict = {}  # dtype -> a read-only vector of ones, grown to the longest sum seen


def _leading_rows(array: Any, axis: tuple | None) -> int:
    """The number of rows when ``array.sum(axis)`` is a sum over leading axes that BLAS should
    do (a C-contiguous float32/float64 array, ``axis`` = 0..k-1 with k < ndim), else 0."""
    if axis is None or array.dtype.char not in "fd" or not array.flags.c_contiguous:
        return 0
    k = len(axis)
    if k >= array.ndim or axis[-1] != k - 1:  # sorted and distinct: 0..k-1 iff the last is k-1
        return 0
    rows = 1
    for n in array.shape[:k]:
        rows *= n
    if rows < _BLAS_SUM_MIN_ROWS or array.size < rows * _BLAS_SUM_MIN_COLS:
        return 0
    return rows


def _ones(dtype: Any, n: int) -> numpy.ndarray:
    ones = _ONES.get(dtype)
    if ones is None or ones.size < n:
        ones = numpy.ones(max(n, 1024), dtype)
        ones.flags.writeable = False
        _ONES[dtype] = ones
    return ones[:n]


_SCATTER_UFUNCS = {
    "sum": numpy.add,
    "prod": numpy.multiply,
    "amax": numpy.maximum,
    "amin": numpy.minimum,
}


def _padded_size(
    in_size: tuple, kernel: tuple, stride: tuple, padding: tuple, dilation: tuple, out_size: tuple
) -> tuple:
    """The padded image that holds the input after ``padding`` and every window's reach."""
    return tuple(
        max(p + n, (o - 1) * s + d * (k - 1) + 1)
        for n, k, s, p, d, o in zip(in_size, kernel, stride, padding, dilation, out_size)
    )


# im2col copies one output row at a time: for short rows (LeNet's conv2: 10 pixels, 192 000
# rows) the per-row cost of NumPy's copy loop outweighs the bytes. Below this row length the
# last dim's kernel offsets are expanded first (``_im2col_rows_first``). Measured on NumPy, one
# thread, CPU ms per call, cache flushed between calls: LeNet's conv2 columns 1.55 -> 1.2
# (0.6 with a warm cache), its conv1 (28-pixel rows) 1.55 -> 1.6, a 3x3 32 x 32 conv
# (32-pixel rows) 5.3 -> 6.1.
ROWS_FIRST_MAX_ROW = 16


def _expand_rows_first(kernel: tuple, stride: tuple, out_size: tuple) -> bool:
    """Whether ``_im2col_rows_first`` pays: 2-d or more, a real kernel along the last dim,
    short output rows, and stride 1 along the other dims (so a window of the expanded rows is
    one contiguous block of out_size[1:] per kernel offset)."""
    return (
        len(kernel) >= 2
        and kernel[-1] > 1
        and out_size[-1] <= ROWS_FIRST_MAX_ROW
        and all(s == 1 for s in stride[:-1])
    )


def _im2col_rows_first(
    image: Any, kernel: tuple, stride: tuple, dilation: tuple, out_size: tuple, batch_inner: bool
) -> numpy.ndarray:
    """im2col of the padded ``image`` in two copies with long inner loops, the same columns as
    the loop over all kernel offsets: first ``rows`` (N, C, k_last, *padded[:-1], out[-1]),
    every padded row read at each offset of the last dim; then one copy per offset of the other
    dims, whose windows of ``rows`` are contiguous blocks (stride 1 there). NumPy copies
    ``prod(out_size)`` elements per inner loop instead of ``out_size[-1]``."""
    lead = image.shape[:2]
    k, s, d, o = kernel[-1], stride[-1], dilation[-1], out_size[-1]
    rows = numpy.empty(lead + (k,) + image.shape[2:-1] + (o,), dtype=image.dtype)
    for j in range(k):
        rows[:, :, j] = image[..., j * d : j * d + (o - 1) * s + 1 : s]
    if batch_inner:
        col = numpy.empty(lead[1:] + tuple(kernel) + lead[:1] + tuple(out_size), image.dtype)
    else:
        col = numpy.empty(lead + tuple(kernel) + tuple(out_size), dtype=image.dtype)
    for offset in itertools.product(*(range(k) for k in kernel[:-1])):
        window = rows[(slice(None),) + _window(offset, stride[:-1], dilation[:-1], out_size[:-1])]
        if batch_inner:  # (N, C, k_last, *out) -> (C, k_last, N, *out)
            col[(slice(None),) + offset] = window.transpose(1, 2, 0, *range(3, window.ndim))
        else:
            col[(slice(None), slice(None)) + offset] = window
    return col


def _window(offset: tuple, stride: tuple, dilation: tuple, out_size: tuple) -> tuple:
    """The strided slice of the padded image that kernel ``offset`` sees at every output pixel."""
    return (slice(None), slice(None)) + tuple(
        slice(k * d, k * d + (o - 1) * s + 1, s)
        for k, s, d, o in zip(offset, stride, dilation, out_size)
    )

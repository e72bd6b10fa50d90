"""Indexing: ``t[index]``, ``gather``, ``index_select``, ``masked_fill``, ``one_hot``.

Every gather-like op is a ``Getitem`` with some index tuple; its backward is ``IndexAdd``, which
scatter-adds the gradient into zeros (repeated indices accumulate), and whose own backward is
``Getitem`` again, so indexing is differentiable to any order.
"""

from __future__ import annotations

import numbers
from typing import Any

import backends
from backends import dtypes as _dtypes

from ..function import Function
from ..grad_mode import _state, no_grad
from ..tensor import Tensor, _normalize_dim
from ..views import ViewFunction


def _is_advanced(index: tuple, ndarray: Any) -> bool:
    return any(isinstance(i, ndarray) for i in index)


class Getitem(ViewFunction):
    """``a[index]``: a view for basic indices (ints, slices, None, ...), a copy for advanced."""

    @staticmethod
    def _is_view(a, out, index):
        # An array in the index (even a 0-d one) makes NumPy and CuPy copy; ints and slices don't.
        for item in index:
            # Any backend's array (not only a class named "ndarray"); a NumPy integer scalar is
            # an int to indexing.
            if hasattr(item, "shape") and not isinstance(item, numbers.Integral):
                return False
        return True

    @staticmethod
    def forward(ctx, a, index):
        ctx.input_shape = a.shape
        ctx.index = index
        out = a[index]
        if type(out) is not type(a) and not any(item is Ellipsis for item in index):
            # NumPy gives a scalar (a copy) for a full integer index; with ``...`` it gives a
            # 0-d view, which in-place writes through ``t[0]`` must reach.
            out = a[index + (Ellipsis,)]
        return out

    @staticmethod
    def backward(ctx, grad_out):
        return IndexAdd.apply(grad_out, ctx.input_shape, ctx.index), None


class CopySlices(Function):
    """The new value of a tensor one of whose views was changed in place (PyTorch's CopySlices):
    ``base`` outside the view's region, ``value`` inside it. The in-place write already did the
    forward's work; backward splits the gradient between the old base and the view's value.
    """

    @staticmethod
    def forward(ctx, base, value, chain):
        ctx.chain = chain
        ctx.shape = base.shape
        return base

    @staticmethod
    def backward(ctx, grad_out):
        from ..views import replay

        xp = ctx.xp
        backend = ctx.backend
        size = 1
        for s in ctx.shape:
            size *= s
        positions = Tensor._make(xp.arange(size).reshape(ctx.shape), backend)
        with no_grad():
            region = replay(ctx.chain, positions).data
        outside = xp.ones(size, dtype=grad_out.dtype)
        outside[region.reshape(-1)] = 0
        mask = Tensor._make(outside.reshape(ctx.shape), backend)
        return grad_out * mask, replay(ctx.chain, grad_out), None


class IndexAdd(Function):
    """zeros(shape) with ``grad`` added at ``index``."""

    @staticmethod
    def forward(ctx, grad, shape, index):
        ctx.index = index
        xp = ctx.xp
        out = xp.zeros(shape, dtype=grad.dtype)
        if _is_advanced(index, xp.ndarray):
            ctx.backend.scatter_add(out, index, grad)
        else:
            out[index] = grad
        return out

    @staticmethod
    def backward(ctx, grad_out):
        return Getitem.apply(grad_out, ctx.index), None, None


def _host_index(items: Any) -> Any:
    """A list (or scalar) index as a host array; an empty list is an empty int64 index."""
    array = _dtypes.host_array(items)
    if array.size == 0 and array.dtype.kind == "f":
        array = array.astype(_dtypes.int64)
    return array


def _normalize_index(a: Tensor, index: Any) -> tuple:
    """Tensors, lists and bool masks in an index become backend integer arrays."""
    xp = a._backend.xp
    if not isinstance(index, tuple):
        index = (index,)
    out = []
    for item in index:
        if isinstance(item, Tensor):
            if item._backend is not a._backend:
                raise RuntimeError(
                    f"getitem: indices on {item.device} cannot index a tensor on {a.device}"
                )
            item = item.data
        elif isinstance(item, list):
            item = a._backend.from_host(_host_index(item))
        elif type(item).__module__ == "numpy" and xp.__name__ != "numpy":
            item = a._backend.from_host(item)
        if isinstance(item, xp.ndarray):
            if item.dtype == _dtypes.bool_:
                out.extend(item.nonzero())
                continue
            if item.dtype.kind not in "iu":
                raise IndexError(
                    f"getitem: tensors used as indices must be long, int or bool, got {item.dtype}"
                )
        out.append(item)
    return tuple(out)


def getitem(a: Tensor, index: Any) -> Tensor:
    index = _normalize_index(a, index)
    try:
        return Getitem.apply(a, index)
    except IndexError as exc:
        raise IndexError(f"getitem: {exc} (tensor of shape {a.shape})") from None


def setitem(a: Tensor, index: Any, value: Any) -> None:
    """``a[index] = value``. In the graph (grad mode, and ``a`` or ``value`` requires grad) a
    basic index is PyTorch's view + ``copy_`` (``a`` gets a ``CopySlices`` node), an advanced
    one (masks, index tensors) an in-place ``scatter.IndexPut``."""
    if _state.enabled and (a.requires_grad or (isinstance(value, Tensor) and value.requires_grad)):
        if a.requires_grad and a.grad_fn is None:
            raise RuntimeError(
                f"setitem: a leaf Variable that requires grad (shape {a.shape}) is being used in "
                "an in-place operation; assign inside `with autograd.no_grad():` or into a clone()"
            )
        index = _normalize_index(a, index)
        from .elementwise import inplace

        if Getitem._is_view(a.data, None, index):
            inplace(getitem(a, index), "copy", value)
        else:
            inplace(a, "index_put", (index, value))
        return
    index = _normalize_index(a, index)
    if isinstance(value, Tensor):
        if value._backend is not a._backend:
            raise RuntimeError(
                f"setitem: value on {value.device} cannot be assigned into a tensor on {a.device}"
            )
        value = value.data
    from .elementwise import refuse_overlapping

    refuse_overlapping(a, "setitem")
    try:
        a.data[index] = value
    except IndexError as exc:
        raise IndexError(f"setitem: {exc} (tensor of shape {a.shape})") from None
    except ValueError as exc:
        raise RuntimeError(f"setitem: {exc} (tensor of shape {a.shape})") from None
    a._version += 1


def _index_array(a: Tensor, index: Any, op: str) -> Any:
    if isinstance(index, Tensor):
        if index._backend is not a._backend:
            raise RuntimeError(f"{op}: index on {index.device}, input on {a.device}")
        index = index.data
    else:
        index = a._backend.from_host(_host_index(index))
    if index.dtype.kind not in "iu":
        raise TypeError(f"{op}: index must be an integer tensor (int64), got {index.dtype}")
    return index


def _out_of_range(backend: Any, index: Any, n: int) -> bool:
    """Whether any index is outside [-n, n): one explicit device-to-host read.

    Worth its round trip: NumPy raises for a bad index, but a GPU would wrap it silently.
    """
    if not index.size:
        return False
    return bool(backend.to_host(((index < -n) | (index >= n)).any()))


def host_bool(data: Any) -> bool:
    """A device boolean (a 0-d array, or ``.any()`` of one) as a Python bool, in one explicit
    transfer: ``bool(device_array)`` is a hidden round trip on a GPU (and refused by the strict
    device of the test suite)."""
    return bool(backends.backend_of_array(data).to_host(data))


def host_min_max(data: Any) -> tuple:
    """The smallest and largest element of a (non-empty) backend array as Python numbers, read
    to the host in one explicit transfer (an implicit ``int(data.min())`` would be two hidden
    device round trips on a GPU)."""
    backend = backends.backend_of_array(data)
    low, high = backend.to_host(backend.xp.stack([data.min(), data.max()])).tolist()
    return low, high


def gather(a: Tensor, dim: int, index: Any) -> Tensor:
    """``out[i][j] = a[i][index[i][j]]`` for ``dim=1`` (and likewise for any dim).

    Shape: ``index`` has ``a``'s number of dims and is no larger outside ``dim``; out = index.
    """
    index = _index_array(a, index, "gather")
    ndim = a.data.ndim
    dim = _normalize_dim(dim, ndim, "gather")
    if ndim == 0:
        # PyTorch treats a 0-d input as one element: the index (0-d or 1-d) holds only 0s.
        if index.ndim > 1:
            raise ValueError(f"gather: index {index.shape} must be 0-d or 1-d for a 0-d input")
        if index.size and host_bool(((index != 0) & (index != -1)).any()):
            raise IndexError("gather: index out of range for a 0-d input (only 0 is valid)")
        return Getitem.apply(a.reshape(1), (index * 0,))
    if index.ndim != ndim:
        raise ValueError(
            f"gather: index {index.shape} and input {a.shape} must have the same number of dims"
        )
    for d in range(ndim):
        if d != dim and index.shape[d] > a.data.shape[d]:
            raise ValueError(
                f"gather: index {index.shape} is larger than input {a.shape} at dimension {d}"
            )
    n = a.data.shape[dim]
    if _out_of_range(a._backend, index, n):
        raise IndexError(f"gather: index out of range for dimension {dim} of size {n}")
    # An open grid of positions (xp.indices(sparse=True) is NumPy-only), index along ``dim``.
    xp = a._backend.xp
    grid = [
        xp.arange(size).reshape([size if i == d else 1 for i in range(ndim)])
        for d, size in enumerate(index.shape)
    ]
    grid[dim] = index
    return Getitem.apply(a, tuple(grid))


def index_select(a: Tensor, dim: int, index: Any) -> Tensor:
    """Rows (or slices along ``dim``) picked by the 1-D integer ``index``."""
    index = _index_array(a, index, "index_select")
    if index.ndim > 1:
        raise ValueError(f"index_select: index must be 1-D, got shape {index.shape}")
    dim = _normalize_dim(dim, a.data.ndim, "index_select")
    if a.data.ndim == 0:
        if index.size != 1:
            raise IndexError(
                f"index_select: index to a 0-d input must have one value, got {index.size}"
            )
        if host_bool(((index != 0) & (index != -1)).any()):
            raise IndexError("index_select: index out of range for a 0-d input (only 0 is valid)")
        return Getitem.apply(a.reshape(1), (index.reshape(()) * 0,))
    n = a.data.shape[dim]
    if _out_of_range(a._backend, index, n):
        raise IndexError(f"index_select: index out of range for dimension {dim} of size {n}")
    return Getitem.apply(a, (slice(None),) * dim + (index.reshape(-1),))


def masked_fill(a: Tensor, mask: Any, value: Any) -> Tensor:
    """``value`` where ``mask`` is True; the gradient flows only where it is False."""
    from .elementwise import where

    if isinstance(mask, Tensor) and mask.dtype != _dtypes.bool_:
        raise TypeError(f"masked_fill: mask must be a bool tensor, got {mask.dtype}")
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise ValueError(
                f"masked_fill: value must be a 0-dim tensor or a number, got shape {value.shape}"
            )
        value = value.item() if not value.requires_grad else value
    return where(mask, value, a)


def one_hot(t: Tensor, num_classes: int = -1) -> Tensor:
    """int64 one-hot encoding with a new last dimension (no gradient, as PyTorch)."""
    if t.data.dtype.kind not in "iu":
        raise TypeError(f"one_hot: expected an integer (int64) tensor, got {t.dtype}")
    xp = t._backend.xp
    low, high = host_min_max(t.data) if t.data.size else (0, -1)
    if num_classes == -1:
        num_classes = high + 1
    if low < 0 or high >= num_classes:
        raise ValueError(f"one_hot: class values must be in [0, {num_classes}), got {t.tolist()}")
    out = (t.data[..., None] == xp.arange(num_classes)).astype(_dtypes.int64)
    return Tensor._make(out, t._backend)

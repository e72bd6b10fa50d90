"""Ordering and counting: sort, argsort, msort, topk, unique, unique_consecutive, searchsorted,
bucketize, bincount, histc.

Orders come from the array library's own stable sort (``xp.argsort(kind="stable")``; CuPy's sort
is stable); the values are then read along the sorted indices with ``Pick`` (each position read
once, so the gradient is a plain write), differentiable to any order. The counting ops return
integers (no gradient).
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any

from backends import dtypes as _dtypes

from ..tensor import Tensor, _normalize_dim
from .index import host_min_max
from .scatter import Pick, along_dim_grid

# PyTorch's torch.return_types: tuples whose fields are also attributes.
SortResult = namedtuple("sort", ["values", "indices"])
TopKResult = namedtuple("topk", ["values", "indices"])


def _order(xp: Any, data: Any, axis: int, descending: bool) -> Any:
    """Stable argsort along ``axis``; descending keeps equal elements in their original order
    and puts NaN first (ascending puts it last), as PyTorch.
    """
    if not descending:
        return xp.argsort(data, axis=axis, kind="stable")
    n = data.shape[axis]
    flipped = xp.flip(data, axis=axis)
    order = xp.argsort(flipped, axis=axis, kind="stable")
    return (n - 1) - xp.flip(order, axis=axis)


def _sort_dim(a: Tensor, dim: int, op: str) -> int:
    if a.data.dtype.kind == "c":
        raise RuntimeError(f"{op}: complex tensors have no order")
    return _normalize_dim(dim, a.data.ndim, op)


def argsort(a: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> Tensor:
    """The int64 indices that sort ``a`` along ``dim``. Always stable (``stable`` is accepted
    for PyTorch's signature). Shape: ``a``'s.
    """
    dim = _sort_dim(a, dim, "argsort")
    xp = a._backend.xp
    if a.data.ndim == 0:
        return Tensor._make(xp.zeros((), dtype=_dtypes.int64), a._backend)
    order = _order(xp, a.data, dim, descending)
    return Tensor._make(order.astype(_dtypes.int64, copy=False), a._backend)


def sort(a: Tensor, dim: int = -1, descending: bool = False, stable: bool = False) -> Any:
    """``(values, indices)`` sorted along ``dim`` (a namedtuple: ``.values``, ``.indices``).

    Always stable; NaN sorts as the largest value. Shape: both ``a``'s.
    """
    indices = argsort(a, dim, descending, stable)
    if a.data.ndim == 0:
        return SortResult(Pick.apply(a, ()), indices)
    grid = along_dim_grid(a._backend.xp, indices.data, _normalize_dim(dim, a.data.ndim, "sort"))
    return SortResult(Pick.apply(a, grid), indices)


def msort(a: Tensor) -> Tensor:
    """``sort(a, dim=0).values``. Shape: ``a``'s."""
    return sort(a, 0).values


def topk(a: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> Any:
    """The ``k`` largest (``largest=False``: smallest) elements along ``dim`` and their int64
    indices, as a namedtuple. Shape: ``a``'s with ``k`` along dim.

    Where we differ: the result is always sorted, and ties keep their original order.
    """
    ndim = a.data.ndim
    dim = _sort_dim(a, dim, "topk")
    n = a.data.shape[dim] if ndim else 1
    if not isinstance(k, int) or isinstance(k, bool) or not 0 <= k <= n:
        raise RuntimeError(
            f"topk: k ({k}) must be an int in [0, {n}], the size of dimension {dim} of {a.shape}"
        )
    values, indices = sort(a, dim, descending=largest)
    if ndim == 0:
        return TopKResult(values, indices)
    index = (slice(None),) * dim + (slice(0, k),)
    return TopKResult(values[index], indices[index])


# -------------------------------------------------------------------------------- unique
def _group_starts(xp: Any, rows: Any) -> Any:
    """True where a row differs from the previous one (rows: (n, m) array; row 0 starts)."""
    n = rows.shape[0]
    starts = xp.ones(n, dtype=_dtypes.bool_)
    if n > 1:
        different = rows[1:] != rows[:-1]
        starts[1:] = different.any(axis=1) if different.ndim == 2 else different
    return starts


def _consecutive_groups(a: Tensor, dim: Any, order: Any) -> tuple:
    """(representative rows, inverse, counts) of the runs of equal rows of ``a`` along ``dim``,
    the rows taken in ``order`` (an index array, or None for as-is).
    """
    xp = a._backend.xp
    data = a.data
    if dim is None:
        rows = data.reshape(-1, 1)
    else:
        rows = xp.moveaxis(data, dim, 0)
        rows = rows.reshape(rows.shape[0], -1)
    if order is not None:
        rows = rows[order]
    n = rows.shape[0]
    starts = _group_starts(xp, rows)
    group = xp.cumsum(starts) - 1
    first = xp.nonzero(starts)[0]
    ends = xp.concatenate([first[1:], xp.asarray([n], dtype=first.dtype)])
    counts = (ends - first).astype(_dtypes.int64)
    inverse = xp.empty(n, dtype=_dtypes.int64)
    if order is None:
        inverse = group.astype(_dtypes.int64)
    else:
        inverse[order] = group
    picked = first if order is None else order[first]
    return picked, inverse, counts


def _unique_result(
    a: Tensor, dim: Any, picked: Any, inverse: Any, counts: Any, return_inverse: bool,
    return_counts: bool,
) -> Any:  # fmt: skip
    xp = a._backend.xp
    backend = a._backend
    if dim is None:
        values = a.data.reshape(-1)[picked]
        inverse = inverse.reshape(a.data.shape)
    else:
        values = xp.take(a.data, picked, axis=dim)
    out = [Tensor._make(values, backend)]
    if return_inverse:
        out.append(Tensor._make(inverse, backend))
    if return_counts:
        out.append(Tensor._make(counts, backend))
    return out[0] if len(out) == 1 else tuple(out)


def _rows_order(xp: Any, a: Any, dim: Any) -> Any:
    """The stable order that sorts ``a``'s elements (dim None) or its slices along ``dim``
    lexicographically (xp.lexsort: the last key is the primary one).
    """
    if dim is None:
        return xp.argsort(a.reshape(-1), kind="stable")
    rows = xp.moveaxis(a, dim, 0)
    rows = rows.reshape(rows.shape[0], -1)
    if rows.shape[1] == 0:
        return xp.arange(rows.shape[0])
    return xp.lexsort(rows.T[::-1])


def unique(
    a: Tensor, sorted: bool = True, return_inverse: bool = False, return_counts: bool = False,
    dim: int | None = None,
) -> Any:  # fmt: skip
    """The distinct elements (or slices along ``dim``) in ascending order, with, on request, the
    int64 ``inverse`` (where each input element went) and ``counts``. No gradient (as PyTorch).

    Shape: values (n_unique,) or ``a``'s with n_unique along dim; inverse ``a``'s shape (dim None)
    or (a.shape[dim],); counts (n_unique,). Where we differ: the result is always sorted.
    """
    xp = a._backend.xp
    if dim is not None:
        if a.data.ndim == 0:
            raise IndexError("unique: dim given for a 0-d tensor")
        dim = _normalize_dim(dim, a.data.ndim, "unique")
    order = _rows_order(xp, a.data, dim)
    picked, inverse, counts = _consecutive_groups(a, dim, order)
    return _unique_result(a, dim, picked, inverse, counts, return_inverse, return_counts)


def unique_consecutive(
    a: Tensor, return_inverse: bool = False, return_counts: bool = False, dim: int | None = None
) -> Any:
    """Collapse runs of equal consecutive elements (or slices along ``dim``) into one.

    Shape: as ``unique``. No gradient (as PyTorch).
    """
    if dim is not None:
        if a.data.ndim == 0:
            raise IndexError("unique_consecutive: dim given for a 0-d tensor")
        dim = _normalize_dim(dim, a.data.ndim, "unique_consecutive")
    picked, inverse, counts = _consecutive_groups(a, dim, None)
    return _unique_result(a, dim, picked, inverse, counts, return_inverse, return_counts)


# ----------------------------------------------------------------------- searching, counting
def searchsorted(
    sorted_sequence: Tensor, values: Any, *, out_int32: bool = False, right: bool = False,
    side: str | None = None, sorter: Any = None,
) -> Tensor:  # fmt: skip
    """Where ``values`` would be inserted into ``sorted_sequence`` (its last dim) to keep it
    sorted: the first such place, or the last with ``right=True`` / ``side='right'``.

    Shape: ``values``'s. A 1-d sequence serves every value; an N-d one has a row per value row.
    """
    seq = sorted_sequence
    xp = seq._backend.xp
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError(f"searchsorted: side must be 'left' or 'right', got {side!r}")
        if right and side == "left":
            raise RuntimeError("searchsorted: side='left' and right=True contradict each other")
        right = side == "right"
    scalar = not isinstance(values, Tensor)
    if scalar:
        values = Tensor._make(xp.asarray(values, dtype=seq.data.dtype), seq._backend)
    elif values._backend is not seq._backend:
        raise RuntimeError(f"searchsorted: values on {values.device}, sequence on {seq.device}")
    data = seq.data
    if sorter is not None:
        order = sorter.data if isinstance(sorter, Tensor) else xp.asarray(sorter)
        if order.shape != data.shape:
            raise RuntimeError(
                f"searchsorted: sorter {order.shape} must have the shape of the sequence "
                f"{data.shape}"
            )
        data = xp.take_along_axis(data, order.astype(_dtypes.int64), axis=-1)
    if data.ndim == 0:
        raise RuntimeError("searchsorted: sorted_sequence must be at least 1-d, got a 0-d tensor")
    dtype = _dtypes.int32 if out_int32 else _dtypes.int64
    side_name = "right" if right else "left"
    if data.ndim == 1:
        found = xp.searchsorted(data, values.data, side=side_name)
        return Tensor._make(xp.asarray(found, dtype=dtype), seq._backend)
    if values.data.ndim != data.ndim or values.data.shape[:-1] != data.shape[:-1]:
        raise RuntimeError(
            f"searchsorted: the leading dims of sorted_sequence {data.shape} and values "
            f"{values.shape} must match (all but the last)"
        )
    # A batch of rows: the insertion point is how many row entries are below (or not above) v.
    below = (
        data[..., None, :] <= values.data[..., :, None]
        if right
        else (data[..., None, :] < values.data[..., :, None])
    )
    return Tensor._make(below.sum(axis=-1).astype(dtype), seq._backend)


def bucketize(
    a: Any, boundaries: Tensor, *, out_int32: bool = False, right: bool = False
) -> Tensor:
    """The index of the bucket (between consecutive 1-d ``boundaries``) each element falls in:
    ``boundaries[i-1] < x <= boundaries[i]``, or ``<= x <`` with ``right=True``.

    Shape: ``a``'s; int64 (int32 with ``out_int32``).
    """
    if not isinstance(boundaries, Tensor) or boundaries.data.ndim != 1:
        shape = getattr(boundaries, "shape", None)
        raise RuntimeError(f"bucketize: boundaries must be a 1-d tensor, got shape {shape}")
    return searchsorted(boundaries, a, out_int32=out_int32, right=right)


def bincount(a: Tensor, weights: Tensor | None = None, minlength: int = 0) -> Tensor:
    """Counts of each value of a non-negative 1-d integer tensor (weighted sums with ``weights``).

    Shape: (max(a.max() + 1, minlength),). int64 counts; float weights keep their dtype, other
    weights give float64 (an empty input gives int64 zeros either way), as PyTorch.
    """
    xp = a._backend.xp
    if a.data.ndim != 1 or a.data.dtype.kind not in "iub":
        raise RuntimeError(
            f"bincount: only supports 1-d non-negative integral inputs, got {a.dtype} of shape "
            f"{a.shape}"
        )
    if minlength < 0:
        raise RuntimeError(f"bincount: minlength should be >= 0, got {minlength}")
    if a.data.size and host_min_max(a.data)[0] < 0:
        raise RuntimeError("bincount: input values must be non-negative")
    if weights is None or a.data.size == 0:
        # PyTorch gives int64 counts for an empty input even with weights.
        out = xp.bincount(a.data, minlength=minlength).astype(_dtypes.int64)
        return Tensor._make(out, a._backend)
    if weights.data.shape != a.data.shape:
        raise RuntimeError(
            f"bincount: weights {weights.shape} should have the same length as input {a.shape}"
        )
    dtype = weights.data.dtype if weights.data.dtype.kind == "f" else _dtypes.float64
    out = xp.bincount(a.data, weights=weights.data.astype(_dtypes.float64), minlength=minlength)
    return Tensor._make(out.astype(dtype), a._backend)


def histc(a: Tensor, bins: int = 100, min: Any = 0, max: Any = 0) -> Tensor:
    """A histogram of ``bins`` equal bins over [min, max] (the data's range when min == max);
    elements outside are ignored. Shape: (bins,), ``a``'s float dtype. No gradient.
    """
    xp = a._backend.xp
    if a.data.dtype.kind != "f":
        raise RuntimeError(f"histc: expected a floating point tensor, got {a.dtype}")
    if bins <= 0:
        raise RuntimeError(f"histc: bins must be > 0, got {bins}")
    low, high = float(min), float(max)
    if low > high:
        raise RuntimeError(f"histc: max ({high}) must be larger than min ({low})")
    if low == high and a.data.size:
        low, high = (float(v) for v in host_min_max(a.data))
    if low == high:
        low, high = low - 1, high + 1
    data = a.data.reshape(-1)
    inside = data[(data >= low) & (data <= high)]
    # PyTorch's bin rule: floor((x - min) * bins / (max - min)), with x == max in the last bin.
    index = ((inside - low) * bins / (high - low)).astype(_dtypes.int64)
    index = xp.minimum(index, bins - 1)
    return Tensor._make(xp.bincount(index, minlength=bins).astype(a.data.dtype), a._backend)

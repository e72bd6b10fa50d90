"""Triangles and diagonals: tril, triu, their index forms, diagonal, diag_embed, diag, diagflat,
block_diag.

``diagonal`` reads with two index arrays (a ``Pick``: each position once) and ``diag_embed`` is
its transpose, a write into zeros; both are differentiable to any order.
"""

from __future__ import annotations

from typing import Any

import backends
from backends import dtypes as _dtypes

from ..function import Function
from ..tensor import Tensor, _normalize_dim
from .index import IndexAdd
from .scatter import Pick
from .shape import Pad, cat, permute, reshape


class Triangle(Function):
    """The lower (``upper=False``) or upper triangle of the last two dims, zeros elsewhere."""

    @staticmethod
    def forward(ctx, a, diagonal, upper):
        ctx.diagonal = diagonal
        ctx.upper = upper
        return ctx.xp.triu(a, diagonal) if upper else ctx.xp.tril(a, diagonal)

    @staticmethod
    def backward(ctx, grad_out):
        return Triangle.apply(grad_out, ctx.diagonal, ctx.upper), None, None


def _triangle(a: Tensor, diagonal: int, upper: bool) -> Tensor:
    op = "triu" if upper else "tril"
    if a.data.ndim < 2:
        raise RuntimeError(f"{op}: input tensor must have at least 2 dimensions, got {a.shape}")
    if not isinstance(diagonal, int) or isinstance(diagonal, bool):
        raise TypeError(f"{op}: diagonal must be an int, got {type(diagonal).__name__}")
    return Triangle.apply(a, diagonal, upper)


def tril(a: Tensor, diagonal: int = 0) -> Tensor:
    """Zero the elements above the ``diagonal``-th diagonal of the last two dims. Shape: same."""
    return _triangle(a, diagonal, False)


def triu(a: Tensor, diagonal: int = 0) -> Tensor:
    """Zero the elements below the ``diagonal``-th diagonal of the last two dims. Shape: same."""
    return _triangle(a, diagonal, True)


def _triangle_indices(row: int, col: int, offset: int, upper: bool, dtype: Any, device: Any):
    op = "triu_indices" if upper else "tril_indices"
    if row < 0 or col < 0:
        raise RuntimeError(f"{op}: row and col must be non-negative, got {row} and {col}")
    backend = backends.get_backend("cpu" if device is None else device)
    xp = backend.xp
    dtype = _dtypes.int64 if dtype is None else _dtypes.to_dtype(dtype)
    if dtype.kind not in "iu":
        raise RuntimeError(f"{op}: dtype must be an integer type, got {dtype}")
    rows, cols = xp.nonzero(
        xp.triu(xp.ones((row, col), dtype=_dtypes.bool_), offset)
        if upper
        else xp.tril(xp.ones((row, col), dtype=_dtypes.bool_), offset)
    )
    return Tensor._make(xp.stack([rows, cols]).astype(dtype), backend)


def tril_indices(
    row: int, col: int, offset: int = 0, *, dtype: Any = None, device: Any = None
) -> Tensor:
    """The (2, N) row and column indices of the lower triangle of a row x col matrix (int64).

    Shape: (2, N), N the number of entries on or below the ``offset``-th diagonal.
    """
    return _triangle_indices(row, col, offset, False, dtype, device)


def triu_indices(
    row: int, col: int, offset: int = 0, *, dtype: Any = None, device: Any = None
) -> Tensor:
    """The (2, N) row and column indices of the upper triangle of a row x col matrix (int64).

    Shape: (2, N), N the number of entries on or above the ``offset``-th diagonal.
    """
    return _triangle_indices(row, col, offset, True, dtype, device)


# ------------------------------------------------------------------------------ diagonals
def _diagonal_index(xp: Any, rows: int, cols: int, offset: int) -> tuple:
    """(row, col) index arrays of the ``offset``-th diagonal of a rows x cols matrix."""
    start_row = max(-offset, 0)
    start_col = max(offset, 0)
    n = max(min(rows - start_row, cols - start_col), 0)
    steps = xp.arange(n)
    return steps + start_row, steps + start_col


def _two_dims(ndim: int, dim1: int, dim2: int, op: str) -> tuple:
    d1 = _normalize_dim(dim1, ndim, op)
    d2 = _normalize_dim(dim2, ndim, op)
    if d1 == d2:
        raise RuntimeError(f"{op}: dim1 and dim2 cannot be identical, got {dim1} and {dim2}")
    return d1, d2


def diagonal(a: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The ``offset``-th diagonal of the planes (dim1, dim2), as a new last dim.

    Shape: ``a``'s without dim1 and dim2, plus the diagonal's length. A copy, not a view.
    """
    return _diagonal_of(a, offset, dim1, dim2)


def _diagonal_of(a: Tensor, offset: int, dim1: int, dim2: int) -> Tensor:
    ndim = a.data.ndim
    if ndim < 2:
        raise RuntimeError(f"diagonal: expected a tensor of at least 2 dims, got {a.shape}")
    d1, d2 = _two_dims(ndim, dim1, dim2, "diagonal")
    order = [d for d in range(ndim) if d not in (d1, d2)] + [d1, d2]
    moved = permute(a, order) if order != list(range(ndim)) else a
    rows, cols = _diagonal_index(a._backend.xp, a.data.shape[d1], a.data.shape[d2], offset)
    return Pick.apply(moved, (slice(None),) * (ndim - 2) + (rows, cols))


def diag_embed(a: Tensor, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """Matrices whose (dim1, dim2) planes carry the last dim of ``a`` on their ``offset``-th
    diagonal. Shape: (*, n) -> ``*`` with two dims of size n + |offset| inserted at dim1, dim2.
    """
    if a.data.ndim == 0:
        raise RuntimeError("diag_embed: expected a tensor of at least 1 dim, got a 0-d tensor")
    ndim = a.data.ndim + 1
    d1, d2 = _two_dims(ndim, dim1, dim2, "diag_embed")
    n = a.data.shape[-1] + abs(offset)
    batch = a.data.shape[:-1]
    rows, cols = _diagonal_index(a._backend.xp, n, n, offset)
    square = IndexAdd.apply(a, batch + (n, n), (slice(None),) * len(batch) + (rows, cols))
    # ``square`` has the plane last; move its two dims to (d1, d2), the batch dims around them.
    order = [None] * ndim
    order[d1] = ndim - 2
    order[d2] = ndim - 1
    rest = iter(range(ndim - 2))
    order = [next(rest) if o is None else o for o in order]
    return permute(square, order) if order != list(range(ndim)) else square


def diag(a: Tensor, diagonal: int = 0) -> Tensor:
    """1-d input: the square matrix with it on the ``diagonal``-th diagonal. 2-d input: that
    diagonal as a 1-d tensor. Shape: (n,) -> (n + |d|, n + |d|); (m, n) -> (length,).
    """
    if a.data.ndim == 1:
        return diag_embed(a, diagonal, 0, 1)
    if a.data.ndim == 2:
        return _diagonal_of(a, diagonal, 0, 1)
    raise RuntimeError(f"diag: expected a 1-d or 2-d tensor, got shape {a.shape}")


def diagflat(a: Tensor, offset: int = 0) -> Tensor:
    """The flattened input on the ``offset``-th diagonal of a square matrix.

    Shape: (*) -> (numel + |offset|, numel + |offset|).
    """
    return diag_embed(reshape(a, -1), offset, 0, 1)


def block_diag(*tensors: Any) -> Tensor:
    """A block-diagonal matrix from 0-d, 1-d (a row) and 2-d blocks, zeros elsewhere.

    Shape: (sum of rows, sum of columns). Mixed dtypes promote as ``cat`` does.
    """
    blocks = []
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"block_diag: expected Tensors, got {type(t).__name__} at position {i}")
        if t.data.ndim > 2:
            raise RuntimeError(
                f"block_diag: input {i} must have 2 or fewer dimensions, got shape {t.shape}"
            )
        blocks.append(reshape(t, (1,) * (2 - t.data.ndim) + t.data.shape))
    if not blocks:
        return Tensor._make(backends.cpu.xp.zeros((1, 0), _dtypes.float32), backends.cpu)
    total = sum(b.data.shape[1] for b in blocks)
    rows = []
    left = 0
    for b in blocks:
        width = b.data.shape[1]
        rows.append(Pad.apply(b, ((0, 0), (left, total - left - width)), 0))
        left += width
    return cat(rows, 0)

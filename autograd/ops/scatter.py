"""Writing into positions: scatter, scatter_add, scatter_reduce, index_add/fill/copy/put,
masked_scatter; reading by flat or per-dim positions: take, take_along_dim, masked_select;
finding positions: nonzero, argwhere. And the in-place forms (``scatter_``, ``index_add_``...).

One new primitive, ``IndexPut`` (``a`` with values written at an index; its backward zeroes the
overwritten gradient and reads the values' gradient back with ``Getitem``), plus
``ScatterExtreme`` for amax/amin. Everything else composes ``Getitem``/``IndexAdd``
(scatter-adds go through the backend's ``scatter_add`` duty), so it is differentiable to any order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from backends import dtypes as _dtypes

from ..function import Function
from ..grad_mode import _state
from ..tensor import Tensor, _normalize_dim
from .convert import Clone
from .index import Getitem, IndexAdd, _index_array, _normalize_index, host_min_max
from .shape import expand, reshape


class IndexPut(Function):
    """``a`` with ``values`` written at ``index`` (on repeated positions one write wins)."""

    @staticmethod
    def forward(ctx, a, values, index):
        ctx.index = index
        out = a.copy()
        out[index] = values
        return out

    @staticmethod
    def backward(ctx, grad_out):
        need_a, need_values, _ = ctx.needs_input_grad
        grad_a = IndexPut.apply(grad_out, 0, ctx.index) if need_a else None
        # The engine sums this back to the values' shape when they were broadcast.
        grad_values = Getitem.apply(grad_out, ctx.index) if need_values else None
        return grad_a, grad_values, None


class Pick(Function):
    """``a[index]`` where ``index`` names each position at most once (a permutation, sorted
    order, a diagonal): the backward writes the gradient into zeros instead of scatter-adding.
    """

    @staticmethod
    def forward(ctx, a, index):
        ctx.input_shape = a.shape
        ctx.index = index
        return a[index]

    @staticmethod
    def backward(ctx, grad_out):
        zeros = ctx.xp.zeros(ctx.input_shape, dtype=grad_out.dtype)
        return IndexPut.apply(zeros, grad_out, ctx.index), None


def along_dim_grid(xp: Any, index: Any, dim: int) -> tuple:
    """The open grid that reads ``a[..., index[..., j, ...], ...]`` along ``dim`` (gather's)."""
    grid = [
        xp.arange(size).reshape([size if i == d else 1 for i in range(index.ndim)])
        for d, size in enumerate(index.shape)
    ]
    grid[dim] = index
    return tuple(grid)


class ScatterExtreme(Function):
    """scatter_reduce with amax/amin; tied extremes share the gradient evenly, as PyTorch."""

    @staticmethod
    def forward(ctx, a, values, index, reduce, include_self):
        xp = ctx.xp
        out = a.copy()
        if not include_self:
            out[index] = _identity(xp, a.dtype, reduce)
        ctx.backend.scatter_reduce(out, index, values, reduce)
        ctx.index = index
        ctx.include_self = include_self
        ctx.save_for_backward(a, values, out)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        a, values, out = ctx.saved_tensors
        index = ctx.index
        dtype = grad_out.dtype
        self_hits = (a.detach() == out.detach()).to(dtype)
        if not ctx.include_self:
            self_hits = IndexPut.apply(self_hits, 0, index)
        chosen = Getitem.apply(out.detach(), index)
        value_hits = (values.detach() == chosen).to(dtype)
        count = self_hits + IndexAdd.apply(value_hits, out.shape, index)
        share = grad_out / count.clamp(min=1)
        return share * self_hits, Getitem.apply(share, index) * value_hits, None, None, None


def _identity(xp: Any, dtype: Any, reduce: str) -> Any:
    """The value that a max (min) never picks: -inf (+inf), or the integer type's extreme."""
    if dtype.kind == "f":
        return -xp.inf if reduce == "amax" else xp.inf
    if dtype.kind == "b":
        return reduce == "amin"
    info = xp.iinfo(dtype)
    return info.min if reduce == "amax" else info.max


# ------------------------------------------------------------------------------ checks
def _long_index(a: Tensor, index: Any, op: str) -> Any:
    index = _index_array(a, index, op)
    if index.dtype != _dtypes.int64:
        raise RuntimeError(f"{op}: expected dtype int64 for index, got {index.dtype}")
    return index


def _same_dtype(a: Tensor, src: Tensor, op: str, what: str = "src") -> None:
    if not isinstance(src, Tensor):
        raise TypeError(f"{op}: {what} must be a Tensor, got {type(src).__name__}")
    if src._backend is not a._backend:
        raise RuntimeError(f"{op}: {what} on {src.device}, input on {a.device}")
    if src.dtype != a.dtype:
        raise RuntimeError(
            f"{op}: expected {what} ({src.dtype}) to have the same dtype as self ({a.dtype})"
        )


def _in_range(index: Any, n: int, op: str, dim: int, allow_negative: bool = False) -> None:
    if index.size == 0:
        return
    low = -n if allow_negative else 0
    smallest, largest = host_min_max(index)
    if smallest < low or largest >= n:
        raise IndexError(
            f"{op}: index out of range: values must be in [{low}, {n}) for dimension {dim} of "
            f"size {n}, got [{smallest}, {largest}]"
        )


def _scatter_grid(a: Tensor, dim: int, index: Any, src: Any, op: str) -> tuple:
    """The open grid that puts ``src[i][j]`` at ``a[index[i][j]][j]`` (for dim 0)."""
    ndim = max(a.data.ndim, 1)
    dim = _normalize_dim(dim, a.data.ndim, op)
    index = _long_index(a, index, op)
    if index.ndim != a.data.ndim:
        raise RuntimeError(
            f"{op}: index {index.shape} and self {a.shape} must have the same number of dims"
        )
    shape = a.data.shape if a.data.ndim else (1,)
    if index.ndim == 0:
        index = index.reshape(1)
    for d in range(index.ndim):
        if d != dim and index.shape[d] > shape[d]:
            raise RuntimeError(
                f"{op}: expected index {index.shape} to be no larger than self {a.shape} apart "
                f"from dimension {dim}"
            )
        if isinstance(src, Tensor) and src.data.ndim and index.shape[d] > src.data.shape[d]:
            raise RuntimeError(
                f"{op}: expected index {index.shape} to be no larger than src {src.shape}"
            )
    _in_range(index, shape[dim], op, dim)
    xp = a._backend.xp
    grid = [
        xp.arange(size).reshape([size if i == d else 1 for i in range(ndim)])
        for d, size in enumerate(index.shape)
    ]
    grid[dim] = index
    if a.data.ndim == 0:
        return ()
    return tuple(grid)


def _scatter_values(a: Tensor, index_shape: tuple, src: Any, op: str) -> Any:
    """The part of ``src`` that index covers (a Tensor), or a scalar value."""
    if isinstance(src, Tensor):
        _same_dtype(a, src, op)
        if src.data.ndim != len(index_shape) and src.data.ndim:
            raise RuntimeError(
                f"{op}: src {src.shape} and index {index_shape} must have the same number of dims"
            )
        if src.data.shape == index_shape or not src.data.ndim:
            return src
        return Getitem.apply(src, tuple(slice(0, s) for s in index_shape))
    return src


# ------------------------------------------------------------------------------ scatter
def scatter(a: Tensor, dim: int, index: Any, src: Any = None, *, value: Any = None,
            reduce: str | None = None) -> Tensor:  # fmt: skip
    """``out = a.clone(); out[index[i][j]][j] = src[i][j]`` (dim 0; likewise for any dim).

    ``src`` may be a tensor or a number (``value=``). ``reduce='add'|'multiply'`` combines
    instead of overwriting (PyTorch's older form of ``scatter_reduce``).
    Shape: out = a; index has a's number of dims and is no larger than src.
    """
    if src is None:
        src = value
    if src is None:
        raise TypeError("scatter: expected src (a Tensor) or value (a number)")
    if reduce is not None:
        modes = {"add": "sum", "multiply": "prod"}
        if reduce not in modes:
            raise RuntimeError(f"scatter: reduce must be 'add' or 'multiply', got {reduce!r}")
        if not isinstance(src, Tensor):
            src = expand(_scalar_like(a, src), _index_array(a, index, "scatter").shape)
        return scatter_reduce(a, dim, index, src, modes[reduce])
    if isinstance(src, Tensor) and src.data.ndim == 0 and src.requires_grad is False:
        src = src.item()
    if _nothing_lands(a, index, "scatter"):
        return Clone.apply(a)
    grid = _scatter_grid(a, dim, index, src, "scatter")
    if not grid:
        return _zero_d_write(a, index, src, "scatter")
    values = _scatter_values(a, _grid_shape(grid), src, "scatter")
    return IndexPut.apply(a, values, grid)


def _nothing_lands(a: Tensor, index: Any, op: str) -> bool:
    """An empty index writes nothing, whatever its shape (PyTorch); src then gets no gradient."""
    return _long_index(a, index, op).size == 0


def _grid_shape(grid: tuple) -> tuple:
    shape = [1] * len(grid)
    for g in grid:
        shape = [max(s, n) for s, n in zip(shape, g.shape)]
    return tuple(shape)


def _scalar_like(a: Tensor, value: Any) -> Tensor:
    xp = a._backend.xp
    return Tensor._make(xp.asarray(value, dtype=a.data.dtype), a._backend)


def _zero_d_write(a: Tensor, index: Any, src: Any, op: str) -> Tensor:
    # A 0-d self takes a 0-d (or one-element) index that must be 0.
    index = _long_index(a, index, op)
    _in_range(index, 1, op, 0)
    if index.size == 0:
        return IndexPut.apply(a, a.data, ())
    values = reshape(src, ()) if isinstance(src, Tensor) else src
    return IndexPut.apply(a, values, ())


def scatter_add(a: Tensor, dim: int, index: Any, src: Tensor) -> Tensor:
    """``out = a.clone(); out[index[i][j]][j] += src[i][j]`` (dim 0); repeats accumulate.

    Shape: out = a; index has a's number of dims and is no larger than src.
    """
    if not isinstance(src, Tensor):
        raise TypeError(f"scatter_add: src must be a Tensor, got {type(src).__name__}")
    if _nothing_lands(a, index, "scatter_add"):
        return Clone.apply(a)
    grid = _scatter_grid(a, dim, index, src, "scatter_add")
    if not grid:
        return a + _zero_d_write(a * 0, index, src, "scatter_add")
    values = _scatter_values(a, _grid_shape(grid), src, "scatter_add")
    return a + IndexAdd.apply(values, a.data.shape, grid)


_REDUCTIONS = ("sum", "prod", "mean", "amax", "amin")


def scatter_reduce(
    a: Tensor, dim: int, index: Any, src: Tensor, reduce: str, *, include_self: bool = True
) -> Tensor:
    """Combine ``src`` into ``a`` at ``index`` along ``dim`` with ``reduce`` (sum, prod, mean,
    amax, amin); ``include_self=False`` leaves ``a``'s own values out where anything lands.

    Shape: out = a. Integer ``mean`` rounds down, as PyTorch.
    Where we differ: ``prod`` is refused on CUDA (no atomic multiply in CuPy).
    """
    if reduce not in _REDUCTIONS:
        raise RuntimeError(f"scatter_reduce: reduce must be one of {_REDUCTIONS}, got {reduce!r}")
    if not isinstance(src, Tensor):
        raise TypeError(f"scatter_reduce: src must be a Tensor, got {type(src).__name__}")
    if _nothing_lands(a, index, "scatter_reduce"):
        return Clone.apply(a)
    grid = _scatter_grid(a, dim, index, src, "scatter_reduce")
    if not grid:
        flat_index = (_long_index(a, index, "scatter_reduce").reshape(-1),)
        flat = _scatter_reduce(reshape(a, 1), flat_index, reshape(src, 1), reduce, include_self)
        return reshape(flat, ())
    values = _scatter_values(a, _grid_shape(grid), src, "scatter_reduce")
    return _scatter_reduce(a, grid, values, reduce, include_self)


def _scatter_reduce(
    a: Tensor, grid: tuple, values: Tensor, reduce: str, include_self: bool
) -> Tensor:
    from .elementwise import where

    shape = a.data.shape
    base = a if include_self else IndexPut.apply(a, 0, grid)
    if reduce == "sum":
        return base + IndexAdd.apply(values, shape, grid)
    if reduce in ("amax", "amin"):
        return ScatterExtreme.apply(a, values, grid, reduce, include_self)
    if reduce == "prod":
        return ScatterProd.apply(a, values, grid, include_self)
    # mean: the sum over what landed (and self), divided by how many; untouched entries keep a.
    xp = a._backend.xp
    ones = xp.ones(values.shape, dtype=_dtypes.int64)
    landed = Tensor._make(xp.zeros(shape, dtype=_dtypes.int64), a._backend)
    a._backend.scatter_add(landed.data, grid, ones)
    count = landed + 1 if include_self else landed
    total = base + IndexAdd.apply(values, shape, grid)
    if a.data.dtype.kind in "iu":
        mean = Tensor._make(xp.floor_divide(total.data, xp.maximum(count.data, 1)), a._backend)
    else:
        mean = total / count.clamp(min=1).to(a.dtype)
    return where(count == 0, a, mean)


class ScatterProd(Function):
    """scatter_reduce with prod. The gradient of each factor is the product of the others,
    taken as (product of the non-zero factors) / (this factor, or 1 if it is 0), kept only where
    no other factor is 0: exact with zeros. Differentiable again where no factor is 0.
    """

    @staticmethod
    def forward(ctx, a, values, index, include_self):
        out = a.copy()
        if not include_self:
            out[index] = 1
        ctx.backend.scatter_reduce(out, index, values, "prod")
        ctx.index = index
        ctx.include_self = include_self
        ctx.save_for_backward(a, values)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        from .elementwise import where

        a, values = ctx.saved_tensors
        index = ctx.index
        dtype = grad_out.dtype
        value_zero = values.detach() == 0
        safe_values = where(value_zero, 1.0, values)
        zeros = IndexAdd.apply(value_zero.to(dtype), grad_out.shape, index)
        if ctx.include_self:
            self_zero = a.detach() == 0
            safe_a = where(self_zero, 1.0, a)
            zeros = zeros + self_zero.to(dtype)
        else:
            safe_a = a
        if _state.enabled and (
            bool(value_zero.any()) or (ctx.include_self and bool(self_zero.any()))
        ):
            # The masks below are exact but constant: their own derivative at a 0 is not.
            raise RuntimeError(
                "scatter_reduce: double backward of reduce='prod' where an input is 0 is not "
                "supported (first-order gradients are)"
            )
        nonzero_product = ScatterProd.apply(safe_a, safe_values, index, ctx.include_self)
        weighted = grad_out * nonzero_product
        others_zero = Getitem.apply(zeros.detach(), index) - value_zero.to(dtype)
        grad_values = Getitem.apply(weighted, index) / safe_values * (others_zero == 0).to(dtype)
        if ctx.include_self:
            grad_a = weighted / safe_a * ((zeros.detach() - self_zero.to(dtype)) == 0).to(dtype)
        else:
            # Where anything landed, a's value was replaced, not multiplied in.
            grad_a = IndexPut.apply(grad_out, 0, index)
        return grad_a, grad_values, None, None


# ---------------------------------------------------------------------------- index_*
def _dim_index(a: Tensor, dim: int, index: Any, op: str) -> tuple:
    index = _index_array(a, index, op)
    if index.dtype not in (_dtypes.int64, _dtypes.int32):
        raise RuntimeError(f"{op}: index must be an int64 or int32 tensor, got {index.dtype}")
    if index.ndim > 1:
        raise RuntimeError(f"{op}: index must be a vector (0-d or 1-d), got shape {index.shape}")
    ndim = a.data.ndim
    dim = _normalize_dim(dim, ndim, op)
    n = a.data.shape[dim] if ndim else 1
    _in_range(index, n, op, dim, allow_negative=False)
    if ndim == 0:
        return dim, ()
    return dim, (slice(None),) * dim + (index.reshape(-1),)


def _check_source(a: Tensor, source: Tensor, dim: int, count: int, op: str) -> None:
    _same_dtype(a, source, op, "source")
    expected = list(a.data.shape)
    if expected:
        expected[dim] = count
    got = source.data.shape
    if tuple(expected) != got and not (not got and count == 1 and not a.data.ndim):
        raise RuntimeError(
            f"{op}: source {got} must have the shape of self {a.shape} with dimension {dim} of "
            f"size len(index) = {count}, i.e. {tuple(expected)}"
        )


def index_add(a: Tensor, dim: int, index: Any, source: Tensor, *, alpha: Any = 1) -> Tensor:
    """``out = a.clone(); out[..., index[i], ...] += alpha * source[..., i, ...]`` along dim.

    Shape: out = a; source is a's shape with len(index) along dim.
    """
    dim, where_ = _dim_index(a, dim, index, "index_add")
    count = where_[-1].shape[0] if where_ else 1
    _check_source(a, source, dim, count, "index_add")
    scaled = source if alpha == 1 else source * alpha
    if not where_:
        return a + scaled.reshape(())
    return a + IndexAdd.apply(scaled, a.data.shape, where_)


def index_copy(a: Tensor, dim: int, index: Any, source: Tensor) -> Tensor:
    """``out = a.clone(); out[..., index[i], ...] = source[..., i, ...]`` along dim.

    Shape: out = a; source is a's shape with len(index) along dim.
    """
    dim, where_ = _dim_index(a, dim, index, "index_copy")
    count = where_[-1].shape[0] if where_ else 1
    _check_source(a, source, dim, count, "index_copy")
    return IndexPut.apply(a, reshape(source, ()) if not where_ else source, where_)


def index_fill(a: Tensor, dim: int, index: Any, value: Any) -> Tensor:
    """``a`` with the slices at ``index`` along ``dim`` set to ``value`` (a number or 0-d
    tensor, whose gradient is the sum over the filled slices). Shape: out = a.
    """
    dim, where_ = _dim_index(a, dim, index, "index_fill")
    if where_:
        # Each filled slice counts once in the value's gradient, however often it is named.
        where_ = where_[:-1] + (a._backend.xp.unique(where_[-1]),)
    if isinstance(value, Tensor):
        if value.data.ndim != 0:
            raise RuntimeError(
                f"index_fill: only supports a 0-dimensional value tensor, got shape {value.shape}"
            )
        value = value if value.requires_grad else value.item()
        if isinstance(value, Tensor) and value.dtype != a.dtype:
            value = value.to(a.dtype)
    return IndexPut.apply(a, value, where_)


def index_put(a: Tensor, indices: Any, values: Any, accumulate: bool = False) -> Tensor:
    """``out = a.clone(); out[indices] = values`` (``+=`` with ``accumulate``, where repeated
    positions add up). ``indices`` is a tuple of int64 or bool tensors.

    Shape: out = a; values broadcast to ``a[indices]``'s shape.
    """
    if not isinstance(indices, (tuple, list)):
        raise TypeError(
            f"index_put: indices must be a tuple of Tensors, got {type(indices).__name__}"
        )
    index = _normalize_index(a, tuple(indices))
    if isinstance(values, Tensor):
        _same_dtype(a, values, "index_put", "values")
    else:
        values = _scalar_like(a, values)
    try:
        if accumulate:
            return a + IndexAdd.apply(values, a.data.shape, index)
        return IndexPut.apply(a, values, index)
    except (IndexError, ValueError) as exc:
        raise RuntimeError(
            f"index_put: {exc} (self {a.shape}, values {tuple(values.shape)})"
        ) from None


# ------------------------------------------------------------------------------ masks
def _bool_mask(a: Tensor, mask: Any, op: str) -> Tensor:
    if not isinstance(mask, Tensor):
        raise TypeError(f"{op}: mask must be a bool Tensor, got {type(mask).__name__}")
    if mask.dtype != _dtypes.bool_:
        raise RuntimeError(f"{op}: expected a bool mask, got {mask.dtype}")
    if mask._backend is not a._backend:
        raise RuntimeError(f"{op}: mask on {mask.device}, input on {a.device}")
    return mask


def masked_select(a: Tensor, mask: Any) -> Tensor:
    """The elements of ``a`` where ``mask`` (broadcast with it) is True. Shape: (n_true,)."""
    from .layout import broadcast_tensors

    mask = _bool_mask(a, mask, "masked_select")
    a, mask = broadcast_tensors(a, mask)
    return Getitem.apply(a, mask.data.nonzero())


def masked_scatter(a: Tensor, mask: Any, source: Tensor) -> Tensor:
    """``a`` with the positions where ``mask`` is True filled, in order, from ``source``'s first
    elements. Shape: out = a broadcast with mask.
    """
    from .layout import broadcast_shapes

    mask = _bool_mask(a, mask, "masked_scatter")
    _same_dtype(a, source, "masked_scatter", "source")
    shape = broadcast_shapes(a.shape, mask.shape)
    if not shape:
        return reshape(masked_scatter(reshape(a, 1), reshape(mask, 1), source), ())
    a = expand(a, shape)
    positions = expand(mask, shape).data.nonzero()
    count = positions[0].shape[0]
    if source.data.size < count:
        raise RuntimeError(
            f"masked_scatter: source has {source.data.size} elements but the mask selects {count}"
        )
    values = Getitem.apply(reshape(source, -1), (slice(0, count),))
    return IndexPut.apply(a, values, positions)


def nonzero(a: Tensor, *, as_tuple: bool = False) -> Any:
    """Positions of the non-zero elements: an (n, ndim) int64 tensor, or with ``as_tuple`` one
    1-d int64 tensor per dim (a 0-d input counts as 1-d there).

    Shape: (n_nonzero, ndim), or ndim tensors of (n_nonzero,).
    """
    xp = a._backend.xp
    data = a.data
    if as_tuple:
        found = xp.nonzero(data.reshape(1) if data.ndim == 0 else data)
        return tuple(Tensor._make(f.astype(_dtypes.int64), a._backend) for f in found)
    if data.ndim == 0:
        count = int(a._backend.to_host(data != 0).item())  # one explicit read: a shape
        return Tensor._make(xp.zeros((count, 0), dtype=_dtypes.int64), a._backend)
    return Tensor._make(xp.stack(xp.nonzero(data), axis=1).astype(_dtypes.int64), a._backend)


def argwhere(a: Tensor) -> Tensor:
    """``nonzero(a)``. Shape: (n_nonzero, ndim), int64."""
    return nonzero(a)


# ---------------------------------------------------------------------------------- take
def take(a: Tensor, index: Any) -> Tensor:
    """Elements of ``a`` flattened, at ``index``. Shape: index's."""
    index = _long_index(a, index, "take")
    _in_range(index, a.data.size, "take", 0, allow_negative=True)
    return Getitem.apply(reshape(a, -1), (index,))


def take_along_dim(a: Tensor, indices: Any, dim: int | None = None) -> Tensor:
    """``gather`` with ``indices`` broadcast against ``a`` outside ``dim`` (flattened when no
    dim). Shape: the broadcast shape, with ``indices``' size along dim.
    """
    from .index import gather
    from .layout import broadcast_shapes

    index = _long_index(a, indices, "take_along_dim")
    if dim is None:
        return take(a, Tensor._make(index.reshape(-1), a._backend))
    if index.ndim != a.data.ndim:
        raise RuntimeError(
            f"take_along_dim: input {a.shape} and indices {index.shape} should have the same "
            "number of dimensions"
        )
    dim = _normalize_dim(dim, a.data.ndim, "take_along_dim")
    a_shape = list(a.data.shape)
    i_shape = list(index.shape)
    a_shape[dim] = i_shape[dim] = 1
    try:
        common = list(broadcast_shapes(a_shape, i_shape))
    except RuntimeError:
        raise RuntimeError(
            f"take_along_dim: input {a.shape} and indices {index.shape} can't be broadcast "
            f"outside dimension {dim}"
        ) from None
    xp = a._backend.xp
    a_target = common.copy()
    a_target[dim] = a.data.shape[dim]
    i_target = common.copy()
    i_target[dim] = index.shape[dim]
    index = xp.broadcast_to(index, i_target)
    return gather(expand(a, a_target), dim, Tensor._make(index, a._backend))


# ------------------------------------------------------------------------------ in place
def inplace_update(t: Tensor, op: str, compute: Callable, *others: Any) -> Tensor:
    """``t`` becomes ``compute(t)`` in place, under the engine's in-place rules (those of
    ``elementwise.inplace``: version bump, leaf refusal, rebase, view+inplace)."""
    from .elementwise import inplace_with

    others_require = any(isinstance(o, Tensor) and o.requires_grad for o in others)
    return inplace_with(t, op, compute, others_require)

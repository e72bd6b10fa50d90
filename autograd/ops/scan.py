"""Scans along one dimension: cumsum, cumprod, cummax, cummin, logcumsumexp; and diff and
trapezoid, which are differences and sums along one dimension.

Every scan calls the array library's own (``cumsum``, ``cumprod``) or the backend's
``accumulate`` duty (NumPy's ``ufunc.accumulate``; on CuPy a log-step scan), never a Python
loop over elements.
"""

from __future__ import annotations

from collections import namedtuple
from typing import Any

from backends import dtypes as _dtypes

from ..function import Function
from ..grad_mode import _state
from ..tensor import Tensor, _normalize_dim
from .elementwise import Exp, _describe, logical_or, where
from .index import Getitem, host_bool

CummaxResult = namedtuple("cummax", ["values", "indices"])
CumminResult = namedtuple("cummin", ["values", "indices"])


def _dim(a: Tensor, dim: Any, op: str) -> int:
    if dim is None:
        raise TypeError(f"{op}: missing the required argument 'dim'")
    return _normalize_dim(dim, a.data.ndim, op)


def _positions(xp: Any, shape: tuple, dim: int) -> Any:
    """0, 1, ..., n-1 along ``dim``, shaped to broadcast against an array of ``shape``."""
    return xp.arange(shape[dim]).reshape([-1 if i == dim else 1 for i in range(len(shape))])


def take_along_dim(a: Tensor, dim: int, index: Any) -> Tensor:
    """``a`` picked at the backend integer array ``index`` along ``dim`` (differentiable)."""
    xp = a._backend.xp
    grid = [
        xp.arange(size).reshape([size if i == d else 1 for i in range(index.ndim)])
        for d, size in enumerate(index.shape)
    ]
    grid[dim] = index
    return Getitem.apply(a, tuple(grid))


# ------------------------------------------------------------------------------ cumsum
class Cumsum(Function):
    """Running sums along ``dim`` (``reverse``: from the end). The gradient of a running sum
    is the reverse running sum of the gradient, and the other way round."""

    @staticmethod
    def forward(ctx, a, dim, reverse):
        xp = ctx.xp
        ctx.dim = dim
        ctx.reverse = reverse
        if reverse:
            return xp.flip(xp.cumsum(xp.flip(a, dim), axis=dim), dim)
        return xp.cumsum(a, axis=dim)

    @staticmethod
    def backward(ctx, grad_out):
        return Cumsum.apply(grad_out, ctx.dim, not ctx.reverse), None, None


def cumsum(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    """Running sums along ``dim``; integer and bool inputs sum in int64 (PyTorch).

    Shape: same as ``input``.
    """
    if dtype is not None:
        input = input.to(dtype)
    elif input.data.dtype.kind in "bui":
        input = input.to(_dtypes.int64)
    dim = _dim(input, dim, "cumsum")
    if input.data.ndim == 0:
        return input.clone()
    return Cumsum.apply(input, dim, False)


# ----------------------------------------------------------------------------- cumprod
class Cumprod(Function):
    """Running products along ``dim``.

    Without zeros the gradient is ``revcumsum(grad * out) / a``. With zeros (as PyTorch, and
    without dividing by zero): before a slice's first zero the same formula holds; at the first
    zero z the gradient is ``prod(a[:z]) * sum_{j>=z} grad_j prod(a[z+1:j+1])``; after it, 0.
    """

    @staticmethod
    def forward(ctx, a, dim):
        xp = ctx.xp
        ctx.dim = dim
        zero = a == 0
        # One explicit read, and only when a gradient will need it.
        ctx.has_zero = ctx.needs_input_grad[0] and host_bool(zero.any())
        if ctx.has_zero:
            n = a.shape[dim]
            # The position of the first zero of each slice (n where there is none).
            first = xp.expand_dims(xp.argmax(zero, axis=dim), dim)
            ctx.first_zero = xp.where(zero.any(axis=dim, keepdims=True), first, n)
        ctx.save_for_backward(a)
        return xp.cumprod(a, axis=dim)

    @staticmethod
    def backward(ctx, grad_out):
        (a,) = ctx.saved_tensors
        dim = ctx.dim
        # Recomputed from the input (not saved) so that second derivatives see it too.
        out = Cumprod.apply(a, dim)
        if not ctx.has_zero:
            return Cumsum.apply(grad_out * out, dim, True) / a, None
        if _state.enabled:
            # A graph of the gradient is wanted: past a zero the gradient is 0 only in value,
            # not in its derivative, so build it from the products of the others (O(n^2)).
            return _cumprod_gradient_graph(a, grad_out, dim), None
        xp = a._backend.xp
        position = _positions(xp, a.shape, dim)
        before = Tensor._make(position < ctx.first_zero, a._backend)
        at = Tensor._make(position == ctx.first_zero, a._backend)
        after_or_at = Tensor._make(position >= ctx.first_zero, a._backend)
        safe = where(before, a, 1.0)
        grad_before = where(before, Cumsum.apply(grad_out * out, dim, True) / safe, 0.0)
        prefix = Cumprod.apply(safe, dim)  # prod(a[:z]) at position z
        suffix = Cumprod.apply(where(logical_or(before, at), 1.0, a), dim)
        tail = Cumsum.apply(where(after_or_at, grad_out * suffix, 0.0), dim, True)
        return grad_before + where(at, prefix * tail, 0.0), None


def _cumprod_gradient_graph(a: Tensor, grad_out: Tensor, dim: int) -> Tensor:
    """grad_i = sum_{j>=i} grad_j prod_{k<=j, k!=i} a_k with differentiable ops: row i of an
    (n, n) matrix is ``a`` with its i-th element set to 1, and its running product gives every
    prod_{k<=j, k!=i} a_k at once."""
    from .shape import Permute, expand

    ndim = a.data.ndim
    order = tuple(d for d in range(ndim) if d != dim) + (dim,)
    inverse = tuple(order.index(d) for d in range(ndim))
    moved = Permute.apply(a, order)
    grad = Permute.apply(grad_out, order)
    n = a.data.shape[dim]
    xp = a._backend.xp
    shape = moved.data.shape[:-1] + (n, n)
    eye = Tensor._make(xp.eye(n, dtype=bool), a._backend)
    later = Tensor._make(xp.triu(xp.ones((n, n), dtype=a.data.dtype)), a._backend)
    rows = where(eye, 1.0, expand(moved.unsqueeze(-2), shape))
    others = Cumprod.apply(rows, ndim)
    result = (others * grad.unsqueeze(-2) * later).sum(-1)
    return Permute.apply(result, inverse)


def cumprod(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    """Running products along ``dim`` (integers and bools in int64). Shape: same."""
    if dtype is not None:
        input = input.to(dtype)
    elif input.data.dtype.kind in "bui":
        input = input.to(_dtypes.int64)
    dim = _dim(input, dim, "cumprod")
    if input.data.ndim == 0:
        return input.clone()
    return Cumprod.apply(input, dim)


# ----------------------------------------------------------------------- cummax, cummin
def _cumulative_extreme(input: Tensor, dim: Any, take_max: bool) -> tuple:
    op = "cummax" if take_max else "cummin"
    dim = _dim(input, dim, op)
    result = CummaxResult if take_max else CumminResult
    backend = input._backend
    xp = backend.xp
    if input.data.ndim == 0:
        return result(input.clone(), Tensor._make(xp.zeros((), dtype=_dtypes.int64), backend))
    data = input.data
    values = backend.accumulate("maximum" if take_max else "minimum", data, dim)
    # The index of the last element equal to the running extreme (PyTorch's choice at ties);
    # a NaN is its own extreme and stays one.
    hits = data == values
    if data.dtype.kind in "fc":
        hits = hits | xp.isnan(data)
    position = _positions(xp, data.shape, dim)
    indices = backend.accumulate("maximum", xp.where(hits, position, 0), dim).astype(_dtypes.int64)
    return result(take_along_dim(input, dim, indices), Tensor._make(indices, backend))


def cummax(input: Tensor, dim: int) -> tuple:
    """(values, indices): the running maximum along ``dim`` and where it was last reached.

    Shape: both the same as ``input``; the gradient goes to the element each value came from.
    """
    return _cumulative_extreme(input, dim, True)


def cummin(input: Tensor, dim: int) -> tuple:
    """(values, indices): the running minimum along ``dim``. Shape: same as ``input``."""
    return _cumulative_extreme(input, dim, False)


# ---------------------------------------------------------------------------- logcumsumexp
class Logcumsumexp(Function):
    """log(cumsum(exp(a))) along ``dim``, by a running log-add-exp (no overflow).

    The gradient, grad_i = sum_{j>=i} grad_j exp(a_i - out_j), is computed in log space with
    the positive and negative parts of the gradient apart (as PyTorch), so it neither overflows
    nor underflows; where the outputs span less than 300 it uses the direct form, whose own
    derivative is exact too.
    """

    @staticmethod
    def forward(ctx, a, dim, reverse):
        xp = ctx.xp
        ctx.dim = dim
        ctx.reverse = reverse
        source = xp.flip(a, dim) if reverse else a
        out = ctx.backend.accumulate("logaddexp", source, dim)
        out = xp.flip(out, dim) if reverse else out
        if ctx.needs_input_grad[0]:
            # Whether the finite outputs span less than 300: one explicit read, on the device
            # (a boolean gather would be a hidden round trip of its own).
            finite = xp.isfinite(out)
            high = xp.where(finite, out, -xp.inf).max()
            low = xp.where(finite, out, xp.inf).min()
            ctx.narrow = host_bool(~finite.any() | (high - low < 300))
        ctx.save_for_backward(a, out)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        a, out = ctx.saved_tensors
        dim, reverse = ctx.dim, ctx.reverse
        if ctx.narrow:
            # exp(a_i - c) * revcumsum(grad_j exp(c - out_j)), c a constant inside the range.
            xp = a._backend.xp
            # c stays on the device (a 0-d constant): reading it would be a host round trip.
            largest = xp.where(xp.isfinite(out.data), out.data, -xp.inf).max()
            c = Tensor._make(xp.where(xp.isfinite(largest), largest, 0.0), a._backend)
            weights = Exp.apply(where(out.isfinite(), c - out, -float("inf")))
            return (
                Exp.apply(a - c) * Cumsum.apply(grad_out * weights, dim, not reverse),
                None,
                None,
            )
        xp = a._backend.xp
        positive = where(grad_out > 0, grad_out, 0.0)
        negative = where(grad_out < 0, -grad_out, 0.0)

        def part(g: Tensor) -> Tensor:
            log_g = Tensor._make(xp.log(xp.where(g.data > 0, g.data, 1.0)), g._backend)
            log_g = where(g > 0, log_g, -float("inf"))
            return Exp.apply(Logcumsumexp.apply(log_g - out, dim, not reverse) + a)

        return part(positive) - part(negative), None, None


def logcumsumexp(input: Tensor, dim: int) -> Tensor:
    """log(cumsum(exp(input))) along ``dim``, computed without overflow. Shape: same."""
    if input.data.dtype.kind not in "fc":
        raise TypeError(f"logcumsumexp: expected a floating point tensor, got {_describe(input)}")
    dim = _dim(input, dim, "logcumsumexp")
    if input.data.ndim == 0:
        return input.clone()
    return Logcumsumexp.apply(input, dim, False)


# ------------------------------------------------------------------------ diff, trapezoid
def _slice(ndim: int, dim: int, part: slice) -> tuple:
    return tuple(part if i == dim else slice(None) for i in range(ndim))


def diff(
    input: Tensor, n: int = 1, dim: int = -1, prepend: Any = None, append: Any = None
) -> Tensor:
    """The n-th forward difference along ``dim`` (``prepend``/``append`` joined first).

    Shape: ``input`` with ``dim`` shortened by n (lengthened by what was joined). Bool inputs
    give ``!=`` of neighbours, as PyTorch.
    """
    from .shape import cat

    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
        raise ValueError(f"diff: order n must be a non-negative int, got {n!r}")
    if input.data.ndim == 0:
        raise RuntimeError("diff: expects input to be at least one-dimensional")
    dim = _normalize_dim(dim, input.data.ndim, "diff")
    parts = [p for p in (prepend, input, append) if p is not None]
    if len(parts) > 1:
        parts = [p if isinstance(p, Tensor) else Tensor(p, device=input._backend) for p in parts]
        input = cat(parts, dim)
    ndim = input.data.ndim
    for _ in range(n):
        if input.data.shape[dim] == 0:
            break
        later = input[_slice(ndim, dim, slice(1, None))]
        earlier = input[_slice(ndim, dim, slice(None, -1))]
        input = later != earlier if input.data.dtype.kind == "b" else later - earlier
    return input


def trapezoid(y: Tensor, x: Any = None, *, dx: Any = None, dim: int = -1) -> Tensor:
    """The trapezoid rule along ``dim``: sum of (y_i + y_{i+1}) / 2 times the spacing (``dx``,
    1 by default, or the differences of the sample points ``x``). Shape: ``y`` without ``dim``.
    """
    if x is not None and dx is not None:
        raise ValueError("trapezoid: give the sample points x or the spacing dx, not both")
    if y.data.ndim == 0:
        raise IndexError("trapezoid: expected a tensor with at least one dimension")
    dim = _normalize_dim(dim, y.data.ndim, "trapezoid")
    if y.data.dtype.kind not in "fc":
        y = y.to(_dtypes.float32)
    ndim = y.data.ndim
    if y.data.shape[dim] == 0:
        return y.sum(dim) * 0.0
    later = y[_slice(ndim, dim, slice(1, None))]
    earlier = y[_slice(ndim, dim, slice(None, -1))]
    if x is None:
        return (later + earlier).sum(dim) * (0.5 * (1.0 if dx is None else dx))
    if not isinstance(x, Tensor):
        x = Tensor(x, device=y._backend)
    if x.data.ndim == 1:
        if x.data.shape[0] != y.data.shape[dim]:
            raise RuntimeError(
                f"trapezoid: x has {x.data.shape[0]} sample points, y has {y.data.shape[dim]} "
                f"along dim {dim}"
            )
        spacing = x[1:] - x[:-1]
        spacing = spacing.reshape([-1 if i == dim else 1 for i in range(ndim)])
    else:
        spacing = diff(x, dim=dim)
    return ((later + earlier) * spacing).sum(dim) * 0.5


def cumulative_trapezoid(y: Tensor, x: Any = None, *, dx: Any = None, dim: int = -1) -> Tensor:
    """The running trapezoid rule along ``dim``. Shape: ``y`` with ``dim`` shortened by one."""
    if y.data.ndim == 0:
        raise IndexError("cumulative_trapezoid: expected a tensor with at least one dimension")
    dim = _normalize_dim(dim, y.data.ndim, "cumulative_trapezoid")
    ndim = y.data.ndim
    if y.data.dtype.kind not in "fc":
        y = y.to(_dtypes.float32)
    later = y[_slice(ndim, dim, slice(1, None))]
    earlier = y[_slice(ndim, dim, slice(None, -1))]
    if x is None:
        areas = (later + earlier) * (0.5 * (1.0 if dx is None else dx))
    else:
        x = x if isinstance(x, Tensor) else Tensor(x, device=y._backend)
        spacing = diff(x, dim=-1 if x.data.ndim == 1 else dim)
        if x.data.ndim == 1:
            spacing = spacing.reshape([-1 if i == dim else 1 for i in range(ndim)])
        areas = (later + earlier) * spacing * 0.5
    return cumsum(areas, dim)
